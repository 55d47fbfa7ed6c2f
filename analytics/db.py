"""All database access goes through here: opening the file, cursors, transactions.

DuckDB allows one read-write process per file, so each process holds one connection per
database (``open_database`` shares it); every operation takes its own cursor from that
connection, because a DuckDB connection must not be used from two threads at once and
Streamlit runs each browser session on a thread of its own.
"""

from __future__ import annotations

import os
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:  # pandas loads with the first data frame, not with the CLI
    import pandas as pd

from analytics.encryption import (
    CATALOG,
    KEY_ENV_VAR,
    KEY_FILE_ENV_VAR,
    EncryptionError,
    configured_key,
    connect_encrypted,
)
from analytics.errors import DamagedDatabaseError, DatabaseError, DatabaseLockedError
from analytics.schema import migrate

DEFAULT_DB_PATH = Path("data") / "contactload.duckdb"
DB_ENV_VAR = "CONTACTLOAD_DB"
MEMORY_LIMIT_ENV_VAR = "CONTACTLOAD_MEMORY_LIMIT"
"""The most memory DuckDB may hold for this process (e.g. ``1GB``); unset: DuckDB's own
default, 80 % of the machine."""

BLOCKS_START = 3 * 4096
"""Bytes before a DuckDB file's first block: its main header and two database headers.
Blocks follow whole, so a file ending inside one of the blocks its header counts has lost
its end. (Encrypted files keep their headers unreadable, and a cut of whole blocks leaves
no partial one: for them the queries that meet the missing part say so.)"""

DAMAGED = (
    "The database file {path} is damaged (part of it is missing or unreadable); restore "
    "your latest backup with `contactload restore BACKUP --db {path} --force`, or move the "
    "file aside to start afresh."
)
INVALIDATED = (
    "The database {path} stopped working after an earlier failure ({gist}); restart "
    "Contact Load, and restore your latest backup if it happens again."
)
_DAMAGE_WORDS = ("could not read", "corrupt", "checksum", "failed to read")


def stored_blocks(path: Path) -> tuple[int, int] | None:
    """Block size and block count of a DuckDB file, as its newest database header says
    (what the last checkpoint wrote, so not what another connection holds in memory);
    ``None`` when the headers cannot be read as plain DuckDB headers (an encrypted file).

    The file starts with a 4 KB main header (checksum, then ``DUCK``) and two 4 KB
    database headers, each a checksum then iteration, meta block, free list, block count
    and block size as little-endian 64-bit numbers; the one with the higher iteration is
    current.
    """
    try:
        with path.open("rb") as file:
            head = file.read(BLOCKS_START)
    except OSError:
        return None
    if len(head) < BLOCKS_START or head[8:12] != b"DUCK":
        return None
    headers = [struct.unpack_from("<6Q", head, offset) for offset in (4096, 8192)]
    _, iteration, _, _, count, block_size = max(headers, key=lambda header: header[1])
    plausible = (
        iteration > 0
        and 4096 <= block_size <= 1 << 30
        and block_size & (block_size - 1) == 0
        and count < 1 << 40
    )
    return (block_size, count) if plausible else None


def first_line(error: BaseException) -> str:
    """The gist of a DuckDB error: its first line without the type prefix or final stop."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text.split(": ", 1)[-1].rstrip(".")


def default_db_path() -> Path:
    """The database path from ``CONTACTLOAD_DB``, else ``data/contactload.duckdb``."""
    return Path(os.environ.get(DB_ENV_VAR) or DEFAULT_DB_PATH)


class Database:
    """One open DuckDB file: hands out cursors and transactions, owns the schema."""

    def __init__(
        self, path: Path | str, key: str | None = None, *, allow_unsafe_crypto: bool = False
    ) -> None:
        """Open (and migrate) ``path``; encrypted with ``key``, or the configured key
        (``CONTACTLOAD_DB_KEY`` or ``CONTACTLOAD_DB_KEY_FILE``, see analytics.encryption)."""
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = key if key is not None else configured_key()
        self.encrypted = key is not None
        self._key = key
        try:
            if key is not None:
                self._connection = connect_encrypted(
                    self.path, key, allow_unsafe_crypto=allow_unsafe_crypto
                )
            else:
                self._connection = duckdb.connect(str(self.path))
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                raise DatabaseLockedError(
                    f"The database {self.path} is in use by another program; close it "
                    "(or stop the other Contact Load) and try again."
                ) from error
            if "not a valid duckdb database" in str(error).lower():
                raise DatabaseError(
                    f"{self.path} is not a Contact Load database; choose another file or move "
                    "this one aside."
                ) from error
            raise DatabaseError(f"The database {self.path} could not be opened: {error}") from error
        except duckdb.CatalogException as error:
            if "encrypted" in str(error).lower():
                raise EncryptionError(
                    f"{self.path} is encrypted; set {KEY_ENV_VAR} (or {KEY_FILE_ENV_VAR}) "
                    "to its key to open it."
                ) from error
            raise DatabaseError(
                f"{self.path} could not be opened as a Contact Load database: {error}"
            ) from error
        except duckdb.Error as error:
            raise DatabaseError(
                f"{self.path} could not be opened as a Contact Load database: {error}"
            ) from error
        try:
            self._check_length()
        except DatabaseError:
            self._connection.close()
            raise
        # One writer at a time in this process: every write bumps data_version, and DuckDB
        # fails the second of two transactions updating one row ("Conflict on update"), so
        # an export's audit entry during an import would otherwise fail one of them.
        self._write_lock = threading.RLock()
        memory_limit = os.environ.get(MEMORY_LIMIT_ENV_VAR)
        if memory_limit:
            # DuckDB otherwise takes up to 80 % of the machine's memory for its buffers;
            # with a limit it spills large joins and sorts to disk (bench/RESULTS.md).
            try:
                self._connection.execute("SET memory_limit = ?", [memory_limit])
            except duckdb.Error as error:
                raise DatabaseError(
                    f"{MEMORY_LIMIT_ENV_VAR}={memory_limit!r} is not a memory size DuckDB "
                    "understands; write it like 1GB or 512MB."
                ) from error
        with self.cursor() as cursor:
            migrate(cursor)

    def _check_length(self) -> None:
        """Refuse a file cut short: DuckDB opens one and fails only when a query reaches
        the missing blocks, so check the length its header's block count implies."""
        blocks = stored_blocks(self.path)
        if blocks is None:
            return
        block_size, count = blocks
        try:
            size = self.path.stat().st_size
        except OSError:
            return
        # DuckDB writes whole blocks, so a cut shows as a partial last block. Only one
        # inside the counted blocks means data is gone: a write that failed (disk full)
        # may leave part of a new block after them, and a checkpoint trims free blocks
        # at the end (whole ones) while the header still counts them.
        if (size - BLOCKS_START) % block_size and size < BLOCKS_START + count * block_size:
            raise DamagedDatabaseError(DAMAGED.format(path=self.path))

    def translated(self, error: duckdb.Error) -> DatabaseError | None:
        """The project's error for a DuckDB error that means this file is damaged (or the
        database stopped after an earlier failure), else ``None``: callers re-raise it."""
        text = str(error)
        lowered = text.lower()
        if "invalidated" in lowered:
            return DatabaseError(INVALIDATED.format(path=self.path, gist=first_line(error)))
        internal = isinstance(error, (duckdb.InternalException, duckdb.SerializationException))
        if any(word in lowered for word in _DAMAGE_WORDS) and (str(self.path) in text or internal):
            return DamagedDatabaseError(DAMAGED.format(path=self.path))
        return None

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor of its own for one operation, closed afterwards; safe in any thread.

        DuckDB errors that mean the file is damaged leave as ``DamagedDatabaseError`` (one
        sentence naming the file and what to do), whichever query met them.
        """
        try:
            cursor = self._connection.cursor()
            # Timestamps come back in UTC whatever the machine's zone; local times are
            # computed explicitly per therapist.
            cursor.execute("SET TimeZone = 'UTC'")
            if self.encrypted:  # a new cursor starts in the in-memory catalog
                cursor.execute(f"USE {CATALOG}")
        except duckdb.Error as error:
            translated = self.translated(error)
            if translated is None:
                raise
            raise translated from error
        try:
            yield cursor
        except duckdb.Error as error:
            translated = self.translated(error)
            if translated is None:
                raise
            raise translated from error
        finally:
            cursor.close()

    @contextmanager
    def transaction(self, *, rollback: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside one transaction: committed on success, rolled back on any error.

        Every committed write also advances ``data_version`` so cached results expire.
        Writes in one process take turns (readers never wait).
        ``rollback`` undoes even a successful block (a dry run that reports what it would
        have done). Large writes do not keep insertion order, which saves memory; tables
        that need an order carry it in a column.
        """
        with self._write_lock, self.cursor() as cursor:
            cursor.execute("SET preserve_insertion_order = false")
            cursor.execute("BEGIN TRANSACTION")
            try:
                yield cursor
                if rollback:
                    cursor.execute("ROLLBACK")
                    return
                cursor.execute(
                    "UPDATE meta SET value = CAST(CAST(value AS BIGINT) + 1 AS VARCHAR) "
                    "WHERE key = 'data_version'"
                )
            except BaseException:
                # A database that stopped has nothing to roll back: say why it stopped.
                with suppress(duckdb.Error):
                    cursor.execute("ROLLBACK")
                raise
            try:
                cursor.execute("COMMIT")
            except duckdb.Error as error:
                # A failed commit (disk full, file size limit) is already rolled back.
                gist = str(error).strip().splitlines()[0].removeprefix("TransactionContext Error: ")
                raise DatabaseError(
                    f"The changes could not be saved to {self.path} ({gist.rstrip('.')}); "
                    "nothing was stored."
                ) from error

    def attach_sql(self, alias: str) -> tuple[str, list[object]]:
        """``ATTACH`` for another file (a backup) under ``alias``, encrypted with this
        database's key when it has one, so a copy is never less protected than the original.
        ``alias`` is a fixed or generated identifier, never user input."""
        if self._key is None:
            return f"ATTACH ? AS {alias}", []
        return f"ATTACH ? AS {alias} (ENCRYPTION_KEY ?)", [self._key]

    def frame(self, sql: str, params: list[object] | dict[str, object]) -> pd.DataFrame:
        """The result of one query as a data frame (for aggregated results only)."""
        with self.cursor() as cursor:
            return cursor.execute(sql, params).df()

    def row(self, sql: str, params: list[object] | dict[str, object]) -> tuple[Any, ...]:
        """The one row an aggregate query returns."""
        with self.cursor() as cursor:
            row = cursor.execute(sql, params).fetchone()
        assert row is not None  # aggregate queries always return one row
        return row

    def data_version(self) -> int:
        """A number that changes whenever stored data changes (for cache keys)."""
        with self.cursor() as cursor:
            row = cursor.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the connection; later use raises."""
        self._connection.close()


_open: dict[Path, Database] = {}
_open_lock = threading.Lock()


def open_database(path: Path | str | None = None) -> Database:
    """The process's one ``Database`` for ``path`` (default: ``default_db_path()``)."""
    resolved = Path(path or default_db_path()).resolve()
    with _open_lock:
        database = _open.get(resolved)
        if database is None:
            database = Database(resolved)
            _open[resolved] = database
        return database


def close_all() -> None:
    """Close every database this process opened (tests and CLI exit)."""
    with _open_lock:
        for database in _open.values():
            database.close()
        _open.clear()
