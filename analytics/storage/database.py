"""All database access goes through here: opening the file, cursors, transactions.

DuckDB allows one read-write process per file, so each process holds one connection per
database (``open_database`` shares it); every operation takes its own cursor from that
connection, because a DuckDB connection must not be used from two threads at once and
Streamlit runs each browser session on a thread of its own.

Processes share the file by taking turns (see ``analytics.storage.sharing``): a ``Database`` opens
its connection when an operation starts; the dashboard closes it again once idle (or at
once when another process is waiting), the command line when it exits. A process that
finds the file held waits for it (up to ``CONTACTLOAD_WAIT_SECONDS``), saying once what
it waits for.

Deleted rows stay readable in a DuckDB file's freed blocks until the file is written anew,
so erasing a client ends with ``Database.rewrite``: the live data copied into a fresh file
that atomically replaces the old one (cursors wait for it; a crash before the replace
leaves the old file and a mark that repeats the rewrite at the next start). Hidden
leftovers of a killed restore or rewrite beside the file are removed at every start.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import struct
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:  # pandas loads with the first data frame, not with the CLI
    import pandas as pd

from analytics.errors import DamagedDatabaseError, DatabaseError, DatabaseLockedError
from analytics.storage.encryption import (
    CATALOG,
    KEY_ENV_VAR,
    KEY_FILE_ENV_VAR,
    EncryptionError,
    configured_key,
    connect_encrypted,
)
from analytics.storage.schema import migrate
from analytics.storage.sharing import (
    LOCKED,
    Turn,
    holder_name,
    print_waiting,
    turn_for,
    wait_seconds,
    waiting_sentence,
)
from analytics.storage.sql import Fragment, execute, identifier, query, quoted_name
from analytics.storage.working_copy import (
    remove_leftovers,
    working_copy_path,
)

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


REWRITE_PENDING = "rewrite_pending"
"""The ``meta`` key set in the transaction that deletes a client's rows and removed by the
rewrite that wipes them from the file (see ``Database.rewrite``)."""

REWRITE_WAIT_SECONDS = 60.0
"""How long a rewrite waits for other threads' queries to finish before giving up (the
erasure stays committed; the rewrite then runs at the next start)."""

RELEASE_POLL_SECONDS = 0.05
"""How often an idle dashboard looks whether another process waits for its file."""

RETRY_SECONDS = 0.02
"""How long a process waiting for the file sleeps between tries of its lock."""


def table_counts(cursor: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, int]:
    """Rows per base table of ``catalog`` (names come from DuckDB's own catalog)."""
    tables = cursor.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND NOT temporary "
        "ORDER BY table_name",
        [catalog],
    ).fetchall()
    counts: dict[str, int] = {}
    for (table,) in tables:
        counting = query(
            "SELECT count(*) FROM {catalog}.main.{table}",
            catalog=quoted(catalog),
            table=quoted(table),
        )
        row = execute(cursor, counting).fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


quoted = quoted_name
"""A catalog identifier (from DuckDB's own catalog) quoted for SQL."""


def copy_database(source: str, alias: str) -> Fragment:
    """``COPY FROM DATABASE`` the catalog ``source`` into the attached ``alias``."""
    return query(
        "COPY FROM DATABASE {source} TO {alias}", source=quoted(source), alias=identifier(alias)
    )


def detach_database(alias: str) -> Fragment:
    """``DETACH`` the attached ``alias`` if it is still attached."""
    return query("DETACH DATABASE IF EXISTS {alias}", alias=identifier(alias))


class _Gate:
    """Cursors share the connection; a rewrite needs it alone. Any number of threads may
    hold cursors at once; ``exclusive`` stops new ones and waits for the open ones."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._open = 0
        self._closed = False
        self._mine = threading.local()

    @contextmanager
    def shared(self) -> Iterator[None]:
        held = getattr(self._mine, "count", 0)
        with self._condition:
            # A thread already holding a cursor may open another (nested use) even while
            # a rewrite waits, or the two would wait on each other.
            while self._closed and not held:
                self._condition.wait()
            self._open += 1
        self._mine.count = held + 1
        try:
            yield
        finally:
            self._mine.count = held
            with self._condition:
                self._open -= 1
                self._condition.notify_all()

    @contextmanager
    def exclusive(self, timeout: float) -> Iterator[bool]:
        """Yields whether the connection is free (False after ``timeout`` seconds, or when
        this thread itself holds a cursor)."""
        with self._condition:
            free = not getattr(self._mine, "count", 0) and not self._closed
            if free:
                self._closed = True
                free = self._condition.wait_for(lambda: self._open == 0, timeout)
                if not free:
                    self._closed = False
                    self._condition.notify_all()
        if not free:
            yield False
            return
        try:
            yield True
        finally:
            with self._condition:
                self._closed = False
                self._condition.notify_all()


_instances: dict[Path, int] = {}
_instances_lock = threading.Lock()


def default_db_path() -> Path:
    """The database path from ``CONTACTLOAD_DB``, else ``data/contactload.duckdb``."""
    return Path(os.environ.get(DB_ENV_VAR) or DEFAULT_DB_PATH)


class Database:
    """One open DuckDB file: hands out cursors and transactions, owns the schema."""

    def __init__(
        self, path: Path | str, key: str | None = None, *, allow_unsafe_crypto: bool = False
    ) -> None:
        """Open (and migrate) ``path``; encrypted with ``key``, or the configured key
        (``CONTACTLOAD_DB_KEY`` or ``CONTACTLOAD_DB_KEY_FILE``, see ``storage.encryption``)."""
        self.path = Path(path)
        key = key if key is not None else configured_key()
        self.encrypted = key is not None
        self._key = key
        self._allow_unsafe_crypto = allow_unsafe_crypto
        self.on_wait: Callable[[str], None] = print_waiting
        """Called with one sentence when the file is held elsewhere and this process waits."""
        # One writer at a time in this process: every write bumps data_version, and DuckDB
        # fails the second of two transactions updating one row ("Conflict on update"), so
        # an export's audit entry during an import would otherwise fail one of them.
        self._write_lock = threading.RLock()
        self._gate = _Gate()
        self._closed = False
        self._turn: Turn = turn_for(self.path)
        # The connection, open only while this process uses the file (or until it closes,
        # unless ``release_when_idle`` was asked for); ``_holding`` guards it and counts
        # the operations using it.
        self._connection: duckdb.DuckDBPyConnection | None = None
        self._holding = threading.Condition()
        self._users = 0
        self._idle_since = time.monotonic()
        self._idle_release: float | None = None
        self._releaser: threading.Thread | None = None
        with self.cursor() as cursor:
            # A restore or rewrite killed midway left a full hidden copy of the data beside
            # the file; it goes now that this process holds the file (no rewrite of it can
            # be running elsewhere, and a running restore holds its copy's lock).
            remove_leftovers(self.path)
            migrate(cursor)
            pending = cursor.execute(
                "SELECT count(*) FROM meta WHERE key = ?", [REWRITE_PENDING]
            ).fetchall()
        with _instances_lock:  # a rewrite needs to know it is the file's only holder here
            resolved = self.path.resolve()
            _instances[resolved] = _instances.get(resolved, 0) + 1
        if pending[0][0]:
            self.rewrite()  # an erasure whose rewrite did not finish: finish it now

    def release_when_idle(self, seconds: float | None) -> None:
        """Close the connection whenever no operation has used it for ``seconds`` (at once
        when another process waits for the file), so other processes can use the file
        between this one's operations; the next operation opens it again. ``None``: keep
        it open until ``close`` (the default)."""
        with self._holding:
            self._idle_release = None if seconds is None else max(0.0, seconds)
            if self._releaser is None and seconds is not None:
                self._releaser = threading.Thread(
                    target=self._release_idle, name=f"release {self.path.name}", daemon=True
                )
                self._releaser.start()
                _releasing.add(self)
            self._holding.notify_all()

    def release(self) -> bool:
        """Close the connection now if no operation is using it; whether it is closed."""
        with self._holding:
            if self._users:
                return False
            self._close_connection()
            return True

    @property
    def held(self) -> bool:
        """Whether this process holds the file open now."""
        return self._connection is not None

    def _close_connection(self) -> None:
        """Close the connection (the caller holds ``_holding`` and no operation uses it)."""
        if self._connection is not None:
            connection, self._connection = self._connection, None
            with suppress(duckdb.Error):
                connection.close()

    def _release_idle(self) -> None:
        """The releaser thread: closes the connection once idle or wanted elsewhere."""
        with self._holding:
            while not self._closed:
                idle = self._idle_release
                if idle is None or self._connection is None or self._users:
                    self._holding.wait()
                    continue
                idle_for = time.monotonic() - self._idle_since
                if idle_for >= idle or self._turn.wanted_elsewhere():
                    self._close_connection()
                    continue
                self._holding.wait(min(RELEASE_POLL_SECONDS, idle - idle_for))

    @contextmanager
    def _held(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The connection, opened if this process does not hold the file now, and kept
        open for as long as the block runs."""
        with self._holding:
            if self._closed:
                raise duckdb.ConnectionException("Connection already closed!")
            if self._connection is None:
                self._connection = self._open_waiting()
            connection = self._connection
            self._users += 1
        try:
            yield connection
        finally:
            with self._holding:
                self._users -= 1
                if not self._users:
                    self._idle_since = time.monotonic()
                    if self._idle_release is not None and (
                        self._idle_release == 0 or self._turn.wanted_elsewhere()
                    ):
                        self._close_connection()
                    self._holding.notify_all()

    def _open_waiting(self) -> duckdb.DuckDBPyConnection:
        """Open the file, waiting (up to ``CONTACTLOAD_WAIT_SECONDS``) while another
        process holds it, behind those already waiting; says once, through ``on_wait``,
        what it waits for."""
        bound = wait_seconds()
        deadline = time.monotonic() + bound
        announced = False

        def announce(holder: str) -> None:
            nonlocal announced
            if not announced and bound > 0:
                announced = True
                self.on_wait(waiting_sentence(holder, self.path, bound))

        if self._turn.wanted_elsewhere():
            announce("another Contact Load")
            self._turn.wait_for_earlier(deadline)
        in_queue = False
        with contextlib.ExitStack() as queue:
            while True:
                with self._turn.taken(deadline) as taken:
                    if not taken:
                        raise DatabaseLockedError(LOCKED.format(path=self.path))
                    try:
                        connection = self._connect()
                    except DatabaseLockedError as error:
                        if time.monotonic() >= deadline:
                            raise
                        announce(holder_name(error.__cause__))
                    else:
                        return connection
                if not in_queue:  # an idle holder sees the queue and lets go at once
                    queue.enter_context(self._turn.waiting())
                    in_queue = True
                time.sleep(RETRY_SECONDS)

    def _connect(self) -> duckdb.DuckDBPyConnection:
        """A connection to ``self.path``, with the memory limit set; one sentence on failure."""
        # Before connecting: DuckDB locks the file with a POSIX record lock, which the
        # process loses the moment it closes any descriptor of that file (reading the
        # header afterwards let a second process open the file for writing as well).
        self._check_length()
        key = self._key
        try:
            if key is not None:
                connection = connect_encrypted(
                    self.path, key, allow_unsafe_crypto=self._allow_unsafe_crypto
                )
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                connection = duckdb.connect(str(self.path))
        except duckdb.IOException as error:
            if "lock" in str(error).lower():
                raise DatabaseLockedError(LOCKED.format(path=self.path)) from error
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
        memory_limit = os.environ.get(MEMORY_LIMIT_ENV_VAR)
        if memory_limit:
            # DuckDB otherwise takes up to 80 % of the machine's memory for its buffers;
            # with a limit it spills large joins and sorts to disk (bench/RESULTS.md).
            try:
                connection.execute("SET memory_limit = ?", [memory_limit])
            except duckdb.Error as error:
                connection.close()
                raise DatabaseError(
                    f"{MEMORY_LIMIT_ENV_VAR}={memory_limit!r} is not a memory size DuckDB "
                    "understands; write it like 1GB or 512MB."
                ) from error
        return connection

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
        with self._gate.shared(), self._held() as connection:
            try:
                cursor = self._prepared(connection.cursor())
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

    def _prepared(self, cursor: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        """A new cursor set up for this database (UTC, its catalog)."""
        # Timestamps come back in UTC whatever the machine's zone; local times are
        # computed explicitly per therapist.
        cursor.execute("SET TimeZone = 'UTC'")
        if self.encrypted:  # a new cursor starts in the in-memory catalog
            cursor.execute(f"USE {CATALOG}")
        return cursor

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

    @contextmanager
    def rehearsal(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor outside any transaction for a dry run, which reads and computes in
        temporary tables without waiting for the writers' turn, and runs the step that adds
        rows (to see what an import would do) inside ``trial``. Nothing it does lasts."""
        with self.cursor() as cursor:
            cursor.execute("SET preserve_insertion_order = false")
            yield cursor

    @contextmanager
    def trial(self, cursor: duckdb.DuckDBPyConnection) -> Iterator[None]:
        """A rehearsal's writing step: the writers' turn and a transaction on ``cursor``
        that is always rolled back (it begins now, so it sees every committed row and no
        writer's row can clash with its own)."""
        with self._write_lock:
            cursor.execute("BEGIN TRANSACTION")
            try:
                yield
            finally:
                with contextlib.suppress(duckdb.Error):
                    cursor.execute("ROLLBACK")

    @contextmanager
    def writers_turn(self) -> Iterator[None]:
        """Wait for the writers' turn without a transaction, for one statement that must
        not clash with a writer's and changes no stored figure (``data_version`` stays)."""
        with self._write_lock:
            yield

    def attach(self, alias: str, path: Path) -> Fragment:
        """``ATTACH`` for another file (a backup) under ``alias``, encrypted with this
        database's key when it has one, so a copy is never less protected than the original.
        ``alias`` is a fixed or generated identifier, never user input."""
        if self._key is None:
            return query(
                "ATTACH $attach_path AS {alias}", alias=identifier(alias), attach_path=str(path)
            )
        return query(
            "ATTACH $attach_path AS {alias} (ENCRYPTION_KEY $attach_key)",
            alias=identifier(alias),
            attach_path=str(path),
            attach_key=self._key,
        )

    def frame(
        self, sql: str | Fragment, params: list[object] | dict[str, object] | None = None
    ) -> pd.DataFrame:
        """The result of one query (a ``Fragment`` of the query kit, or text and parameters)
        as a data frame (for aggregated results only)."""
        text, values = _statement(sql, params)
        with self.cursor() as cursor:
            return cursor.execute(text, values).df()

    def row(
        self, sql: str | Fragment, params: list[object] | dict[str, object] | None = None
    ) -> tuple[Any, ...]:
        """The one row an aggregate query returns."""
        text, values = _statement(sql, params)
        with self.cursor() as cursor:
            row = cursor.execute(text, values).fetchone()
        assert row is not None  # aggregate queries always return one row
        return row

    def data_version(self) -> int:
        """A number that changes whenever stored data changes (for cache keys)."""
        with self.cursor() as cursor:
            row = cursor.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
        return int(row[0]) if row else 0

    def rewrite(self) -> bool:
        """Write the live data into a fresh file that replaces this one, so rows deleted
        before (an erased client) leave nothing in freed blocks or the WAL.

        Waits for other threads' cursors (up to ``REWRITE_WAIT_SECONDS``) and holds new
        ones back meanwhile. Returns False, changing nothing, when the file cannot be
        rewritten now (queries still running, or another ``Database`` of this process
        has the same file open); a pending rewrite is then done at the next start.
        """
        with (
            self._write_lock,
            self._gate.exclusive(REWRITE_WAIT_SECONDS) as free,
            self._held(),
        ):
            with _instances_lock:
                alone = _instances.get(self.path.resolve(), 0) == 1
            if not free or not alone:
                return False
            return self._rewritten()

    def _rewritten(self) -> bool:
        """The rewrite itself, with the connection held and every other cursor waiting."""
        # Between closing the old file and opening the new one, no other process may
        # open the old one (its writes would go to a file about to be replaced): the
        # turn stays with this process until the new file is open.
        with self._turn.taken(time.monotonic() + REWRITE_WAIT_SECONDS) as taken:
            if not taken:
                return False
            fresh = working_copy_path(self.path, "rewriting")
            old_wal, wal = Path(f"{fresh}.old-wal"), Path(f"{self.path}.wal")
            try:
                try:
                    self._copy_into(fresh)
                except (duckdb.Error, OSError):
                    return False  # a full disk, say: the old file stays, the mark too
                with self._holding:
                    self._close_connection()
                try:
                    # Closing checkpointed the WAL; any left would be replayed into the new
                    # file, so it moves aside, and back if the file cannot be replaced.
                    if wal.exists():
                        os.replace(wal, old_wal)
                    try:
                        os.replace(fresh, self.path)
                    except OSError:
                        if old_wal.exists():
                            os.replace(old_wal, wal)
                        return False
                finally:
                    with self._holding:
                        self._connection = self._connect()
            finally:
                for leftover in (fresh, Path(f"{fresh}.wal"), old_wal):
                    leftover.unlink(missing_ok=True)
            return True

    def _copy_into(self, fresh: Path) -> None:
        """Copy every table, sequence and row into the new file ``fresh`` (checked), with
        the rewrite mark left behind."""
        alias = f"fresh_{uuid.uuid4().hex[:12]}"
        assert self._connection is not None  # the rewrite holds it
        cursor = self._prepared(self._connection.cursor())
        try:
            (source,) = cursor.execute("SELECT current_database()").fetchone() or ("",)
            execute(cursor, self.attach(alias, fresh))
            try:
                expected = table_counts(cursor, str(source))
                execute(cursor, copy_database(str(source), alias))
                removed = execute(
                    cursor,
                    query(
                        "DELETE FROM {alias}.main.meta WHERE key = $key RETURNING 1",
                        alias=identifier(alias),
                        key=REWRITE_PENDING,
                    ),
                ).fetchall()
                expected["meta"] -= len(removed)
                copied = table_counts(cursor, alias)
            finally:
                execute(cursor, detach_database(alias))
        finally:
            cursor.close()
        if copied != expected:
            raise DatabaseError(
                f"The rewrite of {self.path} did not hold every row; the file was left as it was."
            )

    def close(self) -> None:
        """Close the connection; later use raises."""
        if not self._closed:
            self._closed = True
            with _instances_lock:
                resolved = self.path.resolve()
                _instances[resolved] = _instances.get(resolved, 1) - 1
                if not _instances[resolved]:
                    del _instances[resolved]
        with self._holding:
            self._close_connection()
            self._holding.notify_all()
        releaser = self._releaser
        if releaser is not None and releaser is not threading.current_thread():
            releaser.join(timeout=5)


_releasing: weakref.WeakSet[Database] = weakref.WeakSet()
"""Databases with a releaser thread, closed at exit (see ``_close_releasing``)."""


@atexit.register
def _close_releasing() -> None:
    """Close every database whose releaser thread still runs, before the interpreter ends.

    A daemon thread that is inside DuckDB when Python finalizes is ended by a forced unwind
    through DuckDB's C++ frames, which aborts the process ("FATAL: exception not
    rethrown"); closing first lets each releaser leave its loop and finish.
    """
    for database in list(_releasing):
        with suppress(Exception):
            database.close()


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


def _statement(
    sql: str | Fragment, params: list[object] | dict[str, object] | None
) -> tuple[str, list[object] | dict[str, object]]:
    """Text and parameters of a query given either way (a fragment carries its own)."""
    if isinstance(sql, Fragment):
        if params:
            raise TypeError("a Fragment carries its own parameters")
        return sql.text, sql.values
    return sql, params if params is not None else []
