"""The scope tests' fixture: two practices, three therapists, distinct names, labels and keys.

Shared by tests/test_scope.py (discovery and the registry of how to call each function) and
the test modules that use it (test_scope_readers, test_scope_writers, test_scope_pages):
the data, the scopes under test, and the pruned copy holding only what a scope may see.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd

from analytics.access.filters import ContactFilter
from analytics.access.scope import LOCAL, Scope
from analytics.policy import writes
from analytics.policy.agreements import BoundarySetting, WorkingWeek
from analytics.storage.database import Database
from analytics.storage.sessions import add_sessions
from analytics.storage.sql import identifier, query
from analytics.storage.store import add_contacts

# --- the fixture: two practices, three therapists, distinct names, labels and keys ------

HARBOUR = "Harbourview Practice"
LINDEN = "Lindenhof Praxis"
THERAPISTS = {
    # name: (practice, time zone, client labels)
    "Ada Quillfeather": (HARBOUR, "Europe/Berlin", ("Opaline Ashcombe", "Peregrin Birchley")),
    "Bo Marlowe": (HARBOUR, "America/New_York", ("Quenby Carraway", "Rosalind Dunmore")),
    "Cyprian Fenwick": (LINDEN, "Europe/London", ("Saffron Ellery", "Tobiah Fairweather")),
}
FIRST_MONDAY = date(2026, 1, 5)
WEEKS = 12
CHANNEL_CATEGORY = (
    ("phone", "support", "client"),
    ("email", "scheduling", "therapist"),
    ("text", "check_in", "client"),  # out of policy where texts carry scheduling only
    ("portal", "homework", "therapist"),
)


def _contacts() -> pd.DataFrame:
    """A few contacts a week per client, in the therapist's zone, with one late spike."""
    rows = []
    for number, (therapist, (practice, zone, labels)) in enumerate(THERAPISTS.items()):
        for client_number, label in enumerate(labels):
            for week in range(WEEKS):
                for slot, (channel, category, direction) in enumerate(CHANNEL_CATEGORY):
                    day = FIRST_MONDAY + timedelta(weeks=week, days=slot + client_number)
                    hour = (8, 12, 19, 22)[(slot + week + number) % 4]  # some after hours
                    local = datetime.combine(day, time(hour, 5 * number), tzinfo=ZoneInfo(zone))
                    spike = 4 if week == WEEKS - 1 and client_number == 0 else 1
                    rows.append(
                        {
                            "practice": practice,
                            "therapist": therapist,
                            "time_zone": zone,
                            "client": label,
                            "started_at": local.isoformat(),
                            "minutes": str((10 + 5 * slot + number) * spike),
                            "channel": channel,
                            "category": category,
                            "direction": direction,
                        }
                    )
    # Bo answers Ada's client once (same practice, so the same client): Ada's reply times
    # must not count a reply she cannot see, and Bo sees Opaline as a client he met.
    rows.append(
        {
            "practice": HARBOUR,
            "therapist": "Bo Marlowe",
            "time_zone": "America/New_York",
            "client": "Opaline Ashcombe",
            "started_at": "2026-01-05T04:00:00-05:00",  # 10:00 in Berlin, after 08:00
            "minutes": "7",
            "channel": "email",
            "category": "support",
            "direction": "therapist",
        }
    )
    # Two client-initiated portal messages per client after the sessions end (week 13),
    # so billing finds online digital assessment periods (8 + 6 = 14 min each) to scope.
    for therapist, (practice, zone, labels) in THERAPISTS.items():
        for client_number, label in enumerate(labels):
            for offset, minutes in ((1, 8), (3, 6)):
                day = FIRST_MONDAY + timedelta(weeks=13, days=offset + client_number)
                local = datetime.combine(day, time(11), tzinfo=ZoneInfo(zone))
                rows.append(
                    {
                        "practice": practice,
                        "therapist": therapist,
                        "time_zone": zone,
                        "client": label,
                        "started_at": local.isoformat(),
                        "minutes": str(minutes),
                        "channel": "portal",
                        "category": "support",
                        "direction": "client",
                    }
                )
    return pd.DataFrame(rows)


def _sessions() -> pd.DataFrame:
    """A weekly session per client, one in four cancelled."""
    rows = []
    for therapist, (practice, zone, labels) in THERAPISTS.items():
        for client_number, label in enumerate(labels):
            for week in range(WEEKS):
                day = FIRST_MONDAY + timedelta(weeks=week, days=client_number)
                local = datetime.combine(day, time(10), tzinfo=ZoneInfo(zone))
                rows.append(
                    {
                        "practice": practice,
                        "therapist": therapist,
                        "time_zone": zone,
                        "client": label,
                        "started_at": local.isoformat(),
                        "minutes": "50",
                        "status": "cancelled" if week % 4 == 3 else "attended",
                        "identity": None,
                    }
                )
    return pd.DataFrame(rows)


def _policy(db: Database) -> None:
    """A default, a client override (changed once) and working hours per therapist."""
    for number, (therapist, (practice, _, labels)) in enumerate(THERAPISTS.items()):
        writes.save_setting(
            db,
            BoundarySetting(
                therapist,
                practice,
                None,
                FIRST_MONDAY,
                weekly_cap_minutes=60.0 + 15 * number,
                category_caps={"support": 30.0},
                allowed_channels=("phone", "email", "text", "portal"),
                channel_categories={"text": ("scheduling", "reminder")},
                response_target_hours=24.0,
                response_in_working_hours=number % 2 == 0,
                crisis_counts_toward_cap=False,
            ),
            "setup",
        )
        for cap in (120.0, 90.0):
            override = BoundarySetting(
                therapist, practice, labels[0], FIRST_MONDAY, weekly_cap_minutes=cap
            )
            writes.save_setting(db, override, "setup")
        writes.save_working_hours(
            db,
            therapist,
            WorkingWeek(FIRST_MONDAY, {day: [(time(9), time(17))] for day in range(5)}),
            "setup",
            practice=practice,
        )


# Phone numbers mapped to clients (two therapists), as the phone-log importer needs them.
PHONES = {
    "+4917155501001": ("Ada Quillfeather", "Opaline Ashcombe"),
    "+4917155501002": ("Ada Quillfeather", "Peregrin Birchley"),
    "+447400900101": ("Cyprian Fenwick", "Saffron Ellery"),
}
UNMAPPED = "+4917155509999"


def _epoch_ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _call_log(therapist: str, first_day: int = 14) -> bytes:
    """An SMS Backup & Restore call log of ``therapist``'s phone: an incoming 10-minute call
    from each mapped client in April (after the sessions), one from an unmapped number."""
    numbers = [number for number, (owner, _) in PHONES.items() if owner == therapist]
    calls = [
        f'<call number="{number}" duration="600" type="1" '
        f'date="{_epoch_ms(datetime(2026, 4, first_day + day, 9, tzinfo=ZoneInfo("UTC")))}" />'
        for day, number in enumerate([*numbers, UNMAPPED])
    ]
    return f'<?xml version="1.0"?>\n<calls count="{len(calls)}">{"".join(calls)}</calls>'.encode()


def _text_log() -> bytes:
    """Ada's texts: Opaline asks about homework and gets an answer."""
    sent = datetime(2026, 4, 20, 18, tzinfo=ZoneInfo("UTC"))
    texts = [
        f'<sms address="+4917155501001" type="{kind}" body="{body}" '
        f'date="{_epoch_ms(sent + timedelta(minutes=minute))}" />'
        for kind, minute, body in ((1, 0, "A question about my homework"), (2, 30, "Happy to help"))
    ]
    return f'<?xml version="1.0"?>\n<smses count="2">{"".join(texts)}</smses>'.encode()


def _address(label: str) -> str:
    """The e-mail address of a client with a phone mapping (mapped beside the number)."""
    return f"{label.split()[0].lower()}@example.org"


def _mbox(therapist: str) -> bytes:
    """One e-mail to ``therapist`` from each client whose address is mapped."""
    messages = [
        f"From x Tue Apr 21 09:00:00 2026\nFrom: {_address(label)}\nTo: me@example.net\n"
        f"Date: Tue, 21 Apr 2026 09:0{n}:00 +0000\nMessage-ID: <m{n}@example.org>\n"
        "Subject: reschedule\n\nCan we move it?\n\n"
        for n, (owner, label) in enumerate(PHONES.values())
        if owner == therapist
    ]
    return "".join(messages).encode()


def _phone_logs(db: Database) -> None:
    """Map the numbers (and an address per client), then import Ada's calls and texts and
    Cyprian's calls."""
    from analytics.importing.addresses import map_address
    from analytics.importing.phone_log import PhoneLogOptions, import_phone_log, map_number

    for number, (therapist, label) in PHONES.items():
        map_number(db, LOCAL, therapist, number, label, practice=THERAPISTS[therapist][0])
        map_address(db, LOCAL, therapist, _address(label), label, practice=THERAPISTS[therapist][0])
    for therapist, name, log in (
        ("Ada Quillfeather", "ada-calls.xml", _call_log("Ada Quillfeather")),
        ("Ada Quillfeather", "ada-texts.xml", _text_log()),
        ("Cyprian Fenwick", "cyprian-calls.xml", _call_log("Cyprian Fenwick")),
    ):
        options = PhoneLogOptions(therapist, THERAPISTS[therapist][0], call_category="support")
        import_phone_log(db, log, file_name=name, options=options)


def build_scoped_database(path: Path) -> None:
    """Store the two-practice fixture in a new file (contacts and sessions batches,
    boundaries, phone logs), closed afterwards."""
    db = Database(path)
    try:
        add_contacts(db, _contacts(), source="fixture", file_name="contacts.csv")
        add_sessions(db, _sessions(), source="fixture", file_name="storage.sessions.csv")
        _policy(db)
        _phone_logs(db)
    finally:
        db.close()


@dataclass(frozen=True)
class World:
    """What the fixture holds, by id: for building scopes and checking leaks."""

    practices: dict[str, int]
    therapists: dict[str, int]
    clients: pd.DataFrame  # client_id, client_key, label, practice_id, therapist_id
    episodes: pd.DataFrame  # billing episodes (client_key, family, start), seen locally


def _world(db: Database) -> World:
    practices = db.frame("SELECT name, practice_id FROM practices", [])
    therapists = db.frame("SELECT name, therapist_id FROM therapists", [])
    clients = db.frame(
        "SELECT client_id, client_key, label, practice_id, therapist_id FROM clients", []
    )
    return World(
        dict(zip(practices["name"], practices["practice_id"].astype(int), strict=True)),
        dict(zip(therapists["name"], therapists["therapist_id"].astype(int), strict=True)),
        clients,
        _function("measures.billing.episodes")(db, ContactFilter())[
            ["client_key", "family", "start"]
        ],
    )


def _function(name: str) -> Callable[..., Any]:
    module, _, function = name.rpartition(".")
    return getattr(importlib.import_module(f"analytics.{module}"), function)  # type: ignore[no-any-return]


_PRUNE_BY_SCOPE = ("contacts", "sessions", "clients", "therapists")
_PRUNE_BY_THERAPIST = ("boundaries", "working_hours", "boundary_changes", "phone_numbers")


def _prune(db: Database, scope: Scope) -> None:
    """Delete every row outside ``scope``: what a scoped call may at most see."""
    with db.transaction() as cursor:
        for table in _PRUNE_BY_SCOPE:
            # the table's own name as the alias: the scope's fragment qualifies its columns
            # with it; clients go after contacts and sessions, keeping those met by the scope
            inside = scope.client_fragment(table) if table == "clients" else scope.fragment(table)
            delete = query(
                "DELETE FROM {table} WHERE NOT coalesce({inside}, false)",
                table=identifier(table, _PRUNE_BY_SCOPE),
                inside=inside,
            )
            cursor.execute(delete.text, delete.values)
        cursor.execute(
            "DELETE FROM practices WHERE practice_id NOT IN (SELECT practice_id FROM therapists)"
        )
        for table in _PRUNE_BY_THERAPIST:
            cursor.execute(
                f"DELETE FROM {table} WHERE therapist_id IS NULL "
                "OR therapist_id NOT IN (SELECT therapist_id FROM therapists)"
            )
        for table in ("boundaries", "phone_numbers"):
            cursor.execute(
                f"DELETE FROM {table} WHERE client_id NOT IN (SELECT client_id FROM clients)"
            )
        if not scope.may_import:
            # Batches are for importers only (list_batches shows them nothing); a batch that
            # still holds a contact in scope stays, since what kind of file a contact came
            # from (a phone log's texts, say) is part of that contact.
            cursor.execute(
                "DELETE FROM import_batches WHERE batch_id NOT IN (SELECT batch_id FROM contacts "
                "WHERE batch_id IS NOT NULL UNION SELECT batch_id FROM sessions "
                "WHERE batch_id IS NOT NULL)"
            )
        if scope.role not in ("local", "admin"):
            cursor.execute("DELETE FROM audit_log WHERE identity <> ?", [scope.identity])


# --- the scopes under test -----------------------------------------------------------------


def _scopes(world: World) -> dict[str, Scope]:
    return {
        "therapist": Scope.therapist("ada@example.org", (world.therapists["Ada Quillfeather"],)),
        "supervisor": Scope.supervisor("sam@example.org", (world.practices[LINDEN],)),
        "nobody": Scope.nobody("stranger@example.org"),
        # Bo stood in once for Ada's client Opaline: he sees her as his, Ada's data not.
        "colleague": Scope.therapist("bo@example.org", (world.therapists["Bo Marlowe"],)),
    }


SCOPE_NAMES = ("therapist", "supervisor", "nobody", "colleague")


OWN = "Ada Quillfeather"
OTHER = "Cyprian Fenwick"  # the supervisor's practice, not the therapist's
