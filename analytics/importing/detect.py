"""What kind of file an upload is, decided from its first bytes (never from its name).

``contactload import`` and the Import page send each kind to its importer: ICS calendars
(``BEGIN:VCALENDAR``), session CSV files (a header with a status, a client and a date, and
no contact-only column such as channel), phone and SMS logs of "SMS Backup & Restore"
(XML with ``<calls`` or ``<smses``), else a contact log.
"""

from __future__ import annotations

import codecs
import csv
from typing import Literal

from analytics.importing.phone_log import is_phone_log
from analytics.importing.reader import (
    DELIMITERS,
    UnreadableFileError,
    detect_encoding,
    utf16_without_bom,
)
from analytics.importing.session_csv import is_session_header

FileKind = Literal["calendar", "sessions_csv", "phone_log", "contacts"]

HEAD_BYTES = 64 * 1024
"""How much of the start of a file ``detect_kind`` needs."""


def _text(head: bytes) -> str:
    """The head decoded as the reader would: by BOM, else UTF-8, else the encoding the
    detector recognises (UTF-16 without BOM included); undecodable text is left to the
    importer to refuse, so it reads as a contact log here."""
    for bom, encoding in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if head.startswith(bom):
            return head[len(bom) :].decode(encoding, errors="ignore")
    try:
        if b"\x00" in head:
            return head.decode(utf16_without_bom(head), errors="ignore")
        return head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start > len(head) - 4:  # a character cut off at the end of the head
            return head[: error.start].decode("utf-8")
    except UnreadableFileError:
        return ""
    try:
        return head.decode(detect_encoding(head), errors="ignore")
    except UnreadableFileError:
        return ""


def _header(text: str) -> list[str]:
    """The first non-blank line split by the delimiter that gives the most cells."""
    line = next((line for line in text.splitlines() if line.strip()), "")
    best: list[str] = []
    for delimiter in DELIMITERS:
        cells = next(csv.reader([line], delimiter=delimiter), [])
        if len(cells) > len(best):
            best = cells
    return [cell.strip() for cell in best]


def detect_kind(head: bytes) -> FileKind:
    """The kind of file whose first bytes (``HEAD_BYTES`` are plenty) are ``head``."""
    text = _text(head)
    stripped = text.lstrip()
    if stripped[:15].upper() == "BEGIN:VCALENDAR":
        return "calendar"
    if is_phone_log(text.encode("utf-8")):
        return "phone_log"
    if is_session_header(_header(text)):
        return "sessions_csv"
    return "contacts"
