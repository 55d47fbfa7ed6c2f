"""Scheduled sessions: the one place they enter the database.

Importers (calendars, session CSV files, the demo) stage rows in the canonical session
shape (``SESSION_COLUMNS``) as a temporary table ``incoming``; ``store_sessions`` checks
them, adds the practices, therapists and clients they name, and inserts them as one
batch in the caller's transaction. Every row is handled in DuckDB SQL.

A session is identified across imports by its ``identity`` (a calendar event's UID and the
start of that instance) or, where the source has none, by therapist, client, start and
length, so re-importing a file or an overlapping export adds nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import pandas as pd

from analytics.access.filters import ContactFilter
from analytics.access.scope import LOCAL, Scope
from analytics.errors import InvalidFilterError, InvalidRecordError
from analytics.storage.database import Database
from analytics.storage.schema import SESSION_STATUSES
from analytics.storage.sql import Fragment, execute, identifier, query, sql
from analytics.storage.store import (
    INCOMING_PEOPLE,
    add_people,
    close_batch,
    count_rows,
    new_batch,
    record_import,
    select_source,
    validate_zones,
)

SESSION_COLUMNS = (
    "practice",
    "therapist",
    "time_zone",
    "client",
    "started_at",
    "minutes",
    "status",
    "identity",
)
"""Columns of a canonical session frame; ``started_at`` is an instant, ``identity`` may be
NULL (then therapist, client, start and length identify the session)."""

_STAGE_SQL = """
CREATE OR REPLACE TEMP TABLE incoming AS
SELECT trim(CAST(practice AS VARCHAR)) AS practice,
       trim(CAST(therapist AS VARCHAR)) AS therapist,
       trim(CAST(time_zone AS VARCHAR)) AS time_zone,
       trim(CAST(client AS VARCHAR)) AS client,
       TRY_CAST(started_at AS TIMESTAMPTZ) AS started_at,
       TRY_CAST(minutes AS DOUBLE) AS minutes,
       lower(trim(CAST(status AS VARCHAR))) AS status,
       CAST(identity AS VARCHAR) AS identity
FROM {source}
"""

_VALIDATE_SQL = """
SELECT
    count(*) FILTER (WHERE status IS NULL OR NOT list_contains(?, status)) AS bad_status,
    count(*) FILTER (WHERE minutes IS NULL OR minutes <= 0) AS bad_minutes,
    count(*) FILTER (WHERE started_at IS NULL) AS bad_times,
    count(*) FILTER (
        WHERE coalesce(client, '') = '' OR coalesce(therapist, '') = ''
           OR coalesce(practice, '') = ''
    ) AS missing_names
FROM incoming
"""

_INSERT_SQL = """
INSERT INTO sessions (
    practice_id, therapist_id, client_id, started_at, local_started_at, minutes, status,
    fingerprint, batch_id
)
WITH resolved AS (
    SELECT p.practice_id, t.therapist_id, c.client_id, i.started_at,
           timezone(t.time_zone, i.started_at) AS local_started_at, i.minutes, i.status,
           md5_number(concat_ws('|', 'session', t.therapist_id, coalesce(
               i.identity,
               concat_ws('|', c.client_id, epoch_us(i.started_at), i.minutes)
           ))) AS fingerprint
    {people}
)
SELECT practice_id, therapist_id, client_id, started_at, local_started_at, minutes, status,
       fingerprint, $batch_id
FROM resolved
WHERE NOT EXISTS (SELECT 1 FROM sessions AS e WHERE e.fingerprint = resolved.fingerprint)
-- the same event twice in one file is one session
QUALIFY row_number() OVER (PARTITION BY fingerprint ORDER BY started_at) = 1
"""


@dataclass(frozen=True)
class StoredSessions:
    """What one write added: its batch id, the sessions stored, those already there."""

    batch_id: int
    sessions: int
    duplicates: int = 0
    erased: int = 0
    """Sessions left out because their client was erased."""


def stage_sessions(cursor: duckdb.DuckDBPyConnection, source: str | Fragment) -> None:
    """Stage ``source`` (a table name, or a fragment selecting the canonical session
    columns) as the ``incoming`` table."""
    table = identifier(source) if isinstance(source, str) else source
    execute(cursor, query(_STAGE_SQL, source=table))


def store_sessions(
    cursor: duckdb.DuckDBPyConnection,
    db: Database,
    source: str,
    file_name: str | None = None,
    sha256: str | None = None,
    preset: str | None = None,
    rows_read: int | None = None,
    rows_rejected: int = 0,
) -> StoredSessions:
    """Check the staged ``incoming`` sessions and store them as a new batch.

    Runs inside the caller's transaction; a bad row refuses the whole batch with one
    sentence. Sessions already stored (same fingerprint) count as duplicates.
    """
    _validate(cursor)
    erased = add_people(cursor, db)
    batch_id = new_batch(cursor, source, file_name, sha256, preset, kind="sessions")
    before = count_rows(cursor, "SELECT count(*) FROM sessions")
    execute(cursor, query(_INSERT_SQL, people=INCOMING_PEOPLE, batch_id=batch_id))
    stored = count_rows(cursor, "SELECT count(*) FROM sessions") - before
    duplicates = close_batch(cursor, batch_id, stored, rows_read, rows_rejected, erased)
    return StoredSessions(batch_id=batch_id, sessions=stored, duplicates=duplicates, erased=erased)


def add_sessions(
    db: Database,
    sessions: pd.DataFrame,
    *,
    source: str,
    file_name: str | None = None,
    sha256: str | None = None,
    preset: str | None = None,
    scope: Scope = LOCAL,
) -> StoredSessions:
    """Store a canonical session frame as one batch, all or nothing (only a viewer who may
    import; recorded in the audit log)."""
    scope.require_import()
    missing = [column for column in SESSION_COLUMNS if column not in sessions.columns]
    if missing:
        raise InvalidRecordError(f"Sessions are missing the column(s) {', '.join(missing)}.")
    with db.transaction() as cursor:
        cursor.register("sessions_frame", sessions)
        stage_sessions(cursor, "sessions_frame")
        cursor.unregister("sessions_frame")
        stored = store_sessions(cursor, db, source, file_name, sha256, preset)
        record_import(cursor, scope, file_name or source, stored.batch_id, stored.sessions)
        return stored


def add_sessions_from_query(
    db: Database,
    select: str | Fragment,
    params: Mapping[str, object] | None = None,
    *,
    source: str,
    lookups: Mapping[str, pd.DataFrame] | None = None,
    scope: Scope = LOCAL,
) -> StoredSessions:
    """Store the rows of a SELECT yielding the canonical session columns, as one batch.

    ``select`` is a query-kit fragment (or the caller's fixed text with ``$name``
    parameters in ``params``); ``lookups`` are small frames it may read by name. Only a
    viewer who may import; recorded in the audit log.
    """
    scope.require_import()
    with db.transaction() as cursor:
        for name, frame in (lookups or {}).items():
            cursor.register(name, frame)
        stage_sessions(cursor, select_source(select, params))
        for name in lookups or {}:
            cursor.unregister(name)
        stored = store_sessions(cursor, db, source)
        record_import(cursor, scope, source, stored.batch_id, stored.sessions)
        return stored


SESSION_LIST_COLUMNS = (
    "date",
    "start",
    "minutes",
    "client",
    "client_key",
    "therapist",
    "practice",
    "status",
)
"""Columns of ``session_list``: local date and start time (the therapist's wall clock),
the client as the viewer may see it (``client``) and its pseudonymous key, the status in
words."""


def session_list(db: Database, filters: ContactFilter) -> pd.DataFrame:
    """The sessions under ``filters`` (period, practices, therapists, clients, scope) in
    ``SESSION_LIST_COLUMNS``, by local start; dates (ISO) and start times (``HH:MM``) are
    the therapist's own wall clock, whatever the daylight-saving offset was."""
    from analytics.measures.session_load import STATUS_LABELS

    listed = db.frame(
        query(
            """
        SELECT strftime(s.local_started_at, '%Y-%m-%d') AS date,
               strftime(s.local_started_at, '%H:%M') AS start,
               s.minutes, {client} AS client, cl.client_key, t.name AS therapist,
               p.name AS practice, s.status
        FROM sessions AS s
        JOIN clients AS cl ON cl.client_id = s.client_id
        JOIN therapists AS t ON t.therapist_id = s.therapist_id
        JOIN practices AS p ON p.practice_id = s.practice_id
        WHERE {where}
        ORDER BY s.local_started_at, t.name, cl.client_key
        """,
            client=filters.scope.client_name_fragment("cl"),
            where=filters.session_fragment(),
        )
    )
    # one word per distinct status, applied column-wise
    return listed.assign(status=listed["status"].map(STATUS_LABELS))


def client_keys_named(db: Database, scope: Scope, names: list[str]) -> tuple[str, ...]:
    """The pseudonymous keys of clients given by label (where the viewer sees labels) or by
    key, within the viewer's scope; one sentence for a name that matches no client."""
    if not names:
        return ()
    found = db.frame(
        query(
            """
        SELECT n.name, c.client_key
        FROM unnest($client_names) AS n(name)
        JOIN clients AS c ON (c.client_key = n.name OR {by_label} = n.name)
        WHERE {in_scope}
        """,
            by_label=sql("c.label") if scope.shows_labels else sql("NULL"),
            in_scope=scope.client_fragment("c"),
            client_names=[name.strip() for name in names],
        )
    )
    unknown = sorted({name.strip() for name in names} - set(found["name"]))
    if unknown:
        raise InvalidFilterError(f"There is no client named {', '.join(unknown)}.")
    return tuple(sorted(set(found["client_key"])))


def _validate(cursor: duckdb.DuckDBPyConnection) -> None:
    """Refuse the whole batch with one sentence when any row breaks the session model."""
    row = cursor.execute(_VALIDATE_SQL, [list(SESSION_STATUSES)]).fetchone()
    assert row is not None
    names = ("status", "length in minutes", "start time", "client, therapist or practice")
    for count, name in zip(row, names, strict=True):
        if count:
            raise InvalidRecordError(f"{count} session(s) have a missing or invalid {name}.")
    validate_zones(cursor)
