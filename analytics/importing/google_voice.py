"""Google Voice history from Google Takeout: calls, voicemails and texts as contacts.

Takeout writes one XHTML page per call, voicemail or text thread under
``Takeout/Voice/Calls/`` ("Name - Received - 2023-01-05T14_33_21Z.html", "Placed",
"Missed", "Voicemail", "Recorded", "Text"; "Group Conversation - ..." for group texts), in
hCard/hAtom markup. Google documents no format; this reader follows the pages as Takeout
writes them, as public converters read them (github.com/wjcarpenter/gvoice-sms-takeout-xml,
its test_data/Takeout/Voice/Calls and DATA_EXAMPLES.md; github.com/psanford/
google-voice-takeout-parser):

* a call or voicemail: ``<div class="haudio">`` with the other party in
  ``<div class="contributor vcard"><a class="tel" href="tel:+1...">``, the moment in
  ``<abbr class="published" title="2016-11-22T14:27:58.000-08:00">``, the length in
  ``<abbr class="duration" title="PT1M23S">`` and what it was in the labels,
  ``<a rel="tag" href="http://www.google.com/voice#received">`` (``#placed``, ``#missed``,
  ``#voicemail``, ``#recorded``);
* a text thread: ``<div class="hChatLog hfeed">`` with one ``<div class="message">`` per
  message: ``<abbr class="dt" title="...">``, the sender in ``<cite class="sender
  vcard"><a class="tel" href="tel:..."><span class="fn">Name</span>`` (the account's own
  messages name their sender ``<abbr class="fn" title="">Me</abbr>``), the text in
  ``<q>``; a group thread starts with ``<div class="participants">``.

What becomes what: received and placed calls are ``phone`` contacts of their length;
voicemails are ``phone`` contacts received, of the message's length; missed calls are left
out, recorded calls (of unknown direction) too; texts are ``text`` contacts with minutes
from their words (``message_minutes``), group threads are left out. Everything after the
reading is the phone log's: the same mapping of numbers to clients (keyed hashes, never the
number), the same report and preview, one batch per upload, nothing added by importing
again (``phone_log.import_phone_columns``). Names of contacts are never read; message
texts only as far as counting words and classifying, then dropped with the temporary
tables.

An upload is a single page, the Takeout zip, or (on the command line) the unpacked
Takeout folder. Only the pages under ``Voice/Calls`` are read, each at most
``MAX_PAGE_BYTES`` and all together at most ``MAX_TOTAL_BYTES`` (read in bounded pieces,
whatever the zip claims), so a zip bomb or a huge file is refused in one sentence before
anything is stored.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import IO

from analytics.access.scope import LOCAL, Scope
from analytics.errors import ContactLoadError
from analytics.importing.classify import MAX_TEXT_CHARS
from analytics.importing.phone_log import (
    PhoneColumns,
    PhoneLogOptions,
    PhoneLogReport,
    import_phone_columns,
    import_phone_log,
)
from analytics.storage.database import Database

PRESET = "google_voice"
"""How batches of Google Voice Takeout uploads are labelled in the import history."""

MAX_PAGE_BYTES = 16 * 1024 * 1024
"""The largest page read: a text thread of years holds a few MB; more is not Takeout's."""

MAX_TOTAL_BYTES = 512 * 1024 * 1024
"""The most page bytes one upload may unpack to (a zip bomb stops here)."""

MAX_PAGES = 200_000
"""The most pages one upload may hold."""

_CALLS_FOLDER = re.compile(r"(?:^|/)Voice/Calls/[^/]+\.html?$", re.IGNORECASE)
_ZIP_SIGNATURE = b"PK\x03\x04"

# SMS Backup & Restore's call types, which the phone log's SQL reads: 1 incoming,
# 2 outgoing, 3 missed; anything else is a call of unknown type (left out).
_CALL_TYPES = {"received": "1", "placed": "2", "missed": "3", "voicemail": "1"}
_UNKNOWN_CALL = "9"
_MMS_PLACEHOLDERS = {"MMS Sent", "MMS Received"}
"""What Takeout writes as the text of a picture message: no words of the writer's."""


class GoogleVoiceError(ContactLoadError):
    """An upload that is not a readable Google Voice Takeout (one sentence, nothing stored)."""


def is_google_voice_page(head: bytes) -> bool:
    """Whether a file's first bytes are a Google Voice Takeout page (call or text thread)."""
    text = head[:65536].decode("utf-8", errors="ignore")
    if "<html" not in text.lower():
        return False
    marked = 'class="haudio"' in text or 'class="hChatLog' in text
    return marked and ("google.com/voice" in text or "Google Inc." in text or "tel:" in text)


def is_google_voice(source: bytes | Path) -> bool:
    """Whether an upload is Google Voice Takeout: a page, a zip or a folder with pages in
    ``Voice/Calls``."""
    if isinstance(source, Path) and source.is_dir():
        return any(True for _ in _folder_pages(source))
    head = _head(source)
    if head.startswith(_ZIP_SIGNATURE):
        try:
            with _open_zip(source) as archive:
                return any(_CALLS_FOLDER.search(name) for name in archive.namelist())
        except (zipfile.BadZipFile, OSError, ValueError):
            return False
    return is_google_voice_page(head)


def import_google_voice(
    db: Database,
    source: bytes | Path,
    *,
    file_name: str,
    options: PhoneLogOptions | None = None,
    scope: Scope = LOCAL,
    dry_run: bool = False,
) -> PhoneLogReport:
    """Import one Google Voice Takeout upload (a page, the zip or the folder) as one batch.

    Numbers reach clients only through the phone-number mapping; the report is a phone
    log's (``preset`` ``google_voice``). Raises ``GoogleVoiceError`` (one sentence, nothing
    stored) for an upload that cannot be read.
    """
    scope.require_import()
    options = options or PhoneLogOptions()
    columns = PhoneColumns()
    pages = 0
    for _, page in _pages(source, file_name):
        pages += 1
        _read_page(page, columns)
    if not pages:
        raise GoogleVoiceError(
            f"{file_name} holds no Google Voice pages (Takeout/Voice/Calls/*.html); export "
            "Voice from Google Takeout and upload its zip. Nothing was stored."
        )
    if not columns.kind:
        raise GoogleVoiceError(
            f"{file_name} holds no calls and no texts that could be read; nothing was stored."
        )
    fingerprint = (
        source if not (isinstance(source, Path) and source.is_dir()) else _manifest(source)
    )
    return import_phone_columns(
        db,
        _timed(db, columns),
        "calls and texts",
        source=fingerprint,
        file_name=file_name,
        options=options,
        scope=scope,
        dry_run=dry_run,
        preset=PRESET,
        source_label="Google Voice Takeout",
    )


def import_phone_export(
    db: Database,
    source: bytes | Path,
    *,
    file_name: str,
    options: PhoneLogOptions | None = None,
    scope: Scope = LOCAL,
    dry_run: bool = False,
) -> PhoneLogReport:
    """Import a phone export of either kind: Google Voice Takeout or an SMS Backup &
    Restore log (for the Import page, which shows both the same way)."""
    importer = import_google_voice if is_google_voice(source) else import_phone_log
    return importer(db, source, file_name=file_name, options=options, scope=scope, dry_run=dry_run)


# -- finding the pages -----------------------------------------------------------------


def _head(source: bytes | Path) -> bytes:
    if isinstance(source, bytes):
        return source[:65536]
    with source.open("rb") as stream:
        return stream.read(65536)


def _open_zip(source: bytes | Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)


def _folder_pages(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*.htm*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and _CALLS_FOLDER.search("/" + relative):
            yield path


def _manifest(folder: Path) -> bytes:
    """What identifies a folder upload for the import history: its pages' names and sizes."""
    return "\n".join(
        f"{path.relative_to(folder).as_posix()}\t{path.stat().st_size}"
        for path in _folder_pages(folder)
    ).encode("utf-8")


def _bounded(stream: IO[bytes], name: str, file_name: str, budget: list[int]) -> bytes:
    """A page's bytes, refused when over ``MAX_PAGE_BYTES`` or the upload's budget."""
    data = stream.read(MAX_PAGE_BYTES + 1)
    if len(data) > MAX_PAGE_BYTES:
        _too_large(name, file_name)
    budget[0] -= len(data)
    if budget[0] < 0:
        raise GoogleVoiceError(
            f"{file_name} unpacks to more than {MAX_TOTAL_BYTES // 2**20} MB of pages (a zip "
            "bomb, or not a Takeout of Voice); nothing was stored."
        )
    return data


def _too_large(name: str, file_name: str) -> None:
    raise GoogleVoiceError(
        f"{file_name}: the page {name} is larger than {MAX_PAGE_BYTES // 2**20} MB, which no "
        "Google Voice page is; nothing was stored."
    )


def _pages(source: bytes | Path, file_name: str) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every Google Voice page of the upload, bounded in size and number."""
    budget = [MAX_TOTAL_BYTES]
    if isinstance(source, Path) and source.is_dir():
        paths = list(_folder_pages(source))
        _check_count(len(paths), file_name)
        for path in paths:
            with path.open("rb") as page_file:
                yield path.name, _bounded(page_file, path.name, file_name, budget)
        return
    head = _head(source)
    if not head.startswith(_ZIP_SIGNATURE):
        single: IO[bytes] = io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")
        with single:
            yield file_name, _bounded(single, file_name, file_name, budget)
        return
    try:
        with _open_zip(source) as archive:
            members = [m for m in archive.infolist() if _CALLS_FOLDER.search(m.filename)]
            _check_count(len(members), file_name)
            for member in members:
                if member.file_size > MAX_PAGE_BYTES:
                    _too_large(member.filename, file_name)
                with archive.open(member) as stream:
                    yield (
                        member.filename.rsplit("/", 1)[-1],
                        _bounded(stream, member.filename, file_name, budget),
                    )
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as error:
        raise GoogleVoiceError(
            f"{file_name} is not a readable zip ({error}); download the Takeout again. "
            "Nothing was stored."
        ) from error
    except NotImplementedError as error:  # an unsupported compression method
        raise GoogleVoiceError(
            f"{file_name} uses a zip compression this reader does not know ({error}); "
            "nothing was stored."
        ) from error


def _check_count(count: int, file_name: str) -> None:
    if count > MAX_PAGES:
        raise GoogleVoiceError(
            f"{file_name} holds {count:,} pages, more than the {MAX_PAGES:,} one upload may "
            "hold; export a shorter period. Nothing was stored."
        )


# -- reading one page ------------------------------------------------------------------


@dataclass
class _Message:
    moment: str | None = None
    number: str | None = None
    mine: bool = False
    text: list[str] = field(default_factory=list)


class _PageParser(HTMLParser):
    """Collects what a call page or a text thread says, tag by tag (no tree is built;
    malformed markup reads as far as it goes)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.kind: str | None = None  # 'call' or 'texts'
        self.call_number: str | None = None
        self.published: str | None = None
        self.duration: str | None = None
        self.labels: list[str] = []
        self.group_numbers: list[str] = []
        self.in_participants = False
        self.messages: list[_Message] = []
        self.current: _Message | None = None
        self.in_sender = False
        self.in_quote = False
        self.quoted = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = (values.get("class") or "").split()
        if tag == "div":
            self._division(classes)
        elif tag == "a":
            self._link(classes, values)
        elif tag == "abbr":
            self._abbreviation(classes, values.get("title"))
        elif tag == "cite" and "sender" in classes:
            self.in_sender = self.current is not None
        elif tag == "q" and self.current is not None:
            self.in_quote = True

    def _division(self, classes: list[str]) -> None:
        if "haudio" in classes:
            self.kind = "call"
        elif "hChatLog" in classes:
            self.kind = "texts"
        elif "participants" in classes:
            self.in_participants = True
        elif "message" in classes:
            self.current = _Message()
            self.messages.append(self.current)
            self.in_participants = False

    def _link(self, classes: list[str], values: dict[str, str | None]) -> None:
        href = values.get("href") or ""
        if values.get("rel") == "tag" and "#" in href:
            self.labels.append(href.rsplit("#", 1)[1].lower())
        elif "tel" in classes:
            number = href.removeprefix("tel:").strip() or None
            if self.in_sender and self.current is not None:
                self.current.number = number
            elif self.in_participants and number:
                self.group_numbers.append(number)
            elif self.kind == "call" and self.call_number is None:
                self.call_number = number

    def _abbreviation(self, classes: list[str], title: str | None) -> None:
        if "published" in classes:
            self.published = title
        elif "duration" in classes:
            self.duration = title
        elif "dt" in classes and self.current is not None:
            self.current.moment = title
        elif "fn" in classes and self.in_sender and self.current is not None:
            self.current.mine = True  # the account's own messages: <abbr class="fn">Me

    def handle_endtag(self, tag: str) -> None:
        if tag == "cite":
            self.in_sender = False
        elif tag == "q":
            self.in_quote = False

    def handle_data(self, data: str) -> None:
        if self.in_quote and self.current is not None and self.quoted < MAX_TEXT_CHARS:
            self.current.text.append(data[: MAX_TEXT_CHARS - self.quoted])
            self.quoted += len(data)


def _read_page(page: bytes, columns: PhoneColumns) -> None:
    """Add a page's call or texts to ``columns``, in SMS Backup & Restore's terms (the
    moment and length still as Takeout writes them: ``_timed`` converts them in SQL)."""
    parser = _PageParser()
    parser.feed(page.decode("utf-8", errors="replace"))
    parser.close()
    if parser.kind == "call" and (parser.call_number or parser.published):
        label = next((label for label in parser.labels if label in _CALL_TYPES), None)
        columns.add(
            "call",
            parser.call_number,
            parser.duration,
            parser.published,
            _CALL_TYPES.get(label or "", _UNKNOWN_CALL),
            None,
        )
    elif parser.kind == "texts":
        _add_texts(parser, columns)
    # else: a page cut off before anything of a call could be read, or no Voice page


def _add_texts(parser: _PageParser, columns: PhoneColumns) -> None:
    """A thread's messages: the conversation is the other party's number (all numbers
    joined with ``~`` in a group thread, which the phone log leaves out as a group)."""
    others = {m.number for m in parser.messages if not m.mine and m.number}
    if parser.group_numbers or len(others) > 1:
        number: str | None = "~".join(sorted(set(parser.group_numbers) | others))
    else:
        number = next(iter(others), None)
    for message in parser.messages:
        text = "".join(message.text).strip()
        columns.add(
            "sms",
            number,
            None,
            message.moment,
            "2" if message.mine else "1",
            None if text in _MMS_PLACEHOLDERS else text,
        )


# Takeout's ISO 8601 moments (with their offset) as epoch milliseconds and ISO 8601
# durations (PT1H2M3S, PT22S) as seconds, for the whole upload in one statement.
_TIMED_SQL = """
SELECT CAST(epoch_ms(TRY_CAST(moment AS TIMESTAMPTZ)) AS VARCHAR) AS date,
       CASE WHEN regexp_full_match(duration, 'PT(\\d+H)?(\\d+M)?(\\d+(\\.\\d+)?S)?')
                 AND duration <> 'PT'
            THEN CAST(
                coalesce(TRY_CAST(regexp_extract(duration, '(\\d+)H', 1) AS DOUBLE), 0) * 3600
                + coalesce(TRY_CAST(regexp_extract(duration, '(\\d+)M', 1) AS DOUBLE), 0) * 60
                + coalesce(TRY_CAST(regexp_extract(duration, '([\\d.]+)S', 1) AS DOUBLE), 0)
                AS VARCHAR)
       END AS seconds
FROM google_voice_arrow ORDER BY position
"""


def _timed(db: Database, columns: PhoneColumns) -> PhoneColumns:
    """``columns`` with Takeout's moments and lengths in the phone log's units, in SQL."""
    import pyarrow as pa

    table = pa.table(
        {
            "position": pa.array(range(len(columns.kind)), pa.int64()),
            "moment": pa.array(columns.date, pa.string()),
            "duration": pa.array(columns.duration, pa.string()),
        }
    )
    with db.cursor() as cursor:
        cursor.register("google_voice_arrow", table)
        timed = cursor.execute(_TIMED_SQL).fetchall()
        cursor.unregister("google_voice_arrow")
    dates, seconds = zip(*timed, strict=True) if timed else ((), ())
    columns.date, columns.duration = list(dates), list(seconds)
    return columns
