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

from analytics.access.filters import ContactFilter
from analytics.access.scope import LOCAL, Scope
from analytics.demo import demo_boundaries
from analytics.errors import DatabaseLockedError, PermissionDeniedError
from analytics.importing.pipeline import ImportOptions, import_file
from analytics.measures.metrics import breakdown, totals
from analytics.storage import audit
from analytics.storage.care import (
    BackupError,
    UnknownClientError,
    backup,
    backup_archive,
    erase_client,
    restore,
)
from analytics.storage.database import Database
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
        by_client = breakdown(db, ContactFilter(), "client")
        assert list(by_client["key"]) == list(
            breakdown(fixture_db, ContactFilter(), "client")["key"]
        )
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
    assert first == f"Erased client {finn}: 5 contacts, 1 client record removed."
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


# --- erasure that sticks ------------------------------------------------------------------

CARE = Path(__file__).parent / "data" / "care"
LABEL = "Zebediah Quarrington-Marker"
"""A label no other text in the database contains, so finding any part of it is a trace."""


def every_value(db: Database) -> str:
    """Every value of every table (and sequence names), as text: DuckDB compresses strings,
    so a search of the file's bytes alone cannot prove a value is gone."""
    with db.cursor() as cursor:
        tables = cursor.execute(
            "SELECT table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1"
        ).fetchall()
        return "\n".join(
            repr(row)
            for (table,) in tables
            for row in cursor.execute(f'SELECT * FROM "{table}"').fetchall()
        )


def file_bytes(path: Path) -> bytes:
    """The database file's bytes and its WAL's, if there is one."""
    wal = Path(f"{path}.wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def traces(raw: bytes, *markers: str) -> list[str]:
    """The markers found in ``raw`` as UTF-8 or UTF-16 text."""
    return [
        marker for marker in markers if marker.encode() in raw or marker.encode("utf-16-le") in raw
    ]


def test_erasure_leaves_no_trace_of_label_or_key_in_the_file_or_its_tables(
    tmp_path: Path,
) -> None:
    from analytics.importing.phone_log import map_number
    from analytics.policy.agreements import BoundarySetting
    from analytics.policy.writes import save_setting

    path = tmp_path / "contactload.duckdb"
    db = Database(path)
    # the label in a file name (import history and audit), a client boundary (its change
    # history holds the label as JSON), a phone mapping (its audit entry names the key)
    import_file(db, CARE / "toggl_week16.csv", file_name=f"{LABEL} April.csv")
    key = key_of(db, LABEL)
    save_setting(
        db,
        BoundarySetting(
            therapist="Anna Weber",
            practice="My practice",
            client=LABEL,
            effective_from=date(2026, 4, 1),
            weekly_cap_minutes=60,
        ),
        changed_by="anna",
    )
    map_number(db, LOCAL, "Anna Weber", "+49 30 1234567", LABEL)
    with db.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    # the scan can see the label where it is stored (else the checks below prove nothing)
    assert traces(file_bytes(path), LABEL) == [LABEL]
    assert LABEL in every_value(db) and key in every_value(db)

    erasure = erase_client(db, LOCAL, key)

    assert erasure.rewritten
    values = every_value(db)
    assert [marker for marker in (LABEL, "Quarrington", "Zebediah", key) if marker in values] == []
    assert erasure.erasure_ref in values  # the erased list and the audit keep the reference
    # the import history keeps the file, without the name: "[erased client] April.csv"
    (file_name,) = db.row("SELECT min(file_name) FROM import_batches", [])
    assert file_name == "[erased client] April.csv"
    # Lena's contacts stay: 8 + 2 minutes
    assert db.row("SELECT count(*), sum(minutes) FROM contacts", []) == (2, 10.0)
    raw = file_bytes(path)
    db.close()
    raw += file_bytes(path)
    assert traces(raw, LABEL, "Quarrington", "Zebediah", key) == []
    assert not Path(f"{path}.wal").exists()
    # nothing hidden is left beside it either
    assert sorted(p.name for p in tmp_path.iterdir()) == [".contactload-secret", path.name]


def test_a_label_is_scrubbed_only_as_a_whole_word(fixture_db: Database) -> None:
    audit.record(fixture_db, LOCAL, "settings", "Avery's cap; Averyanov kept; (Avery)")
    erase_client(fixture_db, LOCAL, key_of(fixture_db, "Avery"))
    (detail,) = fixture_db.row(
        "SELECT detail FROM audit_log WHERE action = 'settings' ORDER BY entry_id LIMIT 1", []
    )
    assert detail == "[erased client]'s cap; Averyanov kept; ([erased client])"


def test_reimporting_an_overlapping_export_skips_the_erased_client(tmp_path: Path) -> None:
    path = tmp_path / "contactload.duckdb"
    db = Database(path)
    try:
        first = import_file(db, CARE / "toggl_week16.csv", file_name="week16.csv")
        # 3 rows of Zebediah, 2 of Lena
        assert (first.rows, first.imported, first.erased) == (5, 5, 0)
        erase_client(db, LOCAL, key_of(db, LABEL))
        options = ImportOptions()
        dry = import_file(
            db, CARE / "toggl_weeks16-17.csv", file_name="w.csv", options=options, dry_run=True
        )
        again = import_file(db, CARE / "toggl_weeks16-17.csv", file_name="weeks16-17.csv")
        # 8 rows: Zebediah's 3 old and 2 new skipped, Lena's 2 old already stored, 1 new
        for report in (dry, again):
            assert (report.rows, report.imported, report.duplicates, report.erased) == (
                8,
                1,
                2,
                5,
            )
            assert report.rejected == 0
        assert again.erased_note == (
            "5 rows were skipped: their client was erased; an erased client is never "
            "imported again."
        )
        assert again.to_json()["skipped_erased"] == 5
        assert db.row("SELECT count(*) FROM clients", []) == (1,)
        assert db.row("SELECT count(*), sum(minutes) FROM contacts", []) == (3, 16.0)
        (rows_erased, rows_read) = db.row(
            "SELECT rows_erased, rows_read FROM import_batches ORDER BY batch_id DESC LIMIT 1", []
        )
        assert (rows_erased, rows_read) == (5, 8)
    finally:
        db.close()


def test_cli_import_reports_the_skipped_rows_and_why(tmp_path: Path) -> None:
    import json

    path = tmp_path / "contactload.duckdb"
    assert run("import", CARE / "toggl_week16.csv", "--db", path, cwd=tmp_path).returncode == 0
    db = Database(path)
    key = key_of(db, LABEL)
    db.close()
    assert run("erase-client", "--client", key, "--db", path, cwd=tmp_path).returncode == 0
    result = run("import", CARE / "toggl_weeks16-17.csv", "--db", path, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)["files"]
    assert (report["imported"], report["duplicates"], report["skipped_erased"]) == (1, 2, 5)
    assert report["skipped_erased_reason"] == (
        "their client was erased; an erased client is never imported again"
    )
    text = run("import", CARE / "toggl_weeks16-17.csv", "--db", path, cwd=tmp_path)
    assert "  5 rows were skipped: their client was erased" in text.stdout


def test_sessions_and_phone_mappings_of_an_erased_client_are_refused(tmp_path: Path) -> None:
    import pandas as pd

    from analytics.errors import InvalidRecordError
    from analytics.importing.phone_log import map_number
    from analytics.storage.sessions import add_sessions

    db = Database(tmp_path / "contactload.duckdb")
    try:
        import_file(db, CARE / "toggl_week16.csv", file_name="week16.csv")
        erase_client(db, LOCAL, key_of(db, LABEL))
        sessions = pd.DataFrame(
            {
                "practice": ["My practice"] * 3,
                "therapist": ["Anna Weber"] * 3,
                "time_zone": ["UTC"] * 3,
                "client": [LABEL, LABEL, "Lena M."],
                "started_at": [
                    "2026-04-13T10:00:00+00:00",
                    "2026-04-20T10:00:00+00:00",
                    "2026-04-14T10:00:00+00:00",
                ],
                "minutes": ["50"] * 3,
                "status": ["attended"] * 3,
                "identity": [None] * 3,
            }
        )
        stored = add_sessions(db, sessions, source="test")
        assert (stored.sessions, stored.erased) == (1, 2)
        with pytest.raises(InvalidRecordError, match="was erased"):
            map_number(db, LOCAL, "Anna Weber", "+49 30 1234567", LABEL)
        assert db.row("SELECT count(*) FROM clients", []) == (1,)
    finally:
        db.close()


def test_an_erasure_whose_rewrite_was_cut_off_is_finished_at_the_next_start(
    tmp_path: Path,
) -> None:
    path = tmp_path / "contactload.duckdb"
    db = Database(path)
    import_file(db, CARE / "toggl_week16.csv", file_name="week16.csv")
    key = key_of(db, LABEL)
    # a second holder of the same file in this process: the rewrite cannot close it, so
    # the erasure commits with the rewrite pending (as after a crash before the replace)
    other = Database(path)
    erasure = erase_client(db, LOCAL, key)
    assert not erasure.rewritten
    assert db.row("SELECT count(*) FROM meta WHERE key = 'rewrite_pending'", []) == (1,)
    other.close()
    db.close()
    again = Database(path)  # the next start rewrites
    try:
        assert again.row("SELECT count(*) FROM meta WHERE key = 'rewrite_pending'", []) == (0,)
        assert LABEL not in every_value(again)
    finally:
        again.close()
    assert traces(file_bytes(path), LABEL, "Quarrington", key) == []


def test_a_rewrite_waits_for_queries_of_other_threads(fixture_db: Database) -> None:
    started, release = threading.Event(), threading.Event()

    def long_query() -> None:
        with fixture_db.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM contacts").fetchall()
            started.set()
            release.wait(10)

    worker = threading.Thread(target=long_query)
    worker.start()
    started.wait(10)
    timer = threading.Timer(0.5, release.set)
    timer.start()
    assert fixture_db.rewrite()  # waited for the query, then rewrote
    worker.join()
    assert totals(fixture_db, ContactFilter()).contacts == 25


# --- backups that restore -----------------------------------------------------------------


def v4_backup(folder: Path, *, with_secret: bool) -> Path:
    """The backup release 5666a42 (schema 4) made (tests/data/care/make_v4_backup.py), in
    ``folder``, with the secret that release kept beside it or without."""
    import gzip

    folder.mkdir(parents=True, exist_ok=True)
    copy = folder / "contactload-v4.duckdb"
    copy.write_bytes(gzip.decompress((CARE / "contactload-v4.duckdb.gz").read_bytes()))
    if with_secret:
        shutil.copy(CARE / "contactload-v4.secret", folder / ".contactload-secret")
    return copy


def test_a_backup_of_an_earlier_version_restores_migrated(tmp_path: Path) -> None:
    from analytics.storage.schema import LATEST_VERSION
    from tests.conftest import load_fixture_csv

    source = v4_backup(tmp_path / "old", with_secret=True)
    target = tmp_path / "restored" / "contactload.duckdb"
    result = restore(LOCAL, source, target)
    # the fixture's 25 contacts and 7 clients, the 2 sessions, Avery's boundary
    assert (result.rows["contacts"], result.rows["clients"], result.rows["sessions"]) == (25, 7, 2)
    assert (result.rows["boundaries"], result.rows["boundary_changes"]) == (1, 1)
    db = Database(target)
    try:
        assert db.row("SELECT max(version) FROM schema_version", []) == (LATEST_VERSION,)
        figures = totals(db, ContactFilter())
        assert (figures.contacts, figures.minutes, figures.active_clients) == (25, 400.0, 7)
        # the secret came back: importing the same contacts again finds every one stored
        load_fixture_csv(db, "fixture_contacts.csv")
        assert db.row("SELECT count(*) FROM contacts", []) == (25,)
        assert db.row("SELECT count(*) FROM clients", []) == (7,)
    finally:
        db.close()
    # and a backup of the restored database restores again, secret inside
    again = Database(target)
    try:
        newer = backup(again, LOCAL, tmp_path / "newer.duckdb")
    finally:
        again.close()
    second = tmp_path / "second" / "contactload.duckdb"
    assert restore(LOCAL, newer.path, second).rows["contacts"] == 25
    assert (second.parent / ".contactload-secret").read_bytes() == (
        CARE / "contactload-v4.secret"
    ).read_bytes()


def test_an_old_backup_without_its_secret_is_refused_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    source = v4_backup(tmp_path / "old", with_secret=False)
    target = tmp_path / "restored" / "contactload.duckdb"
    with pytest.raises(BackupError, match="holds no pseudonym secret") as refused:
        restore(LOCAL, source, target)
    assert "\n" not in str(refused.value)
    assert not target.parent.exists()
    # another installation's secret in the target folder proves nothing either
    target.parent.mkdir()
    (target.parent / ".contactload-secret").write_text("ab" * 32)
    with pytest.raises(BackupError, match="holds no pseudonym secret"):
        restore(LOCAL, source, target)
    assert sorted(p.name for p in target.parent.iterdir()) == [".contactload-secret"]
    # the CLI says it in one line
    result = run("restore", source, "--db", target, cwd=tmp_path)
    assert "holds no pseudonym secret" in assert_one_line_error(result)


def test_restore_refuses_a_folder_keyed_by_another_secret_before_writing(
    fixture_db: Database, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.duckdb"
    backup(fixture_db, LOCAL, copy)
    target = tmp_path / "elsewhere" / "contactload.duckdb"
    target.parent.mkdir()
    (target.parent / ".contactload-secret").write_text("cd" * 32)
    with pytest.raises(BackupError, match="another installation's pseudonym secret"):
        restore(LOCAL, copy, target)
    assert sorted(p.name for p in target.parent.iterdir()) == [".contactload-secret"]


def test_a_backup_into_a_folder_of_another_installation_keeps_its_own_secret(
    fixture_db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "shared"
    folder.mkdir()
    (folder / ".contactload-secret").write_text("ef" * 32)  # someone else's
    copy = backup(fixture_db, LOCAL, folder / "copy.duckdb").path
    target = tmp_path / "restored" / "contactload.duckdb"
    restore(LOCAL, copy, target)  # the secret inside wins over the one beside
    assert (target.parent / ".contactload-secret").read_bytes() == (
        fixture_db.path.parent / ".contactload-secret"
    ).read_bytes()


def test_the_restored_database_does_not_hold_the_secret(
    fixture_db: Database, tmp_path: Path
) -> None:
    secret = (fixture_db.path.parent / ".contactload-secret").read_text().strip()
    copy = backup(fixture_db, LOCAL, tmp_path / "copy.duckdb").path
    with duckdb_read_only(copy) as connection:  # the backup holds it
        assert connection.execute("SELECT secret FROM backup_secret").fetchall() == [(secret,)]
    target = tmp_path / "restored" / "contactload.duckdb"
    restore(LOCAL, copy, target)
    db = Database(target)
    try:
        assert secret not in every_value(db)
    finally:
        db.close()
    assert traces(file_bytes(target), secret) == []


def duckdb_read_only(path: Path):  # type: ignore[no-untyped-def]
    import duckdb

    return duckdb.connect(str(path), read_only=True)


def test_a_restore_killed_midway_leaves_nothing_after_the_next_start(
    fixture_db: Database, tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess

    from analytics.importing.limits import PAUSE_ENV_VAR
    from analytics.storage.working_copy import remove_leftovers
    from tests.test_cli import CONTACTLOAD
    from tests.test_faults import wait_for_line

    copy = backup(fixture_db, LOCAL, tmp_path / "copy.duckdb").path
    target = tmp_path / "restored" / "contactload.duckdb"
    process = subprocess.Popen(
        [CONTACTLOAD, "restore", str(copy), "--db", str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, PAUSE_ENV_VAR: "restore-copied"},
    )
    try:
        wait_for_line(process, "paused at restore-copied")
        hidden = sorted(p.name for p in target.parent.iterdir())
        # a full copy of the backup and its lock, hidden beside the target
        assert len(hidden) == 2 and all(
            name.startswith(".contactload.duckdb.restoring-") for name in hidden
        )
        assert remove_leftovers(target) == []  # a running restore keeps its copy
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    assert sorted(p.name for p in target.parent.iterdir()) == hidden
    Database(target).close()  # the next start
    assert sorted(p.name for p in target.parent.iterdir()) == ["contactload.duckdb"]


def test_leftover_copies_beside_a_database_go_at_start(tmp_path: Path) -> None:
    path = tmp_path / "contactload.duckdb"
    Database(path).close()
    leftovers = [
        ".contactload.duckdb.restoring-0a1b2c3d",
        ".contactload.duckdb.restoring-0a1b2c3d.wal",
        ".contactload.duckdb.restoring-0a1b2c3d.lock",
        "..contactload.duckdb.restoring-0a1b2c3d.rewriting-4e5f6a7b",
        ".contactload.duckdb.rewriting-99aa88bb",
    ]
    keep = ["contactload.duckdb.restoring-notes.txt", ".other.duckdb.restoring-0a1b2c3d"]
    for name in leftovers + keep:
        (tmp_path / name).write_bytes(b"copy")
    Database(path).close()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["contactload.duckdb", *keep])


def test_import_page_says_how_many_rows_of_an_erased_client_it_skips(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    path = tmp_path / "contactload.duckdb"
    db = Database(path)
    import_file(db, CARE / "toggl_week16.csv", file_name="week16.csv")
    erase_client(db, LOCAL, key_of(db, LABEL))
    db.close()
    monkeypatch.setenv("CONTACTLOAD_DB", str(path))
    app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"))
    app.run(timeout=60)
    app.switch_page("pages/import_data.py").run(timeout=60)
    upload = CARE / "toggl_weeks16-17.csv"
    app.file_uploader(key="import_files").set_value(
        ("weeks16-17.csv", upload.read_bytes(), "text/csv")
    ).run(timeout=60)
    assert not app.exception
    note = "5 rows were skipped: their client was erased; an erased client is never imported again."
    assert [info.value for info in app.info] == [note]  # in the preview
    app.button(key="import_commit").click().run(timeout=60)
    assert not app.exception
    assert f"weeks16-17.csv: {note}" in [info.value for info in app.info]
    (success,) = [message.value for message in app.success]
    # (the batch number: the preview's rolled-back batch used one from the sequence)
    assert success.startswith("weeks16-17.csv: 1 contacts imported, 2 already stored, 0 rejected")


def test_erasure_in_an_encrypted_database_rewrites_it_encrypted(tmp_path: Path) -> None:
    from analytics.errors import ContactLoadError

    key = "correct horse battery staple"
    path = tmp_path / "secret.duckdb"
    db = Database(path, key=key, allow_unsafe_crypto=True)
    import_file(db, CARE / "toggl_week16.csv", file_name="week16.csv")
    assert erase_client(db, LOCAL, key_of(db, LABEL)).rewritten
    assert LABEL not in every_value(db)
    db.close()
    with pytest.raises(ContactLoadError):
        Database(path, key=None)  # still encrypted
    again = Database(path, key=key, allow_unsafe_crypto=True)
    try:
        assert again.row("SELECT count(*), sum(minutes) FROM contacts", []) == (2, 10.0)
    finally:
        again.close()
