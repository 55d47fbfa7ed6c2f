"""Where a text file's header is, which delimiter it uses and how wide it is, read from its
first bytes before DuckDB reads the rest.

Split from ``reader`` (which transcodes and stages the whole file) so the guess about the
file's shape, made in Python over a small sample, reads in one place.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from analytics.importing.text_encodings import UnreadableFileError

SAMPLE_BYTES = 64 * 1024
"""Bytes at the start of the file that decide the delimiter and the header."""

SAMPLE_RECORDS = 50
"""Records of the sample used to choose the delimiter."""

DELIMITERS = (",", ";", "\t", "|")
"""Candidate delimiters, in order of preference when two fit equally well."""

MAX_COLUMNS = 1_000
"""Most columns a header may have; wider files are refused before their body is read (the
widest real exports have a few dozen)."""

EMPTY_FILE = "The file is empty; export the report again and upload the new file."


@dataclass(frozen=True)
class _Layout:
    """How the rows are laid out: blank lines above the header, delimiter, header cells."""

    skip: int
    delimiter: str
    header: tuple[str, ...]


def _sniff(text: str, truncated: bool) -> _Layout:
    """Blank lines above the header, the delimiter and the header cells, from the sample."""
    skip = 0
    position = 0
    while True:
        end = text.find("\n", position)
        line = text[position:] if end < 0 else text[position:end]
        if line.strip():
            break
        if end < 0:
            raise UnreadableFileError(EMPTY_FILE)
        skip += 1
        position = end + 1
    body = text[position:]
    if truncated and "\n" not in body:
        raise UnreadableFileError(_too_wide(f"more than {SAMPLE_BYTES // 1024} KB of"))

    best: tuple[tuple[bool, float, int, int], str, list[str]] | None = None
    for preference, delimiter in enumerate(DELIMITERS):
        records = _records(body, delimiter, truncated)
        if not records:
            continue
        width = len(records[0])
        data = [record for record in records[1:] if record]
        fitting = sum(1 for record in data if len(record) == width)
        share = fitting / len(data) if data else 1.0
        score = (width > 1, share, width, -preference)
        if best is None or score > best[0]:
            best = (score, delimiter, records[0])
    if best is None:
        raise UnreadableFileError(EMPTY_FILE)
    _, delimiter, cells = best
    header = tuple(cell.replace("\ufeff", "").strip() for cell in cells)
    if len(header) > MAX_COLUMNS:
        raise UnreadableFileError(_too_wide(f"{len(header):,}"))
    return _Layout(skip=skip, delimiter=delimiter, header=header)


def _check_width(sample: bytes, truncated: bool) -> None:
    """Refuse a header of over ``MAX_COLUMNS`` columns from the raw head, before the body is
    read: counting delimiter bytes in its first line works in every encoding read here."""
    start = len(sample) - len(sample.lstrip(b" \t\r\n\x00"))
    end = sample.find(b"\n", start)
    if end < 0 and truncated:
        raise UnreadableFileError(_too_wide(f"more than {SAMPLE_BYTES // 1024} KB of"))
    line = sample[start:end] if end >= 0 else sample[start:]
    widest = max(line.count(delimiter.encode()) for delimiter in DELIMITERS) + 1
    if widest > MAX_COLUMNS:
        raise UnreadableFileError(_too_wide(f"{widest:,}"))


def _too_wide(columns: str) -> str:
    """The sentence for a header over ``MAX_COLUMNS`` columns (``columns``: how many)."""
    return (
        f"The file's header has {columns} columns, over the limit of {MAX_COLUMNS:,}; a "
        "contact log has a few dozen. Check that this is the right file, or remove the "
        "columns that are not needed."
    )


def _records(text: str, delimiter: str, truncated: bool) -> list[list[str]]:
    """The first records of the sample split with ``delimiter``, counting quotes."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"')
    records: list[list[str]] = []
    complete = True
    try:
        for record in reader:
            records.append(record)
            if len(records) > SAMPLE_RECORDS:
                break
    except csv.Error:
        complete = False
    if (truncated or not complete) and len(records) > 1:
        records.pop()
    return records
