"""Every public analytics function honours the viewer's scope (issue #5, item 4).

The test finds the functions itself (pkgutil over the ``analytics`` package), so a new
module or function cannot be forgotten: each one that takes ``db: Database`` must also take
``filters`` or ``scope``. Readers are called with narrow scopes (one therapist, a supervisor
of one practice, an unknown identity) and must return exactly what the same call returns on
a copy of the database from which every row outside the scope was deleted; no out-of-scope
name, label or key may appear in what they return, and supervisors see no label at all.
Writers called with a narrow scope either succeed within it or raise
``PermissionDeniedError`` and change nothing.

This module holds the discovery and its registries (how to call each reader and writer);
the checks themselves are in tests/test_scope_readers.py (one test per reader and scope),
tests/test_scope_writers.py (one per writer, target and scope) and tests/test_scope_pages.py,
on the fixture of tests/scope_world.py.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd
import pytest

import analytics
from analytics import demo
from analytics.access.filters import ContactFilter
from analytics.access.scope import LOCAL, Scope
from analytics.policy import files, in_force, words, writes
from analytics.policy.agreements import BoundarySetting, WorkingWeek
from analytics.storage.database import Database
from analytics.storage.sessions import add_sessions
from analytics.storage.store import add_contacts
from tests.helpers import outcome
from tests.scope_world import (
    FIRST_MONDAY,
    HARBOUR,
    OWN,
    PHONES,
    THERAPISTS,
    World,
    _address,
    _call_log,
    _contacts,
    _function,
    _mbox,
    _sessions,
)

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
        outcome(
            lambda key=key: _function("measures.metrics.client_timeline")(
                call.db, call.filters(), key
            )
        )
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
                outcome(
                    lambda client=client, therapist=therapist: in_force.settings_in_force(
                        call.db, call.scope, therapist, client, on
                    )
                )
            )
    return results


def _export(kind: str) -> Variant:
    def variant(call: Call) -> Any:
        call.folder.mkdir(parents=True, exist_ok=True)
        path = call.folder / f"export-{call.scope.role}.{kind}"
        count = files.export_settings(call.db, call.scope, path)
        return count, path.read_text(encoding="utf-8-sig")

    return variant


def _rules_export(kind: str) -> Variant:
    def variant(call: Call) -> Any:
        call.folder.mkdir(parents=True, exist_ok=True)
        path = call.folder / f"rules-{call.scope.role}.{kind}"
        count = _function("policy.billing_files.export_rules")(call.db, call.scope, path)
        return count, path.read_text(encoding="utf-8-sig")

    return variant


def _clients_named(call: Call) -> list[Any]:
    """Every client asked for by label and by key, one at a time."""
    clients = call.world.clients
    return [
        outcome(
            lambda name=name: _function("storage.sessions.client_keys_named")(
                call.db, call.scope, [name]
            )
        )
        for name in [*clients["label"], *clients["client_key"]]
    ]


def _export_rows(call: Call) -> Any:
    """Parquet bytes as the rows they hold (the file's own metadata is not the point)."""
    import io

    data = _function("output.exports.export_bytes")(call.db, call.filters(), "parquet")
    return pd.read_parquet(io.BytesIO(data)).to_dict("list")


def _export_file(kind: str) -> Variant:
    def variant(call: Call) -> Any:
        call.folder.mkdir(parents=True, exist_ok=True)
        path = call.folder / f"contacts-{call.scope.role}.{kind}"
        result = _function("output.exports.export_contacts")(call.db, call.filters(), path, kind)
        frame = pd.read_csv(path) if kind == "csv" else pd.read_parquet(path)
        return result.contacts, frame.to_dict("list")

    return variant


def _report_filter(therapist: str) -> Variant:
    def variant(call: Call) -> Any:
        return outcome(
            lambda: _function("output.report.report_filter")(
                call.db, call.scope, date(2026, 1, 1), date(2026, 12, 31), therapist=therapist
            )
        )

    return variant


def _supervision_report(call: Call) -> Any:
    return _function("output.report.supervision_report")(
        call.db, call.filters(), datetime(2026, 11, 28, 12, 0)
    )


def _written_report(call: Call) -> Any:
    """The file, without its generated-at minute (the two calls run at different times)."""
    import re

    call.folder.mkdir(parents=True, exist_ok=True)
    path = call.folder / f"report-{call.scope.role}.html"
    outcome(lambda: _function("output.report.write_report")(call.db, call.filters(), path))
    if not path.exists():
        return None
    return re.sub(r"Generated [0-9-]+ [0-9:]+ UTC", "Generated", path.read_text("utf-8"))


def _with_labels(call: Call) -> Any:
    # Every key goes in (a caller's frame); what comes back is the names given to them.
    keys = pd.DataFrame({"client_key": call.world.clients["client_key"]})
    return _function("measures.metrics.with_client_labels")(call.db, call.scope, keys)["client"]


def _episode_contacts(call: Call) -> list[Any]:
    # The first episode of each family for each client (in scope or not), as the Billing
    # page asks for the contacts behind a row it shows.
    first = call.world.episodes.groupby(["client_key", "family"], as_index=False).first()
    return [
        outcome(
            lambda row=row: _function("measures.billing.episode_contacts")(
                call.db, call.filters(), row.family, row.client_key, row.start.to_pydatetime()
            )
        )
        for row in first.itertuples()
    ]


def _per_client(name: str) -> Variant:
    """``f(db, filters, client_key)`` for every client key, in scope or not."""

    def variant(call: Call) -> list[Any]:
        return [
            outcome(lambda key=key: _function(name)(call.db, call.filters(), key))
            for key in call.world.clients["client_key"]
        ]

    return variant


def _mappings(call: Call) -> list[Any]:
    # Every mapping, then each therapist's (in scope or not).
    list_mappings = _function("importing.phone_log.list_mappings")
    return [
        outcome(lambda: list_mappings(call.db, call.scope)),
        *(
            outcome(
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
    "measures.billing.episode_contacts": [_episode_contacts],
    "policy.billing_rules.billing_rules": [
        lambda call, as_text=as_text: _function("policy.billing_rules.billing_rules")(
            call.db, call.scope, as_text=as_text
        )
        for as_text in (False, True)
    ],
    "measures.session_load.client_sessions": [_per_client("measures.session_load.client_sessions")],
    "measures.session_load.session_load_by": [
        variant
        for by in ("therapist", "practice", "client", "week", "month")
        for variant in _filter_variants("measures.session_load.session_load_by", by)
    ],
    "measures.compare.comparison": [
        variant
        for by in ("therapist", "practice")
        for size in _COMPARE_SIZES
        for with_total in (True, False)
        for variant in _filter_variants("measures.compare.comparison", by, size, with_total)
    ],
    "measures.compare.comparison_report": [
        variant
        for by in ("therapist", "practice")
        for size in _COMPARE_SIZES
        for variant in _filter_variants("measures.compare.comparison_report", by, size)
    ],
    "measures.compare.monthly_trend": [
        variant
        for by in ("therapist", "practice")
        for size in _COMPARE_SIZES
        for variant in _filter_variants("measures.compare.monthly_trend", by, size)
    ],
    "measures.compare.suppression_pattern": [
        variant
        for size in _COMPARE_SIZES
        for variant in _filter_variants("measures.compare.suppression_pattern", size)
    ],
    "measures.compare.distribution": [
        variant
        for size in _COMPARE_SIZES
        for variant in _filter_variants("measures.compare.distribution", size)
    ],
    "importing.phone_log.list_mappings": [_mappings],
    "measures.metrics.breakdown": [
        variant
        for by in ("client", "therapist", "practice")
        for variant in _filter_variants("measures.metrics.breakdown", by)
    ],
    "measures.metrics.trend": _filter_variants("measures.metrics.trend", "category"),
    "measures.metrics.client_timeline": [_client_timeline],
    "measures.metrics.filter_choices": [
        lambda call: _function("measures.metrics.filter_choices")(call.db, call.scope)
    ],
    "measures.compliance.compliance_by": [
        variant
        for by in ("client", "therapist")
        for variant in _filter_variants("measures.compliance.compliance_by", by)
    ],
    "measures.compliance.compliance_report": _filter_variants(
        "measures.compliance.compliance_report", "therapist"
    ),
    "measures.compliance.working_windows": _one_therapist_filter(
        "measures.compliance.working_windows"
    ),
    "measures.metrics.with_client_labels": [_with_labels],
    "policy.in_force.settings_in_force": [_settings_in_force],
    "policy.in_force.working_hours_of": _each_therapist("policy.in_force.working_hours_of"),
    "policy.in_force.working_hours_in_force": _each_therapist(
        "policy.in_force.working_hours_in_force", FIRST_MONDAY + timedelta(days=3)
    ),
    "policy.in_force.stored_settings": [
        lambda call: in_force.stored_settings(call.db, call.scope),
        *_each_therapist("policy.in_force.stored_settings"),
        lambda call: in_force.stored_settings(call.db, call.scope, practice=HARBOUR),
    ],
    "policy.words.list_settings": [
        lambda call: words.list_settings(call.db, call.scope),
        *_each_therapist("policy.words.list_settings"),
    ],
    "policy.files.export_settings": [_export("toml"), _export("csv")],
    "policy.billing_files.export_rules": [_rules_export("toml"), _rules_export("csv")],
    "storage.sessions.client_keys_named": [_clients_named],
    "cli.measures.compliance_rows": [
        lambda call, by=by: _function("cli.measures.compliance_rows")(
            call.db,
            call.filters(),
            by,
            _function("measures.compliance.compliance_report")(call.db, call.filters(), by),
        )
        for by in ("client", "therapist")
    ],
    "output.exports.export_bytes": [
        lambda call: _function("output.exports.export_bytes")(call.db, call.filters(), "csv"),
        _export_rows,
    ],
    "output.exports.export_contacts": [_export_file("csv"), _export_file("parquet")],
    "output.report.report_filter": [_report_filter(therapist) for therapist in THERAPISTS],
    "output.report.supervision_report": [_supervision_report],
    "output.report.write_report": [_written_report],
    "policy.boundary_edits.settings_in_words": _each_therapist(
        "policy.boundary_edits.settings_in_words"
    ),
    "policy.boundary_edits.own_setting_in_force": [
        lambda call, therapist=therapist: _function("policy.boundary_edits.own_setting_in_force")(
            call.db,
            call.scope,
            therapist,
            None,
            FIRST_MONDAY + timedelta(days=30),
            practice=THERAPISTS[therapist][0],
        )
        for therapist in THERAPISTS
    ],
    "policy.boundary_edits.preview_setting": [
        lambda call, therapist=therapist: _function("policy.boundary_edits.preview_setting")(
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
    "importing.saved_mappings.list_mappings": "saved column mappings: configuration, no data",
    "importing.saved_mappings.load_mapping": "saved column mappings: configuration, no client data",
    "storage.settings.get_setting": "installation settings (minutes per text, group size): no data",
    "importing.message_minutes.load_model": "the written messages' minutes model: installation "
    "settings, no data",
    "measures.glance.flag_threshold_text": "the ranking's threshold setting in words: no data",
    "importing.phone_numbers.default_region": "the default region of phone numbers: an "
    "installation setting, no data",
    "access.roles.scope_for": "where a viewer's scope comes from: reads practice and therapist "
    "names to resolve the roles file, returns a Scope, no data rows",
    "importing.inbox.default_folder": "the inbox folder beside the database file: a path, no data",
    "importing.inbox.stored_folder": "the inbox folder setting: configuration, no data",
    "importing.inbox.inbox_folder": "the inbox folder setting or its default: configuration, "
    "no data",
    "importing.inbox.settle_seconds": "the inbox's settle time setting: configuration, no data",
    "importing.conversations.message_minutes_sql": "the minutes-per-message setting as SQL: "
    "configuration, no data",
}
"""Functions that take ``db`` but read only installation configuration, never practice,
therapist or client data, so no scope applies. Adding one here needs a reason."""


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
    assert {
        "measures.metrics.totals",
        "measures.compliance.compliance_summary",
        "policy.history.change_log",
    } <= readers
    assert {"storage.store.list_batches", "storage.audit.entries", "demo.is_empty"} <= readers
    writers = {name for name, function in _database_functions() if _is_writer(name, function)}
    assert {
        "policy.writes.save_setting",
        "storage.store.undo_batch",
        "importing.pipeline.import_file",
    } <= (writers)


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
        function.__module__ = "analytics.measures.metrics"
        monkeypatch.setattr(
            f"analytics.measures.metrics.{function.__name__}", function, raising=False
        )
    assert _unscoped() == ["measures.metrics.busiest_client"]
    with pytest.raises(pytest.fail.Exception, match="needs client_key: add an entry to READERS"):
        _variants("measures.metrics.minutes_of")


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


SHOWING_IN_SCOPE = frozenset(
    {
        "measures.metrics.client_table",
        "measures.metrics.breakdown",
        "measures.metrics.filter_choices",
        "measures.caps.weekly_caps",
        "measures.compliance.compliance_by",
        "measures.out_of_policy.out_of_policy",
        "measures.billing.episodes",
        "measures.billing.per_client_month",
        "measures.session_load.session_load_by",
        "measures.session_load.low_attendance_clients",
    }
)
"""Readers that must show a client in scope to every scope that has one, so that equal but
empty results cannot pass unnoticed."""

MAPPINGS_SHOWN_TO = ("therapist", "supervisor")
"""The scopes whose therapists' numbers are mapped (Ada's and Cyprian's)."""


def test_the_readers_that_must_show_the_scope_are_found() -> None:
    # The check above applies to readers by name: a renamed one must not slip out of it.
    assert {*SHOWING_IN_SCOPE, "importing.phone_log.list_mappings"} <= set(_readers())


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
    path = folder / "storage.sessions.ics"
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
    path = folder / "storage.sessions.csv"
    path.write_text(
        "Client,Clinician,Practice,Start,End,Status\n"
        f"{labels[1]},{therapist},{practice},2026-04-01 09:00,2026-04-01 09:50,Show\n",
        encoding="utf-8",
    )
    return path


def _phone_columns(therapist: str) -> Any:
    """The calls of ``_call_log`` as the phone log reads them."""
    from analytics.importing.phone_log import _read

    return _read(_call_log(therapist), "calls.xml")[1]


def _voice_page(therapist: str) -> bytes:
    """A Google Voice Takeout page: a 10-minute call received from the therapist's first
    mapped client, on 16 April 2026."""
    number = next(number for number, (owner, _) in PHONES.items() if owner == therapist)
    return (
        '<html><body><div class="haudio"><div class="contributor vcard">Received call from '
        f'<a class="tel" href="tel:{number}"><span class="fn"></span></a></div>'
        '<abbr class="published" title="2026-04-16T09:00:00.000+00:00">Apr 16</abbr>'
        '<abbr class="duration" title="PT10M">(00:10:00)</abbr><div class="tags">'
        '<a rel="tag" href="http://www.google.com/voice#received">Received</a></div>'
        "</div></body></html>"
    ).encode()


def _simplepractice_csv(folder: Path, therapist: str) -> Path:
    """A SimplePractice appointment status report: one 90837 appointment of a client."""
    _, _, labels = THERAPISTS[therapist]
    path = folder / "appointments.csv"
    path.write_text(
        "Date of Service,Client,Clinician,Billing Code,Rate per Unit,Units,Total Fee\n"
        f"04/02/2026 09:00,{labels[1]},{therapist},90837 ,160.0 ,1 ,160.0\n",
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
    "policy.billing_rules.save_rules": lambda db, scope, therapist, folder: _function(
        "policy.billing_rules.save_rules"
    )(
        db,
        scope,
        _function("policy.billing_rules.billing_rules")(db, LOCAL, as_text=True).assign(
            window_days=10
        ),
    ),
    "policy.billing_rules.replace_rules_and_fees": lambda db, scope, therapist, folder: _function(
        "policy.billing_rules.replace_rules_and_fees"
    )(
        db,
        scope,
        _function("policy.billing_rules.validate_rules")(
            _function("policy.billing_rules.billing_rules")(db, LOCAL)
        ),
        [("98970", 12.5, "USD")],
    ),
    "policy.billing_files.load_rules": lambda db, scope, therapist, folder: _function(
        "policy.billing_files.load_rules"
    )(db, scope, _rules_file(folder)),
    "policy.billing_rules.save_fees": lambda db, scope, therapist, folder: _function(
        "policy.billing_rules.save_fees"
    )(
        db,
        scope,
        _function("policy.billing_rules.fee_schedule")(db, LOCAL).assign(fee=25.0, currency="USD"),
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
    "importing.phone_log.import_phone_columns": lambda db, scope, therapist, folder: _function(
        "importing.phone_log.import_phone_columns"
    )(
        db,
        _phone_columns(therapist),
        "calls",
        source=_call_log(therapist),
        file_name="calls.xml",
        options=_phone_options(therapist),
        scope=scope,
    ),
    "importing.google_voice.import_google_voice": lambda db, scope, therapist, folder: _function(
        "importing.google_voice.import_google_voice"
    )(
        db,
        _voice_page(therapist),
        file_name="call.html",
        options=_phone_options(therapist),
        scope=scope,
    ),
    "importing.google_voice.import_phone_export": lambda db, scope, therapist, folder: _function(
        "importing.google_voice.import_phone_export"
    )(
        db,
        _call_log(therapist),
        file_name="calls.xml",
        options=_phone_options(therapist),
        scope=scope,
    ),
    "importing.practice_exports.import_practice_appointments": (
        lambda db, scope, therapist, folder: _function(
            "importing.practice_exports.import_practice_appointments"
        )(db, _simplepractice_csv(folder, therapist), file_name="appointments.csv", scope=scope)
    ),
    "importing.calendar.import_calendar": lambda db, scope, therapist, folder: _function(
        "importing.calendar.import_calendar"
    )(
        db,
        _calendar_file(folder, therapist)[0],
        file_name="storage.sessions.ics",
        options=_calendar_file(folder, therapist)[1],
        scope=scope,
        today=date(2026, 4, 30),
    ),
    "importing.session_csv.import_session_csv": lambda db, scope, therapist, folder: _function(
        "importing.session_csv.import_session_csv"
    )(db, _session_csv(folder, therapist), file_name="storage.sessions.csv", scope=scope),
    "importing.dispatch.import_detected": lambda db, scope, therapist, folder: _function(
        "importing.dispatch.import_detected"
    )(db, _csv_file(folder, therapist), file_name="extra.csv", scope=scope),
    "policy.writes.save_setting": lambda db, scope, therapist, folder: writes.save_setting(
        db,
        BoundarySetting(therapist, THERAPISTS[therapist][0], None, date(2026, 3, 2), 40.0),
        "someone",
        scope=scope,
    ),
    "policy.writes.delete_setting": lambda db, scope, therapist, folder: writes.delete_setting(
        db, therapist, None, FIRST_MONDAY, "someone", scope=scope
    ),
    "policy.writes.save_working_hours": lambda db, scope, therapist, folder: (
        writes.save_working_hours(
            db,
            therapist,
            WorkingWeek(date(2026, 3, 2), {0: [(time(8), time(12))]}),
            "someone",
            scope=scope,
        )
    ),
    "policy.writes.delete_working_hours": lambda db, scope, therapist, folder: (
        writes.delete_working_hours(db, therapist, FIRST_MONDAY, "someone", scope=scope)
    ),
    "policy.writes.set_time_zone": lambda db, scope, therapist, folder: writes.set_time_zone(
        db, therapist, "Asia/Tokyo", "someone", scope=scope
    ),
    "policy.files.load_settings": lambda db, scope, therapist, folder: files.load_settings(
        db, _policy_file(folder, therapist), "someone", scope=scope
    ),
    "demo.demo_boundaries": lambda db, scope, therapist, folder: demo.demo_boundaries(
        db, scope=scope
    ),
    "storage.store.add_contacts": lambda db, scope, therapist, folder: add_contacts(
        db, _frame_for(therapist), source="test", scope=scope
    ),
    "storage.store.add_contacts_from_query": lambda db, scope, therapist, folder: _function(
        "storage.store.add_contacts_from_query"
    )(
        db,
        "SELECT * FROM extra",
        {},
        source="test",
        lookups={"extra": _frame_for(therapist)},
        scope=scope,
    ),
    "storage.store.undo_batch": lambda db, scope, therapist, folder: _function(
        "storage.store.undo_batch"
    )(db, 1, scope=scope),
    "storage.sessions.add_sessions": lambda db, scope, therapist, folder: add_sessions(
        db, _sessions_for(therapist), source="test", scope=scope
    ),
    "storage.sessions.add_sessions_from_query": lambda db, scope, therapist, folder: _function(
        "storage.sessions.add_sessions_from_query"
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
    "importing.saved_mappings.save_mapping": lambda db, scope, therapist, folder: _function(
        "importing.saved_mappings.save_mapping"
    )(
        db,
        "mine",
        _function("importing.presets.layout_for_preset")("template", _TEMPLATE_HEADER.split(",")),
        scope=scope,
    ),
    "storage.settings.set_setting": lambda db, scope, therapist, folder: _function(
        "storage.settings.set_setting"
    )(db, "minutes_per_text", 3, scope=scope),
    "importing.inbox.set_inbox_folder": lambda db, scope, therapist, folder: _function(
        "importing.inbox.set_inbox_folder"
    )(db, folder / "inbox", scope=scope),
    "importing.inbox.sweep": lambda db, scope, therapist, folder: _function(
        "importing.inbox.sweep"
    )(db, _inbox_with_a_file(folder, therapist), settle=0.1, scope=scope),
    "importing.phone_numbers.set_default_region": lambda db, scope, therapist, folder: _function(
        "importing.phone_numbers.set_default_region"
    )(db, "DE", scope=scope),
    "storage.care.backup": lambda db, scope, therapist, folder: _function("storage.care.backup")(
        db, scope, folder / "backup.duckdb"
    ),
    "storage.care.backup_archive": lambda db, scope, therapist, folder: _function(
        "storage.care.backup_archive"
    )(db, scope),
    "storage.care.erase_client": lambda db, scope, therapist, folder: _function(
        "storage.care.erase_client"
    )(db, scope, _first_client_key(db, therapist)),
    "measures.glance.dismiss_alert": lambda db, scope, therapist, folder: _function(
        "measures.glance.dismiss_alert"
    )(
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
        if writer.startswith(("policy.writes.", "policy.files."))
    },
    "measures.glance.dismiss_alert": ("alert_dismiss", OWN),
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
