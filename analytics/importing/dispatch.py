"""One entry for every kind of upload: detect it by content, then hand it to its importer.

Contact logs go to ``pipeline.import_file``, ICS calendars to ``calendar.import_calendar``,
session CSV files to ``session_csv.import_session_csv``, "SMS Backup & Restore" XML to
the phone-log importer, Google Voice Takeout (a page, the zip or the folder) to
``google_voice.import_google_voice``, mailboxes (mbox, .eml, a folder or zip of .eml
files) to ``mail.import_mail`` and WhatsApp chat exports (.txt or zip) to
``whatsapp.import_whatsapp``; other XML and HTML files are refused in one sentence. An Excel
workbook (.xlsx) is first written out as the CSV of one sheet (``workbook.sheet_csv_file``)
and that CSV is detected and imported like any other. The CLI and the Import page both call
``import_detected``.
"""

from __future__ import annotations

from pathlib import Path

from analytics.access.scope import LOCAL, Scope
from analytics.errors import ContactLoadError
from analytics.importing.conversations import MessageOptions, MessageReport, zip_names
from analytics.importing.detect import HEAD_BYTES, FileKind, detect_kind, markup_sentence
from analytics.importing.google_voice import import_google_voice, is_google_voice
from analytics.importing.mail import is_eml_zip
from analytics.importing.phone_log import PhoneLogOptions, PhoneLogReport, import_phone_log
from analytics.importing.pipeline import FileReport, ImportOptions, import_file
from analytics.importing.session_report import SessionOptions, SessionReport
from analytics.importing.whatsapp import is_whatsapp_zip
from analytics.importing.workbook import is_workbook, sheet_csv_file
from analytics.storage.database import Database


class UnsupportedFileError(ContactLoadError):
    """A kind of file this version recognises but cannot import (XML that is no phone log)."""


MESSAGE_KINDS: tuple[FileKind, ...] = ("mbox", "eml", "whatsapp")
"""Kinds read by the message importers (``MessageReport``)."""


def _head(source: bytes | Path) -> bytes:
    """The first ``HEAD_BYTES`` of ``source`` (nothing for a folder)."""
    if isinstance(source, Path) and source.is_dir():
        return b""
    if isinstance(source, bytes):
        return source[:HEAD_BYTES]
    with source.open("rb") as stream:
        return stream.read(HEAD_BYTES)


def file_kind(source: bytes | Path) -> FileKind:
    """The kind of ``source``, from its first bytes (a zip or folder: from its members:
    Google Voice pages, .eml files, a WhatsApp chat; Apple Mail's ``Inbox.mbox/`` folder
    is an mbox)."""
    folder = isinstance(source, Path) and source.is_dir()
    if (folder or is_workbook(_head(source))) and is_google_voice(source):
        return "google_voice"  # a Takeout zip (a workbook is a zip too) or its folder
    if isinstance(source, Path) and folder:
        if (source / "mbox").is_file():
            return "mbox"
        if any(path.suffix.lower() == ".eml" for path in source.glob("*")):
            return "eml"
        return "markup"  # no importer reads other folders; ``import_detected`` says so
    head = _head(source)
    if is_workbook(head):
        names = zip_names(source)
        if is_eml_zip(names):
            return "eml"
        if is_whatsapp_zip(names):
            return "whatsapp"
        return "contacts"
    return detect_kind(head)


def import_detected(
    db: Database,
    source: bytes | Path,
    *,
    file_name: str,
    contact_options: ImportOptions | None = None,
    session_options: SessionOptions | None = None,
    phone_options: PhoneLogOptions | None = None,
    message_options: MessageOptions | None = None,
    scope: Scope = LOCAL,
    dry_run: bool = False,
    kind: FileKind | None = None,
    sheet: str | None = None,
) -> FileReport | SessionReport | PhoneLogReport | MessageReport:
    """Import one file of any supported kind as one batch (``kind``: skip detection;
    ``sheet``: the worksheet of a workbook to read, else its first)."""
    scope.require_import()
    kind = kind or ("google_voice" if is_google_voice(source) else None)
    if kind == "google_voice":
        return import_google_voice(
            db, source, file_name=file_name, options=phone_options, scope=scope,
            dry_run=dry_run,
        )  # fmt: skip
    if kind is None and (
        (isinstance(source, Path) and source.is_dir()) or is_workbook(_head(source))
    ):
        zipped = file_kind(source)  # a zip or folder of .eml files or a WhatsApp chat
        kind = zipped if zipped in MESSAGE_KINDS else None
    if kind in MESSAGE_KINDS:
        return _import_messages(db, source, file_name, kind, message_options, scope, dry_run)
    if isinstance(source, Path) and source.is_dir():
        raise UnsupportedFileError(
            f"{file_name} is a folder without Google Voice pages (Takeout/Voice/Calls/*.html) "
            "or .eml files; import the files in it one by one."
        )
    if is_workbook(_head(source)):
        with sheet_csv_file(source, file_name, sheet) as (table, _):
            return import_detected(
                db, table, file_name=file_name, contact_options=contact_options,
                session_options=session_options, phone_options=phone_options,
                message_options=message_options, scope=scope, dry_run=dry_run, kind=kind,
            )  # fmt: skip
    kind = kind or file_kind(source)
    if kind in MESSAGE_KINDS:
        return _import_messages(db, source, file_name, kind, message_options, scope, dry_run)
    if kind == "markup":
        raise UnsupportedFileError(markup_sentence(_head(source), file_name))
    if kind == "calendar":
        from analytics.importing.calendar import import_calendar

        return import_calendar(
            db, source, file_name=file_name, options=session_options, scope=scope,
            dry_run=dry_run,
        )  # fmt: skip
    if kind == "practice_sessions":
        from analytics.importing.practice_exports import import_practice_appointments

        return import_practice_appointments(
            db, source, file_name=file_name, options=session_options, scope=scope,
            dry_run=dry_run,
        )  # fmt: skip
    if kind == "sessions_csv":
        from analytics.importing.session_csv import import_session_csv

        return import_session_csv(
            db, source, file_name=file_name, options=session_options, scope=scope,
            dry_run=dry_run,
        )  # fmt: skip
    if kind == "phone_log":
        return import_phone_log(
            db, source, file_name=file_name, options=phone_options, scope=scope,
            dry_run=dry_run,
        )  # fmt: skip
    return import_file(
        db, source, file_name=file_name, options=contact_options, scope=scope, dry_run=dry_run
    )  # the viewer's scope, so the audit entry names who imported


def _import_messages(
    db: Database,
    source: bytes | Path,
    file_name: str,
    kind: FileKind,
    options: MessageOptions | None,
    scope: Scope,
    dry_run: bool,
) -> MessageReport:
    """A mailbox or a chat export, to its importer."""
    if kind == "whatsapp":
        from analytics.importing.whatsapp import import_whatsapp

        return import_whatsapp(
            db, source, file_name=file_name, options=options, scope=scope, dry_run=dry_run
        )
    from analytics.importing.mail import import_mail

    return import_mail(
        db, source, file_name=file_name, options=options, scope=scope, dry_run=dry_run
    )
