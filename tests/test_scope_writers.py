"""Every writer called with a narrow scope writes within it or refuses and changes nothing;
writes are audited under who made them (see tests/test_scope.py for the registry)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analytics.access.scope import Scope
from analytics.errors import PermissionDeniedError
from analytics.storage.database import Database
from analytics.storage.sql import identifier, query
from tests.helpers import copy_database as _copy
from tests.helpers import plain
from tests.scope_world import (
    OTHER,
    OWN,
    SCOPE_NAMES,
    THERAPISTS,
    _call_log,
    _function,
    _scopes,
    _world,
)
from tests.test_scope import (
    _OWN_EDITS,
    WRITERS,
    _calendar_file,
    _csv_file,
    _phone_options,
    _session_csv,
)

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


def _rows(db: Database, sql: str, params: list[object] | dict[str, object]) -> Any:
    """All rows of a query as plain values (fingerprints are 128-bit, beyond NumPy)."""
    with db.cursor() as cursor:
        return plain(cursor.execute(sql, params).fetchall())


def _snapshot(db: Database) -> dict[str, Any]:
    """Every row of every data table (small fixture), for "nothing changed" checks."""
    return {
        table: _rows(db, f"SELECT * FROM {table} ORDER BY ALL", []) for table in _SNAPSHOT_TABLES
    }


def _snapshot_outside(db: Database, scope: Scope) -> dict[str, Any]:
    """The rows outside ``scope`` of the tables a boundary edit may touch."""
    tables = (
        "boundaries",
        "working_hours",
        "boundary_changes",
        "contacts",
        "therapists",
        "phone_numbers",
    )
    rows = {}
    for table in tables:
        outside = query(
            "SELECT x.* FROM {table} AS x JOIN therapists AS t USING (therapist_id) "
            "WHERE NOT coalesce({inside}, false) ORDER BY ALL",
            table=identifier(table, tables),
            inside=scope.fragment("t"),
        )
        rows[table] = _rows(db, outside.text, outside.values)
    return rows


@pytest.mark.parametrize("scope_name", SCOPE_NAMES)
@pytest.mark.parametrize("target", [OWN, OTHER])
@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_writers_stay_in_scope_or_refuse(
    scoped_db_path: Path,
    scoped_scopes: dict[str, Scope],
    tmp_path: Path,
    scope_name: str,
    target: str,
    writer: str,
) -> None:
    db = Database(_copy(scoped_db_path, tmp_path / "db"))
    try:
        scope = scoped_scopes[scope_name]
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
            (_session_csv(tmp_path, OWN), "storage.sessions.csv"),
            (calendar, "storage.sessions.ics"),
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
            ["import", "storage.sessions.csv: batch 7, 1 rows stored"],
            ["import", "storage.sessions.ics: batch 8, 1 rows stored"],
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
            "storage.sessions.csv: batch 2, 72 rows stored",
        ]
        assert (entries["action"] == "boundary_edit").sum() == 12
        mapped = entries.loc[entries["action"] == "settings", "detail"]
        numbers = mapped[mapped.str.startswith("phone number ending 0")]
        addresses = mapped[mapped.str.match(r"e-mail address [a-z]…@e… mapped to client c-")]
        assert (len(numbers), len(addresses), len(mapped)) == (3, 3, 6)
        for label in (label for _, _, labels in THERAPISTS.values() for label in labels):
            assert not entries["detail"].str.contains(label).any()  # no client data in details
        _function("storage.store.undo_batch")(db, 2)
        last = db.frame("SELECT action, detail FROM audit_log ORDER BY entry_id DESC LIMIT 1", [])
        assert last.iloc[0].tolist() == ["undo", "batch 2: 72 rows removed"]
    finally:
        db.close()
