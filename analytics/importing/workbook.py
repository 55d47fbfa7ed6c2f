"""Excel workbooks (.xlsx) read as the CSV they would save to, so every importer takes them.

Toggl Track, Clockify and Harvest offer their detailed reports as .xlsx as well as CSV, and
hand-kept logs are often workbooks. Rather than teach each importer a second format, one
sheet (the first, or the one named) is written out row by row as UTF-8 CSV, to a temporary
file or to bytes, and that CSV goes through the same detection, mapping, parsing and
row-numbered problems as an uploaded CSV. Each sheet row becomes exactly one CSV line (an
empty row becomes a line of empty fields, which the reader leaves out), so the row numbers
in problems are the ones Excel shows.

Cells are written as a CSV export would show them: dates as ``YYYY-MM-DD`` (with
``HH:MM:SS`` when the cell's format shows a time), times as ``HH:MM:SS``, durations
(``[h]:mm:ss`` cells) as hours, minutes and seconds, numbers with Excel's 15 significant
digits, formulas as the value Excel saved with them (a formula never calculated is empty).
A number in a column headed like a date ("Date", "Start date", "Datum") is an Excel serial
date (a cell left in the General format) and is written as the date it stands for; a
fraction below 1 in a column headed like a time ("Start time", "From", "Von") is a time of
day.

openpyxl reads the sheet in read-only mode, streaming its XML (with defusedxml, already a
dependency, guarding the parser against entity expansion). An .xlsx is a zip archive, so
before any of it is read the sizes its members declare must add up to no more than
``max_workbook_bytes()``: a small file that would unpack to gigabytes (a zip bomb) is
refused in one sentence; a member larger than it declares fails its checksum and reads as
damaged. Sheets over Excel's own limits (rows, columns, characters in a cell) are refused
too, as no export writes them.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
import re
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from xml.etree.ElementTree import ParseError

from analytics.errors import ContactLoadError
from analytics.importing.csv_layout import MAX_COLUMNS

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook

ZIP_SIGNATURE = b"PK\x03\x04"
"""The first bytes of every zip archive, so of every .xlsx."""

MAX_SHEET_ROWS = 1_048_576
"""Excel's own row limit: no workbook Excel or an exporting tool writes has more rows."""

MAX_CELL_CHARACTERS = 32_767
"""Excel's own limit on the characters in one cell."""

WORKBOOK_EXPANSION = 5
"""How many times the upload limit a workbook's members may unpack to, together."""

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
"""File names the Import page offers for workbooks (detection itself reads the content)."""

_DATE_HEADER = re.compile(r"date|datum|\bday\b|\btag\b|fecha|data", re.IGNORECASE)
_TIME_HEADER = re.compile(
    r"\btime\b|zeit|\bfrom\b|\bto\b|\bvon\b|\bbis\b|\bstart\b|\bend\b|heure|\bhora\b",
    re.IGNORECASE,
)
_SERIAL_DATES = (20_000, 80_000)
"""Serial numbers read as dates in a date column: 1954-10-03 to 2119-01-10."""

# Everything openpyxl or the zip and XML layers under it raise for a file that is not a
# well-formed workbook; each becomes one sentence (``DamagedWorkbookError``).
_DAMAGE = (
    zipfile.BadZipFile,
    zlib.error,
    ParseError,
    KeyError,
    ValueError,
    TypeError,
    IndexError,
    AttributeError,
    EOFError,
    OSError,
)


class WorkbookError(ContactLoadError):
    """An Excel workbook that cannot be read as a table (damaged, too large, no such sheet)."""


class DamagedWorkbookError(WorkbookError):
    """The .xlsx is not a readable workbook: cut short, corrupt, or another kind of zip."""


class WorkbookTooLargeError(WorkbookError):
    """The workbook unpacks to more than ``max_workbook_bytes()`` or exceeds Excel's limits."""


@dataclass(frozen=True)
class SheetTable:
    """Which sheet of a workbook was read, and what else the workbook holds."""

    sheet: str
    """The sheet whose rows were written out."""
    sheets: tuple[str, ...]
    """Every worksheet of the workbook, in order (for a chooser)."""
    rows: int
    """Rows written, the header and empty rows included."""


def is_workbook(head: bytes) -> bool:
    """True when the first bytes of a file are those of a zip archive (an .xlsx is one)."""
    return head.startswith(ZIP_SIGNATURE)


def max_workbook_bytes() -> int:
    """Most bytes a workbook's members may unpack to: ``WORKBOOK_EXPANSION`` upload caps."""
    from analytics.importing.limits import max_upload_bytes

    return WORKBOOK_EXPANSION * max_upload_bytes()


def sheet_names(source: bytes | Path, file_name: str) -> tuple[str, ...]:
    """The worksheets of a workbook, in order (``WorkbookError`` in one sentence)."""
    with _opened(source, file_name) as workbook:
        return tuple(workbook.sheetnames)


def sheet_csv(source: bytes | Path, file_name: str, sheet: str | None = None) -> bytes:
    """One sheet of a workbook as UTF-8 CSV bytes (the Import page's uploads)."""
    out = io.BytesIO()
    write_sheet_csv(source, out, file_name=file_name, sheet=sheet)
    return out.getvalue()


@contextlib.contextmanager
def sheet_csv_file(
    source: bytes | Path, file_name: str, sheet: str | None = None
) -> Iterator[tuple[Path, SheetTable]]:
    """One sheet of a workbook as a temporary UTF-8 CSV file, removed afterwards."""
    handle, name = tempfile.mkstemp(prefix="contactload-", suffix=".csv")
    path = Path(name)
    try:
        with os.fdopen(handle, "wb") as out:
            table = write_sheet_csv(source, out, file_name=file_name, sheet=sheet)
        yield path, table
    finally:
        path.unlink(missing_ok=True)


def write_sheet_csv(
    source: bytes | Path, out: IO[bytes], *, file_name: str, sheet: str | None = None
) -> SheetTable:
    """Write one sheet (the first when ``sheet`` is None) to ``out`` as UTF-8 CSV, row by row.

    Columns right of the header's last filled cell have no name and are left out.
    """
    with _opened(source, file_name) as workbook:
        names = tuple(workbook.sheetnames)
        if not names:
            raise DamagedWorkbookError(f"{file_name} holds no worksheet; nothing was imported.")
        chosen = names[0] if sheet is None else sheet
        if chosen not in names:
            raise WorkbookError(
                f"{file_name} has no sheet named '{sheet}'; its sheets are "
                f"{', '.join(repr(name) for name in names)}."
            )
        worksheet = workbook[chosen]
        worksheet.reset_dimensions()  # a wrong <dimension> tag must not cut rows or columns
        text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
        writer = csv.writer(text, lineterminator="\n")
        header: list[str] | None = None
        width = 0
        rows = 0
        try:
            for cells in worksheet.iter_rows(min_row=1):
                rows += 1
                if rows > MAX_SHEET_ROWS:
                    raise WorkbookTooLargeError(
                        f"Sheet '{chosen}' of {file_name} has more than {MAX_SHEET_ROWS:,} "
                        "rows, more than Excel allows; nothing was imported."
                    )
                if header is None:
                    values = [_cell_text(cell, None, workbook, chosen, file_name) for cell in cells]
                    if not any(values):
                        text.write("\n")  # blank rows above the header, as in a CSV
                        continue
                    while values and not values[-1]:
                        values.pop()
                    if len(values) > MAX_COLUMNS:
                        raise WorkbookTooLargeError(
                            f"Sheet '{chosen}' of {file_name} has {len(values):,} columns, "
                            f"over the limit of {MAX_COLUMNS:,}; a contact log has a few dozen."
                        )
                    header, width = values, len(values)
                    writer.writerow(values)
                    continue
                row = [
                    _cell_text(cell, header[index], workbook, chosen, file_name)
                    for index, cell in enumerate(cells[:width])
                ]
                writer.writerow(row + [""] * (width - len(row)))
        except _DAMAGE as error:
            raise _damaged(file_name) from error
        finally:
            text.detach()  # leave ``out`` open for the caller
        if header is None:
            raise WorkbookError(
                f"Sheet '{chosen}' of {file_name} is empty; choose the sheet that holds the report."
            )
        return SheetTable(sheet=chosen, sheets=names, rows=rows)


def _damaged(file_name: str) -> DamagedWorkbookError:
    """The one sentence for a workbook that cannot be read."""
    return DamagedWorkbookError(
        f"{file_name} is not a readable Excel workbook (it is damaged, cut short or another "
        "kind of file); nothing was imported. Open it in Excel and save it again, or export "
        "the report as CSV."
    )


@contextlib.contextmanager
def _opened(source: bytes | Path, file_name: str) -> Iterator[Workbook]:
    """The workbook, read-only with formulas' saved values, after the zip-bomb check."""
    from openpyxl import load_workbook

    stream: IO[bytes] = io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")
    workbook = None
    try:
        try:
            with zipfile.ZipFile(stream) as archive:
                members = archive.infolist()
        except _DAMAGE as error:
            raise _damaged(file_name) from error
        unpacked = sum(member.file_size for member in members)
        if unpacked > max_workbook_bytes():
            raise WorkbookTooLargeError(
                f"{file_name} would unpack to {unpacked / 1024**2:,.0f} MB, over the limit of "
                f"{max_workbook_bytes() / 1024**2:,.0f} MB (a small file that unpacks to so "
                "much is a zip bomb, not a report); nothing was imported."
            )
        if not any(member.filename == "xl/workbook.xml" for member in members):
            raise DamagedWorkbookError(
                f"{file_name} is a zip archive but not an Excel workbook (.xlsx); nothing was "
                "imported. Export the report as .xlsx or CSV."
            )
        stream.seek(0)
        try:
            workbook = load_workbook(stream, read_only=True, data_only=True)
        except _DAMAGE as error:
            raise _damaged(file_name) from error
        yield workbook
    finally:
        if workbook is not None:
            workbook.close()
        stream.close()


def _cell_text(cell: Any, heading: str | None, workbook: Workbook, sheet: str, file: str) -> str:
    """A cell's value as a CSV export writes it (see the module's docstring)."""
    value = getattr(cell, "value", None)
    if value is None:
        return ""
    if isinstance(value, str):
        if len(value) > MAX_CELL_CHARACTERS:
            raise WorkbookTooLargeError(
                f"Cell {cell.coordinate} of sheet '{sheet}' in {file} holds more than "
                f"{MAX_CELL_CHARACTERS:,} characters, more than Excel allows; nothing was "
                "imported."
            )
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, dt.datetime):
        return _datetime_text(value, _shows_time(cell))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, dt.timedelta):
        seconds = round(value.total_seconds())
        sign = "-" if seconds < 0 else ""
        hours, rest = divmod(abs(seconds), 3600)
        return f"{sign}{hours}:{rest // 60:02d}:{rest % 60:02d}"
    if isinstance(value, int | float):
        if heading and _DATE_HEADER.search(heading) and _is_serial_date(value):
            from openpyxl.utils.datetime import from_excel

            day = from_excel(value, workbook.epoch)
            return _datetime_text(day, not float(value).is_integer())
        if heading and _TIME_HEADER.search(heading) and 0 <= value < 1:
            seconds = round(value * 86_400)  # a time of day as a fraction of a day
            return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return format(value, ".15g") if isinstance(value, float) else str(value)
    return str(value)


def _is_serial_date(value: float) -> bool:
    """True for a number in the range of serial dates a contact log may hold."""
    return _SERIAL_DATES[0] <= value < _SERIAL_DATES[1]


def _shows_time(cell: Any) -> bool:
    """True when the cell's number format shows a time of day (hours or seconds)."""
    number_format = str(getattr(cell, "number_format", "") or "")
    shown = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", number_format).lower()
    return "h" in shown or "s" in shown


def _datetime_text(value: dt.datetime, with_time: bool) -> str:
    """``YYYY-MM-DD`` or ``YYYY-MM-DD HH:MM:SS`` (seconds rounded, as Excel shows them)."""
    rounded = (value + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
    if not with_time and rounded.time() == dt.time(0):
        return rounded.date().isoformat()
    return rounded.isoformat(sep=" ")
