"""Every measure of analytics.measures.metrics against numbers worked out by hand.

The fixture is tests/data/fixture_contacts.csv. Its 25 contacts, in file order, with the
therapist's LOCAL wall-clock time (what every measure uses) and, where it helps, the UTC
instant. Weekdays: 2026-03-02 is a Monday; the US springs forward on Sun 2026-03-08
(EST -05:00 -> EDT -04:00), the EU on Sun 2026-03-29 (CET +01:00 -> CEST +02:00).
"After" marks contacts outside the default working hours (Mon-Fri 08:00-18:00 local).

Harbor Counseling / Dana Reyes (America/New_York)
  #1  Avery  Mon 03-02 08:00 EST               20 phone  scheduling  client
  #2  Avery  Fri 03-06 07:30 EST (12:30Z)      15 text   check_in    therapist  after
  #3  Avery  Mon 03-09 08:30 EDT (12:30Z)      25 video  support     client
  #4  Blake  Sat 03-07 10:00 EST               10 email  reminder    therapist  after
  #5  Avery  Wed 03-11 17:59 EDT               30 phone  crisis      client
  #6  Casey  Wed 03-11 18:00 EDT                5 portal homework    client     after
  #7  Avery  Sun 03-15 22:00 EDT (Mon 03-16 02:00Z)  40 phone crisis client     after
  #8  Blake  Thu 03-19 12:00 EDT               10 email  scheduling  unknown
  #9  Avery  Tue 03-31 23:30 EDT (Wed 04-01 03:30Z)  15 text support client     after
  #10 Avery  Thu 04-02 09:00 EDT               15 video  check_in    therapist
  #11 Casey  Mon 04-06 10:00 EDT               10 other  other       unknown
Harbor Counseling / Sam Okafor (Etc/UTC: local == UTC all year, the control)
  #12 Drew   Tue 03-03 09:00                   15 phone  scheduling  client
  #13 Drew   Thu 03-12 17:00                   20 video  support     therapist
  #14 Emery  Sun 03-22 11:00                    5 text   reminder    client     after
  #15 Drew   Wed 03-25 07:59                   10 email  homework    therapist  after
  #16 Drew   Mon 03-30 13:00                   25 portal check_in    client
  #17 Emery  Tue 04-07 16:00                    5 phone  other       unknown
Lindenhof Praxis / Jonas Weber (Europe/Berlin)
  #18 Finn   Wed 03-04 10:00 CET               30 video  support     client
  #19 Finn   Fri 03-27 17:30 CET  (16:30Z)     20 phone  crisis      client
  #20 Finn   Mon 03-30 18:30 CEST (16:30Z)     15 text   check_in    client     after
  #21 Greta  Sat 03-28 09:00 CET  (08:00Z)     10 email  scheduling  therapist  after
  #22 Greta  Sun 03-29 10:00 CEST (08:00Z)      5 portal reminder    client     after
  #23 Finn   Wed 04-01 00:30 CEST (Tue 03-31 22:30Z)  10 text support client    after
  #24 Greta  Thu 03-05 14:00 CET               15 phone  homework    therapist
  #25 Finn   Mon 03-16 08:00 CET               20 portal scheduling  client

Per client: Avery 160 (7 contacts), Finn 95 (5), Drew 70 (4), Greta 30 (3),
Blake 20 (2), Casey 15 (2), Emery 10 (2): 400 minutes, 25 contacts, 7 clients.
The data runs from local 2026-03-02 (#1) to local 2026-04-07 (#17): 30 + 7 = 37 days.
"""

from datetime import date, time
from typing import Any

import pandas as pd
import pytest

from analytics.access.filters import ContactFilter, Period
from analytics.errors import InvalidFilterError
from analytics.measures.metrics import (
    WorkingHours,
    breakdown,
    channel_category,
    client_table,
    client_timeline,
    concentration,
    data_period,
    headline,
    load_grid,
    pareto,
    totals,
    trend,
)
from analytics.storage.database import Database

ALL = ContactFilter()


# --- helpers ---------------------------------------------------------------------------


def _one(db: Database, sql: str, value: str) -> Any:
    with db.cursor() as cur:
        row = cur.execute(sql, [value]).fetchone()
    assert row is not None, f"nothing found for {value!r}"
    return row[0]


def therapist_id(db: Database, name: str) -> int:
    return int(_one(db, "SELECT therapist_id FROM therapists WHERE name = ?", name))


def practice_id(db: Database, name: str) -> int:
    return int(_one(db, "SELECT practice_id FROM practices WHERE name = ?", name))


def client_key(db: Database, label: str) -> str:
    return str(_one(db, "SELECT client_key FROM clients WHERE label = ?", label))


def labels_by_key(db: Database) -> dict[str, str]:
    with db.cursor() as cur:
        return dict(cur.execute("SELECT client_key, label FROM clients").fetchall())


def day(value: Any) -> date:
    """A DATE column value (pandas may hand back a Timestamp) as a plain date."""
    return pd.Timestamp(value).date()


def rows(frame: pd.DataFrame, *columns: str) -> list[tuple[Any, ...]]:
    """Selected columns as plain Python tuples, counts as int and minutes as float."""
    out = []
    for record in frame[list(columns)].itertuples(index=False):
        values = []
        for column, value in zip(columns, record, strict=True):
            if column == "contacts":
                values.append(int(value))
            elif column == "minutes":
                values.append(float(value))
            else:
                values.append(value)
        out.append(tuple(values))
    return out


# --- fixture sanity --------------------------------------------------------------------


def test_fixture_loaded_with_three_therapists_in_their_zones(fixture_db: Database) -> None:
    with fixture_db.cursor() as cur:
        therapists = cur.execute(
            "SELECT t.name, t.time_zone, p.name FROM therapists AS t "
            "JOIN practices AS p USING (practice_id) ORDER BY t.name"
        ).fetchall()
        clients = cur.execute("SELECT label FROM clients ORDER BY label").fetchall()
        (count,) = cur.execute("SELECT count(*) FROM contacts").fetchone() or (0,)
    assert therapists == [
        ("Dana Reyes", "America/New_York", "Harbor Counseling"),
        ("Jonas Weber", "Europe/Berlin", "Lindenhof Praxis"),
        ("Sam Okafor", "Etc/UTC", "Harbor Counseling"),
    ]
    assert [label for (label,) in clients] == [
        "Avery",
        "Blake",
        "Casey",
        "Drew",
        "Emery",
        "Finn",
        "Greta",
    ]
    assert count == 25


# --- totals ----------------------------------------------------------------------------


def test_totals_all_contacts(fixture_db: Database) -> None:
    result = totals(fixture_db, ALL)
    assert result.contacts == 25
    # 160 + 95 + 70 + 30 + 20 + 15 + 10 = 400 minutes
    assert result.minutes == pytest.approx(400.0)
    assert result.hours == pytest.approx(400 / 60)
    assert result.active_clients == 7
    # after hours: #2 15 + #4 10 + #6 5 + #7 40 + #9 15 + #14 5 + #15 10 + #20 15
    #              + #21 10 + #22 5 + #23 10 = 140
    assert result.after_hours_minutes == pytest.approx(140.0)
    # crisis: #5 30 + #7 40 + #19 20 = 90
    assert result.crisis_minutes == pytest.approx(90.0)
    # period 2026-03-02..2026-04-07 = 37 days inclusive
    assert result.period == Period(date(2026, 3, 2), date(2026, 4, 7))
    assert result.period.days == 37
    # 400 / 7 clients / (37 / 7 weeks) = 400 / 37 = 10.8108...
    assert result.minutes_per_active_client_week == pytest.approx(10.810810810810811)
    # 140 / 400 = 0.35
    assert result.after_hours_share == pytest.approx(0.35)
    # 400 / 25 = 16
    assert result.minutes_per_contact == pytest.approx(16.0)


def test_totals_after_hours_edges_one_contact_at_a_time(fixture_db: Database) -> None:
    """08:00 local is inside, 07:59 and 18:00 outside, 17:59 inside; weekends outside."""
    # Day filters that isolate single contacts (local dates), with after-hours minutes.
    cases = [
        (date(2026, 3, 2), 20, 0),  # #1 Mon 08:00 EST: inside (start edge)
        (date(2026, 3, 6), 15, 15),  # #2 Fri 07:30 EST: before 08:00
        (date(2026, 3, 7), 10, 10),  # #4 Sat 10:00: weekend
        (date(2026, 3, 11), 35, 5),  # #5 17:59 inside (30), #6 18:00 outside (5)
        (date(2026, 3, 25), 10, 10),  # #15 Wed 07:59 UTC: before 08:00
        (date(2026, 3, 27), 20, 0),  # #19 Fri 17:30 CET (16:30Z): inside
        (date(2026, 3, 30), 40, 15),  # #16 13:00 UTC inside (25), #20 18:30 CEST (16:30Z) out (15)
    ]
    for when, minutes, after in cases:
        result = totals(fixture_db, ContactFilter(start=when, end=when))
        assert (result.minutes, result.after_hours_minutes) == (minutes, after), when


def test_totals_custom_working_hours(fixture_db: Database) -> None:
    hours = WorkingHours(start=time(9, 0), end=time(17, 0))
    result = totals(fixture_db, ALL, hours)
    # 140 (default) + newly outside 09:00-17:00: #1 08:00 20 + #3 08:30 25 + #5 17:59 30
    # + #13 17:00 20 + #19 17:30 20 + #25 08:00 20 = 140 + 135 = 275
    assert result.after_hours_minutes == pytest.approx(275.0)
    # 275 / 400 = 0.6875
    assert result.after_hours_share == pytest.approx(0.6875)
    # the other figures do not depend on working hours
    assert result.minutes == pytest.approx(400.0)
    assert result.crisis_minutes == pytest.approx(90.0)
    hours = WorkingHours(weekdays=(0, 1, 2, 3, 4, 5))  # Mon-Sat, 08:00-18:00
    result = totals(fixture_db, ALL, hours)
    # Saturday contacts now inside: #4 Sat 10:00 (10) and #21 Sat 09:00 (10): 140 - 20 = 120;
    # the Sundays (#7, #14, #22) stay outside, so Sunday is not weekday 5.
    assert result.after_hours_minutes == pytest.approx(120.0)
    assert hours.describe() == "Mon-Sat 08:00-18:00 local time"


def test_totals_of_an_empty_selection(fixture_db: Database) -> None:
    result = totals(fixture_db, ContactFilter(start=date(2026, 1, 1), end=date(2026, 1, 31)))
    assert result.contacts == 0
    assert result.minutes == 0.0
    assert result.active_clients == 0
    assert result.after_hours_minutes == 0.0
    assert result.crisis_minutes == 0.0
    assert result.period == Period(date(2026, 1, 1), date(2026, 1, 31))
    assert result.minutes_per_active_client_week is None
    assert result.after_hours_share is None
    assert result.minutes_per_contact is None


NOTHING = ContactFilter(client_keys=("c-000000000000",))
"""A filter no contact matches (no client has this key)."""


def test_measures_of_an_empty_selection(fixture_db: Database) -> None:
    result = headline(fixture_db, NOTHING)
    assert result.current.period is None
    assert (result.current.contacts, result.current.minutes) == (0, 0.0)
    assert result.previous is None
    empty_trend = trend(fixture_db, NOTHING, "channel")
    assert len(empty_trend) == 0
    assert list(empty_trend.columns) == ["period", "key", "minutes", "contacts"]
    shares = concentration(fixture_db, NOTHING)
    assert (shares.clients, shares.top_clients, shares.top_minutes_share) == (0, 0, None)
    assert len(pareto(fixture_db, NOTHING)) == 0
    table = client_table(fixture_db, NOTHING)
    assert len(table) == 0
    assert "weekly_minutes" in table.columns
    assert len(breakdown(fixture_db, NOTHING, "client")) == 0
    assert len(channel_category(fixture_db, NOTHING)) == 0
    grid = load_grid(fixture_db, NOTHING)
    assert len(grid) == 168
    assert grid["minutes"].sum() == 0


# --- headline --------------------------------------------------------------------------


def test_headline(fixture_db: Database) -> None:
    filters = ContactFilter(start=date(2026, 3, 16), end=date(2026, 3, 29))
    result = headline(fixture_db, filters)
    current, previous = result.current, result.previous
    assert previous is not None

    # current 03-16..03-29: #8 10 + #14 5 + #15 10 + #19 20 + #21 10 + #22 5 + #25 20 = 80
    assert current.period == Period(date(2026, 3, 16), date(2026, 3, 29))
    assert current.contacts == 7
    assert current.minutes == pytest.approx(80.0)
    assert current.active_clients == 5  # Blake, Emery, Drew, Finn, Greta
    # after: #14 5 (Sun) + #15 10 (07:59) + #21 10 (Sat) + #22 5 (Sun) = 30
    assert current.after_hours_minutes == pytest.approx(30.0)
    assert current.crisis_minutes == pytest.approx(20.0)  # #19
    # 80 / 5 clients / (14 / 7 weeks) = 8
    assert current.minutes_per_active_client_week == pytest.approx(8.0)

    # previous: the 14 days before, 03-02..03-15. #7 (Sun 22:00 New York = Mon 02:00Z)
    # belongs here by its local date.
    # #1 20 + #2 15 + #3 25 + #4 10 + #5 30 + #6 5 + #7 40 + #12 15 + #13 20 + #18 30
    # + #24 15 = 225
    assert previous.period == Period(date(2026, 3, 2), date(2026, 3, 15))
    assert previous.contacts == 11
    assert previous.minutes == pytest.approx(225.0)
    assert previous.active_clients == 6  # Avery, Blake, Casey, Drew, Finn, Greta
    # after: #2 15 + #4 10 + #6 5 + #7 40 = 70
    assert previous.after_hours_minutes == pytest.approx(70.0)
    assert previous.crisis_minutes == pytest.approx(70.0)  # #5 30 + #7 40
    # 225 / 6 / 2 = 18.75
    assert previous.minutes_per_active_client_week == pytest.approx(18.75)

    # no dates: the current period is the data span, 03-02..04-07 (37 days)
    result = headline(fixture_db, ALL)
    assert result.current.period == Period(date(2026, 3, 2), date(2026, 4, 7))
    assert result.previous is not None
    # 37 days ending 03-01: 2026-01-24..2026-03-01, which holds no contacts
    assert result.previous.period == Period(date(2026, 1, 24), date(2026, 3, 1))
    assert result.previous.contacts == 0
    assert result.previous.minutes == 0.0
    assert result.previous.minutes_per_active_client_week is None


# --- breakdown ---------------------------------------------------------------------------


def test_breakdown_by_client(fixture_db: Database) -> None:
    frame = breakdown(fixture_db, ALL, "client")
    names = labels_by_key(fixture_db)
    assert [names[key] for key in frame["key"]] == list(frame["label"])
    assert rows(frame, "label", "contacts", "minutes") == [
        ("Avery", 7, 160.0),  # 20 + 15 + 25 + 30 + 40 + 15 + 15
        ("Finn", 5, 95.0),  # 30 + 20 + 15 + 10 + 20
        ("Drew", 4, 70.0),  # 15 + 20 + 10 + 25
        ("Greta", 3, 30.0),  # 10 + 5 + 15
        ("Blake", 2, 20.0),  # 10 + 10
        ("Casey", 2, 15.0),  # 5 + 10
        ("Emery", 2, 10.0),  # 5 + 5
    ]
    # shares of 400
    assert list(frame["share"]) == pytest.approx([0.4, 0.2375, 0.175, 0.075, 0.05, 0.0375, 0.025])


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        (
            "therapist",
            [
                ("Dana Reyes", "Dana Reyes", 11, 195.0),  # Avery 160 + Blake 20 + Casey 15
                ("Jonas Weber", "Jonas Weber", 8, 125.0),  # Finn 95 + Greta 30
                ("Sam Okafor", "Sam Okafor", 6, 80.0),  # Drew 70 + Emery 10
            ],
        ),
        (
            "practice",
            [
                ("Harbor Counseling", "Harbor Counseling", 17, 275.0),  # 195 + 80
                ("Lindenhof Praxis", "Lindenhof Praxis", 8, 125.0),
            ],
        ),
        (
            "channel",
            [
                ("phone", "phone", 7, 145.0),  # #1 20 #5 30 #7 40 #12 15 #17 5 #19 20 #24 15
                ("video", "video", 4, 90.0),  # #3 25 #10 15 #13 20 #18 30
                ("text", "text", 5, 60.0),  # #2 15 #9 15 #14 5 #20 15 #23 10
                ("portal", "portal", 4, 55.0),  # #6 5 #16 25 #22 5 #25 20
                ("email", "email", 4, 40.0),  # #4 10 #8 10 #15 10 #21 10
                ("other", "other", 1, 10.0),  # #11
            ],
        ),
        (
            "category",
            [
                ("support", "support", 5, 100.0),  # #3 25 #9 15 #13 20 #18 30 #23 10
                ("crisis", "crisis", 3, 90.0),  # #5 30 #7 40 #19 20
                ("scheduling", "scheduling", 5, 75.0),  # #1 20 #8 10 #12 15 #21 10 #25 20
                ("check_in", "check_in", 4, 70.0),  # #2 15 #10 15 #16 25 #20 15
                ("homework", "homework", 3, 30.0),  # #6 5 #15 10 #24 15
                ("reminder", "reminder", 3, 20.0),  # #4 10 #14 5 #22 5
                ("other", "other", 2, 15.0),  # #11 10 #17 5
            ],
        ),
        (
            "week",
            [
                # #1 20 #2 15 #4 10 #12 15 #18 30 #24 15
                ("2026-03-02", "2026-03-02", 6, 105.0),
                # #3 25 #5 30 #6 5 #7 40 (Sun 22:00 local; Mon 02:00Z) #13 20
                ("2026-03-09", "2026-03-09", 5, 120.0),
                # #8 10 #14 5 #25 20
                ("2026-03-16", "2026-03-16", 3, 35.0),
                # #15 10 #19 20 #21 10 #22 5
                ("2026-03-23", "2026-03-23", 4, 45.0),
                # #9 15 #10 15 #16 25 #20 15 #23 10
                ("2026-03-30", "2026-03-30", 5, 80.0),
                # #11 10 #17 5
                ("2026-04-06", "2026-04-06", 2, 15.0),
            ],
        ),
        (
            "month",
            [
                # 400 - 40; #9 (03-31 23:30 New York, 04-01Z) stays in March
                ("2026-03", "2026-03", 21, 360.0),
                # #10 15 #11 10 #17 5 #23 10 (04-01 00:30 Berlin, 03-31Z)
                ("2026-04", "2026-04", 4, 40.0),
            ],
        ),
    ],
)
def test_breakdown_breakdowns(
    fixture_db: Database, by: str, expected: list[tuple[str, str, int, float]]
) -> None:
    frame = breakdown(fixture_db, ALL, by)
    assert rows(frame, "key", "label", "contacts", "minutes") == expected
    assert list(frame["share"]) == pytest.approx([minutes / 400 for *_, minutes in expected])


def test_breakdown_shares_are_of_the_filtered_total(fixture_db: Database) -> None:
    filters = ContactFilter(practice_ids=(practice_id(fixture_db, "Lindenhof Praxis"),))
    frame = breakdown(fixture_db, filters, "client")
    assert rows(frame, "label", "contacts", "minutes") == [("Finn", 5, 95.0), ("Greta", 3, 30.0)]
    # 95 / 125 = 0.76, 30 / 125 = 0.24
    assert list(frame["share"]) == pytest.approx([0.76, 0.24])


# --- trend -----------------------------------------------------------------------------

WEEKS = [
    date(2026, 3, 2),
    date(2026, 3, 9),
    date(2026, 3, 16),
    date(2026, 3, 23),
    date(2026, 3, 30),
    date(2026, 4, 6),
]


def _trend_table(frame: pd.DataFrame) -> dict[str, list[tuple[date, int, float]]]:
    table: dict[str, list[tuple[date, int, float]]] = {}
    for period, key, minutes, contacts in frame[
        ["period", "key", "minutes", "contacts"]
    ].itertuples(index=False):
        table.setdefault(key, []).append((day(period), int(contacts), float(minutes)))
    return table


def test_trend_by_category_per_week_is_zero_filled(fixture_db: Database) -> None:
    frame = trend(fixture_db, ALL, "category", "week")
    # 6 local weeks (Mondays 03-02..04-06) x 7 categories
    assert len(frame) == 42
    assert [day(p) for p in frame["period"].drop_duplicates()] == WEEKS
    table = _trend_table(frame)
    assert sorted(table) == sorted(
        ["check_in", "crisis", "homework", "other", "reminder", "scheduling", "support"]
    )
    # crisis: week 03-09 #5 30 + #7 40 = 70 (2 contacts), week 03-23 #19 20
    assert table["crisis"] == [
        (WEEKS[0], 0, 0.0),
        (WEEKS[1], 2, 70.0),
        (WEEKS[2], 0, 0.0),
        (WEEKS[3], 1, 20.0),
        (WEEKS[4], 0, 0.0),
        (WEEKS[5], 0, 0.0),
    ]
    # support: week 03-02 #18 30; week 03-09 #3 25 + #13 20 = 45;
    # week 03-30 #9 15 + #23 10 = 25
    assert table["support"] == [
        (WEEKS[0], 1, 30.0),
        (WEEKS[1], 2, 45.0),
        (WEEKS[2], 0, 0.0),
        (WEEKS[3], 0, 0.0),
        (WEEKS[4], 2, 25.0),
        (WEEKS[5], 0, 0.0),
    ]
    # other: #11 10 + #17 5, both in week 04-06
    assert table["other"] == [(w, 0, 0.0) for w in WEEKS[:5]] + [(WEEKS[5], 2, 15.0)]
    assert frame["minutes"].sum() == pytest.approx(400.0)
    assert int(frame["contacts"].sum()) == 25


def test_trend_by_channel_per_month(fixture_db: Database) -> None:
    frame = trend(fixture_db, ALL, "channel", "month")
    march, april = date(2026, 3, 1), date(2026, 4, 1)
    assert len(frame) == 12  # 2 months x 6 channels
    table = _trend_table(frame)
    # phone: March #1 20 #5 30 #7 40 #12 15 #19 20 #24 15 = 140; April #17 5
    assert table["phone"] == [(march, 6, 140.0), (april, 1, 5.0)]
    # text: March #2 15 #9 15 (03-31 local) #14 5 #20 15 = 50; April #23 10 (04-01 local)
    assert table["text"] == [(march, 4, 50.0), (april, 1, 10.0)]
    # video: March #3 25 #13 20 #18 30 = 75; April #10 15
    assert table["video"] == [(march, 3, 75.0), (april, 1, 15.0)]
    # other: only #11 in April; March zero-filled
    assert table["other"] == [(march, 0, 0.0), (april, 1, 10.0)]
    assert table["email"] == [(march, 4, 40.0), (april, 0, 0.0)]
    assert table["portal"] == [(march, 4, 55.0), (april, 0, 0.0)]


def test_trend_under_filters_is_zero_filled_from_the_first_week(fixture_db: Database) -> None:
    frame = trend(fixture_db, ContactFilter(categories=("crisis",)), "category", "week")
    # crisis spans local 03-11..03-27 -> weeks 03-09, 03-16, 03-23
    assert _trend_table(frame) == {
        "crisis": [
            (date(2026, 3, 9), 2, 70.0),  # #5 30 + #7 40
            (date(2026, 3, 16), 0, 0.0),
            (date(2026, 3, 23), 1, 20.0),  # #19
        ]
    }
    filters = ContactFilter(start=date(2026, 3, 11), end=date(2026, 3, 17))
    frame = trend(fixture_db, filters, "channel", "week")
    # contacts 03-11..03-17: #5 phone 30, #6 portal 5, #7 phone 40, #13 video 20,
    # #25 portal 20 (03-16); weeks 03-09 and 03-16
    assert _trend_table(frame) == {
        "phone": [(date(2026, 3, 9), 2, 70.0), (date(2026, 3, 16), 0, 0.0)],
        "portal": [(date(2026, 3, 9), 1, 5.0), (date(2026, 3, 16), 1, 20.0)],
        "video": [(date(2026, 3, 9), 1, 20.0), (date(2026, 3, 16), 0, 0.0)],
    }


def test_breakdown_arguments_are_checked(fixture_db: Database) -> None:
    with pytest.raises(InvalidFilterError, match=r"^Cannot show a trend by 'client'.*\.$"):
        trend(fixture_db, ALL, "client", "week")
    with pytest.raises(InvalidFilterError, match=r"^Unknown time bucket 'day'.*\.$"):
        trend(fixture_db, ALL, "channel", "day")
    with pytest.raises(InvalidFilterError, match=r"^Cannot break down by 'weekday'.*\.$"):
        breakdown(fixture_db, ALL, "weekday")


# --- channel x category -------------------------------------------------------------------


def test_channel_category(fixture_db: Database) -> None:
    frame = channel_category(fixture_db, ALL)
    assert rows(frame, "channel", "category", "contacts", "minutes") == [
        ("email", "homework", 1, 10.0),  # #15
        ("email", "reminder", 1, 10.0),  # #4
        ("email", "scheduling", 2, 20.0),  # #8 10 + #21 10
        ("other", "other", 1, 10.0),  # #11
        ("phone", "crisis", 3, 90.0),  # #5 30 + #7 40 + #19 20
        ("phone", "homework", 1, 15.0),  # #24
        ("phone", "other", 1, 5.0),  # #17
        ("phone", "scheduling", 2, 35.0),  # #1 20 + #12 15
        ("portal", "check_in", 1, 25.0),  # #16
        ("portal", "homework", 1, 5.0),  # #6
        ("portal", "reminder", 1, 5.0),  # #22
        ("portal", "scheduling", 1, 20.0),  # #25
        ("text", "check_in", 2, 30.0),  # #2 15 + #20 15
        ("text", "reminder", 1, 5.0),  # #14
        ("text", "support", 2, 25.0),  # #9 15 + #23 10
        ("video", "check_in", 1, 15.0),  # #10
        ("video", "support", 3, 75.0),  # #3 25 + #13 20 + #18 30
    ]


# --- load grid ---------------------------------------------------------------------------

# (weekday 0 = Monday, local hour): (contacts, minutes) for every non-empty cell.
GRID = {
    (0, 8): (3, 65.0),  # #1 20 (08:00 EST) + #3 25 (08:30 EDT) + #25 20 (08:00 CET)
    (0, 10): (1, 10.0),  # #11
    (0, 13): (1, 25.0),  # #16
    (0, 18): (1, 15.0),  # #20 18:30 CEST (16:30Z)
    (1, 9): (1, 15.0),  # #12
    (1, 16): (1, 5.0),  # #17
    (1, 23): (1, 15.0),  # #9
    (2, 0): (1, 10.0),  # #23 (Tue 22:30Z -> Wed 00:30 Berlin)
    (2, 7): (1, 10.0),  # #15
    (2, 10): (1, 30.0),  # #18
    (2, 17): (1, 30.0),  # #5
    (2, 18): (1, 5.0),  # #6
    (3, 9): (1, 15.0),  # #10
    (3, 12): (1, 10.0),  # #8
    (3, 14): (1, 15.0),  # #24
    (3, 17): (1, 20.0),  # #13
    (4, 7): (1, 15.0),  # #2 07:30 EST (12:30Z)
    (4, 17): (1, 20.0),  # #19 17:30 CET (16:30Z)
    (5, 9): (1, 10.0),  # #21 09:00 CET (08:00Z)
    (5, 10): (1, 10.0),  # #4
    (6, 10): (1, 5.0),  # #22 10:00 CEST (08:00Z)
    (6, 11): (1, 5.0),  # #14
    (6, 22): (1, 40.0),  # #7 Sunday 22:00 EDT (Monday 02:00Z)
}


def test_load_grid_has_all_168_cells(fixture_db: Database) -> None:
    frame = load_grid(fixture_db, ALL)
    assert len(frame) == 168
    assert [(int(w), int(h)) for w, h in frame[["weekday", "hour"]].itertuples(index=False)] == [
        (w, h) for w in range(7) for h in range(24)
    ]
    assert frame["minutes"].sum() == pytest.approx(400.0)
    assert int(frame["contacts"].sum()) == 25
    cells = {
        (int(w), int(h)): (int(c), float(m))
        for w, h, c, m in frame[["weekday", "hour", "contacts", "minutes"]].itertuples(index=False)
        if c
    }
    assert cells == GRID


# (weekday, hour, contacts, minutes) for cells that a wrong zone or weekday would move.
DST_CELLS = [
    # Same 12:30Z in New York: Fri 03-06 is 07:30 EST, Mon 03-09 is 08:30 EDT.
    (4, 7, 1, 15.0),
    (4, 8, 0, 0.0),
    (0, 7, 0, 0.0),
    # Same 16:30Z in Berlin: Fri 03-27 is 17:30 CET, Mon 03-30 is 18:30 CEST.
    (4, 17, 1, 20.0),
    (0, 17, 0, 0.0),
    (0, 18, 1, 15.0),
    # Same 08:00Z in Berlin: Sat 03-28 09:00 CET, Sun 03-29 10:00 CEST.
    (5, 9, 1, 10.0),
    (6, 9, 0, 0.0),
    (6, 10, 1, 5.0),
    # Sunday is weekday 6: #7 Sunday 22:00 New York, not Monday 02:00 UTC.
    (6, 22, 1, 40.0),
    (0, 2, 0, 0.0),
    # #23 Wednesday 00:30 Berlin, not Tuesday 22:30 UTC.
    (2, 0, 1, 10.0),
    (1, 22, 0, 0.0),
]


def test_load_grid_dst_and_weekday_cells(fixture_db: Database) -> None:
    frame = load_grid(fixture_db, ALL)
    for weekday, hour, contacts, minutes in DST_CELLS:
        cell = frame[(frame["weekday"] == weekday) & (frame["hour"] == hour)]
        assert len(cell) == 1
        got = (int(cell["contacts"].iloc[0]), float(cell["minutes"].iloc[0]))
        assert got == (contacts, minutes), (weekday, hour)


def test_load_grid_follows_filters(fixture_db: Database) -> None:
    filters = ContactFilter(therapist_ids=(therapist_id(fixture_db, "Jonas Weber"),))
    frame = load_grid(fixture_db, filters)
    assert len(frame) == 168
    cell = frame[(frame["weekday"] == 0) & (frame["hour"] == 8)]
    assert float(cell["minutes"].iloc[0]) == pytest.approx(20.0)  # only #25
    assert frame["minutes"].sum() == pytest.approx(125.0)


# --- concentration and Pareto ------------------------------------------------------------


def test_concentration(fixture_db: Database) -> None:
    for top_fraction, top_clients, share in [
        (0.10, 1, 0.4),  # ceil(7 * 0.1) = 1: Avery 160 / 400
        (0.25, 2, 0.6375),  # ceil(1.75) = 2: (160 + 95) / 400
        (0.50, 4, 0.8875),  # ceil(3.5) = 4: (160 + 95 + 70 + 30) / 400 = 355 / 400
        (1.00, 7, 1.0),
    ]:
        result = concentration(fixture_db, ALL, top_fraction)
        assert result.clients == 7
        assert result.top_clients == top_clients, top_fraction
        assert result.top_minutes_share == pytest.approx(share), top_fraction
        assert result.top_fraction == top_fraction
    default = concentration(fixture_db, ALL)
    assert (default.clients, default.top_clients, default.top_fraction) == (7, 1, 0.10)
    assert default.top_minutes_share == pytest.approx(0.4)
    # Lindenhof only: Finn 95, Greta 30 -> ceil(0.2) = 1 client, 95 / 125 = 0.76
    filters = ContactFilter(practice_ids=(practice_id(fixture_db, "Lindenhof Praxis"),))
    result = concentration(fixture_db, filters)
    assert (result.clients, result.top_clients) == (2, 1)
    assert result.top_minutes_share == pytest.approx(0.76)


def test_pareto(fixture_db: Database) -> None:
    frame = pareto(fixture_db, ALL)
    names = labels_by_key(fixture_db)
    assert [int(r) for r in frame["rank"]] == [1, 2, 3, 4, 5, 6, 7]
    assert [names[k] for k in frame["client_key"]] == [
        "Avery",
        "Finn",
        "Drew",
        "Greta",
        "Blake",
        "Casey",
        "Emery",
    ]
    assert [float(m) for m in frame["minutes"]] == [160.0, 95.0, 70.0, 30.0, 20.0, 15.0, 10.0]
    # rank / 7
    assert list(frame["client_share"]) == pytest.approx(
        [1 / 7, 2 / 7, 3 / 7, 4 / 7, 5 / 7, 6 / 7, 1]
    )
    # cumulative: 160, 255, 325, 355, 375, 390, 400 over 400
    assert list(frame["minutes_share"]) == pytest.approx(
        [0.4, 0.6375, 0.8125, 0.8875, 0.9375, 0.975, 1.0]
    )
    filters = ContactFilter(therapist_ids=(therapist_id(fixture_db, "Dana Reyes"),))
    frame = pareto(fixture_db, filters)
    assert [names[k] for k in frame["client_key"]] == ["Avery", "Blake", "Casey"]
    assert list(frame["client_share"]) == pytest.approx([1 / 3, 2 / 3, 1.0])
    # 160, 180, 195 over 195
    assert list(frame["minutes_share"]) == pytest.approx([160 / 195, 180 / 195, 1.0])


# --- client table and timeline -------------------------------------------------------------


def test_client_table(fixture_db: Database) -> None:
    frame = client_table(fixture_db, ALL)
    names = labels_by_key(fixture_db)
    assert [names[k] for k in frame["client_key"]] == list(frame["label"])
    got = [
        (
            row.label,
            row.therapist,
            int(row.contacts),
            float(row.minutes),
            day(row.last_contact),
            [float(v) for v in row.weekly_minutes],
        )
        for row in frame.itertuples(index=False)
    ]
    # weeks: 03-02, 03-09, 03-16, 03-23, 03-30, 04-06 (6 local weeks in 03-02..04-07)
    assert got == [
        # #1 20 + #2 15 | #3 25 + #5 30 + #7 40 | - | - | #9 15 + #10 15 | -
        ("Avery", "Dana Reyes", 7, 160.0, date(2026, 4, 2), [35.0, 95.0, 0.0, 0.0, 30.0, 0.0]),
        # #18 30 | - | #25 20 | #19 20 | #20 15 + #23 10 | -; last is #23 local 04-01
        ("Finn", "Jonas Weber", 5, 95.0, date(2026, 4, 1), [30.0, 0.0, 20.0, 20.0, 25.0, 0.0]),
        # #12 15 | #13 20 | - | #15 10 | #16 25 | -
        ("Drew", "Sam Okafor", 4, 70.0, date(2026, 3, 30), [15.0, 20.0, 0.0, 10.0, 25.0, 0.0]),
        # #24 15 | - | - | #21 10 + #22 5 | - | -
        ("Greta", "Jonas Weber", 3, 30.0, date(2026, 3, 29), [15.0, 0.0, 0.0, 15.0, 0.0, 0.0]),
        # #4 10 | - | #8 10 | ...
        ("Blake", "Dana Reyes", 2, 20.0, date(2026, 3, 19), [10.0, 0.0, 10.0, 0.0, 0.0, 0.0]),
        # - | #6 5 | ... | #11 10
        ("Casey", "Dana Reyes", 2, 15.0, date(2026, 4, 6), [0.0, 5.0, 0.0, 0.0, 0.0, 10.0]),
        # - | - | #14 5 (Sun 03-22) | ... | #17 5
        ("Emery", "Sam Okafor", 2, 10.0, date(2026, 4, 7), [0.0, 0.0, 5.0, 0.0, 0.0, 5.0]),
    ]
    assert list(frame["share"]) == pytest.approx([0.4, 0.2375, 0.175, 0.075, 0.05, 0.0375, 0.025])
    # 160/7, 95/5, 70/4, 30/3, 20/2, 15/2, 10/2
    assert list(frame["minutes_per_contact"]) == pytest.approx(
        [160 / 7, 19.0, 17.5, 10.0, 10.0, 7.5, 5.0]
    )


def test_client_table_weeks_follow_the_filter_period(fixture_db: Database) -> None:
    # 03-11 (Wed) .. 03-24 (Tue) touches the weeks of 03-09, 03-16 and 03-23
    filters = ContactFilter(start=date(2026, 3, 11), end=date(2026, 3, 24))
    frame = client_table(fixture_db, filters)
    got = {
        row.label: (int(row.contacts), float(row.minutes), [float(v) for v in row.weekly_minutes])
        for row in frame.itertuples(index=False)
    }
    assert got == {
        "Avery": (2, 70.0, [70.0, 0.0, 0.0]),  # #5 30 + #7 40
        "Drew": (1, 20.0, [20.0, 0.0, 0.0]),  # #13
        "Finn": (1, 20.0, [0.0, 20.0, 0.0]),  # #25
        "Blake": (1, 10.0, [0.0, 10.0, 0.0]),  # #8
        "Casey": (1, 5.0, [5.0, 0.0, 0.0]),  # #6
        "Emery": (1, 5.0, [0.0, 5.0, 0.0]),  # #14
    }
    # busiest first (ties between Drew/Finn and Casey/Emery fall to the random client key)
    assert [float(m) for m in frame["minutes"]] == [70.0, 20.0, 20.0, 10.0, 5.0, 5.0]


def test_client_timeline(fixture_db: Database) -> None:
    key = client_key(fixture_db, "Avery")
    frame = client_timeline(fixture_db, ALL, key)
    got = [
        (
            pd.Timestamp(r.local_started_at).strftime("%Y-%m-%dT%H:%M"),
            pd.Timestamp(r.started_at).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M"),
            float(r.minutes),
            r.channel,
            r.category,
            r.direction,
        )
        for r in frame.itertuples(index=False)
    ]
    # (local New York wall clock, UTC instant, ...) in time order
    assert got == [
        ("2026-03-02T08:00", "2026-03-02T13:00", 20.0, "phone", "scheduling", "client"),  # EST
        ("2026-03-06T07:30", "2026-03-06T12:30", 15.0, "text", "check_in", "therapist"),  # EST
        ("2026-03-09T08:30", "2026-03-09T12:30", 25.0, "video", "support", "client"),  # EDT
        ("2026-03-11T17:59", "2026-03-11T21:59", 30.0, "phone", "crisis", "client"),
        ("2026-03-15T22:00", "2026-03-16T02:00", 40.0, "phone", "crisis", "client"),
        ("2026-03-31T23:30", "2026-04-01T03:30", 15.0, "text", "support", "client"),
        ("2026-04-02T09:00", "2026-04-02T13:00", 15.0, "video", "check_in", "therapist"),
    ]
    assert set(frame["therapist"]) == {"Dana Reyes"}
    frame = client_timeline(fixture_db, ContactFilter(channels=("phone",)), key)
    # #1 20, #5 30, #7 40
    assert [float(m) for m in frame["minutes"]] == [20.0, 30.0, 40.0]
    other = client_timeline(fixture_db, ALL, client_key(fixture_db, "Finn"))
    # Finn by UTC instant: #18 03-04, #25 03-16, #19 03-27, #20 03-30, #23 03-31 22:30Z
    assert [float(m) for m in other["minutes"]] == [30.0, 20.0, 20.0, 15.0, 10.0]
    assert set(other["therapist"]) == {"Jonas Weber"}
    assert len(client_timeline(fixture_db, ALL, "c-000000000000")) == 0


# --- data period -------------------------------------------------------------------------


def test_data_period(fixture_db: Database) -> None:
    db = fixture_db
    assert data_period(db, ALL) == Period(date(2026, 3, 2), date(2026, 4, 7))
    assert data_period(db, ContactFilter(start=date(2026, 3, 10))) == Period(
        date(2026, 3, 10), date(2026, 4, 7)
    )
    assert data_period(db, ContactFilter(end=date(2026, 3, 20))) == Period(
        date(2026, 3, 2), date(2026, 3, 20)
    )
    # both dates given: the filter's own dates, even where no contact falls
    assert data_period(db, ContactFilter(start=date(2025, 1, 1), end=date(2025, 1, 7))) == Period(
        date(2025, 1, 1), date(2025, 1, 7)
    )
    # Berlin: first #18 03-04, last #23 at 00:30 local on 04-01 (03-31 in UTC)
    berlin = ContactFilter(therapist_ids=(therapist_id(db, "Jonas Weber"),))
    assert data_period(db, berlin) == Period(date(2026, 3, 4), date(2026, 4, 1))
    # New York crisis: #5 03-11 and #7 Sunday 03-15 local (03-16 in UTC)
    crisis = ContactFilter(therapist_ids=(therapist_id(db, "Dana Reyes"),), categories=("crisis",))
    assert data_period(db, crisis) == Period(date(2026, 3, 11), date(2026, 3, 15))
    assert data_period(db, NOTHING) is None
    assert data_period(db, ContactFilter(start=date(2027, 1, 1))) is None


# --- filters -----------------------------------------------------------------------------


def test_date_filters_are_inclusive_local_dates(fixture_db: Database) -> None:
    for start, end, contacts, minutes in [
        (date(2026, 3, 31), date(2026, 3, 31), 1, 15.0),  # #9 only (23:30 New York)
        (date(2026, 4, 1), date(2026, 4, 1), 1, 10.0),  # #23 only (00:30 Berlin)
        (date(2026, 3, 2), date(2026, 3, 2), 1, 20.0),  # #1: first day, both ends inclusive
        (date(2026, 4, 7), date(2026, 4, 7), 1, 5.0),  # #17: last day
        (date(2026, 3, 15), date(2026, 3, 15), 1, 40.0),  # #7 Sunday local (Monday UTC)
        (date(2026, 3, 16), date(2026, 3, 16), 1, 20.0),  # #25 only; not #7
        # 03-28..03-29: #21 10 + #22 5
        (date(2026, 3, 28), date(2026, 3, 29), 2, 15.0),
        # March local: 400 - April (#10 15 + #11 10 + #17 5 + #23 10) = 360
        (date(2026, 3, 1), date(2026, 3, 31), 21, 360.0),
    ]:
        result = totals(fixture_db, ContactFilter(start=start, end=end))
        assert (result.contacts, result.minutes) == (contacts, minutes), (start, end)
    # from 04-01: #10 15 + #11 10 + #17 5 + #23 10 = 40
    after = totals(fixture_db, ContactFilter(start=date(2026, 4, 1)))
    assert (after.contacts, after.minutes) == (4, 40.0)
    assert after.period == Period(date(2026, 4, 1), date(2026, 4, 7))
    # through 03-06: #1 20 + #2 15 + #12 15 + #18 30 + #24 15 = 95
    before = totals(fixture_db, ContactFilter(end=date(2026, 3, 6)))
    assert (before.contacts, before.minutes) == (5, 95.0)
    assert before.period == Period(date(2026, 3, 2), date(2026, 3, 6))


def test_practice_filter(fixture_db: Database) -> None:
    harbor = practice_id(fixture_db, "Harbor Counseling")
    linden = practice_id(fixture_db, "Lindenhof Praxis")
    result = totals(fixture_db, ContactFilter(practice_ids=(linden,)))
    assert (result.contacts, result.minutes, result.active_clients) == (8, 125.0, 2)
    # after: #20 15 + #21 10 + #22 5 + #23 10 = 40; crisis #19 20
    assert result.after_hours_minutes == pytest.approx(40.0)
    assert result.crisis_minutes == pytest.approx(20.0)
    result = totals(fixture_db, ContactFilter(practice_ids=(harbor,)))
    # 195 + 80 = 275; after 140 - 40 = 100
    assert (result.contacts, result.minutes, result.active_clients) == (17, 275.0, 5)
    assert result.after_hours_minutes == pytest.approx(100.0)
    both = totals(fixture_db, ContactFilter(practice_ids=(harbor, linden)))
    assert (both.contacts, both.minutes) == (25, 400.0)


def test_therapist_filter(fixture_db: Database) -> None:
    okafor = therapist_id(fixture_db, "Sam Okafor")
    reyes = therapist_id(fixture_db, "Dana Reyes")
    weber = therapist_id(fixture_db, "Jonas Weber")
    result = totals(fixture_db, ContactFilter(therapist_ids=(okafor,)))
    # 15 + 20 + 5 + 10 + 25 + 5 = 80; after #14 5 + #15 10 = 15
    assert (result.contacts, result.minutes, result.active_clients) == (6, 80.0, 2)
    assert result.after_hours_minutes == pytest.approx(15.0)
    assert result.period == Period(date(2026, 3, 3), date(2026, 4, 7))
    result = totals(fixture_db, ContactFilter(therapist_ids=(reyes,)))
    # after: #2 15 + #4 10 + #6 5 + #7 40 + #9 15 = 85; crisis #5 30 + #7 40 = 70
    assert (result.contacts, result.minutes, result.active_clients) == (11, 195.0, 3)
    assert result.after_hours_minutes == pytest.approx(85.0)
    assert result.crisis_minutes == pytest.approx(70.0)
    result = totals(fixture_db, ContactFilter(therapist_ids=(reyes, weber)))
    assert (result.contacts, result.minutes, result.active_clients) == (19, 320.0, 5)  # 195 + 125


def test_client_filter(fixture_db: Database) -> None:
    avery = client_key(fixture_db, "Avery")
    emery = client_key(fixture_db, "Emery")
    result = totals(fixture_db, ContactFilter(client_keys=(avery,)))
    assert (result.contacts, result.minutes, result.active_clients) == (7, 160.0, 1)
    # after: #2 15 + #7 40 + #9 15 = 70; crisis 30 + 40 = 70
    assert result.after_hours_minutes == pytest.approx(70.0)
    assert result.crisis_minutes == pytest.approx(70.0)
    result = totals(fixture_db, ContactFilter(client_keys=(avery, emery)))
    assert (result.contacts, result.minutes, result.active_clients) == (9, 170.0, 2)
    assert breakdown(fixture_db, ContactFilter(client_keys=(emery,)), "therapist")[
        "key"
    ].tolist() == ["Sam Okafor"]


def test_channel_filter(fixture_db: Database) -> None:
    result = totals(fixture_db, ContactFilter(channels=("email", "other")))
    # email 40 (4) + other 10 (1); after: #4 10 + #15 10 + #21 10 = 30
    assert (result.contacts, result.minutes, result.active_clients) == (5, 50.0, 4)
    assert result.after_hours_minutes == pytest.approx(30.0)
    frame = breakdown(fixture_db, ContactFilter(channels=("video",)), "client")
    # video: Avery #3 25 + #10 15 = 40, Finn #18 30, Drew #13 20
    assert rows(frame, "label", "contacts", "minutes") == [
        ("Avery", 2, 40.0),
        ("Finn", 1, 30.0),
        ("Drew", 1, 20.0),
    ]


def test_category_filter(fixture_db: Database) -> None:
    result = totals(fixture_db, ContactFilter(categories=("crisis",)))
    assert (result.contacts, result.minutes, result.active_clients) == (3, 90.0, 2)
    assert result.crisis_minutes == pytest.approx(90.0)
    assert result.after_hours_minutes == pytest.approx(40.0)  # #7 only
    # reminder 20 (3) + homework 30 (3) = 50 (6); clients Blake, Emery, Greta, Casey, Drew
    result = totals(fixture_db, ContactFilter(categories=("reminder", "homework")))
    assert (result.contacts, result.minutes, result.active_clients) == (6, 50.0, 5)
    assert result.crisis_minutes == 0.0


def test_filters_combine(fixture_db: Database) -> None:
    reyes = therapist_id(fixture_db, "Dana Reyes")
    filters = ContactFilter(
        start=date(2026, 3, 1),
        end=date(2026, 3, 31),
        therapist_ids=(reyes,),
        channels=("phone", "text"),
    )
    result = totals(fixture_db, filters)
    # phone #1 20 #5 30 #7 40 + text #2 15 #9 15 = 120; after #2 15 + #7 40 + #9 15 = 70
    assert (result.contacts, result.minutes, result.active_clients) == (5, 120.0, 1)
    assert result.after_hours_minutes == pytest.approx(70.0)
    assert result.crisis_minutes == pytest.approx(70.0)
    # 120 / 1 / (31 / 7) = 840 / 31
    assert result.minutes_per_active_client_week == pytest.approx(840 / 31)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"start": date(2026, 3, 10), "end": date(2026, 3, 9)},
            r"^The period starts on 2026-03-10 but ends earlier, on 2026-03-09; .*\.$",
        ),
        ({"channels": ("fax",)}, r"^Unknown channel fax; use one of phone, .*\.$"),
        ({"channels": ("phone", "pager")}, r"^Unknown channel pager; .*\.$"),
        ({"categories": ("billing",)}, r"^Unknown category billing; use one of scheduling, .*\.$"),
    ],
)
def test_invalid_filters_raise_one_sentence(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidFilterError, match=message):
        ContactFilter(**kwargs)


def test_one_day_period_is_valid() -> None:
    one = ContactFilter(start=date(2026, 3, 10), end=date(2026, 3, 10))
    assert one.start == one.end
    assert Period(date(2026, 3, 10), date(2026, 3, 10)).days == 1
