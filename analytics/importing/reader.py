"""Reading an uploaded CSV into a staged DuckDB table of text cells with spreadsheet row numbers.

Python only looks at bytes in large chunks: the first 64 KiB decide the byte-order mark, the
delimiter and the header, and one pass over the whole file checks that it is UTF-8, has no
NUL bytes, no line longer than ``MAX_LINE_BYTES``, one kind of line ending and no blank
lines before its end. A file that is not UTF-8 has its encoding recognised by
charset-normalizer from a bounded sample (the first ``DETECT_BYTES`` of lines holding
non-ASCII bytes, gathered by that same pass), among the encodings spreadsheets and
exporting tools write (``DETECTABLE``); UTF-16 without a byte-order mark is recognised from
the first 64 KiB. Text that no candidate decodes with confidence is refused rather than
stored garbled. The caller may name the encoding instead (``encoding=``).

DuckDB's CSV reader then splits the rows, in parallel and with quotes, doubled quotes and
newlines inside quoted fields handled; rows with the wrong number of fields end up in its
rejects table with their line numbers, and the good rows are numbered from their position in
the file plus the rejected lines before them.

Clean UTF-8 reaches DuckDB unchanged: read from its path directly (the fast path), or an
upload's bytes written to a temporary file as they are. Anything else (UTF-16, any other
encoding, mixed line endings, blank lines before the end) is first rewritten to a temporary
UTF-8 file in the same large chunks: line endings become ``\\n``, also inside quoted fields,
and each blank line becomes a line holding one space. DuckDB skips blank lines without saying which,
while a one-space line is a rejected row with its line number (so later row numbers stay
right) that is then not reported; where such a line was inside a quoted field, the staging
query takes the space out again.

Row numbers are what a spreadsheet shows: the header is row 1 (after any blank lines above
it), the first data row is row 2. DuckDB counts records, not physical lines, so a quoted
field spanning several lines is still one row, as in a spreadsheet, and numbers after it
stay exact (checked on 1.2 million rows with multi-line fields, ragged and blank rows). They
become approximate only after a quote that is never closed: DuckDB then takes the rest of
the file, or up to the next quote mark, as one rejected row.
"""

import codecs
import contextlib
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import duckdb

from analytics.importing.csv_layout import (
    EMPTY_FILE,
    SAMPLE_BYTES,
    _check_width,
    _Layout,
    _sniff,
)
from analytics.importing.text_encodings import (
    _NOT_TEXT,
    DETECT_BYTES,
    UnreadableFileError,
    _decoder,
    _not_decodable,
    codec_name,
    detect_encoding,
    encoding_name,
    utf16_without_bom,
)
from analytics.storage.sql import Fragment, execute, identifier, number, query, sql

if TYPE_CHECKING:
    import pandas as pd

CHUNK_BYTES = 8 * 1024 * 1024
"""Bytes read (and transcoded) at a time."""

MAX_LINE_BYTES = 8 * 1024 * 1024
"""Longest line a file may hold; DuckDB silently skips a line longer than its read buffer
(``_READ_BUFFER_BYTES``), so a file with one is refused, naming the line."""

MAX_ROW_BYTES = 2 * 1024 * 1024
"""Longest row DuckDB reads (its ``max_line_size``); longer rows are reported as too long."""

_READ_BUFFER_BYTES = 16 * MAX_ROW_BYTES
"""DuckDB's read buffer (its default, ``16 * max_line_size``), set explicitly because
``MAX_LINE_BYTES`` must stay well below it."""

DELIMITER_NAMES = {
    ",": "comma-separated",
    ";": "semicolon-separated",
    "\t": "tab-separated",
    "|": "pipe-separated",
}
"""How ``TextTable.describe`` names each delimiter."""

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_SIGNATURES = (
    (b"PK\x03\x04", "excel"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "excel"),
    (b"%PDF", "pdf"),
)

_MESSAGES = {
    "empty": EMPTY_FILE,
    "header_only": "The file has a header row but no data rows; export a report that "
    "covers some entries.",
    "excel": "This is an Excel workbook, not a CSV file; in Excel use Save As > CSV "
    "and upload that file.",
    "pdf": "This is a PDF, not a CSV file; export the report as CSV and upload that file.",
    "binary": _NOT_TEXT,
    "unsplittable": "The file could not be split into rows and columns; check that it is "
    "a complete CSV export.",
}

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_GLOB_CHARACTERS = frozenset("*?[")
_NEWLINES = re.compile(r"\r\n?")
_BLANK_LINE = re.compile(r"(?m)^(?=\n)")
# Blank lines (LF or CRLF, and CR) and CRs without a LF after them. ``re`` finds these about
# twice as fast as ``bytes.find`` / ``bytes.count`` do in text with a line break every few
# dozen bytes, and one alternation would be slower than two searches.
_BLANK_LINES = (re.compile(rb"\n\r?\n"), re.compile(rb"\r\r"))
_LONE_CR = re.compile(rb"\r(?!\n)")
_LINE_BREAK = re.compile(rb"[\r\n]")
_NON_ASCII = re.compile(rb"[\x80-\xff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")
_MAX_CONTROL_SHARE = 0.01

# SQL below inserts only identifiers this module makes (c1..cN, names from the checked
# ``table``); values are parameters (S608 silenced where ``read_csv`` options are written).
_TRIMMED = "' ' || chr(9) || chr(10) || chr(13) || chr(160)"
_FILLED = "chr(10) || ' ' || chr(10)"
_BLANK = "chr(10) || chr(10)"

_NUMBERED_SQL = """
UPDATE {scan} SET row_number = n.row_number
FROM (
    WITH lines AS (
        SELECT DISTINCT line FROM {rejects}
    ), steps AS (
        -- A rejected line with n accepted rows before it shifts every later accepted row
        -- (0-based position >= n) by one; ``shift`` counts the rejected lines up to here.
        SELECT line - $first - row_number() OVER (ORDER BY line) + 1 AS accepted_before,
               row_number() OVER (ORDER BY line) AS shift
        FROM lines
    ), last_steps AS (
        SELECT accepted_before, max(shift) AS shift FROM steps GROUP BY accepted_before
    ), positioned AS (
        SELECT {position} AS position, s.rowid AS id FROM {scan} AS s
    )
    SELECT s.id, CAST(s.position + $first + coalesce(t.shift, 0) AS BIGINT) AS row_number
    FROM positioned AS s ASOF LEFT JOIN last_steps AS t ON s.position >= t.accepted_before
) AS n
WHERE {scan}.rowid = n.id
"""

_PROBLEMS_SQL = """
WITH grouped AS (
    SELECT line,
           bool_or(error_type = 'UNQUOTED VALUE') AS quote_problem,
           bool_or(error_type = 'LINE SIZE OVER MAXIMUM') AS too_long,
           -- DuckDB logs a short row once per missing field and a long row once per extra
           -- field; the smallest / largest count found is the row's.
           min(TRY_CAST(regexp_extract(error_message, 'Found: (\\d+)', 1) AS BIGINT))
               FILTER (WHERE error_type = 'MISSING COLUMNS') AS fewer,
           max(TRY_CAST(regexp_extract(error_message, 'Found: (\\d+)', 1) AS BIGINT))
               FILTER (WHERE error_type = 'TOO MANY COLUMNS') AS more,
           bool_and(trim(coalesce(csv_line, ''), ' ' || chr(9) || chr(10) || chr(13)) = '')
               AS blank
    FROM {rejects}
    GROUP BY line
)
SELECT line,
       CASE
           WHEN quote_problem THEN 'A quote mark in this row is not closed or is followed '
               || 'by other text, so its fields cannot be told apart.'
           WHEN too_long THEN 'This row is too long to read.'
           WHEN coalesce(more, fewer) IS NOT NULL
               THEN format('Expected {{}} fields but found {{}}.', $width, coalesce(more, fewer))
           ELSE 'This row could not be split into fields.'
       END AS message
FROM grouped
WHERE NOT blank
ORDER BY line
LIMIT $limit
"""


@dataclass(frozen=True)
class RowProblem:
    """Why one row of an upload could not be used, in the terms a spreadsheet shows."""

    row: int
    """The row number a spreadsheet shows: header = row 1, first data row = row 2."""
    column: str | None
    """Header name of the offending column, or None for whole-row problems."""
    message: str
    """One sentence, e.g. "Expected 14 fields but found 12."."""

    def to_json(self) -> dict[str, int | str | None]:
        """The shape every import report's ``--json`` gives a rejected row."""
        return {"row": self.row, "column": self.column, "message": self.message}


def problems_frame(problems: Sequence[RowProblem]) -> "pd.DataFrame":
    """Rejected rows as a table (row, column, message), for the pages' downloads."""
    import pandas as pd  # only the dashboard needs it; the CLI's import path does not

    return pd.DataFrame(
        [(problem.row, problem.column, problem.message) for problem in problems],
        columns=["row", "column", "message"],
    )


@dataclass(frozen=True)
class TextTable:
    """What the reader found in a file, and which rows it could not stage."""

    encoding: str
    """Python's name of the codec the file was read with ("utf-8", "utf-8-sig",
    "utf-16-le", "cp1250", ...; see ``ENCODING_NAMES``)."""
    delimiter: str
    """",", ";", "\\t" or "|"."""
    header: tuple[str, ...]
    """Header cells, stripped of whitespace and BOM."""
    rows: int
    """Data rows in the file (staged + ragged); blank and all-empty rows not counted."""
    ragged: tuple[RowProblem, ...]
    """Rows that could not be split into ``len(header)`` fields (not staged)."""
    encoding_chosen: bool = False
    """True when the caller named the encoding; False when it was detected."""

    def describe(self) -> str:
        """One line telling the user how the file was read, so a wrong guess is visible."""
        columns = len(self.header)
        text = (
            f"{encoding_name(self.encoding)}{' (as chosen)' if self.encoding_chosen else ''}, "
            f"{DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))}, "
            f"{columns:,} column{'' if columns == 1 else 's'}, "
            f"{self.rows:,} row{'' if self.rows == 1 else 's'}"
        )
        if self.ragged:
            bad = len(self.ragged)
            text += f" ({bad:,} of them unreadable)"
        return text


@dataclass
class _Survey:
    """What one pass over the raw bytes found."""

    utf8: bool = True
    nul: bool = False
    # Line ends are counted only in chunks holding a CR; a LF in a chunk without any CR
    # sets ``bare_lf`` (so the file mixes styles, or is plain LF when ``cr`` stays 0).
    cr: int = 0
    lf: int = 0
    lone_cr: bool = False
    """A CR not followed by a LF (so with ``cr == lf``, every line end is CRLF unless set)."""
    bare_lf: bool = False
    blank_line_inside: bool = False
    non_ascii: bytearray = field(default_factory=bytearray)
    """Whole lines holding non-ASCII bytes, up to ``DETECT_BYTES``: the detector's sample."""
    long_line_at: int = -1
    """A byte offset inside a line longer than ``MAX_LINE_BYTES`` (the first), or -1."""

    def clean(self) -> bool:
        """True when DuckDB can read the bytes as they are."""
        one_style = self.cr == 0 or (
            not self.bare_lf and (self.lf == 0 or (self.cr == self.lf and not self.lone_cr))
        )
        return self.utf8 and one_style and not self.blank_line_inside


def stage_text_table(
    cursor: duckdb.DuckDBPyConnection,
    source: bytes | Path,
    table: str = "raw_rows",
    *,
    trim: bool = True,
    encoding: str | None = None,
) -> TextTable:
    """Stage every well-formed row of a CSV upload as text cells, so parsing can be SQL.

    Creates ``TEMP TABLE {table} (row_number BIGINT, c1 VARCHAR, ..., cN VARCHAR)`` with
    N = header length, in file order; rows whose cells are all empty (or only spaces, tabs,
    line breaks and no-break spaces) are left out. Raises ``UnreadableFileError`` for empty,
    header-only and binary files, for text in no encoding recognised with confidence, for
    files over ``MAX_COLUMNS`` columns or with a line over ``MAX_LINE_BYTES``, and for files
    where no row has as many fields as the header.

    ``encoding``: a codec name (one of ``ENCODING_CHOICES``, or any Python text codec) to
    read the file with instead of detecting it; None detects it.

    ``trim``: with True (the default) cells are trimmed of spaces, tabs, line breaks and
    no-break spaces and empty cells are NULL. With False cells are staged as DuckDB read them:
    untrimmed, and NULL only for empty fields (quoted or not), so ``' '`` stays ``' '``. That
    saves trimming every cell of a large file when the caller uses a few columns; it then
    trims those itself, e.g. ``nullif(trim(c3), '')``, to get what True would stage (exactly
    so unless tabs or line breaks are among the spaces around a cell). Row numbers, which
    rows are left out and the ragged rows are the same either way; the space that stands in
    for a blank line inside a quoted field (see above) is taken out either way.
    """
    if not _IDENTIFIER.fullmatch(table):
        raise ValueError(f"Not a plain SQL identifier: {table!r}")
    chosen = codec_name(encoding) if encoding else None
    sample = _head(source)
    truncated = len(sample) == SAMPLE_BYTES
    if not sample.strip(b" \t\r\n\x0c" + codecs.BOM_UTF8):
        raise UnreadableFileError(_MESSAGES["empty"])
    for signature, kind in _SIGNATURES:
        if sample.startswith(signature):
            raise UnreadableFileError(_MESSAGES[kind])
    _check_width(sample, truncated)
    encoding = chosen or next((name for bom, name in _BOMS if sample.startswith(bom)), None)
    if encoding is None and b"\x00" in sample:
        encoding = utf16_without_bom(sample)
    clean = False
    if encoding is None or not encoding.startswith("utf-16"):
        survey = _survey(_chunks(source))
        if survey.nul:
            raise UnreadableFileError(_MESSAGES["binary"])
        if survey.long_line_at >= 0:
            line = sum(chunk.count(b"\n") for chunk in _chunks(source, survey.long_line_at)) + 1
            raise UnreadableFileError(_long_line_message(line))
        if encoding is None:
            encoding = "utf-8" if survey.utf8 else detect_encoding(bytes(survey.non_ascii))
        clean = survey.clean() and encoding in ("utf-8", "utf-8-sig")
    text = _decode_sample(sample, encoding, truncated)
    if "\x00" in text or len(_CONTROL.findall(text)) > _MAX_CONTROL_SHARE * len(text):
        raise UnreadableFileError(_MESSAGES["binary"])
    layout = _sniff(text, truncated)

    if clean and isinstance(source, Path) and not _GLOB_CHARACTERS.intersection(str(source)):
        ragged, staged = _stage(cursor, source, table, layout, filled=False, trim=trim)
    else:
        handle, name = tempfile.mkstemp(prefix="contactload-", suffix=".csv")
        try:
            with os.fdopen(handle, "wb") as out:
                filled = False
                if clean:
                    for chunk in _chunks(source):
                        out.write(chunk)
                else:
                    filled = _transcode(_chunks(source), encoding, out)
            ragged, staged = _stage(cursor, Path(name), table, layout, filled, trim)
        finally:
            Path(name).unlink(missing_ok=True)

    if staged == 0:
        if ragged:
            raise UnreadableFileError(
                f"No row of the file has the {len(layout.header)} fields its header has; "
                "check that it is a complete CSV export."
            )
        raise UnreadableFileError(_MESSAGES["header_only"])
    return TextTable(
        encoding=encoding,
        delimiter=layout.delimiter,
        header=layout.header,
        rows=staged + len(ragged),
        ragged=ragged,
        encoding_chosen=chosen is not None,
    )


def _long_line_message(line: int) -> str:
    """The sentence for a file holding a line over ``MAX_LINE_BYTES``."""
    return (
        f"Line {line:,} of the file is longer than {MAX_LINE_BYTES // 1024 // 1024} MB, more "
        "than any row of a contact log holds; nothing was imported. Check that this is the "
        "right file, or remove that line."
    )


def _head(source: bytes | Path) -> bytes:
    """The first ``SAMPLE_BYTES`` of the source."""
    if isinstance(source, bytes):
        return source[:SAMPLE_BYTES]
    with source.open("rb") as stream:
        return stream.read(SAMPLE_BYTES)


def _chunks(source: bytes | Path, end: int | None = None) -> Iterator[bytes]:
    """The source (its first ``end`` bytes) in pieces of ``CHUNK_BYTES``."""
    if isinstance(source, bytes):
        data = source if end is None else source[:end]
        for start in range(0, len(data), CHUNK_BYTES):
            yield data[start : start + CHUNK_BYTES]
        return
    left = -1 if end is None else end
    with source.open("rb") as stream:
        while left and (chunk := stream.read(CHUNK_BYTES if left < 0 else min(left, CHUNK_BYTES))):
            left -= len(chunk) if left > 0 else 0
            yield chunk


def _survey(chunks: Iterator[bytes]) -> _Survey:
    """One pass over the bytes: UTF-8 or not, NUL bytes, line endings, inner blank lines."""
    survey = _Survey()
    decoder = codecs.getincrementaldecoder("utf-8")()
    tail = b""
    blank_seen = False
    offset = 0  # bytes before this chunk
    run = 0  # bytes since the last line break
    for chunk in chunks:
        if b"\x00" in chunk:
            survey.nul = True
            return survey
        ascii_only = chunk.isascii()
        if survey.utf8 and not (ascii_only and not decoder.getstate()[0]):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                survey.utf8 = False
        # The detector's sample, only once the file is known not to be UTF-8 (the first
        # such chunk is the one with the first non-UTF-8 byte, in practice the first
        # non-ASCII one): UTF-8 files pay nothing for it.
        if not survey.utf8 and not ascii_only and len(survey.non_ascii) < DETECT_BYTES:
            _gather_non_ascii(chunk, survey.non_ascii)
        run, long_at = _long_line_at(chunk, run)
        if long_at >= 0:
            survey.long_line_at = offset + long_at
            return survey
        offset += len(chunk)
        window = tail + chunk if tail else chunk
        if b"\r" in window:
            survey.cr += chunk.count(b"\r")
            survey.lf += chunk.count(b"\n")
            # A CR ending the window is decided with the next chunk (it is in ``tail``).
            lone = None if survey.lone_cr else _LONE_CR.search(window)
            survey.lone_cr = survey.lone_cr or bool(lone and lone.start() < len(window) - 1)
            blank = _first(window, _BLANK_LINES)
        else:
            survey.bare_lf = survey.bare_lf or b"\n" in chunk
            blank = _first(window, _BLANK_LINES[:1])
        if not survey.blank_line_inside:
            if blank_seen:
                survey.blank_line_inside = bool(chunk.strip())
            elif blank >= 0:
                blank_seen = True
                survey.blank_line_inside = bool(window[blank:].strip())
        tail = chunk[-2:]
    survey.lone_cr = survey.lone_cr or tail.endswith(b"\r")
    if survey.utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            survey.utf8 = False
    return survey


def _gather_non_ascii(chunk: bytes, into: bytearray) -> None:
    """Append the whole lines of ``chunk`` holding non-ASCII bytes to ``into``, up to
    ``DETECT_BYTES`` (the encoding detector's bounded sample)."""
    position = 0
    while len(into) < DETECT_BYTES:
        found = _NON_ASCII.search(chunk, position)
        if found is None:
            return
        start = chunk.rfind(b"\n", 0, found.start()) + 1
        end = chunk.find(b"\n", found.start())
        end = len(chunk) if end < 0 else end + 1
        if into and len(into) + end - start > DETECT_BYTES:
            return
        into += chunk[start : min(end, start + DETECT_BYTES)]
        position = end


def _last_break(data: bytes, end: int | None = None) -> int:
    """Where the last line break (LF or CR) before ``end`` is in ``data``, or -1."""
    stop = len(data) if end is None else end
    return max(data.rfind(b"\n", 0, stop), data.rfind(b"\r", 0, stop))


def _long_line_at(chunk: bytes, run: int) -> tuple[int, int]:
    """Look for a line over ``MAX_LINE_BYTES`` in ``chunk``, ``run`` bytes after the last
    line break before it: the bytes after its own last line break, and where in the chunk
    such a line is (-1 if none is).

    Only the first and last line breaks are searched for and, between them, one in every
    ``MAX_LINE_BYTES / 2`` window (a longer line fills one such window): a few searches
    per chunk, however many lines it has.
    """
    first = _LINE_BREAK.search(chunk)
    if first is None:
        run += len(chunk)
        return run, (0 if run > MAX_LINE_BYTES else -1)
    if run + first.start() > MAX_LINE_BYTES:
        return 0, 0
    last = _last_break(chunk)
    half = MAX_LINE_BYTES // 2
    for start in range(first.start() + 1, last - half, half):
        if _LINE_BREAK.search(chunk, start, start + half) is None:
            after = _LINE_BREAK.search(chunk, start + half)
            end = after.start() if after else len(chunk)
            if end - _last_break(chunk, start) - 1 > MAX_LINE_BYTES:
                return 0, start
    return len(chunk) - last - 1, -1


def _first(data: bytes, needles: tuple[re.Pattern[bytes], ...]) -> int:
    """Where the first of ``needles`` occurs in ``data``, or -1."""
    found = [match.start() for match in (needle.search(data) for needle in needles) if match]
    return min(found, default=-1)


def _decode_sample(sample: bytes, encoding: str, truncated: bool) -> str:
    """The sample as text without BOM, a partial character at its end dropped."""
    try:
        text = _decoder(encoding).decode(sample, final=not truncated)
    except UnicodeDecodeError as error:
        raise UnreadableFileError(_not_decodable(encoding)) from error
    return _NEWLINES.sub("\n", text.removeprefix("\ufeff"))


def _transcode(chunks: Iterator[bytes], encoding: str, out: BinaryIO) -> bool:
    """Write the source as UTF-8 with ``\\n`` line ends; True if blank lines got a space."""
    decoder = _decoder(encoding)
    carry = ""
    started = False
    filled = False
    lines = 0  # lines written
    run = 0
    pieces = iter(chunks)
    while True:
        chunk = next(pieces, None)
        last = chunk is None
        try:
            text = decoder.decode(chunk or b"", final=last)
        except UnicodeDecodeError as error:
            raise UnreadableFileError(_not_decodable(encoding)) from error
        if not started and text:
            text = text.removeprefix("\ufeff")
            started = True
        if "\x00" in text:
            raise UnreadableFileError(_MESSAGES["binary"])
        text = carry + text
        held = ""
        if not last and text.endswith("\r"):
            text, held = text[:-1], "\r"
        text = _NEWLINES.sub("\n", text)
        cut = len(text) if last else text.rfind("\n") + 1
        segment, carry = text[:cut], text[cut:] + held
        segment, count = _BLANK_LINE.subn(" ", segment)
        filled = filled or count > 0
        encoded = segment.encode("utf-8")
        run, long_at = _long_line_at(encoded, run)
        if long_at >= 0 or len(carry) > MAX_LINE_BYTES:
            inside = encoded.count(b"\n", 0, long_at) if long_at >= 0 else segment.count("\n")
            raise UnreadableFileError(_long_line_message(lines + inside + 1))
        lines += segment.count("\n")
        out.write(encoded)
        if last:
            return filled


def _unfilled_sql(column: str) -> str:
    """The cell with the space ``_transcode`` put into blank lines inside it taken out again."""
    return f"replace(replace({column}, {_FILLED}, {_BLANK}), {_FILLED}, {_BLANK})"


def _cell_sql(column: str, filled: bool) -> str:
    """A cell trimmed of spaces, tabs, line breaks and no-break spaces; empty -> NULL.

    ``filled``: blank lines inside quoted cells got a space from ``_transcode``; take it out.
    """
    if filled:
        column = _unfilled_sql(column)
    return (
        f"NULLIF(CASE WHEN contains({column}, chr(9)) OR contains({column}, chr(10)) "
        f"OR contains({column}, chr(13)) THEN trim(trim({column}, {_TRIMMED})) "
        f"ELSE trim({column}) END, '')"
    )


def _blank_sql(column: str) -> str:
    """True when the untrimmed cell would be NULL once trimmed by ``_cell_sql``.

    Only a cell starting with a space, tab, line break or non-ASCII character (or empty)
    can be blank: two comparisons rule out nearly every cell before any trimming.
    """
    return (
        f"({column} IS NULL OR {column} < '!' OR {column} >= chr(128)) "
        f"AND {_cell_sql(column, False)} IS NULL"
    )


def _position_sql(cursor: duckdb.DuckDBPyConnection, scan: str) -> tuple[Fragment, bool] | None:
    """SQL for a row's 0-based position in the file, from the scanned table ``s``.

    The scan keeps file order (DuckDB preserves insertion order), so its ``rowid`` order is
    file order; but rowids start at 0 only outside a transaction (inside one, new rows get
    ids from 2**55 or so), hence the offset, and a sort in case they were ever not dense.
    The flag tells whether the SQL is a plain expression of the row (no window function).
    None when the scan is empty.
    """
    span = query("SELECT min(rowid), max(rowid), count(*) FROM {scan}", scan=identifier(scan))
    row = execute(cursor, span).fetchone()
    first, last, count = row if row else (None, None, 0)
    if first is None:
        return None
    if last - first + 1 == count:
        return query("(s.rowid - {first})", first=number(int(first))), True
    return sql("(row_number() OVER (ORDER BY s.rowid) - 1)"), False


def _stage(
    cursor: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    layout: _Layout,
    filled: bool,
    trim: bool,
) -> tuple[tuple[RowProblem, ...], int]:
    """Read ``path`` with DuckDB into ``table``; the unreadable rows and the staged count.

    The scan is read straight into a table with an empty ``row_number`` column that one
    UPDATE then fills, and renamed to ``table`` once the empty rows are deleted: writing
    the cells a second time would cost about as much as reading them.
    """
    columns = [f"c{index}" for index in range(1, len(layout.header) + 1)]
    scan, rejects, reject_scans = f"{table}__scan", f"{table}__rejects", f"{table}__reject_scans"
    first_row = layout.skip + 2
    column_types = ", ".join(f"'{column}': 'VARCHAR'" for column in columns)
    if trim:
        cells = ", ".join(f"{_cell_sql(column, filled)} AS {column}" for column in columns)
        empty = " AND ".join(f"{column} IS NULL" for column in columns)
    else:
        cells = ", ".join(
            f"{_unfilled_sql(column) if filled else column} AS {column}" for column in columns
        )
        empty = " AND ".join(_blank_sql(column) for column in columns)
    drop = [f"DROP TABLE IF EXISTS {name}" for name in (scan, rejects, reject_scans)]
    for statement in drop:
        cursor.execute(statement)
    try:
        try:
            cursor.execute(
                f"""
                CREATE TEMP TABLE {scan} AS
                SELECT CAST(NULL AS BIGINT) AS row_number, {cells}
                FROM read_csv(
                    ?, delim = ?, quote = '"', escape = '"', header = true, skip = ?,
                    columns = {{{column_types}}}, auto_detect = false, strict_mode = true,
                    null_padding = false, store_rejects = true,
                    max_line_size = {MAX_ROW_BYTES}, buffer_size = {_READ_BUFFER_BYTES},
                    rejects_table = '{rejects}', rejects_scan = '{reject_scans}'
                )
                """,  # noqa: S608
                [str(path), layout.delimiter, layout.skip],
            )
        except duckdb.InterruptException:
            raise  # the caller's time limit, not the file's fault
        except duckdb.Error as error:
            raise UnreadableFileError(_MESSAGES["unsplittable"]) from error
        scan_table, rejects_table = identifier(scan), identifier(rejects)
        found = execute(cursor, query("SELECT count(*) FROM {t}", t=rejects_table)).fetchone()
        rejected = bool(found and found[0])
        position, plain = _position_sql(cursor, scan) or (sql("0"), True)
        if rejected:
            template = _NUMBERED_SQL
        elif plain:
            # Nothing rejected and dense rowids: the scan's rows are the file's rows, in order.
            template = "UPDATE {scan} AS s SET row_number = CAST({position} + $first AS BIGINT)"
        else:
            template = """
                UPDATE {scan} SET row_number = n.row_number
                FROM (SELECT s.rowid AS id, CAST({position} + $first AS BIGINT) AS row_number
                      FROM {scan} AS s) AS n
                WHERE {scan}.rowid = n.id
                """
        numbering = query(
            template, scan=scan_table, rejects=rejects_table, position=position, first=first_row
        )
        execute(cursor, numbering)
        cursor.execute(f"DELETE FROM {scan} WHERE {empty}")  # noqa: S608
        cursor.execute(f"DROP TABLE IF EXISTS temp.{table}")
        cursor.execute(f"ALTER TABLE temp.{scan} RENAME TO {table}")
        counted = cursor.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
        staged = int(counted[0]) if counted else 0
        problems = []
        if rejected:
            # A file with nothing staged is refused anyway: one problem tells which sentence.
            problems = execute(
                cursor,
                query(
                    _PROBLEMS_SQL,
                    rejects=rejects_table,
                    width=len(columns),
                    limit=None if staged else 1,
                ),
            ).fetchall()
    except BaseException:
        # After a failed statement DuckDB refuses every other one in the transaction until
        # it is rolled back (which drops these tables anyway): a failing DROP here must not
        # hide the sentence on its way to the user.
        for statement in drop:
            with contextlib.suppress(duckdb.Error):
                cursor.execute(statement)
        raise
    for statement in drop:
        cursor.execute(statement)
    ragged = tuple(RowProblem(row=int(line), column=None, message=text) for line, text in problems)
    return ragged, staged
