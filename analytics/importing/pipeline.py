"""One file in, one batch out: read, map, parse, classify, validate and store, atomically.

Everything per row happens in DuckDB SQL over a staged table of text cells. Rows that
cannot be read are reported (row, column, reason) and the rest go in; a file that is
unusable as a whole gets one sentence and writes nothing. Free text (descriptions, notes,
tags, e-mail addresses) only feeds classification inside the transaction and is dropped
with the staged tables: it is never stored.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import available_timezones

import duckdb

if TYPE_CHECKING:  # pandas loads only where a frame is built (CLI start-up)
    import pandas as pd

from analytics.db import Database
from analytics.errors import ContactLoadError, DatabaseError, InvalidRecordError
from analytics.importing.classify import (
    category_value_sql,
    channel_value_sql,
    classify_table,
    direction_value_sql,
    ensure_default_rules,
)
from analytics.importing.parsing import (
    DateOrder,
    date_sql,
    datetime_sql,
    detect_decimal_comma,
    detect_duration_unit,
    duration_minutes_sql,
    file_date_order,
    time_sql,
)
from analytics.importing.presets import (
    CLASSIFY_FIELDS,
    Layout,
    MappingError,
    detect_layout,
    layout_for_preset,
    layout_from_mapping,
    load_mapping,
)
from analytics.importing.reader import (
    RowProblem,
    TextTable,
    UnreadableFileError,
    problems_frame,
    stage_text_table,
)
from analytics.scope import LOCAL, Scope
from analytics.store import (
    ERASED_REASON,
    StoredBatch,
    count_rows,
    record_import,
    store_incoming,
)

DEFAULT_MAX_MINUTES = 480.0
"""Longest plausible single contact (8 hours); longer durations are rejected as typos."""

REVIEW_LIMIT = 1000
"""How many unclassified rows a report lists one by one (all are counted)."""

DEFAULT_MAX_UPLOAD_MB = 200
"""Largest file an import accepts unless ``CONTACTLOAD_MAX_UPLOAD_MB`` says otherwise (the
dashboard's own cap, ``server.maxUploadSize`` in .streamlit/config.toml, matches it)."""

MAX_UPLOAD_ENV_VAR = "CONTACTLOAD_MAX_UPLOAD_MB"

PAUSE_ENV_VAR = "CONTACTLOAD_PAUSE_AT"
"""Fault tests only: the pipeline stage at which an import announces itself on stderr and
waits, so a test can kill the process there (see tests/test_faults.py)."""

DEFAULT_THERAPIST = "Me"
DEFAULT_PRACTICE = "My practice"

Progress = Callable[[float, str], None]


class AmbiguousDatesError(ContactLoadError):
    """Every date in the file reads both day-first and month-first."""


class FileTooLargeError(ContactLoadError):
    """The file is larger than the configured upload cap."""


class StorageFailedError(DatabaseError):
    """The database could not be written (disk full, file size limit, I/O error)."""


def max_upload_bytes() -> int:
    """The upload cap in bytes: ``CONTACTLOAD_MAX_UPLOAD_MB`` megabytes, default 200."""
    text = os.environ.get(MAX_UPLOAD_ENV_VAR, "").strip()
    try:
        megabytes = float(text) if text else DEFAULT_MAX_UPLOAD_MB
    except ValueError:
        megabytes = DEFAULT_MAX_UPLOAD_MB
    if megabytes <= 0:
        megabytes = DEFAULT_MAX_UPLOAD_MB
    return int(megabytes * 1024 * 1024)


def _check_size(source: bytes | Path, file_name: str) -> None:
    """Refuse, in one sentence, a file over the upload cap before reading any of it."""
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    cap = max_upload_bytes()
    if size > cap:
        raise FileTooLargeError(
            f"{file_name} is {size / 1024 / 1024:,.1f} MB, over the {cap / 1024 / 1024:.4g} MB "
            f"limit; split it, or raise the limit with {MAX_UPLOAD_ENV_VAR}."
        )


def _pause_point(stage: str) -> None:
    """Wait at ``stage`` when a fault test asked for it (``CONTACTLOAD_PAUSE_AT``)."""
    if os.environ.get(PAUSE_ENV_VAR) == stage:
        import sys
        import time

        print(f"paused at {stage}", file=sys.stderr, flush=True)
        time.sleep(120)


@dataclass
class FileReport:
    """What importing one file did (or, on a dry run, would do)."""

    file: str
    preset: str
    detected: str
    rows: int
    imported: int
    duplicates: int
    rejected: int
    errors: list[RowProblem] = field(default_factory=list)
    batch_id: int | None = None
    dry_run: bool = False
    layout: Layout | None = None
    preview: pd.DataFrame | None = None
    unclassified: list[RowProblem] = field(default_factory=list)
    """Rows stored as ``other`` because no column or rule placed them: listed for review
    (the first ``REVIEW_LIMIT``; ``unclassified_count`` has them all)."""
    unclassified_count: int = 0
    erased: int = 0
    """Rows left out because their client was erased (never imported again)."""

    @property
    def erased_note(self) -> str | None:
        """Why rows were skipped, in one sentence, when any were (CLI and Import page)."""
        if not self.erased:
            return None
        return f"{self.erased:,} rows were skipped: {ERASED_REASON}."

    def to_json(self) -> dict[str, Any]:
        """The CLI's ``--json`` shape for one file."""
        return {
            "file": self.file,
            "preset": self.preset,
            "rows": self.rows,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "skipped_erased": self.erased,
            "skipped_erased_reason": ERASED_REASON if self.erased else None,
            "errors": [error.to_json() for error in self.errors],
        }

    def errors_frame(self) -> pd.DataFrame:
        """The validation report as a table (row, column, message), for download."""
        return problems_frame(self.errors)


@dataclass(frozen=True)
class ImportOptions:
    """How to read a file; every field has a sensible default for auto-detection."""

    preset: str = "auto"
    mapping: Mapping[str, str] | None = None
    mapping_name: str | None = None
    therapist: str | None = None
    practice: str | None = None
    time_zone: str = "UTC"
    date_order: DateOrder | None = None
    max_minutes: float = DEFAULT_MAX_MINUTES
    preview_rows: int = 20


def local_time_zone() -> str:
    """This machine's IANA time zone ($CONTACTLOAD_TIME_ZONE, $TZ, /etc/timezone), else UTC."""
    for candidate in (os.environ.get("CONTACTLOAD_TIME_ZONE"), os.environ.get("TZ")):
        if candidate and candidate in available_timezones():
            return candidate
    for path in (Path("/etc/timezone"),):
        if path.is_file():
            name = path.read_text().strip()
            if name in available_timezones():
                return name
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        name = str(localtime.resolve()).split("zoneinfo/", 1)[-1]
        if name in available_timezones():
            return name
    return "UTC"


def file_sha256(source: bytes | Path) -> str:
    """SHA-256 of a file's bytes (read in chunks for large files)."""
    digest = hashlib.sha256()
    if isinstance(source, bytes):
        digest.update(source)
    else:
        with open(source, "rb") as file:
            for chunk in iter(lambda: file.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def import_file(
    db: Database,
    source: bytes | Path,
    *,
    file_name: str,
    options: ImportOptions | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
    scope: Scope = LOCAL,
) -> FileReport:
    """Import one file as one batch (or only report what would happen, with ``dry_run``).

    Only a viewer who may import (``PermissionDeniedError`` otherwise); a stored batch is
    recorded in the audit log in the same transaction, a dry run leaves no entry.
    """
    scope.require_import()
    options = options or ImportOptions()
    report_progress = progress or (lambda fraction, text: None)
    _check_size(source, file_name)
    try:
        with db.transaction(rollback=dry_run) as cursor:
            report = _import(cursor, db, source, file_name, options, dry_run, report_progress)
            if report.batch_id is not None:
                record_import(cursor, scope, file_name, report.batch_id, report.imported)
    except duckdb.IOException as error:
        # Disk full or a file size limit: DuckDB rolled the transaction back.
        raise StorageFailedError(
            f"{file_name} could not be stored because the database could not be written "
            f"({_first_line(error)}); nothing from it was stored."
        ) from error
    report_progress(1.0, "Done")
    return report


def _first_line(error: Exception) -> str:
    """The gist of a DuckDB error, without its type prefix or trailing lines."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text.split(": ", 1)[-1].rstrip(".")


def _import(
    cursor: duckdb.DuckDBPyConnection,
    db: Database,
    source: bytes | Path,
    file_name: str,
    options: ImportOptions,
    dry_run: bool,
    progress: Progress,
) -> FileReport:
    check_time_zone(cursor, options.time_zone)
    progress(0.05, "Reading the file")
    sha256 = file_sha256(source)
    table = stage_text_table(cursor, source, "raw_rows", trim=False)
    _pause_point("staged")
    layout = _layout(db, table, options)
    progress(0.3, "Reading dates, times and durations")
    _parse(cursor, table, layout, options)
    progress(0.5, "Classifying contacts")
    _classify(cursor, table, layout)
    _pause_point("classified")
    cursor.execute("DROP TABLE raw_rows")  # the file's text, free text included, is gone
    progress(0.6, "Checking every row")
    errors = [*table.ragged, *_row_errors(cursor, table, layout, options)]
    rejected_rows = len({error.row for error in errors})
    _stage_incoming(cursor, options)
    cursor.execute("DROP TABLE parsed")
    cursor.execute("DROP TABLE classes")
    good = count_rows(cursor, "SELECT count(*) FROM incoming")
    if good == 0:
        first = errors[0].message if errors else "it holds no contacts"
        raise UnreadableFileError(
            f"No row of {file_name} could be imported (row {errors[0].row if errors else 2}: "
            f"{first.rstrip('.')}); nothing was stored."
        )
    preview = _preview(cursor, options.preview_rows) if options.preview_rows else None
    unclassified, unclassified_count = _unclassified(cursor)
    progress(0.8, "Storing contacts")
    stored = store_incoming(
        cursor,
        db,
        source="import",
        file_name=file_name,
        sha256=sha256,
        preset=layout.preset,
        rows_read=table.rows,
        rows_rejected=rejected_rows,
        rows_checked=True,
    )
    _pause_point("stored")  # every row written, nothing committed yet
    report = _report(file_name, table, layout, stored, rejected_rows, errors, dry_run, preview)
    report.unclassified = unclassified
    report.unclassified_count = unclassified_count
    return report


def check_time_zone(cursor: duckdb.DuckDBPyConnection, zone: str) -> None:
    """Refuse an unknown zone for new therapists before any work is done (every importer:
    contact logs, phone logs, calendars, session files)."""
    # fetchall, not fetchone: a half-read result would block the cursor's next step
    # (registering a frame of parsed rows, in the calendar and phone log importers)
    (known,) = cursor.execute(
        "SELECT count(*) FROM pg_timezone_names() WHERE name = ?", [zone]
    ).fetchall()
    if not known[0]:
        raise InvalidRecordError(
            f"Unknown time zone '{zone}'; use an IANA name such as 'Europe/Berlin'."
        )


def _report(
    file_name: str,
    table: TextTable,
    layout: Layout,
    stored: StoredBatch,
    rejected: int,
    errors: list[RowProblem],
    dry_run: bool,
    preview: pd.DataFrame | None,
) -> FileReport:
    return FileReport(
        file=file_name,
        preset=layout.preset,
        detected=f"{layout.describe()}; {table.describe()}",
        rows=table.rows,
        imported=stored.contacts,
        duplicates=stored.duplicates,
        rejected=rejected,
        erased=stored.erased,
        errors=sorted(errors, key=lambda error: (error.row, error.column or "")),
        batch_id=None if dry_run else stored.batch_id,
        dry_run=dry_run,
        layout=layout,
        preview=preview,
    )


def _layout(db: Database, table: TextTable, options: ImportOptions) -> Layout:
    """The layout the user asked for, else the one recognised from the header."""
    if options.mapping_name:
        saved = load_mapping(db, options.mapping_name)
        return layout_from_mapping(table.header, saved.columns, base=saved)
    if options.mapping:
        base = (
            layout_for_preset(options.preset, table.header)
            if options.preset != "auto"
            else detect_layout(table.header)
        )
        return layout_from_mapping(table.header, options.mapping, base=base)
    if options.preset != "auto":
        return layout_for_preset(options.preset, table.header)
    layout = detect_layout(table.header)
    if layout is None:
        raise MappingError(
            "The columns of this file match no known export; map them to client, date, "
            "time and duration (on the Import page, or with --map field=Header,...)."
        )
    return layout


def _columns(table: TextTable, layout: Layout, field_name: str) -> list[str]:
    """The staged columns (c1, c2, ...) ``field_name`` comes from (two for a joined name)."""
    return [f"c{table.header.index(header) + 1}" for header in layout.sources(field_name)]


def _column(table: TextTable, layout: Layout, field_name: str) -> str | None:
    """The one staged column holding ``field_name``, or None."""
    columns = _columns(table, layout, field_name)
    return columns[0] if columns else None


def _header(layout: Layout, field_name: str) -> str | None:
    """How error reports name the column(s) of a field."""
    return " + ".join(layout.sources(field_name)) or None


def _parse(
    cursor: duckdb.DuckDBPyConnection, table: TextTable, layout: Layout, options: ImportOptions
) -> None:
    """Create ``parsed``: one typed row per staged row (NULL where a cell did not parse)."""

    def col(name: str) -> str | None:
        # Cells are staged untrimmed (cheaper); only the cells used are trimmed, here.
        column = _column(table, layout, name)
        return f"nullif(trim({column}), '')" if column else None

    date_name = _column(table, layout, "started_at") or _column(table, layout, "date")
    date_column = col("started_at") or col("date")
    if date_name is None or date_column is None:
        raise MappingError("No column gives the contact's date; map one to date.")
    order = options.date_order or file_date_order(cursor, "raw_rows", date_name)
    if order is None:
        raise AmbiguousDatesError(
            "Every date in this file reads both day-first and month-first (like 03/04/2026); "
            "choose the date order (in the import settings, or --date-order dmy or mdy)."
        )
    # Each cell is parsed once, in ``cells``; ``base`` combines the parsed values.
    bad_time = "false"
    day_sql = time_of_day_sql = start_cell_sql = "NULL"
    if col("started_at"):
        local_start = "started"
        started_sql = datetime_sql(col("started_at") or "", order)
        time_known = "started IS NOT NULL"
    else:
        started_sql = "NULL"
        day_sql = date_sql(date_column, order)
        start_time = col("start_time")
        if start_time and layout.has_time_of_day:
            time_of_day_sql = time_sql(start_time)
            start_cell_sql = start_time
            local_start = "parsed_day + coalesce(parsed_time, TIME '00:00')"
            time_known = "parsed_time IS NOT NULL"
            # An empty start time means "not recorded"; text that is not a time is an error.
            bad_time = "(start_cell IS NOT NULL AND parsed_time IS NULL)"
        else:
            local_start = "CAST(parsed_day AS TIMESTAMP)"
            time_known = "false"
    duration = col("duration")
    duration_name = _column(table, layout, "duration")
    if duration and duration_name:
        unit = layout.duration_unit or detect_duration_unit(cursor, "raw_rows", duration_name)
        # A clock duration (1:30:00) has no decimals to read.
        comma = unit != "clock" and detect_decimal_comma(cursor, "raw_rows", duration_name)
        minutes = duration_minutes_sql(duration, unit, comma)
    elif col("end_time") and col("start_time"):
        end_day = date_sql(col("end_date") or date_column, order)
        end_time = time_sql(col("end_time") or "")
        # An end before the start means the contact ran past midnight.
        ended = f"(({end_day}) + ({end_time}))"
        minutes = (
            f"CASE WHEN {ended} < ls THEN epoch({ended} + INTERVAL 1 DAY - ls) / 60 "
            f"ELSE epoch({ended} - ls) / 60 END"
        )
    else:
        raise MappingError("No column gives the contact's length; map duration, or start and end.")
    practice, therapist, client = (
        "NULL"
        if not columns
        else f"nullif(trim({columns[0]}), '')"
        if len(columns) == 1
        else f"nullif(trim(concat_ws(' ', {', '.join(columns)})), '')"
        for columns in (
            _columns(table, layout, name) for name in ("practice", "therapist", "client")
        )
    )
    category = col("category")
    channel = col("channel")
    direction = col("direction")
    cursor.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE parsed AS
        WITH cells AS (
            SELECT raw_rows.*, {started_sql} AS started, {day_sql} AS parsed_day,
                   {time_of_day_sql} AS parsed_time, {start_cell_sql} AS start_cell
            FROM raw_rows
        ),
        base AS (
            SELECT cells.*, {local_start} AS ls, {time_known} AS time_known,
                   {bad_time} AS bad_time
            FROM cells
        )
        SELECT row_number, {practice} AS practice, {therapist} AS therapist,
               {client} AS client, ls, time_known, bad_time, {minutes} AS minutes,
               {category_value_sql(category) if category else "NULL"} AS explicit_category,
               {channel_value_sql(channel) if channel else "NULL"} AS explicit_channel,
               {direction_value_sql(direction) if direction else "'unknown'"} AS direction
        FROM base
        """  # noqa: S608 - identifiers are generated (c1..cN), never file content
    )


def _classify(cursor: duckdb.DuckDBPyConnection, table: TextTable, layout: Layout) -> None:
    """Create ``classes``: category and channel per row from keyword rules over free text."""
    ensure_default_rules(cursor)
    present = [
        column
        for name in (*CLASSIFY_FIELDS, "category", "channel")
        for column in _columns(table, layout, name)
    ]
    text_sql = f"lower(concat_ws(' ', {', '.join(present)}))" if present else "''"
    classify_table(cursor, "raw_rows", text_sql, "classes")


_ERRORS_SQL = """
SELECT row_number, column_name, message FROM (
    SELECT p.row_number, ? AS column_name,
           'No client is named in this row.' AS message, 1 AS check_order
    FROM parsed AS p WHERE p.client IS NULL
    UNION ALL
    SELECT p.row_number, ?, 'The date or time could not be read.', 2
    FROM parsed AS p WHERE p.ls IS NULL
    UNION ALL
    SELECT p.row_number, ?, 'The start time could not be read.', 2
    FROM parsed AS p WHERE p.bad_time
    UNION ALL
    SELECT p.row_number, ?, 'The duration could not be read.', 3
    FROM parsed AS p WHERE p.ls IS NOT NULL AND p.minutes IS NULL
    UNION ALL
    SELECT p.row_number, ?, 'The duration is zero or negative.', 4
    FROM parsed AS p WHERE p.minutes <= 0
    UNION ALL
    SELECT p.row_number, ?,
           'The duration of ' || round(p.minutes, 1) || ' minutes is over the '
           || ? || '-minute maximum.', 5
    FROM parsed AS p WHERE p.minutes > ?
)
ORDER BY row_number, check_order
"""


def _row_errors(
    cursor: duckdb.DuckDBPyConnection, table: TextTable, layout: Layout, options: ImportOptions
) -> list[RowProblem]:
    """Every row that cannot become a contact, with the column and the reason."""
    when = _header(layout, "started_at") or _header(layout, "date")
    length = _header(layout, "duration") or _header(layout, "end_time")
    limit = options.max_minutes
    rows = cursor.execute(
        _ERRORS_SQL,
        [
            _header(layout, "client"),
            when,
            _header(layout, "start_time"),
            length,
            length,
            length,
            f"{limit:g}",
            limit,
        ],
    ).fetchall()
    return [
        RowProblem(row=int(row), column=column, message=message) for row, column, message in rows
    ]


def _stage_incoming(cursor: duckdb.DuckDBPyConnection, options: ImportOptions) -> None:
    """Create ``incoming`` in the canonical shape from the rows that passed every check."""
    cursor.execute(
        """
        CREATE OR REPLACE TEMP TABLE incoming AS
        SELECT coalesce(p.practice, ?) AS practice,
               coalesce(p.therapist, ?) AS therapist,
               coalesce(t.time_zone, ?) AS time_zone,
               p.client,
               timezone(coalesce(t.time_zone, ?), p.ls) AS started_at,
               p.minutes,
               coalesce(p.explicit_channel, k.channel, 'other') AS channel,
               coalesce(p.explicit_category, k.category, 'other') AS category,
               p.direction,
               p.time_known,
               p.row_number,
               p.explicit_category IS NULL AND k.category IS NULL AS category_unplaced,
               p.explicit_channel IS NULL AND k.channel IS NULL AS channel_unplaced
        FROM parsed AS p
        LEFT JOIN classes AS k USING (row_number)
        LEFT JOIN practices AS pr ON pr.name = coalesce(p.practice, ?)
        LEFT JOIN therapists AS t
               ON t.practice_id = pr.practice_id AND t.name = coalesce(p.therapist, ?)
        WHERE p.client IS NOT NULL AND p.ls IS NOT NULL AND NOT p.bad_time
          AND p.minutes > 0 AND p.minutes <= ?
        ORDER BY p.row_number
        """,
        [
            options.practice or DEFAULT_PRACTICE,
            options.therapist or DEFAULT_THERAPIST,
            options.time_zone,
            options.time_zone,
            options.practice or DEFAULT_PRACTICE,
            options.therapist or DEFAULT_THERAPIST,
            options.max_minutes,
        ],
    )


def _unclassified(cursor: duckdb.DuckDBPyConnection) -> tuple[list[RowProblem], int]:
    """Rows whose category or channel nothing placed (stored as ``other``), for review:
    the first ``REVIEW_LIMIT`` of them and how many there are in all."""
    total = count_rows(
        cursor, "SELECT count(*) FROM incoming WHERE category_unplaced OR channel_unplaced"
    )
    rows = cursor.execute(
        """
        SELECT row_number,
               CASE WHEN category_unplaced AND channel_unplaced
                    THEN 'No column or rule placed the category or the channel; both are other.'
                    WHEN category_unplaced
                    THEN 'No column or rule placed the category; it is other.'
                    ELSE 'No column or rule placed the channel; it is other.' END
        FROM incoming WHERE category_unplaced OR channel_unplaced
        ORDER BY row_number LIMIT ?
        """,
        [REVIEW_LIMIT],
    ).fetchall()
    problems = [RowProblem(row=int(row), column=None, message=message) for row, message in rows]
    return problems, total


def _preview(cursor: duckdb.DuckDBPyConnection, rows: int) -> pd.DataFrame:
    """The first rows exactly as they will be stored (no free text exists any more)."""
    return cursor.execute(
        """
        SELECT row_number AS "row", practice, therapist, client,
               timezone(time_zone, started_at) AS local_start, time_known, time_zone,
               minutes, channel, category, direction
        FROM incoming ORDER BY row_number LIMIT ?
        """,
        [rows],
    ).df()
