"""One rule for which agreement is in force (``analytics.policy.in_force``): the Boundaries
page's "In force today" and the SQL the measures judge with read the same rows and fields,
including yes/no fields nobody set (worked out by hand on the small fixture)."""

from datetime import date

import pytest

from analytics.access.scope import LOCAL
from analytics.policy.agreements import BoundarySetting
from analytics.policy.in_force import (
    IN_FORCE_CTES,
    MERGED_SCALARS,
    in_force_joins,
    resolved,
    settings_in_force,
)
from analytics.policy.words import describe_setting
from analytics.policy.writes import save_setting
from analytics.storage.database import Database
from analytics.storage.sql import execute, query

DANA = ("Dana Reyes", "Harbor Counseling")

# Dana's default from Monday 2 March sets only a reply target; Avery's override from
# Monday 9 March only a weekly cap. Neither says whether replies count working hours or
# whether crisis contacts count toward the cap.
DEFAULT = BoundarySetting(*DANA, None, date(2026, 3, 2), response_target_hours=24)
OVERRIDE = BoundarySetting(*DANA, "Avery", date(2026, 3, 9), weekly_cap_minutes=30)


def _sql_rule(db: Database, client: str | None, day: date) -> tuple[tuple[object, ...], ...]:
    """(merged, judged) scalar fields for one client and day, straight from the SQL rule."""
    with db.cursor() as cursor:
        ids = cursor.execute(
            "SELECT t.therapist_id, (SELECT client_id FROM clients WHERE label = $client) "
            "FROM therapists AS t WHERE t.name = $therapist",
            {"client": client, "therapist": DANA[0]},
        ).fetchone()
        assert ids is not None
        asked = {"asked_therapist": ids[0], "asked_client": ids[1], "asked_day": day}
        merged = execute(
            cursor,
            query(
                """
                WITH {ctes},
                asked AS (SELECT CAST($asked_therapist AS BIGINT) AS therapist_id,
                                 CAST($asked_client AS BIGINT) AS client_id,
                                 CAST($asked_day AS DATE) AS day)
                SELECT {merged} FROM asked AS s {joins}
                """,
                ctes=IN_FORCE_CTES,
                merged=MERGED_SCALARS,
                joins=in_force_joins(),
                **asked,
            ),
        ).fetchone()
        judged = execute(
            cursor,
            query(
                """
                WITH {ctes},
                asked AS (SELECT CAST($asked_therapist AS BIGINT) AS therapist_id,
                                 CAST($asked_client AS BIGINT) AS client_id,
                                 CAST($asked_day AS DATE) AS day),
                {judged}
                SELECT weekly_cap_minutes, response_target_hours, response_in_working_hours,
                       crisis_counts_toward_cap
                FROM judged
                """,
                ctes=IN_FORCE_CTES,
                judged=resolved("judged", "asked"),
                **asked,
            ),
        ).fetchone()
    assert merged is not None and judged is not None
    return tuple(merged), tuple(judged)


@pytest.mark.parametrize(
    ("client", "day", "page", "sentence", "judged"),
    [
        # nothing in force yet: nothing set, and judging reads the yes/no fields as no
        (None, date(2026, 3, 1), (None, None, None, None), "nothing set",
         (None, None, False, False)),
        # the default alone: a 24-hour target, working hours or not unset
        (None, date(2026, 3, 10), (None, 24.0, None, None), "replies within 24 hours",
         (None, 24.0, False, False)),
        # Avery before the override: the default's fields
        ("Avery", date(2026, 3, 8), (None, 24.0, None, None), "replies within 24 hours",
         (None, 24.0, False, False)),
        # Avery from 9 March: the override's cap over the default's target
        ("Avery", date(2026, 3, 10), (30.0, 24.0, None, None),
         "30 min a week; replies within 24 hours", (30.0, 24.0, False, False)),
    ],
)  # fmt: skip
def test_the_page_and_the_sql_read_one_rule_unset_yes_no_included(
    fixture_db: Database,
    client: str | None,
    day: date,
    page: tuple[object, ...],
    sentence: str,
    judged: tuple[object, ...],
) -> None:
    db = fixture_db
    for setting in (DEFAULT, OVERRIDE):
        save_setting(db, setting, changed_by="rita")
    shown = settings_in_force(db, LOCAL, DANA[0], client, day, practice=DANA[1])
    fields = (
        shown.weekly_cap_minutes,
        shown.response_target_hours,
        shown.response_in_working_hours,
        shown.crisis_counts_toward_cap,
    )
    assert fields == page
    assert describe_setting(shown) == sentence
    merged, as_judged = _sql_rule(db, client, day)
    assert merged == page  # the page shows exactly the SQL rule's merge
    assert as_judged == judged  # and the measures read an unset yes/no as no
