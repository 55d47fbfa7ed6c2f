"""E-mail as contacts: an mbox file (Gmail Takeout, Thunderbird, Apple Mail) or ``.eml``
files (Outlook), one file, a folder of them or a zip.

Each message is parsed by the standard library (``email`` with ``policy.default``, which
decodes RFC 2047 headers and finds the text of multipart messages); only its first
``MAX_MESSAGE_BYTES`` are read, so attachments are never unpacked. An mbox is split into
messages here, line by line with a bounded line length, rather than by ``mailbox.mbox``:
that one needs a path and reads each line whole, and an upload is bytes whose lines
nobody has checked. From each message this module keeps:

* its date (``Date``; without a zone, UTC), its thread (the first ``References`` id, else
  ``In-Reply-To``, else its own ``Message-ID``) and its ``Message-ID`` (a message twice in
  the file is counted once);
* its sender and recipients (From; To, Cc and Bcc), keyed at once (``conversations``);
* its subject and text (plain, else HTML with the tags dropped), for the keyword rules,
  then dropped with the staged table.

Mailing lists (``List-Id``, ``List-Post``), automatic mail (``Auto-Submitted`` other than
``no``, ``X-Autoreply``, ``Precedence: bulk``, ``list`` or ``junk``) and Gmail's spam,
trash and drafts (``X-Gmail-Labels``) are counted and left out. Everything else is shared
with chat exports in ``conversations``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.errors import HeaderParseError
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import IO

from analytics.access.scope import LOCAL, Scope
from analytics.importing.conversations import (
    MAX_MESSAGE_BYTES,
    ZIP_EXPANSION,
    MessageFileError,
    MessageOptions,
    MessageReport,
    MessageStage,
    import_messages,
    open_source,
    zip_members,
)
from analytics.importing.limits import max_upload_bytes
from analytics.storage.database import Database

MBOX = "mbox"
EML = "eml"
"""How batches from mailboxes and .eml files are labelled (``files[].preset``)."""

LEFT_OUT_REASONS = (
    "mailing list",
    "automatic message",
    "bulk mail",
    "spam, trash or draft",
)
"""Why a message is no contact, as the report names it."""

_LINE_BYTES = 64 * 1024
"""Longest piece of an mbox line read at once (mail lines are at most 998 bytes)."""

_FROM_LINE = re.compile(rb"From \S+ ")
_HEADER_LINE = re.compile(r"[!-9;-~]+:(?:[ \t]|$)")
_AUTOMATIC_PRECEDENCE = {"bulk", "list", "junk"}
_GMAIL_LEFT_OUT = {"spam", "trash", "draft", "drafts"}
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def max_mailbox_bytes() -> int:
    """The largest mbox or set of .eml files read: ``ZIP_EXPANSION`` upload limits (a
    mailbox is read as a stream, so it may be larger than other uploads)."""
    return ZIP_EXPANSION * max_upload_bytes()


# -- recognising mail ----------------------------------------------------------------------


def _header_block(text: str) -> list[str]:
    """The lines of a message's header block (up to the first empty line)."""
    lines = []
    for line in text.splitlines():
        if not line.strip():
            break
        lines.append(line)
    return lines


def _looks_like_headers(lines: list[str]) -> bool:
    """Header lines (field names, continuations) with a From and a Date or Message-ID."""
    if not lines or not _HEADER_LINE.match(lines[0]):
        return False
    names = {line.split(":", 1)[0].strip().lower() for line in lines if _HEADER_LINE.match(line)}
    return "from" in names and bool(names & {"date", "message-id"})


def is_mbox(head: bytes) -> bool:
    """Whether a file's first bytes are an mbox: a ``From `` separator line, then the
    headers of a message."""
    if not _FROM_LINE.match(head):
        return False
    text = head.decode("utf-8", errors="replace")
    return _looks_like_headers(_header_block(text.partition("\n")[2]))


def is_eml(head: bytes) -> bool:
    """Whether a file's first bytes are one message (``.eml``): a header block with From
    and Date or Message-ID."""
    text = head.lstrip(b"\xef\xbb\xbf").decode("utf-8", errors="replace")
    return _looks_like_headers(_header_block(text))


def is_eml_zip(names: list[str]) -> bool:
    """Whether a zip's members (names) are .eml files."""
    return any(name.lower().endswith(".eml") for name in names)


def folder_messages(folder: Path) -> list[Path]:
    """The .eml files of a folder (not its subfolders), in name order."""
    return sorted(path for path in folder.glob("*") if path.suffix.lower() == ".eml")


# -- reading messages ------------------------------------------------------------------------


def split_mbox(stream: IO[bytes], file_name: str) -> Iterator[bytes]:
    """The messages of an mbox, each cut at ``MAX_MESSAGE_BYTES``, read as a stream."""
    cap = max_mailbox_bytes()
    message: list[bytes] = []
    kept = 0
    total = 0
    at_line_start = True
    previous_blank = True
    started = False
    while True:
        piece = stream.readline(_LINE_BYTES)
        if not piece:
            break
        total += len(piece)
        if total > cap:
            raise MessageFileError(
                f"{file_name} is over {cap / 1024 / 1024:,.0f} MB, the most a mailbox may "
                "hold here; export only the folder or label with client mail. Nothing was "
                "stored."
            )
        if at_line_start and previous_blank and piece.startswith(b"From "):
            if started:
                yield b"".join(message)
            message, kept, started = [], 0, True
        elif started and kept < MAX_MESSAGE_BYTES:
            if at_line_start and piece.startswith(b">") and piece.lstrip(b">").startswith(b"From "):
                piece = piece[1:]  # mboxrd quoting of a "From " line in a body
            message.append(piece[: MAX_MESSAGE_BYTES - kept])
            kept += len(message[-1])
        elif not started:
            raise MessageFileError(
                f"{file_name} does not start with the 'From ' line of an mbox; nothing was stored."
            )
        ends_line = piece.endswith(b"\n")
        if at_line_start or ends_line:
            previous_blank = at_line_start and ends_line and not piece.strip()
        at_line_start = ends_line
    if started:
        yield b"".join(message)


def _eml_sources(source: bytes | Path, file_name: str) -> Iterator[bytes]:
    """The messages of one .eml, a folder of them, or a zip of them."""
    if isinstance(source, Path) and source.is_dir():
        paths = folder_messages(source)
        if not paths:
            raise MessageFileError(f"{file_name} holds no .eml files; nothing was stored.")
        total = sum(path.stat().st_size for path in paths)
        if total > max_mailbox_bytes():
            raise MessageFileError(
                f"The .eml files of {file_name} are over {max_mailbox_bytes() / 1024 / 1024:,.0f}"
                " MB together; import them in parts. Nothing was stored."
            )
        for path in paths:
            with path.open("rb") as file:
                yield file.read(MAX_MESSAGE_BYTES)
        return
    with open_source(source) as stream:
        head = stream.read(4)
    if head.startswith(b"PK\x03\x04"):
        members = zip_members(
            source, file_name, lambda n: n.lower().endswith(".eml"), MAX_MESSAGE_BYTES
        )
        for _, data in members:
            yield data[:MAX_MESSAGE_BYTES]
        return
    with open_source(source) as stream:
        yield stream.read(MAX_MESSAGE_BYTES)


class _TextOfHtml(HTMLParser):
    """The text of an HTML body (scripts and styles skipped), for the keyword rules."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_text(html: str) -> str:
    """The words of an HTML body, tags dropped."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    return " ".join(" ".join(parser.parts).split())


# What the email package raises for headers it cannot parse (hostile input has hit each).
_HEADER_ERRORS = (
    ValueError, TypeError, IndexError, AttributeError, LookupError, AssertionError,
    HeaderParseError,
)  # fmt: skip


def _raw(message: EmailMessage, name: str) -> list[str]:
    """A header's values as written (unparsed), for headers the parser chokes on."""
    return [str(value) for key, value in message.raw_items() if key.lower() == name]


def _header(message: EmailMessage, name: str) -> str:
    """A header's first value as written, unfolded ('' when missing). Structural headers
    are read raw: the parser's header objects cost milliseconds each, and hostile ones
    can break them."""
    values = _raw(message, name)
    return " ".join(values[0].split()) if values else ""


def _subject(message: EmailMessage) -> str:
    """The subject, RFC 2047 words decoded (as written when it cannot be decoded)."""
    try:
        value = message.get("subject")
    except _HEADER_ERRORS:
        return _header(message, "subject")
    return "" if value is None else str(value)


def _addresses(message: EmailMessage, *names: str) -> list[str]:
    """The addresses of headers (``To``, ``Cc``...), in order, lowercased; unreadable
    entries skipped."""
    found: list[str] = []
    for name in names:
        for _, address in getaddresses(_raw(message, name)):
            if "@" in address and address.lower() not in found:
                found.append(address.lower())
    return found


def _sent_at(message: EmailMessage) -> datetime | None:
    """The message's ``Date`` as an aware instant (UTC when it names no zone)."""
    text = _header(message, "date")
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not 1970 <= moment.year <= 2100:
        return None
    return moment.astimezone(UTC)


def _body_text(message: EmailMessage) -> str:
    """The subject and the text of the body (plain, else HTML without tags)."""
    subject = _subject(message)
    part = None
    try:
        part = message.get_body(preferencelist=("plain", "html"))
        content = part.get_content() if part is not None else ""
    except _HEADER_ERRORS:
        content = ""
    if not isinstance(content, str):
        content = ""
    if part is not None and part.get_content_subtype() == "html":
        content = html_text(content)
    return f"{subject}\n{content}".strip()


def _left_out(message: EmailMessage) -> str | None:
    """Why the message is no contact (a list, automatic or bulk mail...), else None."""
    if _header(message, "list-id") or _header(message, "list-post"):
        return "mailing list"
    submitted = _header(message, "auto-submitted").strip().lower()
    if (submitted and not submitted.startswith("no")) or _header(message, "x-autoreply"):
        return "automatic message"
    if _header(message, "precedence").strip().lower() in _AUTOMATIC_PRECEDENCE:
        return "bulk mail"
    labels = {label.strip().lower() for label in _header(message, "x-gmail-labels").split(",")}
    if labels & _GMAIL_LEFT_OUT:
        return "spam, trash or draft"
    return None


def _ids(text: str) -> list[str]:
    """The message ids (``<…>``) in a header's text."""
    return _MESSAGE_ID.findall(text)


def stage_message(stage: MessageStage, raw: bytes) -> None:
    """Parse one message and hand what counts to ``stage`` (the text for the rules only)."""
    parser = BytesParser(policy=policy.default)
    message = parser.parsebytes(raw)
    assert isinstance(message, EmailMessage)
    senders = _addresses(message, "from")
    own_id = next(iter(_ids(_header(message, "message-id"))), None)
    thread = next(
        iter(_ids(_header(message, "references")) + _ids(_header(message, "in-reply-to"))),
        own_id or f"message-{stage.rows + 1}",
    )
    sent_at = _sent_at(message)
    problem = None
    if not senders:
        problem = "The message has no readable From address."
    elif sent_at is None:
        problem = "The message's Date could not be read."
    left_out = _left_out(message)
    stage.add(
        thread=thread,
        sent_at=sent_at,
        sender=senders[0] if senders else None,
        recipients=_addresses(message, "to", "cc", "bcc"),
        text=_body_text(message) if left_out is None and problem is None else "",
        message_id=own_id,
        left_out=left_out,
        problem=problem,
    )


def _read(source: bytes | Path, file_name: str, preset: str, stage: MessageStage) -> None:
    """Stage every message of the mailbox or .eml source; refuse a file with no message
    whose headers can be read."""
    if preset == MBOX:
        size = len(source) if isinstance(source, bytes) else source.stat().st_size
        if size > max_mailbox_bytes():
            raise MessageFileError(
                f"{file_name} is {size / 1024 / 1024:,.1f} MB, over the "
                f"{max_mailbox_bytes() / 1024 / 1024:,.0f} MB a mailbox may hold here; export "
                "only the folder or label with client mail. Nothing was stored."
            )
        with open_source(source) as stream:
            for raw in split_mbox(stream, file_name):
                stage_message(stage, raw)
    else:
        for raw in _eml_sources(source, file_name):
            stage_message(stage, raw)
    stage.flush()
    unreadable = stage.cursor.execute(
        "SELECT count(*) FILTER (WHERE problem IS NOT NULL), count(*) FROM message_rows"
    ).fetchone()
    if unreadable and unreadable[1] and unreadable[0] == unreadable[1]:
        raise MessageFileError(
            f"None of the {unreadable[1]:,} messages in {file_name} has a readable sender and "
            "date; it is not an e-mail export this can read. Nothing was stored."
        )


def mail_preset(source: bytes | Path) -> str:
    """``mbox`` or ``eml`` for a mail source (a folder or zip of .eml files is ``eml``)."""
    if isinstance(source, Path) and source.is_dir():
        return EML
    with open_source(source) as stream:
        head = stream.read(64 * 1024)
    return MBOX if is_mbox(head) else EML


def import_mail(
    db: Database,
    source: bytes | Path,
    *,
    file_name: str,
    options: MessageOptions | None = None,
    scope: Scope = LOCAL,
    dry_run: bool = False,
) -> MessageReport:
    """Import an mbox, an .eml, or a folder or zip of .eml files as one batch of ``email``
    contacts (see the module); ``MessageFileError`` in one sentence when unreadable."""
    if isinstance(source, Path) and source.is_dir() and (source / "mbox").is_file():
        source = source / "mbox"  # Apple Mail exports a folder Inbox.mbox/ holding "mbox"
    preset = mail_preset(source)
    # Outlook names a saved message after its subject: the history keeps no subject.
    single = preset == EML and not (isinstance(source, Path) and source.is_dir())
    if single:
        with open_source(source) as stream:
            single = not stream.read(4).startswith(b"PK\x03\x04")
    return import_messages(
        db,
        source,
        lambda stage: _read(source, file_name, preset, stage),
        stored_name="message.eml" if single else None,
        file_name=file_name,
        preset=preset,
        kind="email",
        options=options,
        scope=scope,
        dry_run=dry_run,
    )
