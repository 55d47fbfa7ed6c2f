"""The month at a glance, worked out by hand: period presets, the billable/unpaid split under
the billing rules, the top clients, the therapist ranking and the alert digest.

The split's timeline: one therapist T in New York with client A. Two *cancelled* sessions
(5 January and 29 June 2026) make A's sessions known without excluding anything (only an
attended session is a related visit), as in tests/test_billing.py.
"""

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from analytics.access.filters import ContactFilter, Period
from analytics.access.scope import LOCAL, Scope
from analytics.errors import PermissionDeniedError
from analytics.measures import glance
from analytics.measures.glance import UnknownAlertError, UnknownPresetError
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.sessions import add_sessions
from analytics.storage.settings import set_setting
from analytics.storage.store import add_contacts

ZONE = "America/New_York"


@pytest.mark.parametrize(
    ("preset", "today", "start", "end"),
    [
        # Thursday 3 December 2026: weeks start on Monday 30 November.
        ("this_week", date(2026, 12, 3), date(2026, 11, 30), date(2026, 12, 6)),
        ("last_week", date(2026, 12, 3), date(2026, 11, 23), date(2026, 11, 29)),
        ("this_month", date(2026, 12, 3), date(2026, 12, 1), date(2026, 12, 31)),
        ("last_month", date(2026, 12, 3), date(2026, 11, 1), date(2026, 11, 30)),
        ("last_month", date(2026, 1, 15), date(2025, 12, 1), date(2025, 12, 31)),
        ("last_month", date(2026, 3, 31), date(2026, 2, 1), date(2026, 2, 28)),
        ("this_quarter", date(2026, 12, 3), date(2026, 10, 1), date(2026, 12, 31)),
        ("this_quarter", date(2026, 2, 28), date(2026, 1, 1), date(2026, 3, 31)),
        ("last_12_months", date(2026, 12, 3), date(2026, 1, 1), date(2026, 12, 31)),
        # A Monday is the first day of its own week.
        ("this_week", date(2026, 11, 30), date(2026, 11, 30), date(2026, 12, 6)),
    ],
)
def test_presets_are_local_calendar_periods(
    preset: str, today: date, start: date, end: date
) -> None:
    assert glance.preset_period(preset, today) == Period(start, end)


@pytest.mark.parametrize("preset", ["all", "custom"])
def test_all_and_custom_have_no_fixed_dates(preset: str) -> None:
    assert glance.preset_period(preset, date(2026, 12, 3)) is None


def test_an_unknown_preset_is_one_sentence() -> None:
    with pytest.raises(UnknownPresetError, match="There is no period 'fortnight'"):
        glance.preset_period("fortnight", date(2026, 12, 3))


def test_today_is_the_therapists_own_date() -> None:
    # Late on the 3rd in New York is already the 4th in Auckland.
    auckland = glance.local_today(("Pacific/Auckland",))
    assert auckland == datetime.now(ZoneInfo("Pacific/Auckland")).date()
    assert glance.local_today(("Europe/Berlin", "America/New_York")) == date.today()


def instant(local: str) -> str:
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(ZONE)).isoformat()


def add_client_timeline(
    db: Database, contacts: list[tuple[str, float, str, str, str]], client: str = "A"
) -> None:
    """Contacts (local time, minutes, channel, category, direction) of ``client`` of T, and
    the two cancelled sessions that make the client's sessions known."""
    add_contacts(
        db,
        pd.DataFrame(
            [
                {"practice": "P", "therapist": "T", "time_zone": ZONE, "client": client,
                 "started_at": instant(local), "minutes": minutes, "channel": channel,
                 "category": category, "direction": direction}
                for local, minutes, channel, category, direction in contacts
            ]
        ),
        source="test",
    )  # fmt: skip
    add_sessions(
        db,
        pd.DataFrame(
            [
                {"practice": "P", "therapist": "T", "time_zone": ZONE, "client": client,
                 "started_at": instant(local), "minutes": 50, "status": "cancelled",
                 "identity": None}
                for local in ("2026-01-05 09:00", "2026-06-29 09:00")
            ]
        ),
        source="test",
    )  # fmt: skip


def test_billable_and_unpaid_split_follows_the_billing_rules(empty_db: Database) -> None:
    add_client_timeline(
        empty_db,
        [
            # February (the previous period): one client-initiated call of 8 min: 98966.
            ("2026-02-10 11:00", 8, "phone", "support", "client"),
            # March: portal 6 + 7 within 7 days = 13 min, one online episode: 98971.
            ("2026-03-10 09:00", 6, "portal", "support", "client"),
            ("2026-03-12 10:00", 7, "portal", "support", "client"),
            # a client-initiated call of 12 min: 98967.
            ("2026-03-17 14:00", 12, "phone", "support", "client"),
            # scheduling never counts; a therapist-initiated email neither.
            ("2026-03-20 10:00", 5, "portal", "scheduling", "client"),
            ("2026-03-24 10:00", 10, "email", "support", "therapist"),
            # 3 portal minutes alone: below the lowest band (5 min).
            ("2026-03-26 10:00", 3, "portal", "support", "client"),
        ],
    )
    march = ContactFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))
    result = glance.glance(empty_db, march)
    # all March minutes: 6 + 7 + 12 + 5 + 10 + 3 = 43; billable 13 + 12 = 25; unpaid 18.
    assert result.current.minutes == 43
    assert result.current.billable_minutes == 25
    assert result.current.unpaid_minutes == 18
    assert result.current.billable_share == pytest.approx(25 / 43)
    # The 31 days before 1 March (29 Jan - 28 Feb): the 8-minute call, all billable.
    assert result.previous is not None
    assert result.previous.period == Period(date(2026, 1, 29), date(2026, 2, 28))
    assert (result.previous.minutes, result.previous.billable_minutes) == (8, 8)
    assert result.previous.unpaid_minutes == 0


def test_an_episode_counts_in_the_period_it_starts_in(empty_db: Database) -> None:
    add_client_timeline(
        empty_db,
        [
            # 4 + 4 portal minutes over the month's end: one 8-minute episode (98970),
            # starting in March.
            ("2026-03-30 09:00", 4, "portal", "support", "client"),
            ("2026-04-02 09:00", 4, "portal", "support", "client"),
        ],
    )
    march = glance.paid_split(
        empty_db, ContactFilter(start=date(2026, 3, 1), end=date(2026, 3, 31))
    )
    assert (march.minutes, march.billable_minutes, march.unpaid_minutes) == (4, 8, 0)
    assert march.billable_share == 1.0
    april = glance.paid_split(
        empty_db, ContactFilter(start=date(2026, 4, 1), end=date(2026, 4, 30))
    )
    assert (april.minutes, april.billable_minutes, april.unpaid_minutes) == (4, 0, 4)


def test_top_clients_share_and_over_cap(fixture_db: Database) -> None:
    top = glance.top_clients(fixture_db, ContactFilter(), limit=2)
    assert len(top) == 2
    minutes = fixture_db.frame(
        "SELECT cl.client_key, sum(minutes) AS minutes FROM contacts "
        "JOIN clients AS cl USING (client_id) GROUP BY ALL ORDER BY minutes DESC, client_key",
        [],
    )
    total = minutes["minutes"].sum()
    assert list(top["client_key"]) == list(minutes["client_key"].head(2))
    assert list(top["share"]) == pytest.approx(list(minutes["minutes"].head(2) / total))
    assert not top["over_cap"].any()  # the fixture has no boundaries


def test_top_clients_flag_a_client_over_the_cap(fixture_db: Database) -> None:
    from analytics.policy.agreements import BoundarySetting
    from analytics.policy.writes import save_setting

    top = glance.top_clients(fixture_db, ContactFilter(), limit=1)
    therapist = top["therapist"].iloc[0]
    (practice,) = fixture_db.row(
        "SELECT p.name FROM therapists JOIN practices AS p USING (practice_id) WHERE "
        "therapists.name = ?",
        [therapist],
    )
    save_setting(
        fixture_db,
        BoundarySetting(therapist, practice, None, date(2000, 1, 3), weekly_cap_minutes=1),
        "test",
    )
    flagged = glance.top_clients(fixture_db, ContactFilter(), limit=1)
    assert bool(flagged["over_cap"].iloc[0]) and flagged["breach_weeks"].iloc[0] > 0


def test_ranking_flags_above_the_practice_threshold(demo_db_path: Path, tmp_path: Path) -> None:
    import shutil

    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_db_path, path)
    db = Database(path)
    try:
        ranking = glance.therapist_ranking(db, ContactFilter())
        shown = ranking
        assert ranking["minutes_per_client_week"].notna().all()
        assert list(shown["minutes_per_client_week"]) == sorted(
            shown["minutes_per_client_week"], reverse=True
        )
        # Default: above the 90th percentile of one's own practice (linear interpolation).
        for practice, group in shown.groupby("practice"):
            p90 = group["minutes_per_client_week"].quantile(0.9)
            expected = group["minutes_per_client_week"] > p90
            assert list(group["flagged"]) == list(expected), practice
        # No client column anywhere: the ranking holds therapists only.
        assert not {"client", "client_key", "label"} & set(ranking.columns)
        # A practice-set threshold in minutes replaces the percentile.
        middle = float(shown["minutes_per_client_week"].median())
        set_setting(db, "load_flag_minutes", middle)
        fixed = glance.therapist_ranking(db, ContactFilter())
        fixed_shown = fixed
        assert list(fixed_shown["flagged"]) == list(fixed_shown["minutes_per_client_week"] > middle)
        assert "min per active client per week" in glance.flag_threshold_text(db)
        # Therapists with fewer than 11 active clients are left out (the Compare page's k).
        from analytics.measures.compare import comparison

        november = ContactFilter(start=date(2026, 11, 1), end=date(2026, 11, 30))
        compared = comparison(db, november, "therapist", with_total=False)
        ranked = glance.therapist_ranking(db, november)
        assert set(ranked["therapist"]) == set(compared[~compared["suppressed"]]["group"])
        assert 0 < len(ranked) < len(compared)
    finally:
        db.close()


def test_digest_keeps_four_weeks_and_dismissals_are_audited(
    demo_db_path: Path, tmp_path: Path
) -> None:
    import shutil

    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_db_path, path)
    db = Database(path)
    try:
        everything = ContactFilter()
        from analytics.measures.drift import drift_alerts

        all_alerts = drift_alerts(db, everything)
        digest = glance.alert_digest(db, everything)
        assert digest.since is not None and digest.since.weekday() == 0
        weeks = pd.to_datetime(all_alerts["week"]).dt.date
        recent = int((weeks >= digest.since).sum())
        assert len(digest.recent) == recent > 0
        assert digest.older == len(all_alerts) - recent
        assert digest.dismissed == 0
        excess = list(digest.recent["excess_minutes"])
        assert excess == sorted(excess, reverse=True)

        first = digest.recent["alert_key"].iloc[0]
        glance.dismiss_alert(db, LOCAL, first, "ada")
        after = glance.alert_digest(db, everything)
        assert first not in set(after.recent["alert_key"])
        assert (len(after.recent), after.dismissed) == (recent - 1, 1)
        logged = audit.entries(db, LOCAL, limit=1)
        assert logged["action"].iloc[0] == "alert_dismiss"
        assert "dismissed" in logged["detail"].iloc[0]
        (by,) = db.row("SELECT max(dismissed_by) FROM dismissed_alerts", [])
        assert by == "ada"
    finally:
        db.close()


def test_dismissing_an_unknown_or_hidden_alert_is_refused(fixture_db: Database) -> None:
    with pytest.raises(UnknownAlertError, match="is not an alert this page listed"):
        glance.dismiss_alert(fixture_db, LOCAL, "client:x:2026-01-05", "ada")
    with pytest.raises(UnknownAlertError):
        glance.dismiss_alert(fixture_db, LOCAL, "therapist:9999:2026-01-05", "ada")
    with pytest.raises(PermissionDeniedError):
        glance.dismiss_alert(fixture_db, Scope.nobody("eve"), "therapist:1:2026-01-05", "eve")
    (count,) = fixture_db.row("SELECT count(*) FROM dismissed_alerts", [])
    assert count == 0
