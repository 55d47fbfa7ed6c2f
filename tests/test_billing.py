"""Billable between-session work on hand-built timelines, answers worked out by hand.

Every timeline belongs to one therapist in New York (``T``, practice ``P``). Unless a test
says otherwise, each client also has two *cancelled* sessions (5 January and 29 June 2026):
they make the client's sessions "known" and the therapist's session data cover every date
in between, but a cancelled session never excludes anything (only an attended one is a
related visit). Times below are New York wall-clock times; US daylight saving time began
on Sunday 8 March 2026 at 02:00 (EST, UTC-5, before; EDT, UTC-4, after).
"""

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.access.filters import ContactFilter
from analytics.access.scope import Scope
from analytics.errors import PermissionDeniedError
from analytics.measures import billing
from analytics.policy import billing_rules
from analytics.policy.billing_rules import InvalidBillingRuleError
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.sessions import add_sessions
from analytics.storage.store import add_contacts
from tests.test_cli import run

ZONE = "America/New_York"
COVERING = ("2026-01-05 09:00", "2026-06-29 09:00")
"""The two cancelled sessions every client gets unless a test asks for none."""


def instant(local: str, zone: str = ZONE) -> str:
    """A New York wall time as an ISO instant with its offset (DST-correct)."""
    return datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(zone)).isoformat()


def add_timeline(
    db: Database,
    contacts: list[tuple[str, float, str, str, str]],
    sessions: list[tuple[str, str]] = (),  # type: ignore[assignment]
    *,
    client: str = "A",
    covering: bool = True,
) -> None:
    """Store contacts (local time, minutes, channel, category, direction) and sessions
    (local time, status) of one client of therapist T."""
    if contacts:
        add_contacts(
            db,
            pd.DataFrame(
                [
                    {
                        "practice": "P",
                        "therapist": "T",
                        "time_zone": ZONE,
                        "client": client,
                        "started_at": instant(local),
                        "minutes": minutes,
                        "channel": channel,
                        "category": category,
                        "direction": direction,
                    }
                    for local, minutes, channel, category, direction in contacts
                ]
            ),
            source="test",
        )
    planned = list(sessions) + ([(at, "cancelled") for at in COVERING] if covering else [])
    if planned:
        add_sessions(
            db,
            pd.DataFrame(
                [
                    {
                        "practice": "P",
                        "therapist": "T",
                        "time_zone": ZONE,
                        "client": client,
                        "started_at": instant(local),
                        "minutes": 50,
                        "status": status,
                        "identity": None,
                    }
                    for local, status in planned
                ]
            ),
            source="test",
        )


def portal(local: str, minutes: float, category: str = "support", direction: str = "client"):  # type: ignore[no-untyped-def]
    return (local, minutes, "portal", category, direction)


def call(local: str, minutes: float, category: str = "support", direction: str = "client"):  # type: ignore[no-untyped-def]
    return (local, minutes, "phone", category, direction)


def rows(db: Database, filters: ContactFilter | None = None) -> list[dict[str, Any]]:
    """Episodes as plain dicts, in start order."""
    frame = billing.episodes(db, filters or ContactFilter())
    return [{str(key): value for key, value in row.items()} for row in frame.to_dict("records")]


def only(db: Database, filters: ContactFilter | None = None) -> dict[str, Any]:
    found = rows(db, filters)
    assert len(found) == 1, found
    return found[0]


def start_of(row: dict[str, Any]) -> datetime:
    return pd.Timestamp(row["start"]).to_pydatetime()


# --- bands -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "code", "band", "status"),
    [
        (4, None, "under 5 min", "below threshold"),  # under the lowest band: no code
        (5, "98970", "5-10 min", "qualifies"),  # 5 is the first minute of 98970
        (10, "98970", "5-10 min", "qualifies"),  # 10 its last
        (10.5, "98970", "5-10 min", "qualifies"),  # whole minutes: 10.5 is not yet 11
        (11, "98971", "11-20 min", "qualifies"),
        (20, "98971", "11-20 min", "qualifies"),
        (21, "98972", "21+ min", "qualifies"),
        (95, "98972", "21+ min", "qualifies"),  # the online top band has no end
    ],
)
def test_online_band_edges(
    empty_db: Database, minutes: float, code: str | None, band: str, status: str
) -> None:
    # One client-initiated portal message on Wednesday 15 April: a one-contact episode.
    add_timeline(empty_db, [portal("2026-04-15 10:00", minutes)])
    episode = only(empty_db)
    assert episode["family"] == "online"
    assert (None if pd.isna(episode["code"]) else episode["code"]) == code
    assert episode["band"] == band
    assert episode["status"] == status
    assert episode["minutes"] == minutes
    # The period is 7 local dates, 15 to 21 April: it ends at midnight beginning 22 April.
    assert pd.Timestamp(episode["end"]) == pd.Timestamp("2026-04-22 00:00")


@pytest.mark.parametrize(
    ("minutes", "code", "band"),
    [
        (4, None, "under 5 min"),
        (5, "98966", "5-10 min"),
        (10, "98966", "5-10 min"),
        (11, "98967", "11-20 min"),
        (20, "98967", "11-20 min"),
        (21, "98968", "21-30 min"),
        (30, "98968", "21-30 min"),
        (31, None, "over 30 min"),  # past the top telephone band (DOMAIN.md: 21-30)
    ],
)
def test_telephone_band_edges(
    empty_db: Database, minutes: float, code: str | None, band: str
) -> None:
    add_timeline(empty_db, [call("2026-04-15 10:00", minutes)])
    episode = only(empty_db)
    assert episode["family"] == "telephone"
    assert (None if pd.isna(episode["code"]) else episode["code"]) == code
    assert episode["band"] == band
    # A call ends when it ends: 10:00 plus its minutes.
    assert pd.Timestamp(episode["end"]) == pd.Timestamp("2026-04-15 10:00") + pd.Timedelta(
        minutes=minutes
    )


# --- 7-day periods -----------------------------------------------------------------------


def test_an_episode_spanning_a_weekend_adds_up_over_seven_dates(empty_db: Database) -> None:
    add_timeline(
        empty_db,
        [
            portal("2026-04-17 16:00", 3),  # Friday: the period is Fri 17 to Thu 23 April
            portal("2026-04-18 10:00", 4),  # Saturday
            portal("2026-04-19 21:00", 2, "homework"),  # Sunday evening
            portal("2026-04-20 09:00", 2, "check_in"),  # Monday
            portal("2026-04-23 23:59", 1),  # Thursday, the last minute of the last date
            portal("2026-04-24 08:00", 6),  # Friday 24: the eighth date, a new period,
            # although fewer than 7 x 24 hours have passed since Fri 17 16:00
        ],
    )
    first, second = rows(empty_db)
    # 3 + 4 + 2 + 2 + 1 = 12 minutes in five contacts -> 98971 (11-20).
    assert first["minutes"] == 12
    assert first["contacts"] == 5
    assert first["code"] == "98971"
    assert start_of(first) == datetime(2026, 4, 17, 16, 0)
    assert pd.Timestamp(first["end"]) == pd.Timestamp("2026-04-24 00:00")
    # The contact on Fri 24 08:00 opens the next period on its own: 6 min -> 98970.
    assert (second["minutes"], second["code"]) == (6, "98970")
    assert start_of(second) == datetime(2026, 4, 24, 8, 0)


def test_an_inquiry_monday_evening_and_a_message_next_monday_morning_are_two_periods(
    empty_db: Database,
) -> None:
    # Hand-worked where clock time and calendar days disagree. Inquiry Monday 20 April
    # 18:00 (6 min): its period is Mon 20 to Sun 26 April. The follow-up on Monday 27
    # April 09:00 (6 min) is 159 hours later, inside 7 x 24 hours, but on the eighth
    # date: a period of its own. Clock time would give one period of 12 min (98971);
    # calendar days give two of 6 min (98970 each).
    add_timeline(empty_db, [portal("2026-04-20 18:00", 6), portal("2026-04-27 09:00", 6)])
    first, second = rows(empty_db)
    assert (first["minutes"], first["code"], first["contacts"]) == (6, "98970", 1)
    assert (second["minutes"], second["code"]) == (6, "98970")
    assert start_of(second) == datetime(2026, 4, 27, 9, 0)


def test_a_period_is_local_dates_across_the_dst_change(empty_db: Database) -> None:
    # Sunday 1 March 23:30 EST (2 March 04:30 UTC): the period is Sun 1 to Sat 7 March.
    # Clocks go forward on Sunday 8 March at 02:00.
    add_timeline(
        empty_db,
        [
            portal("2026-03-01 23:30", 6),
            portal("2026-03-07 23:50", 3),  # Saturday 23:50: the last date, inside
            # Sunday 8 March 00:10 EST: only 144 h 40 min after the inquiry (and 6 days
            # 40 minutes on the wall clock), but the eighth date: a new period.
            portal("2026-03-08 00:10", 2),
            # Sunday 15 March 00:05 EDT: the second period is Sun 8 to Sat 14 March (a
            # date is a date, 23 hours long or not), so this opens a third.
            portal("2026-03-15 00:05", 5),
        ],
    )
    first, second, third = rows(empty_db)
    assert (first["minutes"], first["contacts"], first["code"]) == (9, 2, "98970")  # 6 + 3
    assert (second["minutes"], second["band"]) == (2, "under 5 min")  # no code
    assert start_of(second) == datetime(2026, 3, 8, 0, 10)
    assert pd.Timestamp(second["end"]) == pd.Timestamp("2026-03-15 00:00")
    assert (third["minutes"], third["code"]) == (5, "98970")


def test_two_episodes_for_one_client_in_a_month(empty_db: Database) -> None:
    add_timeline(
        empty_db,
        [
            portal("2026-04-01 10:00", 6),  # period 1: the dates 1 to 7 April
            portal("2026-04-07 10:00", 6),  # inside period 1 -> 12 min
            portal("2026-04-09 10:00", 3),  # first contact after period 1: 9 to 15 April
            portal("2026-04-15 10:00", 4),  # inside period 2 -> 7 min (not a third period,
            # although it is more than 7 days after the 7 April contact)
        ],
    )
    first, second = rows(empty_db)
    assert (first["minutes"], first["code"], first["month"]) == (12, "98971", "2026-04")
    assert (second["minutes"], second["code"], second["month"]) == (7, "98970", "2026-04")
    month = billing.monthly(empty_db, ContactFilter()).to_dict("records")
    # Both qualify (no attended session): 12 + 7 = 19 qualifying minutes in April.
    assert [(r["month"], r["qualifying_episodes"], r["qualifying_minutes"]) for r in month] == [
        ("2026-04", 2, 19.0)
    ]


def test_the_period_filter_cuts_episodes_by_start_not_the_chain(empty_db: Database) -> None:
    add_timeline(
        empty_db,
        [portal("2026-04-01 10:00", 6), portal("2026-04-07 10:00", 6), portal("2026-04-09", 5)],
    )
    # From 5 April: the 7 April contact still belongs to the period that began on 1 April
    # (which starts before the filter), so only the period starting 9 April shows.
    episode = only(empty_db, ContactFilter(start=date(2026, 4, 5)))
    assert start_of(episode) == datetime(2026, 4, 9, 0, 0)
    assert episode["minutes"] == 5


def test_the_contacts_behind_an_episode(empty_db: Database) -> None:
    add_timeline(
        empty_db,
        [portal("2026-04-01 10:00", 6), portal("2026-04-07 10:00", 6, "homework")],
    )
    episode = only(empty_db)
    behind = billing.episode_contacts(
        empty_db, ContactFilter(), "online", episode["client_key"], start_of(episode)
    )
    assert behind[["channel", "category", "minutes"]].to_dict("records") == [
        {"channel": "portal", "category": "support", "minutes": 6.0},
        {"channel": "portal", "category": "homework", "minutes": 6.0},
    ]


# --- what does not count -----------------------------------------------------------------


def test_scheduling_and_reminders_are_not_counted(empty_db: Database) -> None:
    add_timeline(
        empty_db,
        [
            portal("2026-04-15 09:00", 10, "scheduling"),
            portal("2026-04-15 09:30", 8, "reminder"),
            portal("2026-04-16 10:00", 4),  # the only counting contact: 4 min
            call("2026-04-16 11:00", 12, "scheduling"),  # a call to move a session
        ],
    )
    episode = only(empty_db)  # no telephone episode at all
    # Without the 18 minutes of logistics the period holds 4 minutes: no code.
    assert (episode["family"], episode["minutes"]) == ("online", 4)
    assert pd.isna(episode["code"])
    assert episode["status"] == "below threshold"
    # It starts at the first *counting* contact, not at the scheduling message.
    assert start_of(episode) == datetime(2026, 4, 16, 10, 0)


def test_a_therapist_initiated_contact_is_not_counted(empty_db: Database) -> None:
    add_timeline(
        empty_db,
        [
            portal("2026-04-15 09:00", 10, direction="therapist"),
            portal("2026-04-15 12:00", 3),
            portal("2026-04-17 12:00", 3),
            call("2026-04-16 11:00", 15, direction="therapist"),
        ],
    )
    episode = only(empty_db)
    # Client-initiated only: 3 + 3 = 6 min -> 98970 (with the therapist's 10 it would be
    # 16 min, 98971); the therapist's call is no telephone episode.
    assert (episode["minutes"], episode["contacts"], episode["code"]) == (6, 2, "98970")


def test_email_counts_only_when_the_rules_say_so(empty_db: Database) -> None:
    add_timeline(empty_db, [("2026-04-15 10:00", 12, "email", "support", "client")])
    assert rows(empty_db) == []  # default online channel: the secure portal only
    rules = billing_rules.billing_rules(empty_db, Scope.local())
    online = rules["family"] == "online"
    rules.loc[online, "channels"] = pd.Series([["portal", "email"]] * online.sum()).values
    assert billing_rules.save_rules(empty_db, Scope.local(), rules) == 6
    assert only(empty_db)["code"] == "98971"  # 12 min


# --- exclusions --------------------------------------------------------------------------


def test_an_attended_session_three_days_before_excludes(empty_db: Database) -> None:
    # Session Sunday 12 April 10:00, message Wednesday 15 April 10:00: 3 days before.
    add_timeline(empty_db, [portal("2026-04-15 10:00", 12)], [("2026-04-12 10:00", "attended")])
    episode = only(empty_db)
    assert episode["code"] == "98971"  # the band is still reached
    assert episode["status"] == "excluded"
    assert bool(episode["excluded"]) is True
    assert episode["reason"] == "attended session on 2026-04-12 10:00, within 7 days before"


@pytest.mark.parametrize(
    ("session", "status", "expected"),
    [
        ("2026-04-12 10:00", "cancelled", "qualifies"),  # not attended: no related visit
        ("2026-04-12 10:00", "no_show", "qualifies"),
        ("2026-04-07 23:00", "attended", "qualifies"),  # 8 dates before: outside 7
        ("2026-04-08 10:00", "attended", "excluded"),  # 7 dates before: inside
        # 8 April 09:00 is 7 days and 1 hour before on the clock, but on the 7th date
        # before: a related visit by dates of service.
        ("2026-04-08 09:00", "attended", "excluded"),
        ("2026-04-15 08:00", "attended", "excluded"),  # earlier the same day
        ("2026-04-20 10:00", "attended", "excluded"),  # within the period: absorbs it
        ("2026-04-21 23:30", "attended", "excluded"),  # the period's last date (Tuesday)
        # Wednesday 22 April 09:00 is within 7 x 24 hours of the message (Wed 15 10:00),
        # but on the eighth date: outside the period, it absorbs nothing.
        ("2026-04-22 09:00", "attended", "qualifies"),
    ],
)
def test_which_sessions_exclude_online_work(
    empty_db: Database, session: str, status: str, expected: str
) -> None:
    add_timeline(empty_db, [portal("2026-04-15 10:00", 12)], [(session, status)])
    assert only(empty_db)["status"] == expected


def test_a_call_followed_by_a_session_within_24_hours_is_excluded(empty_db: Database) -> None:
    add_timeline(
        empty_db,
        [call("2026-04-14 15:00", 12), call("2026-04-28 15:00", 12)],
        # 23 h after the first call; 24.5 h after the second.
        [("2026-04-15 14:00", "attended"), ("2026-04-29 15:30", "attended")],
    )
    first, second = rows(empty_db)
    assert first["status"] == "excluded"
    assert first["reason"] == "attended session on 2026-04-15 14:00, within 24 h after the call"
    # The second call's session is 24.5 h later; the 15 April session is 13 days before.
    assert second["status"] == "qualifies"
    assert second["code"] == "98967"  # 12 min -> 11-20


def test_24_hours_after_a_call_are_real_hours_across_dst(empty_db: Database) -> None:
    # Saturday 7 March 13:00 EST (18:00 UTC); the session Sunday 13:30 EDT (17:30 UTC) is
    # 24.5 h later on the wall clock but only 23.5 real hours: excluded.
    add_timeline(empty_db, [call("2026-03-07 13:00", 8)], [("2026-03-08 13:30", "attended")])
    episode = only(empty_db)
    assert (episode["code"], episode["status"]) == ("98966", "excluded")


def test_without_sessions_exclusions_are_unknown(empty_db: Database) -> None:
    add_timeline(empty_db, [portal("2026-04-15 10:00", 12)], covering=False)
    episode = only(empty_db)
    assert episode["status"] == "unknown"
    assert pd.isna(episode["excluded"])
    assert episode["reason"] == "no sessions stored for this client: exclusions unknown"


def test_unknown_exclusions_are_null_in_json(empty_db: Database) -> None:
    add_timeline(empty_db, [call("2026-04-15 10:00", 12)], covering=False)
    (row,) = billing.episodes_json(empty_db, ContactFilter())
    assert (row["code"], row["status"], row["excluded"]) == ("98967", "unknown", None)


def test_beyond_the_session_data_exclusions_are_unknown(empty_db: Database) -> None:
    # Sessions are stored up to 29 June; a message on 25 June could be followed by a
    # visit within its 7-day period (to 2 July) that the data does not reach.
    add_timeline(empty_db, [portal("2026-06-25 10:00", 12)])
    episode = only(empty_db)
    assert episode["status"] == "unknown"
    assert episode["reason"] == "session data does not cover this episode: exclusions unknown"


def test_a_proven_exclusion_needs_no_coverage(empty_db: Database) -> None:
    add_timeline(
        empty_db, [portal("2026-04-15 10:00", 12)], [("2026-04-13 10:00", "attended")],
        covering=False,
    )  # fmt: skip
    assert only(empty_db)["status"] == "excluded"


# --- scope -------------------------------------------------------------------------------


def test_supervisors_see_keys_and_therapists_only_their_own(empty_db: Database) -> None:
    add_timeline(empty_db, [portal("2026-04-15 10:00", 12)])
    local = only(empty_db)
    assert local["client"] == "A"
    supervisor = ContactFilter(scope=Scope.supervisor("sue", (1,)))
    assert only(empty_db, supervisor)["client"] == local["client_key"]
    stranger = ContactFilter(scope=Scope.therapist("tom", (99,)))
    assert rows(empty_db, stranger) == []
    assert billing.summary(empty_db, ContactFilter(scope=Scope.nobody("x"))).episodes == 0


# --- rules and fees ----------------------------------------------------------------------


def test_the_default_rules_follow_domain_md(empty_db: Database) -> None:
    rules = billing_rules.billing_rules(empty_db, Scope.local())
    tops = [None if pd.isna(top) else top for top in rules["max_minutes"]]
    bands = [
        (r["code"], r["family"], r["min_minutes"], top)
        for r, top in zip(rules.to_dict("records"), tops, strict=True)
    ]
    assert bands == [
        ("98970", "online", 5, 10),
        ("98971", "online", 11, 20),
        ("98972", "online", 21, None),
        ("98966", "telephone", 5, 10),
        ("98967", "telephone", 11, 20),
        ("98968", "telephone", 21, 30),
    ]
    first = rules.iloc[0]
    assert list(first["channels"]) == ["portal"]
    assert "scheduling" in list(first["excluded_categories"])
    assert (first["window_days"], first["prior_session_days"]) == (7, 7)
    assert rules.iloc[3]["session_after_hours"] == 24


def _edited(db: Database, target: str, changes: dict[str, Any]) -> pd.DataFrame:
    """The stored rules with ``changes`` made to code ``target``'s row."""
    rules = billing_rules.billing_rules(db, Scope.local())
    index = rules.index[rules["code"] == target][0]
    for column, value in changes.items():
        rules[column] = rules[column].astype(object)  # lists and text go in as typed
        rules.at[index, column] = value
    return rules


@pytest.mark.parametrize(
    ("code", "changes", "message"),
    [
        (
            "98970",
            {"counting_categories": ["support", "scheduling"]},
            "Code 98970: scheduling never counts toward a code (non-evaluative messages); "
            "move it to the excluded categories.",
        ),
        (
            "98970",
            {"channels": ["portal", "fax"]},
            "Code 98970: channels must name one or more of phone, email, text, portal, video, "
            "other (fax is not one).",
        ),
        (
            "98971",
            {"min_minutes": 12},
            "The bands of 98970 and 98971 must follow on whole minutes (98971 should start at "
            "11 min).",
        ),
        (
            "98966",
            {"window_days": 7},
            "Code 98966: a telephone code counts each call; leave its window empty.",
        ),
        (
            "98971",
            {"prior_session_days": 3},
            "Codes 98970 and 98971 are both online codes but differ in prior session days; "
            "change them together.",
        ),
        ("98972", {"code": "98970"}, "Code 98970 appears more than once."),
        (
            "98970",
            {"min_minutes": "five"},
            "Code 98970: the band's lowest minute 'five' is not a number.",
        ),
    ],
)
def test_rule_edits_are_checked_in_one_sentence(
    empty_db: Database, code: str, changes: dict[str, Any], message: str
) -> None:
    rules = _edited(empty_db, code, changes)
    with pytest.raises(InvalidBillingRuleError) as raised:
        billing_rules.save_rules(empty_db, Scope.local(), rules)
    assert str(raised.value) == message
    # Nothing stored: the defaults stand.
    assert billing_rules.billing_rules(empty_db, Scope.local())["min_minutes"].tolist() == [
        5, 11, 21, 5, 11, 21
    ]  # fmt: skip


def test_rule_edits_are_audited_and_change_the_bands(empty_db: Database) -> None:
    add_timeline(empty_db, [call("2026-04-15 10:00", 45)])
    assert only(empty_db)["status"] == "above bands"  # 45 min: over 21-30
    rules = _edited(empty_db, "98968", {"max_minutes": None, "description": "Telephone, 21+ min"})
    billing_rules.save_rules(empty_db, Scope.admin("ada"), rules)
    assert only(empty_db)["code"] == "98968"  # open-ended now
    entry = audit.entries(empty_db, Scope.local()).iloc[0]
    assert (entry["identity"], entry["action"]) == ("ada", "settings")
    assert "98968 21-" in entry["detail"]


def test_an_inactive_code_leaves_its_band_uncoded(empty_db: Database) -> None:
    add_timeline(empty_db, [call("2026-04-15 10:00", 25)])
    billing_rules.save_rules(empty_db, Scope.local(), _edited(empty_db, "98968", {"active": False}))
    episode = only(empty_db)
    # The telephone bands now end at 20 min: 25 is over them.
    assert (episode["band"], episode["status"]) == ("over 20 min", "above bands")


def test_only_admins_change_rules_and_fees(empty_db: Database) -> None:
    rules = billing_rules.billing_rules(empty_db, Scope.local())
    supervisor = Scope.supervisor("sue", (1,))
    with pytest.raises(PermissionDeniedError):
        billing_rules.save_rules(empty_db, supervisor, rules)
    with pytest.raises(PermissionDeniedError):
        billing_rules.save_fees(empty_db, Scope.therapist("tom", (1,)), billing_rules.fee_schedule(
            empty_db, Scope.local()
        ))  # fmt: skip


def test_fees_give_the_estimated_value(empty_db: Database) -> None:
    add_timeline(
        empty_db,
        [
            portal("2026-04-01 10:00", 6),  # 6 min -> 98970
            portal("2026-04-09 10:00", 15),  # a new period, 15 min -> 98971
            call("2026-04-20 10:00", 25),  # 98968
            portal("2026-05-04 10:00", 4),  # under 5 min: nothing
        ],
    )
    fees = billing_rules.fee_schedule(empty_db, Scope.local())
    fees["fee"] = fees["code"].map({"98970": 15.0, "98971": 30.0, "98972": 45.0})
    fees["currency"] = "usd"
    assert billing_rules.save_fees(empty_db, Scope.local(), fees) == 3
    summary = billing.summary(empty_db, ContactFilter())
    # Three episodes qualify: 6 + 15 + 25 = 46 min; valued 15 + 30 = 45 USD, and 98968 has
    # no fee entered.
    assert (summary.episodes, summary.qualifying, summary.below_threshold) == (4, 3, 1)
    assert summary.qualifying_minutes == 46
    assert (summary.estimated_value, summary.currency) == (45.0, "USD")
    assert summary.codes_without_fee == ("98968",)
    months = billing.monthly(empty_db, ContactFilter()).to_dict("records")
    assert [
        (m["month"], m["qualifying_minutes"], m["below_threshold_minutes"]) for m in months
    ] == [
        ("2026-04", 46.0, 0.0),
        ("2026-05", 0.0, 4.0),
    ]
    assert months[0]["estimated_value"] == 45.0


@pytest.mark.parametrize(
    ("fees", "message"),
    [
        (
            {"98970": (10, "USD"), "98971": (20, "EUR")},
            "Enter every fee in one currency so totals add up (found EUR, USD).",
        ),
        ({"98970": (-1, "USD")}, "The fee of 98970 cannot be negative (-1)."),
        (
            {"98970": (10, "dollars")},
            "The fee of 98970 needs a three-letter currency code such as USD, not 'DOLLARS'.",
        ),
        (
            {"99999": (10, "USD")},
            "There is no billing rule for code 99999; add the rule first.",
        ),
    ],
)
def test_fee_edits_are_checked(
    empty_db: Database, fees: dict[str, tuple[float, str]], message: str
) -> None:
    frame = pd.DataFrame(
        [{"code": code, "fee": fee, "currency": cur} for code, (fee, cur) in fees.items()]
    )
    with pytest.raises(InvalidBillingRuleError) as raised:
        billing_rules.save_fees(empty_db, Scope.local(), frame)
    assert str(raised.value) == message


# --- demo data ---------------------------------------------------------------------------


def test_demo_data_has_qualifying_and_excluded_episodes(demo_db_path: Path) -> None:
    db = Database(demo_db_path)
    try:
        found = billing.episodes(db, ContactFilter())
    finally:
        db.close()
    statuses = set(found["status"])
    assert {"qualifies", "excluded", "below threshold"} <= statuses
    assert set(found["family"]) == {"online", "telephone"}
    assert found["reason"].str.contains("within 7 days before").any()
    assert found["reason"].str.contains("within 24 h after the call").any()


# --- command line ------------------------------------------------------------------------


def test_cli_lists_episodes_with_client_labels_and_keys(tmp_path: Path) -> None:
    path = tmp_path / "billing.duckdb"
    db = Database(path)
    add_timeline(
        db,
        [portal("2026-04-15 10:00", 12), call("2026-04-28 15:00", 4)],
        [("2026-04-12 10:00", "attended")],
    )
    (key,) = db.row("SELECT client_key FROM clients", [])
    db.close()
    command = ["billing", "--db", str(path)]
    result = run(*command, "--from", "2026-04-01", "--to", "2026-04-30", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        {
            "client": "A",  # the label, as the dashboard names the client in local mode
            "client_key": key,
            "family": "online",
            "code": "98971",  # 12 min
            "start": "2026-04-15T10:00:00",
            "end": "2026-04-22T00:00:00",  # the dates 15 to 21 April
            "minutes": 12.0,
            "contacts": 1,
            "band": "11-20 min",
            "status": "excluded",
            "excluded": True,  # the session 3 days before
            "reason": "attended session on 2026-04-12 10:00, within 7 days before",
        },
        {
            "client": "A",
            "client_key": key,
            "family": "telephone",
            "code": None,  # 4 min
            "start": "2026-04-28T15:00:00",
            "end": "2026-04-28T15:04:00",
            "minutes": 4.0,
            "contacts": 1,
            "band": "under 5 min",
            "status": "below threshold",
            "excluded": False,  # 16 days after the session, and sessions cover it
            "reason": "",
        },
    ]
    # Without --json: a table with the disclaimer; a later period has nothing.
    table = run(*command, cwd=tmp_path)
    assert "98971" in table.stdout and billing.DISCLAIMER in table.stdout
    empty = run(*command, "--from", "2026-05-01", cwd=tmp_path)
    assert empty.stdout.strip() == (
        "No client-initiated work matches the billing rules in this period."
    )


# --- property: the SQL chaining equals the rule stated plainly ---------------------------


def reference_periods(moments: list[int], window_days: int) -> list[tuple[int, int]]:
    """The 7-day rule written as a loop (tests only): each period starts with the first
    contact not on its predecessor's dates (the start's date and the six after it);
    ``moments`` are minutes after local midnight; returns (start, contacts) per period."""
    day = 24 * 60
    periods: list[tuple[int, int]] = []
    for moment in sorted(moments):
        if periods and moment // day < periods[-1][0] // day + window_days:
            start, count = periods[-1]
            periods[-1] = (start, count + 1)
        else:
            periods.append((moment, 1))
    return periods


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    timelines=st.lists(
        st.lists(st.integers(min_value=0, max_value=60 * 24 * 60), min_size=1, max_size=25),
        min_size=1,
        max_size=4,
    )
)
def test_periods_match_the_rule_stated_plainly(
    tmp_path_factory: pytest.TempPathFactory, timelines: list[list[int]]
) -> None:
    # Minutes after 1 January 2026 00:00 in Tokyo (no DST), one client per timeline, each
    # contact 1 minute long; a period covers 7 local dates.
    db = Database(tmp_path_factory.mktemp("property") / "contactload.duckdb")
    try:
        origin = pd.Timestamp("2026-01-01 00:00", tz="Asia/Tokyo")
        frame = pd.DataFrame(
            [
                {
                    "practice": "P",
                    "therapist": "T",
                    "time_zone": "Asia/Tokyo",
                    "client": f"client {number}",
                    "started_at": (origin + pd.Timedelta(minutes=offset)).isoformat(),
                    "minutes": 1,
                    "channel": "portal",
                    "category": "support",
                    "direction": "client",
                }
                for number, offsets in enumerate(timelines)
                for offset in offsets
            ]
        )
        add_contacts(db, frame, source="property")
        found = billing.episodes(db, ContactFilter())
        labels = dict(db.frame("SELECT label, client_key FROM clients", []).values.tolist())
        for number, offsets in enumerate(timelines):
            # Identical contacts (same client, start and minutes) are stored once each
            # occurrence, so the reference sees every offset too.
            mine = found[found["client_key"] == labels[f"client {number}"]]
            got = [
                (
                    int((pd.Timestamp(start) - origin.tz_localize(None)).total_seconds() // 60),
                    int(contacts),
                )
                for start, contacts in zip(mine["start"], mine["contacts"], strict=True)
            ]
            assert got == reference_periods(offsets, 7)
    finally:
        db.close()
