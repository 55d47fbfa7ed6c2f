"""Load per session hour and the session-aware measures, checked by hand.

The fixture (tests/data/session_load_sessions.csv and session_load_contacts.csv) has two
therapists in different zones; the period is Monday 2026-10-19 to Sunday 2026-11-01, two
local ISO weeks (W43 from 10-19, W44 from 10-26). Europe leaves summer time on 2026-10-25
(03:00 CEST -> 02:00 CET), the United States on 2026-11-01 (02:00 EDT -> 01:00 EST).

Sessions (local wall time, minutes, status):

    Ana Berg, Spree Praxis, Europe/Berlin
      A1 Mia  Tue 10-20 10:00  50 attended        W43
      A2 Mia  Tue 10-27 10:00  50 attended        W44 (CET now, still 10:00 local)
      A3 Noah Wed 10-21 15:00  50 no_show         W43
      A4 Noah Sun 10-25 02:30  60 late_cancelled  W43 (02:30 CEST, ends 02:30 CET: crosses DST)
      A5 Noah Wed 10-28 15:00  50 cancelled       W44
      A6 Lena Thu 10-22 09:00  50 no_show         W43
      A7 Lena Thu 10-29 09:00  50 cancelled       W44
    Ben Cole, Harbor Counseling, America/New_York
      B0 Eli  Sun 10-18 20:00  50 attended        before the period
      B1 Ava  Wed 10-21 09:00  45 attended        W43
      B2 Ava  Sun 10-25 23:30  60 attended        W43 (Monday 03:30 in UTC: W44 there)
      B3 Eli  Wed 10-28 18:00  50 late_cancelled  W44
      B4 Eli  Sun 11-01 01:30  50 attended        W44 (01:30 EDT, ends in EST: crosses DST)
      B6 Eli  Sun 11-01 21:00  50 no_show         W44 (11-02 02:00 in UTC)
      B5 Ava  Mon 11-02 09:00  45 attended        after the period

In the period: attended A1 A2 B1 B2 B4 = 50+50+45+60+50 = 255 min (5); no_show A3 A6 B6 =
150 min (3); late_cancelled A4 B3 = 60+50 = 110 min (2); cancelled A5 A7 = 100 min (2).
Scheduled = attended + no_show + late_cancelled = 255+150+110 = 515 min = 8 7/12 h.

Contacts (local wall time, minutes; the session each follows within 3 local days):

    c1  Mia  10-20 18:00 10  after A1 attended
    c2  Mia  10-23 12:00 20  A1 + 3 days ended 10-23 10:00: none
    c3  Noah 10-21 16:00 15  after A3 no_show
    c4  Noah 10-24 14:00  5  after A3 no_show (window ends 10-24 15:00)
    c6  Noah 10-27 20:00 25  after A4 late_cancelled (window ends 10-28 02:30 wall time)
    c8  Noah 10-28 02:00  5  after A4 late_cancelled: 02:00 CET is within 3 wall-clock
                             days of 02:30 CEST (in elapsed hours it would be 73 h, outside)
    c5  Noah 10-28 07:00 10  latest session A4, window over: none
    c7  Noah 10-29 10:00 10  after A5 cancelled
    c9  Lena 10-19 09:00 30  no session before it in the period: none
    c10 Lena 10-22 11:00 30  after A6 no_show (crisis)
    c11 Lena 10-23 20:00 40  after A6 no_show
    c12 Lena 10-26 10:00 20  A6 window ended 10-25 09:00: none
    c13 Lena 10-30 08:00 25  after A7 cancelled
    c14 Lena 11-01 22:00 15  A7 window ended 11-01 09:00: none
    c15 Ava  10-22 08:00 10  after B1 attended
    c16 Ava  10-26 10:00 10  after B2 attended
    c17 Eli  10-29 09:00 20  after B3 late_cancelled
    c18 Eli  11-01 23:00 10  after B6 no_show (11-02 04:00 UTC, still 11-01 local)
    c19 Eli  11-02 09:00 10  after the period

Contact minutes in the period: Mia 10+20 = 30; Noah 15+5+25+5+10+10 = 70; Lena
30+30+40+20+25+15 = 160; Ava 10+10 = 20; Eli 20+10 = 30; Ana 260, Ben 50, total 310.
"""

import json
import math
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as hst
from streamlit.testing.v1 import AppTest

from analytics.access.filters import ContactFilter
from analytics.access.scope import LOCAL, Scope
from analytics.errors import InvalidFilterError
from analytics.measures.metrics import filter_choices
from analytics.measures.session_load import (
    after_missed_sessions,
    client_sessions,
    low_attendance_clients,
    session_load_by,
    session_totals,
    weekly_session_load,
)
from analytics.storage.database import Database
from analytics.storage.sessions import add_sessions
from analytics.storage.settings import set_setting
from analytics.storage.store import add_contacts
from tests.conftest import DATA
from tests.test_cli import run

PERIOD = ContactFilter(start=date(2026, 10, 19), end=date(2026, 11, 1))


def load_session_fixture(db: Database) -> None:
    """Store the fixture's contacts and sessions (two batches)."""
    contacts = pd.read_csv(DATA / "session_load_contacts.csv", dtype=str, keep_default_na=False)
    add_contacts(db, contacts, source="fixture", file_name="session_load_contacts.csv")
    sessions = pd.read_csv(DATA / "session_load_sessions.csv", dtype=str, keep_default_na=False)
    sessions["identity"] = None
    add_sessions(db, sessions, source="fixture", file_name="session_load_sessions.csv")


@pytest.fixture
def session_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(tmp_path / "sessions.duckdb")
    load_session_fixture(db)
    yield db
    db.close()


def key_of(db: Database, label: str) -> str:
    (key,) = db.row("SELECT client_key FROM clients WHERE label = ?", [label])
    return str(key)


def therapist_id(db: Database, name: str) -> int:
    (therapist,) = db.row("SELECT therapist_id FROM therapists WHERE name = ?", [name])
    return int(therapist)


def practice_id(db: Database, name: str) -> int:
    (practice,) = db.row("SELECT practice_id FROM practices WHERE name = ?", [name])
    return int(practice)


def rows(frame: pd.DataFrame, *columns: str) -> list[tuple[object, ...]]:
    """Rows of ``frame`` as tuples, floats rounded to 4 places and NaN as None."""

    def plain(value: object) -> object:
        if isinstance(value, float):
            return None if math.isnan(value) else round(value, 4)
        return value

    return [
        tuple(plain(value) for value in row) for row in frame[list(columns)].itertuples(index=False)
    ]


# --- totals ---------------------------------------------------------------------------------


def test_session_totals_over_the_period(session_db: Database) -> None:
    totals = session_totals(session_db, PERIOD)
    assert totals.contact_minutes == 310  # Ana 260 + Ben 50 (c19 is after the period)
    assert totals.scheduled_minutes == 515  # 255 attended + 150 no-show + 110 late-cancelled
    assert totals.scheduled_hours == pytest.approx(515 / 60)  # 8.583 h
    assert totals.attended_hours == pytest.approx(255 / 60)  # 4.25 h
    # B0 (10-18) and B5 (11-02) are outside; B6 is 11-02 in UTC but 11-01 in New York
    assert dict(totals.sessions_by_status) == {
        "attended": 5,
        "cancelled": 2,
        "late_cancelled": 2,
        "no_show": 3,
    }
    assert totals.sessions == 12
    # 310 min / (515 / 60) h = 36.117 min per session hour; × 8 = 288.93
    assert totals.per_session_hour == pytest.approx(310 / (515 / 60))
    assert totals.per_8_session_hours == pytest.approx(310 / (515 / 60) * 8)
    # 310 / (310 + 255) = 0.5487
    assert totals.between_session_share == pytest.approx(310 / 565)


def test_channel_filter_narrows_contacts_not_sessions(session_db: Database) -> None:
    phone = session_totals(
        session_db, ContactFilter(start=PERIOD.start, end=PERIOD.end, channels=("phone",))
    )
    # phone: c2 20 + c3 15 + c6 25 + c9 30 + c10 30 + c11 40 + c13 25 + c17 20 = 205
    assert phone.contact_minutes == 205
    assert phone.scheduled_minutes == 515  # sessions have no channel
    assert phone.per_session_hour == pytest.approx(205 / (515 / 60))


def test_without_sessions_the_rates_are_none(tmp_path: Path) -> None:
    db = Database(tmp_path / "contacts-only.duckdb")
    contacts = pd.read_csv(DATA / "session_load_contacts.csv", dtype=str, keep_default_na=False)
    add_contacts(db, contacts, source="fixture")
    totals = session_totals(db, PERIOD)
    assert totals.contact_minutes == 310
    assert totals.scheduled_hours == 0
    assert totals.per_session_hour is None
    assert totals.per_8_session_hours is None
    assert totals.between_session_share == 1.0  # 310 / (310 + 0): no attended session
    # no session at all: attendance is unknown, so nobody is flagged for missing it
    clients = low_attendance_clients(db, PERIOD)
    db.close()
    assert len(clients) == 5 and not clients["flagged"].any()


def test_nothing_at_all_gives_zeros_and_none(empty_db: Database) -> None:
    totals = session_totals(empty_db, ContactFilter())
    assert (totals.contact_minutes, totals.scheduled_minutes, totals.sessions) == (0, 0, 0)
    assert totals.per_session_hour is None
    assert totals.between_session_share is None


# --- grouped --------------------------------------------------------------------------------


def test_load_by_therapist(session_db: Database) -> None:
    table = session_load_by(session_db, PERIOD, "therapist")
    assert rows(
        table,
        "key",
        "contacts",
        "contact_minutes",
        "sessions",
        "scheduled_hours",
        "per_session_hour",
        "per_8_session_hours",
        "between_session_share",
    ) == [
        # Ana: scheduled A1 A2 A3 A4 A6 = 50+50+50+60+50 = 260 min; contacts 260 min (14)
        # -> 260 / (260/60) = 60 min per session hour, 480 per 8 h;
        # attended A1 A2 = 100 -> share 260 / 360 = 0.7222
        ("Ana Berg", 14, 260.0, 5, round(260 / 60, 4), 60.0, 480.0, round(260 / 360, 4)),
        # Ben: scheduled B1 B2 B3 B4 B6 = 45+60+50+50+50 = 255 min; contacts 50 min (4)
        # -> 50 / 4.25 = 11.7647, × 8 = 94.1176; attended 155 -> 50 / 205 = 0.2439
        (
            "Ben Cole",
            4,
            50.0,
            5,
            4.25,
            round(50 / 4.25, 4),
            round(400 / 4.25, 4),
            round(50 / 205, 4),
        ),
    ]


def test_load_by_client_and_practice(session_db: Database) -> None:
    table = session_load_by(session_db, PERIOD, "client")
    # busiest first; Eli and Mia tie at 30 min and follow their pseudonymous keys
    assert list(table["label"])[:2] == ["Lena", "Noah"]
    assert sorted(
        rows(table, "label", "contact_minutes", "scheduled_hours", "per_session_hour")
    ) == [
        ("Ava", 20.0, 1.75, round(20 / 1.75, 4)),  # B1 45 + B2 60 = 105 min
        ("Eli", 30.0, 2.5, 12.0),  # B3 + B4 + B6 = 150 min = 2.5 h: 30 / 2.5
        ("Lena", 160.0, round(50 / 60, 4), 192.0),  # A6 50 scheduled: 160 / (50/60)
        ("Mia", 30.0, round(100 / 60, 4), 18.0),  # A1 + A2 = 100 min: 30 / (100/60)
        ("Noah", 70.0, round(110 / 60, 4), round(70 / (110 / 60), 4)),  # A3 50 + A4 60
    ]
    assert dict(zip(table["label"], table["key"], strict=True)) == {
        name: key_of(session_db, name) for name in ("Lena", "Noah", "Eli", "Mia", "Ava")
    }
    practices = session_load_by(session_db, PERIOD, "practice")
    assert rows(practices, "key", "per_session_hour") == [
        ("Spree Praxis", 60.0),
        ("Harbor Counseling", round(50 / 4.25, 4)),
    ]


def test_load_by_local_week_and_month(session_db: Database) -> None:
    weeks = session_load_by(session_db, PERIOD, "week")
    assert rows(weeks, "key", "contact_minutes", "scheduled_hours", "per_session_hour") == [
        # W43 scheduled: A1 50 A3 50 A4 60 A6 50 B1 45 B2 60 (Sunday in New York) = 315
        # contacts c1 10 c2 20 c3 15 c4 5 c9 30 c10 30 c11 40 c15 10 = 160
        ("2026-10-19", 160.0, 5.25, round(160 / 5.25, 4)),
        # W44 scheduled: A2 50 B3 50 B4 50 B6 50 = 200 (A5, A7 cancelled in time)
        # contacts c5 10 c6 25 c7 10 c8 5 c12 20 c13 25 c14 15 c16 10 c17 20 c18 10 = 150
        ("2026-10-26", 150.0, round(200 / 60, 4), 45.0),
    ]
    months = session_load_by(session_db, PERIOD, "month")
    assert rows(months, "key", "contact_minutes", "scheduled_hours") == [
        # November (local): c14 15 + c18 10 = 25; B4 50 + B6 50 = 100 min
        ("2026-10", 285.0, round(415 / 60, 4)),
        ("2026-11", 25.0, round(100 / 60, 4)),
    ]


@pytest.mark.parametrize("by", ["channel", "category", "'; DROP TABLE sessions; --"])
def test_unknown_grouping_is_refused_in_one_sentence(session_db: Database, by: str) -> None:
    with pytest.raises(InvalidFilterError, match="use one of therapist, practice, client"):
        session_load_by(session_db, PERIOD, by)


def test_weekly_session_load_is_zero_filled(session_db: Database) -> None:
    weeks = weekly_session_load(session_db, PERIOD)
    assert rows(weeks, "contact_minutes", "scheduled_hours", "attended_hours") == [
        # attended W43: A1 50 + B1 45 + B2 60 = 155; W44: A2 50 + B4 50 = 100
        (160.0, 5.25, round(155 / 60, 4)),
        (150.0, round(200 / 60, 4), round(100 / 60, 4)),
    ]
    assert [week.isoformat() for week in weeks["week"].dt.date] == ["2026-10-19", "2026-10-26"]
    everything = weekly_session_load(session_db, ContactFilter())
    # without a period: from B0 (Sunday 10-18, week of 10-12) to B5/c19 (11-02)
    assert rows(everything, "contact_minutes", "scheduled_hours", "per_session_hour") == [
        (0.0, round(50 / 60, 4), 0.0),  # B0 only
        (160.0, 5.25, round(160 / 5.25, 4)),
        (150.0, round(200 / 60, 4), 45.0),
        (10.0, 0.75, round(10 / 0.75, 4)),  # c19 10 min, B5 45 min
    ]
    quiet = weekly_session_load(
        session_db, ContactFilter(start=date(2026, 11, 9), end=date(2026, 11, 15))
    )
    # a week with nothing in it is there, with no rate
    assert rows(quiet, "contact_minutes", "scheduled_hours", "per_session_hour") == [
        (0.0, 0.0, None)
    ]


# --- clients --------------------------------------------------------------------------------


def test_low_attendance_clients_flags_the_top_quartile_without_attendance(
    session_db: Database,
) -> None:
    table = low_attendance_clients(session_db, PERIOD)
    # contact minutes [20, 30, 30, 70, 160]: 75th percentile (quantile_cont) at position
    # 0.75 × 4 = 3 -> 70. Top quartile: Lena 160 and Noah 70 (at the line counts). The
    # period is 14 days, so 1 attended session per 4 weeks allows 1 × 14 / 28 = 0.5: both
    # attended nothing and are flagged.
    measured = rows(
        table,
        "label",
        "contact_minutes",
        "attended_sessions",
        "missed_sessions",
        "cancelled_sessions",
        "minutes_per_attended_session",
        "attended_limit",
        "flagged",
    )
    # flagged first, then by minutes (Eli and Mia tie at 30 and follow their keys)
    assert measured[:2] == [
        ("Lena", 160.0, 0, 1, 1, None, 0.5, True),  # A6 no-show, A7 cancelled
        ("Noah", 70.0, 0, 2, 1, None, 0.5, True),  # A3 no-show, A4 late, A5 cancelled
    ]
    assert sorted(measured[2:]) == [
        ("Ava", 20.0, 2, 0, 0, 10.0, 0.5, False),  # 20 / 2
        ("Eli", 30.0, 1, 2, 0, 30.0, 0.5, False),  # B4 attended; B3 late, B6 no-show
        ("Mia", 30.0, 2, 0, 0, 15.0, 0.5, False),  # 30 / 2
    ]
    assert measured[4][0] == "Ava"
    # no attended session allowed, or 10 per 4 weeks (5 in the fortnight): Lena and Noah
    # still, since Eli, Mia and Ava are below the quartile line whatever the threshold
    for threshold in (0, 10):
        other = low_attendance_clients(session_db, PERIOD, threshold)
        assert list(other.loc[other["flagged"], "label"]) == ["Lena", "Noah"]
    with pytest.raises(InvalidFilterError, match="0 or more"):
        low_attendance_clients(session_db, PERIOD, -1)


def test_low_attendance_limit_follows_the_span_without_dates(session_db: Database) -> None:
    # no dates: contacts and sessions span 10-18 (B0) to 11-02 (B5, c19) = 16 days, so the
    # limit is 1 × 16 / 28 = 0.5714 attended sessions
    table = low_attendance_clients(session_db, ContactFilter())
    assert set(table["attended_limit"].round(4)) == {round(16 / 28, 4)}


def test_after_missed_sessions_per_status(session_db: Database) -> None:
    table = after_missed_sessions(session_db, PERIOD)
    assert list(table["label"]) == ["No-show", "Late-cancelled", "Cancelled in time", "Attended"]
    assert rows(
        table,
        "status",
        "sessions",
        "sessions_followed",
        "contacts",
        "minutes",
        "minutes_per_session",
        "days",
    ) == [
        # c3 15 c4 5 (A3), c10 30 c11 40 (A6), c18 10 (B6): 100 min over 3 no-shows
        ("no_show", 3, 3, 5, 100.0, round(100 / 3, 4), 3),
        # c6 25 c8 5 (A4, across the DST change), c17 20 (B3)
        ("late_cancelled", 2, 2, 3, 50.0, 25.0, 3),
        # c7 10 (A5), c13 25 (A7)
        ("cancelled", 2, 2, 2, 35.0, 17.5, 3),
        # baseline: c1 10 (A1), c15 10 (B1), c16 10 (B2); A2 and B4 have nothing after
        ("attended", 5, 3, 3, 30.0, 6.0, 3),
    ]


def test_after_missed_sessions_follows_the_days_setting(session_db: Database) -> None:
    one_day = [
        # c3 15 (A3 15:00 -> 16:00), c10 30 (A6), c18 10 (B6); c4 and c11 are a day too late
        ("no_show", 3, 55.0),
        # c17 20 (B3 18:00 -> 09:00 next day); c6 and c8 are over a day after A4
        ("late_cancelled", 1, 20.0),
        # c7 10 (A5 10-28 15:00 -> 10-29 10:00), c13 25 (A7 09:00 -> next day 08:00)
        ("cancelled", 2, 35.0),
        ("attended", 3, 30.0),  # c1 (8 h), c15 (23 h), c16 (10.5 h after B2)
    ]
    assert (
        rows(after_missed_sessions(session_db, PERIOD, 1), "status", "contacts", "minutes")
        == one_day
    )
    set_setting(session_db, "after_session_days", 1)
    assert (
        rows(after_missed_sessions(session_db, PERIOD), "status", "contacts", "minutes") == one_day
    )
    with pytest.raises(InvalidFilterError, match="1 day or more"):
        after_missed_sessions(session_db, PERIOD, 0)


def test_a_contact_in_the_repeated_hour_follows_the_session_before_it(empty_db: Database) -> None:
    # Berlin, 2026-10-25: 02:00-03:00 happens twice. The no-show starts at 02:30 CEST
    # (00:30 UTC); the text comes 40 minutes later, at 02:10 CET (01:10 UTC): earlier on the
    # wall clock, later in time. It follows the no-show.
    names = {"practice": "Spree Praxis", "therapist": "Ana Berg", "time_zone": "Europe/Berlin"}
    add_sessions(
        empty_db,
        pd.DataFrame(
            [
                {
                    **names,
                    "client": "Noah",
                    "started_at": "2026-10-25T02:30:00+02:00",
                    "minutes": 50,
                    "status": "no_show",
                    "identity": None,
                }
            ]
        ),
        source="test",
    )
    add_contacts(
        empty_db,
        pd.DataFrame(
            [
                {
                    **names,
                    "client": "Noah",
                    "started_at": "2026-10-25T02:10:00+01:00",
                    "minutes": 5,
                    "channel": "text",
                    "category": "scheduling",
                    "direction": "client",
                }
            ]
        ),
        source="test",
    )
    table = after_missed_sessions(empty_db, ContactFilter(), 1)
    assert rows(table, "status", "sessions", "contacts", "minutes") == [
        ("no_show", 1, 1, 5.0),
        ("late_cancelled", 0, 0, 0.0),
        ("cancelled", 0, 0, 0.0),
        ("attended", 0, 0, 0.0),
    ]


def test_client_sessions_in_local_time(session_db: Database) -> None:
    eli = client_sessions(session_db, PERIOD, key_of(session_db, "Eli"))
    # B0 (10-18) is before the period; B6 is 11-02 02:00 UTC but 11-01 21:00 in New York
    assert [str(value) for value in eli["local_started_at"]] == [
        "2026-10-28 18:00:00",
        "2026-11-01 01:30:00",
        "2026-11-01 21:00:00",
    ]
    assert list(eli["status"]) == ["late_cancelled", "attended", "no_show"]
    assert list(eli["label"]) == ["Late-cancelled", "Attended", "No-show"]
    assert set(eli["therapist"]) == {"Ben Cole"}
    noah = client_sessions(session_db, ContactFilter(), key_of(session_db, "Noah"))
    # A4: 02:30 CEST on the night the clocks go back
    assert [str(value) for value in noah["local_started_at"]] == [
        "2026-10-21 15:00:00",
        "2026-10-25 02:30:00",
        "2026-10-28 15:00:00",
    ]


# --- scope ----------------------------------------------------------------------------------


def test_a_therapist_sees_only_their_own_sessions_and_contacts(session_db: Database) -> None:
    ben = Scope.therapist("ben", (therapist_id(session_db, "Ben Cole"),))
    filters = PERIOD.with_scope(ben)
    totals = session_totals(session_db, filters)
    # Ben: contacts 50 min; scheduled B1 45 B2 60 B3 50 B4 50 B6 50 = 255; attended 155
    assert (totals.contact_minutes, totals.scheduled_minutes, totals.attended_minutes) == (
        50,
        255,
        155,
    )
    assert dict(totals.sessions_by_status) == {
        "attended": 3,
        "cancelled": 0,
        "late_cancelled": 1,
        "no_show": 1,
    }
    assert list(session_load_by(session_db, filters, "therapist")["key"]) == ["Ben Cole"]
    assert list(session_load_by(session_db, filters, "client")["label"]) == ["Eli", "Ava"]
    assert client_sessions(session_db, filters, key_of(session_db, "Noah")).empty
    assert list(low_attendance_clients(session_db, filters)["label"]) == ["Eli", "Ava"]
    # Ben's weeks: W43 c15 10 min over B1 45 + B2 60 = 105 min (1.75 h);
    # W44 c16 10 + c17 20 + c18 10 = 40 min over B3 + B4 + B6 = 150 min (2.5 h)
    assert rows(weekly_session_load(session_db, filters), "contact_minutes", "scheduled_hours") == [
        (10.0, 1.75),
        (40.0, 2.5),
    ]
    missed = after_missed_sessions(session_db, filters)
    assert rows(missed, "status", "sessions", "contacts", "minutes") == [
        ("no_show", 1, 1, 10.0),  # B6 -> c18
        ("late_cancelled", 1, 1, 20.0),  # B3 -> c17
        ("cancelled", 0, 0, 0.0),
        ("attended", 3, 2, 20.0),  # B1 -> c15, B2 -> c16
    ]


def test_a_supervisor_sees_keys_not_labels(session_db: Database) -> None:
    harbor = Scope.supervisor("sam", (practice_id(session_db, "Harbor Counseling"),))
    filters = PERIOD.with_scope(harbor)
    table = low_attendance_clients(session_db, filters)
    assert list(table["label"]) == list(table["client_key"])
    assert set(table["client_key"]) == {key_of(session_db, "Eli"), key_of(session_db, "Ava")}
    # two clients, contact minutes [20, 30]: 75th percentile 20 + 0.75 × 10 = 27.5, so only
    # Eli (30 min) is high; his one attended session is over 0.5 (1 per 4 weeks × 14 / 28)
    assert rows(table, "contact_minutes", "flagged") == [(30.0, False), (20.0, False)]
    # 2 per 4 weeks allows 1 in the fortnight: Eli is flagged at this supervisor's scale
    generous = low_attendance_clients(session_db, filters, 2)
    assert rows(generous, "contact_minutes", "flagged") == [(30.0, True), (20.0, False)]
    by_client = session_load_by(session_db, filters, "client")
    assert list(by_client["label"]) == list(by_client["key"])
    assert "Eli" not in set(by_client["label"])


def test_an_unknown_identity_sees_nothing(session_db: Database) -> None:
    filters = PERIOD.with_scope(Scope.nobody("stranger"))
    totals = session_totals(session_db, filters)
    assert (totals.contact_minutes, totals.sessions) == (0, 0)
    assert session_load_by(session_db, filters, "client").empty
    assert low_attendance_clients(session_db, filters).empty
    assert after_missed_sessions(session_db, filters)["contacts"].sum() == 0
    weeks = weekly_session_load(session_db, filters)
    assert (weeks["contact_minutes"].sum(), weeks["scheduled_hours"].sum()) == (0, 0)
    assert client_sessions(session_db, filters, key_of(session_db, "Eli")).empty


# --- command line ---------------------------------------------------------------------------


@pytest.fixture
def session_db_path(tmp_path: Path) -> Path:
    path = tmp_path / "cli.duckdb"
    db = Database(path)
    load_session_fixture(db)
    db.close()
    return path


def test_cli_summary_per_session_hour_json(session_db_path: Path, tmp_path: Path) -> None:
    result = run(
        "summary",
        "--db",
        session_db_path,
        "--by",
        "therapist",
        "--from",
        "2026-10-19",
        "--to",
        "2026-11-01",
        "--per-session-hour",
        "--json",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    rows_out = json.loads(result.stdout)
    assert [row["key"] for row in rows_out] == ["Ana Berg", "Ben Cole"]
    ana, ben = rows_out
    # Ana: 260 min over 260 scheduled min; Ben: 50 min over 255 (see test_load_by_therapist)
    assert ana == {
        "key": "Ana Berg",
        "contacts": 14,
        "minutes": 260.0,
        "scheduled_session_hours": pytest.approx(260 / 60),
        "minutes_per_session_hour": pytest.approx(60.0),
        "minutes_per_8_session_hours": pytest.approx(480.0),
    }
    assert ben["minutes_per_session_hour"] == pytest.approx(50 / 4.25)
    assert ben["scheduled_session_hours"] == pytest.approx(4.25)


def test_cli_summary_per_session_hour_table(session_db_path: Path, tmp_path: Path) -> None:
    # the week of 11-02 alone: c19 10 min, B5 45 min -> 13.3 per session hour, 106.7 per 8 h
    result = run(
        "summary",
        "--db",
        session_db_path,
        "--by",
        "week",
        "--from",
        "2026-11-02",
        "--per-session-hour",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert "min per session h" in lines[0] and "min per 8 session h" in lines[0]
    assert lines[1].split() == ["2026-11-02", "1", "10.0", "0.75", "13.3", "106.7"]


def test_cli_per_session_hour_without_sessions_says_so(tmp_path: Path) -> None:
    path = tmp_path / "contacts-only.duckdb"
    db = Database(path)
    contacts = pd.read_csv(DATA / "session_load_contacts.csv", dtype=str, keep_default_na=False)
    add_contacts(db, contacts, source="fixture")
    db.close()
    result = run("summary", "--db", path, "--by", "practice", "--per-session-hour", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("—, no sessions") == 4  # two practices, two rates each
    as_json = run(
        "summary", "--db", path, "--by", "practice", "--per-session-hour", "--json", cwd=tmp_path
    )
    assert {row["minutes_per_session_hour"] for row in json.loads(as_json.stdout)} == {None}


def test_cli_per_session_hour_by_channel_exits_1(session_db_path: Path, tmp_path: Path) -> None:
    result = run(
        "summary", "--db", session_db_path, "--by", "channel", "--per-session-hour", cwd=tmp_path
    )
    assert result.returncode == 1
    assert "sessions have no channel or category" in result.stderr
    assert "Traceback" not in result.stderr


# --- pages ----------------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def page_filter(db: Database) -> ContactFilter:
    """The sidebar's default filter: the span of the stored contacts."""
    choices = filter_choices(db, LOCAL)  # the pages run in local mode here
    return ContactFilter(start=choices.first_day, end=choices.last_day)


def run_page(db_path: Path, monkeypatch: pytest.MonkeyPatch, page: str | None = None) -> AppTest:
    monkeypatch.setenv("CONTACTLOAD_DB", str(db_path))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90)
    app.run()
    if page:
        app.switch_page(page).run()
    assert not app.exception, [exception.message for exception in app.exception]
    return app


def test_overview_shows_load_per_session_hour(
    demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_page(demo_db_path, monkeypatch)
    values = {metric.label: metric.value for metric in app.metric}
    db = Database(demo_db_path)
    expected = session_totals(db, page_filter(db))
    db.close()
    assert expected.per_session_hour is not None and expected.between_session_share is not None
    assert values["Minutes per session hour"] == f"{expected.per_session_hour:,.1f} min"
    assert values["Minutes per 8 session hours"] == f"{expected.per_8_session_hours:,.0f} min"
    assert values["Between-session share"] == f"{expected.between_session_share * 100:.1f} %"
    keys = {chart.proto.id for chart in app.get("plotly_chart")}
    assert any("session_load_chart" in key for key in keys)
    by_therapist = next(
        frame.value for frame in app.dataframe if "per_8_session_hours" in frame.value.columns
    )
    assert len(by_therapist) == 12  # the demo's therapists
    # the therapists' scheduled hours add up to the card's
    assert by_therapist["scheduled_hours"].sum() == pytest.approx(expected.scheduled_hours)
    assert by_therapist["contact_minutes"].sum() == pytest.approx(expected.contact_minutes)


def test_measures_add_up_on_demo_data(demo_db_path: Path) -> None:
    """Every grouping splits the same totals: no session or contact lost or counted twice."""
    db = Database(demo_db_path)
    filters = page_filter(db)
    totals = session_totals(db, filters)
    groupings = {by: session_load_by(db, filters, by) for by in ("practice", "client", "month")}
    weeks = weekly_session_load(db, filters)
    after = after_missed_sessions(db, filters)
    contacts = int(db.row("SELECT count(*) FROM contacts", [])[0])
    db.close()
    for by, table in groupings.items():
        assert table["scheduled_hours"].sum() == pytest.approx(totals.scheduled_hours), by
        assert table["attended_hours"].sum() == pytest.approx(totals.attended_hours), by
        assert table["contact_minutes"].sum() == pytest.approx(totals.contact_minutes), by
    assert weeks["scheduled_hours"].sum() == pytest.approx(totals.scheduled_hours)
    assert weeks["contact_minutes"].sum() == pytest.approx(totals.contact_minutes)
    assert list(after["sessions"]) == [
        totals.sessions_by_status[status]
        for status in ("no_show", "late_cancelled", "cancelled", "attended")
    ]
    # each contact counts after one session at most
    assert 0 < after["contacts"].sum() <= contacts
    assert (after["sessions_followed"] <= after["sessions"]).all()


def test_overview_without_sessions_says_so(
    fixture_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "no-sessions.duckdb"
    shutil.copy(fixture_db_path, path)
    app = run_page(path, monkeypatch)
    values = {metric.label: metric.value for metric in app.metric}
    assert values["Minutes per session hour"] == "—, no sessions"
    assert any("No sessions" in info.value for info in app.info)


def test_clients_page_without_sessions_says_so(
    fixture_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "no-sessions.duckdb"
    shutil.copy(fixture_db_path, path)
    app = run_page(path, monkeypatch, "pages/clients.py")
    assert any("attendance cannot be judged" in info.value for info in app.info)
    assert any("No sessions match these filters" in info.value for info in app.info)
    assert not [frame for frame in app.dataframe if "attended_sessions" in frame.value.columns]
    assert any("No sessions of this client" in caption.value for caption in app.caption)


def test_clients_page_shows_sessions_low_attendance_and_after_missed(
    demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_page(demo_db_path, monkeypatch, "pages/clients.py")
    # tables are told apart by their columns (AppTest gives data frames no key)
    frames = [frame.value for frame in app.dataframe]
    after = next(frame for frame in frames if "sessions_followed" in frame.columns)
    db = Database(demo_db_path)
    expected = after_missed_sessions(db, page_filter(db))
    flagged = int(low_attendance_clients(db, page_filter(db))["flagged"].sum())
    none_allowed = int(low_attendance_clients(db, page_filter(db), 0)["flagged"].sum())
    db.close()
    assert list(after["status"]) == list(expected["status"])
    assert list(after["contacts"]) == list(expected["contacts"])
    assert list(after["minutes"]) == pytest.approx(list(expected["minutes"]))
    # a year of demo data: 1 attended session per 4 weeks allows 13
    shown = [frame for frame in frames if "attended_sessions" in frame.columns]
    assert flagged > 0
    assert len(shown[0]) == flagged
    assert (shown[0]["attended_sessions"] <= 365 / 28).all()
    # every demo client attended something, so none is flagged when none is allowed
    assert none_allowed == 0
    app.number_input(key="low_attendance_max").set_value(0.0).run()
    assert any("No client with high contact" in info.value for info in app.info)
    app.number_input(key="after_session_days").set_value(1).run()
    db = Database(demo_db_path)
    one_day = after_missed_sessions(db, page_filter(db), 1)
    db.close()
    after = next(
        frame.value for frame in app.dataframe if "sessions_followed" in frame.value.columns
    )
    assert list(after["contacts"]) == list(one_day["contacts"])
    assert list(after["contacts"]) != list(expected["contacts"])
    # the chosen client's sessions appear beside the contacts of the timeline
    timeline = next(
        frame
        for frame in frames
        if "status" in frame.columns and "local_started_at" in frame.columns
    )
    assert not timeline.empty
    assert set(timeline["status"]) <= {"attended", "cancelled", "late_cancelled", "no_show"}


# --- property: the SQL agrees with a plain reading of the definition ------------------------

BERLIN = ZoneInfo("Europe/Berlin")
# 2026-10-22 00:00 UTC: five days either side of the night Berlin leaves summer time
ORIGIN = datetime(2026, 10, 22, tzinfo=UTC)


def expected_after(
    sessions: list[tuple[str, int, str]], contacts: list[tuple[str, int, int]], days: int
) -> dict[str, tuple[int, float]]:
    """Contacts and minutes per status, straight from the definition (a reference, so a
    loop is fine here): latest earlier session of the client, within ``days`` wall days."""
    result = {status: (0, 0.0) for status in ("no_show", "late_cancelled", "cancelled", "attended")}
    for client, start, minutes in contacts:
        earlier = [s for s in sessions if s[0] == client and s[1] < start]
        if not earlier:
            continue
        _, session_start, status = max(earlier, key=lambda s: s[1])
        wall = (ORIGIN + timedelta(minutes=session_start)).astimezone(BERLIN).replace(tzinfo=None)
        contact_wall = (ORIGIN + timedelta(minutes=start)).astimezone(BERLIN).replace(tzinfo=None)
        if contact_wall <= wall + timedelta(days=days):
            count, total = result[status]
            result[status] = (count + 1, total + minutes)
    return result


@settings(max_examples=20, deadline=None)
# a no-show at 02:30 CEST on 10-25 and a contact at 02:00 CET on 10-28: within 3 wall-clock
# days, though 72.5 hours later
@example(session_starts=[4350], statuses=["no_show"] * 6, contact_starts=[8700], days=3)
# a contact at the very instant a session starts does not follow it
@example(session_starts=[0], statuses=["attended"] * 6, contact_starts=[0, 5, 10], days=1)
@given(
    session_starts=hst.lists(hst.integers(-7200, 7200), max_size=6, unique=True),
    statuses=hst.lists(
        hst.sampled_from(["attended", "cancelled", "late_cancelled", "no_show"]),
        min_size=6,
        max_size=6,
    ),
    contact_starts=hst.lists(hst.integers(-7200, 9000), max_size=10, unique=True),
    days=hst.integers(1, 4),
)
def test_after_sessions_matches_the_definition(
    session_starts: list[int], statuses: list[str], contact_starts: list[int], days: int
) -> None:
    names = {"practice": "Spree Praxis", "therapist": "Ana Berg", "time_zone": "Europe/Berlin"}

    def client(index: int) -> str:
        return ("Mia", "Noah")[index % 2]

    sessions = [
        (client(index), start, statuses[index]) for index, start in enumerate(session_starts)
    ]
    contacts = [(client(index), start, 5 + index) for index, start in enumerate(contact_starts)]
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "property.duckdb")
        if sessions:
            add_sessions(
                db,
                pd.DataFrame(
                    [
                        {
                            **names,
                            "client": who,
                            "minutes": 50,
                            "status": status,
                            "identity": None,
                            "started_at": (ORIGIN + timedelta(minutes=start)).isoformat(),
                        }
                        for who, start, status in sessions
                    ]
                ),
                source="property",
            )
        if contacts:
            add_contacts(
                db,
                pd.DataFrame(
                    [
                        {
                            **names,
                            "client": who,
                            "minutes": minutes,
                            "channel": "text",
                            "category": "check_in",
                            "direction": "client",
                            "started_at": (ORIGIN + timedelta(minutes=start)).isoformat(),
                        }
                        for who, start, minutes in contacts
                    ]
                ),
                source="property",
            )
        table = after_missed_sessions(db, ContactFilter(), days)
        db.close()
    measured = {
        status: (int(count), float(minutes))
        for status, count, minutes in zip(
            table["status"], table["contacts"], table["minutes"], strict=True
        )
    }
    assert measured == expected_after(sessions, contacts, days)
