"""Data care: consistent backups, verified restores, and erasing one client's data.

A backup is a second DuckDB file written by ``COPY FROM DATABASE`` inside one read
transaction of the running process, so it is one consistent moment even while imports
commit on other threads. The pseudonym secret travels inside it (table ``backup_secret``;
without the secret, every client imported after a restore would get a new key), so a
backup is as confidential as the database itself.

A restore never replaces a file in use. It checks, before writing anything, that the
secret it will use recomputes the backup's client keys and that the target folder does
not key clients with another secret; then it copies the backup beside the target, applies
the migrations this version has and the backup lacks, takes the secret out (the live file
never holds it), rewrites the copy and checks that every table of the backup holds the
same rows before moving it into place. A restore killed midway leaves a hidden copy that
the next start removes (``working_copy.remove_leftovers``). Backups made before the secret went
inside keep it beside them (``.contactload-secret``, or in the ZIP), and restore from there.

Erasure (the right to be forgotten) deletes every row that names the client, in every table
with a ``client_id`` column (read from the catalog, so tables added later are covered), and
the client itself; takes the client's key out of every text column and its label out of
the history (audit details, boundary changes, import file names); remembers the erasure
only as a keyed hash of the key (``erased_clients``), which imports check to skip the
client's rows; and rewrites the file so no freed block keeps the old rows.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics.access.scope import Scope
from analytics.errors import ContactLoadError, DatabaseLockedError, PermissionDeniedError
from analytics.storage import audit
from analytics.storage.database import (
    REWRITE_PENDING,
    Database,
    copy_database,
    detach_database,
    quoted,
    table_counts,
)
from analytics.storage.encryption import configured_key
from analytics.storage.pseudonyms import (
    client_key,
    erasure_ref,
    load_or_create_secret,
    read_secret,
    secret_path,
    write_secret,
)
from analytics.storage.schema import MIGRATIONS
from analytics.storage.sharing import (
    holder_name,
    print_waiting,
    turn_for,
    wait_seconds,
    waiting_sentence,
)
from analytics.storage.sql import execute, identifier, query
from analytics.storage.working_copy import (
    hold_working_copy,
    release_working_copy,
    working_copy_path,
)

SECRET_TABLE = "backup_secret"
"""The one-row table a backup carries the pseudonym secret in (never in a live database)."""

KEY_CHECKS = 50
"""How many of a backup's clients a restore recomputes the key of to prove the secret."""

ERASED_LABEL = "[erased client]"
"""What stands in the history where an erased client's label stood."""

_HISTORY_TEXT = {
    "audit_log": ("detail",),
    "boundary_changes": ("what", "before_value", "after_value"),
    "import_batches": ("file_name", "source"),
}
"""Free-text columns of the history that may name a client by label (the label is taken
out of these; the key is taken out of every text column)."""


class BackupError(ContactLoadError):
    """A backup or restore could not be made or did not verify."""


class UnknownClientError(ContactLoadError):
    """No client has the key given."""


@dataclass(frozen=True)
class BackupResult:
    """A backup file and the rows per table it holds (checked after writing)."""

    path: Path
    rows: dict[str, int]


def backup(db: Database, scope: Scope, out: Path | str) -> BackupResult:
    """Write a consistent copy of the whole database, with its pseudonym secret inside,
    to ``out`` (a new file)."""
    scope.require_import()  # a backup holds everyone's data: local mode and admins only
    out = Path(out)
    if out.exists():
        raise BackupError(f"{out} already exists; choose a new file name for the backup.")
    if not out.parent.is_dir():
        raise BackupError(f"The folder {out.parent} does not exist; create it or choose another.")
    secret = read_secret(secret_path(db.path))
    alias = f"backup_{uuid.uuid4().hex[:12]}"
    with db.cursor() as cursor:
        (source,) = cursor.execute("SELECT current_database()").fetchone() or ("",)
        try:
            execute(cursor, db.attach(alias, out))
            cursor.execute("BEGIN TRANSACTION")
            try:
                rows = table_counts(cursor, str(source))
                execute(cursor, copy_database(str(source), alias))
                if secret is not None:
                    backup_alias, secret_table = identifier(alias), identifier(SECRET_TABLE)
                    execute(
                        cursor,
                        query(
                            "CREATE TABLE {alias}.main.{table} (secret VARCHAR)",
                            alias=backup_alias,
                            table=secret_table,
                        ),
                    )
                    execute(
                        cursor,
                        query(
                            "INSERT INTO {alias}.main.{table} VALUES ($secret)",
                            alias=backup_alias,
                            table=secret_table,
                            secret=secret.hex(),
                        ),
                    )
                copied = table_counts(cursor, alias)
                copied.pop(SECRET_TABLE, None)
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
        except duckdb.Error as error:
            execute(cursor, detach_database(alias))
            out.unlink(missing_ok=True)
            Path(f"{out}.wal").unlink(missing_ok=True)
            raise BackupError(f"The backup to {out} failed: {error}") from error
        execute(cursor, query("DETACH DATABASE {alias}", alias=identifier(alias)))
    if copied != rows:
        out.unlink(missing_ok=True)
        raise BackupError(f"The backup to {out} did not hold every row; nothing was kept.")
    audit.record(db, scope, "backup", f"{sum(rows.values())} rows to {out.name}")
    return BackupResult(path=out, rows=rows)


ARCHIVE_DATABASE = "contactload.duckdb"


def backup_archive(db: Database, scope: Scope) -> bytes:
    """A backup as the bytes of one ZIP file (the database, its secret inside), for the
    dashboard's download button: the running server makes it, so no second process
    needs the database file."""
    import tempfile
    import zipfile

    with tempfile.TemporaryDirectory(prefix="contactload-backup-") as folder:
        copy = Path(folder) / ARCHIVE_DATABASE
        backup(db, scope, copy)
        archive = Path(folder) / "backup.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            bundle.write(copy, ARCHIVE_DATABASE)
        return archive.read_bytes()


def _unpacked(archive: Path, folder: Path) -> Path:
    """The database of a backup ZIP, extracted into ``folder`` (with the secret file that
    ZIPs of earlier versions carried beside it); only those two known names are read, so
    an archive cannot write anywhere else."""
    import zipfile

    try:
        with zipfile.ZipFile(archive) as bundle:
            names = set(bundle.namelist())
            if ARCHIVE_DATABASE not in names:
                raise BackupError(f"{archive} holds no {ARCHIVE_DATABASE}; it is not a backup.")
            for name in (ARCHIVE_DATABASE, secret_path(folder / ARCHIVE_DATABASE).name):
                if name in names:
                    (folder / name).write_bytes(bundle.read(name))
    except zipfile.BadZipFile as error:
        raise BackupError(f"{archive} is not a readable ZIP backup.") from error
    return folder / ARCHIVE_DATABASE


@dataclass(frozen=True)
class _BackupContents:
    """What a restore reads from a backup before writing anything."""

    rows: dict[str, int]
    """Rows per table, the carried secret's table left out."""
    version: int
    secret: bytes | None
    """The pseudonym secret carried inside (None in backups of earlier versions)."""
    clients: list[tuple[str, str, str]]
    """Some clients as (practice, label, key), to prove a secret."""


def restore(
    scope: Scope, source: Path | str, target: Path | str, *, force: bool = False
) -> BackupResult:
    """Put the backup ``source`` in place of the database ``target``, after checking it.

    Refuses to overwrite an existing ``target`` without ``force``, a ``target`` another
    program has open, and a backup whose pseudonym secret is missing or differs from the
    one already keying clients in ``target``'s folder (before writing anything). The copy
    is migrated to this version and verified (every table of the backup holds the same
    rows) before it replaces anything.
    """
    scope.require_import()
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise BackupError(f"{source} does not exist or is not a file.")
    if source.suffix.lower() == ".zip":
        import tempfile

        with tempfile.TemporaryDirectory(prefix="contactload-restore-") as folder:
            unpacked = _unpacked(source, Path(folder))
            return restore(scope, unpacked, target, force=force)
    if target.exists() and not force:
        raise BackupError(
            f"{target} already exists; add --force to replace it with the backup {source.name}."
        )
    if target.exists():
        with _unused(target):
            pass  # refuse early, before the copy, a file another program keeps
    contents = _read_backup(source)
    secret = _matching_secret(source, target, contents)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = working_copy_path(target, "restoring")
    holder = hold_working_copy(staged)
    try:
        try:
            shutil.copyfile(source, staged)
        except OSError as error:  # a full disk, say
            raise BackupError(
                f"{source.name} could not be copied beside {target.name} ({error.strerror}); "
                "nothing was restored."
            ) from error
        _pause_point("restore-copied")
        found = _migrated_and_checked(source, staged, contents)
        if secret is not None and not secret_path(target).exists():
            write_secret(target, secret)
        with _unused(target) if target.exists() else contextlib.nullcontext():
            Path(f"{target}.wal").unlink(missing_ok=True)  # a WAL of the replaced file
            os.replace(staged, target)
    finally:
        release_working_copy(staged, holder)
    restored = Database(target)
    try:
        audit.record(restored, scope, "restore", f"from {source.name}")
    finally:
        restored.close()
    return BackupResult(path=target, rows=found)


def _pause_point(stage: str) -> None:
    """Wait at ``stage`` when a fault test asked for it (``CONTACTLOAD_PAUSE_AT``)."""
    from analytics.importing.limits import PAUSE_ENV_VAR

    if os.environ.get(PAUSE_ENV_VAR) == stage:
        import sys
        import time

        print(f"paused at {stage}", file=sys.stderr, flush=True)
        time.sleep(120)


def _matching_secret(source: Path, target: Path, contents: _BackupContents) -> bytes | None:
    """The pseudonym secret the restored database needs, proven against the backup's
    client keys; refuses (before anything is written) a missing or mismatched one."""

    def proves(secret: bytes | None) -> bool:
        return secret is not None and all(
            client_key(secret, practice, label) == key for practice, label, key in contents.clients
        )

    held = read_secret(secret_path(target))
    if contents.secret is not None:
        if not proves(contents.secret):
            raise BackupError(
                f"The pseudonym secret inside {source.name} does not match its client keys; "
                "the backup is damaged and nothing was restored."
            )
        secret: bytes | None = contents.secret
    else:  # a backup of an earlier version: its secret was kept beside it
        beside = read_secret(secret_path(source))
        secret = next((s for s in (beside, held) if proves(s)), None)
        if secret is None and contents.clients:
            raise BackupError(
                f"{source.name} holds no pseudonym secret and no secret beside it or in "
                f"{target.parent} matches its client keys; put the .contactload-secret it was "
                "made with beside it, or every client imported again would count as new."
            )
        secret = secret or beside
    if secret is not None and held is not None and held != secret:
        raise BackupError(
            f"{target.parent} already keys clients with another installation's pseudonym "
            f"secret ({secret_path(target).name}); restore into another folder, or move that "
            "file aside if the database it keys is the one being replaced."
        )
    return secret


def _migrated_and_checked(source: Path, staged: Path, contents: _BackupContents) -> dict[str, int]:
    """Migrate the copy ``staged``, take the carried secret out, rewrite it, and check
    that every table of the backup holds the same rows; the rows per table."""
    check = Database(staged)  # opens, refuses a newer schema, migrates an older one
    try:
        with check.transaction() as cursor:
            execute(cursor, query("DROP TABLE IF EXISTS {table}", table=identifier(SECRET_TABLE)))
        if not check.rewrite():  # the secret's dropped table leaves nothing in the file
            raise BackupError(f"The copy of {source} could not be rewritten; nothing was restored.")
        with check.cursor() as cursor:
            (name,) = cursor.execute("SELECT current_database()").fetchone() or ("",)
            found = table_counts(cursor, str(name))
    finally:
        check.close()
    expected = dict(contents.rows)
    # the migrations this version applied each add their row to schema_version
    expected["schema_version"] = expected.get("schema_version", 0) + sum(
        1 for migration in MIGRATIONS if migration.version > contents.version
    )
    missing = sorted(table for table, rows in expected.items() if found.get(table) != rows)
    if missing:
        raise BackupError(
            f"The copy of {source} does not hold every row after migrating it "
            f"({', '.join(missing)}); nothing was restored."
        )
    return found


def _read_backup(path: Path) -> _BackupContents:
    """Rows per table, schema version, carried secret and some client keys of a backup,
    opened read-only (a backup is never changed)."""
    key = configured_key()
    try:
        if key is None:
            connection = duckdb.connect(str(path), read_only=True)
        else:  # reading an encrypted file needs no extension
            connection = duckdb.connect()
            connection.execute("ATTACH ? AS backup (ENCRYPTION_KEY ?, READ_ONLY)", [str(path), key])
            connection.execute("USE backup")
    except duckdb.Error as error:
        raise BackupError(f"{path} is not a readable Contact Load backup: {error}") from error
    try:
        (name,) = connection.execute("SELECT current_database()").fetchone() or ("",)
        counts = table_counts(connection, str(name))
        if "contacts" not in counts or "clients" not in counts or "schema_version" not in counts:
            raise BackupError(f"{path} is a DuckDB file but not a Contact Load backup.")
        secret = None
        if counts.pop(SECRET_TABLE, None):
            carried = connection.execute("SELECT min(secret) FROM backup_secret").fetchone()
            secret = bytes.fromhex(str(carried[0] if carried else ""))
        (version,) = connection.execute(
            "SELECT coalesce(max(version), 0) FROM schema_version"
        ).fetchone() or (0,)
        clients = connection.execute(
            "SELECT p.name, c.label, c.client_key FROM clients AS c "
            "JOIN practices AS p USING (practice_id) ORDER BY c.client_id LIMIT ?",
            [KEY_CHECKS],
        ).fetchall()
    except (duckdb.Error, ValueError) as error:
        raise BackupError(f"{path} is not a readable Contact Load backup: {error}") from error
    finally:
        connection.close()
    return _BackupContents(
        rows=counts,
        version=int(version),
        secret=secret,
        clients=[(str(p), str(label), str(k)) for p, label, k in clients],
    )


IN_USE = (
    "The database {path} is in use by another program; stop the dashboard "
    "(or the other Contact Load) before restoring over it."
)


@contextmanager
def _unused(path: Path) -> Iterator[None]:
    """Hold the turn of a database file no other process has open, so it can be replaced;
    a holder (the dashboard) is waited for (``CONTACTLOAD_WAIT_SECONDS``), then refused."""
    bound = wait_seconds()
    deadline = time.monotonic() + bound
    turn = turn_for(path)
    announced = False
    with turn.waiting():
        while True:
            # The turn is taken for each try only, so a holder that needs it (to finish a
            # rewrite) is never kept waiting by this wait.
            with turn.taken(deadline) as taken:
                if not taken:
                    raise DatabaseLockedError(IN_USE.format(path=path))
                try:
                    duckdb.connect(str(path)).close()
                except duckdb.IOException as error:
                    if "lock" not in str(error).lower():
                        raise
                    if time.monotonic() >= deadline:
                        raise DatabaseLockedError(IN_USE.format(path=path)) from error
                    if not announced and bound > 0:
                        announced = True
                        print_waiting(waiting_sentence(holder_name(error), path, bound))
                else:
                    yield
                    return
            time.sleep(0.02)


@dataclass(frozen=True)
class Erasure:
    """What erasing one client removed: rows per table; the reference the erasure list
    and the audit log keep instead of the key; whether the file was rewritten already."""

    client_key: str
    rows: dict[str, int]
    erasure_ref: str = ""
    rewritten: bool = True
    """False when other queries held the database; the rewrite then runs at next start."""

    @property
    def described(self) -> str:
        """The rows removed in words, e.g. ``"7 contacts, 1 client record"`` (the CLI and
        the Data care page say the same)."""
        from analytics.output.wording import TABLE_WORDS  # wording imports audit, as care does

        return ", ".join(
            f"{count:,} {TABLE_WORDS.get(table, table.replace('_', ' '))}"
            for table, count in self.rows.items()
            if count
        )


def erase_client(db: Database, scope: Scope, client_key: str) -> Erasure:
    """Delete every row of the client ``client_key`` in every table, and nothing else;
    take key and label out of the history; remember the erasure so imports skip the
    client; rewrite the file so nothing of it stays in freed blocks.

    Only local mode and admins may erase; the audit entry (in the same transaction)
    names the erasure reference and the rows removed, never the label or the key.
    """
    if scope.role not in ("local", "admin"):
        raise PermissionDeniedError(
            f"{scope.identity} ({scope.role}) may not erase a client's data; ask an admin."
        )
    removed: dict[str, int] = {}
    with db.transaction() as cursor:
        row = cursor.execute(
            "SELECT client_id, label FROM clients WHERE client_key = ?", [client_key]
        ).fetchone()
        if row is None:
            raise UnknownClientError(
                f"No client has the key {client_key!r}; copy it from the Clients page or "
                "`contactload summary --by client --json`."
            )
        client_id, label = row
        reference = erasure_ref(load_or_create_secret(db.path), client_key)
        (catalog,) = cursor.execute("SELECT current_database()").fetchone() or ("",)
        tables = cursor.execute(
            """
            SELECT table_name FROM duckdb_columns()
            WHERE database_name = ? AND schema_name = 'main' AND column_name = 'client_id'
              AND table_name <> 'clients'
            ORDER BY table_name
            """,
            [catalog],
        ).fetchall()
        for (table,) in tables:
            deleted = execute(
                cursor,
                query(
                    "DELETE FROM {table} WHERE client_id = $client_id RETURNING 1",
                    table=quoted(table),
                    client_id=client_id,
                ),
            ).fetchall()
            removed[table] = len(deleted)
        cursor.execute("DELETE FROM clients WHERE client_id = ?", [client_id])
        removed["clients"] = 1
        cursor.execute(
            "INSERT INTO erased_clients (erasure_ref) VALUES (?) ON CONFLICT DO NOTHING",
            [reference],
        )
        _scrub_history(cursor, str(catalog), str(label), client_key, reference)
        audit.record(
            cursor,
            scope,
            "erase_client",
            f"client erased as {reference}: "
            + ", ".join(f"{rows} {table}" for table, rows in removed.items() if rows),
        )
        # Until the rewrite below has replaced the file, the next start repeats it.
        cursor.execute(
            "INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT DO NOTHING",
            [REWRITE_PENDING],
        )
    rewritten = db.rewrite()
    return Erasure(client_key=client_key, rows=removed, erasure_ref=reference, rewritten=rewritten)


def _scrub_history(
    cursor: duckdb.DuckDBPyConnection, catalog: str, label: str, key: str, reference: str
) -> None:
    """Replace the erased client's key by its erasure reference in every text column of
    every table, and its label (as a whole word) in the history's free text."""
    columns = cursor.execute(
        """
        SELECT table_name, column_name FROM duckdb_columns()
        WHERE database_name = ? AND schema_name = 'main' AND data_type = 'VARCHAR'
        ORDER BY table_name, column_name
        """,
        [catalog],
    ).fetchall()
    for table, column in columns:
        execute(
            cursor,
            query(
                "UPDATE {table} SET {column} = replace({column}, $key, $reference) "
                "WHERE contains({column}, $key)",
                table=quoted(table),
                column=quoted(column),
                key=key,
                reference=reference,
            ),
        )
    # The label as a word of its own (letters or digits on neither side), so erasing
    # "Al" leaves "Also" alone; RE2 reads every other character as a hex escape.
    word = "".join(ch if ch.isalnum() else f"\\x{{{ord(ch):X}}}" for ch in label)
    pattern = rf"(^|[^\pL\pN]){word}([^\pL\pN]|$)"
    present = {(str(table), str(column)) for table, column in columns}
    for table, names in _HISTORY_TEXT.items():
        for column in names:
            if (table, column) not in present:
                continue
            execute(
                cursor,
                query(
                    "UPDATE {table} "
                    "SET {column} = regexp_replace({column}, $pattern, $erased, 'g') "
                    "WHERE regexp_matches({column}, $pattern)",
                    table=quoted(table),
                    column=quoted(column),
                    pattern=pattern,
                    erased=rf"\1{ERASED_LABEL}\2",
                ),
            )
