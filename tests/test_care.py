"""Data care: backup and restore give identical totals; erasure removes every row of one
client and nothing else; both are audited and refused to viewers who may not do them.

Figures are the hand-made fixture's (tests/data/fixture_contacts.csv, see
tests/test_metrics.py): 25 contacts, 400 minutes, 7 clients; Avery 7 contacts, 160 minutes.
"""

import shutil
import threading
from datetime import date
from pathlib import Path

import pytest

from analytics import audit
from analytics.boundaries import demo_boundaries
from analytics.care import (
    BackupError,
    UnknownClientError,
    backup,
    backup_archive,
    erase_client,
    restore,
)
from analytics.db import Database
from analytics.errors import DatabaseLockedError, PermissionDeniedError
from analytics.filters import ContactFilter
from analytics.importing.pipeline import ImportOptions, import_file
from analytics.metrics import summary, totals
from analytics.scope import LOCAL, Scope
from tests.test_cli import assert_one_line_error, holder, run
from tests.test_faults import snapshot, template_file

__all__ = ["holder"]


def key_of(db: Database, label: str) -> str:
    (key,) = db.row("SELECT max(client_key) FROM clients WHERE label = ?", [label])
    assert key is not None
    return str(key)


def rows_per_table(db: Database) -> dict[str, int]:
    with db.cursor() as cursor:
        tables = [
            row[0]
            for row in cursor.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1"
            ).fetchall()
        ]
        return {
            table: int((cursor.execute(f'SELECT count(*) FROM "{table}"').fetchone() or (0,))[0])
            for table in tables
        }


# --- backup and restore -----------------------------------------------------------------


def test_backup_then_restore_gives_identical_totals(fixture_db: Database, tmp_path: Path) -> None:
    copy = tmp_path / "backups" / "monday.duckdb"
    copy.parent.mkdir()
    result = backup(fixture_db, LOCAL, copy)
    assert result.rows["contacts"] == 25 and result.rows["clients"] == 7
    # the secret travels inside the backup (nothing is written beside it), so client keys
    # stay the same after a restore
    assert sorted(path.name for path in copy.parent.iterdir()) == ["monday.duckdb"]
    target = tmp_path / "restored" / "contactload.duckdb"
    restored = restore(LOCAL, copy, target)
    assert restored.rows["contacts"] == 25
    assert (target.parent / ".contactload-secret").read_bytes() == (
        fixture_db.path.parent / ".contactload-secret"
    ).read_bytes()
    db = Database(target)
    try:
        original = totals(fixture_db, ContactFilter())
        again = totals(db, ContactFilter())
        # 25 contacts, 400 minutes, 7 clients, after hours 140 minutes (see test_exports)
        assert (again.contacts, again.minutes, again.active_clients) == (25, 400.0, 7)
        assert again == original
        by_client = summary(db, ContactFilter(), "client")
        assert list(by_client["key"]) == list(summary(fixture_db, ContactFilter(), "client")["key"])
        # the restore is in the restored database's audit log; the backup's own entry is
        # written after the copy, so only the live database has it
        # (newest first, after the fixture's own audited import)
        assert list(audit.entries(db, LOCAL)["action"]) == ["restore", "import"]
        assert list(audit.entries(fixture_db, LOCAL)["action"]) == ["backup", "import"]
    finally:
        db.close()


def test_backup_is_one_consistent_moment_while_imports_commit(
    fixture_db: Database, tmp_path: Path
) -> None:
    upload = template_file(tmp_path / "june.csv", 3_000)
    done = threading.Event()
    failures: list[BaseException] = []

    def import_in_background() -> None:
        try:
            import_file(fixture_db, upload, file_name="june.csv", options=ImportOptions())
        except BaseException as error:  # reported below
            failures.append(error)
        finally:
            done.set()

    worker = threading.Thread(target=import_in_background)
    worker.start()
    copies = []
    index = 0
    while not done.is_set() or index < 2:
        copy = tmp_path / f"copy{index}.duckdb"
        backup(fixture_db, LOCAL, copy)
        copies.append(copy)
        index += 1
    worker.join(timeout=120)
    assert failures == []
    for copy in copies:
        contacts, minutes, clients, _, _ = snapshot(copy)
        # either none of the batch (25, 400 min, 7 clients) or all of it
        # (+3,000 x 5 min, +50 clients)
        assert (contacts, minutes, clients) in {(25, 400.0, 7), (3_025, 15_400.0, 57)}


def test_restore_refuses_to_overwrite_without_force(fixture_db: Database, tmp_path: Path) -> None:
    copy = tmp_path / "b" / "copy.duckdb"
    copy.parent.mkdir()
    backup(fixture_db, LOCAL, copy)
    target = tmp_path / "t" / "contactload.duckdb"
    target.parent.mkdir()
    Database(target).close()
    with pytest.raises(BackupError, match="add --force"):
        restore(LOCAL, copy, target)
    assert snapshot(target)[0] == 0  # untouched
    restore(LOCAL, copy, target, force=True)
    assert snapshot(target)[:3] == (25, 400.0, 7)


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a database at all" * 100)
    target = tmp_path / "t" / "contactload.duckdb"
    with pytest.raises(BackupError, match="not a readable Contact Load backup"):
        restore(LOCAL, junk, target)
    assert not target.exists()


def test_backup_refuses_an_existing_file_and_other_roles(
    fixture_db: Database, tmp_path: Path
) -> None:
    existing = tmp_path / "here.duckdb"
    existing.write_bytes(b"keep me")
    with pytest.raises(BackupError, match="already exists"):
        backup(fixture_db, LOCAL, existing)
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(PermissionDeniedError):
        backup(fixture_db, Scope.supervisor("sup", (1,)), tmp_path / "new.duckdb")


def test_restore_over_a_database_in_use_is_refused(
    fixture_db: Database, holder: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "b" / "copy.duckdb"
    copy.parent.mkdir()
    backup(fixture_db, LOCAL, copy)
    with pytest.raises(DatabaseLockedError, match="in use by another program"):
        restore(LOCAL, copy, holder, force=True)


def test_cli_backup_and_restore(fixture_db_path: Path, tmp_path: Path) -> None:
    source = tmp_path / "live" / "contactload.duckdb"
    source.parent.mkdir()
    shutil.copy(fixture_db_path, source)
    shutil.copy(fixture_db_path.parent / ".contactload-secret", source.parent)
    copy = tmp_path / "backup.duckdb"
    result = run("backup", "--db", source, "--out", copy, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Backed up 25 contacts and 0 sessions")
    target = tmp_path / "restored.duckdb"
    result = run("restore", copy, "--db", target, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert snapshot(target)[:3] == (25, 400.0, 7)
    again = run("restore", copy, "--db", target, cwd=tmp_path)
    assert "add --force" in assert_one_line_error(again)


# --- erasure ------------------------------------------------------------------------------


def test_erasure_removes_every_row_of_one_client_and_nothing_else(
    fixture_db: Database,
) -> None:
    demo_boundaries(fixture_db)  # boundaries and their change log, some per client
    avery = key_of(fixture_db, "Avery")
    (avery_id,) = fixture_db.row("SELECT client_id FROM clients WHERE client_key = ?", [avery])
    with fixture_db.transaction() as cursor:
        # a session, a phone mapping, a client boundary and its change for Avery, and a
        # session for Blake that must stay
        (blake_id,) = cursor.execute(
            "SELECT client_id FROM clients WHERE label = 'Blake'"
        ).fetchone() or (0,)
        for client_id in (avery_id, blake_id):
            cursor.execute(
                "INSERT INTO sessions SELECT practice_id, therapist_id, client_id, "
                "TIMESTAMPTZ '2026-03-03 15:00:00+00', TIMESTAMP '2026-03-03 10:00:00', 50, "
                "'attended', hash(client_id), 1 FROM clients WHERE client_id = ?",
                [client_id],
            )
        cursor.execute(
            "INSERT INTO phone_numbers (therapist_id, number_key, number_hint, client_id) "
            "SELECT therapist_id, 'k-avery', '…42', client_id FROM clients WHERE client_id = ?",
            [avery_id],
        )
        cursor.execute(
            "INSERT INTO boundaries (therapist_id, client_id, effective_from, weekly_cap_minutes) "
            "SELECT therapist_id, client_id, DATE '2026-03-01', 45 FROM clients "
            "WHERE client_id = ?",
            [avery_id],
        )
        cursor.execute(
            "INSERT INTO boundary_changes (changed_by, therapist_id, client_id, what) "
            "SELECT 'test', therapist_id, client_id, 'cap' FROM clients WHERE client_id = ?",
            [avery_id],
        )
    before = rows_per_table(fixture_db)
    erasure = erase_client(fixture_db, LOCAL, avery)
    after = rows_per_table(fixture_db)
    # Avery: 7 contacts (#1,#2,#3,#5,#7,#9,#10), 1 session, 1 phone number, 1 boundary,
    # 1 boundary change and the client row; the audit log gains one entry
    expected_removed = {
        "contacts": 7,
        "sessions": 1,
        "phone_numbers": 1,
        "boundaries": 1,
        "boundary_changes": 1,
        "clients": 1,
    }
    assert {table: rows for table, rows in erasure.rows.items() if rows} == expected_removed
    for table, rows in before.items():
        change = expected_removed.get(table, 0)
        if table in ("audit_log", "erased_clients"):
            assert after[table] == rows + 1
        elif table == "meta":
            assert after[table] == rows
        else:
            assert after[table] == rows - change, table
    for table in ("contacts", "sessions", "phone_numbers", "boundaries", "boundary_changes"):
        (left,) = fixture_db.row(
            f"SELECT count(*) FROM {table} WHERE client_id = ?",
            [avery_id],
        )
        assert left == 0, table
    # everyone else's figures are untouched: 400 - 160 = 240 minutes, 25 - 7 = 18 contacts
    remaining = totals(fixture_db, ContactFilter())
    assert (remaining.contacts, remaining.minutes, remaining.active_clients) == (18, 240.0, 6)
    # the audit entry names the erasure reference, neither the key nor the label
    entry = audit.entries(fixture_db, LOCAL).iloc[0]
    assert entry["action"] == "erase_client"
    assert entry["detail"] == (
        f"client erased as {erasure.erasure_ref}: 1 boundaries, 1 boundary_changes, "
        "7 contacts, 1 phone_numbers, 1 sessions, 1 clients"
    )
    assert avery not in entry["detail"] and "Avery" not in entry["detail"]


def test_erasure_is_for_admins_and_names_unknown_keys(fixture_db: Database) -> None:
    avery = key_of(fixture_db, "Avery")
    for scope in (
        Scope.supervisor("sup", (1, 2)),
        Scope.therapist("dana", (1,)),
        Scope.nobody("x"),
    ):
        with pytest.raises(PermissionDeniedError, match="may not erase"):
            erase_client(fixture_db, scope, avery)
    assert totals(fixture_db, ContactFilter()).contacts == 25
    with pytest.raises(UnknownClientError, match="No client has the key 'c-nobody'"):
        erase_client(fixture_db, Scope.admin("admin"), "c-nobody")
    erase_client(fixture_db, Scope.admin("admin"), avery)
    assert totals(fixture_db, ContactFilter()).contacts == 18


def test_cli_erase_client(fixture_db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "contactload.duckdb"
    shutil.copy(fixture_db_path, path)
    shutil.copy(fixture_db_path.parent / ".contactload-secret", tmp_path)
    db = Database(path)
    finn = key_of(db, "Finn")
    db.close()
    result = run("erase-client", "--db", path, "--client", finn, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # Finn: #18, #19, #20, #23, #25 = 5 contacts, 95 minutes
    first, second = result.stdout.strip().splitlines()
    assert first == f"Erased client {finn}: 5 contacts, 1 clients rows removed."
    assert second.startswith("The audit log and the list of erased clients keep only e-")
    assert "the file was rewritten" in second
    assert snapshot(path)[:3] == (20, 305.0, 6)
    again = run("erase-client", "--db", path, "--client", finn, cwd=tmp_path)
    assert "No client has the key" in assert_one_line_error(again)


def test_period_filters_still_work_after_erasure(fixture_db: Database) -> None:
    erase_client(fixture_db, LOCAL, key_of(fixture_db, "Avery"))
    april = totals(fixture_db, ContactFilter(start=date(2026, 4, 1), end=date(2026, 4, 30)))
    # April without Avery's #10: #11 Casey 10, #17 Emery 5, #23 Finn 10 = 3 contacts, 25 min
    assert (april.contacts, april.minutes) == (3, 25.0)


def test_backup_archive_from_the_running_app_restores(fixture_db: Database, tmp_path: Path) -> None:
    import zipfile

    data = backup_archive(fixture_db, LOCAL)
    archive = tmp_path / "backup.zip"
    archive.write_bytes(data)
    with zipfile.ZipFile(archive) as bundle:
        # the secret is inside the database file, not beside it
        assert bundle.namelist() == ["contactload.duckdb"]
    target = tmp_path / "restored" / "contactload.duckdb"
    result = run("restore", archive, "--db", target, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # the fixture's 25 contacts, 400 minutes, 7 clients, 1 batch
    assert snapshot(target)[:4] == (25, 400.0, 7, 1)
    # client keys survive: the secret came along
    assert (target.parent / ".contactload-secret").read_bytes() == (
        fixture_db.path.parent / ".contactload-secret"
    ).read_bytes()
    with pytest.raises(PermissionDeniedError):
        backup_archive(fixture_db, Scope.therapist("dana", (1,)))


def test_a_zip_that_is_not_a_backup_is_refused(tmp_path: Path) -> None:
    import zipfile

    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("../../etc/evil", "x")
    with pytest.raises(BackupError, match=r"holds no contactload\.duckdb"):
        restore(LOCAL, archive, tmp_path / "t.duckdb")
    (tmp_path / "junk.zip").write_bytes(b"no zip")
    with pytest.raises(BackupError, match="not a readable ZIP backup"):
        restore(LOCAL, tmp_path / "junk.zip", tmp_path / "t.duckdb")
    assert not (tmp_path / "t.duckdb").exists()


def test_data_care_page_offers_a_backup(
    fixture_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    shutil.copy(fixture_db_path, tmp_path / "contactload.duckdb")
    shutil.copy(fixture_db_path.parent / ".contactload-secret", tmp_path)
    monkeypatch.setenv("CONTACTLOAD_DB", str(tmp_path / "contactload.duckdb"))
    app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"))
    app.run(timeout=60)
    app.switch_page("pages/import_data.py").run(timeout=60)
    labels = [button.proto.label for button in app.get("download_button")]
    assert "Download a backup" not in labels  # moved to Data care
    app.switch_page("pages/data_care.py").run(timeout=60)
    assert not app.exception, [exception.message for exception in app.exception]
    labels = [button.proto.label for button in app.get("download_button")]
    assert "Download a backup" in labels
