"""One file in, one batch out: read, map, parse, classify, validate and store, atomically.

Everything per row happens in DuckDB SQL over a staged table of text cells. Rows that
cannot be read are reported (row, column, reason) and the rest go in; a file that is
unusable as a whole gets one sentence and writes nothing. Free text (descriptions, notes,
tags, e-mail addresses) only feeds classification inside the transaction and is dropped
with the staged tables: it is never stored.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import available_timezones

import duckdb

if TYPE_CHECKING:  # pandas loads only where a frame is built (CLI start-up)
    import pandas as pd

from analytics.access.scope import LOCAL, Scope
from analytics.errors import ContactLoadError, DatabaseError, InvalidRecordError
from analytics.importing.classify import (
    DirectionDefaults,
    bounded_sql,
    category_value_sql,
    channel_value_sql,
    classify_table,
    direction_value_sql,
    ensure_default_rules,
    rule_text_sql,
)

# Names moved to limits and person_names stay importable from here too, for callers
# written against the old place (the lead may drop these once every caller moved).
from analytics.importing.limits import (
    MAX_ROWS_ENV_VAR,
    ImportLimitError,
    _check_size,
    _Deadline,
    _pause_point,
    max_rows,
)
from analytics.importing.parsing import (
    DateOrder,
    file_date_order,
    neither_order_sql,
)
from analytics.importing.person_names import (
    is_placeholder,
    mixed_script_warnings,
    name_sql,
    placeholder_sql,
)
from analytics.importing.presets import (
    CLASSIFY_FIELDS,
    Layout,
    MappingError,
    detect_layout,
    layout_for_preset,
    layout_from_mapping,
)
from analytics.importing.reader import RowProblem, TextTable, problems_frame, stage_text_table
from analytics.importing.saved_mappings import load_mapping
from analytics.importing.text_encodings import UnreadableFileError
from analytics.importing.timing import (
    _column,
    _columns,
    _end_sql,
    _header,
    _minutes_sql,
    _start_sql,
)
from analytics.storage.database import Database
from analytics.storage.store import (
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

DEFAULT_PRACTICE = "My practice"

Progress = Callable[[float, str], None]


class AmbiguousDatesError(ContactLoadError):
    """Dates in the file read both day-first and month-first, and none decides which."""


class EmptyClientColumnError(MappingError):
    """The column mapped to client is empty in every row (clients kept as projects)."""


class TherapistNeededError(ContactLoadError):
    """Rows name no real therapist (no user, or a placeholder such as "Me") and none was
    given: the CLI's sentence names --therapist; ``ask`` is the Import page's. ``what`` is
    what the file holds ("contacts", "sessions"), ``noun`` its rows (singular, plural)."""

    def __init__(
        self,
        file_name: str,
        rows: int,
        shown: str,
        *,
        what: str = "contacts",
        noun: tuple[str, str] = ("row", "rows"),
    ) -> None:
        self.file_name, self.rows, self.shown = file_name, rows, shown
        self.what, self.noun = what, noun
        super().__init__(
            f"{file_name} does not say whose {what} these are ({self._rows_have()}); name "
            "the therapist with --therapist NAME."
        )

    def _rows_have(self) -> str:
        """ "3 rows have 'Me' as the user", "1 row has no user"."""
        verb = f"{self.noun[0]} has" if self.rows == 1 else f"{self.noun[1]} have"
        return f"{self.rows:,} {verb} {self.shown}"

    @property
    def ask(self) -> str:
        """The Import page's sentence: the name is asked for right below it."""
        return (
            f"{self.file_name} does not say whose {self.what} these are "
            f"({self._rows_have()}); type the therapist's name below."
        )


class StorageFailedError(DatabaseError):
    """The database could not be written (disk full, file size limit, I/O error)."""


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
    direction_unknown: int = 0
    """Good rows of the file (new or already stored) with no direction: no column, no
    default for their channel."""
    encoding: str | None = None
    """The codec the file was read with ("utf-8", "cp1250", ...), detected or chosen."""
    warnings: list[str] = field(default_factory=list)
    """Things to check that do not stop the import, e.g. names mixing alphabets."""
    erased: int = 0
    """Rows left out because their client was erased (never imported again)."""
    new_therapists: list[str] = field(default_factory=list)
    """Therapists of the file not yet in the database: they get the import's time zone."""

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
            "detected": self.detected,
            "encoding": self.encoding,
            "rows": self.rows,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "skipped_erased": self.erased,
            "skipped_erased_reason": ERASED_REASON if self.erased else None,
            "errors": [error.to_json() for error in self.errors],
            "direction_unknown": self.direction_unknown,
            "warnings": self.warnings,
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
    direction_defaults: DirectionDefaults = ()
    """Who started a contact of each channel when the file has no direction for it
    (``classify.direction_defaults``), e.g. incoming calls and portal messages: client."""
    encoding: str | None = None
    """The file's text encoding as a codec name ("cp1250"); None detects it."""


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
    # A dry run (the Import page's preview) writes nothing for good, so it waits for the
    # writers' turn only to rehearse storing: other people's downloads and imports do not
    # wait while it reads, parses and classifies.
    if dry_run:
        _ensure_rules(db)
    session = db.rehearsal() if dry_run else db.transaction()
    try:
        with session as cursor:
            deadline = _Deadline(cursor, file_name)

            def checked(fraction: float, text: str) -> None:
                deadline.check()
                report_progress(fraction, text)

            try:
                report = _import(cursor, db, source, file_name, options, dry_run, checked)
                deadline.check()
            except duckdb.InterruptException as error:
                raise deadline.error() from error
            finally:
                deadline.cancel()
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


def _ensure_rules(db: Database) -> None:
    """Store the built-in rules for good before a dry run if there are none: the dry run
    classifies outside any transaction, where inserting them would last."""
    with db.cursor() as cursor:
        empty = count_rows(cursor, "SELECT count(*) FROM classification_rules") == 0
    if empty:
        # One statement, in the writers' turn; no stored figure depends on the rules, so
        # cached results stay valid (as when the Import page lists them, ``list_rules``).
        with db.writers_turn(), db.cursor() as cursor:
            ensure_default_rules(cursor)


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
    table = stage_text_table(cursor, source, "raw_rows", trim=False, encoding=options.encoding)
    if table.rows > max_rows():
        raise ImportLimitError(
            f"{file_name} has {table.rows:,} rows, over the limit of {max_rows():,} for one "
            f"import; nothing from it was stored. Split it, or raise the limit with "
            f"{MAX_ROWS_ENV_VAR}."
        )
    progress(0.2, "Recognising the columns")
    _pause_point("staged")
    layout = _layout(db, table, options)
    progress(0.3, "Reading dates, times and durations")
    if is_placeholder(options.therapist):
        options = replace(options, therapist=None)
    _parse(cursor, table, layout, options)
    _check_clients(cursor, layout, file_name)
    progress(0.5, "Classifying contacts")
    _classify(cursor, table, layout)
    _pause_point("classified")
    cursor.execute("DROP TABLE raw_rows")  # the file's text, free text included, is gone
    progress(0.6, "Checking every row")
    errors = [*table.ragged, *_row_errors(cursor, table, layout, options)]
    rejected_rows = len({error.row for error in errors})
    _stage_incoming(cursor, options)
    good = count_rows(cursor, "SELECT count(*) FROM incoming")
    if good == 0:
        first = errors[0].message if errors else "it holds no contacts"
        raise UnreadableFileError(
            f"No row of {file_name} could be imported (row {errors[0].row if errors else 2}: "
            f"{first.rstrip('.')}); nothing was stored."
        )
    _check_therapists(cursor, file_name)
    cursor.execute("DROP TABLE parsed")
    cursor.execute("DROP TABLE classes")
    preview = _preview(cursor, options.preview_rows) if options.preview_rows else None
    warnings = mixed_script_warnings(cursor)
    unclassified, unclassified_count = _unclassified(cursor)
    new_therapists = [
        str(name)
        for (name,) in cursor.execute(
            """
            SELECT DISTINCT i.therapist FROM incoming AS i
            LEFT JOIN practices AS p ON p.name = i.practice
            LEFT JOIN therapists AS t ON t.practice_id = p.practice_id AND t.name = i.therapist
            WHERE t.therapist_id IS NULL ORDER BY 1
            """
        ).fetchall()
    ]
    direction_unknown = count_rows(
        cursor, "SELECT count(*) FROM incoming WHERE direction = 'unknown'"
    )
    progress(0.8, "Storing contacts")
    # A dry run reads without a transaction, and rehearses only this step in one.
    with db.trial(cursor) if dry_run else contextlib.nullcontext():
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
    report.direction_unknown = direction_unknown
    report.warnings = warnings
    report.new_therapists = new_therapists
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
        encoding=table.encoding,
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


def _parse(
    cursor: duckdb.DuckDBPyConnection, table: TextTable, layout: Layout, options: ImportOptions
) -> None:
    """Create ``parsed``: one typed row per staged row (NULL where a cell did not parse).

    Each row gets its therapist's zone (a new therapist gets the import's), so that a start
    given as an instant (``...+02:00``) becomes local time there, and a length worked out
    from start and end is the time between two instants: right across a DST change.
    """

    def col(name: str) -> str | None:
        # Cells are staged untrimmed (cheaper); only the cells used are trimmed, here.
        column = _column(table, layout, name)
        return f"nullif(trim({column}), '')" if column else None

    date_name = _column(table, layout, "started_at") or _column(table, layout, "date")
    date_column = col("started_at") or col("date")
    if date_name is None or date_column is None:
        raise MappingError("No column gives the contact's date; map one to date.")
    end_name = _column(table, layout, "ended_at")
    order = options.date_order or file_date_order(
        cursor, "raw_rows", date_name, *([end_name] if end_name else [])
    )
    if order is None:
        raise AmbiguousDatesError(
            "The dates in this file read both day-first and month-first (like 03/04/2026); "
            "choose the date order (in the import settings, or --date-order dmy or mdy)."
        )
    start = _start_sql(layout, col, date_column, order)
    end = _end_sql(layout, col, order)
    minutes = _minutes_sql(cursor, table, layout, col, end)
    practice, therapist, client = (
        "NULL"
        if not columns
        else name_sql(columns[0])
        if len(columns) == 1
        else name_sql(f"concat_ws(' ', {', '.join(columns)})")
        for columns in (
            _columns(table, layout, name) for name in ("practice", "therapist", "client")
        )
    )
    therapist_cell = therapist
    therapist = placeholder_sql(therapist) if therapist != "NULL" else therapist
    category = col("category")
    channel = col("channel")
    direction = col("direction")
    cursor.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE parsed AS
        WITH cells AS (
            SELECT raw_rows.*, {practice} AS practice, {therapist} AS therapist,
                   {therapist_cell} AS therapist_cell,
                   {client} AS client, {start.cells}
            FROM raw_rows
        ),
        zoned AS (
            SELECT cells.*, coalesce(t.time_zone, $zone) AS time_zone
            FROM cells
            LEFT JOIN practices AS pr ON pr.name = coalesce(cells.practice, $practice)
            LEFT JOIN therapists AS t
                   ON t.practice_id = pr.practice_id
                  AND t.name = coalesce(cells.therapist, $therapist)
        ),
        base AS (
            SELECT zoned.*, {start.local} AS ls, {start.time_known} AS time_known,
                   {start.bad_time} AS bad_time
            FROM zoned
        ),
        timed AS (
            SELECT base.*, {start.instant} AS start_at FROM base
        )
        SELECT row_number, practice, therapist, therapist_cell, client, time_zone, ls, start_at,
               time_known, bad_time, {minutes} AS minutes,
               CASE WHEN ls IS NULL THEN {neither_order_sql(date_column)} ELSE false END
                   AS date_neither,
               {category_value_sql(category) if category else "NULL"} AS explicit_category,
               {channel_value_sql(channel) if channel else "NULL"} AS explicit_channel,
               {direction_value_sql(direction) if direction else "'unknown'"} AS direction
        FROM timed
        """,  # noqa: S608 - identifiers are generated (c1..cN), never file content
        {
            "zone": options.time_zone,
            "practice": options.practice or DEFAULT_PRACTICE,
            "therapist": options.therapist,
        },
    )


def _check_therapists(cursor: duckdb.DuckDBPyConnection, file_name: str) -> None:
    """Refuse a file whose good rows name no real therapist when none was given (their
    therapist is then NULL): a placeholder never becomes a therapist."""
    row = cursor.execute(
        """
        SELECT count(*), mode(p.therapist_cell)
        FROM incoming AS i JOIN parsed AS p USING (row_number)
        WHERE i.therapist IS NULL
        """
    ).fetchone()
    if row and row[0]:
        shown = "no user" if row[1] is None else f"'{row[1]}' as the user"
        raise TherapistNeededError(file_name, int(row[0]), shown)


def _check_clients(cursor: duckdb.DuckDBPyConnection, layout: Layout, file_name: str) -> None:
    """Refuse, with the fix in the sentence, a file whose client column is empty in every
    row: people who keep clients as projects (Toggl, Clockify, Kimai) leave Client empty."""
    named = count_rows(cursor, "SELECT count(client) FROM parsed")
    if named or not layout.sources("client"):
        return
    client = " + ".join(layout.sources("client"))
    project = layout.columns.get("project")
    fix = (
        f"use --map client={project} or pick {project} as the client on the Import page"
        if project
        else "map the column that names the client (--map client=Header, or on the Import page)"
    )
    raise EmptyClientColumnError(f"Every {client} cell of {file_name} is empty; {fix}.")


def _classify(cursor: duckdb.DuckDBPyConnection, table: TextTable, layout: Layout) -> None:
    """Create ``classes``: category and channel per row from keyword rules over free text."""
    ensure_default_rules(cursor)
    present = [
        column
        for name in (*CLASSIFY_FIELDS, "category", "channel")
        for column in _columns(table, layout, name)
    ]
    classify_table(cursor, "raw_rows", rule_text_sql([bounded_sql(c) for c in present]), "classes")


_ERRORS_SQL = """
SELECT row_number, column_name, message FROM (
    SELECT p.row_number, ? AS column_name,
           'No client is named in this row.' AS message, 1 AS check_order
    FROM parsed AS p WHERE p.client IS NULL
    UNION ALL
    SELECT p.row_number, ?,
           CASE WHEN p.date_neither
                THEN 'The date reads neither day-first nor month-first, so it could not be read.'
                ELSE 'The date or time could not be read.' END, 2
    FROM parsed AS p WHERE p.ls IS NULL
    UNION ALL
    SELECT p.row_number, ?, 'The start time could not be read.', 2
    FROM parsed AS p WHERE p.bad_time
    UNION ALL
    SELECT p.row_number, ?, ?, 3
    FROM parsed AS p WHERE p.ls IS NOT NULL AND p.minutes IS NULL
    UNION ALL
    SELECT p.row_number, ?, ?, 4
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
    length = (
        _header(layout, "duration") or _header(layout, "ended_at") or _header(layout, "end_time")
    )
    unreadable, not_positive = (
        ("The duration could not be read.", "The duration is zero or negative.")
        if _header(layout, "duration")
        else ("The end could not be read.", "The end is not after the start.")
    )
    limit = options.max_minutes
    rows = cursor.execute(
        _ERRORS_SQL,
        [
            _header(layout, "client"),
            when,
            _header(layout, "start_time"),
            length,
            unreadable,
            length,
            not_positive,
            length,
            f"{limit:g}",
            limit,
        ],
    ).fetchall()
    return [
        RowProblem(row=int(row), column=column, message=message) for row, column, message in rows
    ]


def _stage_incoming(cursor: duckdb.DuckDBPyConnection, options: ImportOptions) -> None:
    """Create ``incoming`` in the canonical shape from the rows that passed every check.

    A row whose file gave no direction takes its channel's default, if the user set one.
    """
    channels = [channel for channel, _ in options.direction_defaults]
    directions = [direction for _, direction in options.direction_defaults]
    cursor.execute(
        """
        CREATE OR REPLACE TEMP TABLE incoming AS
        SELECT coalesce(p.practice, ?) AS practice,
               coalesce(p.therapist, ?) AS therapist,
               p.time_zone,
               p.client,
               p.start_at AS started_at,
               p.minutes,
               coalesce(p.explicit_channel, k.channel, 'other') AS channel,
               coalesce(p.explicit_category, k.category, 'other') AS category,
               CASE WHEN p.direction <> 'unknown' THEN p.direction
                    ELSE coalesce(
                        list_extract(?::VARCHAR[], list_position(
                            ?::VARCHAR[], coalesce(p.explicit_channel, k.channel, 'other'))),
                        'unknown') END AS direction,
               p.time_known,
               p.row_number,
               p.explicit_category IS NULL AND k.category IS NULL AS category_unplaced,
               p.explicit_channel IS NULL AND k.channel IS NULL AS channel_unplaced
        FROM parsed AS p
        LEFT JOIN classes AS k USING (row_number)
        WHERE p.client IS NOT NULL AND p.ls IS NOT NULL AND NOT p.bad_time
          AND p.minutes > 0 AND p.minutes <= ?
        ORDER BY p.row_number
        """,
        [
            options.practice or DEFAULT_PRACTICE,
            options.therapist,
            directions,
            channels,
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
