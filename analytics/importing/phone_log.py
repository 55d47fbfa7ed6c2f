"""Phone and SMS logs from "SMS Backup & Restore": calls and texts as contacts.

The app writes one XML file per kind: ``<calls>`` with ``<call number duration date type
.../>`` (duration in seconds, date in epoch milliseconds, type 1 incoming, 2 outgoing,
3 missed, 4 voicemail, 5 rejected, 6 blocked, 7 answered on another device) and
``<smses>`` with ``<sms address date type body .../>`` (type 1 received, 2 sent, 3 draft,
4 outbox, 5 failed, 6 queued) and ``<mms>`` (``msg_box`` like an SMS's type, the text in
``<part ct="text/plain" text=...>``). Empty values are the string ``null``.

How a log becomes contacts:

* The XML is parsed with ``defusedxml`` (no entity expansion, no DTD, no external
  references: the file comes from outside) as a stream (SAX), element by element; Python
  keeps only the attribute values, as column lists. Everything else happens in DuckDB SQL.
* Calls answered or placed (types 1, 2, 7) with a length become ``phone`` contacts
  (minutes = seconds / 60), with the category chosen at import (default ``other``, for
  review). Texts received or sent become ``text`` contacts counted at the setting
  ``minutes_per_text`` each (default 2 min); their category comes from the keyword rules
  over the body, which is read inside the transaction and dropped, never stored. Incoming
  calls and received texts are client-initiated, outgoing and sent ones therapist-initiated.
* Missed, voicemail, rejected, blocked and zero-length calls, drafts and unsent texts,
  group messages and withheld numbers are left out and counted in the report.
* Numbers are read by libphonenumber (``phone_numbers.read_number``) with the default
  region the user chose for numbers written without a country code; each valid number's
  E.164 form is keyed. Numbers that are not valid (too short, a sender name, national
  with no region chosen...) are listed with the reason and their calls and texts are left
  out, never stored under a guessed number.
* A number becomes a client only through the user's mapping (table ``phone_numbers``:
  a keyed hash of the E.164 number and its last two digits, see
  ``pseudonyms.number_key``). Unmatched numbers are listed with their calls, texts and
  minutes, never guessed, and their contacts are not stored; after the user maps them,
  importing the same file again stores those and adds nothing else. Mappings made before
  schema 8 (keys of an older written form, marked ``legacy``) are re-keyed when the number
  appears again (``phone_numbers.rekey_legacy``).
* Merged backups often hold the same call or text twice: an entry with the same number,
  instant, kind, type, length and body as an earlier one is stored once, and counted as
  already stored.
* One file is one transaction and one batch (``store.store_incoming``, which fingerprints
  contacts), so a re-import adds nothing and the batch can be undone.

The numbers themselves never reach a stored table: they live in temporary tables of the
import's transaction only.

For callers (``contactload import``, the Import page, content detection): recognise a file
with ``is_phone_log(first_bytes)``, then call ``import_phone_log(db, path_or_bytes,
file_name=..., options=PhoneLogOptions(therapist, practice, time_zone, call_category,
region), scope=..., dry_run=...)``. It returns a ``PhoneLogReport`` whose ``to_json``
has the CSV import's keys (file, preset, rows, imported, duplicates, rejected, errors) and
more, and raises ``PhoneLogError`` (a ``ContactLoadError``) for an unreadable file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler

import defusedxml.sax as defused_sax
import duckdb
from defusedxml import DefusedXmlException

if TYPE_CHECKING:
    import pandas as pd

from analytics import audit
from analytics.db import Database
from analytics.domain import CATEGORIES
from analytics.errors import ContactLoadError, InvalidRecordError, PermissionDeniedError
from analytics.filters import ContactFilter
from analytics.importing.classify import MAX_TEXT_CHARS, classify_table
from analytics.importing.phone_numbers import (
    choose_region,
    default_region,
    e164_number,
    legacy_country_code,
    legacy_number_form,
    read_number,
    rekey_legacy,
)
from analytics.importing.pipeline import (
    DEFAULT_MAX_MINUTES,
    DEFAULT_PRACTICE,
    TherapistNeededError,
    check_time_zone,
    file_sha256,
    is_placeholder,
)
from analytics.importing.reader import RowProblem
from analytics.pseudonyms import client_key, load_or_create_secret, number_hint, number_key
from analytics.scope import LOCAL, Scope
from analytics.settings import get_setting
from analytics.store import count_rows, is_erased, record_import, store_incoming

PRESET = "sms_backup_restore"
"""How batches from these files are labelled in the import history."""

LEFT_OUT_REASONS = (
    "missed call",
    "voicemail",
    "rejected call",
    "blocked call",
    "call of unknown type",
    "call of zero length",
    "text not sent (draft, outbox, failed or queued)",
    "group message",
    "withheld or empty number",
    "not a valid phone number",
)
"""Why a call or text is not a contact, in the order the report lists them."""


class PhoneLogError(ContactLoadError):
    """A file that is not a readable SMS Backup & Restore log (one sentence, nothing stored)."""


@dataclass(frozen=True)
class PhoneLogOptions:
    """Whose phone the log comes from and how to read it.

    ``time_zone`` is used when the therapist is new (a known therapist keeps theirs);
    ``call_category`` is given to every call, since a call has no text to classify;
    ``region`` (``IT``, ``DE``...) reads numbers written without a country code, else the
    stored default region; ``country_code`` (``39``) is the older way to say the same and
    stands for its main region (see ``phone_numbers``).
    """

    therapist: str | None = None
    practice: str | None = None
    time_zone: str = "UTC"
    call_category: str = "other"
    country_code: str | None = None
    max_minutes: float = DEFAULT_MAX_MINUTES
    region: str | None = None

    @property
    def therapist_name(self) -> str:
        """The therapist named ("" when none is: an import then refuses the log)."""
        return (self.therapist or "").strip()

    @property
    def practice_name(self) -> str:
        """The practice named, else the default one."""
        return (self.practice or "").strip() or DEFAULT_PRACTICE


@dataclass(frozen=True)
class UnmatchedNumber:
    """A number of the file that no client is mapped to (in its international form, which
    the mapping takes), and what its calls and texts would bring."""

    number: str
    number_hint: str
    calls: int
    texts: int
    minutes: float


@dataclass(frozen=True)
class InvalidNumber:
    """A number of the file that is not a valid phone number, as written, with the reason;
    its calls and texts are left out."""

    number: str
    reason: str
    calls: int
    texts: int


@dataclass
class PhoneLogReport:
    """What importing one log did (or, on a dry run, would do)."""

    file: str
    kind: str
    rows: int
    calls: int
    texts: int
    imported: int
    duplicates: int
    rejected: int
    minutes_per_text: float
    imported_calls: int = 0
    imported_texts: int = 0
    call_minutes: float = 0.0
    text_minutes: float = 0.0
    left_out: dict[str, int] = field(default_factory=dict)
    errors: list[RowProblem] = field(default_factory=list)
    unmatched: list[UnmatchedNumber] = field(default_factory=list)
    invalid: list[InvalidNumber] = field(default_factory=list)
    repeated: int = 0
    """Entries that repeat an earlier one of the same file (merged backups), counted in
    ``duplicates``."""
    region: str | None = None
    rekeyed: int = 0
    """Mappings made before schema 8 that this log's numbers re-keyed to E.164."""
    therapist_id: int | None = None
    batch_id: int | None = None
    dry_run: bool = False
    preview: pd.DataFrame | None = None

    @property
    def preset(self) -> str:
        """The format, as import reports name it."""
        return PRESET

    @property
    def text_note(self) -> str:
        """The sentence every figure with text minutes carries."""
        return f"texts counted at {self.minutes_per_text:g} min each"

    @property
    def left_out_total(self) -> int:
        """Calls and texts that are not contacts (missed, drafts...)."""
        return sum(self.left_out.values())

    def describe(self) -> str:
        """One line on what the file holds."""
        if self.kind == "calls":
            return f"SMS Backup & Restore call log: {self.calls:,} calls"
        return f"SMS Backup & Restore text log: {self.texts:,} texts"

    def describe_import(self) -> str:
        """What the import adds: calls and texts with their minutes."""
        parts = []
        if self.calls:
            parts.append(f"{self.imported_calls:,} calls ({self.call_minutes:,.1f} min)")
        if self.texts:
            parts.append(
                f"{self.imported_texts:,} texts ({self.text_minutes:,.1f} min; {self.text_note})"
            )
        return " and ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """The CLI's ``--json`` shape for one file (the CSV import's keys, and more)."""
        return {
            "file": self.file,
            "preset": PRESET,
            "rows": self.rows,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": [error.to_json() for error in self.errors],
            "calls": self.calls,
            "texts": self.texts,
            "imported_calls": self.imported_calls,
            "imported_texts": self.imported_texts,
            "call_minutes": self.call_minutes,
            "text_minutes": self.text_minutes,
            "minutes_per_text": self.minutes_per_text,
            "left_out": self.left_out,
            "unmatched": [
                {
                    "number": item.number,
                    "calls": item.calls,
                    "texts": item.texts,
                    "minutes": item.minutes,
                }
                for item in self.unmatched
            ],
            "invalid_numbers": [
                {
                    "number": item.number,
                    "reason": item.reason,
                    "calls": item.calls,
                    "texts": item.texts,
                }
                for item in self.invalid
            ],
            "repeated_in_file": self.repeated,
            "region": self.region,
            "mappings_rekeyed": self.rekeyed,
            "batch_id": self.batch_id,
        }

    def unmatched_frame(self) -> pd.DataFrame:
        """The unmatched numbers as a table (number, calls, texts, minutes)."""
        import pandas as pd

        return pd.DataFrame(
            [(u.number, u.calls, u.texts, round(u.minutes, 2)) for u in self.unmatched],
            columns=["number", "calls", "texts", "minutes"],
        )


def is_phone_log(head: bytes) -> bool:
    """Whether a file's first bytes look like an SMS Backup & Restore log.

    For content detection in ``contactload import`` and on the Import page: the root
    element is ``<calls`` or ``<smses``, after the XML declaration and any comments.
    """
    text = head[:4096].decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
    if not text.startswith("<"):
        return False
    return "<calls" in text or "<smses" in text


# -- reading the XML -------------------------------------------------------------------

_MMS_TEXT = "text/plain"


@dataclass
class _Columns:
    """The attribute values of every call and text, as parallel lists (no element kept)."""

    kind: list[str] = field(default_factory=list)
    number: list[str | None] = field(default_factory=list)
    duration: list[str | None] = field(default_factory=list)
    date: list[str | None] = field(default_factory=list)
    type: list[str | None] = field(default_factory=list)
    body: list[str | None] = field(default_factory=list)

    def add(
        self,
        kind: str,
        number: str | None,
        duration: str | None,
        date: str | None,
        type_: str | None,
        body: str | None,
    ) -> None:
        self.kind.append(kind)
        self.number.append(_value(number))
        self.duration.append(_value(duration))
        self.date.append(_value(date))
        self.type.append(_value(type_))
        # Only the start of a body is ever classified (``MAX_TEXT_CHARS``): keep no more.
        self.body.append(_value(body[:MAX_TEXT_CHARS] if body else body))


def _value(text: str | None) -> str | None:
    """An attribute's value, None for the app's ``null`` and for empty ones."""
    if text is None:
        return None
    stripped = text.strip()
    return None if stripped in ("", "null") else text


class _LogHandler(ContentHandler):
    """Collects the attributes of each call, SMS and MMS as they stream past."""

    def __init__(self, file_name: str) -> None:
        super().__init__()
        self.file_name = file_name
        self.columns = _Columns()
        self.root: str | None = None
        self.mms: tuple[str | None, str | None, str | None, list[str]] | None = None

    def startElement(self, name: str, attrs: Any) -> None:
        if self.root is None:
            self.root = name
            if name not in ("calls", "smses"):
                raise PhoneLogError(
                    f"{self.file_name} is XML but not an SMS Backup & Restore log (its root "
                    f"is <{name}>, not <calls> or <smses>); nothing was stored."
                )
        elif name == "call":
            get = attrs.get
            self.columns.add("call", get("number"), get("duration"), get("date"), get("type"), None)
        elif name == "sms":
            get = attrs.get
            self.columns.add("sms", get("address"), None, get("date"), get("type"), get("body"))
        elif name == "mms":
            self.mms = (attrs.get("address"), attrs.get("date"), attrs.get("msg_box"), [])
        elif name == "part" and self.mms is not None and attrs.get("ct") == _MMS_TEXT:
            self.mms[3].append(attrs.get("text") or "")

    def endElement(self, name: str) -> None:
        if name == "mms" and self.mms is not None:
            address, date, box, texts = self.mms
            self.columns.add("mms", address, None, date, box, " ".join(texts))
            self.mms = None


_FEED_BYTES = 16 * 1024 * 1024
"""Bytes handed to the XML parser at a time."""


def _read(source: bytes | Path, file_name: str) -> tuple[str, _Columns]:
    """Parse the log safely as a stream; return its kind and the columns.

    SAX rather than ``iterparse``: both stream, but SAX builds no element objects and
    reads a 100,000-text log in 2.0 s instead of 4.7 s here.
    """
    handler = _LogHandler(file_name)
    try:
        stream = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
        # Fed in large pieces: expat before 2.6 parses a token again from its start with
        # every piece, so one huge body in 64 KiB pieces (the default) took quadratic time.
        parser = defused_sax.make_parser()
        parser.forbid_dtd = True
        parser.setContentHandler(handler)
        with stream:
            piece = stream.read(_FEED_BYTES)
            parser.feed(piece)  # even when empty, so that an empty file is malformed XML
            while piece:
                piece = stream.read(_FEED_BYTES)
                parser.feed(piece)
            parser.close()
    except DefusedXmlException as error:
        raise PhoneLogError(
            f"{file_name} declares a document type or entities, which a phone log never does "
            "and which could make reading it unsafe; nothing was stored."
        ) from error
    except SAXParseException as error:
        raise PhoneLogError(
            f"{file_name} is not well-formed XML (line {error.getLineNumber()}, column "
            f"{error.getColumnNumber()}); export the log again from SMS Backup & Restore. "
            "Nothing was stored."
        ) from error
    except OSError as error:
        raise PhoneLogError(
            f"{file_name} could not be read ({error}); nothing was stored."
        ) from error
    if handler.root is None:
        raise PhoneLogError(f"{file_name} holds no XML; nothing was stored.")
    if not handler.columns.kind:
        raise PhoneLogError(f"{file_name} holds no calls and no texts; nothing was stored.")
    return ("calls" if handler.root == "calls" else "texts"), handler.columns


# -- SQL over the staged columns -------------------------------------------------------

# One row per call or text: what it is, when, how long, who started it, and why it is left
# out (NULL when it is a contact). The body is only read by the classification before,
# and here as a digest: ``repeated`` marks an entry identical to an earlier one of the
# file (same number, instant, kind, type, length and body), as merged backups hold.
_PARSED_SQL = """
CREATE OR REPLACE TEMP TABLE phone_parsed AS
WITH typed AS (
    SELECT r.row_number, r.kind, r.number,
           TRY_CAST(r.date AS BIGINT) AS epoch_ms,
           TRY_CAST(r.duration AS DOUBLE) AS seconds,
           TRY_CAST(r.type AS INTEGER) AS type,
           contains(coalesce(r.number, ''), '~') AS group_message,
           k.number_key, k.number_hint, k.shown, k.invalid_reason,
           md5(coalesce(r.body, '')) AS body_digest,
           coalesce(c.category, 'other') AS text_category
    FROM phone_rows AS r
    LEFT JOIN phone_keys AS k USING (number)
    LEFT JOIN phone_classes AS c USING (row_number)
)
SELECT row_number, kind, number_key, number_hint, shown, invalid_reason,
       row_number() OVER (
           PARTITION BY kind, coalesce(number_key, number), epoch_ms, seconds, type,
                        body_digest
           ORDER BY row_number
       ) > 1 AS repeated,
       CASE WHEN kind = 'call' THEN 'phone' ELSE 'text' END AS channel,
       CASE WHEN epoch_ms BETWEEN 0 AND 4102444800000
            THEN timezone('UTC', make_timestamp(epoch_ms * 1000)) END AS started_at,
       CASE WHEN kind = 'call' THEN seconds / 60 ELSE $minutes_per_text END AS minutes,
       CASE WHEN kind = 'call' THEN $call_category ELSE text_category END AS category,
       CASE WHEN type IN (1, 7) THEN 'client' WHEN type = 2 THEN 'therapist'
            ELSE 'unknown' END AS direction,
       CASE
           WHEN epoch_ms IS NULL OR NOT epoch_ms BETWEEN 0 AND 4102444800000
               THEN 'The date could not be read (epoch milliseconds expected).'
           WHEN kind = 'call' AND type IN (1, 2, 7) AND seconds IS NULL
               THEN 'The call''s duration could not be read (seconds expected).'
           WHEN kind = 'call' AND type IN (1, 2, 7) AND seconds < 0
               THEN 'The call''s duration is negative.'
           WHEN kind = 'call' AND type IN (1, 2, 7) AND seconds / 60 > $max_minutes
               THEN 'The call of ' || round(seconds / 60, 1) || ' minutes is over the '
                    || $max_label || '-minute maximum.'
       END AS problem,
       CASE
           WHEN kind = 'call' AND type = 3 THEN 'missed call'
           WHEN kind = 'call' AND type = 4 THEN 'voicemail'
           WHEN kind = 'call' AND type = 5 THEN 'rejected call'
           WHEN kind = 'call' AND type = 6 THEN 'blocked call'
           WHEN kind = 'call' AND (type IS NULL OR type NOT IN (1, 2, 7))
               THEN 'call of unknown type'
           WHEN kind = 'call' AND seconds = 0 THEN 'call of zero length'
           WHEN kind <> 'call' AND (type IS NULL OR type NOT IN (1, 2))
               THEN 'text not sent (draft, outbox, failed or queued)'
           WHEN group_message THEN 'group message'
           WHEN invalid_reason IS NOT NULL THEN 'not a valid phone number'
           WHEN number_key IS NULL THEN 'withheld or empty number'
       END AS left_out
FROM typed
"""

# Candidate contacts (readable, not left out) with the client their number is mapped to,
# if any, for this therapist.
_MATCHED_SQL = """
CREATE OR REPLACE TEMP TABLE phone_matched AS
SELECT p.*, m.client_id, cl.label AS client_label
FROM phone_parsed AS p
LEFT JOIN phone_numbers AS m ON m.therapist_id = ? AND m.number_key = p.number_key
LEFT JOIN clients AS cl ON cl.client_id = m.client_id
WHERE p.problem IS NULL AND p.left_out IS NULL
"""

# The canonical shape ``store.store_incoming`` takes. A text already stored for the same
# therapist, client and instant is left out here, so a re-import after the minutes per
# text changed still adds nothing (its fingerprint, which includes the minutes, would
# differ).
_INCOMING_SQL = """
CREATE OR REPLACE TEMP TABLE incoming AS
SELECT $practice AS practice, $therapist AS therapist, $time_zone AS time_zone,
       m.client_label AS client, m.started_at, m.minutes, m.channel, m.category,
       m.direction, true AS time_known, m.row_number
FROM phone_matched AS m
WHERE m.client_id IS NOT NULL AND NOT m.repeated
  AND NOT (m.channel = 'text' AND EXISTS (
      SELECT 1 FROM contacts AS e
      WHERE e.therapist_id = $therapist_id AND e.client_id = m.client_id
        AND e.started_at = m.started_at AND e.channel = 'text'
  ))
ORDER BY m.row_number
"""


def import_phone_log(
    db: Database,
    source: bytes | Path,
    *,
    file_name: str,
    options: PhoneLogOptions | None = None,
    scope: Scope = LOCAL,
    dry_run: bool = False,
) -> PhoneLogReport:
    """Import one SMS Backup & Restore XML log (calls or texts) as one batch.

    ``source`` is the file's bytes or path, ``file_name`` the name reports use. Calls and
    texts from numbers mapped to a client of ``options.therapist`` are stored; unmatched
    numbers are listed in the report. ``dry_run`` reports without storing. Raises
    ``PhoneLogError`` (one sentence, nothing stored) for a file that cannot be read.
    """
    scope.require_import()
    options = options or PhoneLogOptions()
    if options.call_category not in CATEGORIES:
        raise InvalidRecordError(
            f"Unknown category {options.call_category!r} for calls; use one of "
            f"{', '.join(CATEGORIES)}."
        )
    region = choose_region(options.region, options.country_code) or default_region(db)
    options = replace(options, region=region)
    kind, columns = _read(source, file_name)
    minutes_per_text = get_setting(db, "minutes_per_text")
    secret = load_or_create_secret(db.path)
    with db.transaction(rollback=dry_run) as cursor:
        report = _import(
            cursor, db, scope, columns, kind, source, file_name, options, minutes_per_text, secret
        )
        if report.rekeyed:
            audit.record(
                cursor,
                scope,
                "settings",
                f"{report.rekeyed} phone-number mapping(s) re-keyed to E.164 from {file_name}",
            )
        report.dry_run = dry_run
        if dry_run:
            report.batch_id = None
        elif report.batch_id is not None:  # a stored batch is audited like every import
            record_import(cursor, scope, file_name, report.batch_id, report.imported)
    return report


def _import(
    cursor: duckdb.DuckDBPyConnection,
    db: Database,
    scope: Scope,
    columns: _Columns,
    kind: str,
    source: bytes | Path,
    file_name: str,
    options: PhoneLogOptions,
    minutes_per_text: float,
    secret: bytes,
) -> PhoneLogReport:
    check_time_zone(cursor, options.time_zone)
    _stage(cursor, columns, options, secret)
    del columns  # the bodies now live only in the staged table, dropped below
    classify_table(cursor, "phone_rows", "body", "phone_classes")
    cursor.execute(
        _PARSED_SQL,
        {
            "minutes_per_text": minutes_per_text,
            "call_category": options.call_category,
            "max_minutes": options.max_minutes,
            "max_label": f"{options.max_minutes:g}",
        },
    )
    # The file's text (bodies, numbers) is gone; keys, hints and shown numbers remain in
    # temporary tables until the end of the transaction.
    cursor.execute("DROP TABLE phone_rows")
    cursor.execute("DROP TABLE phone_classes")
    if is_placeholder(options.therapist):  # a phone log never names whose phone it is
        raise TherapistNeededError(
            file_name,
            count_rows(cursor, "SELECT count(*) FROM phone_parsed"),
            "no therapist",
            what="calls and texts",
            noun=("entry", "entries"),
        )
    therapist_id, zone = _therapist(cursor, scope, options)
    rekeyed = rekey_legacy(cursor, therapist_id) if therapist_id is not None else 0
    cursor.execute(_MATCHED_SQL, [therapist_id])
    report = PhoneLogReport(
        file=file_name,
        kind=kind,
        rows=count_rows(cursor, "SELECT count(*) FROM phone_parsed"),
        calls=count_rows(cursor, "SELECT count(*) FROM phone_parsed WHERE kind = 'call'"),
        texts=count_rows(cursor, "SELECT count(*) FROM phone_parsed WHERE kind <> 'call'"),
        imported=0,
        duplicates=0,
        rejected=0,
        minutes_per_text=minutes_per_text,
        therapist_id=therapist_id,
        region=options.region,
        rekeyed=rekeyed,
    )
    report.errors = _problems(cursor)
    report.rejected = len(report.errors)
    report.left_out = _left_out(cursor)
    report.unmatched = _unmatched(cursor)
    report.invalid = _invalid(cursor)
    cursor.execute(
        _INCOMING_SQL,
        {
            "practice": options.practice_name,
            "therapist": options.therapist_name,
            "time_zone": zone or options.time_zone,
            "therapist_id": therapist_id,
        },
    )
    staged = count_rows(cursor, "SELECT count(*) FROM incoming")
    matched = count_rows(
        cursor, "SELECT count(*) FROM phone_matched WHERE client_id IS NOT NULL AND NOT repeated"
    )
    report.repeated = count_rows(
        cursor, "SELECT count(*) FROM phone_matched WHERE client_id IS NOT NULL AND repeated"
    )
    texts_already = matched - staged + report.repeated
    report.preview = _preview(cursor)
    (
        report.imported_calls,
        report.imported_texts,
        report.call_minutes,
        report.text_minutes,
    ) = _stored_figures(cursor, "incoming")
    if staged:
        stored = store_incoming(
            cursor,
            db,
            source="phone_log",
            file_name=file_name,
            sha256=file_sha256(source),
            preset=PRESET,
            rows_read=report.rows,
            rows_rejected=report.rejected,
        )
        report.batch_id = stored.batch_id
        report.imported = stored.contacts
        report.duplicates = stored.duplicates + texts_already
        cursor.execute(
            "UPDATE import_batches SET rows_duplicate = ? WHERE batch_id = ?",
            [report.duplicates, stored.batch_id],
        )
        if stored.duplicates:
            # Figures describe what this import adds, so recount over the new batch only.
            (
                report.imported_calls,
                report.imported_texts,
                report.call_minutes,
                report.text_minutes,
            ) = _batch_figures(cursor, stored.batch_id)
    else:
        cursor.execute("DROP TABLE incoming")
        report.duplicates = texts_already
        report.imported_calls = report.imported_texts = 0
        report.call_minutes = report.text_minutes = 0.0
    for table in ("phone_keys", "phone_parsed", "phone_matched"):
        cursor.execute(f"DROP TABLE {table}")
    return report


def _stage(
    cursor: duckdb.DuckDBPyConnection, columns: _Columns, options: PhoneLogOptions, secret: bytes
) -> None:
    """Stage the columns as ``phone_rows`` and key each distinct number once, in
    ``phone_keys`` (number as written, its key, hint and the form shown to the user)."""
    import pyarrow as pa

    table = pa.table(
        {
            "row_number": pa.array(range(1, len(columns.kind) + 1), pa.int64()),
            "kind": pa.array(columns.kind, pa.string()),
            "number": pa.array(columns.number, pa.string()),
            "duration": pa.array(columns.duration, pa.string()),
            "date": pa.array(columns.date, pa.string()),
            "type": pa.array(columns.type, pa.string()),
            "body": pa.array(columns.body, pa.string()),
        }
    )
    cursor.register("phone_arrow", table)
    cursor.execute("CREATE OR REPLACE TEMP TABLE phone_rows AS SELECT * FROM phone_arrow")
    cursor.unregister("phone_arrow")
    distinct = [
        number
        for (number,) in cursor.execute(
            "SELECT DISTINCT number FROM phone_rows WHERE number IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    # Older keys were made from another written form, with the country code of that time
    # (the one given, else the region's): computed only to find and re-key them.
    legacy_code = legacy_country_code(options.region, options.country_code)
    keyed: list[tuple[str, str | None, str | None, str, str | None, str | None]] = []
    for number in distinct:  # distinct numbers: a few hundred, not contacts
        if "~" in number:
            continue
        read = read_number(number, options.region)
        legacy = legacy_number_form(number, legacy_code)
        legacy_key = number_key(secret, legacy) if legacy else None
        if read.e164 is not None:
            keyed.append(
                (
                    number,
                    number_key(secret, read.e164),
                    number_hint(read.e164),
                    read.e164,
                    None,
                    legacy_key,
                )
            )
        elif read.reason is not None:
            keyed.append((number, None, None, number.strip(), read.reason, None))
    cursor.execute(
        """
        CREATE OR REPLACE TEMP TABLE phone_keys AS
        SELECT unnest(?::VARCHAR[]) AS number, unnest(?::VARCHAR[]) AS number_key,
               unnest(?::VARCHAR[]) AS number_hint, unnest(?::VARCHAR[]) AS shown,
               unnest(?::VARCHAR[]) AS invalid_reason, unnest(?::VARCHAR[]) AS legacy_key
        """,
        [[row[i] for row in keyed] for i in range(6)],
    )


def _therapist(
    cursor: duckdb.DuckDBPyConnection, scope: Scope, options: PhoneLogOptions
) -> tuple[int | None, str | None]:
    """The stored therapist the log belongs to and their zone (None while new)."""
    scope_sql, scope_params = scope.where("t")
    row = cursor.execute(
        f"""
        SELECT t.therapist_id, t.time_zone
        FROM therapists AS t JOIN practices AS p USING (practice_id)
        WHERE p.name = ? AND t.name = ? AND {scope_sql}
        """,  # noqa: S608 - the scope's clause is fixed text with parameters
        [options.practice_name, options.therapist_name, *scope_params],
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else (None, None)


def _problems(cursor: duckdb.DuckDBPyConnection) -> list[RowProblem]:
    rows = cursor.execute(
        """
        SELECT row_number, CASE WHEN problem LIKE 'The date%' THEN 'date'
                                ELSE 'duration' END, problem
        FROM phone_parsed WHERE problem IS NOT NULL ORDER BY row_number
        """
    ).fetchall()
    return [RowProblem(row=int(row), column=column, message=text) for row, column, text in rows]


def _left_out(cursor: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = dict(
        cursor.execute(
            "SELECT left_out, count(*) FROM phone_parsed "
            "WHERE problem IS NULL AND left_out IS NOT NULL GROUP BY left_out"
        ).fetchall()
    )
    return {reason: int(rows[reason]) for reason in LEFT_OUT_REASONS if reason in rows}


def _unmatched(cursor: duckdb.DuckDBPyConnection) -> list[UnmatchedNumber]:
    rows = cursor.execute(
        """
        SELECT min(shown), any_value(number_hint),
               count(*) FILTER (WHERE channel = 'phone'),
               count(*) FILTER (WHERE channel = 'text'), sum(minutes)
        FROM phone_matched WHERE client_id IS NULL AND NOT repeated
        GROUP BY number_key
        ORDER BY sum(minutes) DESC, min(shown)
        """
    ).fetchall()
    return [
        UnmatchedNumber(str(shown), str(hint), int(calls), int(texts), float(minutes))
        for shown, hint, calls, texts, minutes in rows
    ]


def _invalid(cursor: duckdb.DuckDBPyConnection) -> list[InvalidNumber]:
    """Numbers that are not valid, as written, with the reason and their entries."""
    rows = cursor.execute(
        """
        SELECT shown, any_value(invalid_reason), count(*) FILTER (WHERE channel = 'phone'),
               count(*) FILTER (WHERE channel = 'text')
        FROM phone_parsed
        WHERE problem IS NULL AND left_out = 'not a valid phone number'
        GROUP BY shown ORDER BY count(*) DESC, shown
        """
    ).fetchall()
    return [
        InvalidNumber(str(shown), str(reason), int(calls), int(texts))
        for shown, reason, calls, texts in rows
    ]


_FIGURES_SQL = """
SELECT count(*) FILTER (WHERE channel = 'phone'), count(*) FILTER (WHERE channel = 'text'),
       coalesce(sum(minutes) FILTER (WHERE channel = 'phone'), 0),
       coalesce(sum(minutes) FILTER (WHERE channel = 'text'), 0)
FROM {table}
"""


def _stored_figures(cursor: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int, float, float]:
    row = cursor.execute(_FIGURES_SQL.format(table=table)).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), float(row[2]), float(row[3])


def _batch_figures(
    cursor: duckdb.DuckDBPyConnection, batch_id: int
) -> tuple[int, int, float, float]:
    row = cursor.execute(
        _FIGURES_SQL.format(table="contacts") + " WHERE batch_id = ?", [batch_id]
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), float(row[2]), float(row[3])


def _preview(cursor: duckdb.DuckDBPyConnection, rows: int = 20) -> pd.DataFrame:
    """The first contacts as they will be stored (no number, no body)."""
    return cursor.execute(
        """
        SELECT row_number AS "row", client, timezone(time_zone, started_at) AS local_start,
               time_zone, round(minutes, 4) AS minutes, channel, category, direction
        FROM incoming ORDER BY row_number LIMIT ?
        """,
        [rows],
    ).df()


# -- the mapping of numbers to clients -------------------------------------------------


@dataclass(frozen=True)
class PhoneMapping:
    """One stored mapping: the therapist, the number's hint, and the client it names."""

    therapist_id: int
    number_hint: str
    client_id: int
    client_key: str
    created_client: bool = False


def map_number(
    db: Database,
    scope: Scope,
    therapist: int | str,
    number: str,
    client_label: str,
    *,
    practice: str | None = None,
    time_zone: str | None = None,
    country_code: str | None = None,
    region: str | None = None,
) -> PhoneMapping:
    """Map ``number`` (as written anywhere) to a client of ``therapist``, for later imports.

    ``therapist`` is an id or a name (with ``practice`` where names repeat); a therapist
    not stored yet is created when ``time_zone`` is given (importers only). A national
    number is read with ``region`` (or the region of ``country_code``, else the stored
    default); a number that is not valid is refused with the reason. The client is
    found by its label in the therapist's practice, or created with the same keyed hash
    imports use. A number mapped before is mapped anew (a mapping of its pre-schema-8 form
    too). Only the number's keyed hash and last two digits are stored. Admins (and local
    mode) map for anyone, therapists their own numbers.
    """
    if not client_label.strip():
        raise InvalidRecordError("Name the client this number belongs to.")
    keys = _keys(db, number, region, country_code)
    normalised = keys[0]
    secret = keys[2]
    with db.transaction() as cursor:
        therapist_id, client_id, key, created = mapped_client(
            cursor, scope, therapist, client_label, secret,
            practice=practice, time_zone=time_zone, what="number",
        )  # fmt: skip
        hint = number_hint(normalised)
        cursor.execute(
            "DELETE FROM phone_numbers WHERE therapist_id = ? AND key_form = 'legacy' "
            "AND number_key = ?",
            [therapist_id, keys[1]],
        )
        cursor.execute(
            """
            INSERT OR REPLACE INTO phone_numbers
                (therapist_id, number_key, number_hint, client_id, key_form)
            VALUES (?, ?, ?, ?, 'e164')
            """,
            [therapist_id, number_key(secret, normalised), hint, client_id],
        )
        audit.record(
            cursor, scope, "settings", f"phone number ending {hint} mapped to client {key}"
        )
    return PhoneMapping(therapist_id, hint, client_id, key, created)


def unmap_number(
    db: Database,
    scope: Scope,
    therapist: int | str,
    number: str,
    *,
    practice: str | None = None,
    country_code: str | None = None,
    region: str | None = None,
) -> bool:
    """Forget the mapping of ``number`` for ``therapist`` (its pre-schema-8 one too); True
    if there was one. Contacts already imported from it stay (undo their batch to remove
    them).
    """
    normalised, legacy_key, secret = _keys(db, number, region, country_code)
    with db.transaction() as cursor:
        therapist_id, _, _ = _resolve_therapist(cursor, scope, therapist, practice, None)
        scope.require_boundary_edit(therapist_id)
        removed = cursor.execute(
            "DELETE FROM phone_numbers WHERE therapist_id = ? "
            "AND (number_key = ? OR (key_form = 'legacy' AND number_key = ?)) RETURNING 1",
            [therapist_id, number_key(secret, normalised), legacy_key],
        ).fetchall()
        if removed:
            audit.record(
                cursor, scope, "settings", f"phone number ending {number_hint(normalised)} unmapped"
            )
    return bool(removed)


def list_mappings(db: Database, scope: Scope, therapist_id: int | None = None) -> pd.DataFrame:
    """Every mapping the viewer may see: therapist, number hint, client and the calls and
    texts stored for that client (from any number), newest first. ``legacy`` marks a
    mapping made before schema 8 (keyed from an older written form): it is re-keyed when
    a log holding the number is imported, or when the number is mapped again.

    The client is its label where the viewer may see labels, else its pseudonymous key.
    """
    therapist_sql, therapist_params = scope.where("t")
    # clients listed under the scope or met by a therapist in it (a colleague's client one
    # stood in for), like every reader of clients
    client_sql, client_params = scope.client_where("cl")
    contact_sql, contact_params = scope.where("c")
    client_column = scope.client_name("cl")
    only = "TRUE" if therapist_id is None else "m.therapist_id = ?"
    return db.frame(
        f"""
        WITH counts AS (
            SELECT c.therapist_id, c.client_id, count(*) AS contacts,
                   sum(c.minutes) AS minutes
            FROM contacts AS c
            WHERE c.channel IN ('phone', 'text') AND {contact_sql}
            GROUP BY ALL
        )
        SELECT t.name AS therapist, p.name AS practice, m.number_hint,
               {client_column} AS client, cl.client_key,
               coalesce(n.contacts, 0) AS contacts, coalesce(n.minutes, 0) AS minutes,
               m.created_at, m.key_form = 'legacy' AS legacy
        FROM phone_numbers AS m
        JOIN therapists AS t USING (therapist_id)
        JOIN practices AS p ON p.practice_id = t.practice_id
        JOIN clients AS cl ON cl.client_id = m.client_id
        LEFT JOIN counts AS n ON n.therapist_id = m.therapist_id AND n.client_id = m.client_id
        WHERE {therapist_sql} AND {client_sql} AND {only}
        ORDER BY m.created_at DESC, t.name, m.number_hint
        """,  # noqa: S608 - fixed clauses and allow-listed columns; values are parameters
        [
            *contact_params,
            *therapist_params,
            *client_params,
            *([] if therapist_id is None else [therapist_id]),
        ],
    )


def mapped_client(
    cursor: duckdb.DuckDBPyConnection,
    scope: Scope,
    therapist: int | str,
    client_label: str,
    secret: bytes,
    *,
    practice: str | None = None,
    time_zone: str | None = None,
    what: str = "number",
) -> tuple[int, int, str, bool]:
    """(therapist_id, client_id, client key, created) for a mapping of ``what`` (a number,
    an address, a chat) to the client labelled ``client_label`` of ``therapist``, inside
    the caller's transaction: the therapist is resolved (created when new and
    ``time_zone`` is given), the viewer must be allowed to edit them, and the client is
    found by its keyed label in the practice or created; erased clients are refused."""
    label = client_label.strip()
    if not label:
        raise InvalidRecordError(f"Name the client this {what} belongs to.")
    therapist_id, practice_id, practice_name = _resolve_therapist(
        cursor, scope, therapist, practice, time_zone
    )
    scope.require_boundary_edit(therapist_id)
    key = client_key(secret, practice_name, label)
    if is_erased(cursor, secret, key):
        raise InvalidRecordError(
            f"The client {label} of {practice_name} was erased; an erased client is never "
            f"stored again, so no {what} is mapped to them."
        )
    client_sql, client_params = scope.where("cl")
    row = cursor.execute(
        f"SELECT cl.client_id, {client_sql} FROM clients AS cl WHERE cl.client_key = ?",  # noqa: S608 - the scope's fixed clause
        [*client_params, key],
    ).fetchone()
    if row is not None and not row[1]:
        # The same label in the practice is one client (keyed like imports), and it
        # belongs to someone this viewer may not see.
        raise PermissionDeniedError(
            f"A client called {label} already belongs to another therapist of "
            f"{practice_name}; choose another label or ask an admin."
        )
    created = row is None
    if row is None:
        row = cursor.execute(
            "INSERT INTO clients (client_key, label, practice_id, therapist_id) "
            "VALUES (?, ?, ?, ?) RETURNING client_id",
            [key, label, practice_id, therapist_id],
        ).fetchone()
        assert row is not None
    return therapist_id, int(row[0]), key, created


def resolve_therapist(
    cursor: duckdb.DuckDBPyConnection, scope: Scope, therapist: int | str, practice: str | None
) -> int:
    """The id of a stored therapist named by id or name (one sentence when there is none),
    for mappings of numbers, addresses and chats."""
    return _resolve_therapist(cursor, scope, therapist, practice, None)[0]


def _keys(
    db: Database, number: str, region: str | None, country_code: str | None
) -> tuple[str, str | None, bytes]:
    """A typed number's E.164 form (or one sentence why it is not valid), the key its
    pre-schema-8 form had, and the installation secret."""
    chosen = choose_region(region, country_code) or default_region(db)
    e164 = e164_number(number, chosen).e164
    assert e164 is not None  # e164_number raises for every number without one
    secret = load_or_create_secret(db.path)
    legacy = legacy_number_form(number, legacy_country_code(chosen, country_code))
    return e164, (number_key(secret, legacy) if legacy else None), secret


def _resolve_therapist(
    cursor: duckdb.DuckDBPyConnection,
    scope: Scope,
    therapist: int | str,
    practice: str | None,
    time_zone: str | None,
) -> tuple[int, int, str]:
    """(therapist_id, practice_id, practice name) of a therapist named by id or name,
    created when new and ``time_zone`` is given (by those who may import)."""
    if isinstance(therapist, int):
        row = cursor.execute(
            "SELECT t.therapist_id, t.practice_id, p.name FROM therapists AS t "
            "JOIN practices AS p USING (practice_id) WHERE t.therapist_id = ?",
            [therapist],
        ).fetchone()
        if row is None:
            _refuse_unknown(scope)
            raise InvalidRecordError(f"There is no therapist {therapist}.")
        return int(row[0]), int(row[1]), str(row[2])
    name = therapist.strip()
    if is_placeholder(name):
        raise InvalidRecordError(
            "Name the therapist whose phone this is with --therapist NAME"
            + (f" ('{name}' names nobody)." if name else ".")
        )
    rows = cursor.execute(
        "SELECT t.therapist_id, t.practice_id, p.name FROM therapists AS t "
        "JOIN practices AS p USING (practice_id) "
        "WHERE t.name = ? AND (? IS NULL OR p.name = ?) ORDER BY p.name",
        [name, practice, practice],
    ).fetchall()
    if len(rows) > 1:
        practices = ", ".join(str(row[2]) for row in rows)
        raise InvalidRecordError(
            f"There are therapists called {name} in {practices}; name the practice too."
        )
    if rows:
        return int(rows[0][0]), int(rows[0][1]), str(rows[0][2])
    _refuse_unknown(scope)
    if time_zone is None:
        where = f" in {practice}" if practice else ""
        raise InvalidRecordError(
            f"There is no therapist {name}{where}; import a log for them first."
        )
    check_time_zone(cursor, time_zone)
    practice_name = (practice or "").strip() or DEFAULT_PRACTICE
    cursor.execute(
        "INSERT INTO practices (name) SELECT ? WHERE ? NOT IN (SELECT name FROM practices)",
        [practice_name, practice_name],
    )
    row = cursor.execute(
        "INSERT INTO therapists (practice_id, name, time_zone) "
        "SELECT practice_id, ?, ? FROM practices WHERE name = ? "
        "RETURNING therapist_id, practice_id",
        [name, time_zone, practice_name],
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), practice_name


def _refuse_unknown(scope: Scope) -> None:
    """Refuse a viewer who may not add therapists the way a therapist outside their scope
    is refused, so that which therapists exist is not learnt from the answer."""
    if not scope.may_import:
        scope.require_boundary_edit(therapist_id=0)  # no therapist has id 0: refused


def text_minutes_in_use(db: Database, filters: ContactFilter) -> list[float]:
    """The minutes per text that the phone-log texts among ``filters``' contacts were
    counted at (one value unless the setting changed between imports), for the note
    "texts counted at N min each" beside every figure that includes them."""
    where, params = filters.where("c")
    rows = db.frame(
        f"""
        SELECT DISTINCT c.minutes FROM contacts AS c
        WHERE c.channel = 'text'
          AND c.batch_id IN (SELECT batch_id FROM import_batches WHERE preset = ?)
          AND {where}
        ORDER BY 1
        """,  # noqa: S608 - the filter's clause is fixed text with parameters
        [PRESET, *params],
    )
    return [float(value) for value in rows["minutes"]]


def text_minutes_note(values: list[float]) -> str | None:
    """ "texts counted at 2 min each" (or "at 1.5 or 2 min each"); None without such texts."""
    if not values:
        return None
    shown = " or ".join(f"{value:g}" for value in values)
    return f"texts from phone logs counted at {shown} min each"
