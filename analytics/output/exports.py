"""Contacts out of the database: CSV, XLSX and Parquet files, safe to open in a spreadsheet.

An export holds each contact's metadata and the fields derived from it (local date,
weekday, hour, after hours), never free text, for exactly the contacts a ``ContactFilter``
(scope included) selects. CSV and Parquet are written by DuckDB's ``COPY``; XLSX by
XlsxWriter from DuckDB's rows in batches (DuckDB's excel extension cannot be fetched here).

Spreadsheet safety: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return would be evaluated by Excel or LibreOffice as a formula (CSV injection);
CSV and XLSX exports prefix such cells with ``'`` (in SQL), which shows the text as it was
and runs nothing, and XLSX cells are always written as values. Parquet is a data format
for other engines, not spreadsheets, so its text stays exactly as stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal, LiteralString

from analytics.access.filters import ContactFilter
from analytics.errors import ContactLoadError
from analytics.measures.fragments import contacts_ctes
from analytics.policy.working_hours import MARKED_CTE, working_hours_ctes
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.sql import Fragment, execute, query, sql

if TYPE_CHECKING:
    import pandas as pd
    from xlsxwriter.format import Format
    from xlsxwriter.worksheet import Worksheet

ExportFormat = Literal["csv", "xlsx", "parquet"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "xlsx", "parquet")

FORMULA_START = r"^[=+\-@\t\r]"
"""Text cells starting with one of these are formulas to a spreadsheet."""

XLSX_MAX_ROWS = 1_048_575
"""Excel's sheet holds 1,048,576 rows, one of them the header."""


class ExportError(ContactLoadError):
    """An export could not be written (unknown format, unwritable place, too many rows)."""


@dataclass(frozen=True)
class ExportResult:
    """What one export wrote."""

    path: Path
    format: ExportFormat
    contacts: int
    partitioned: bool = False


_NEUTRALISED = (
    r"CASE WHEN regexp_matches({text}, '^[=+\-@\t\r]') THEN '''' || {text} ELSE {text} END"
)
assert f"'{FORMULA_START}'" in _NEUTRALISED


def neutralised_sql(expression: LiteralString) -> Fragment:
    """SQL for ``expression`` (text) with a leading ``'`` where a spreadsheet would
    evaluate it (a text starting with one of ``FORMULA_START``)."""
    return query(_NEUTRALISED, text=sql(expression))


# Text columns of an export (neutralised for spreadsheets); the rest are numbers, dates,
# times and flags.
_TEXT_COLUMNS = ("practice", "therapist", "client_key", "client")


def _export_query(filters: ContactFilter, *, safe: bool) -> Fragment:
    """The export's SELECT: one row per contact under ``filters``."""

    def text(expression: LiteralString) -> Fragment:
        return neutralised_sql(expression) if safe else sql(expression)

    client_column = (
        query(", {label} AS client", label=text("cl.label"))
        if filters.scope.shows_labels
        else sql("")
    )
    return query(
        """
        WITH {contacts}, {hours}, {marked}
        SELECT {practice} AS practice,
               {therapist} AS therapist,
               {client_key} AS client_key{client_column},
               timezone('UTC', m.started_at) AS started_at_utc,
               m.local_started_at,
               CAST(m.local_started_at AS DATE) AS local_date,
               dayname(m.local_started_at) AS weekday,
               CASE WHEN m.time_known THEN hour(m.local_started_at) END AS hour,
               m.time_known,
               m.minutes,
               m.channel,
               m.category,
               m.direction,
               m.after_hours,
               m.batch_id,
               m.practice_id,
               year(m.local_started_at) AS year,
               month(m.local_started_at) AS month
        FROM marked AS m
        JOIN clients AS cl ON cl.client_id = m.client_id AND {client_scope}
        JOIN therapists AS t ON t.therapist_id = m.therapist_id AND {therapist_scope}
        JOIN practices AS p ON p.practice_id = m.practice_id
        ORDER BY m.started_at, practice, therapist, client_key
    """,
        contacts=contacts_ctes(filters),
        hours=working_hours_ctes(),
        marked=MARKED_CTE,
        practice=text("p.name"),
        therapist=text("t.name"),
        client_key=text("cl.client_key"),
        client_column=client_column,
        client_scope=filters.scope.fragment("cl"),
        therapist_scope=filters.scope.fragment("t"),
    )


def export_contacts(
    db: Database,
    filters: ContactFilter,
    out: Path | str,
    export_format: str | None = None,
    *,
    partitioned: bool = False,
) -> ExportResult:
    """Write the contacts under ``filters`` to ``out`` and record the export in the audit log.

    ``export_format`` defaults to the file's extension. Parquet to a directory (or with
    ``partitioned``) is Hive-partitioned: ``practice_id=1/year=2026/month=3/data_0.parquet``.
    """
    out = Path(out)
    chosen = export_format or (
        "parquet" if partitioned or out.is_dir() else out.suffix.lstrip(".").lower()
    )
    if chosen not in EXPORT_FORMATS:
        raise ExportError(
            f"Cannot export to {chosen or 'a file without extension'!r}; "
            f"use one of {', '.join(EXPORT_FORMATS)}."
        )
    if chosen != "parquet" and partitioned:
        raise ExportError("Only Parquet exports can be partitioned; choose --format parquet.")
    partitioned = chosen == "parquet" and (partitioned or out.is_dir())
    contacts_query = _export_query(filters, safe=chosen != "parquet")
    if not out.parent.is_dir():
        raise ExportError(f"The folder {out.parent} does not exist; create it or choose another.")
    try:
        if chosen == "xlsx":
            contacts = _write_xlsx(db, contacts_query, out)
        else:
            contacts = _copy(db, contacts_query, out, chosen, partitioned)
    except OSError as error:
        raise ExportError(f"Could not write {out}: {error.strerror or error}.") from error
    audit.record(
        db,
        filters.scope,
        "export",
        f"{contacts} contacts as {chosen}{' (partitioned)' if partitioned else ''} to {out.name}",
    )
    return ExportResult(path=out, format=chosen, contacts=contacts, partitioned=partitioned)


def export_bytes(db: Database, filters: ContactFilter, export_format: str) -> bytes:
    """The export of ``filters`` as the bytes of one CSV, XLSX or Parquet file (for a
    download button); audited like a file export."""
    import tempfile

    if export_format not in EXPORT_FORMATS:
        raise ExportError(
            f"Cannot export to {export_format!r}; use one of {', '.join(EXPORT_FORMATS)}."
        )
    with tempfile.TemporaryDirectory(prefix="contactload-export-") as folder:
        out = Path(folder) / f"contacts.{export_format}"
        export_contacts(db, filters, out, export_format)
        return out.read_bytes()


# Columns only partitioned Parquet needs (as directory names), the SELECT list that leaves
# them out, and the COPY options that write them as directories.
_PARTITION_COLUMNS = ("practice_id", "year", "month")
_WITHOUT_PARTITIONS = sql("* EXCLUDE (practice_id, year, month)")
_PARTITIONED = sql("FORMAT parquet, PARTITION_BY (practice_id, year, month), OVERWRITE_OR_IGNORE")
assert all(
    f"({', '.join(_PARTITION_COLUMNS)})" in fragment.text
    for fragment in (_WITHOUT_PARTITIONS, _PARTITIONED)
)


def _copy(db: Database, contacts_query: Fragment, out: Path, fmt: str, partitioned: bool) -> int:
    """CSV or Parquet by DuckDB's COPY; returns the number of contacts written."""
    import duckdb

    if partitioned:
        columns, options = sql("*"), _PARTITIONED
    else:
        columns = _WITHOUT_PARTITIONS
        options = sql("FORMAT csv, HEADER") if fmt == "csv" else sql("FORMAT parquet")
    statement = query(
        "COPY (SELECT {columns} FROM ({contacts})) TO $out ({options})",
        columns=columns,
        contacts=contacts_query,
        options=options,
        out=str(out),
    )
    with db.cursor() as cursor:
        try:
            # COPY reports the rows it wrote; one statement is one consistent snapshot
            (contacts,) = execute(cursor, statement).fetchone() or (0,)
        except duckdb.IOException as error:
            # a damaged database is not the output file's fault
            raise db.translated(error) or ExportError(f"Could not write {out}: {error}") from error
    return int(contacts)


def _write_xlsx(db: Database, contacts_query: Fragment, out: Path) -> int:
    """One sheet of values (never formulas), streamed from DuckDB in batches."""
    import xlsxwriter

    contacts = 0
    workbook = xlsxwriter.Workbook(
        str(out),
        {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "strings_to_numbers": False,
            "constant_memory": True,
            "remove_timezone": True,
        },
    )
    try:
        sheet = workbook.add_worksheet("contacts")
        stamp = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm"})
        day = workbook.add_format({"num_format": "yyyy-mm-dd"})
        with db.cursor() as cursor:
            statement = query(
                "SELECT {columns} FROM ({contacts})",
                columns=_WITHOUT_PARTITIONS,
                contacts=contacts_query,
            )
            result = execute(cursor, statement)
            columns = [column[0] for column in result.description or []]
            sheet.write_row(0, 0, columns)
            while batch := result.fetchmany(10_000):
                # Serialising rows into the XLSX format is the one per-row step; every
                # value was computed in SQL.
                for values in batch:
                    contacts += 1
                    if contacts > XLSX_MAX_ROWS:
                        raise ExportError(
                            f"{contacts - 1:,}+ contacts do not fit in one spreadsheet; "
                            "narrow the filters or export CSV or Parquet."
                        )
                    for column, value in enumerate(values):
                        _write_cell(sheet, contacts, column, value, stamp, day)
    finally:
        workbook.close()
    return contacts


def _write_cell(
    sheet: Worksheet, row: int, column: int, value: object, stamp: Format, day: Format
) -> None:
    """One value as the cell type it is: text stays text, never a formula."""
    if value is None:
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, column, value)
    elif isinstance(value, int | float):
        sheet.write_number(row, column, value)
    elif isinstance(value, datetime):
        sheet.write_datetime(row, column, value, stamp)
    elif isinstance(value, date):
        sheet.write_datetime(row, column, value, day)
    else:
        sheet.write_string(row, column, str(value))


# --- page tables ------------------------------------------------------------------------


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a (small, aggregated) page table with formula-like text cells prefixed
    by ``'``; numbers, dates and flags are left as they are."""
    import numpy as np

    safe = frame.copy()
    for column in safe.columns:
        values = safe[column]
        if values.dtype == object:
            # lists and maps (allowed channels, category caps) become their text, which
            # both CSV and XLSX can hold
            values = values.map(
                lambda value: (
                    str(value.tolist() if isinstance(value, np.ndarray) else value)
                    if isinstance(value, list | tuple | dict | set | np.ndarray)
                    else value
                )
            )
            safe[column] = values
        if values.dtype == object or str(values.dtype).startswith(("string", "str")):
            text = values.astype("string")
            risky = text.str.contains(FORMULA_START, regex=True, na=False)
            safe[column] = values.where(~risky, "'" + text)
    safe.columns = [
        f"'{name}"
        if isinstance(name, str) and name[:1] in ("=", "+", "-", "@", "\t", "\r")
        else name
        for name in safe.columns
    ]
    return safe


def table_to_csv(frame: pd.DataFrame) -> bytes:
    """A page table as UTF-8 CSV, safe to open in a spreadsheet."""
    return neutralise_frame(frame).to_csv(index=False).encode("utf-8")


def table_to_xlsx(frame: pd.DataFrame, sheet_name: str = "table") -> bytes:
    """A page table as an XLSX workbook of values (no cell is a formula)."""
    import io

    import pandas as pd

    buffer = io.BytesIO()
    safe = neutralise_frame(frame)
    for column in safe.columns:
        # Excel has no time zones: aware timestamps are written as their UTC wall time.
        if isinstance(safe[column].dtype, pd.DatetimeTZDtype):
            safe[column] = safe[column].dt.tz_convert("UTC").dt.tz_localize(None)
    with pd.ExcelWriter(
        buffer,
        engine="xlsxwriter",
        engine_kwargs={
            "options": {
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "strings_to_numbers": False,
            }
        },
    ) as writer:
        safe.to_excel(writer, index=False, sheet_name=sheet_name[:31])
    return buffer.getvalue()
