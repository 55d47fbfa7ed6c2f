"""Scheduled sessions from a CSV file (a practice-management export or a hand-kept sheet).

Read with the same reader as contact imports (encodings, delimiters, ragged rows, row
numbers) and parsed with the same SQL builders (date order decided from the whole file,
12/24-hour clocks, clock or decimal durations). Columns are found by header words in
English and German; a status column is what tells a session file from a contact log.
Bad rows are reported with row number, column and reason; the rest are stored as one
batch, and rows already stored (same therapist, client, start and length) are skipped.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from analytics.access.scope import LOCAL, Scope
from analytics.errors import ContactLoadError
from analytics.importing.parsing import (
    date_sql,
    datetime_sql,
    detect_decimal_comma,
    duration_minutes_sql,
    file_date_order,
    time_sql,
)
from analytics.importing.person_names import is_placeholder, placeholder_sql
from analytics.importing.pipeline import (
    DEFAULT_PRACTICE,
    TherapistNeededError,
    check_time_zone,
    file_sha256,
)
from analytics.importing.reader import RowProblem, TextTable, stage_text_table
from analytics.importing.session_report import SessionOptions, SessionReport
from analytics.importing.text_encodings import UnreadableFileError
from analytics.storage.database import Database
from analytics.storage.sessions import stage_sessions, store_sessions
from analytics.storage.store import count_rows, record_import

if TYPE_CHECKING:
    import pandas as pd


class SessionColumnsError(ContactLoadError):
    """The file lacks a column a session needs (date, start, length, client)."""


SESSION_TEMPLATE_HEADER = (
    "date",
    "start_time",
    "minutes",
    "client",
    "therapist",
    "practice",
    "status",
)
"""The columns of the session template offered for download."""

_TEMPLATE_ROWS = (
    ("2026-04-13", "09:00", "50", "Client A", "Dr. Kim", "Northside Practice", "attended"),
    ("2026-04-14", "14:30", "50", "Client B", "Dr. Kim", "Northside Practice", "no show"),
    ("2026-04-20", "09:00", "50", "Client A", "Dr. Kim", "Northside Practice", "late cancel"),
)

HEADER_WORDS: dict[str, tuple[str, ...]] = {
    "started_at": ("started at", "start date time", "date time", "datetime", "date and time"),
    "date": ("date", "session date", "appointment date", "day", "datum", "tag"),
    "start_time": ("start time", "start", "time", "from", "von", "beginn", "uhrzeit", "startzeit"),
    "minutes": ("minutes", "duration min", "duration minutes", "length min", "mins", "minuten",
                "dauer min", "dauer minuten"),
    "hours": ("hours", "duration h", "duration hours", "stunden", "dauer h", "dauer stunden"),
    "duration": ("duration", "length", "dauer", "länge"),
    "end_time": ("end time", "end", "to", "bis", "ende", "endzeit"),
    "client": ("client", "client name", "patient", "klient", "klientin", "kunde", "customer"),
    "therapist": ("therapist", "clinician", "provider", "therapeut", "therapeutin", "user"),
    "practice": ("practice", "location", "office", "praxis"),
    "status": ("status", "attendance", "session status", "appointment status", "teilnahme"),
}  # fmt: skip
"""Header words (lower case, punctuation as spaces) that name each session field."""

STATUS_SPELLINGS: dict[str, tuple[str, ...]] = {
    "attended": ("attended", "attend", "show", "showed", "shown", "present", "kept",
                 "completed", "complete", "done", "held", "arrived", "yes", "wahrgenommen",
                 "erschienen", "stattgefunden"),
    "no_show": ("noshow", "noshowed", "dna", "didnotattend", "didnotshow", "missed", "absent",
                "nichterschienen"),
    "late_cancelled": ("latecancel", "latecancelled", "latecanceled", "latecancellation",
                       "latecxl", "cancelledlate", "canceledlate", "kurzfristigabgesagt"),
    "cancelled": ("cancelled", "canceled", "cancel", "cancellation", "cxl", "abgesagt",
                  "storniert", "ausgefallen"),
}  # fmt: skip
"""Status cells, reduced to lower-case letters ("No show" -> "noshow"), per session status."""

_CONTACT_ONLY = ("channel", "category", "direction", "kanal", "kategorie")


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\ufeff", "")).lower()
    return re.sub(r"[\W_]+", " ", text).strip()


def session_fields(header: Sequence[str]) -> dict[str, str]:
    """Field -> header cell for the columns a session file has (first match wins)."""
    found: dict[str, str] = {}
    for cell in header:
        words = _normalize(cell)
        for field_name, names in HEADER_WORDS.items():
            if words in names and field_name not in found:
                found[field_name] = cell
                break
    return found


def is_session_header(header: Sequence[str]) -> bool:
    """True for a header with a status, a client and a date or start, and no contact-only
    column (channel, category, direction)."""
    fields = session_fields(header)
    contact_only = any(_normalize(cell) in _CONTACT_ONLY for cell in header)
    has_day = bool({"date", "started_at", "start_time"} & fields.keys())
    return not contact_only and {"status", "client"} <= fields.keys() and has_day


def session_template_csv() -> str:
    """The session template: one row per scheduled session, UTF-8, comma-separated.

    * ``date`` ``YYYY-MM-DD`` and ``start_time`` ``HH:MM`` (24-hour), the therapist's local time;
    * ``minutes``: the session's length;
    * ``client``, ``therapist``, ``practice`` (therapist and practice may be empty: chosen on
      import);
    * ``status``: attended, no show, late cancel or cancelled (other common spellings work).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SESSION_TEMPLATE_HEADER)
    writer.writerows(_TEMPLATE_ROWS)
    return buffer.getvalue()


@dataclass(frozen=True)
class _Columns:
    """Which staged column (c1..cN) holds each field, and the header names for reports."""

    staged: dict[str, str]
    headers: dict[str, str]

    def sql(self, field_name: str) -> str | None:
        column = self.staged.get(field_name)
        return column if column else None


def _columns(header: Sequence[str]) -> _Columns:
    fields = session_fields(header)
    if "start_time" in fields and "date" not in fields and "started_at" not in fields:
        # "Start" alone (practice-management exports) holds the date and the time.
        fields["started_at"] = fields.pop("start_time")
    staged = {name: f"c{list(header).index(cell) + 1}" for name, cell in fields.items()}
    has_day = "started_at" in fields or ("date" in fields and "start_time" in fields)
    has_length = bool({"minutes", "hours", "duration", "end_time"} & fields.keys())
    missing = [
        label
        for label, present in (
            ("date and start time", has_day),
            ("length (minutes, duration or end time)", has_length),
            ("client", "client" in fields),
            ("status", "status" in fields),
        )
        if not present
    ]
    if missing:
        raise SessionColumnsError(
            f"The session file has no column for {', '.join(missing)}; name them like the "
            f"template ({', '.join(SESSION_TEMPLATE_HEADER)})."
        )
    return _Columns(staged=staged, headers=fields)


_ERRORS_SQL = """
SELECT row_number, column_name, message FROM (
    SELECT row_number, $client AS column_name, 'No client is named in this row.' AS message,
           1 AS check_order
    FROM session_parsed WHERE client IS NULL
    UNION ALL
    SELECT row_number, $when, 'The date or start time could not be read.', 2
    FROM session_parsed WHERE ls IS NULL
    UNION ALL
    SELECT row_number, $length, 'The length could not be read.', 3
    FROM session_parsed WHERE ls IS NOT NULL AND minutes IS NULL
    UNION ALL
    SELECT row_number, $length, 'The length is zero or negative.', 4
    FROM session_parsed WHERE minutes <= 0
    UNION ALL
    SELECT row_number, $length,
           'The length of ' || round(minutes, 1) || ' minutes is over the ' || $max_text
           || '-minute maximum.', 5
    FROM session_parsed WHERE minutes > $max_minutes
    UNION ALL
    SELECT row_number, $status,
           CASE WHEN status_cell IS NULL THEN 'No status is given'
                ELSE 'The status "' || status_cell || '" is not known' END
           || '; use attended, no show, late cancel or cancelled.', 6
    FROM session_parsed WHERE status IS NULL
)
ORDER BY row_number, check_order
"""

_INCOMING_SQL = """
CREATE OR REPLACE TEMP TABLE session_incoming AS
SELECT coalesce(p.practice, $practice) AS practice,
       coalesce(p.therapist, $therapist) AS therapist,
       coalesce(t.time_zone, $zone) AS time_zone,
       p.client,
       timezone(coalesce(t.time_zone, $zone), p.ls) AS started_at,
       p.minutes, p.status, NULL AS identity, p.row_number
FROM session_parsed AS p
LEFT JOIN practices AS pr ON pr.name = coalesce(p.practice, $practice)
LEFT JOIN therapists AS t
       ON t.practice_id = pr.practice_id AND t.name = coalesce(p.therapist, $therapist)
WHERE p.client IS NOT NULL AND p.ls IS NOT NULL AND p.minutes > 0
  AND p.minutes <= $max_minutes AND p.status IS NOT NULL
ORDER BY p.row_number
"""


def import_session_csv(
    db: Database,
    source: bytes | Path,
    *,
    file_name: str,
    options: SessionOptions | None = None,
    scope: Scope = LOCAL,
    dry_run: bool = False,
) -> SessionReport:
    """Import the sessions of one CSV file as one batch (or report them, with ``dry_run``)."""
    scope.require_import()
    options = options or SessionOptions()
    with db.transaction(rollback=dry_run) as cursor:
        report = _import(cursor, db, source, file_name, options, dry_run)
        if report.batch_id is not None:  # a stored batch is audited like every import
            record_import(cursor, scope, file_name, report.batch_id, report.imported)
        return report


def _import(
    cursor: duckdb.DuckDBPyConnection,
    db: Database,
    source: bytes | Path,
    file_name: str,
    options: SessionOptions,
    dry_run: bool,
) -> SessionReport:
    check_time_zone(cursor, options.time_zone)
    table = stage_text_table(cursor, source, "session_raw")
    columns = _columns(table.header)
    _parse(cursor, columns, options)
    cursor.execute("DROP TABLE session_raw")
    when = columns.headers.get("started_at") or " + ".join(
        columns.headers[name] for name in ("date", "start_time")
    )
    length = next(
        columns.headers[name]
        for name in ("minutes", "hours", "duration", "end_time")
        if name in columns.headers
    )
    problems = cursor.execute(
        _ERRORS_SQL,
        {
            "client": columns.headers["client"],
            "when": when,
            "length": length,
            "status": columns.headers["status"],
            "max_text": f"{options.max_minutes:g}",
            "max_minutes": options.max_minutes,
        },
    ).fetchall()
    cursor.execute(
        _INCOMING_SQL,
        {
            "practice": options.practice or DEFAULT_PRACTICE,
            # no real therapist given: rows whose own column names none are refused below
            "therapist": None if is_placeholder(options.therapist) else options.therapist,
            "zone": options.time_zone,
            "max_minutes": options.max_minutes,
        },
    )
    cursor.execute("DROP TABLE session_parsed")
    return store_incoming_sessions(
        cursor,
        db,
        source=source,
        file_name=file_name,
        table=table,
        problems=problems,
        preset="sessions_csv",
        detected=f"Session CSV; {table.describe()}",
        who="no therapist",
        nothing="no sessions",
        options=options,
        dry_run=dry_run,
    )


def store_incoming_sessions(
    cursor: duckdb.DuckDBPyConnection,
    db: Database,
    *,
    source: bytes | Path,
    file_name: str,
    table: TextTable,
    problems: Sequence[tuple[int, str | None, str]],
    preset: str,
    detected: str,
    who: str,
    nothing: str,
    options: SessionOptions,
    dry_run: bool,
) -> SessionReport:
    """What every session file shares once its rows are in ``session_incoming``: refuse
    rows naming no therapist (``who`` says which column) or a file with no good row (in one
    sentence, ``nothing`` naming what was missing), then store the batch and report it."""
    errors = sorted(
        [
            *table.ragged,
            *(RowProblem(int(row), column, message) for row, column, message in problems),
        ],
        key=lambda error: (error.row, error.column or ""),
    )
    rejected = len({error.row for error in errors})
    good = count_rows(cursor, "SELECT count(*) FROM session_incoming")
    unnamed = count_rows(cursor, "SELECT count(*) FROM session_incoming WHERE therapist IS NULL")
    if unnamed:
        cursor.execute("DROP TABLE session_incoming")
        raise TherapistNeededError(file_name, unnamed, who, what="sessions")
    if good == 0:
        cursor.execute("DROP TABLE session_incoming")
        first = errors[0] if errors else None
        reason = f"row {first.row}: {first.message.rstrip('.')}" if first else nothing
        raise UnreadableFileError(
            f"No row of {file_name} could be imported ({reason}); nothing was stored."
        )
    preview = _preview(cursor, options.preview_rows) if options.preview_rows else None
    statuses = dict(
        cursor.execute(
            "SELECT status, count(*) FROM session_incoming GROUP BY status ORDER BY status"
        ).fetchall()
    )
    cursor.execute("ALTER TABLE session_incoming DROP COLUMN row_number")
    stage_sessions(cursor, "session_incoming")
    cursor.execute("DROP TABLE session_incoming")
    stored = store_sessions(
        cursor,
        db,
        "import",
        file_name=file_name,
        sha256=file_sha256(source),
        preset=preset,
        rows_read=table.rows,
        rows_rejected=rejected,
    )
    return SessionReport(
        file=file_name,
        kind=preset,
        detected=detected,
        rows=table.rows,
        imported=stored.sessions,
        duplicates=stored.duplicates,
        rejected=rejected,
        erased=stored.erased,
        errors=errors,
        batch_id=None if dry_run else stored.batch_id,
        dry_run=dry_run,
        preview=preview,
        statuses={str(status): int(n) for status, n in statuses.items()},
    )


def _parse(cursor: duckdb.DuckDBPyConnection, columns: _Columns, options: SessionOptions) -> None:
    """Create ``session_parsed``: one typed row per staged row (NULL where a cell did not
    parse), with the same SQL builders as contact imports."""
    col = columns.sql
    order = options.date_order or file_date_order(
        cursor, "session_raw", col("started_at") or col("date") or ""
    )
    if order is None:
        raise SessionColumnsError(
            "Every date in this file reads both day-first and month-first (like 03/04/2026); "
            "choose the date order (in the import settings, or --date-order dmy or mdy)."
        )
    started = col("started_at")
    if started:
        local_start = datetime_sql(started, order)
    else:
        local_start = (
            f"({date_sql(col('date') or '', order)}) + ({time_sql(col('start_time') or '')})"
        )
    if col("minutes"):
        minutes = duration_minutes_sql(
            col("minutes") or "", "minutes", _comma(cursor, col("minutes"))
        )
    elif col("hours"):
        minutes = duration_minutes_sql(col("hours") or "", "hours", _comma(cursor, col("hours")))
    elif col("duration"):
        # A session's length without a unit is h:mm when written with a colon, else minutes
        # (sessions are 45-60 minutes; "50" is never 50 hours).
        duration = col("duration") or ""
        clock = _mostly_clock(cursor, duration)
        minutes = duration_minutes_sql(
            duration, "clock" if clock else "minutes", not clock and _comma(cursor, duration)
        )
    else:
        end = col("end_time") or ""
        # The end is a date and time, or a time on the start's day (an end time before the
        # start then means the session ran past midnight).
        ended_at = datetime_sql(end, order)
        ended = f"(CAST(ls AS DATE) + ({time_sql(end)}))"
        minutes = (
            f"CASE WHEN {ended_at} IS NOT NULL THEN epoch({ended_at} - ls) / 60 "
            f"WHEN {ended} < ls THEN epoch({ended} + INTERVAL 1 DAY - ls) / 60 "
            f"ELSE epoch({ended} - ls) / 60 END"
        )
    status_key = f"regexp_replace(lower({col('status')}), '[^a-z]', '', 'g')"
    status_cases = " ".join(
        f"WHEN list_contains(${status}, {status_key}) THEN '{status}'"
        for status in STATUS_SPELLINGS
    )
    optional = {name: col(name) or "NULL" for name in ("practice", "therapist")}
    # a therapist cell holding a placeholder ("Me", "unknown") names nobody
    optional["therapist"] = placeholder_sql(optional["therapist"])
    cursor.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE session_parsed AS
        WITH base AS (SELECT session_raw.*, {local_start} AS ls FROM session_raw)
        SELECT row_number, {optional["practice"]} AS practice,
               {optional["therapist"]} AS therapist, {col("client")} AS client, ls,
               {minutes} AS minutes, {col("status")} AS status_cell,
               CASE {status_cases} END AS status
        FROM base
        """,  # noqa: S608 - identifiers are generated (c1..cN) and fixed status keys
        {status: list(spellings) for status, spellings in STATUS_SPELLINGS.items()},
    )


def _comma(cursor: duckdb.DuckDBPyConnection, column: str | None) -> bool:
    return bool(column) and detect_decimal_comma(cursor, "session_raw", column or "")


def _mostly_clock(cursor: duckdb.DuckDBPyConnection, column: str) -> bool:
    row = cursor.execute(
        f"SELECT count(*) FILTER (WHERE contains({column}, ':')), count({column}) "  # noqa: S608
        "FROM session_raw"
    ).fetchall()[0]
    return bool(row[1]) and row[0] * 2 > row[1]


def _preview(cursor: duckdb.DuckDBPyConnection, rows: int) -> pd.DataFrame:
    """The first sessions exactly as they will be stored."""
    return cursor.execute(
        """
        SELECT row_number AS "row", practice, therapist, client,
               timezone(time_zone, started_at) AS local_start, time_zone, minutes, status
        FROM session_incoming ORDER BY row_number LIMIT ?
        """,
        [rows],
    ).df()
