"""Schema, versioned migrations and the Database wrapper, on real DuckDB files in tmp_path.

Every expected value is written out by hand; the code under test never computes one.
"""

import subprocess
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from analytics.errors import DatabaseError, DatabaseLockedError, SchemaTooNewError
from analytics.storage.database import Database
from analytics.storage.schema import LATEST_VERSION, MIGRATIONS, Migration, current_version, migrate

pytestmark = pytest.mark.real_migrations  # new files here run the migrations themselves

V1_TABLES = {"practices", "therapists", "clients", "import_batches", "contacts", "meta"}
"""The tables migration 1 creates (schema_version comes on top)."""
APP_TABLES = V1_TABLES | {
    "classification_rules",
    "saved_mappings",
    "boundaries",
    "working_hours",
    "boundary_changes",
    "sessions",
    "phone_numbers",
    "settings",
    "audit_log",
    "billing_rules",
    "billing_fees",
    "erased_clients",
    "dismissed_alerts",
    "inbox_files",
    "message_addresses",
}
"""Every table of the latest schema (2: rules and mappings; 3: boundaries; 4: sessions,
phone numbers, settings, audit log; 5: billing rules and fees; 6: erased clients;
10: dismissed alerts; 16: the inbox's history; 17: e-mail addresses and chat names)."""


def table_names(cursor: duckdb.DuckDBPyConnection) -> set[str]:
    """The base tables of the open file's main schema."""
    rows = cursor.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'main' AND table_type = 'BASE TABLE'"
    ).fetchall()
    return {name for (name,) in rows}


def column_names(cursor: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Column names of ``table`` in declaration order."""
    rows = cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
        "ORDER BY ordinal_position",
        [table],
    ).fetchall()
    return [name for (name,) in rows]


def versions(cursor: duckdb.DuckDBPyConnection) -> list[tuple[int, str]]:
    """(version, description) rows of schema_version, oldest first."""
    rows = cursor.execute(
        "SELECT version, description FROM schema_version ORDER BY version"
    ).fetchall()
    return [(int(version), str(description)) for version, description in rows]


def is_one_sentence(message: str) -> bool:
    """One line, ends with a full stop and has no other sentence break inside."""
    return "\n" not in message and message.endswith(".") and ". " not in message


# A synthetic second step: a new table and a new column on an existing one.
NOTES_MIGRATION = Migration(
    version=2,
    description="practice notes and a colour per practice",
    statements=(
        "CREATE TABLE practice_notes (practice_id INTEGER NOT NULL, note VARCHAR NOT NULL)",
        "ALTER TABLE practices ADD COLUMN colour VARCHAR",
    ),
)


# --- a new file -------------------------------------------------------------------------


def test_new_file_gets_the_latest_schema(tmp_path: Path) -> None:
    db = Database(tmp_path / "new.duckdb")
    try:
        with db.cursor() as cursor:
            # Every migration is recorded, with its description.
            assert versions(cursor) == [(m.version, m.description) for m in MIGRATIONS]
            # Written out: the first migration's description.
            assert versions(cursor)[0] == (
                1,
                "practices, therapists, clients, import batches and contacts",
            )
            assert table_names(cursor) == APP_TABLES | {"schema_version"}
            assert current_version(cursor) == LATEST_VERSION
            # meta starts with data_version 0.
            assert cursor.execute("SELECT key, value FROM meta").fetchall() == [
                ("data_version", "0")
            ]
            # All data tables start empty.
            for table in ("practices", "therapists", "clients", "import_batches", "contacts"):
                assert cursor.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
        assert db.data_version() == 0
    finally:
        db.close()


def test_current_version_of_an_empty_file_is_zero(tmp_path: Path) -> None:
    connection = duckdb.connect(str(tmp_path / "raw.duckdb"))
    try:
        assert current_version(connection) == 0
    finally:
        connection.close()


def test_reopening_applies_nothing_and_keeps_data(tmp_path: Path) -> None:
    path = tmp_path / "again.duckdb"
    db = Database(path)
    with db.transaction() as cursor:
        cursor.execute("INSERT INTO practices (name) VALUES ('Harbor Counseling')")
    with db.cursor() as cursor:
        applied_at_before = cursor.execute("SELECT applied_at FROM schema_version").fetchall()
    db.close()

    db = Database(path)
    try:
        with db.cursor() as cursor:
            assert migrate(cursor) == []  # nothing left to apply
            assert versions(cursor) == [(m.version, m.description) for m in MIGRATIONS]
            # The existing version row was not rewritten.
            assert cursor.execute("SELECT applied_at FROM schema_version").fetchall() == (
                applied_at_before
            )
            assert cursor.execute("SELECT practice_id, name FROM practices").fetchall() == [
                (1, "Harbor Counseling")
            ]
        # One committed transaction so far: data_version 0 -> 1, and it survived.
        assert db.data_version() == 1
    finally:
        db.close()


# --- upgrades ---------------------------------------------------------------------------


def test_upgrade_from_an_older_file(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    connection = duckdb.connect(str(path))
    assert migrate(connection, MIGRATIONS[:1]) == [1]
    connection.execute("INSERT INTO practices (name) VALUES ('Harbor Counseling')")
    connection.close()

    connection = duckdb.connect(str(path))
    try:
        assert current_version(connection) == 1
        assert migrate(connection, (*MIGRATIONS[:1], NOTES_MIGRATION)) == [2]
        assert current_version(connection) == 2
        assert versions(connection) == [
            (1, "practices, therapists, clients, import batches and contacts"),
            (2, "practice notes and a colour per practice"),
        ]
        # The new objects exist...
        assert "practice_notes" in table_names(connection)
        assert column_names(connection, "practices") == ["practice_id", "name", "colour"]
        # ...and the old row survived, with the new column empty.
        assert connection.execute("SELECT practice_id, name, colour FROM practices").fetchall() == [
            (1, "Harbor Counseling", None)
        ]
        # Running the same list again is a no-op.
        assert migrate(connection, (*MIGRATIONS[:1], NOTES_MIGRATION)) == []
    finally:
        connection.close()


def test_upgrade_applies_several_missing_steps_in_order(tmp_path: Path) -> None:
    path = tmp_path / "steps.duckdb"
    connection = duckdb.connect(str(path))
    try:
        assert migrate(connection, MIGRATIONS[:1]) == [1]
        connection.execute("INSERT INTO practices (name) VALUES ('Lindenhof Praxis')")
        third = Migration(
            version=3,
            description="a default colour",
            # Only works after step 2 added the column: proves the order.
            statements=("UPDATE practices SET colour = 'teal' WHERE colour IS NULL",),
        )
        assert migrate(connection, (*MIGRATIONS[:1], NOTES_MIGRATION, third)) == [2, 3]
        assert current_version(connection) == 3
        assert connection.execute("SELECT name, colour FROM practices").fetchall() == [
            ("Lindenhof Praxis", "teal")
        ]
    finally:
        connection.close()


def test_failing_migration_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "broken.duckdb"
    connection = duckdb.connect(str(path))
    assert migrate(connection, MIGRATIONS[:1]) == [1]
    connection.execute("INSERT INTO practices (name) VALUES ('Harbor Counseling')")
    broken = Migration(
        version=2,
        description="half a migration",
        statements=(
            "CREATE TABLE practice_notes (practice_id INTEGER, note VARCHAR)",
            "THIS IS NOT SQL AT ALL",
        ),
    )
    with pytest.raises(duckdb.ParserException):
        migrate(connection, (*MIGRATIONS[:1], broken))
    connection.close()

    # Reopen: what is on disk is exactly the version-1 file.
    connection = duckdb.connect(str(path))
    try:
        assert current_version(connection) == 1
        assert versions(connection) == [(1, MIGRATIONS[0].description)]
        assert "practice_notes" not in table_names(connection)  # first statement undone
        assert table_names(connection) == V1_TABLES | {"schema_version"}
        assert connection.execute("SELECT name FROM practices").fetchall() == [
            ("Harbor Counseling",)
        ]
    finally:
        connection.close()


def test_failing_first_migration_leaves_a_new_file_empty(tmp_path: Path) -> None:
    path = tmp_path / "broken-new.duckdb"
    connection = duckdb.connect(str(path))
    broken = Migration(
        version=1,
        description="broken start",
        statements=("CREATE TABLE a (x INTEGER)", "CREATE TABLE a (x INTEGER)"),
    )
    try:
        with pytest.raises(duckdb.CatalogException):
            migrate(connection, (broken,))
        # Even schema_version (created inside the same transaction) is gone.
        assert table_names(connection) == set()
        assert current_version(connection) == 0
    finally:
        connection.close()


def test_schema_newer_than_the_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.duckdb"
    Database(path).close()
    future = max(migration.version for migration in MIGRATIONS) + 100
    connection = duckdb.connect(str(path))
    future = LATEST_VERSION + 100  # newer than any migration, whichever is last
    connection.execute(
        "INSERT INTO schema_version (version, description) VALUES (?, 'from the future')",
        [future],
    )
    connection.close()

    with pytest.raises(SchemaTooNewError) as caught:
        Database(path)
    message = str(caught.value)
    assert isinstance(caught.value, DatabaseError)
    assert is_one_sentence(message), message
    assert f"schema version {future}" in message  # the file's version
    assert f"the {LATEST_VERSION} this version" in message  # the code's own version

    # Refusing did not change the file.
    connection = duckdb.connect(str(path))
    try:
        assert current_version(connection) == future
    finally:
        connection.close()


# --- constraints ------------------------------------------------------------------------

VALID_CONTACT = {
    "channel": "phone",
    "category": "scheduling",
    "direction": "client",
    "minutes": 20.0,
}


def insert_contact(cursor: duckdb.DuckDBPyConnection, **overrides: object) -> None:
    """Insert one contact row directly in SQL (values as parameters)."""
    values = {**VALID_CONTACT, **overrides}
    cursor.execute(
        "INSERT INTO contacts (practice_id, therapist_id, client_id, started_at, "
        "local_started_at, minutes, channel, category, direction, batch_id) "
        "VALUES (1, 1, 1, TIMESTAMPTZ '2026-03-02 13:00:00+00', "
        "TIMESTAMP '2026-03-02 08:00:00', ?, ?, ?, ?, 1)",
        [values["minutes"], values["channel"], values["category"], values["direction"]],
    )


def test_a_valid_contact_row_is_accepted(empty_db: Database) -> None:
    with empty_db.cursor() as cursor:
        insert_contact(cursor)
        insert_contact(cursor, minutes=0.0)  # zero minutes is allowed
        assert cursor.execute("SELECT count(*) FROM contacts").fetchone() == (2,)


@pytest.mark.parametrize(
    "override",
    [
        {"channel": "fax"},
        {"channel": "Phone"},  # keys are lower case
        {"category": "billing"},
        {"direction": "outbound"},
        {"minutes": -0.5},
    ],
    ids=["channel", "channel-case", "category", "direction", "negative-minutes"],
)
def test_check_constraints_refuse_bad_contacts(
    empty_db: Database, override: dict[str, object]
) -> None:
    with empty_db.cursor() as cursor:
        with pytest.raises(duckdb.ConstraintException):
            insert_contact(cursor, **override)
        assert cursor.execute("SELECT count(*) FROM contacts").fetchone() == (0,)


def test_direction_defaults_to_unknown(empty_db: Database) -> None:
    with empty_db.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contacts (practice_id, therapist_id, client_id, started_at, "
            "local_started_at, minutes, channel, category, batch_id) VALUES "
            "(1, 1, 1, TIMESTAMPTZ '2026-03-02 13:00:00+00', TIMESTAMP '2026-03-02 08:00:00', "
            "5, 'email', 'reminder', 1)"
        )
        assert cursor.execute("SELECT direction FROM contacts").fetchall() == [("unknown",)]


# --- opening problems -------------------------------------------------------------------


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("Shopping list: milk, eggs, bread.\n" * 200)
    with pytest.raises(DatabaseError) as caught:
        Database(path)
    assert not isinstance(caught.value, DatabaseLockedError)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    assert "notes.duckdb" in message  # says which file
    # The file was not touched.
    assert path.read_text() == "Shopping list: milk, eggs, bread.\n" * 200


def test_a_database_held_by_another_process_is_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACTLOAD_WAIT_SECONDS", "0.3")  # waits its turn, then refuses
    path = tmp_path / "busy.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('ready', flush=True); time.sleep(30)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(DatabaseLockedError) as caught:
            Database(path)
        message = str(caught.value)
        assert is_one_sentence(message), message
        assert "busy.duckdb" in message
        assert "in use by another program" in message
    finally:
        holder.kill()
        holder.wait(timeout=10)


# --- transactions and cursors -----------------------------------------------------------


def test_transaction_rolls_back_on_error(empty_db: Database) -> None:
    assert empty_db.data_version() == 0
    with pytest.raises(RuntimeError, match="stop here"), empty_db.transaction() as cursor:
        cursor.execute("INSERT INTO practices (name) VALUES ('Harbor Counseling')")
        cursor.execute("INSERT INTO import_batches (source, file_name) VALUES ('test', 'a.csv')")
        raise RuntimeError("stop here")
    with empty_db.cursor() as cursor:
        assert cursor.execute("SELECT count(*) FROM practices").fetchone() == (0,)
        assert cursor.execute("SELECT count(*) FROM import_batches").fetchone() == (0,)
    assert empty_db.data_version() == 0  # not bumped: nothing committed


def test_transaction_rolls_back_on_a_database_error(empty_db: Database) -> None:
    with pytest.raises(duckdb.ConstraintException), empty_db.transaction() as cursor:
        cursor.execute("INSERT INTO practices (name) VALUES ('Harbor Counseling')")
        cursor.execute("INSERT INTO practices (name) VALUES ('Harbor Counseling')")
    with empty_db.cursor() as cursor:
        assert cursor.execute("SELECT count(*) FROM practices").fetchone() == (0,)
    assert empty_db.data_version() == 0


def test_transaction_commits_and_bumps_data_version(empty_db: Database) -> None:
    with empty_db.transaction() as cursor:
        cursor.execute("INSERT INTO practices (name) VALUES ('Harbor Counseling')")
    assert empty_db.data_version() == 1
    with empty_db.transaction() as cursor:
        cursor.execute("INSERT INTO practices (name) VALUES ('Lindenhof Praxis')")
    assert empty_db.data_version() == 2  # one step per commit
    with empty_db.cursor() as cursor:
        assert cursor.execute("SELECT name FROM practices ORDER BY practice_id").fetchall() == [
            ("Harbor Counseling",),
            ("Lindenhof Praxis",),
        ]
    # A plain cursor is not a transaction: reading never bumps the version.
    with empty_db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM contacts").fetchone()
    assert empty_db.data_version() == 2


def test_cursor_reports_timestamps_in_utc(empty_db: Database) -> None:
    with empty_db.cursor() as cursor:
        row = cursor.execute(
            "SELECT TIMESTAMPTZ '2026-03-09 21:30:00-04:00', current_setting('TimeZone')"
        ).fetchone()
    assert row is not None
    instant, zone = row
    assert zone == "UTC"
    assert instant == datetime(2026, 3, 10, 1, 30, tzinfo=UTC)  # 21:30 EDT = 01:30Z next day
    assert instant.utcoffset().total_seconds() == 0


def test_cursors_from_many_threads_at_once(fixture_db: Database) -> None:
    threads_count, queries_each = 8, 50
    barrier = threading.Barrier(threads_count)
    results: list[list[int]] = [[] for _ in range(threads_count)]
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            for _ in range(queries_each):
                with fixture_db.cursor() as cursor:
                    row = cursor.execute("SELECT count(*) FROM contacts").fetchone()
                assert row is not None
                results[index].append(int(row[0]))
        except BaseException as error:  # collected and re-checked in the main thread
            errors.append(error)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    # tests/data/fixture_contacts.csv has 25 contact rows below its header.
    assert results == [[25] * queries_each for _ in range(threads_count)]


def test_a_database_open_here_is_locked_for_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DuckDB's POSIX lock is lost when the process closes any descriptor of the file; the
    # header check that reads the file must not be what lets a second writer in.
    monkeypatch.setenv("CONTACTLOAD_WAIT_SECONDS", "0")
    path = tmp_path / "mine.duckdb"
    db = Database(path)
    try:
        assert db.data_version() >= 0  # holds the file now
        other = subprocess.run(
            [sys.executable, "-c", "import duckdb, sys; duckdb.connect(sys.argv[1])", str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert other.returncode != 0
        assert "lock" in other.stderr.lower()
    finally:
        db.close()
