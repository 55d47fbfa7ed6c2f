"""What kind of file an upload is, decided from its first bytes (never from its name).

``contactload import`` and the Import page send each kind to its importer: ICS calendars
(``BEGIN:VCALENDAR``), session CSV files (a header with a status, a client and a date, and
no contact-only column such as channel), phone and SMS logs of "SMS Backup & Restore"
(XML with ``<calls`` or ``<smses``), pages of Google Voice Takeout (``google_voice``; its
zip and folder are recognised by ``dispatch.file_kind``), practice-management appointment
reports (``practice_sessions``: SimplePractice), mailboxes (an mbox's ``From `` line and
headers, or one ``.eml`` message's headers), WhatsApp chat exports (a first line dated as
Android or iOS write it), else a contact log. Zips are told apart by their members in
``dispatch``. Other XML and HTML files are ``markup``: no importer reads them, and
``markup_sentence`` says why in one sentence.
"""

from __future__ import annotations

import codecs
import csv
import re
from typing import Literal

from analytics.importing.csv_layout import DELIMITERS
from analytics.importing.google_voice import is_google_voice_page
from analytics.importing.mail import is_eml, is_mbox
from analytics.importing.phone_log_xml import is_phone_log
from analytics.importing.practice_exports import is_practice_appointments
from analytics.importing.session_csv import is_session_header
from analytics.importing.text_encodings import (
    UnreadableFileError,
    detect_encoding,
    utf16_without_bom,
)
from analytics.importing.whatsapp import is_whatsapp

FileKind = Literal[
    "calendar",
    "sessions_csv",
    "practice_sessions",
    "phone_log",
    "google_voice",
    "contacts",
    "markup",
    "mbox",
    "eml",
    "whatsapp",
]

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


# An XML declaration, comment, processing instruction or DOCTYPE, then the root element.
_PROLOGUE = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>]*>|\s)*", re.DOTALL | re.I)
_ROOT = re.compile(r"<([A-Za-z_][\w.:-]*)")


def _markup_root(text: str) -> str | None:
    """The root element's name when the text is XML or HTML (``<?xml``, ``<!DOCTYPE``, a
    comment or an element first), else None."""
    stripped = text.lstrip()
    if not stripped.startswith("<"):
        return None
    prologue = _PROLOGUE.match(stripped)
    rest = stripped[prologue.end() if prologue else 0 :]
    root = _ROOT.match(rest)
    if root:
        return root.group(1)
    return "" if stripped.startswith(("<?xml", "<!")) else None


def markup_sentence(head: bytes, file_name: str) -> str:
    """Why an XML or HTML upload (``markup``) cannot be imported, in one sentence."""
    root = _markup_root(_text(head)) or ""
    if root.lower() == "html":
        return (
            f"{file_name} is an HTML page, not a CSV export or an SMS Backup & Restore phone "
            "log; export the report as CSV and upload that file."
        )
    named = f" (its root element is <{root}>, not <calls> or <smses>)" if root else ""
    return (
        f"{file_name} is XML but not an SMS Backup & Restore phone log{named}; upload the "
        "calls or messages backup that app writes, or export contacts as CSV."
    )


def file_header(head: bytes) -> list[str]:
    """The header cells of a CSV upload from its first bytes, for a column picker shown
    before the file can be read (its columns match no known export)."""
    return [cell for cell in _header(_text(head)) if cell]


def detect_kind(head: bytes) -> FileKind:
    """The kind of file whose first bytes (``HEAD_BYTES`` are plenty) are ``head``."""
    text = _text(head)
    stripped = text.lstrip()
    if stripped[:15].upper() == "BEGIN:VCALENDAR":
        return "calendar"
    if is_phone_log(text.encode("utf-8")):
        return "phone_log"
    if is_google_voice_page(text.encode("utf-8")):
        return "google_voice"
    if is_mbox(head):
        return "mbox"
    if is_eml(head):
        return "eml"
    if is_whatsapp(head):
        return "whatsapp"
    if _markup_root(text) is not None:
        return "markup"
    if is_practice_appointments(_header(text)):
        return "practice_sessions"
    if is_session_header(_header(text)):
        return "sessions_csv"
    return "contacts"
