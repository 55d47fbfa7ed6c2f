"""Every compliance measure against small hand-built timelines, answers worked out by hand.

Fixtures are CSVs in tests/data/compliance/; times below are the therapist's LOCAL time.
2026-03-02 is a Monday. The US springs forward on Sun 2026-03-08 (New York EST -05:00 ->
EDT -04:00, Los Angeles PST -08:00 -> PDT -07:00). Boundaries and working hours are
inserted with plain SQL in each test, independent of the boundaries module.

caps.csv: Nora Quinn (America/New_York)
  Ada  Mon 03-02 10:00 EST  30 phone  support    unknown
  Ada  Wed 03-04 11:00 EST  25 email  scheduling client
  Ada  Thu 03-05 09:00 EST  10 portal check_in   therapist
  Ada  Sun 03-08 23:30 EDT  10 text   reminder   therapist  (Mon 03-09 03:30Z: local week 03-02)
  Ada  Tue 03-10 10:00 EDT  40 phone  support    unknown
  Ada  Fri 03-13 15:00 EDT  25 phone  crisis     client
  Ada  Mon 03-16 10:00 EDT  50 phone  support    unknown
  Ada  Thu 03-19 10:00 EDT  30 email  homework   unknown
  Ada  Tue 03-24 10:00 EDT  80 phone  support    unknown
  Ben  Tue 03-10 11:00 EDT  20 phone  support    unknown
  Ben  Wed 03-11 11:00 EDT  15 phone  crisis     unknown
  Ben  Tue 03-24 11:00 EDT  20 phone  support    unknown
  Ben  Wed 03-25 11:00 EDT  15 phone  crisis     unknown
  Weeks (Monday): Ada 03-02 30+25+10+10 = 75 (no crisis); 03-09 40+25 = 65 (crisis 25);
  03-16 50+30 = 80; 03-23 80. Ben 03-09 20+15 = 35 (crisis 15); 03-23 35 (crisis 15).

hours.csv and responses.csv, drift.csv and policy.csv are described at their tests.
"""

from collections.abc import Callable, Iterator
from datetime import date, time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from analytics.access.filters import ContactFilter, Period
from analytics.errors import InvalidFilterError
from analytics.measures.caps import cap_summary, category_caps, weekly_caps
from analytics.measures.compliance import after_hours, compliance_summary
from analytics.measures.drift import drift_alerts
from analytics.measures.metrics import totals
from analytics.measures.out_of_policy import out_of_policy
from analytics.measures.replies import response_times
from analytics.storage.database import Database
from analytics.storage.store import add_contacts

DATA = Path(__file__).parent / "data" / "compliance"
ALL = ContactFilter()

# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
def load(tmp_path: Path) -> Iterator[Callable[[str], Database]]:
    """Open a new database holding one CSV of tests/data/compliance (closed afterwards)."""
    opened: list[Database] = []

    def open_with(name: str) -> Database:
        db = Database(tmp_path / f"{name}.duckdb")
        opened.append(db)
        contacts = pd.read_csv(DATA / name, dtype=str, keep_default_na=False)
        add_contacts(db, contacts, source="fixture", file_name=name)
        return db

    yield open_with
    for db in opened:
        db.close()


def _id(db: Database, sql: str, value: str) -> int:
    with db.cursor() as cur:
        row = cur.execute(sql, [value]).fetchone()
    assert row is not None, f"nothing found for {value!r}"
    return int(row[0])


def therapist_id(db: Database, name: str) -> int:
    return _id(db, "SELECT therapist_id FROM therapists WHERE name = ?", name)


def client_id(db: Database, label: str) -> int:
    return _id(db, "SELECT client_id FROM clients WHERE label = ?", label)


def labels(db: Database) -> dict[str, str]:
    """client_key -> label, to read results keyed by pseudonymous keys."""
    with db.cursor() as cur:
        return dict(cur.execute("SELECT client_key, label FROM clients").fetchall())


# How each boundaries field is written from Python values (maps as key and value lists).
_FIELD_SQL = {
    "weekly_cap_minutes": "?",
    "category_caps": "map(CAST(? AS VARCHAR[]), CAST(? AS DOUBLE[]))",
    "allowed_channels": "CAST(? AS VARCHAR[])",
    "channel_categories": "map(CAST(? AS VARCHAR[]), CAST(? AS VARCHAR[][]))",
    "response_target_hours": "?",
    "response_in_working_hours": "?",
    "crisis_counts_toward_cap": "?",
}


def add_boundary(
    db: Database, therapist: str, client: str | None, effective_from: date, **fields: Any
) -> None:
    """Insert one boundaries row (client None: the therapist's default)."""
    columns = ["therapist_id", "client_id", "effective_from"]
    values = ["?", "?", "?"]
    params: list[Any] = [
        therapist_id(db, therapist),
        None if client is None else client_id(db, client),
        effective_from,
    ]
    for name, value in fields.items():
        columns.append(name)
        values.append(_FIELD_SQL[name])
        if isinstance(value, dict):
            params += [list(value), list(value.values())]
        else:
            params.append(value)
    with db.transaction() as cur:
        cur.execute(
            f"INSERT INTO boundaries ({', '.join(columns)}) VALUES ({', '.join(values)})",
            params,
        )


def add_hours(
    db: Database,
    therapist: str,
    effective_from: date,
    weekdays: range | tuple[int, ...],
    starts: time,
    ends: time,
) -> None:
    """Insert one working-hours window for each of ``weekdays`` (0 = Monday)."""
    with db.transaction() as cur:
        cur.execute(
            "INSERT INTO working_hours SELECT ?, ?, unnest(?), ?, ?",
            [therapist_id(db, therapist), effective_from, list(weekdays), starts, ends],
        )


def day(value: Any) -> date:
    return pd.Timestamp(value).date()


def nullable(value: Any) -> Any:
    """NaN / NA / None as None, numpy scalars as Python values."""
    if value is None or (not isinstance(value, list | str) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def cap_rows(db: Database, frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """(client, week, counted, cap, over, over_by, use_share) per row, by client and week.

    Rows come ordered by the pseudonymous key, a hash: tests read them by label instead.
    """
    names = labels(db)
    frame = frame.assign(label=frame["client_key"].map(names)).sort_values(["label", "week"])
    return [
        (
            names[r.client_key],
            day(r.week),
            r.counted_minutes,
            nullable(r.cap_minutes),
            bool(r.over),
            nullable(r.over_by),
            None if nullable(r.use_share) is None else pytest.approx(r.use_share),
        )
        for r in frame.itertuples()
    ]


# --- weekly caps --------------------------------------------------------------------------


def test_cap_crossed_in_one_week_and_not_the_next(load: Callable[[str], Database]) -> None:
    db = load("caps.csv")
    add_boundary(db, "Nora Quinn", None, date(2026, 1, 1), weekly_cap_minutes=60)
    frame = weekly_caps(db, ALL)
    # Crisis is left out of the cap by default: Ada's week 03-09 counts 65 - 25 = 40 and
    # Ben's weeks 35 - 15 = 20. Over = counted > 60; use = counted / 60.
    assert cap_rows(db, frame) == [
        ("Ada", date(2026, 3, 2), 75, 60, True, 15, 75 / 60),  # Sun 23:30 EDT is week 03-02
        ("Ada", date(2026, 3, 9), 40, 60, False, 0, 40 / 60),  # crossed, then not
        ("Ada", date(2026, 3, 16), 80, 60, True, 20, 80 / 60),
        ("Ada", date(2026, 3, 23), 80, 60, True, 20, 80 / 60),
        ("Ben", date(2026, 3, 9), 20, 60, False, 0, 20 / 60),
        ("Ben", date(2026, 3, 23), 20, 60, False, 0, 20 / 60),
    ]
    names = labels(db)
    ada_0309 = frame[
        (frame["client_key"].map(names) == "Ada") & (frame["week"] == pd.Timestamp("2026-03-09"))
    ].iloc[0]
    assert (ada_0309.contacts, ada_0309.minutes, ada_0309.crisis_minutes) == (2, 65, 25)
    assert not ada_0309.crisis_counts_toward_cap
    assert set(frame["therapist"]) == {"Nora Quinn"}


def test_cap_changed_mid_period_old_weeks_keep_the_old_cap(
    load: Callable[[str], Database],
) -> None:
    db = load("caps.csv")
    add_boundary(db, "Nora Quinn", None, date(2026, 1, 1), weekly_cap_minutes=60)
    # Raised to 90 from Wed 03-18: the week of Mon 03-16 is judged by its Monday (still 60).
    add_boundary(db, "Nora Quinn", None, date(2026, 3, 18), weekly_cap_minutes=90)
    assert cap_rows(db, weekly_caps(db, ALL)) == [
        ("Ada", date(2026, 3, 2), 75, 60, True, 15, 75 / 60),
        ("Ada", date(2026, 3, 9), 40, 60, False, 0, 40 / 60),
        ("Ada", date(2026, 3, 16), 80, 60, True, 20, 80 / 60),  # old cap: over
        ("Ada", date(2026, 3, 23), 80, 90, False, 0, 80 / 90),  # new cap: under
        ("Ben", date(2026, 3, 9), 20, 60, False, 0, 20 / 60),
        ("Ben", date(2026, 3, 23), 20, 90, False, 0, 20 / 90),
    ]


def test_crisis_excluded_from_caps_unless_the_agreement_counts_it(
    load: Callable[[str], Database],
) -> None:
    db = load("caps.csv")
    add_boundary(
        db, "Nora Quinn", None, date(2026, 1, 1), weekly_cap_minutes=60,
        crisis_counts_toward_cap=True,
    )  # fmt: skip
    rows = cap_rows(db, weekly_caps(db, ALL))
    # Counted with crisis: Ada 03-09 40 + 25 = 65 > 60 (over by 5); Ben 20 + 15 = 35.
    assert rows[1] == ("Ada", date(2026, 3, 9), 65, 60, True, 5, 65 / 60)
    assert rows[4] == ("Ben", date(2026, 3, 9), 35, 60, False, 0, 35 / 60)
    assert rows[5] == ("Ben", date(2026, 3, 23), 35, 60, False, 0, 35 / 60)


def test_client_override_inherits_the_default_field_by_field(
    load: Callable[[str], Database],
) -> None:
    db = load("caps.csv")
    add_boundary(
        db, "Nora Quinn", None, date(2026, 1, 1), weekly_cap_minutes=60,
        crisis_counts_toward_cap=True,
    )  # fmt: skip
    # Ben's own cap of 30 from 03-01; his crisis flag is left NULL, so it follows the default.
    add_boundary(db, "Nora Quinn", "Ben", date(2026, 3, 1), weekly_cap_minutes=30)
    # From 03-18 the default is 90 minutes and crisis no longer counts.
    add_boundary(
        db, "Nora Quinn", None, date(2026, 3, 18), weekly_cap_minutes=90,
        crisis_counts_toward_cap=False,
    )  # fmt: skip
    frame = weekly_caps(db, ALL)
    assert cap_rows(db, frame) == [
        # Ada has no override: 60 with crisis, then 90 without.
        ("Ada", date(2026, 3, 2), 75, 60, True, 15, 75 / 60),
        ("Ada", date(2026, 3, 9), 65, 60, True, 5, 65 / 60),  # 40 + crisis 25
        ("Ada", date(2026, 3, 16), 80, 60, True, 20, 80 / 60),
        ("Ada", date(2026, 3, 23), 80, 90, False, 0, 80 / 90),
        # Ben: his cap 30 throughout; crisis inherited: counted in 03-09 (20 + 15 = 35,
        # over by 5), not in 03-23 (20) once the default stopped counting it.
        ("Ben", date(2026, 3, 9), 35, 30, True, 5, 35 / 30),
        ("Ben", date(2026, 3, 23), 20, 30, False, 0, 20 / 30),
    ]
    names = labels(db)
    flags = {
        (names[r.client_key], day(r.week)): r.crisis_counts_toward_cap for r in frame.itertuples()
    }
    assert flags == {
        ("Ada", date(2026, 3, 2)): True,
        ("Ada", date(2026, 3, 9)): True,
        ("Ada", date(2026, 3, 16)): True,
        ("Ada", date(2026, 3, 23)): False,
        ("Ben", date(2026, 3, 9)): True,
        ("Ben", date(2026, 3, 23)): False,
    }


def test_weeks_without_a_cap_have_cap_null_and_are_never_over(
    load: Callable[[str], Database],
) -> None:
    db = load("caps.csv")
    # The default starts on 03-10, after the Monday of week 03-09: that week has no cap.
    add_boundary(db, "Nora Quinn", None, date(2026, 3, 10), weekly_cap_minutes=60)
    rows = cap_rows(db, weekly_caps(db, ALL))
    assert rows[0] == ("Ada", date(2026, 3, 2), 75, None, False, None, None)
    assert rows[1] == ("Ada", date(2026, 3, 9), 40, None, False, None, None)
    assert rows[2] == ("Ada", date(2026, 3, 16), 80, 60, True, 20, 80 / 60)


def test_category_caps_per_week(load: Callable[[str], Database]) -> None:
    db = load("caps.csv")
    add_boundary(
        db, "Nora Quinn", None, date(2026, 1, 1), category_caps={"support": 60, "crisis": 20}
    )
    add_boundary(db, "Nora Quinn", "Ben", date(2026, 1, 1), category_caps={})  # {} = none
    names = labels(db)
    frame = category_caps(db, ALL)
    rows = [
        (names[r.client_key], day(r.week), r.category, r.minutes, r.cap_minutes, r.over, r.over_by)
        for r in frame.itertuples()
    ]
    # Ada's support minutes per week: 30, 40, 50, 80; crisis: 0, 25, 0, 0. The crisis cap
    # counts crisis minutes whatever crisis_counts_toward_cap says. Ben: no category caps.
    assert rows == [
        ("Ada", date(2026, 3, 2), "crisis", 0, 20, False, 0),
        ("Ada", date(2026, 3, 2), "support", 30, 60, False, 0),
        ("Ada", date(2026, 3, 9), "crisis", 25, 20, True, 5),
        ("Ada", date(2026, 3, 9), "support", 40, 60, False, 0),
        ("Ada", date(2026, 3, 16), "crisis", 0, 20, False, 0),
        ("Ada", date(2026, 3, 16), "support", 50, 60, False, 0),
        ("Ada", date(2026, 3, 23), "crisis", 0, 20, False, 0),
        ("Ada", date(2026, 3, 23), "support", 80, 60, True, 20),
    ]
    assert frame["use_share"].tolist() == pytest.approx(
        [0, 30 / 60, 25 / 20, 40 / 60, 0, 50 / 60, 0, 80 / 60]
    )
    # No weekly cap was set: every week has cap NULL.
    assert weekly_caps(db, ALL)["cap_minutes"].isna().all()
    # The summary counts category breaches: Ada 03-09 (crisis) and 03-23 (support).
    by_client = cap_summary(db, ALL).set_index("client_key")
    ada = by_client.loc[next(k for k, v in names.items() if v == "Ada")]
    ben = by_client.loc[next(k for k, v in names.items() if v == "Ben")]
    assert (ada.weeks, ada.weeks_with_cap, ada.weeks_over) == (4, 4, 0)
    assert (ada.category_weeks_over, ada.breach_weeks, ada.over_by_minutes) == (2, 2, 0)
    assert (ben.weeks, ben.weeks_with_cap, ben.breach_weeks) == (2, 0, 0)


def test_cap_summary_for_progress_bars(load: Callable[[str], Database]) -> None:
    db = load("caps.csv")
    add_boundary(db, "Nora Quinn", None, date(2026, 1, 1), weekly_cap_minutes=60)
    names = labels(db)
    frame = cap_summary(db, ALL)
    columns = [
        "weeks", "weeks_with_cap", "weeks_over", "category_weeks_over", "breach_weeks",
        "over_by_minutes", "latest_minutes", "latest_cap_minutes", "latest_over",
    ]  # fmt: skip
    # Ada: over in 03-02 (15), 03-16 (20) and 03-23 (20) = 3 weeks, 55 minutes. The period
    # ends with the last contact (Ben, Wed 03-25), so the latest week is 03-23: Ada 80 of
    # 60 (over), Ben 20 of 60. Most breaches first.
    assert [names[k] for k in frame["client_key"]] == ["Ada", "Ben"]
    assert [tuple(nullable(v) for v in row) for row in frame[columns].to_numpy()] == [
        (4, 4, 3, 0, 3, 55, 80, 60, True),
        (2, 2, 0, 0, 0, 0, 20, 60, False),
    ]
    assert [day(v) for v in frame["latest_week"]] == [date(2026, 3, 23)] * 2
    assert frame["latest_use_share"].tolist() == pytest.approx([80 / 60, 20 / 60])


def test_caps_judge_whole_weeks_of_the_period(load: Callable[[str], Database]) -> None:
    db = load("caps.csv")
    add_boundary(db, "Nora Quinn", None, date(2026, 1, 1), weekly_cap_minutes=60)
    names = labels(db)
    # Wed 03-11 .. Tue 03-31 widens to Mon 03-09 .. Sun 04-05: Ada's Tue 03-10 (40) counts.
    period = ContactFilter(start=date(2026, 3, 11), end=date(2026, 3, 31))
    assert cap_rows(db, weekly_caps(db, period)) == [
        ("Ada", date(2026, 3, 9), 40, 60, False, 0, 40 / 60),
        ("Ada", date(2026, 3, 16), 80, 60, True, 20, 80 / 60),
        ("Ada", date(2026, 3, 23), 80, 60, True, 20, 80 / 60),
        ("Ben", date(2026, 3, 9), 20, 60, False, 0, 20 / 60),
        ("Ben", date(2026, 3, 23), 20, 60, False, 0, 20 / 60),
    ]
    frame = cap_summary(db, period)
    # The latest week is that of the filter's end (Tue 03-31): Mon 03-30, with no contacts.
    assert [names[k] for k in frame["client_key"]] == ["Ada", "Ben"]
    assert [day(v) for v in frame["latest_week"]] == [date(2026, 3, 30)] * 2
    assert frame["latest_minutes"].tolist() == [0, 0]
    assert frame["latest_cap_minutes"].tolist() == [60, 60]
    assert frame["latest_use_share"].tolist() == [0, 0]
    assert frame["weeks_over"].tolist() == [2, 0]
    assert frame["over_by_minutes"].tolist() == [40, 0]


def test_partial_weeks_count_only_their_days_in_the_period_against_the_full_cap(
    load: Callable[[str], Database],
) -> None:
    from analytics.measures.caps import weekly_cap_totals
    from analytics.measures.metrics import trend

    db = load("caps.csv")
    add_boundary(db, "Nora Quinn", None, date(2026, 1, 1), weekly_cap_minutes=40)
    # Wed 03-04 .. Tue 03-17: the weeks of 03-02 and 03-16 are partial. In the period:
    # week 03-02: Ada 25 (Wed) + 10 (Thu) + 10 (Sun 23:30) = 45, her Mon 03-02 30 is not
    #   in it: 45 against the full cap 40, over by 5 (the whole week, 75, would say 35);
    # week 03-09 (whole): Ada 40 (crisis 25 left out), Ben 20 (crisis 15): at or under;
    # week 03-16: Ada's Mon 50 only (her Thu 30 is after the end): over by 10 (not 40).
    period = ContactFilter(start=date(2026, 3, 4), end=date(2026, 3, 17))
    totals = weekly_cap_totals(db, period)
    assert [
        (day(r.period), r.cap_minutes, r.counted_minutes, r.over_minutes, r.clients)
        for r in totals.itertuples()
    ] == [
        (date(2026, 3, 2), 40, 45, 5, 1),
        (date(2026, 3, 9), 80, 60, 0, 2),
        (date(2026, 3, 16), 40, 50, 10, 1),
    ]
    # The overrun never exceeds the week's bar: all minutes of the week in the period.
    bars = trend(db, period, "category").groupby("period")["minutes"].sum()
    assert [bars[pd.Timestamp(w)] for w in ("2026-03-02", "2026-03-09", "2026-03-16")] == [
        45,
        100,
        50,
    ]
    assert (totals["over_minutes"].to_numpy() <= bars.to_numpy()).all()
    # The Clients page's chart uses the same rule per client; the tables judge whole weeks.
    assert cap_rows(db, weekly_caps(db, period, whole_weeks=False))[0] == (
        "Ada", date(2026, 3, 2), 45, 40, True, 5, 45 / 40
    )  # fmt: skip
    assert cap_rows(db, weekly_caps(db, period))[0] == (
        "Ada", date(2026, 3, 2), 75, 40, True, 35, 75 / 40
    )  # fmt: skip


# --- after hours --------------------------------------------------------------------------

# hours.csv. Working hours stored below: Nora Mon-Fri 09:00-17:00 from 03-02, then
# Mon-Thu 09:00-17:00 from 03-16 (Friday becomes a day off); Leo Mon-Fri 12:00-22:00;
# Sam stores none (Mon-Fri 08:00-18:00 applies, as on the Overview).
#   Nora Quinn (America/New_York), client Cai
#     N1 Fri 02-27 08:30 EST (13:30Z) 10  before her first schedule: 08-18 applies, inside
#     N2 Wed 03-04 21:30 EST          10  after hours (09-17)
#     N3 Fri 03-06 08:30 EST (13:30Z) 20  after hours: before 09:00
#     N4 Mon 03-09 09:30 EDT (13:30Z) 20  inside: same UTC time of day as N3, but EDT now
#     N5 Tue 03-10 (no time of day)   15  untimed: never after hours, counted apart
#     N6 Thu 03-19 17:00 EDT           5  after hours: the end is exclusive
#     N7 Fri 03-20 10:00 EDT          30  after hours: Friday is off from 03-16
#   Leo Park (America/Los_Angeles), client Dee
#     L1 Wed 03-04 21:30 PST          10  inside 12:00-22:00
#     L2 Sat 03-07 13:00 PST          15  after hours: weekend
#     L3 Mon 03-09 12:15 PDT (19:15Z) 20  inside (read with PST it would be 11:15, outside)
#     L4 Mon 03-09 22:00 PDT          10  after hours: the end is exclusive
#     L5 Tue 03-10 11:59 PDT           5  after hours
#   Sam Reed (America/Chicago), client Eli: Mon 03-02 07:59, 08:00, 18:00 CST, 10 each


def _hours_db(load: Callable[[str], Database]) -> Database:
    db = load("hours.csv")
    add_hours(db, "Nora Quinn", date(2026, 3, 2), range(5), time(9), time(17))
    add_hours(db, "Nora Quinn", date(2026, 3, 16), range(4), time(9), time(17))
    add_hours(db, "Leo Park", date(2026, 1, 1), range(5), time(12), time(22))
    return db


def test_after_hours_per_therapist(load: Callable[[str], Database]) -> None:
    db = _hours_db(load)
    frame = after_hours(db, ALL)
    columns = [
        "therapist", "time_zone", "contacts", "minutes", "after_hours_contacts",
        "after_hours_minutes", "untimed_contacts", "untimed_minutes", "default_hours",
    ]  # fmt: skip
    assert [tuple(nullable(v) for v in row) for row in frame[columns].to_numpy()] == [
        # Nora: 7 contacts, 10+10+20+20+15+5+30 = 110; after N2 10 + N3 20 + N6 5 + N7 30
        ("Nora Quinn", "America/New_York", 7, 110, 4, 65, 1, 15, False),
        # Leo: 60 minutes; after L2 15 + L4 10 + L5 5 = 30
        ("Leo Park", "America/Los_Angeles", 5, 60, 3, 30, 0, 0, False),
        # Sam: 07:59 and 18:00 are outside 08:00-18:00
        ("Sam Reed", "America/Chicago", 3, 30, 2, 20, 0, 0, True),
    ]
    # Share over all minutes, as on the Overview: 65/110, 30/60, 20/30.
    assert frame["after_hours_share"].tolist() == pytest.approx([65 / 110, 0.5, 20 / 30])


def test_2130_is_after_hours_in_new_york_but_not_in_los_angeles(
    load: Callable[[str], Database],
) -> None:
    db = _hours_db(load)
    frame = after_hours(db, ContactFilter(start=date(2026, 3, 4), end=date(2026, 3, 4)))
    by_therapist = frame.set_index("therapist")["after_hours_minutes"].to_dict()
    assert by_therapist == {"Nora Quinn": 10, "Leo Park": 0}  # N2 out, L1 in


def test_after_hours_in_the_dst_week_and_across_schedules(
    load: Callable[[str], Database],
) -> None:
    db = _hours_db(load)
    cases = [
        ("Nora Quinn", date(2026, 3, 6), 20),  # N3 Fri 08:30 EST: before 09:00
        ("Nora Quinn", date(2026, 3, 9), 0),  # N4 Mon 09:30 EDT, same 13:30Z: inside
        ("Leo Park", date(2026, 3, 9), 10),  # L3 12:15 PDT inside, L4 22:00 outside
        ("Nora Quinn", date(2026, 2, 27), 0),  # N1 before any stored hours: 08-18 applies
        ("Nora Quinn", date(2026, 3, 20), 30),  # N7 Friday off under the newer schedule
    ]
    for therapist, when, expected in cases:
        only = ContactFilter(start=when, end=when, therapist_ids=(therapist_id(db, therapist),))
        assert after_hours(db, only)["after_hours_minutes"].tolist() == [expected], when


def test_default_working_hours_match_the_overview(load: Callable[[str], Database]) -> None:
    db = _hours_db(load)
    sam = ContactFilter(therapist_ids=(therapist_id(db, "Sam Reed"),))
    assert after_hours(db, sam)["after_hours_minutes"].tolist() == [
        totals(db, sam).after_hours_minutes
    ]
    assert totals(db, sam).after_hours_minutes == 20


# --- response times -----------------------------------------------------------------------

# responses.csv. Nora Quinn (America/New_York), working hours Mon-Fri 09:00-17:00 (stored
# below); Leo Park (America/Los_Angeles) stores none, so Mon-Fri 08:00-18:00 applies.
# Agreed (stored below): Nora's default target 24 h in working hours; Gus's override: 48 h
# in calendar hours. Leo has no boundaries (no target, calendar hours).
#   Gus G1 Fri 03-06 17:00 EST client   -> G3, across the DST weekend:
#          22:00Z Fri -> 14:00Z Mon = 64 calendar h; working: Fri 17:00 is closing time (0)
#          + Mon 09:00-10:00 EDT (1) = 1 h
#       G2 Sat 03-07 12:00 EST unknown  (not a reply: unknown direction)
#       G3 Mon 03-09 10:00 EDT therapist
#       G4 Sat 03-14 09:00 EDT therapist (to Gus: answers nothing of Fay's)
#   Fay R1 Fri 03-13 17:00 EDT client   -> R3: 65 calendar h, 1 working h
#       R2 Sat 03-14 11:00 EDT client   -> R3: 47 calendar h, 1 working h
#       R3 Mon 03-16 10:00 EDT therapist
#       R4 Tue 03-17 16:00 EDT client   -> R5: 18 calendar h; working Tue 16-17 + Wed 9-10 = 2
#       R5 Wed 03-18 10:00 EDT therapist
#       R6 Wed 03-18 11:00 EDT client   unanswered (no therapist contact follows)
#       R7 Thu 03-19, no time of day, client: left out, counted as untimed
#   Hal H1 Fri 03-13 17:30 PDT client   -> H2 Mon 03-16 08:30 PDT: 63 calendar h; working
#          (08-18) Fri 17:30-18:00 + Mon 08:00-08:30 = 1 h
# Percentiles interpolate: p90 of n sorted values sits at position 0.9 x (n - 1).


def _responses_db(load: Callable[[str], Database]) -> Database:
    db = load("responses.csv")
    add_hours(db, "Nora Quinn", date(2026, 1, 1), range(5), time(9), time(17))
    add_boundary(
        db, "Nora Quinn", None, date(2026, 1, 1), response_target_hours=24,
        response_in_working_hours=True,
    )  # fmt: skip
    add_boundary(
        db, "Nora Quinn", "Gus", date(2026, 1, 1), response_target_hours=48,
        response_in_working_hours=False,
    )  # fmt: skip
    return db


def _figures(result: Any) -> tuple[Any, ...]:
    return (
        result.client_contacts,
        result.answered,
        result.unanswered,
        pytest.approx(result.median_hours),
        pytest.approx(result.p90_hours),
        result.with_target,
        result.within_target,
        result.untimed,
    )


def test_response_times_in_working_hours_across_weekends(
    load: Callable[[str], Database],
) -> None:
    db = _responses_db(load)
    result = response_times(db, ALL, mode="working")
    # Working hours: G1 1, R1 1, R2 1, R4 2, H1 1 -> sorted [1, 1, 1, 1, 2]: median 1,
    # p90 at 3.6 -> 1 + 0.6 x (2 - 1) = 1.6. Targets (Nora's clients only): 4 of 4 within.
    assert _figures(result) == (6, 5, 1, 1.0, 1.6, 4, 4, 1)
    assert result.share_within_target == 1.0
    by_therapist = result.by_therapist.set_index("therapist")
    # Nora [1, 1, 1, 2]: median 1, p90 at 2.7 -> 1 + 0.7 = 1.7. Leo [1].
    nora, leo = by_therapist.loc["Nora Quinn"], by_therapist.loc["Leo Park"]
    assert (nora.client_contacts, nora.answered, nora.unanswered, nora.untimed) == (5, 4, 1, 1)
    assert (nora.median_hours, nora.p90_hours) == pytest.approx((1.0, 1.7))
    assert (nora.with_target, nora.within_target, nora.share_within_target) == (4, 4, 1.0)
    assert (leo.client_contacts, leo.answered, leo.median_hours, leo.p90_hours) == (1, 1, 1, 1)
    assert (leo.with_target, leo.within_target) == (0, 0)
    assert pd.isna(leo.share_within_target)


def test_response_times_in_calendar_hours(load: Callable[[str], Database]) -> None:
    db = _responses_db(load)
    result = response_times(db, ALL, mode="calendar")
    # [64, 65, 47, 18, 63] sorted [18, 47, 63, 64, 65]: median 63, p90 at 3.6 -> 64.6.
    # Within target: G1 64 > 48, R1 65 and R2 47 > 24, R4 18 <= 24: 1 of 4.
    assert _figures(result) == (6, 5, 1, 63.0, 64.6, 4, 1, 1)
    assert result.share_within_target == 0.25
    nora = result.by_therapist.set_index("therapist").loc["Nora Quinn"]
    # Nora [18, 47, 64, 65]: median 55.5, p90 at 2.7 -> 64 + 0.7 = 64.7.
    assert (nora.median_hours, nora.p90_hours) == pytest.approx((55.5, 64.7))


def test_response_times_as_agreed(load: Callable[[str], Database]) -> None:
    db = _responses_db(load)
    result = response_times(db, ALL)
    # Gus in calendar hours (64, over his 48), Fay in working hours (1, 1, 2, all within
    # 24), Hal in calendar hours (63, no target): sorted [1, 1, 2, 63, 64]: median 2,
    # p90 at 3.6 -> 63 + 0.6 = 63.6; 3 of 4 within target.
    assert result.mode == "agreed"
    assert _figures(result) == (6, 5, 1, 2.0, 63.6, 4, 3, 1)
    assert result.share_within_target == 0.75
    nora = result.by_therapist.set_index("therapist").loc["Nora Quinn"]
    # Nora [1, 1, 2, 64]: median 1.5, p90 at 2.7 -> 2 + 0.7 x 62 = 45.4.
    assert (nora.median_hours, nora.p90_hours) == pytest.approx((1.5, 45.4))
    assert nora.share_within_target == 0.75


def test_replies_after_the_period_still_answer(load: Callable[[str], Database]) -> None:
    db = _responses_db(load)
    # Up to Fri 03-13: G1, R1 and H1 are asked; their replies come after the period.
    result = response_times(db, ContactFilter(end=date(2026, 3, 13)))
    # Agreed units: G1 64 (calendar), R1 1 (working), H1 63 (calendar): median 63,
    # p90 at 1.8 -> 63 + 0.8 = 63.8. Targets: G1 misses 48, R1 within 24.
    assert _figures(result) == (3, 3, 0, 63.0, 63.8, 2, 1, 0)


def test_overlapping_working_windows_are_not_counted_twice(
    load: Callable[[str], Database],
) -> None:
    db = load("responses.csv")
    # 09:00-13:00 and 12:00-17:00 cover the same hours as 09:00-17:00.
    add_hours(db, "Nora Quinn", date(2026, 1, 1), range(5), time(9), time(13))
    add_hours(db, "Nora Quinn", date(2026, 1, 1), range(5), time(12), time(17))
    nora = ContactFilter(therapist_ids=(therapist_id(db, "Nora Quinn"),))
    result = response_times(db, nora, mode="working")
    assert (result.median_hours, result.p90_hours) == pytest.approx((1.0, 1.7))


# --- out of policy ------------------------------------------------------------------------

# policy.csv, Nora Quinn (America/New_York). Stored below: Nora's default from 01-01 allows
# phone, email, text and portal, text carrying only scheduling and reminders; from 03-16
# text may also carry check-ins. Ben's override from 03-01 allows phone, email and video
# (his channel_categories stay NULL: he inherits the text rule).
#   Ben Wed 02-25 video support   out: before his override, video is not agreed
#   Ada Mon 03-02 text scheduling ok
#   Ada Tue 03-03 text support    out: text carries scheduling and reminders only
#   Ada Wed 03-04 video support   out: video is not agreed
#   Ben Wed 03-04 video support   ok under his override
#   Ada Thu 03-05 text check_in   out: not yet allowed on text
#   Ben Thu 03-05 text support    out twice: text not agreed for Ben, and not support
#   Ben Fri 03-06 portal homework out: portal is not among Ben's channels
#   Ada Tue 03-17 text check_in   ok: allowed from 03-16
#   Ben Wed 03-18 text check_in   out: text not agreed for Ben (check-ins are fine now)
#   Dee (Leo Park, no boundaries) text crisis: ok, nothing agreed


def _policy_db(load: Callable[[str], Database]) -> Database:
    db = load("policy.csv")
    channels = ["phone", "email", "text", "portal"]
    add_boundary(
        db, "Nora Quinn", None, date(2026, 1, 1), allowed_channels=channels,
        channel_categories={"text": ["scheduling", "reminder"]},
    )  # fmt: skip
    add_boundary(
        db, "Nora Quinn", None, date(2026, 3, 16), allowed_channels=channels,
        channel_categories={"text": ["scheduling", "reminder", "check_in"]},
    )  # fmt: skip
    add_boundary(
        db, "Nora Quinn", "Ben", date(2026, 3, 1), allowed_channels=["phone", "email", "video"]
    )
    return db


def test_out_of_policy_channels_and_categories(load: Callable[[str], Database]) -> None:
    db = _policy_db(load)
    names = labels(db)
    frame = out_of_policy(db, ALL)
    rows = sorted(
        (r.local_started_at.to_pydatetime(), names[r.client_key], r.channel, r.category,
         r.minutes, r.reason)
        for r in frame.itertuples()
    )  # fmt: skip
    nora = "(agreed: Email, Phone, Portal, Text / messaging)"
    ben = "(agreed: Email, Phone, Video)"
    assert rows == [
        (pd.Timestamp("2026-02-25 10:00"), "Ben", "video", "support", 25,
         f"Video is not an agreed channel {nora}"),
        (pd.Timestamp("2026-03-03 10:00"), "Ada", "text", "support", 10,
         "Text / messaging may carry only Reminders & confirmations, Scheduling, not Support"),
        (pd.Timestamp("2026-03-04 10:00"), "Ada", "video", "support", 30,
         f"Video is not an agreed channel {nora}"),
        (pd.Timestamp("2026-03-05 10:00"), "Ada", "text", "check_in", 5,
         "Text / messaging may carry only Reminders & confirmations, Scheduling, not Check-ins"),
        (pd.Timestamp("2026-03-05 10:00"), "Ben", "text", "support", 10,
         f"Text / messaging is not an agreed channel {ben}; "
         "Text / messaging may carry only Reminders & confirmations, Scheduling, not Support"),
        (pd.Timestamp("2026-03-06 10:00"), "Ben", "portal", "homework", 15,
         f"Portal is not an agreed channel {ben}"),
        (pd.Timestamp("2026-03-18 10:00"), "Ben", "text", "check_in", 5,
         f"Text / messaging is not an agreed channel {ben}"),
    ]  # fmt: skip
    assert list(frame.columns) == [
        "local_started_at", "client_key", "therapist", "channel", "category", "direction",
        "minutes", "reason",
    ]  # fmt: skip
    assert set(frame["therapist"]) == {"Nora Quinn"}
    # Oldest first, and at most ``limit`` rows.
    limited = out_of_policy(db, ALL, limit=2)
    assert [names[k] for k in limited["client_key"]] == ["Ben", "Ada"]


# --- drift --------------------------------------------------------------------------------

# drift.csv: weekly minutes by week (W1 = Mon 01-05 ... W12 = Mon 03-23).
#          W1  W2  W3  W4  W5  W6  W7  W8  W9  W10 W11 W12
#   Jo     40  30  50   0  40  20  40  30  70  50  60  61   (Ivy Stone; W4 has no contact)
#   Kit    10  10  10  10  10  10  10  10  10  10  10  10   (Ivy Stone)
#   Ivy    50  40  60  10  50  30  50  40  80  60  70  71   (Jo + Kit)
#   Lu     40   0   0   0   0   0   0   0   0  35           (Max Hill, America/Los_Angeles)
# Baseline = median of the previous 8 weeks; alert when minutes >= 30 and > 1.5 x baseline.
#   Jo  W9  [40,30,50,0,40,20,40,30] -> 35, 52.5: 70 fires (+100%)
#       W10 [30,50,0,40,20,40,30,70] -> 35: 50 does not; W11 [...] -> 40, 60: 60 does not
#       W12 [0,40,20,40,30,70,50,60] -> 40, 60: 61 fires (+52.5%)
#   Ivy W9  [50,40,60,10,50,30,50,40] -> 45, 67.5: 80 fires (+77.8%); W10 45: 60 does not;
#       W11 50, 75: 70 does not; W12 50: 71 does not
#   Kit 10 every week: below 30 minutes, never
#   Lu and Max W10: baseline of quiet weeks 0 -> 35 fires (rise NULL); Lu's W9 is 0


def _alerts(frame: pd.DataFrame, db: Database) -> list[tuple[Any, ...]]:
    names = labels(db)
    return [
        (r.level, names.get(r.who, r.who), day(r.week), r.minutes, r.baseline_median,
         None if pd.isna(r.rise_pct) else pytest.approx(r.rise_pct))
        for r in frame.itertuples()
    ]  # fmt: skip


def test_drift_alert_fires(load: Callable[[str], Database]) -> None:
    db = load("drift.csv")
    frame = drift_alerts(db, ALL)
    assert _alerts(frame, db) == [
        ("therapist", "Ivy Stone", date(2026, 3, 2), 80, 45, (80 / 45 - 1) * 100),
        ("client", "Jo", date(2026, 3, 2), 70, 35, 100),
        ("therapist", "Max Hill", date(2026, 3, 9), 35, 0, None),
        ("client", "Lu", date(2026, 3, 9), 35, 0, None),
        ("client", "Jo", date(2026, 3, 23), 61, 40, 52.5),
    ]
    assert frame.loc[1, "therapist"] == "Ivy Stone"  # a client's therapist


def test_drift_alert_does_not_fire_below_the_threshold(load: Callable[[str], Database]) -> None:
    db = load("drift.csv")
    # Doubling needed: Jo W9 70 is not > 2 x 35, Ivy 80 not > 90, Jo W12 61 not > 80.
    assert _alerts(drift_alerts(db, ALL, threshold=1.0), db) == [
        ("therapist", "Max Hill", date(2026, 3, 9), 35, 0, None),
        ("client", "Lu", date(2026, 3, 9), 35, 0, None),
    ]
    # At least 80 minutes: only Ivy's W9 (80).
    assert _alerts(drift_alerts(db, ALL, min_minutes=80), db) == [
        ("therapist", "Ivy Stone", date(2026, 3, 2), 80, 45, (80 / 45 - 1) * 100),
    ]


def test_drift_baseline_reaches_back_before_the_period(load: Callable[[str], Database]) -> None:
    db = load("drift.csv")
    # From Wed 03-11: weeks W10 (Mon 03-09) on are reported, their baselines from before.
    frame = drift_alerts(db, ContactFilter(start=date(2026, 3, 11)))
    assert _alerts(frame, db) == [
        ("therapist", "Max Hill", date(2026, 3, 9), 35, 0, None),
        ("client", "Lu", date(2026, 3, 9), 35, 0, None),
        ("client", "Jo", date(2026, 3, 23), 61, 40, 52.5),
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"threshold": -0.1}, "would flag falls"),
        ({"baseline_weeks": 0}, "at least 1 week"),
        ({"min_minutes": -1}, "cannot be negative"),
    ],
)
def test_drift_refuses_meaningless_knobs(
    empty_db: Database, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidFilterError, match=message):
        drift_alerts(empty_db, ALL, **arguments)


# --- summary and edges --------------------------------------------------------------------


def test_summary_headline(load: Callable[[str], Database]) -> None:
    db = load("caps.csv")
    add_boundary(db, "Nora Quinn", None, date(2026, 1, 1), weekly_cap_minutes=60)
    result = compliance_summary(db, ALL)
    assert result.period == Period(date(2026, 3, 2), date(2026, 3, 25))
    # Caps (see test_cap_summary_for_progress_bars): both clients capped, Ada over in 3
    # weeks by 15 + 20 + 20 = 55 minutes.
    assert (result.clients_with_cap, result.clients_over_cap) == (2, 1)
    assert (result.breach_weeks, result.over_by_minutes) == (3, 55)
    assert (result.out_of_policy_contacts, result.out_of_policy_minutes) == (0, 0)
    # No stored hours: Mon-Fri 08:00-18:00; only Ada's Sun 23:30 reminder (10) is outside,
    # of 300 (Ada) + 70 (Ben) = 370 minutes.
    assert result.after_hours_minutes == 10
    assert result.after_hours_share == pytest.approx(10 / 370)
    assert result.untimed_contacts == 0
    # Client-initiated: Ada Wed 03-04 11:00 EST answered Thu 09:00 EST (22 h); Ada's Fri
    # 03-13 crisis call has no therapist-initiated contact after it. No target agreed.
    assert (result.response.client_contacts, result.response.unanswered) == (2, 1)
    assert (result.response_median_hours, result.response_p90_hours) == (22, 22)
    assert result.response_share_within_target is None
    # Four weeks of data: no full 8-week baseline, no alerts.
    assert result.alerts == 0


def test_everything_is_empty_without_contacts(empty_db: Database) -> None:
    for frame in (
        weekly_caps(empty_db, ALL),
        category_caps(empty_db, ALL),
        cap_summary(empty_db, ALL),
        out_of_policy(empty_db, ALL),
        after_hours(empty_db, ALL),
        drift_alerts(empty_db, ALL),
    ):
        assert frame.empty
    result = compliance_summary(empty_db, ALL)
    assert result.period is None
    assert (result.breach_weeks, result.out_of_policy_contacts, result.alerts) == (0, 0, 0)
    assert result.after_hours_share is None
    assert result.response.client_contacts == 0
    assert result.response.median_hours is None


def test_unknown_response_mode_is_refused(empty_db: Database) -> None:
    with pytest.raises(InvalidFilterError, match="Unknown response-time mode 'business'"):
        response_times(empty_db, ALL, mode="business")  # type: ignore[arg-type]
