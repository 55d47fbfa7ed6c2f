"""What a boundary edit would rewrite, worked out by hand, and stored agreements in words.

Client A of therapist T (New York) has 30, 70 and 50 minutes of contact in the weeks of
2 March, 9 March and 16 March 2026 (Mondays).
"""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from analytics.access.scope import LOCAL
from analytics.policy import boundary_edits
from analytics.policy.agreements import BoundarySetting, InvalidBoundaryError
from analytics.policy.writes import save_setting
from analytics.storage.database import Database
from analytics.storage.store import add_contacts

ZONE = "America/New_York"
NEW_YORK = ZoneInfo(ZONE)
TODAY = date(2026, 12, 3)


@pytest.fixture
def weeks_db(empty_db: Database) -> Database:
    local = ["2026-03-03 10:00", "2026-03-10 10:00", "2026-03-11 10:00", "2026-03-17 10:00"]
    add_contacts(
        empty_db,
        pd.DataFrame(
            [
                {"practice": "P", "therapist": "T", "time_zone": ZONE, "client": "A",
                 "started_at": datetime.fromisoformat(at).replace(tzinfo=NEW_YORK).isoformat(),
                 "minutes": minutes, "channel": "phone", "category": "support",
                 "direction": "client"}
                for at, minutes in zip(local, [30, 40, 30, 50], strict=True)
            ]
        ),
        source="test",
    )  # fmt: skip
    return empty_db


def cap(minutes: float | None, since: date, client: str | None = None) -> BoundarySetting:
    return BoundarySetting("T", "P", client, since, weekly_cap_minutes=minutes)


def test_a_past_cap_rewrites_the_weeks_it_judges(weeks_db: Database) -> None:
    preview = boundary_edits.preview_setting(
        weeks_db, cap(60, date(2026, 3, 2)), today=TODAY, scope=LOCAL
    )
    # 70 > 60 in the week of 9 March: one week becomes over the cap; 30 and 50 stay within.
    assert (preview.weeks_changed, preview.more_over, preview.fewer_over) == (1, 1, 0)
    assert preview.past_dated
    assert preview.sentences() == ["This rewrites 1 past week: 1 more week over cap."]
    # Nothing was stored.
    assert weeks_db.row("SELECT count(*) FROM boundaries", []) == (0,)


def test_a_later_row_is_named_and_lowering_a_cap_counts_both_ways(weeks_db: Database) -> None:
    save_setting(weeks_db, cap(60, date(2026, 3, 2)), "test")
    save_setting(weeks_db, cap(100, date(2026, 6, 1)), "test")
    # 40 from 16 March: the week of 16 March (50) goes over; from 1 June the 100 applies.
    lower = boundary_edits.preview_setting(
        weeks_db, cap(40, date(2026, 3, 16)), today=TODAY, scope=LOCAL
    )
    assert (lower.weeks_changed, lower.more_over) == (1, 1)
    assert lower.replaced_from == date(2026, 6, 1)
    assert lower.sentences()[-1] == "A row from 2026-06-01 replaces this from that date on."
    # Raising the default from 2 March to 80: the week of 9 March is no longer over.
    higher = boundary_edits.preview_setting(
        weeks_db, cap(80, date(2026, 3, 2)), today=TODAY, scope=LOCAL
    )
    assert (higher.weeks_changed, higher.more_over, higher.fewer_over) == (1, 0, 1)
    assert higher.sentences()[0] == "This rewrites 1 past week: 1 fewer week over cap."


def test_weeks_after_today_are_not_past(weeks_db: Database) -> None:
    preview = boundary_edits.preview_setting(
        weeks_db, cap(60, date(2026, 3, 2)), today=date(2026, 3, 9), scope=LOCAL
    )
    # Only the week of 2 March (30 min) lies before 9 March: nothing flips.
    assert (preview.weeks_changed, preview.past_dated) == (0, True)
    assert "no past week's verdict changes" in preview.sentences()[0]
    future = boundary_edits.preview_setting(weeks_db, cap(60, TODAY), today=TODAY, scope=LOCAL)
    assert not future.past_dated and future.sentences() == []


def test_an_invalid_preview_is_refused_like_a_save(weeks_db: Database) -> None:
    with pytest.raises(InvalidBoundaryError, match="-5"):
        boundary_edits.preview_setting(
            weeks_db, cap(-5, date(2026, 3, 2)), today=TODAY, scope=LOCAL
        )


def test_settings_in_words_never_say_none(weeks_db: Database) -> None:
    save_setting(weeks_db, cap(60, date(2026, 3, 2)), "test")
    save_setting(weeks_db, cap(None, date(2026, 3, 2), client="A"), "test")
    words = boundary_edits.settings_in_words(weeks_db, LOCAL, "T", practice="P")
    default, override = words.to_dict("records")
    assert default["client"] == "therapist's default"
    assert default["weekly_cap_minutes"] == "60 min"
    assert default["allowed_channels"] == "not set"
    assert override["client"] == "A"
    assert override["weekly_cap_minutes"] == "inherited from the therapist's default"
    assert not words.isna().any().any()
    log = boundary_edits.change_log_in_words(weeks_db, LOCAL)
    assert not log[["client", "before", "after"]].isna().any().any()
    assert "nothing (added)" in set(log["before"])
    own = boundary_edits.own_setting_in_force(weeks_db, LOCAL, "T", None, TODAY, practice="P")
    assert own is not None and own.weekly_cap_minutes == 60
    assert (
        boundary_edits.own_setting_in_force(
            weeks_db, LOCAL, "T", None, date(2026, 3, 1), practice="P"
        )
        is None
    )
