"""Every public analytics function honours the viewer's scope (issue #5, item 4).

The test finds the functions itself (pkgutil over the ``analytics`` package), so a new
module or function cannot be forgotten: each one that takes ``db: Database`` must also take
``filters`` or ``scope``. Readers are called with narrow scopes (one therapist, a supervisor
of one practice, an unknown identity) and must return exactly what the same call returns on
a copy of the database from which every row outside the scope was deleted; no out-of-scope
name, label or key may appear in what they return, and supervisors see no label at all.
Writers called with a narrow scope either succeed within it or raise
``PermissionDeniedError`` and change nothing.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import math
import pkgutil
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import analytics
from analytics import boundaries
from analytics.boundaries import BoundarySetting, WorkingHours
from analytics.db import Database
from analytics.errors import ContactLoadError, PermissionDeniedError
from analytics.filters import ContactFilter
from analytics.pseudonyms import secret_path
from analytics.scope import LOCAL, Scope
from analytics.sessions import add_sessions
from analytics.store import add_contacts
from ui.state import VIEWER_SCOPE_KEY

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
        boundaries.save_setting(
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
            boundaries.save_setting(db, override, "setup")
        boundaries.save_working_hours(
            db,
            therapist,
            WorkingHours(FIRST_MONDAY, {day: [(time(9), time(17))] for day in range(5)}),
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
    """Map the numbers, then import Ada's calls and texts and Cyprian's calls."""
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


@pytest.fixture(scope="module")
def scoped_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The two-practice fixture, stored once (contacts and sessions batches, boundaries)."""
    path = tmp_path_factory.mktemp("scope") / "contactload.duckdb"
    db = Database(path)
    try:
        add_contacts(db, _contacts(), source="fixture", file_name="contacts.csv")
        add_sessions(db, _sessions(), source="fixture", file_name="sessions.csv")
        _policy(db)
        _phone_logs(db)
    finally:
        db.close()
    return path


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
        _function("billing.episodes")(db, ContactFilter())[["client_key", "family", "start"]],
    )


def _copy(source: Path, folder: Path) -> Path:
    """A copy of a closed database file with its pseudonym secret."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    shutil.copy(source, target)
    shutil.copy(secret_path(source), secret_path(target))
    return target


_PRUNE_BY_SCOPE = ("contacts", "sessions", "clients", "therapists")
_PRUNE_BY_THERAPIST = ("boundaries", "working_hours", "boundary_changes", "phone_numbers")


def _prune(db: Database, scope: Scope) -> None:
    """Delete every row outside ``scope``: what a scoped call may at most see."""
    with db.transaction() as cursor:
        for table in _PRUNE_BY_SCOPE:
            # the table's own name as the alias: Scope.where qualifies its columns with it;
            # clients go after contacts and sessions, keeping those met by the scope
            where = scope.client_where if table == "clients" else scope.where
            condition, params = where(table)
            cursor.execute(f"DELETE FROM {table} WHERE NOT coalesce({condition}, false)", params)
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


# --- comparing results -----------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A result as plain, comparable Python: frames as columns and rows, floats rounded."""
    if isinstance(value, pd.DataFrame):
        frame = value.reset_index(drop=True)
        return {
            "columns": [str(column) for column in frame.columns],
            "rows": [[_plain(cell) for cell in row] for row in frame.itertuples(index=False)],
        }
    if isinstance(value, pd.Series):
        return [_plain(cell) for cell in value.tolist()]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: _plain(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(item) for item in value]
    if isinstance(value, np.generic):
        return _plain(value.item())
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    if value is pd.NaT or value is None or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _outcome(call: Callable[[], Any]) -> Any:
    """The plain result of a call, or the error a user would read."""
    try:
        return _plain(call())
    except ContactLoadError as error:
        return {"error": type(error).__name__, "message": str(error)}


def _without_errors(value: Any) -> Any:
    """``value`` with every refusal (an ``_outcome`` error) left out."""
    if isinstance(value, dict):
        if set(value) == {"error", "message"}:
            return None
        return {key: _without_errors(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_errors(item) for item in value]
    return value


# --- how to call each reader -------------------------------------------------------------------


@dataclass
class Call:
    """Everything a registry entry may need to build one call."""

    db: Database
    scope: Scope
    world: World
    folder: Path

    def filters(self, **kwargs: Any) -> ContactFilter:
        return ContactFilter(scope=self.scope, **kwargs)


Variant = Callable[[Call], Any]
"""One way of calling a function: takes the call context, returns the result."""


def _filter_variants(name: str, *extra: Any, **named: Any) -> list[Variant]:
    """``f(db, filters, *extra)`` with the scope only, with a period, and with the sidebar
    asking for every therapist and client (in scope or not)."""

    def plain(call: Call) -> Any:
        return _function(name)(call.db, call.filters(), *extra, **named)

    def period(call: Call) -> Any:
        filters = call.filters(start=date(2026, 2, 2), end=date(2026, 3, 29))
        return _function(name)(call.db, filters, *extra, **named)

    def asking_for_everyone(call: Call) -> Any:
        filters = call.filters(
            therapist_ids=tuple(call.world.therapists.values()),
            client_keys=tuple(call.world.clients["client_key"]),
        )
        return _function(name)(call.db, filters, *extra, **named)

    return [plain, period, asking_for_everyone]


def _each_therapist(name: str, *extra: Any) -> list[Variant]:
    """``f(db, scope, therapist, *extra)`` for every therapist, in scope or not."""

    def variant(therapist: str) -> Variant:
        return lambda call: _function(name)(call.db, call.scope, therapist, *extra)

    return [variant(therapist) for therapist in THERAPISTS]


def _one_therapist_filter(name: str) -> list[Variant]:
    """``f(db, filters)`` with exactly one therapist chosen, for every therapist."""

    def variant(therapist: str) -> Variant:
        return lambda call: _function(name)(
            call.db, call.filters(therapist_ids=(call.world.therapists[therapist],))
        )

    return [variant(therapist) for therapist in THERAPISTS]


def _client_timeline(call: Call) -> list[Any]:
    return [
        _outcome(lambda key=key: _function("metrics.client_timeline")(call.db, call.filters(), key))
        for key in call.world.clients["client_key"]
    ]


def _settings_in_force(call: Call) -> list[Any]:
    on = FIRST_MONDAY + timedelta(days=30)
    results = []
    for therapist, (_, _, labels) in THERAPISTS.items():
        clients = call.world.clients
        keys = clients.loc[clients["label"].isin(labels), "client_key"].tolist()
        for client in (None, *labels, *keys):
            results.append(
                _outcome(
                    lambda client=client, therapist=therapist: boundaries.settings_in_force(
                        call.db, call.scope, therapist, client, on
                    )
                )
            )
    return results


def _export(kind: str) -> Variant:
    def variant(call: Call) -> Any:
        call.folder.mkdir(parents=True, exist_ok=True)
        path = call.folder / f"export-{call.scope.role}.{kind}"
        count = boundaries.export_settings(call.db, call.scope, path)
        return count, path.read_text(encoding="utf-8-sig")

    return variant


def _rules_export(kind: str) -> Variant:
    def variant(call: Call) -> Any:
        call.folder.mkdir(parents=True, exist_ok=True)
        path = call.folder / f"rules-{call.scope.role}.{kind}"
        count = _function("billing_files.export_rules")(call.db, call.scope, path)
        return count, path.read_text(encoding="utf-8-sig")

    return variant


def _clients_named(call: Call) -> list[Any]:
    """Every client asked for by label and by key, one at a time."""
    clients = call.world.clients
    return [
        _outcome(
            lambda name=name: _function("sessions.client_keys_named")(call.db, call.scope, [name])
        )
        for name in [*clients["label"], *clients["client_key"]]
    ]


def _export_rows(call: Call) -> Any:
    """Parquet bytes as the rows they hold (the file's own metadata is not the point)."""
    import io

    data = _function("exports.export_bytes")(call.db, call.filters(), "parquet")
    return pd.read_parquet(io.BytesIO(data)).to_dict("list")


def _export_file(kind: str) -> Variant:
    def variant(call: Call) -> Any:
        call.folder.mkdir(parents=True, exist_ok=True)
        path = call.folder / f"contacts-{call.scope.role}.{kind}"
        result = _function("exports.export_contacts")(call.db, call.filters(), path, kind)
        frame = pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
        return result.contacts, frame.to_dict("list")

    return variant


def _report_filter(therapist: str) -> Variant:
    def variant(call: Call) -> Any:
        return _outcome(
            lambda: _function("report.report_filter")(
                call.db, call.scope, date(2026, 1, 1), date(2026, 12, 31), therapist=therapist
            )
        )

    return variant


def _supervision_report(call: Call) -> Any:
    return _function("report.supervision_report")(
        call.db, call.filters(), datetime(2026, 11, 28, 12, 0)
    )


def _written_report(call: Call) -> Any:
    """The file, without its generated-at minute (the two calls run at different times)."""
    import re

    call.folder.mkdir(parents=True, exist_ok=True)
    path = call.folder / f"report-{call.scope.role}.html"
    _outcome(lambda: _function("report.write_report")(call.db, call.filters(), path))
    if not path.exists():
        return None
    return re.sub(r"Generated [0-9-]+ [0-9:]+ UTC", "Generated", path.read_text("utf-8"))


def _with_labels(call: Call) -> Any:
    # Every key goes in (a caller's frame); what comes back is the names given to them.
    keys = pd.DataFrame({"client_key": call.world.clients["client_key"]})
    return _function("compliance.with_client_labels")(call.db, call.scope, keys)["client"]


def _episode_contacts(call: Call) -> list[Any]:
    # The first episode of each family for each client (in scope or not), as the Billing
    # page asks for the contacts behind a row it shows.
    first = call.world.episodes.groupby(["client_key", "family"], as_index=False).first()
    return [
        _outcome(
            lambda row=row: _function("billing.episode_contacts")(
                call.db, call.filters(), row.family, row.client_key, row.start.to_pydatetime()
            )
        )
        for row in first.itertuples()
    ]


def _per_client(name: str) -> Variant:
    """``f(db, filters, client_key)`` for every client key, in scope or not."""

    def variant(call: Call) -> list[Any]:
        return [
            _outcome(lambda key=key: _function(name)(call.db, call.filters(), key))
            for key in call.world.clients["client_key"]
        ]

    return variant


def _mappings(call: Call) -> list[Any]:
    # Every mapping, then each therapist's (in scope or not).
    list_mappings = _function("importing.phone_log.list_mappings")
    return [
        _outcome(lambda: list_mappings(call.db, call.scope)),
        *(
            _outcome(
                lambda therapist_id=therapist_id: list_mappings(call.db, call.scope, therapist_id)
            )
            for therapist_id in call.world.therapists.values()
        ),
    ]


# Comparisons with the default group size (11 clients) suppress every group of this small
# fixture; a group size of 2 shows single therapists and practices, and 3 shows Bo (who
# stood in for Opaline) but suppresses his colleagues, so suppression itself is compared.
# Design choice: suppression (complementary suppression and the total row included) is
# decided among the groups the viewer sees, after the scope has removed everyone else, so
# the pruned copy must give the same rows: a hidden group may never change what is shown,
# or whether a value is suppressed would tell the viewer about groups outside the scope.
_COMPARE_SIZES = (None, 2, 3)


READERS: dict[str, list[Variant]] = {
    "billing.episode_contacts": [_episode_contacts],
    "billing.billing_rules": [
        lambda call, as_text=as_text: _function("billing.billing_rules")(
            call.db, call.scope, as_text=as_text
        )
        for as_text in (False, True)
    ],
    "session_load.client_sessions": [_per_client("session_load.client_sessions")],
    "session_load.session_load_by": [
        variant
        for by in ("therapist", "practice", "client", "week", "month")
        for variant in _filter_variants("session_load.session_load_by", by)
    ],
    "compare.comparison": [
        variant
        for by in ("therapist", "practice")
        for size in _COMPARE_SIZES
        for with_total in (True, False)
        for variant in _filter_variants("compare.comparison", by, size, with_total)
    ],
    "compare.comparison_report": [
        variant
        for by in ("therapist", "practice")
        for size in _COMPARE_SIZES
        for variant in _filter_variants("compare.comparison_report", by, size)
    ],
    "compare.monthly_trend": [
        variant
        for by in ("therapist", "practice")
        for size in _COMPARE_SIZES
        for variant in _filter_variants("compare.monthly_trend", by, size)
    ],
    "compare.suppression_pattern": [
        variant
        for size in _COMPARE_SIZES
        for variant in _filter_variants("compare.suppression_pattern", size)
    ],
    "compare.distribution": [
        variant
        for size in _COMPARE_SIZES
        for variant in _filter_variants("compare.distribution", size)
    ],
    "importing.phone_log.list_mappings": [_mappings],
    "metrics.summary": [
        variant
        for by in ("client", "therapist", "practice")
        for variant in _filter_variants("metrics.summary", by)
    ],
    "metrics.trend": _filter_variants("metrics.trend", "category"),
    "metrics.client_timeline": [_client_timeline],
    "metrics.filter_choices": [
        lambda call: _function("metrics.filter_choices")(call.db, call.scope)
    ],
    "compliance.compliance_by": [
        variant
        for by in ("client", "therapist")
        for variant in _filter_variants("compliance.compliance_by", by)
    ],
    "compliance.compliance_report": _filter_variants("compliance.compliance_report", "therapist"),
    "compliance.working_windows": _one_therapist_filter("compliance.working_windows"),
    "compliance.with_client_labels": [_with_labels],
    "boundaries.settings_in_force": [_settings_in_force],
    "boundaries.working_hours_of": _each_therapist("boundaries.working_hours_of"),
    "boundaries.working_hours_in_force": _each_therapist(
        "boundaries.working_hours_in_force", FIRST_MONDAY + timedelta(days=3)
    ),
    "boundaries.stored_settings": [
        lambda call: boundaries.stored_settings(call.db, call.scope),
        *_each_therapist("boundaries.stored_settings"),
        lambda call: boundaries.stored_settings(call.db, call.scope, practice=HARBOUR),
    ],
    "boundaries.list_settings": [
        lambda call: boundaries.list_settings(call.db, call.scope),
        *_each_therapist("boundaries.list_settings"),
    ],
    "boundaries.export_settings": [_export("toml"), _export("csv")],
    "billing_files.export_rules": [_rules_export("toml"), _rules_export("csv")],
    "sessions.client_keys_named": [_clients_named],
    "cli_commands.compliance_rows": [
        lambda call, by=by: _function("cli_commands.compliance_rows")(
            call.db,
            call.filters(),
            by,
            _function("compliance.compliance_report")(call.db, call.filters(), by),
        )
        for by in ("client", "therapist")
    ],
    "exports.export_bytes": [
        lambda call: _function("exports.export_bytes")(call.db, call.filters(), "csv"),
        _export_rows,
    ],
    "exports.export_contacts": [_export_file("csv"), _export_file("parquet")],
    "report.report_filter": [_report_filter(therapist) for therapist in THERAPISTS],
    "report.supervision_report": [_supervision_report],
    "report.write_report": [_written_report],
    "boundary_edits.settings_in_words": _each_therapist("boundary_edits.settings_in_words"),
    "boundary_edits.own_setting_in_force": [
        lambda call, therapist=therapist: _function("boundary_edits.own_setting_in_force")(
            call.db,
            call.scope,
            therapist,
            None,
            FIRST_MONDAY + timedelta(days=30),
            practice=THERAPISTS[therapist][0],
        )
        for therapist in THERAPISTS
    ],
    "boundary_edits.preview_setting": [
        lambda call, therapist=therapist: _function("boundary_edits.preview_setting")(
            call.db,
            BoundarySetting(therapist, THERAPISTS[therapist][0], None, FIRST_MONDAY, 40.0),
            scope=call.scope,
            today=FIRST_MONDAY + timedelta(days=60),
        )
        for therapist in THERAPISTS
    ],
}
"""How to call readers that need more than ``db`` and ``filters`` or ``scope`` (or that
deserve more than one call): qualified name (module without ``analytics.``) -> calls."""

INSTALLATION_WIDE: dict[str, str] = {
    "importing.classify.list_rules": "keyword rules for categories: configuration, no client data",
    "importing.presets.list_mappings": "saved column mappings: configuration, no client data",
    "importing.presets.load_mapping": "saved column mappings: configuration, no client data",
    "settings.get_setting": "installation settings (minutes per text, group size): no data",
    "glance.flag_threshold_text": "the ranking's threshold setting in words: no data",
    "importing.phone_numbers.default_region": "the default region of phone numbers: an "
    "installation setting, no data",
    "roles.scope_for": "where a viewer's scope comes from: reads practice and therapist names "
    "to resolve the roles file, returns a Scope, no data rows",
    "inbox.default_folder": "the inbox folder beside the database file: a path, no data",
    "inbox.stored_folder": "the inbox folder setting: configuration, no data",
    "inbox.inbox_folder": "the inbox folder setting or its default: configuration, no data",
    "inbox.settle_seconds": "the inbox's settle time setting: configuration, no data",
    "importing.conversations.message_minutes_sql": "the minutes-per-message setting as SQL: "
    "configuration, no data",
}
"""Functions that take ``db`` but read only installation configuration, never practice,
therapist or client data, so no scope applies. Adding one here needs a reason."""


def _function(name: str) -> Callable[..., Any]:
    module, _, function = name.rpartition(".")
    return getattr(importlib.import_module(f"analytics.{module}"), function)  # type: ignore[no-any-return]


# --- discovery -------------------------------------------------------------------------------


def _modules() -> Iterator[ModuleType]:
    for info in pkgutil.walk_packages(analytics.__path__, "analytics."):
        if info.name == "analytics.cli":  # the command line passes LOCAL on; it reads nothing
            continue
        yield importlib.import_module(info.name)


def _public_functions() -> list[tuple[str, Callable[..., Any]]]:
    found = []
    for module in _modules():
        for name, function in inspect.getmembers(module, inspect.isfunction):
            if function.__module__ == module.__name__ and not name.startswith("_"):
                short = module.__name__.removeprefix("analytics.")
                found.append((f"{short}.{name}", function))
    return found


def _takes_db(function: Callable[..., Any]) -> bool:
    parameters = inspect.signature(function).parameters
    return "db" in parameters


def _is_transaction_step(function: Callable[..., Any]) -> bool:
    """A step that runs inside its caller's transaction (first parameter a cursor): the
    caller, a public writer, checks the scope."""
    first = next(iter(inspect.signature(function).parameters), None)
    return first == "cursor"


def _is_writer(name: str, function: Callable[..., Any]) -> bool:
    """Writers take ``scope`` as a keyword with the default LOCAL (the CLI's own user), or
    are editors registered in WRITERS that take the viewer's scope first and require it
    (billing rules and fees, phone number mappings: a page always acts for someone)."""
    parameter = inspect.signature(function).parameters.get("scope")
    return parameter is not None and (parameter.default is LOCAL or name in WRITERS)


def _database_functions() -> list[tuple[str, Callable[..., Any]]]:
    return [
        (name, function)
        for name, function in _public_functions()
        if _takes_db(function)
        and not _is_transaction_step(function)
        and name not in INSTALLATION_WIDE
    ]


def _readers() -> list[str]:
    return [name for name, function in _database_functions() if not _is_writer(name, function)]


def test_discovery_finds_the_functions_it_should() -> None:
    # A guard against a discovery that finds nothing (and so checks nothing).
    readers = set(_readers())
    assert {"metrics.totals", "compliance.summary", "boundaries.change_log"} <= readers
    assert {"store.list_batches", "audit.entries", "demo.is_empty"} <= readers
    writers = {name for name, function in _database_functions() if _is_writer(name, function)}
    assert {"boundaries.save_setting", "store.undo_batch", "importing.pipeline.import_file"} <= (
        writers
    )


def _unscoped() -> list[str]:
    return [
        name
        for name, function in _database_functions()
        if not {"filters", "scope"} & set(inspect.signature(function).parameters)
    ]


def test_every_database_function_takes_filters_or_scope() -> None:
    missing = _unscoped()
    assert missing == [], (
        f"{', '.join(missing)} read(s) the database without the viewer's scope: take "
        "`filters: ContactFilter` (or `scope: Scope`) and apply it to every table read, or, "
        "for installation configuration only, add it to INSTALLATION_WIDE with a reason."
    )


def test_readers_require_their_scope() -> None:
    # A default scope would let a page forget to pass the viewer's on.
    defaulted = [
        name
        for name in _readers()
        for parameter in inspect.signature(_function(name)).parameters.values()
        if parameter.name in ("filters", "scope") and parameter.default is not parameter.empty
    ]
    assert defaulted == []


def test_a_new_function_without_scope_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # What a forgetful new module would add: a reader of contacts with no scope at all...
    def busiest_client(db: Database) -> str:
        """The client with most minutes, for everyone to see."""
        return str(db.row("SELECT max(client_id) FROM contacts", [])[0])

    # ...and a scoped one whose extra argument nobody registered.
    def minutes_of(db: Database, filters: ContactFilter, client_key: str) -> float:
        """Minutes of one client."""
        return 0.0

    for function in (busiest_client, minutes_of):
        function.__module__ = "analytics.metrics"
        monkeypatch.setattr(f"analytics.metrics.{function.__name__}", function, raising=False)
    assert _unscoped() == ["metrics.busiest_client"]
    with pytest.raises(pytest.fail.Exception, match="needs client_key: add an entry to READERS"):
        _variants("metrics.minutes_of")


def _variants(name: str) -> list[Variant]:
    if name in READERS:
        return READERS[name]
    function = _function(name)
    extra = [
        parameter.name
        for parameter in inspect.signature(function).parameters.values()
        if parameter.name not in ("db", "filters", "scope")
        and parameter.default is parameter.empty
        and parameter.kind is not parameter.VAR_KEYWORD
    ]
    if extra:
        pytest.fail(
            f"analytics.{name} needs {', '.join(extra)}: add an entry to READERS in "
            "tests/test_scope.py saying how to call it (see the entries there), or to "
            "WRITERS if it changes data."
        )
    if "filters" in inspect.signature(function).parameters:
        return _filter_variants(name)
    return [lambda call: function(call.db, call.scope)]


@pytest.fixture(scope="module")
def pruned_paths(scoped_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """For each narrow scope, a copy of the fixture holding only that scope's rows."""
    db = Database(scoped_db_path)
    scopes = _scopes(_world(db))
    db.close()
    paths = {}
    for name, scope in scopes.items():
        path = _copy(scoped_db_path, tmp_path_factory.mktemp(f"pruned-{name}"))
        pruned = Database(path)
        _prune(pruned, scope)
        pruned.close()
        paths[name] = path
    return paths


@pytest.fixture(scope="module")
def databases(
    scoped_db_path: Path, pruned_paths: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Database, World, dict[str, Database]]]:
    """The full fixture (a copy, for reading) and each pruned copy, open for the module."""
    full = Database(_copy(scoped_db_path, tmp_path_factory.mktemp("full")))
    pruned = {name: Database(path) for name, path in pruned_paths.items()}
    yield full, _world(full), pruned
    full.close()
    for db in pruned.values():
        db.close()


def _out_of_scope_words(db: Database, world: World, scope: Scope) -> list[str]:
    """Names, labels and keys the scope must never show: clients neither listed under it
    nor met by a therapist in it, therapists outside it (and every label, for viewers who
    see keys)."""
    condition, params = scope.client_where("c")
    inside = db.frame(f"SELECT c.client_id FROM clients AS c WHERE {condition}", params)
    clients = world.clients
    outside = clients[~clients["client_id"].isin(inside["client_id"])]
    words = [*outside["label"], *outside["client_key"]]
    if not scope.shows_labels:
        words += list(clients["label"])
    for therapist, (practice, _, _) in THERAPISTS.items():
        listed = scope.therapist_ids is None or world.therapists[therapist] in scope.therapist_ids
        in_practice = scope.practice_ids is None or world.practices[practice] in scope.practice_ids
        if scope.sees_nothing or not (listed and in_practice):
            words.append(therapist)
    return words


SHOWING_IN_SCOPE = frozenset(
    {
        "metrics.client_table",
        "metrics.summary",
        "metrics.filter_choices",
        "compliance.weekly_caps",
        "compliance.compliance_by",
        "compliance.out_of_policy",
        "billing.episodes",
        "billing.per_client_month",
        "session_load.session_load_by",
        "session_load.low_attendance_clients",
    }
)
"""Readers that must show a client in scope to every scope that has one, so that equal but
empty results cannot pass unnoticed."""

MAPPINGS_SHOWN_TO = ("therapist", "supervisor")
"""The scopes whose therapists' numbers are mapped (Ada's and Cyprian's)."""

INSIDE = {"therapist": 2, "supervisor": 2, "nobody": 0, "colleague": 3}
"""How many clients each scope sees: Ada's 2; Lindenhof's 2; none; Bo's 2 and Opaline."""


def _inside(world: World, forbidden: list[str]) -> list[str]:
    """The keys of the clients a scope does see."""
    return [key for key in world.clients["client_key"] if key not in forbidden]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test per discovered reader (discovery needs the registries further down)."""
    if "reader" in metafunc.fixturenames:
        metafunc.parametrize("reader", _readers())


@pytest.mark.parametrize("scope_name", SCOPE_NAMES)
def test_reader_returns_only_what_is_in_scope(
    databases: tuple[Database, World, dict[str, Database]],
    scope_name: str,
    reader: str,
    tmp_path: Path,
) -> None:
    # One test per reader and scope, so one reader's leak does not hide another's.
    full, world, pruned = databases
    scope = _scopes(world)[scope_name]
    forbidden = _out_of_scope_words(full, world, scope)
    assert forbidden  # every narrow scope has something outside it
    inside = _inside(world, forbidden)
    shows_inside = False
    for number, variant in enumerate(_variants(reader)):
        on_full = Call(full, scope, world, tmp_path / "full")
        on_pruned = Call(pruned[scope_name], scope, world, tmp_path / "pruned")
        seen = _outcome(lambda variant=variant, call=on_full: variant(call))
        expected = _outcome(lambda variant=variant, call=on_pruned: variant(call))
        where = f"analytics.{reader} (call {number}) as {scope_name}"
        assert seen == expected, f"{where} returns rows outside the scope"
        # Error messages may repeat the name asked for; everything else must not name
        # anyone outside the scope.
        text = str(_without_errors(seen))
        leaked = [word for word in forbidden if word in text]
        assert leaked == [], f"{where} shows {leaked}"
        shows_inside = shows_inside or any(key in text for key in inside)
    must_show = reader in SHOWING_IN_SCOPE or (
        reader == "importing.phone_log.list_mappings" and scope_name in MAPPINGS_SHOWN_TO
    )
    if inside and must_show:
        assert shows_inside, f"analytics.{reader} shows {scope_name} none of its clients"


def test_the_readers_that_must_show_the_scope_are_found() -> None:
    # The check above applies to readers by name: a renamed one must not slip out of it.
    assert {*SHOWING_IN_SCOPE, "importing.phone_log.list_mappings"} <= set(_readers())


@pytest.mark.parametrize("scope_name", SCOPE_NAMES)
def test_each_scope_sees_its_own_clients(
    databases: tuple[Database, World, dict[str, Database]], scope_name: str
) -> None:
    full, world, _ = databases
    scope = _scopes(world)[scope_name]
    assert len(_inside(world, _out_of_scope_words(full, world, scope))) == INSIDE[scope_name]


def test_local_scope_sees_what_the_pruned_copies_do_not(
    databases: tuple[Database, World, dict[str, Database]], tmp_path: Path
) -> None:
    # The comparison above can only fail if scoped and unscoped results differ at all:
    # local mode sees other therapists' labels in the client table.
    full, world, _ = databases
    table = _plain(_function("metrics.client_table")(full, ContactFilter()))
    labels = {row[1] for row in table["rows"]}
    assert labels == set(world.clients["label"])  # 6 clients, 2 per therapist


def test_a_therapist_sees_the_rows_behind_her_own_clients(
    databases: tuple[Database, World, dict[str, Database]], tmp_path: Path
) -> None:
    # The readers without keys in their output are not empty in scope either: Ada's two
    # clients each have 12 weekly sessions (cancelled ones included), a first telephone
    # episode of one call and a first online period of two portal messages (8 + 6 min);
    # the other four clients give empty frames.
    full, world, _ = databases
    call = Call(full, _scopes(world)["therapist"], world, tmp_path)
    sessions = _per_client("session_load.client_sessions")(call)
    assert sorted(len(result["rows"]) for result in sessions) == [0, 0, 0, 0, 12, 12]
    contacts = _episode_contacts(call)
    assert sorted(len(result["rows"]) for result in contacts) == [0] * 8 + [1, 1, 2, 2]


def test_a_colleague_sees_the_client_he_stood_in_for(
    databases: tuple[Database, World, dict[str, Database]],
) -> None:
    # Bo answered Ada's client Opaline once (7 min email): per client, his session load
    # shows that contact under Opaline, so his clients add up to his total, like metrics.
    full, world, _ = databases
    filters = ContactFilter(scope=_scopes(world)["colleague"])
    by_client = _function("session_load.session_load_by")(full, filters, "client")
    opaline = by_client[by_client["label"] == "Opaline Ashcombe"]
    assert opaline[["contacts", "contact_minutes", "sessions"]].values.tolist() == [[1, 7.0, 0]]
    totals = _function("session_load.session_totals")(full, filters)
    assert by_client["contact_minutes"].sum() == totals.contact_minutes


# --- writers ----------------------------------------------------------------------------------


_SNAPSHOT_TABLES = (
    "contacts",
    "sessions",
    "clients",
    "therapists",
    "practices",
    "boundaries",
    "working_hours",
    "boundary_changes",
    "import_batches",
    "audit_log",
    "settings",
    "classification_rules",
    "saved_mappings",
    "phone_numbers",
    "billing_rules",
    "billing_fees",
    "erased_clients",
)


def _rows(db: Database, sql: str, params: list[object]) -> Any:
    """All rows of a query as plain values (fingerprints are 128-bit, beyond NumPy)."""
    with db.cursor() as cursor:
        return _plain(cursor.execute(sql, params).fetchall())


def _snapshot(db: Database) -> dict[str, Any]:
    """Every row of every data table (small fixture), for "nothing changed" checks."""
    return {
        table: _rows(db, f"SELECT * FROM {table} ORDER BY ALL", []) for table in _SNAPSHOT_TABLES
    }


def _snapshot_outside(db: Database, scope: Scope) -> dict[str, Any]:
    """The rows outside ``scope`` of the tables a boundary edit may touch."""
    condition, params = scope.where("t")
    outside = f"NOT coalesce({condition}, false)"
    return {
        table: _rows(
            db,
            f"SELECT x.* FROM {table} AS x JOIN therapists AS t USING (therapist_id) "
            f"WHERE {outside} ORDER BY ALL",
            params,
        )
        for table in (
            "boundaries",
            "working_hours",
            "boundary_changes",
            "contacts",
            "therapists",
            "phone_numbers",
        )
    }


OWN = "Ada Quillfeather"
OTHER = "Cyprian Fenwick"  # the supervisor's practice, not the therapist's

Writer = Callable[[Database, Scope, str, Path], Any]
"""One write by ``scope`` aimed at the named therapist's data."""


def _first_client_key(db: Database, therapist: str) -> str:
    """The key of the therapist's first client (by label)."""
    (key,) = db.row(
        "SELECT min_by(c.client_key, c.label) FROM clients AS c "
        "JOIN therapists AS t USING (therapist_id) WHERE t.name = ?",
        [therapist],
    )
    return str(key)


def _csv_file(folder: Path, therapist: str) -> Path:
    practice, _, labels = THERAPISTS[therapist]
    path = folder / "extra.csv"
    path.write_text(
        "date,start_time,minutes,client,therapist,practice,channel,category,direction\n"
        f"2026-04-01,09:00,15,{labels[1]},{therapist},{practice},phone,support,client\n",
        encoding="utf-8",
    )
    return path


def _inbox_with_a_file(folder: Path, therapist: str) -> Path:
    """An inbox folder holding ``_csv_file``."""
    (folder / "inbox").mkdir(exist_ok=True)
    return _csv_file(folder / "inbox", therapist).parent


def _policy_file(folder: Path, therapist: str) -> Path:
    practice = THERAPISTS[therapist][0]
    path = folder / "policy.toml"
    path.write_text(
        "[[setting]]\n"
        f'practice = "{practice}"\ntherapist = "{therapist}"\n'
        "effective_from = 2026-03-02\nweekly_cap_minutes = 45\n",
        encoding="utf-8",
    )
    return path


_TEMPLATE_HEADER = "date,start_time,minutes,client,therapist,practice,channel,category,direction"


def _frame_for(therapist: str) -> pd.DataFrame:
    frame = _contacts()
    return frame[frame["therapist"] == therapist].head(2).assign(minutes="33")


def _sessions_for(therapist: str) -> pd.DataFrame:
    frame = _sessions()
    return frame[frame["therapist"] == therapist].head(2).assign(minutes="55")


def _calendar_file(folder: Path, therapist: str) -> tuple[Path, Any]:
    """One session of the therapist's second client on a calendar, and the options naming
    whose calendar it is."""
    from analytics.importing.session_report import SessionOptions

    practice, zone, labels = THERAPISTS[therapist]
    path = folder / "sessions.ics"
    path.write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "DTSTART:20260401T090000Z\r\nDTEND:20260401T095000Z\r\nDTSTAMP:20260301T000000Z\r\n"
        f"UID:extra-1@example.org\r\nSUMMARY:Session: {labels[1]}\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n",
        encoding="utf-8",
    )
    options = SessionOptions(therapist=therapist, practice=practice, time_zone=zone)
    return path, options


def _session_csv(folder: Path, therapist: str) -> Path:
    practice, _, labels = THERAPISTS[therapist]
    path = folder / "sessions.csv"
    path.write_text(
        "Client,Clinician,Practice,Start,End,Status\n"
        f"{labels[1]},{therapist},{practice},2026-04-01 09:00,2026-04-01 09:50,Show\n",
        encoding="utf-8",
    )
    return path


def _phone_options(therapist: str) -> Any:
    from analytics.importing.phone_log import PhoneLogOptions

    return PhoneLogOptions(therapist, THERAPISTS[therapist][0], call_category="support")


def _message_options(therapist: str) -> Any:
    from analytics.importing.conversations import MessageOptions

    return MessageOptions(therapist, THERAPISTS[therapist][0])


def _rules_file(folder: Path) -> Path:
    """The default billing rules as a file (tests/data/cli/rules.toml), with the online
    window changed, to load (written without touching the database under test)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "rules.toml"
    source = Path(__file__).parent / "data" / "cli" / "rules.toml"
    path.write_text(source.read_text().replace("window_days = 7", "window_days = 10"))
    return path


def _mapped_number(therapist: str) -> str:
    return next(number for number, (owner, _) in PHONES.items() if owner == therapist)


WRITERS: dict[str, Writer] = {
    "billing.save_rules": lambda db, scope, therapist, folder: _function("billing.save_rules")(
        db,
        scope,
        _function("billing.billing_rules")(db, LOCAL, as_text=True).assign(window_days=10),
    ),
    "billing.replace_rules_and_fees": lambda db, scope, therapist, folder: _function(
        "billing.replace_rules_and_fees"
    )(
        db,
        scope,
        _function("billing.validate_rules")(_function("billing.billing_rules")(db, LOCAL)),
        [("98970", 12.5, "USD")],
    ),
    "billing_files.load_rules": lambda db, scope, therapist, folder: _function(
        "billing_files.load_rules"
    )(db, scope, _rules_file(folder)),
    "billing.save_fees": lambda db, scope, therapist, folder: _function("billing.save_fees")(
        db, scope, _function("billing.fee_schedule")(db, LOCAL).assign(fee=25.0, currency="USD")
    ),
    "importing.phone_log.map_number": lambda db, scope, therapist, folder: _function(
        "importing.phone_log.map_number"
    )(
        db,
        scope,
        therapist,
        "+4917155507777",
        THERAPISTS[therapist][2][1],
        practice=THERAPISTS[therapist][0],
    ),
    "importing.addresses.map_address": lambda db, scope, therapist, folder: _function(
        "importing.addresses.map_address"
    )(
        db,
        scope,
        therapist,
        "new.client@example.org",
        THERAPISTS[therapist][2][1],
        practice=THERAPISTS[therapist][0],
    ),
    "importing.addresses.unmap_address": lambda db, scope, therapist, folder: _function(
        "importing.addresses.unmap_address"
    )(
        db,
        scope,
        therapist,
        _address(PHONES[_mapped_number(therapist)][1]),
        practice=THERAPISTS[therapist][0],
    ),
    "importing.mail.import_mail": lambda db, scope, therapist, folder: _function(
        "importing.mail.import_mail"
    )(
        db,
        _mbox(therapist),
        file_name="mail.mbox",
        options=_message_options(therapist),
        scope=scope,
    ),
    "importing.whatsapp.import_whatsapp": lambda db, scope, therapist, folder: _function(
        "importing.whatsapp.import_whatsapp"
    )(
        db,
        f"21/04/2026, 09:00 - {PHONES[_mapped_number(therapist)][1]}: hello\n".encode(),
        file_name="chat.txt",
        options=_message_options(therapist),
        scope=scope,
    ),
    "importing.conversations.import_messages": lambda db, scope, therapist, folder: _function(
        "importing.dispatch.import_detected"
    )(
        db,
        _mbox(therapist),
        file_name="mail.mbox",
        message_options=_message_options(therapist),
        scope=scope,
    ),
    "importing.phone_log.unmap_number": lambda db, scope, therapist, folder: _function(
        "importing.phone_log.unmap_number"
    )(db, scope, therapist, _mapped_number(therapist), practice=THERAPISTS[therapist][0]),
    "importing.phone_log.import_phone_log": lambda db, scope, therapist, folder: _function(
        "importing.phone_log.import_phone_log"
    )(
        db,
        _call_log(therapist),
        file_name="calls.xml",
        options=_phone_options(therapist),
        scope=scope,
    ),
    "importing.calendar.import_calendar": lambda db, scope, therapist, folder: _function(
        "importing.calendar.import_calendar"
    )(
        db,
        _calendar_file(folder, therapist)[0],
        file_name="sessions.ics",
        options=_calendar_file(folder, therapist)[1],
        scope=scope,
        today=date(2026, 4, 30),
    ),
    "importing.session_csv.import_session_csv": lambda db, scope, therapist, folder: _function(
        "importing.session_csv.import_session_csv"
    )(db, _session_csv(folder, therapist), file_name="sessions.csv", scope=scope),
    "importing.dispatch.import_detected": lambda db, scope, therapist, folder: _function(
        "importing.dispatch.import_detected"
    )(db, _csv_file(folder, therapist), file_name="extra.csv", scope=scope),
    "boundaries.save_setting": lambda db, scope, therapist, folder: boundaries.save_setting(
        db,
        BoundarySetting(therapist, THERAPISTS[therapist][0], None, date(2026, 3, 2), 40.0),
        "someone",
        scope=scope,
    ),
    "boundaries.delete_setting": lambda db, scope, therapist, folder: boundaries.delete_setting(
        db, therapist, None, FIRST_MONDAY, "someone", scope=scope
    ),
    "boundaries.save_working_hours": lambda db, scope, therapist, folder: (
        boundaries.save_working_hours(
            db,
            therapist,
            WorkingHours(date(2026, 3, 2), {0: [(time(8), time(12))]}),
            "someone",
            scope=scope,
        )
    ),
    "boundaries.delete_working_hours": lambda db, scope, therapist, folder: (
        boundaries.delete_working_hours(db, therapist, FIRST_MONDAY, "someone", scope=scope)
    ),
    "boundaries.set_time_zone": lambda db, scope, therapist, folder: boundaries.set_time_zone(
        db, therapist, "Asia/Tokyo", "someone", scope=scope
    ),
    "boundaries.load_settings": lambda db, scope, therapist, folder: boundaries.load_settings(
        db, _policy_file(folder, therapist), "someone", scope=scope
    ),
    "boundaries.demo_boundaries": lambda db, scope, therapist, folder: boundaries.demo_boundaries(
        db, scope=scope
    ),
    "store.add_contacts": lambda db, scope, therapist, folder: add_contacts(
        db, _frame_for(therapist), source="test", scope=scope
    ),
    "store.add_contacts_from_query": lambda db, scope, therapist, folder: _function(
        "store.add_contacts_from_query"
    )(
        db,
        "SELECT * FROM extra",
        {},
        source="test",
        lookups={"extra": _frame_for(therapist)},
        scope=scope,
    ),
    "store.undo_batch": lambda db, scope, therapist, folder: _function("store.undo_batch")(
        db, 1, scope=scope
    ),
    "sessions.add_sessions": lambda db, scope, therapist, folder: add_sessions(
        db, _sessions_for(therapist), source="test", scope=scope
    ),
    "sessions.add_sessions_from_query": lambda db, scope, therapist, folder: _function(
        "sessions.add_sessions_from_query"
    )(
        db,
        "SELECT * FROM extra",
        {},
        source="test",
        lookups={"extra": _sessions_for(therapist)},
        scope=scope,
    ),
    "importing.pipeline.import_file": lambda db, scope, therapist, folder: _function(
        "importing.pipeline.import_file"
    )(db, _csv_file(folder, therapist), file_name="extra.csv", scope=scope),
    "importing.review.reclassify": lambda db, scope, therapist, folder: _function(
        "importing.review.reclassify"
    )(db, [(0, "2026-04-01 09:00:00+00")], "support", scope=scope),
    "demo.remove_demo": lambda db, scope, therapist, folder: _function("demo.remove_demo")(
        db, scope=scope
    ),
    "demo.generate_demo": lambda db, scope, therapist, folder: _function("demo.generate_demo")(
        db, contacts=50, end=date(2026, 4, 30), sessions=False, scope=scope
    ),
    "demo.generate_demo_sessions": lambda db, scope, therapist, folder: _function(
        "demo.generate_demo_sessions"
    )(
        db,
        _function("demo.demo_clients")(3, 7),
        seed=7,
        first_day=date(2026, 4, 1),
        last_day=date(2026, 4, 30),
        scope=scope,
    ),
    "importing.classify.replace_rules": lambda db, scope, therapist, folder: _function(
        "importing.classify.replace_rules"
    )(db, [], scope=scope),
    "importing.presets.save_mapping": lambda db, scope, therapist, folder: _function(
        "importing.presets.save_mapping"
    )(
        db,
        "mine",
        _function("importing.presets.layout_for_preset")("template", _TEMPLATE_HEADER.split(",")),
        scope=scope,
    ),
    "settings.set_setting": lambda db, scope, therapist, folder: _function("settings.set_setting")(
        db, "minutes_per_text", 3, scope=scope
    ),
    "inbox.set_inbox_folder": lambda db, scope, therapist, folder: _function(
        "inbox.set_inbox_folder"
    )(db, folder / "inbox", scope=scope),
    "inbox.sweep": lambda db, scope, therapist, folder: _function("inbox.sweep")(
        db, _inbox_with_a_file(folder, therapist), settle=0.1, scope=scope
    ),
    "importing.phone_numbers.set_default_region": lambda db, scope, therapist, folder: _function(
        "importing.phone_numbers.set_default_region"
    )(db, "DE", scope=scope),
    "care.backup": lambda db, scope, therapist, folder: _function("care.backup")(
        db, scope, folder / "backup.duckdb"
    ),
    "care.backup_archive": lambda db, scope, therapist, folder: _function("care.backup_archive")(
        db, scope
    ),
    "care.erase_client": lambda db, scope, therapist, folder: _function("care.erase_client")(
        db, scope, _first_client_key(db, therapist)
    ),
    "glance.dismiss_alert": lambda db, scope, therapist, folder: _function("glance.dismiss_alert")(
        db,
        scope,
        f"therapist:{db.row('SELECT therapist_id FROM therapists WHERE name = ?', [therapist])[0]}"
        ":2026-03-02",
        "someone",
    ),
}
"""How to call each writer aimed at one therapist's data (ignored where the write is
installation-wide)."""


_OWN_EDITS = {
    **{
        writer: ("boundary_edit", OWN)
        for writer in WRITERS
        if writer.startswith("boundaries.") and writer != "boundaries.demo_boundaries"
    },
    "glance.dismiss_alert": ("alert_dismiss", OWN),
    # Numbers are never stored or logged: the entry names the last two digits.
    "importing.phone_log.map_number": ("settings", "phone number ending 77 mapped to client c-"),
    "importing.phone_log.unmap_number": ("settings", "phone number ending 01 unmapped"),
    # Addresses neither: a letter of each part.
    "importing.addresses.map_address": ("settings", "e-mail address n…@e… mapped to client c-"),
    "importing.addresses.unmap_address": ("settings", "e-mail address o…@e… unmapped"),
}
"""Writers a therapist may use on their own data: the audit action and what its detail
names."""


def test_every_writer_is_registered() -> None:
    writers = {name for name, function in _database_functions() if _is_writer(name, function)}
    unknown = sorted(writers - set(WRITERS))
    assert unknown == [], f"add {', '.join(unknown)} to WRITERS in tests/test_scope.py"


@pytest.mark.parametrize("scope_name", SCOPE_NAMES)
@pytest.mark.parametrize("target", [OWN, OTHER])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_writers_stay_in_scope_or_refuse(
    scoped_db_path: Path, tmp_path: Path, scope_name: str, target: str, writer: str
) -> None:
    db = Database(_copy(scoped_db_path, tmp_path / "db"))
    try:
        scope = _scopes(_world(db))[scope_name]
        before = _snapshot(db)
        outside_before = _snapshot_outside(db, scope)
        try:
            WRITERS[writer](db, scope, target, tmp_path)
        except PermissionDeniedError as error:
            assert scope.identity in str(error)  # one sentence naming who was refused
            assert _snapshot(db) == before, f"{writer} refused but changed data"
            return
        # Only a therapist editing their own boundaries or phone mappings may write in a
        # narrow scope.
        assert (scope_name, target) == ("therapist", OWN), f"{writer} let {scope_name} write"
        assert writer in _OWN_EDITS, f"{writer} let a therapist write"
        action, mentions = _OWN_EDITS[writer]
        assert _snapshot_outside(db, scope) == outside_before
        entries = db.frame("SELECT identity, role, action, detail FROM audit_log", [])
        mine = entries[entries["identity"] == scope.identity]
        assert list(mine["action"]) == [action]  # one entry for the one edit
        assert mentions in mine["detail"].iloc[0]
    finally:
        db.close()


def test_imports_of_every_kind_are_audited_under_the_importer(
    scoped_db_path: Path, tmp_path: Path
) -> None:
    # An admin imports one file of each kind through the one dispatch: each stored batch
    # gets one entry naming the admin (5 batches in the fixture, so these are 6 to 9).
    # Contacts: 1 row; session CSV: 1 session; calendar: 1 session; calls: Ada's 2 mapped
    # clients (the unmapped caller is not stored).
    from analytics.importing.dispatch import import_detected
    from analytics.importing.session_report import SessionOptions

    db = Database(_copy(scoped_db_path, tmp_path / "db"))
    try:
        admin = Scope.admin("admin@example.org")
        calendar, calendar_options = _calendar_file(tmp_path, OWN)
        for path, name in (
            (_csv_file(tmp_path, OWN), "extra.csv"),
            (_session_csv(tmp_path, OWN), "sessions.csv"),
            (calendar, "sessions.ics"),
        ):
            options = calendar_options if name.endswith(".ics") else SessionOptions()
            import_detected(db, path, file_name=name, session_options=options, scope=admin)
        import_detected(
            db,
            _call_log(OWN, first_day=21),
            file_name="calls.xml",
            phone_options=_phone_options(OWN),
            scope=admin,
        )
        entries = db.frame(
            "SELECT action, detail FROM audit_log WHERE identity = ? ORDER BY entry_id",
            ["admin@example.org"],
        )
        assert entries.values.tolist() == [
            ["import", "extra.csv: batch 6, 1 rows stored"],
            ["import", "sessions.csv: batch 7, 1 rows stored"],
            ["import", "sessions.ics: batch 8, 1 rows stored"],
            ["import", "calls.xml: batch 9, 2 rows stored"],
        ]
    finally:
        db.close()


def test_mapping_numbers_does_not_tell_which_therapists_exist(
    scoped_db_path: Path, tmp_path: Path
) -> None:
    # Ada asking to map a number for a colleague, for nobody stored (by name, with or
    # without a time zone, or by id) reads the same refusal, and nothing changes.
    db = Database(_copy(scoped_db_path, tmp_path / "db"))
    try:
        scope = _scopes(_world(db))["therapist"]
        map_number = _function("importing.phone_log.map_number")
        before = _snapshot(db)
        refusals = set()
        for therapist, zone in (
            ("Bo Marlowe", None),
            ("Nobody Stored", None),
            ("Nobody Stored", "Europe/Berlin"),
            (999, None),
        ):
            with pytest.raises(PermissionDeniedError) as refused:
                map_number(db, scope, therapist, "+4917155507777", "Someone", time_zone=zone)
            refusals.add(str(refused.value))
        assert refusals == {
            "ada@example.org (therapist) may not change this therapist's boundaries."
        }
        assert _snapshot(db) == before
    finally:
        db.close()


def test_local_writes_are_audited(scoped_db_path: Path, tmp_path: Path) -> None:
    # The fixture was built with LOCAL: one import per batch (contacts 6 clients x 12 weeks
    # x 4 + Bo's one reply + 6 clients x 2 portal messages = 301 rows; sessions 6 x 12 = 72;
    # Ada's calls from her 2 mapped clients (the unmapped caller is not stored) and
    # Opaline's 2 texts; Cyprian's 1 call from Saffron), one boundary_edit per changed save
    # (3 therapists x (default + override + changed override + hours) = 12) and one
    # settings entry per mapped number (3).
    db = Database(_copy(scoped_db_path, tmp_path / "db"))
    try:
        entries = db.frame("SELECT identity, role, action, detail FROM audit_log ORDER BY 1", [])
        assert set(entries["identity"]) == {"local"}
        details = sorted(entries.loc[entries["action"] == "import", "detail"])
        assert details == [
            "ada-calls.xml: batch 3, 2 rows stored",
            "ada-texts.xml: batch 4, 2 rows stored",
            "contacts.csv: batch 1, 301 rows stored",
            "cyprian-calls.xml: batch 5, 1 rows stored",
            "sessions.csv: batch 2, 72 rows stored",
        ]
        assert (entries["action"] == "boundary_edit").sum() == 12
        mapped = entries.loc[entries["action"] == "settings", "detail"]
        numbers = mapped[mapped.str.startswith("phone number ending 0")]
        addresses = mapped[mapped.str.match(r"e-mail address [a-z]…@e… mapped to client c-")]
        assert (len(numbers), len(addresses), len(mapped)) == (3, 3, 6)
        for label in (label for _, _, labels in THERAPISTS.values() for label in labels):
            assert not entries["detail"].str.contains(label).any()  # no client data in details
        _function("store.undo_batch")(db, 2)
        last = db.frame("SELECT action, detail FROM audit_log ORDER BY entry_id DESC LIMIT 1", [])
        assert last.iloc[0].tolist() == ["undo", "batch 2: 72 rows removed"]
    finally:
        db.close()


def test_supervisors_see_keys_in_the_change_log(
    databases: tuple[Database, World, dict[str, Database]],
) -> None:
    # Cyprian's override for Saffron Ellery was saved twice (120, then 90 minutes): the
    # supervisor of Lindenhof sees both changes with the client's key, in the column and in
    # the before/after JSON, and no label.
    full, world, _ = databases
    scope = _scopes(world)["supervisor"]
    log = boundaries.change_log(full, scope)
    assert set(log["therapist"]) == {OTHER}
    key = world.clients.loc[world.clients["label"] == "Saffron Ellery", "client_key"].item()
    overrides = log[log["client"].notna()]
    assert list(overrides["client"]) == [key, key]
    assert all(key in after for after in overrides["after"])
    assert "Saffron" not in str(log.to_dict())


# --- pages pass the viewer's scope on ------------------------------------------------------------


def _run_page(db_path: Path, monkeypatch: pytest.MonkeyPatch, scope: Scope, page: str) -> AppTest:
    """Run ``page`` as the viewer ``scope`` (what team-mode sign-in leaves in the session)."""
    monkeypatch.setenv("CONTACTLOAD_DB", str(db_path))
    app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"))
    app.session_state[VIEWER_SCOPE_KEY] = scope
    app.run(timeout=60)
    app.switch_page(page).run(timeout=60)
    assert not app.exception, [exception.message for exception in app.exception]
    return app


def test_clients_page_shows_a_supervisor_only_keys_of_their_practice(
    scoped_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(scoped_db_path)
    world = _world(db)
    db.close()
    scope = _scopes(world)["supervisor"]
    app = _run_page(scoped_db_path, monkeypatch, scope, "pages/clients.py")
    table = app.dataframe[0].value
    # Lindenhof has Cyprian Fenwick's two clients; their keys stand in for labels.
    linden = world.clients[world.clients["practice_id"] == world.practices[LINDEN]]
    assert sorted(table["client_key"]) == sorted(linden["client_key"])
    assert list(table["label"]) == list(table["client_key"])
    assert set(table["therapist"]) == {OTHER}
    assert [option for option in app.multiselect(key="filter_therapists").options] == [
        f"{OTHER} (Europe/London)"
    ]


@pytest.mark.parametrize(
    ("scope_name", "therapist", "error"),
    [
        ("supervisor", OTHER, "Signed in as sam@example.org (supervisor): only an admin or "
         f"{OTHER} can change these boundaries."),
        ("therapist", OWN, None),
    ],
)  # fmt: skip
def test_boundaries_page_edits_within_the_viewers_rights(
    scoped_db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    scope_name: str,
    therapist: str,
    error: str | None,
) -> None:
    path = _copy(scoped_db_path, tmp_path / "db")
    db = Database(path)
    scope = _scopes(_world(db))[scope_name]
    db.close()
    app = _run_page(path, monkeypatch, scope, "pages/boundaries.py")
    # The only therapist the viewer can pick is the one in scope.
    assert app.selectbox(key="boundary_therapist").options == [
        f"{therapist} ({THERAPISTS[therapist][0]})"
    ]
    if error:
        # A viewer who may not edit gets a note instead of forms (the library refuses too).
        assert [shown.value for shown in app.info] == [error]
        assert not [w for w in app.number_input if w.key == "boundary_cap"]
    else:
        app.number_input(key="boundary_cap").set_value(15.0)
        app.button(key="boundary_save").click().run(timeout=60)
        assert [shown.value for shown in app.error] == []
    db = Database(path)
    try:
        saved = db.frame(
            "SELECT t.name FROM boundaries AS b JOIN therapists AS t USING (therapist_id) "
            "WHERE b.weekly_cap_minutes = 15",
            [],
        )
        edits = db.frame("SELECT identity FROM audit_log WHERE action = 'boundary_edit'", [])
    finally:
        db.close()
    assert list(saved["name"]) == ([] if error else [therapist])
    # 12 edits while the fixture was built (local), plus the viewer's own when allowed
    assert list(edits["identity"]).count(scope.identity) == (0 if error else 1)


def test_import_page_audits_the_minutes_per_text_under_the_admin(
    scoped_db_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = _copy(scoped_db_path, tmp_path / "db")
    admin = Scope.admin("admin@example.org")
    app = _run_page(path, monkeypatch, admin, "pages/import_data.py")
    app.number_input(key="phone_minutes_per_text").set_value(3.0).run(timeout=60)
    assert not app.exception
    db = Database(path)
    try:
        entries = db.frame(
            "SELECT identity, action, detail FROM audit_log WHERE action = ?", ["settings"]
        )
    finally:
        db.close()
    # 3 mapped numbers while the fixture was built (local), then the admin's change
    assert entries.values.tolist()[-1] == [
        "admin@example.org",
        "settings",
        "minutes_per_text = 3 min",
    ]


def test_import_page_tells_a_therapist_to_ask_an_admin(
    scoped_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(scoped_db_path)
    scope = _scopes(_world(db))["therapist"]
    db.close()
    # The menu leaves Import out for a therapist (ui.navigation.visible_pages) ...
    monkeypatch.setenv("CONTACTLOAD_DB", str(scoped_db_path))
    app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"))
    app.session_state[VIEWER_SCOPE_KEY] = scope
    app.run(timeout=60)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page("pages/import_data.py")
    # ... and the page itself, reached any other way, refuses before any upload.
    page = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages/import_data.py"))
    page.session_state[VIEWER_SCOPE_KEY] = scope
    page.run(timeout=60)
    assert [info.value for info in page.info] == [
        "Signed in as ada@example.org (therapist): importing and undoing imports are for "
        "admins. Ask an admin to bring in new contact logs."
    ]
    assert not page.get("file_uploader")
