"""WhatsApp chat exports as contacts: the ``.txt`` a phone writes ("Export chat"), alone or
in the zip with the media.

The layouts read (after dropping the direction marks WhatsApp puts around names and
system text, and reading its narrow no-break space before AM/PM as a space):

* Android: ``12/31/23, 9:05 PM - Anna Schmidt: text`` (English, US),
  ``31/12/2023, 21:05 - Anna Schmidt: text`` (English, UK and elsewhere),
  ``31.12.23, 21:05 - Anna Schmidt: text`` (German);
* iOS: ``[12/31/23, 9:05:33 PM] Anna Schmidt: text``, ``[31.12.23, 21:05:33] Anna: text``.

A line that starts with no such date continues the message before it. The date order is
decided from the whole file (``parsing.file_date_order``); when every date reads both
ways, a 12-hour clock means month-first and a 24-hour one day-first (the report says so).
Times are the phone's local times, read in the therapist's zone.

Not contacts, counted in the report: system lines (no sender, or a text iOS starts with a
left-to-right mark, such as "Messages and calls are end-to-end encrypted"), media without
text ("<Media omitted>", "image omitted", "<attached: …>", "Bild weggelassen"), deleted
messages ("This message was deleted", "Diese Nachricht wurde gelöscht") and call notices
("Missed voice call", "Verpasster Sprachanruf").

One chat is one client: the chat's name (from the export's file name, "WhatsApp Chat with
Anna Schmidt.txt", "WhatsApp-Chat mit …", "WhatsApp Chat - ….zip") or one of its members
mapped to a client (``conversations.map_address``; a member shown as a phone number
matches the phone logs' mapping). Messages of a mapped member are the client's, the
others' the therapist's. Names are keyed as they are read and never stored.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from pathlib import Path

from analytics.access.scope import LOCAL, Scope
from analytics.importing.addresses import address_hint
from analytics.importing.conversations import (
    MessageFileError,
    MessageOptions,
    MessageReport,
    MessageStage,
    import_messages,
    open_source,
    zip_members,
    zip_names,
)
from analytics.importing.limits import max_upload_bytes
from analytics.storage.database import Database

PRESET = "whatsapp"
"""How batches from chat exports are labelled (``files[].preset``)."""

_MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = re.compile("[\u00a0\u202f\u2007]")
_DATE = r"(?P<date>\d{1,4}[./-]\d{1,2}[./-]\d{1,4})"
_TIME = r"(?P<time>\d{1,2}:\d{2}(?::\d{2})?(?: ?[AaPp]\.? ?[Mm]\.?)?)"
_ANDROID = re.compile(rf"{_DATE},? {_TIME} [-–] (?P<rest>.*)$")
_IOS = re.compile(rf"\[{_DATE},? {_TIME}\] (?P<rest>.*)$")
_CHAT_NAME = re.compile(
    r"^WhatsApp[ -]Chat(?: with | mit | - |-)(?P<name>.+?)(?: \(\d+\))?(?:\.txt|\.zip)?$",
    re.IGNORECASE,
)
_LINE_CHARS = 64 * 1024
"""Longest line read whole; longer ones (no chat writes them) are cut."""

# What a message's text (or a line without sender) says when it is no contact.
_LEFT_OUT: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "deleted message",
        re.compile(
            r"^(this message was deleted|you deleted this message|diese nachricht wurde "
            r"gelöscht|du hast diese nachricht gelöscht)\.?$",
            re.IGNORECASE,
        ),
    ),
    (
        "media without text",
        re.compile(
            r"^(<media omitted>|<medien ausgeschlossen>|<attached: .*>|<anhang: .*>|"
            r"(image|video|audio|sticker|gif|document|contact card) omitted|"
            r"(bild|video|audio|sticker|gif|dokument|kontaktkarte) weggelassen|"
            r".+ \((file attached|datei angehängt)\))$",
            re.IGNORECASE,
        ),
    ),
    (
        "call notice",
        re.compile(
            r"^(missed (voice|video) call|(voice|video) call|verpasster (sprach|video)anruf|"
            r"(sprach|video)anruf)\b.*$",
            re.IGNORECASE,
        ),
    ),
    (
        "system message",
        re.compile(
            r"(end-to-end encrypted|ende-zu-ende-verschlüsselt|security code|"
            r"sicherheitsnummer)",
            re.IGNORECASE,
        ),
    ),
)
_EDITED = re.compile(r"\s*<(this message was edited|diese nachricht wurde bearbeitet)>$", re.I)


def _clean(line: str) -> str:
    """A line without direction marks, with WhatsApp's special spaces as spaces."""
    return _SPACES.sub(" ", _MARKS.sub("", line)).rstrip("\r\n")


def _message_line(line: str) -> re.Match[str] | None:
    """The date, time and rest of a line that starts a message, else None."""
    cleaned = _clean(line)
    return _IOS.match(cleaned) or _ANDROID.match(cleaned)


def is_whatsapp(head: bytes) -> bool:
    """Whether a file's first bytes are a WhatsApp chat export (its first line starts with
    a date and time as Android or iOS write them)."""
    text = head.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = [line for line in text.splitlines()[:5] if _clean(line).strip()]
    return bool(lines) and _message_line(lines[0]) is not None


def chat_text_member(names: list[str]) -> str | None:
    """The chat's text among a zip's members (``_chat.txt`` or ``WhatsApp Chat….txt``)."""
    for name in names:
        base = name.rsplit("/", 1)[-1]
        if base == "_chat.txt" or (
            base.lower().endswith(".txt") and _CHAT_NAME.match(base) is not None
        ):
            return name
    return None


def is_whatsapp_zip(names: list[str]) -> bool:
    """Whether a zip's members (names) are a WhatsApp export."""
    return chat_text_member(names) is not None


def chat_name(file_name: str) -> str | None:
    """The chat's name from an export's file name, e.g. ``Anna Schmidt`` from ``WhatsApp
    Chat with Anna Schmidt.txt``; None for other names (``_chat.txt``)."""
    found = _CHAT_NAME.match(Path(file_name).name.strip())
    return found.group("name").strip() if found else None


def history_name(file_name: str) -> str:
    """The name the import history keeps for an export: its chat's name (a person's name or
    phone number) replaced by a hint, ``WhatsApp Chat with L….txt``; other names as they
    are."""
    name = chat_name(file_name)
    return file_name.replace(name, address_hint("chat", name)) if name else file_name


def _chat_text(source: bytes | Path, file_name: str) -> tuple[bytes, str | None]:
    """The export's text (from the zip when it is one) and the chat's name."""
    with open_source(source) as stream:
        head = stream.read(4)
    name = chat_name(file_name)
    if head.startswith(b"PK\x03\x04"):
        member = chat_text_member(zip_names(source))
        if member is None:
            raise MessageFileError(
                f"{file_name} holds no WhatsApp chat text (_chat.txt or 'WhatsApp Chat….txt');"
                " nothing was stored."
            )
        for _, data in zip_members(source, file_name, lambda n: n == member, max_upload_bytes()):
            if len(data) > max_upload_bytes():
                raise MessageFileError(
                    f"The chat text in {file_name} is over the upload limit; nothing was stored."
                )
            return data, name or chat_name(member.rsplit("/", 1)[-1])
    if isinstance(source, bytes):
        return source, name
    with source.open("rb") as stream:
        return stream.read(max_upload_bytes() + 1), name


def _lines(text: bytes) -> Iterator[str]:
    """The export's lines, decoded as UTF-8 (what WhatsApp writes), each cut at
    ``_LINE_CHARS`` (the rest of a longer line is skipped, never read as lines)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="replace")
    pending = ""
    cut = False  # inside the skipped rest of a line that was too long
    for start in range(0, len(text), 1 << 20):
        pending += decoder.decode(text[start : start + (1 << 20)])
        *whole, pending = pending.split("\n")
        for line in whole:
            if not cut:
                yield line[:_LINE_CHARS]
            cut = False
        if len(pending) > _LINE_CHARS or cut:
            if not cut:
                yield pending[:_LINE_CHARS]
            pending, cut = "", True
    pending += decoder.decode(b"", final=True)
    if pending and not cut:
        yield pending[:_LINE_CHARS]


def _messages(text: bytes) -> Iterator[tuple[str, str, str | None, str, bool]]:
    """Each message: (date text, time text, sender or None, text, marked as system)."""
    current: list[str] | None = None
    head: tuple[str, str, str | None, bool] | None = None
    for line in _lines(text):
        found = _message_line(line)
        if found is None:
            if current is not None:
                current.append(_clean(line))
            continue
        if head is not None and current is not None:
            yield (*head[:3], "\n".join(current), head[3])
        rest = found.group("rest")
        sender, separator, body = rest.partition(": ")
        if not separator:
            sender, body = "", rest
        # iOS marks system text and attachments with a left-to-right mark before the text.
        marked = bool(separator) and ": \u200e" in line
        head = (found.group("date"), found.group("time"), sender.strip() or None, marked)
        current = [body]
    if head is not None and current is not None:
        yield (*head[:3], "\n".join(current), head[3])


def _left_out(sender: str | None, body: str, marked: bool) -> str | None:
    """Why a message is no contact, else None."""
    text = body.strip()
    for reason, pattern in _LEFT_OUT:
        if pattern.search(text) if reason == "system message" else pattern.match(text):
            return reason
    if sender is None or marked or not text:
        return "system message"
    return None


def _read(source: bytes | Path, file_name: str, stage: MessageStage) -> None:
    """Stage every message of the export: the senders are learnt in a first pass, so that
    each message goes to the chat's name and every other member."""
    text, name = _chat_text(source, file_name)
    if len(text) > max_upload_bytes():
        raise MessageFileError(
            f"{file_name} is over the upload limit for a chat export; nothing was stored."
        )
    senders: list[str] = []
    for _, _, sender, body, marked in _messages(text):
        if sender and sender not in senders and _left_out(sender, body, marked) is None:
            senders.append(sender)
    if not senders and not any(True for _ in _messages(text)):
        raise MessageFileError(
            f"{file_name} holds no WhatsApp messages (no line starts with a date and time as "
            "WhatsApp writes them); nothing was stored."
        )
    members = ([name] if name else []) + senders
    for date_text, time_text, sender, body, marked in _messages(text):
        left_out = _left_out(sender, body, marked)
        body = _EDITED.sub("", body)
        stage.add(
            thread=name or "chat",
            date_text=date_text,
            time_text=time_text,
            sender=sender if left_out is None else None,
            recipients=[member for member in members if member != sender]
            if left_out is None
            else [],
            text=body if left_out is None else "",
            left_out=left_out,
        )


def import_whatsapp(
    db: Database,
    source: bytes | Path,
    *,
    file_name: str,
    options: MessageOptions | None = None,
    scope: Scope = LOCAL,
    dry_run: bool = False,
) -> MessageReport:
    """Import one WhatsApp chat export (.txt or its zip) as one batch of ``text`` contacts
    (see the module); ``MessageFileError`` in one sentence when unreadable."""
    return import_messages(
        db,
        source,
        lambda stage: _read(source, file_name, stage),
        stored_name=history_name(file_name),
        file_name=file_name,
        preset=PRESET,
        kind="chat",
        options=options,
        scope=scope,
        dry_run=dry_run,
    )
