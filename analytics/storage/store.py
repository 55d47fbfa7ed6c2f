"""Writing contacts: the one place rows enter the database.

Input is a frame in the canonical shape (one row per contact, see ``CANONICAL_COLUMNS``);
the work on every row happens in DuckDB SQL inside one transaction, and Python only
touches distinct values (time zones, and one keyed hash per distinct client). Free text
never reaches this module: importers classify and drop it before building the frame.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:  # pandas loads only where a frame is built (CLI start-up)
    import pandas as pd

from analytics.access.scope import LOCAL, Scope
from analytics.domain import CATEGORIES, CHANNELS, DIRECTIONS
from analytics.errors import InvalidRecordError
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.pseudonyms import client_key, erasure_ref, load_or_create_secret
from analytics.storage.sql import FALSE, TRUE, Fragment, execute, identifier, query, sql

CANONICAL_COLUMNS = (
    "practice",
    "therapist",
    "time_zone",
    "client",
    "started_at",
    "minutes",
    "channel",
    "category",
    "direction",
)
"""Columns of a canonical contact frame; ``started_at`` is an instant (with offset)."""

_VALIDATE_SQL = """
SELECT
    count(*) FILTER (WHERE NOT list_contains(?, channel)) AS bad_channels,
    count(*) FILTER (WHERE NOT list_contains(?, category)) AS bad_categories,
    count(*) FILTER (WHERE NOT list_contains(?, direction)) AS bad_directions,
    count(*) FILTER (WHERE minutes IS NULL OR minutes < 0) AS bad_minutes,
    count(*) FILTER (WHERE started_at IS NULL) AS bad_times,
    count(*) FILTER (
        WHERE coalesce(trim(client), '') = '' OR coalesce(trim(therapist), '') = ''
           OR coalesce(trim(practice), '') = ''
    ) AS missing_names
FROM incoming
"""

INCOMING_PEOPLE = sql(
    """FROM incoming AS i
    JOIN practices AS p ON p.name = i.practice
    JOIN therapists AS t ON t.practice_id = p.practice_id AND t.name = i.therapist
    JOIN incoming_client_keys AS k ON k.practice = i.practice AND k.label = i.client
    JOIN clients AS c ON c.client_key = k.client_key"""
)
"""The staged ``incoming`` rows (``i``) with their stored practice (``p``), therapist
(``t``) and client (``c``, found by the keyed hash of practice and label): the one
resolution contacts and sessions are stored by."""


_INSERT_CONTACTS_SQL = """
INSERT INTO contacts (
    practice_id, therapist_id, client_id, started_at, local_started_at, minutes,
    channel, category, direction, batch_id, fingerprint, time_known
)
WITH resolved AS (
    SELECT p.practice_id, t.therapist_id, c.client_id, i.started_at,
           timezone(t.time_zone, i.started_at) AS local_started_at, i.minutes,
           i.channel, i.category, i.direction, i.time_known
    {people}
),
-- Identical entries (same therapist, client, start and minutes) are numbered, so two
-- real 15-minute calls on one day stay two contacts while a re-import matches both. Only
-- the few keys that repeat need the (costly) numbering; every other entry is number 1.
repeated AS (
    SELECT therapist_id, client_id, started_at, minutes
    FROM resolved GROUP BY ALL HAVING count(*) > 1
),
numbered AS (
    SELECT r.*, 1 AS occurrence
    FROM resolved AS r ANTI JOIN repeated USING (therapist_id, client_id, started_at, minutes)
    UNION ALL
    SELECT r.*, row_number() OVER (
               PARTITION BY r.therapist_id, r.client_id, r.started_at, r.minutes
               ORDER BY r.channel, r.category, r.direction
           ) AS occurrence
    FROM resolved AS r SEMI JOIN repeated USING (therapist_id, client_id, started_at, minutes)
),
keyed AS (
    SELECT *, md5_number(concat_ws('|', therapist_id, client_id, epoch_us(started_at), minutes,
                                   occurrence)) AS fingerprint
    FROM numbered
)
SELECT practice_id, therapist_id, client_id, started_at, local_started_at, minutes,
       channel, category, direction, $batch_id, fingerprint, time_known
FROM keyed
WHERE NOT EXISTS (SELECT 1 FROM contacts AS e WHERE e.fingerprint = keyed.fingerprint)
"""


@dataclass(frozen=True)
class StoredBatch:
    """What one write added: its batch id, the contacts stored, and those already there."""

    batch_id: int
    contacts: int
    duplicates: int = 0
    erased: int = 0
    """Rows left out because their client was erased (``care.erase_client``)."""


ERASED_REASON = "their client was erased; an erased client is never imported again"
"""Why an import skipped rows, in the words the CLI and the Import page use."""


def add_contacts(
    db: Database,
    contacts: pd.DataFrame,
    *,
    source: str,
    file_name: str | None = None,
    sha256: str | None = None,
    preset: str | None = None,
    scope: Scope = LOCAL,
) -> StoredBatch:
    """Store a canonical contact frame as one import batch, all or nothing (only a viewer
    who may import; recorded in the audit log)."""
    scope.require_import()
    missing = [column for column in CANONICAL_COLUMNS if column not in contacts.columns]
    if missing:
        raise InvalidRecordError(f"Contacts are missing the column(s) {', '.join(missing)}.")
    with db.transaction() as cursor:
        cursor.register("contacts_frame", contacts)
        time_known = (
            sql("coalesce(TRY_CAST(time_known AS BOOLEAN), true)")
            if "time_known" in contacts.columns
            else sql("true")
        )
        staging = query(_STAGE_SQL, source=identifier("contacts_frame"), time_known=time_known)
        execute(cursor, staging)
        cursor.unregister("contacts_frame")
        stored = store_incoming(cursor, db, source, file_name, sha256, preset)
        record_import(cursor, scope, file_name or source, stored.batch_id, stored.contacts)
        return stored


def add_contacts_from_query(
    db: Database,
    select: str | Fragment,
    params: Mapping[str, object] | None = None,
    *,
    source: str,
    lookups: Mapping[str, pd.DataFrame] | None = None,
    scope: Scope = LOCAL,
) -> StoredBatch:
    """Store the rows of a SELECT that yields the canonical columns, as one batch (only a
    viewer who may import; recorded in the audit log).

    For generators that build contacts in SQL (demo data at any scale) without ever
    materialising them in Python. ``select`` is a query-kit fragment (or the caller's fixed
    text with ``$name`` parameters in ``params``); ``lookups`` are small frames it may read
    by name.
    """
    scope.require_import()
    with db.transaction() as cursor:
        for name, frame in (lookups or {}).items():
            cursor.register(name, frame)
        staging = query(_STAGE_SQL, source=select_source(select, params), time_known=sql("true"))
        execute(cursor, staging)
        for name in lookups or {}:
            cursor.unregister(name)
        stored = store_incoming(cursor, db, source)
        record_import(cursor, scope, source, stored.batch_id, stored.contacts)
        return stored


def record_import(
    cursor: duckdb.DuckDBPyConnection, scope: Scope, name: str, batch_id: int, rows: int
) -> None:
    """The audit entry of one import, in its transaction: file or source, batch and rows."""
    audit.record(cursor, scope, "import", f"{name}: batch {batch_id}, {rows} rows stored")


def select_source(select: str | Fragment, params: Mapping[str, object] | None) -> Fragment:
    """A caller's SELECT (a fragment, or fixed text with ``$name`` parameters in ``params``)
    as the parenthesised source of a staging query."""
    selected = select if isinstance(select, Fragment) else Fragment(select, params or {})
    return query("({select})", select=selected)


_STAGE_SQL = """
CREATE OR REPLACE TEMP TABLE incoming AS
SELECT trim(CAST(practice AS VARCHAR)) AS practice,
       trim(CAST(therapist AS VARCHAR)) AS therapist,
       trim(CAST(time_zone AS VARCHAR)) AS time_zone,
       trim(CAST(client AS VARCHAR)) AS client,
       TRY_CAST(started_at AS TIMESTAMPTZ) AS started_at,
       TRY_CAST(minutes AS DOUBLE) AS minutes,
       CAST(channel AS VARCHAR) AS channel,
       CAST(category AS VARCHAR) AS category,
       coalesce(CAST(direction AS VARCHAR), 'unknown') AS direction,
       {time_known} AS time_known
FROM {source}
"""


def store_incoming(
    cursor: duckdb.DuckDBPyConnection,
    db: Database,
    source: str,
    file_name: str | None = None,
    sha256: str | None = None,
    preset: str | None = None,
    rows_read: int | None = None,
    rows_rejected: int = 0,
    rows_checked: bool = False,
) -> StoredBatch:
    """Validate the staged ``incoming`` table and move it into contacts as a new batch.

    Runs inside the caller's transaction. Contacts already stored (same fingerprint) are
    counted as duplicates and skipped.
    """
    _validate(cursor, rows_checked)
    erased = add_people(cursor, db)
    batch_id = new_batch(cursor, source, file_name, sha256, preset)
    before = count_rows(cursor, "SELECT count(*) FROM contacts")
    execute(cursor, query(_INSERT_CONTACTS_SQL, people=INCOMING_PEOPLE, batch_id=batch_id))
    stored = count_rows(cursor, "SELECT count(*) FROM contacts") - before
    duplicates = close_batch(cursor, batch_id, stored, rows_read, rows_rejected, erased)
    return StoredBatch(batch_id=batch_id, contacts=stored, duplicates=duplicates, erased=erased)


def close_batch(
    cursor: duckdb.DuckDBPyConnection,
    batch_id: int,
    stored: int,
    rows_read: int | None,
    rows_rejected: int,
    rows_erased: int = 0,
) -> int:
    """Record a batch's counts, drop the staging tables, return the duplicates skipped.

    Shared by contacts and sessions: whatever was staged in ``incoming`` and not stored
    was already there (rows of erased clients left ``incoming`` before, see add_people).
    """
    staged = count_rows(cursor, "SELECT count(*) FROM incoming")
    cursor.execute(
        """
        UPDATE import_batches
        SET rows_read = ?, rows_imported = ?, rows_duplicate = ?, rows_rejected = ?,
            rows_erased = ?
        WHERE batch_id = ?
        """,
        [
            staged + rows_rejected + rows_erased if rows_read is None else rows_read,
            stored,
            staged - stored,
            rows_rejected,
            rows_erased,
            batch_id,
        ],
    )
    cursor.execute("DROP TABLE incoming")
    cursor.execute("DROP TABLE incoming_client_keys")
    return staged - stored


def count_rows(cursor: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The number a fixed ``SELECT count(*) ...`` over a staged table returns (read in
    full, so the cursor is free for the next step)."""
    rows = cursor.execute(sql).fetchall()
    return int(rows[0][0]) if rows else 0


def _validate(cursor: duckdb.DuckDBPyConnection, rows_checked: bool = False) -> None:
    """Refuse the whole frame with one sentence when any row breaks the canonical model.

    ``rows_checked``: the caller (the import pipeline) built every row from allow-listed
    keys and checked minutes and names already, so only the time zones are left to check;
    the table's CHECK constraints still stand behind both.
    """
    if rows_checked:
        validate_zones(cursor)
        return
    row = cursor.execute(
        _VALIDATE_SQL, [list(CHANNELS), list(CATEGORIES), list(DIRECTIONS)]
    ).fetchone()
    assert row is not None
    names = (
        "channel",
        "category",
        "direction",
        "minutes",
        "start time",
        "client, therapist or practice",
    )
    for count, name in zip(row, names, strict=True):
        if count:
            raise InvalidRecordError(f"{count} contact(s) have a missing or invalid {name}.")
    validate_zones(cursor)


def validate_zones(cursor: duckdb.DuckDBPyConnection) -> None:
    """Refuse time zones DuckDB does not know (one sentence naming them)."""
    unknown_zones = cursor.execute(
        """
        SELECT DISTINCT coalesce(time_zone, '') FROM incoming
        WHERE time_zone IS NULL OR time_zone NOT IN (SELECT name FROM pg_timezone_names())
        ORDER BY 1
        """
    ).fetchall()
    if unknown_zones:
        zones = ", ".join(repr(zone) for (zone,) in unknown_zones)
        raise InvalidRecordError(
            f"Unknown time zone {zones}; use an IANA name such as 'Europe/Berlin'."
        )


def add_people(cursor: duckdb.DuckDBPyConnection, db: Database) -> int:
    """Store the practices, therapists and clients the staged ``incoming`` table names;
    return how many staged rows were dropped because their client was erased.

    Leaves ``incoming_client_keys`` (practice, label, therapist, client_key) for the
    caller's insert to join on; the caller drops it.
    """
    secret = load_or_create_secret(db.path)
    _key_clients(cursor, secret)
    erased = _drop_erased(cursor)
    _add_practices_and_therapists(cursor)
    _add_clients(cursor)
    return erased


def is_erased(cursor: duckdb.DuckDBPyConnection, secret: bytes, key: str) -> bool:
    """Whether the client ``key`` was erased (it must then not be stored again)."""
    (found,) = cursor.execute(
        "SELECT count(*) FROM erased_clients WHERE erasure_ref = ?", [erasure_ref(secret, key)]
    ).fetchall()
    return bool(found[0])


def _drop_erased(cursor: duckdb.DuckDBPyConnection) -> int:
    """Remove from ``incoming`` (and its keys) every row of an erased client; the count."""
    cursor.execute(
        """
        CREATE OR REPLACE TEMP TABLE incoming_erased AS
        SELECT practice, label FROM incoming_client_keys
        WHERE erasure_ref IN (SELECT erasure_ref FROM erased_clients)
        """
    )
    if not count_rows(cursor, "SELECT count(*) FROM incoming_erased"):
        cursor.execute("DROP TABLE incoming_erased")
        return 0
    dropped = cursor.execute(
        """
        DELETE FROM incoming AS i
        USING incoming_erased AS e
        WHERE i.practice = e.practice AND i.client = e.label
        RETURNING 1
        """
    ).fetchall()
    cursor.execute(
        """
        DELETE FROM incoming_client_keys AS k
        USING incoming_erased AS e
        WHERE k.practice = e.practice AND k.label = e.label
        """
    )
    cursor.execute("DROP TABLE incoming_erased")
    return len(dropped)


def _add_practices_and_therapists(cursor: duckdb.DuckDBPyConnection) -> None:
    """Create the practices and therapists the frame names that are not stored yet."""
    cursor.execute(
        """
        INSERT INTO practices (name)
        SELECT DISTINCT practice FROM incoming
        WHERE practice NOT IN (SELECT name FROM practices)
        ORDER BY practice
        """
    )
    # A stored therapist keeps their zone; a new one named with several zones in one
    # frame gets the alphabetically first (the frame itself has no order to go by).
    cursor.execute(
        """
        INSERT INTO therapists (practice_id, name, time_zone)
        SELECT p.practice_id, i.therapist, min(i.time_zone)
        FROM incoming AS i JOIN practices AS p ON p.name = i.practice
        WHERE NOT EXISTS (
            SELECT 1 FROM therapists AS t
            WHERE t.practice_id = p.practice_id AND t.name = i.therapist
        )
        GROUP BY p.practice_id, i.therapist
        ORDER BY p.practice_id, i.therapist
        """
    )


def _key_clients(cursor: duckdb.DuckDBPyConnection, secret: bytes) -> None:
    """Key every distinct client of ``incoming`` (one hash each, in Python) into
    ``incoming_client_keys``, with the reference an erasure of it would have left."""
    distinct = cursor.execute(
        "SELECT practice, client, min(therapist) FROM incoming GROUP BY ALL ORDER BY 1, 2"
    ).fetchall()
    keys = [client_key(secret, practice, label) for practice, label, _ in distinct]
    # One keyed hash per distinct client, handed back to SQL as parallel lists.
    cursor.execute(
        """
        CREATE OR REPLACE TEMP TABLE incoming_client_keys AS
        SELECT unnest(?) AS practice, unnest(?) AS label, unnest(?) AS therapist,
               unnest(?) AS client_key, unnest(?) AS erasure_ref
        """,
        [
            [practice for practice, _, _ in distinct],
            [label for _, label, _ in distinct],
            [therapist for _, _, therapist in distinct],
            keys,
            [erasure_ref(secret, key) for key in keys],
        ],
    )


def _add_clients(cursor: duckdb.DuckDBPyConnection) -> None:
    """Store the clients of ``incoming_client_keys`` that are not stored yet."""
    cursor.execute(
        """
        INSERT INTO clients (client_key, label, practice_id, therapist_id)
        SELECT k.client_key, k.label, p.practice_id, t.therapist_id
        FROM incoming_client_keys AS k
        JOIN practices AS p ON p.name = k.practice
        JOIN therapists AS t ON t.practice_id = p.practice_id AND t.name = k.therapist
        WHERE k.client_key NOT IN (SELECT client_key FROM clients)
        """
    )


def new_batch(
    cursor: duckdb.DuckDBPyConnection,
    source: str,
    file_name: str | None = None,
    sha256: str | None = None,
    preset: str | None = None,
    kind: str = "contacts",
) -> int:
    """Open an import batch row (``kind``: contacts or sessions) and return its id."""
    row = cursor.execute(
        "INSERT INTO import_batches (source, file_name, sha256, preset, kind) "
        "VALUES (?, ?, ?, ?, ?) RETURNING batch_id",
        [source, file_name, sha256, preset, kind],
    ).fetchone()
    assert row is not None  # INSERT ... RETURNING always yields the new row
    return int(row[0])


def list_batches(db: Database, scope: Scope) -> pd.DataFrame:
    """Every batch, newest first, with its counts and whether it was undone.

    Batches are installation-wide (one file may hold every therapist's contacts), so only
    viewers who may import see them; anyone else gets the same columns and no rows.
    """
    visible = TRUE if scope.may_import else FALSE
    with db.cursor() as cursor:
        listing = query(
            """
            WITH contact_counts AS (
                SELECT batch_id, count(*) AS contacts_now FROM contacts GROUP BY batch_id
            ),
            session_counts AS (
                SELECT batch_id, count(*) AS sessions_now FROM sessions GROUP BY batch_id
            )
            SELECT b.batch_id, b.kind, b.source, b.file_name, b.preset, b.rows_read,
                   b.rows_imported, b.rows_duplicate, b.rows_rejected, b.rows_erased,
                   b.created_at,
                   b.undone_at, coalesce(c.contacts_now, 0) AS contacts_now,
                   coalesce(s.sessions_now, 0) AS sessions_now
            FROM import_batches AS b
            LEFT JOIN contact_counts AS c USING (batch_id)
            LEFT JOIN session_counts AS s USING (batch_id)
            WHERE {visible}
            ORDER BY b.batch_id DESC
            """,
            visible=visible,
        )
        return execute(cursor, listing).df()


@dataclass(frozen=True)
class UndoChoice:
    """A batch that can still be undone, as a person recognises it: file, date, rows."""

    batch_id: int
    file_name: str
    imported_at: str
    """When it was imported, in UTC ("3 Dec 2026, 14:05 UTC")."""
    rows: int
    """Contacts or sessions of the batch still stored (what undoing it removes)."""
    kind: str
    """"contacts" or "sessions"."""

    @property
    def label(self) -> str:
        """ "toggl.csv · 3 Dec 2026, 14:05 UTC · 120 contacts" (batch number last)."""
        noun = self.kind[:-1] if self.rows == 1 and self.kind.endswith("s") else self.kind
        return (
            f"{self.file_name} · {self.imported_at} · {self.rows:,} {noun} (batch {self.batch_id})"
        )


def undo_choices(db: Database, scope: Scope) -> list[UndoChoice]:
    """The batches not yet undone, newest first, labelled by file name, date and rows."""
    if not scope.may_import:
        return []
    with db.cursor() as cursor:
        rows = cursor.execute(
            """
            SELECT b.batch_id, coalesce(b.file_name, b.source || ' data'),
                   strftime(timezone('UTC', b.created_at), '%-d %b %Y, %H:%M') || ' UTC',
                   (SELECT count(*) FROM contacts AS c WHERE c.batch_id = b.batch_id)
                   + (SELECT count(*) FROM sessions AS s WHERE s.batch_id = b.batch_id),
                   coalesce(b.kind, 'contacts')
            FROM import_batches AS b
            WHERE b.undone_at IS NULL
            ORDER BY b.batch_id DESC
            """
        ).fetchall()
    return [
        UndoChoice(batch_id=int(batch), file_name=str(name), imported_at=str(at),
                   rows=int(count), kind=str(kind))
        for batch, name, at, count, kind in rows
    ]  # fmt: skip


def undo_batch(db: Database, batch_id: int, *, scope: Scope = LOCAL) -> int:
    """Remove every contact or session a batch added, and the clients, therapists and
    practices that only it brought; return the number of rows removed. The batch stays
    listed as undone. Only a viewer who may import may undo; the undo is audited.
    """
    scope.require_import()
    with db.transaction() as cursor:
        row = cursor.execute(
            "SELECT undone_at FROM import_batches WHERE batch_id = ?", [batch_id]
        ).fetchone()
        if row is None:
            raise InvalidRecordError(f"There is no import batch {batch_id}.")
        if row[0] is not None:
            raise InvalidRecordError(f"Batch {batch_id} was already undone.")
        removed = cursor.execute(
            "DELETE FROM contacts WHERE batch_id = ? RETURNING 1", [batch_id]
        ).fetchall()
        removed += cursor.execute(
            "DELETE FROM sessions WHERE batch_id = ? RETURNING 1", [batch_id]
        ).fetchall()
        drop_unreferenced(cursor)
        cursor.execute(
            "UPDATE import_batches SET undone_at = current_timestamp WHERE batch_id = ?",
            [batch_id],
        )
        audit.record(cursor, scope, "undo", f"batch {batch_id}: {len(removed)} rows removed")
    return len(removed)


def drop_unreferenced(cursor: duckdb.DuckDBPyConnection) -> None:
    """Delete the clients, therapists and practices no stored row refers to any more (after
    an undo or the removal of demo data), inside the caller's transaction."""
    cursor.execute(
        """
        DELETE FROM clients
        WHERE client_id NOT IN (SELECT client_id FROM contacts)
          AND client_id NOT IN (SELECT client_id FROM sessions)
          AND client_id NOT IN (SELECT client_id FROM phone_numbers)
          AND client_id NOT IN (SELECT client_id FROM message_addresses)
        """
    )
    cursor.execute(
        """
        DELETE FROM therapists
        WHERE therapist_id NOT IN (SELECT therapist_id FROM contacts)
          AND therapist_id NOT IN (SELECT therapist_id FROM sessions)
          AND therapist_id NOT IN (SELECT therapist_id FROM clients)
        """
    )
    cursor.execute(
        """
        DELETE FROM practices
        WHERE practice_id NOT IN (SELECT practice_id FROM therapists)
          AND practice_id NOT IN (SELECT practice_id FROM clients)
        """
    )
