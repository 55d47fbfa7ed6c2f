"""Comparisons of therapists and practices: normalisation and suppression, by hand.

The fixture (``build_fixture``), period Monday 2026-03-02 to Sunday 2026-03-15: 14 days,
exactly 2 weeks. Times are each therapist's local wall-clock time; nobody has stored working
hours, so Mon-Fri 08:00-18:00 local applies to all.

North Clinic
  Ana (America/New_York; DST starts Sunday 2026-03-08), clients a01..a12 with contacts and
  a13 with sessions only; weekly cap 15 min from 2026-03-01 (crisis not counted):
    a01..a12: Tue 03-03 10:00, 10 min check-in, therapist-initiated            = 120 min
    a01:      Sat 03-07 21:00 EST, 30 min crisis call, client-initiated        =  30 min
              (after hours)
    a01:      Mon 03-09 07:00 EDT, 20 min support e-mail, therapist-initiated  =  20 min
              (after hours: before 08:00). The reply to the crisis call: Sat 21:00 EST =
              Sun 02:00 UTC, Mon 07:00 EDT = Mon 11:00 UTC -> 33 h (not 34: the clocks
              went forward in between)
    sessions: a01..a12 attended Wed 03-04 and Wed 03-11 (24 x 50 min), a13 attended
              Thu 03-05 (50 min), a03 no-show Thu 03-12 (50 min, counts as scheduled),
              a02 cancelled Thu 03-12 (50 min, does not count)
              -> scheduled 26 x 50 = 1,300 min = 21 2/3 h
  Ben (Europe/Berlin), clients b01..b14, no sessions, no cap:
    b01..b07: Thu 03-05 19:00, 15 min homework (after hours)                   = 105 min
    b08..b14: Thu 03-05 11:00, 15 min homework                                 = 105 min
    b01:      Fri 03-13 14:00, 60 min support call, client-initiated           =  60 min
    b01:      Fri 03-13 16:00, 5 min text, therapist-initiated (reply: 2 h)    =   5 min
    b01, b02: Wed 02-18 11:00, 30 min each (before the period; monthly trends only)
South Clinic
  Cy (Asia/Tokyo), clients c01..c12, no sessions, no cap:
    c01..c12: Mon 03-02 09:00, 20 min check-in, client-initiated               = 240 min
    replies, 5 min each: c01 Mon 10:00 (1 h), c02 Mon 12:00 (3 h), c03 Tue 09:00 (24 h)
                                                                                =  15 min
    c04:      Sun 03-15 23:30, 10 min (after hours; 14:30 UTC, still the 15th locally)
    c05:      Mon 03-16 00:30, 10 min: outside the period by local date although it is
              Sun 15:30 UTC
    (both therapist-initiated, so they answer c04's and c05's Monday messages: 326.5 h
    and 327.5 h)
  Dee (America/Los_Angeles), clients d01..d05 (only with ``small_group``):
    d01..d05: Tue 03-10 10:00, 10 min each

Per therapist (period): minutes, active clients
  Ana 120 + 30 + 20 = 170 min, 13 clients (12 with contact + a13 with a session)
  Ben 105 + 105 + 60 + 5 = 275 min, 14 clients
  Cy  240 + 15 + 10 = 265 min, 12 clients
  Dee 50 min, 5 clients
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.access.filters import ContactFilter
from analytics.access.scope import Scope
from analytics.errors import ContactLoadError, InvalidFilterError
from analytics.measures import compare
from analytics.output.exports import table_to_csv
from analytics.policy.agreements import BoundarySetting
from analytics.policy.writes import save_setting
from analytics.storage.database import Database
from analytics.storage.sessions import add_sessions
from analytics.storage.settings import set_setting
from analytics.storage.store import add_contacts
from tests.test_cli import run
from tests.test_pages import run_app

PERIOD = ContactFilter(start=date(2026, 3, 2), end=date(2026, 3, 15))
ZONES = {
    "Ana": ("North Clinic", "America/New_York"),
    "Ben": ("North Clinic", "Europe/Berlin"),
    "Cy": ("South Clinic", "Asia/Tokyo"),
    "Dee": ("South Clinic", "America/Los_Angeles"),
}
SMALL_REASON = "fewer than 11 clients"
COMPLEMENT_REASON = "suppressed so a hidden group cannot be worked out from the total"
MONTHS_REASON = "suppressed so a hidden figure cannot be worked out by adding up months"


def _instant(therapist: str, local: str) -> str:
    """The ISO instant, with its offset, of a wall-clock time in the therapist's zone."""
    zone = ZoneInfo(ZONES[therapist][1])
    return datetime.fromisoformat(local).replace(tzinfo=zone).isoformat()


def _contact(
    therapist: str,
    client: str,
    local: str,
    minutes: float,
    category: str = "check_in",
    direction: str = "therapist",
    channel: str = "email",
) -> dict[str, object]:
    practice, zone = ZONES[therapist]
    return {
        "practice": practice,
        "therapist": therapist,
        "time_zone": zone,
        "client": client,
        "started_at": _instant(therapist, local),
        "minutes": minutes,
        "channel": channel,
        "category": category,
        "direction": direction,
    }


def _session(therapist: str, client: str, local: str, status: str) -> dict[str, object]:
    practice, zone = ZONES[therapist]
    return {
        "practice": practice,
        "therapist": therapist,
        "time_zone": zone,
        "client": client,
        "started_at": _instant(therapist, local),
        "minutes": 50,
        "status": status,
        "identity": None,
    }


def build_fixture(path: Path, *, small_group: bool = False) -> Database:
    """The database the module docstring describes (Dee's five clients with ``small_group``)."""
    contacts = [
        *(_contact("Ana", f"a{n:02}", "2026-03-03T10:00", 10) for n in range(1, 13)),
        _contact("Ana", "a01", "2026-03-07T21:00", 30, "crisis", "client", "phone"),
        _contact("Ana", "a01", "2026-03-09T07:00", 20, "support", "therapist"),
        *(_contact("Ben", f"b{n:02}", "2026-03-05T19:00", 15, "homework") for n in range(1, 8)),
        *(_contact("Ben", f"b{n:02}", "2026-03-05T11:00", 15, "homework") for n in range(8, 15)),
        _contact("Ben", "b01", "2026-03-13T14:00", 60, "support", "client", "phone"),
        _contact("Ben", "b01", "2026-03-13T16:00", 5, "support", "therapist", "text"),
        _contact("Ben", "b01", "2026-02-18T11:00", 30, "homework"),
        _contact("Ben", "b02", "2026-02-18T11:00", 30, "homework"),
        *(
            _contact("Cy", f"c{n:02}", "2026-03-02T09:00", 20, direction="client", channel="portal")
            for n in range(1, 13)
        ),
        _contact("Cy", "c01", "2026-03-02T10:00", 5, channel="portal"),
        _contact("Cy", "c02", "2026-03-02T12:00", 5, channel="portal"),
        _contact("Cy", "c03", "2026-03-03T09:00", 5, channel="portal"),
        _contact("Cy", "c04", "2026-03-15T23:30", 10),
        _contact("Cy", "c05", "2026-03-16T00:30", 10),
    ]
    if small_group:
        contacts += [_contact("Dee", f"d{n:02}", "2026-03-10T10:00", 10) for n in range(1, 6)]
    sessions = [
        *(_session("Ana", f"a{n:02}", f"2026-03-{day}T15:00", "attended")
          for n in range(1, 13) for day in ("04", "11")),
        _session("Ana", "a13", "2026-03-05T15:00", "attended"),
        _session("Ana", "a03", "2026-03-12T15:00", "no_show"),
        _session("Ana", "a02", "2026-03-12T16:00", "cancelled"),
    ]  # fmt: skip
    db = Database(path)
    add_contacts(db, pd.DataFrame(contacts), source="test")
    add_sessions(db, pd.DataFrame(sessions), source="test")
    save_setting(
        db,
        BoundarySetting(
            therapist="Ana",
            practice="North Clinic",
            client=None,
            effective_from=date(2026, 3, 1),
            weekly_cap_minutes=15,
        ),
        changed_by="test",
    )
    return db


@pytest.fixture
def three(tmp_path: Path) -> Iterator[Database]:
    db = build_fixture(tmp_path / "three.duckdb")
    yield db
    db.close()


@pytest.fixture
def four(tmp_path: Path) -> Iterator[Database]:
    db = build_fixture(tmp_path / "four.duckdb", small_group=True)
    yield db
    db.close()


def rows_by_group(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {
        str(row["group"]): {str(k): v for k, v in row.items()} for row in frame.to_dict("records")
    }


def one_id(db: Database, sql: str) -> int:
    with db.cursor() as cursor:
        row = cursor.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


# --- normalisation by hand ----------------------------------------------------------------------


def test_normalised_measures_per_therapist_by_hand(three: Database) -> None:
    rows = rows_by_group(compare.comparison(three, PERIOD, "therapist"))
    assert list(rows) == ["Ana", "Ben", "Cy", "All therapists"]
    ana, ben, cy, total = rows["Ana"], rows["Ben"], rows["Cy"], rows["All therapists"]
    assert not any(row["suppressed"] for row in rows.values())
    assert ana["weeks"] == pytest.approx(2.0)  # 14 days / 7

    # Ana: 170 min, 13 active clients (a13 has a session only), 2 weeks
    assert (ana["clients"], ana["minutes"]) == (13, 170)
    assert ana["minutes_per_client_week"] == pytest.approx(170 / 13 / 2)  # 6.538 min
    # scheduled: 24 attended + a13's attended + a03's no-show = 26 x 50 = 1,300 min
    assert ana["scheduled_hours"] == pytest.approx(1300 / 60)  # 21.67 h
    assert ana["minutes_per_8_session_hours"] == pytest.approx(170 / (1300 / 60) * 8)  # 62.77
    # after hours: Sat 21:00 crisis 30 + Mon 07:00 e-mail 20 = 50 of 170
    assert ana["after_hours_share"] == pytest.approx(50 / 170)  # 29.4 %
    assert ana["crisis_share"] == pytest.approx(30 / 170)  # 17.6 %
    # top 10 %: ceil(1.2) = 2 of 12 clients with contact: a01 60 + one of 10 = 70 of 170
    assert ana["top_client_share"] == pytest.approx(70 / 170)
    # one answered client contact: Sat 21:00 EST -> Mon 07:00 EDT = 33 h (DST in between)
    assert ana["response_median_hours"] == pytest.approx(33)
    # cap 15: week 03-02 twelve clients at 10 counted (a01's crisis not counted) -> within;
    # week 03-09 a01 20 > 15 -> over: 12 of 13 client-weeks within
    assert ana["cap_compliance"] == pytest.approx(12 / 13)

    # Ben: 275 min, 14 clients, no sessions, no cap
    assert (ben["clients"], ben["minutes"]) == (14, 275)
    assert ben["minutes_per_client_week"] == pytest.approx(275 / 14 / 2)  # 9.82 min
    assert ben["scheduled_hours"] is None
    assert ben["minutes_per_8_session_hours"] is None
    assert ben["after_hours_share"] == pytest.approx(105 / 275)  # seven 19:00 e-mails
    assert ben["crisis_share"] == pytest.approx(0)
    # ceil(1.4) = 2: b01 15 + 60 + 5 = 80, next 15 -> 95 of 275
    assert ben["top_client_share"] == pytest.approx(95 / 275)
    assert ben["response_median_hours"] == pytest.approx(2)  # 14:00 -> 16:00
    assert ben["cap_compliance"] is None

    # Cy: 265 min (c05's 00:30 on the 16th local is outside), 12 clients
    assert (cy["clients"], cy["minutes"]) == (12, 265)
    assert cy["minutes_per_client_week"] == pytest.approx(265 / 12 / 2)  # 11.04 min
    assert cy["after_hours_share"] == pytest.approx(10 / 265)  # Sunday 23:30
    # ceil(1.2) = 2: c04 20 + 10 = 30 and one of c01..c03 at 25 -> 55 of 265
    assert cy["top_client_share"] == pytest.approx(55 / 265)
    # replies: c01 1 h, c02 3 h, c03 24 h, and the therapist's later contacts answer c04
    # (Mon 03-02 09:00 -> Sun 03-15 23:30 = 13 d 14.5 h = 326.5 h) and c05 (-> Mon 03-16
    # 00:30 = 327.5 h: a reply after the period still answers): median of five = 24 h
    assert cy["response_median_hours"] == pytest.approx(24)

    # All together: 39 clients, 170 + 275 + 265 = 710 min
    assert (total["clients"], total["minutes"]) == (39, 710)
    assert total["minutes_per_client_week"] == pytest.approx(710 / 39 / 2)  # 9.10 min
    assert total["minutes_per_8_session_hours"] == pytest.approx(710 / (1300 / 60) * 8)
    assert total["after_hours_share"] == pytest.approx((50 + 105 + 10) / 710)
    assert total["crisis_share"] == pytest.approx(30 / 710)
    # ceil(3.8) = 4 of 38 clients with contact: b01 80, a01 60, c04 30, 25 -> 195
    assert total["top_client_share"] == pytest.approx(195 / 710)
    # median of 1, 2, 3, 24, 33, 326.5, 327.5
    assert total["response_median_hours"] == pytest.approx(24)
    assert total["cap_compliance"] == pytest.approx(12 / 13)
    assert total["percentile_rank"] is None

    # percentile rank of minutes per client per week: Ana 6.54 < Ben 9.82 < Cy 11.04
    # -> 100 x (rank - 1) / (3 - 1) = 0, 50, 100
    assert [ana["percentile_rank"], ben["percentile_rank"], cy["percentile_rank"]] == [0, 50, 100]


def test_normalised_measures_per_practice_by_hand(three: Database) -> None:
    rows = rows_by_group(compare.comparison(three, PERIOD, "practice"))
    north, south = rows["North Clinic"], rows["South Clinic"]
    # North = Ana + Ben: 13 + 14 = 27 clients, 170 + 275 = 445 min
    assert (north["clients"], north["minutes"]) == (27, 445)
    assert north["minutes_per_client_week"] == pytest.approx(445 / 27 / 2)  # 8.24 min
    assert north["after_hours_share"] == pytest.approx((50 + 105) / 445)
    # ceil(2.6) = 3 of 26 clients with contact: b01 80, a01 60, 15 -> 155 of 445
    assert north["top_client_share"] == pytest.approx(155 / 445)
    assert north["response_median_hours"] == pytest.approx((2 + 33) / 2)  # median of 2, 33
    assert south["minutes_per_client_week"] == pytest.approx(265 / 12 / 2)
    # two shown practices: 8.24 < 11.04 -> 0 and 100
    assert (north["percentile_rank"], south["percentile_rank"]) == (0, 100)
    assert rows["All practices"]["minutes"] == 710


# --- suppression ---------------------------------------------------------------------------------


def test_small_group_and_its_complement_are_suppressed(four: Database) -> None:
    rows = rows_by_group(compare.comparison(four, PERIOD, "therapist"))
    # Dee has 5 clients < 11: suppressed. South Clinic (Cy + Dee, 17 clients) is shown on
    # the practice comparison, so South - Cy would give Dee away: Dee's only sibling, Cy
    # (12 clients), is suppressed too. The total (44 clients) then holds two unknowns.
    assert rows["Dee"]["suppressed_reason"] == SMALL_REASON
    assert rows["Cy"]["suppressed_reason"] == COMPLEMENT_REASON
    for name in ("Dee", "Cy"):
        assert rows[name]["suppressed"]
        assert all(rows[name][column] is None for column in compare.VALUE_COLUMNS)
    for name in ("Ana", "Ben", "All therapists"):
        assert not rows[name]["suppressed"]
        assert rows[name]["suppressed_reason"] is None
    total = rows["All therapists"]
    # 170 + 275 + 265 + 50 = 760 min over 44 clients and 2 weeks
    assert (total["clients"], total["minutes"]) == (44, 760)
    assert total["minutes_per_client_week"] == pytest.approx(760 / 44 / 2)
    # the rank leaves the hidden therapists out: Ana 6.54 < Ben 9.82 -> 0 and 100
    assert (rows["Ana"]["percentile_rank"], rows["Ben"]["percentile_rank"]) == (0, 100)


def test_without_a_total_the_practice_view_still_needs_the_complement(four: Database) -> None:
    # The total row is left out here, but the practice comparison shows South Clinic (Cy 12
    # + Dee 5 = 17 clients, 265 + 50 = 315 min): South minus Cy would give Dee away, so Cy
    # stays hidden in every view, with or without the total.
    table = compare.comparison(four, PERIOD, "therapist", with_total=False)
    rows = rows_by_group(table)
    assert list(rows) == ["Ana", "Ben", "Cy", "Dee"]
    assert rows["Dee"]["suppressed_reason"] == SMALL_REASON
    assert rows["Cy"]["suppressed_reason"] == COMPLEMENT_REASON
    assert rows["Cy"]["minutes"] is None
    south = rows_by_group(compare.comparison(four, PERIOD, "practice"))["South Clinic"]
    assert (south["clients"], south["minutes"]) == (17, 315)


def test_two_hidden_groups_need_no_complement(four: Database) -> None:
    # k = 13 (argument): Cy 12 and Dee 5 are both too small; two hidden groups cannot be told
    # apart from the total, so Ana (13) and Ben (14) stay.
    rows = rows_by_group(compare.comparison(four, PERIOD, "therapist", min_clients=13))
    assert rows["Cy"]["suppressed_reason"] == "fewer than 13 clients"
    assert rows["Dee"]["suppressed_reason"] == "fewer than 13 clients"
    assert [rows[name]["suppressed"] for name in ("Ana", "Ben", "All therapists")] == [
        False,
        False,
        False,
    ]


def test_k_comes_from_the_setting_and_the_argument_wins(three: Database) -> None:
    # setting 13: Cy (12) and South Clinic (= Cy, 12) too small; the total = North + South
    # would give South away, so North goes too (a practice before the total), and then
    # North = Ana + Ben would give itself away: Ana (13, the smaller) goes.
    set_setting(three, "min_group_clients", 13)
    rows = rows_by_group(compare.comparison(three, PERIOD, "therapist"))
    assert rows["Cy"]["suppressed_reason"] == "fewer than 13 clients"
    assert rows["Ana"]["suppressed_reason"] == COMPLEMENT_REASON
    assert not rows["Ben"]["suppressed"]
    practices = rows_by_group(compare.comparison(three, PERIOD, "practice"))
    assert practices["South Clinic"]["suppressed_reason"] == "fewer than 13 clients"
    assert practices["North Clinic"]["suppressed_reason"] == COMPLEMENT_REASON
    assert practices["All practices"]["minutes"] == 710
    # the argument overrides the setting: k = 12 hides nobody
    rows = rows_by_group(compare.comparison(three, PERIOD, "therapist", min_clients=12))
    assert not any(row["suppressed"] for row in rows.values())
    # a total under k is suppressed too: k = 40 > 39 clients in all
    rows = rows_by_group(compare.comparison(three, PERIOD, "therapist", min_clients=40))
    assert all(row["suppressed_reason"] == "fewer than 40 clients" for row in rows.values())


def test_k_out_of_range_is_one_sentence(three: Database) -> None:
    with pytest.raises(ContactLoadError, match="between 2 and 1000 clients; 1 is outside"):
        compare.comparison(three, PERIOD, "therapist", min_clients=1)
    with pytest.raises(InvalidFilterError, match="use therapist or practice"):
        compare.comparison(three, PERIOD, "client")


def test_practices_are_suppressed_the_same_way(four: Database) -> None:
    # North 27 clients, South 12 + 5 = 17: both shown at k = 11; at k = 20 South is hidden
    # and North, the only other practice, complements it.
    rows = rows_by_group(compare.comparison(four, PERIOD, "practice"))
    assert not any(row["suppressed"] for row in rows.values())
    assert rows["South Clinic"]["clients"] == 17
    rows = rows_by_group(compare.comparison(four, PERIOD, "practice", min_clients=20))
    assert rows["South Clinic"]["suppressed_reason"] == "fewer than 20 clients"
    assert rows["North Clinic"]["suppressed_reason"] == COMPLEMENT_REASON
    assert rows["All practices"]["clients"] == 44


# --- trends, distribution, scope -----------------------------------------------------------------


def test_monthly_trend_hides_what_the_period_would_give_away(three: Database) -> None:
    # 2026-02-16 .. 2026-03-15: February holds 13 days (16th-28th), March 15 (1st-15th).
    # February: only Ben's b01 and b02 (2 clients, 60 min): Ben, North Clinic and the total
    # are under 11 there. The period rows are all shown (Ben 14 clients, 335 min), so
    # Ben's March = Ben's period - Ben's February would give February away: Ben's March is
    # hidden too, and so are North Clinic's and the total's March, for the same reason.
    # Ana's and Cy's March stay: North's March minus Ana's is Ben's March, hidden, and
    # Ben's March and February are two unknowns with one known sum.
    filters = ContactFilter(start=date(2026, 2, 16), end=date(2026, 3, 15))
    trend = compare.monthly_trend(three, filters, "therapist")
    february = rows_by_group(trend[trend["month"] == "2026-02"])
    march = rows_by_group(trend[trend["month"] == "2026-03"])
    assert list(february) == ["Ben", "All therapists"]
    assert all(row["suppressed_reason"] == SMALL_REASON for row in february.values())
    assert {name: row["suppressed_reason"] for name, row in march.items()} == {
        "Ana": None,
        "Ben": MONTHS_REASON,
        "Cy": None,
        "All therapists": MONTHS_REASON,
    }
    # March's shown rows: the same sums as the two-week period, over 15 days = 15/7 weeks
    assert march["Ana"]["weeks"] == pytest.approx(15 / 7)
    assert march["Ana"]["minutes_per_client_week"] == pytest.approx(170 / 13 / (15 / 7))
    assert march["Cy"]["minutes_per_client_week"] == pytest.approx(265 / 12 / (15 / 7))
    assert march["Ana"]["cap_compliance"] == pytest.approx(12 / 13)
    practices = compare.monthly_trend(three, filters, "practice")
    reasons = {
        (row["month"], row["group"]): row["suppressed_reason"]
        for row in practices.to_dict("records")
    }
    assert reasons == {
        ("2026-02", "North Clinic"): SMALL_REASON,
        ("2026-02", "All practices"): SMALL_REASON,
        ("2026-03", "North Clinic"): MONTHS_REASON,
        ("2026-03", "South Clinic"): None,
        ("2026-03", "All practices"): MONTHS_REASON,
    }
    # the period itself: nothing hidden; Ben's 275 min in March and 60 in February
    period = rows_by_group(compare.comparison(three, filters, "therapist"))
    assert not any(row["suppressed"] for row in period.values())
    assert period["Ben"]["minutes"] == 275 + 60


def test_distribution_has_one_value_per_shown_therapist(four: Database) -> None:
    values = compare.distribution(four, PERIOD)
    rates = values[values["measure"] == "minutes_per_client_week"]
    # Cy (complement) and Dee (too small) are hidden: no point for them
    assert dict(zip(rates["therapist"], rates["value"], strict=True)) == pytest.approx(
        {"Ana": 170 / 13 / 2, "Ben": 275 / 14 / 2}
    )
    # ranks per measure among the two shown: Ana 6.54 < Ben 9.82 -> 0 and 100; response
    # medians Ana 33 h > Ben 2 h -> Ana 100, Ben 0
    assert list(rates["percentile_rank"]) == [0, 100]
    replies = values[values["measure"] == "response_median_hours"]
    assert dict(zip(replies["therapist"], replies["percentile_rank"], strict=True)) == {
        "Ana": 100,
        "Ben": 0,
    }
    # only Ana has sessions: one value for the per-session-hour measure
    assert list(values[values["measure"] == "minutes_per_8_session_hours"]["therapist"]) == ["Ana"]
    assert "client_key" not in values.columns and "label" in values.columns


def test_a_therapist_sees_only_themself(four: Database) -> None:
    ana_id = one_id(four, "SELECT therapist_id FROM therapists WHERE name = 'Ana'")
    scoped = PERIOD.with_scope(Scope.therapist("ana@example.org", (ana_id,)))
    rows = rows_by_group(compare.comparison(four, scoped, "therapist"))
    assert list(rows) == ["Ana", "All therapists"]
    # the total is Ana alone: 170 min, 13 clients
    assert rows["All therapists"]["minutes"] == 170
    assert rows["All therapists"]["clients"] == 13
    practices = rows_by_group(compare.comparison(four, scoped, "practice"))
    assert list(practices) == ["North Clinic", "All practices"]
    assert practices["North Clinic"]["minutes"] == 170
    assert set(compare.distribution(four, scoped)["therapist"]) == {"Ana"}
    nobody = PERIOD.with_scope(Scope.nobody("stranger"))
    assert compare.comparison(four, nobody, "therapist").empty


def test_a_supervisor_sees_their_practice_without_client_rows(four: Database) -> None:
    north = one_id(four, "SELECT practice_id FROM practices WHERE name = 'North Clinic'")
    scoped = PERIOD.with_scope(Scope.supervisor("sam@example.org", (north,)))
    table = compare.comparison(four, scoped, "therapist")
    assert list(table["group"]) == ["Ana", "Ben", "All therapists"]
    assert table.loc[table["is_total"], "minutes"].item() == 170 + 275
    assert not {"client_key", "label", "client"} & set(table.columns)


def test_tied_values_share_the_average_rank(empty_db: Database) -> None:
    # Ana and Ben: 2 clients x 14 min each over 2 weeks = 7 min per client per week; Cy 14.
    # Ranks from the lowest: Ana and Ben share ranks 1 and 2 (average 1.5), Cy 3;
    # 100 x (1.5 - 1) / (3 - 1) = 25 for both, 100 x (3 - 1) / 2 = 100 for Cy.
    contacts = [
        _contact(name, f"{name}{n}", "2026-03-03T10:00", minutes)
        for name, minutes in (("Ana", 14), ("Ben", 14), ("Cy", 28))
        for n in (1, 2)
    ]
    add_contacts(empty_db, pd.DataFrame(contacts), source="test")
    rows = rows_by_group(compare.comparison(empty_db, PERIOD, "therapist", min_clients=2))
    assert [rows[name]["minutes_per_client_week"] for name in ("Ana", "Ben", "Cy")] == [7, 7, 14]
    assert [rows[name]["percentile_rank"] for name in ("Ana", "Ben", "Cy")] == [25, 25, 100]
    # one shown group: rank 50 by definition
    ana_id = one_id(empty_db, "SELECT therapist_id FROM therapists WHERE name = 'Ana'")
    ana_only = ContactFilter(start=PERIOD.start, end=PERIOD.end, therapist_ids=(ana_id,))
    (ana,) = compare.comparison(empty_db, ana_only, "therapist", 2, with_total=False).to_dict(
        "records"
    )
    assert ana["percentile_rank"] == 50


# --- the command line ----------------------------------------------------------------------------


def test_cli_json_has_nulls_and_reasons(tmp_path: Path) -> None:
    path = tmp_path / "four.duckdb"
    build_fixture(path, small_group=True).close()
    period = ("--from", "2026-03-02", "--to", "2026-03-15")
    result = run("compare", "--db", path, "--by", "therapist", *period, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["from"], report["to"], report["days"]) == ("2026-03-02", "2026-03-15", 14)
    assert report["min_group_clients"] == 11
    groups = {group["therapist"]: group for group in report["groups"]}
    assert groups["Dee"]["suppressed_reason"] == SMALL_REASON
    assert groups["Cy"]["suppressed_reason"] == COMPLEMENT_REASON
    for name in ("Dee", "Cy"):
        assert groups[name]["clients"] is None
        assert groups[name]["minutes_per_client_week"] is None
        assert groups[name]["percentile_rank"] is None
    ana = groups["Ana"]
    assert ana["suppressed_reason"] is None
    assert ana["practice"] == "North Clinic"
    assert ana["clients"] == 13
    assert ana["minutes_per_client_week"] == round(170 / 13 / 2, 4)  # 6.5385
    assert ana["minutes_per_8_session_hours"] == round(170 / (1300 / 60) * 8, 4)  # 62.7692
    assert ana["response_median_hours"] == 33.0
    assert report["total"]["clients"] == 44
    assert report["total"]["minutes"] == 760.0  # 170 + 275 + 265 + 50
    assert report["total"]["suppressed_reason"] is None

    # --min-clients 13: Cy and Dee too small, nobody complements two hidden groups
    result = run(
        "compare", "--db", path, "--by", "therapist", *period, "--min-clients", "13", "--json",
        cwd=tmp_path,
    )  # fmt: skip
    groups = {group["therapist"]: group for group in json.loads(result.stdout)["groups"]}
    assert [groups[name]["suppressed_reason"] for name in ("Ana", "Ben", "Cy", "Dee")] == [
        None,
        None,
        "fewer than 13 clients",
        "fewer than 13 clients",
    ]

    table = run("compare", "--db", path, "--by", "practice", *period, cwd=tmp_path)
    assert table.returncode == 0, table.stderr
    assert "North Clinic" in table.stdout and "All practices" in table.stdout
    assert "min/client/week" in table.stdout

    refused = run("compare", "--db", path, "--by", "client", cwd=tmp_path)
    assert refused.returncode == 2


def test_cli_months_hide_what_the_period_would_give_away(tmp_path: Path) -> None:
    # The three-therapist fixture over 2026-02-16 .. 2026-03-15, as in
    # test_monthly_trend_hides_what_the_period_would_give_away: February holds Ben's 2
    # clients only, so Ben's and the total's March are hidden too.
    path = tmp_path / "three.duckdb"
    build_fixture(path).close()
    period = ("--from", "2026-02-16", "--to", "2026-03-15")
    result = run(
        "compare", "--db", path, "--by", "therapist", *period, "--months", "--json", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert [month["month"] for month in report["months"]] == ["2026-02", "2026-03"]
    february, march = report["months"]
    assert [group["therapist"] for group in february["groups"]] == ["Ben"]
    assert february["total"]["suppressed_reason"] == SMALL_REASON
    groups = {group["therapist"]: group for group in march["groups"]}
    assert groups["Ben"]["suppressed"] and groups["Ben"]["minutes"] is None
    assert groups["Ben"]["suppressed_reason"] == MONTHS_REASON
    assert march["total"]["suppressed_reason"] == MONTHS_REASON
    assert (groups["Ana"]["suppressed"], groups["Ana"]["minutes"]) == (False, 170.0)
    # the period: Ben 275 + 60 = 335 min, shown
    assert {group["therapist"]: group["minutes"] for group in report["groups"]}["Ben"] == 335.0
    assert not report["total"]["suppressed"]

    text = run("compare", "--db", path, "--by", "therapist", *period, "--months", cwd=tmp_path)
    assert text.returncode == 0, text.stderr
    march_table = text.stdout.split("2026-03")[-1]
    ben = next(line for line in march_table.splitlines() if line.strip().startswith("Ben"))
    assert "suppressed" in ben and "adding up months" in ben


def test_downloads_say_suppressed_in_words(four: Database, three: Database) -> None:
    table = compare.comparison(four, PERIOD, "therapist")
    text = table_to_csv(compare.with_hidden_words(table).drop(columns=["group_id"]))
    rows = {row["group"]: row for row in csv.DictReader(io.StringIO(text.decode("utf-8")))}
    assert rows["Dee"]["clients"] == f"suppressed: {SMALL_REASON}"
    assert rows["Dee"]["minutes_per_client_week"] == f"suppressed: {SMALL_REASON}"
    assert rows["Cy"]["minutes"] == f"suppressed: {COMPLEMENT_REASON}"
    assert float(rows["Ana"]["minutes"]) == 170
    assert float(rows["All therapists"]["minutes"]) == 760
    filters = ContactFilter(start=date(2026, 2, 16), end=date(2026, 3, 15))
    trend = compare.with_hidden_words(compare.monthly_trend(three, filters, "therapist"))
    march = rows_by_group(trend[trend["month"] == "2026-03"])
    assert march["Ben"]["minutes"] == f"suppressed: {MONTHS_REASON}"
    assert march["Ana"]["minutes"] == 170


# --- the page ---------------------------------------------------------------------------------


def test_compare_page_on_demo_data(demo_db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = run_app(demo_db_path, monkeypatch, "pages/compare.py")
    assert app.title[0].value == "Compare therapists and practices"
    table = app.dataframe[0].value
    assert "Minutes per active client per week (min)" in table.columns
    assert table["Therapist"].iloc[-1] == "All therapists"
    db = Database(demo_db_path)
    expected = compare.comparison(db, ContactFilter(), "therapist")
    db.close()
    assert len(table) == len(expected) == 13  # 12 demo therapists and the total
    # the total row: minutes per active client per week, as the library computes it
    total = expected[expected["is_total"]].iloc[0]
    assert table.iloc[-1]["Minutes per active client per week (min)"] == (
        f"{total['minutes_per_client_week']:,.1f} min"
    )
    assert len(app.get("plotly_chart")) == 3  # distribution, ranks, monthly trend
    app.segmented_control(key="compare_by").set_value("practice").run()
    assert not app.exception
    practices = app.dataframe[0].value
    assert list(practices["Practice"])[-1] == "All practices"
    app.selectbox(key="compare_measure").set_value(compare.MEASURES[2]).run()
    assert not app.exception


def test_compare_page_says_why_cells_are_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "four.duckdb"
    build_fixture(path, small_group=True).close()
    app = run_app(path, monkeypatch, "pages/compare.py")
    table = app.dataframe[0].value.set_index("Therapist")
    assert table.loc["Dee", "Active clients"] == f"suppressed: {SMALL_REASON}"
    assert table.loc["Cy", "After-hours share (%)"] == (
        "suppressed: the total would reveal a hidden group"
    )
    assert table.loc["Ana", "Active clients"] == "13"
    assert "2 of 4 hidden" in " ".join(caption.value for caption in app.caption)
    labels = [button.proto.label for button in app.get("download_button")]
    assert "Download monthly figures (CSV)" in labels


def test_compare_page_empty_state(empty_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    app = run_app(empty_db.path, monkeypatch, "pages/compare.py")
    assert "No contacts stored yet" in app.info[0].value


# --- the suppression rules hold for any group sizes ----------------------------------------------

NAMES = ("Ana", "Ben", "Cy", "Dee")


@settings(max_examples=20, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=16), min_size=1, max_size=4),
    k=st.integers(min_value=2, max_value=14),
)
def test_suppression_rules_hold_for_any_group_sizes(sizes: list[int], k: int) -> None:
    contacts = [
        _contact(name, f"{name}{n}", "2026-03-03T10:00", 10)
        for name, size in zip(NAMES, sizes, strict=False)
        for n in range(size)
    ]
    with tempfile.TemporaryDirectory() as folder:
        db = Database(Path(folder) / "groups.duckdb")
        try:
            add_contacts(db, pd.DataFrame(contacts), source="test")
            rows = rows_by_group(compare.comparison(db, PERIOD, "therapist", min_clients=k))
        finally:
            db.close()
    total = rows.pop("All therapists")
    clients = dict(zip(NAMES, sizes, strict=False))
    small = {name for name, size in clients.items() if size < k}
    hidden = {name for name, row in rows.items() if row["suppressed"]}
    # every group under k is hidden, with the reason; so is a total under k
    assert small <= hidden
    assert all(rows[name]["suppressed_reason"] == f"fewer than {k} clients" for name in small)
    assert total["suppressed"] == (sum(sizes) < k)
    if not total["suppressed"]:
        # with the total shown, one hidden group alone could be worked out: never exactly one
        assert len(hidden) != 1
        assert all(rows[name]["suppressed_reason"] == COMPLEMENT_REASON for name in hidden - small)
    # a shown group shows its figures, a hidden one none
    for row in rows.values():
        assert (row["minutes"] is None) == row["suppressed"]


def test_months_are_the_therapists_local_months(empty_db: Database) -> None:
    # Ana (New York): 23:30 EDT on Tuesday 31 March is 03:30 UTC on 1 April; it belongs to
    # March. Two clients x 10 min; the period 2026-03-01 .. 2026-04-30 (k = 2).
    contacts = [_contact("Ana", client, "2026-03-31T23:30", 10) for client in ("a1", "a2")]
    add_contacts(empty_db, pd.DataFrame(contacts), source="test")
    filters = ContactFilter(start=date(2026, 3, 1), end=date(2026, 4, 30))
    trend = compare.monthly_trend(empty_db, filters, "therapist", min_clients=2)
    assert list(zip(trend["month"], trend["group"], strict=True)) == [
        ("2026-03", "Ana"),
        ("2026-03", "All therapists"),
    ]
    ana = trend.iloc[0]
    # March: 31 days = 31/7 weeks; 20 min / 2 clients / (31/7) = 2.258 min per client-week
    assert ana["weeks"] == pytest.approx(31 / 7)
    assert ana["minutes_per_client_week"] == pytest.approx(20 / 2 / (31 / 7))
    assert ana["after_hours_share"] == pytest.approx(1.0)  # 23:30 is after hours
