"""Data care: consistent backups, verified restores, and erasing one client's data.

A backup is a second DuckDB file written by ``COPY FROM DATABASE`` inside one read
transaction of the running process, so it is one consistent moment even while imports
commit on other threads; the pseudonym secret is copied beside it (without it, client keys
of later imports would not match). A restore never replaces a file in use and checks the
copy (it opens, migrates and holds the same rows as the backup) before moving it into place.

Erasure (the right to be forgotten) deletes every row that names the client, in every table
with a ``client_id`` column (read from the catalog, so tables added later are covered), and
the client itself; the audit entry names the pseudonymous key, never the label.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics import audit
from analytics.db import Database
from analytics.encryption import configured_key
from analytics.errors import ContactLoadError, DatabaseLockedError, PermissionDeniedError
from analytics.pseudonyms import secret_path
from analytics.scope import Scope


class BackupError(ContactLoadError):
    """A backup or restore could not be made or did not verify."""


class UnknownClientError(ContactLoadError):
    """No client has the key given."""


@dataclass(frozen=True)
class BackupResult:
    """A backup file and the rows per table it holds (checked after writing)."""

    path: Path
    rows: dict[str, int]


def _table_counts(cursor: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, int]:
    """Rows per base table of ``catalog`` (names come from DuckDB's own catalog)."""
    tables = cursor.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND NOT temporary "
        "ORDER BY table_name",
        [catalog],
    ).fetchall()
    counts: dict[str, int] = {}
    for (table,) in tables:
        row = cursor.execute(
            f"SELECT count(*) FROM {_quoted(catalog)}.main.{_quoted(table)}"  # noqa: S608
        ).fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


def _quoted(identifier: str) -> str:
    """A catalog identifier (from DuckDB's own catalog) quoted for SQL."""
    return '"' + identifier.replace('"', '""') + '"'


def backup(db: Database, scope: Scope, out: Path | str) -> BackupResult:
    """Write a consistent copy of the whole database to ``out`` (a new file)."""
    scope.require_import()  # a backup holds everyone's data: local mode and admins only
    out = Path(out)
    if out.exists():
        raise BackupError(f"{out} already exists; choose a new file name for the backup.")
    if not out.parent.is_dir():
        raise BackupError(f"The folder {out.parent} does not exist; create it or choose another.")
    alias = f"backup_{uuid.uuid4().hex[:12]}"
    with db.cursor() as cursor:
        (source,) = cursor.execute("SELECT current_database()").fetchone() or ("",)
        attach, key = db.attach_sql(alias)
        cursor.execute(attach, [str(out), *key])
        try:
            cursor.execute("BEGIN TRANSACTION")
            try:
                rows = _table_counts(cursor, str(source))
                cursor.execute(f"COPY FROM DATABASE {_quoted(str(source))} TO {alias}")
                copied = _table_counts(cursor, alias)
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
        except duckdb.Error as error:
            cursor.execute(f"DETACH DATABASE IF EXISTS {alias}")
            out.unlink(missing_ok=True)
            raise BackupError(f"The backup to {out} failed: {error}") from error
        cursor.execute(f"DETACH DATABASE {alias}")
    if copied != rows:
        out.unlink(missing_ok=True)
        raise BackupError(f"The backup to {out} did not hold every row; nothing was kept.")
    _carry_secret(db.path, out)
    audit.record(db, scope, "backup", f"{sum(rows.values())} rows to {out.name}")
    return BackupResult(path=out, rows=rows)


ARCHIVE_DATABASE = "contactload.duckdb"


def backup_archive(db: Database, scope: Scope) -> bytes:
    """A backup as the bytes of one ZIP file (the database and its pseudonym secret), for
    the dashboard's download button: the running server makes it, so no second process
    needs the database file."""
    import tempfile
    import zipfile

    with tempfile.TemporaryDirectory(prefix="contactload-backup-") as folder:
        copy = Path(folder) / ARCHIVE_DATABASE
        backup(db, scope, copy)
        archive = Path(folder) / "backup.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
            bundle.write(copy, ARCHIVE_DATABASE)
            if secret_path(copy).exists():
                bundle.write(secret_path(copy), secret_path(copy).name)
        return archive.read_bytes()


def _unpacked(archive: Path, folder: Path) -> Path:
    """The database of a backup ZIP, extracted into ``folder`` with its secret; only the
    two known names are read, so an archive cannot write anywhere else."""
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


def restore(
    scope: Scope, source: Path | str, target: Path | str, *, force: bool = False
) -> BackupResult:
    """Put the backup ``source`` in place of the database ``target``, after checking it.

    Refuses to overwrite an existing ``target`` without ``force``, and a ``target`` that
    another program has open. The copy is verified (it opens as a Contact Load database
    and holds the same rows as the backup) before it replaces anything.
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
        _require_unused(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staged = target.with_name(f".{target.name}.restoring-{uuid.uuid4().hex[:8]}")
    try:
        expected = _counts_of_file(source)
        shutil.copy2(source, staged)
        check = Database(staged)  # opens, refuses a newer schema, migrates an older one
        try:
            with check.cursor() as cursor:
                (name,) = cursor.execute("SELECT current_database()").fetchone() or ("",)
                found = _table_counts(cursor, str(name))
        finally:
            check.close()
        if any(found.get(table) != rows for table, rows in expected.items()):
            raise BackupError(
                f"The copy of {source} does not hold every row; nothing was restored."
            )
        _carry_secret(source, target)
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
        Path(f"{staged}.wal").unlink(missing_ok=True)
    restored = Database(target)
    try:
        audit.record(restored, scope, "restore", f"from {source.name}")
    finally:
        restored.close()
    return BackupResult(path=target, rows=found)


def _carry_secret(source: Path, target: Path) -> None:
    """Put the pseudonym secret beside ``source`` beside ``target`` too (it is one per
    folder); refuse when that folder already keys clients with a different secret."""
    held, wanted = secret_path(source), secret_path(target)
    if not held.exists() or held.resolve() == wanted.resolve():
        return
    if wanted.exists():
        if wanted.read_bytes() != held.read_bytes():
            raise BackupError(
                f"{target.parent} already holds another installation's pseudonym secret; "
                "choose another folder so client keys stay the same."
            )
        return
    shutil.copy2(held, wanted)


def _counts_of_file(path: Path) -> dict[str, int]:
    """Rows per table of a DuckDB file, opened read-only (a backup is never changed)."""
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
        counts = _table_counts(connection, str(name))
    finally:
        connection.close()
    if "contacts" not in counts:
        raise BackupError(f"{path} is a DuckDB file but not a Contact Load backup.")
    return counts


def _require_unused(path: Path) -> None:
    """Refuse a database file another program (the dashboard) holds open."""
    try:
        duckdb.connect(str(path)).close()
    except duckdb.IOException as error:
        if "lock" in str(error).lower():
            raise DatabaseLockedError(
                f"The database {path} is in use by another program; stop the dashboard "
                "(or the other Contact Load) before restoring over it."
            ) from error
        raise


@dataclass(frozen=True)
class Erasure:
    """What erasing one client removed: rows per table."""

    client_key: str
    rows: dict[str, int]

    @property
    def described(self) -> str:
        """The rows removed in words, e.g. ``"7 contacts, 1 clients rows"`` (the CLI and
        the Data care page say the same)."""
        return ", ".join(f"{count:,} {table}" for table, count in self.rows.items() if count) + (
            " rows"
        )


def erase_client(db: Database, scope: Scope, client_key: str) -> Erasure:
    """Delete every row of the client ``client_key`` in every table, and nothing else.

    Only local mode and admins may erase; the audit entry (in the same transaction)
    names the key and the rows removed, never the label.
    """
    if scope.role not in ("local", "admin"):
        raise PermissionDeniedError(
            f"{scope.identity} ({scope.role}) may not erase a client's data; ask an admin."
        )
    removed: dict[str, int] = {}
    with db.transaction() as cursor:
        row = cursor.execute(
            "SELECT client_id FROM clients WHERE client_key = ?", [client_key]
        ).fetchone()
        if row is None:
            raise UnknownClientError(
                f"No client has the key {client_key!r}; copy it from the Clients page or "
                "`contactload summary --by client --json`."
            )
        (client_id,) = row
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
            deleted = cursor.execute(
                f"DELETE FROM {_quoted(table)} WHERE client_id = ? RETURNING 1",  # noqa: S608
                [client_id],
            ).fetchall()
            removed[table] = len(deleted)
        cursor.execute("DELETE FROM clients WHERE client_id = ?", [client_id])
        removed["clients"] = 1
        audit.record(
            cursor,
            scope,
            "erase_client",
            f"client {client_key}: "
            + ", ".join(f"{rows} {table}" for table, rows in removed.items() if rows),
        )
    return Erasure(client_key=client_key, rows=removed)
