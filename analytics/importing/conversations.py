"""Written conversations (e-mail, chat exports) as contacts: what ``mail`` and ``whatsapp``
share once a file is read.

A reader hands each message to a ``MessageStage``: when it was sent, its thread, who sent
it and to whom (addresses or chat names, keyed here at once), its word count, the start of
its text and, when it is no contact at all, why (a mailing list, a system line...). The
stage writes them to a temporary DuckDB table in chunks, so a huge mailbox never sits in
Python whole. Then everything happens in SQL, in one transaction per file:

* the texts are classified by the keyword rules (``classify.classify_table``) and dropped;
* a message belongs to a client only through the user's mapping (``addresses``: a keyed
  hash of the normalised address or chat name; a chat partner shown as a phone number
  matches ``phone_numbers``). A
  message from a mapped address is the client's (direction ``client``); one to a mapped
  address the therapist's (direction ``therapist``; the first mapped recipient, To before
  Cc, when there are several);
* messages of one thread and client closer than the setting ``conversation_gap_minutes``
  are one contact, started by whoever wrote its first message; its minutes are the sum of
  its messages' minutes (``message_minutes_sql``: a flat setting per message today, the
  seam where a model from word counts plugs in); its category is its first classified
  message's, else ``other``;
* unmatched addresses are listed (never stored) with their messages; contacts already
  stored for the same therapist, client, start and channel are not stored again, so a
  file imported twice adds nothing.

Addresses, names, subjects and texts live only in temporary tables of the transaction.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import pandas as pd

from analytics.access.scope import LOCAL, Scope
from analytics.errors import ContactLoadError
from analytics.importing.addresses import MARKS, AddressKind, address_key, party_key
from analytics.importing.classify import MAX_TEXT_CHARS, classify_table
from analytics.importing.limits import max_upload_bytes
from analytics.importing.parsing import DateOrder, date_sql, file_date_order, time_sql
from analytics.importing.person_names import is_placeholder
from analytics.importing.pipeline import (
    DEFAULT_PRACTICE,
    TherapistNeededError,
    check_time_zone,
    file_sha256,
)
from analytics.importing.reader import RowProblem
from analytics.storage.database import Database
from analytics.storage.pseudonyms import load_or_create_secret
from analytics.storage.settings import get_setting
from analytics.storage.sql import execute, query
from analytics.storage.store import count_rows, record_import, store_incoming

MAX_MESSAGE_BYTES = 2 * 1024 * 1024
"""Most bytes of one message read (its headers and the start of its text); attachments
beyond are skipped, never unpacked."""

ZIP_EXPANSION = 5
"""How many times the upload limit the members read from a zip may unpack to, together
(like workbooks): a small zip that would unpack to gigabytes is refused."""

_CHUNK = 5_000
"""Messages written to the staged table at a time."""

_CHUNK_CHARS = 4 * 1024 * 1024
"""Characters of text held in Python before they are written to the staged table."""


class MessageFileError(ContactLoadError):
    """A mailbox or chat export that cannot be read (one sentence, nothing stored)."""


# -- reading zips safely ---------------------------------------------------------------


def zip_members(
    source: bytes | Path, file_name: str, wanted: Callable[[str], bool], limit: int
) -> Iterator[tuple[str, bytes]]:
    """The members of a zip whose names ``wanted`` accepts, as (name, first ``limit`` + 1
    bytes: more than ``limit`` means cut); refused in one sentence when they would unpack
    to more than ``ZIP_EXPANSION`` upload limits together."""
    cap = ZIP_EXPANSION * max_upload_bytes()
    try:
        with _open_zip(source) as archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            chosen = [info for info in members if wanted(info.filename)]
            if sum(info.file_size for info in chosen) > cap:
                raise MessageFileError(
                    f"{file_name} would unpack to more than {cap / 1024 / 1024:,.0f} MB; "
                    "nothing was stored (a zip that small cannot hold that much mail or "
                    "chat text honestly)."
                )
            read = 0
            for info in chosen:
                with archive.open(info) as member:
                    data = member.read(min(cap - read, limit) + 1)
                read += len(data)
                if read > cap:
                    raise MessageFileError(
                        f"{file_name} unpacks to more than its members declare; nothing was stored."
                    )
                yield info.filename, data
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as error:
        raise MessageFileError(
            f"{file_name} is not a readable zip archive ({error}); nothing was stored."
        ) from error
    except (OSError, RuntimeError) as error:  # zlib errors, encrypted members
        raise MessageFileError(
            f"{file_name} could not be unpacked ({error}); nothing was stored."
        ) from error


def _open_zip(source: bytes | Path) -> zipfile.ZipFile:
    import io

    return zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)


def zip_names(source: bytes | Path) -> list[str]:
    """The member names of a zip (empty when it is not a readable zip)."""
    try:
        with _open_zip(source) as archive:
            return [info.filename for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError):
        return []


def open_source(source: bytes | Path) -> IO[bytes]:
    """A binary stream over the file's bytes or path."""
    import io

    return io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")


# -- the staged messages ---------------------------------------------------------------


def valid_text(text: str) -> str:
    """``text`` with undecodable bytes (kept by the parsers as lone surrogates) replaced,
    so that it can be keyed and staged."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def _valid(text: str | None) -> str | None:
    return None if text is None else valid_text(text)


@dataclass
class MessageStage:
    """Messages as they are read, written to ``message_rows`` in chunks (see module)."""

    cursor: duckdb.DuckDBPyConnection
    secret: bytes
    kind: AddressKind
    rows: int = 0
    parties: dict[str, str] = field(default_factory=dict)
    """Each distinct address or name met, by key, as the user will see it."""
    _keys: dict[str, str] = field(default_factory=dict)
    _pending: dict[str, list[Any]] = field(default_factory=dict)
    _pending_chars: int = 0

    _COLUMNS = (
        "row_number", "thread", "message_id", "sent_at", "date_text", "time_text",
        "from_key", "to_keys", "words", "body", "left_out", "problem",
    )  # fmt: skip

    def __post_init__(self) -> None:
        self.cursor.execute(
            """
            CREATE OR REPLACE TEMP TABLE message_rows (
                row_number BIGINT, thread VARCHAR, message_id VARCHAR, sent_at TIMESTAMPTZ,
                date_text VARCHAR, time_text VARCHAR, from_key VARCHAR, to_keys VARCHAR[],
                words INTEGER, body VARCHAR, left_out VARCHAR, problem VARCHAR
            )
            """
        )
        self._pending = {name: [] for name in self._COLUMNS}

    def key(self, text: str) -> str:
        """The key of an address or name (computed once per distinct one)."""
        shown = " ".join(MARKS.sub("", valid_text(text)).split())
        key = self._keys.get(shown)
        if key is None:
            key = self._keys[shown] = party_key(self.secret, self.kind, shown)
            self.parties.setdefault(key, shown)
        return key

    def add(
        self,
        *,
        thread: str | None,
        sent_at: datetime | None = None,
        date_text: str | None = None,
        time_text: str | None = None,
        sender: str | None,
        recipients: list[str],
        text: str,
        message_id: str | None = None,
        left_out: str | None = None,
        problem: str | None = None,
    ) -> None:
        """Stage one message (``sent_at`` aware, or local ``date_text`` and ``time_text``)."""
        self.rows += 1
        from_key = self.key(sender) if sender else None
        to_keys = [self.key(address) for address in recipients]
        text = valid_text(text[:MAX_TEXT_CHARS]) if left_out is None else ""
        values = (
            self.rows, _valid(thread), _valid(message_id), sent_at,
            _valid(date_text), _valid(time_text), from_key,
            [key for key in to_keys if key != from_key], len(text.split()),
            text if left_out is None else None, left_out, problem,
        )  # fmt: skip
        for name, value in zip(self._COLUMNS, values, strict=True):
            self._pending[name].append(value)
        self._pending_chars += len(text)
        if len(self._pending["row_number"]) >= _CHUNK or self._pending_chars > _CHUNK_CHARS:
            self.flush()

    def flush(self) -> None:
        """Write the messages read so far to ``message_rows``."""
        if not self._pending["row_number"]:
            return
        import pyarrow as pa

        types = {
            "row_number": pa.int64(),
            "sent_at": pa.timestamp("us", tz="UTC"),
            "to_keys": pa.list_(pa.string()),
            "words": pa.int32(),
        }
        table = pa.table(
            {
                name: pa.array(values, types.get(name, pa.string()))
                for name, values in self._pending.items()
            }
        )
        self.cursor.register("message_arrow", table)
        self.cursor.execute(
            "INSERT INTO message_rows SELECT "  # noqa: S608 - the class's fixed column names
            + ", ".join(self._COLUMNS)
            + " FROM message_arrow"
        )
        self.cursor.unregister("message_arrow")
        self._pending = {name: [] for name in self._COLUMNS}
        self._pending_chars = 0


# -- options and report ------------------------------------------------------------------


@dataclass(frozen=True)
class MessageOptions:
    """Whose mailbox or chats these are, and how to read them (``date_order``: chat
    exports whose every date reads both ways, like 03/04/23)."""

    therapist: str | None = None
    practice: str | None = None
    time_zone: str = "UTC"
    date_order: DateOrder | None = None

    @property
    def therapist_name(self) -> str:
        """The therapist named ("" when none is: an import then refuses the file)."""
        return (self.therapist or "").strip()

    @property
    def practice_name(self) -> str:
        """The practice named, else the default one."""
        return (self.practice or "").strip() or DEFAULT_PRACTICE


@dataclass(frozen=True)
class UnmatchedAddress:
    """An address or chat name of the file mapped to no client, and its messages."""

    address: str
    messages: int


@dataclass
class MessageReport:
    """What importing one mailbox or chat export did (or, on a dry run, would do)."""

    file: str
    preset: str
    channel: str
    rows: int
    imported: int = 0
    duplicates: int = 0
    rejected: int = 0
    contacts: int = 0
    messages_in_contacts: int = 0
    minutes: float = 0.0
    minutes_per_message: float = 0.0
    gap_minutes: float = 0.0
    left_out: dict[str, int] = field(default_factory=dict)
    errors: list[RowProblem] = field(default_factory=list)
    unmatched: list[UnmatchedAddress] = field(default_factory=list)
    repeated: int = 0
    date_order: str | None = None
    notes: list[str] = field(default_factory=list)
    therapist_id: int | None = None
    batch_id: int | None = None
    dry_run: bool = False
    preview: pd.DataFrame | None = None
    stored_name: str | None = None
    """The name the import history keeps when the file's own name would reveal a chat's
    name, a phone number or a subject (``WhatsApp Chat with L….txt``)."""

    @property
    def minutes_note(self) -> str:
        """How the minutes are estimated, for every figure that shows them."""
        unit = "e-mail" if self.channel == "email" else "message"
        return (
            f"estimated: {self.minutes_per_message:g} min per {unit}; messages of one "
            f"conversation less than {self.gap_minutes:g} min apart are one contact"
        )

    def describe(self) -> str:
        """One line on what the file holds."""
        what = {"mbox": "mailbox (mbox)", "eml": "e-mail files (.eml)"}.get(
            self.preset, "WhatsApp chat export"
        )
        return f"{what}: {self.rows:,} messages"

    def describe_import(self) -> str:
        """What the import adds: contacts, messages and minutes."""
        return (
            f"{self.imported:,} contacts from {self.messages_in_contacts:,} messages "
            f"({self.minutes:,.1f} min; {self.minutes_note})"
        )

    def to_json(self) -> dict[str, Any]:
        """The CLI's ``--json`` shape for one file (the CSV import's keys, and more)."""
        return {
            "file": self.file,
            "preset": self.preset,
            "rows": self.rows,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "errors": [error.to_json() for error in self.errors],
            "channel": self.channel,
            "messages": self.rows,
            "contacts": self.contacts,
            "messages_in_contacts": self.messages_in_contacts,
            "minutes": self.minutes,
            "minutes_per_message": self.minutes_per_message,
            "conversation_gap_minutes": self.gap_minutes,
            "minutes_note": self.minutes_note,
            "left_out": self.left_out,
            "unmatched": [
                {"address": item.address, "messages": item.messages} for item in self.unmatched
            ],
            "repeated_in_file": self.repeated,
            "date_order": self.date_order,
            "notes": self.notes,
            "batch_id": self.batch_id,
        }

    def unmatched_frame(self) -> pd.DataFrame:
        """The unmatched addresses or names as a table (address, messages)."""
        import pandas as pd

        return pd.DataFrame(
            [(item.address, item.messages) for item in self.unmatched],
            columns=["address", "messages"],
        )


# -- minutes per message: the seam for a model from word counts -------------------------


def message_minutes_sql(db: Database, channel: str) -> tuple[str, dict[str, float]]:
    """SQL for one message's minutes over ``message_parsed``-like rows (columns ``words``:
    the message's word count, ``direction``), with its parameters.

    Today a flat setting per message (``minutes_per_email`` or ``minutes_per_text``);
    a model from word counts (writing speed for sent, reading speed for received, a floor
    and a ceiling) replaces this one function.
    """
    key = "minutes_per_email" if channel == "email" else "minutes_per_text"
    return "$minutes_per_message", {"minutes_per_message": get_setting(db, key)}


# -- SQL over the staged messages --------------------------------------------------------

_MAPPING_SQL = """
CREATE OR REPLACE TEMP TABLE message_mapping AS
SELECT address_key AS key, client_id FROM message_addresses WHERE therapist_id = $therapist_id
UNION ALL
SELECT number_key, client_id FROM phone_numbers
WHERE therapist_id = $therapist_id AND key_form = 'e164'
"""

_PARSED_SQL = """
CREATE OR REPLACE TEMP TABLE message_parsed AS
WITH timed AS (
    SELECT r.row_number, r.thread, r.message_id, r.from_key, r.to_keys, r.words, r.left_out,
           r.problem, c.category,
           coalesce(r.sent_at, timezone($time_zone, {local_sql})) AS sent_at
    FROM message_rows AS r LEFT JOIN message_classes AS c USING (row_number)
), recipients AS (
    SELECT row_number, unnest(to_keys) AS key, generate_subscripts(to_keys, 1) AS position
    FROM message_rows
), to_client AS (
    SELECT r.row_number, arg_min(m.client_id, r.position) AS client_id
    FROM recipients AS r JOIN message_mapping AS m USING (key) GROUP BY 1
), matched AS (
    SELECT t.*, coalesce(f.client_id, tc.client_id) AS client_id,
           CASE WHEN f.client_id IS NOT NULL THEN 'client'
                WHEN tc.client_id IS NOT NULL THEN 'therapist' END AS direction
    FROM timed AS t
    LEFT JOIN message_mapping AS f ON f.key = t.from_key
    LEFT JOIN to_client AS tc USING (row_number)
)
SELECT *, {minutes_sql} AS minutes,
       CASE WHEN problem IS NULL AND left_out IS NULL AND sent_at IS NULL
            THEN 'The date could not be read.' ELSE problem END AS reason,
       message_id IS NOT NULL AND left_out IS NULL AND problem IS NULL AND row_number() OVER (
           PARTITION BY message_id, left_out IS NULL AND problem IS NULL ORDER BY row_number
       ) > 1 AS repeated
FROM matched
"""

_CONTACTS_SQL = """
CREATE OR REPLACE TEMP TABLE message_contacts AS
WITH kept AS (
    SELECT * FROM message_parsed
    WHERE reason IS NULL AND left_out IS NULL AND NOT repeated AND client_id IS NOT NULL
), ordered AS (
    SELECT *, lag(sent_at) OVER (
        PARTITION BY client_id, thread ORDER BY sent_at, row_number
    ) AS previous
    FROM kept
), runs AS (
    SELECT *, sum(CASE WHEN previous IS NULL
                            OR sent_at - previous > to_seconds(CAST($gap AS DOUBLE) * 60)
                       THEN 1 ELSE 0 END) OVER (
        PARTITION BY client_id, thread ORDER BY sent_at, row_number
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
    ) AS run
    FROM ordered
)
SELECT client_id, min(row_number) AS row_number, min(sent_at) AS started_at,
       arg_min(direction, (sent_at, row_number)) AS direction, sum(minutes) AS minutes,
       coalesce(arg_min(category, (sent_at, row_number)) FILTER (WHERE category IS NOT NULL),
                'other') AS category,
       count(*) AS messages
FROM runs GROUP BY client_id, thread, run
"""

_INCOMING_SQL = """
CREATE OR REPLACE TEMP TABLE incoming AS
SELECT $practice AS practice, $therapist AS therapist, $time_zone AS time_zone,
       cl.label AS client, c.started_at, c.minutes, $channel AS channel, c.category,
       c.direction, true AS time_known, c.row_number, c.messages
FROM message_contacts AS c JOIN clients AS cl USING (client_id)
WHERE c.minutes > 0 AND NOT EXISTS (
    SELECT 1 FROM contacts AS e
    WHERE e.therapist_id = $therapist_id AND e.client_id = c.client_id
      AND e.started_at = c.started_at AND e.channel = $channel
)
ORDER BY c.started_at, c.row_number
"""

# Parties of unmatched messages; an own address (in more than ``$own_share`` of the
# file's messages: the mailbox's owner) is left off the list.
_UNMATCHED_SQL = """
WITH candidates AS (
    SELECT row_number, list_distinct(list_prepend(from_key, to_keys)) AS keys, client_id
    FROM message_parsed
    WHERE reason IS NULL AND left_out IS NULL AND NOT repeated
), parties AS (
    SELECT row_number, unnest(keys) AS key, client_id FROM candidates
), own AS (
    SELECT key FROM parties GROUP BY key
    HAVING count(*) > $own_share * (SELECT count(*) FROM candidates)
)
SELECT p.key, count(DISTINCT p.row_number) AS messages
FROM parties AS p
WHERE p.client_id IS NULL AND p.key IS NOT NULL AND p.key NOT IN (SELECT key FROM own)
  AND p.key NOT IN (SELECT key FROM message_mapping) AND p.key <> $therapist_key
GROUP BY p.key ORDER BY messages DESC, p.key
"""


def _local_sql(order: DateOrder) -> str:
    """The local wall-clock timestamp of a chat line's date and time texts."""
    return f"({date_sql('r.date_text', order)} + {time_sql('r.time_text')})"


def _date_order(
    cursor: duckdb.DuckDBPyConnection, options: MessageOptions, report: MessageReport
) -> DateOrder:
    """The chat's date order: the one given, else what the whole file proves, else (every
    date reads both ways) month-first with a 12-hour clock and day-first with a 24-hour one,
    as phones set to those locales write; the report says when it was assumed."""
    if options.date_order is not None:
        return options.date_order
    dated = count_rows(cursor, "SELECT count(*) FROM message_rows WHERE date_text IS NOT NULL")
    if not dated:
        return "dmy"
    order = file_date_order(cursor, "message_rows", "date_text")
    if order is None:
        twelve = count_rows(
            cursor,
            "SELECT count(*) FROM message_rows WHERE regexp_matches(time_text, '[AaPp]\\.? ?[Mm]')",
        )
        order = "mdy" if twelve else "dmy"
        report.notes.append(
            "Every date reads both day-first and month-first; read as "
            + ("month-first (12-hour clock)" if twelve else "day-first (24-hour clock)")
            + "; give the date order if that is wrong."
        )
    return order


def import_messages(
    db: Database,
    source: bytes | Path,
    read: Callable[[MessageStage], None],
    *,
    file_name: str,
    preset: str,
    kind: AddressKind,
    options: MessageOptions | None = None,
    scope: Scope = LOCAL,
    dry_run: bool = False,
    stored_name: str | None = None,
) -> MessageReport:
    """Import one mailbox or chat export as one batch: ``read`` stages its messages
    (raising ``MessageFileError`` for a file it cannot read), the rest is shared;
    ``stored_name``: what the import history calls the file, when not its name."""
    scope.require_import()
    options = options or MessageOptions()
    channel = "email" if kind == "email" else "text"
    minutes_sql, minutes_params = message_minutes_sql(db, channel)
    gap = get_setting(db, "conversation_gap_minutes")
    secret = load_or_create_secret(db.path)
    with db.transaction(rollback=dry_run) as cursor:
        check_time_zone(cursor, options.time_zone)
        stage = MessageStage(cursor, secret, kind)
        read(stage)
        stage.flush()
        if not stage.rows:
            raise MessageFileError(f"{file_name} holds no messages; nothing was stored.")
        report = MessageReport(
            file=file_name, preset=preset, channel=channel, rows=stage.rows,
            minutes_per_message=minutes_params["minutes_per_message"], gap_minutes=gap,
            stored_name=stored_name,
        )  # fmt: skip
        if is_placeholder(options.therapist):  # a mailbox never says whose it is
            raise TherapistNeededError(
                file_name, stage.rows, "no therapist", what="messages", noun=("message", "messages")
            )
        therapist_id, zone = _therapist(cursor, scope, options)
        report.therapist_id = therapist_id
        time_zone = zone or options.time_zone
        order = _date_order(cursor, options, report)
        report.date_order = order if kind == "chat" else None
        classify_table(cursor, "message_rows", "body", "message_classes")
        cursor.execute(_MAPPING_SQL, {"therapist_id": therapist_id})
        cursor.execute(
            _PARSED_SQL.format(local_sql=_local_sql(order), minutes_sql=minutes_sql),
            {"time_zone": time_zone, **minutes_params},
        )
        # The texts are gone from here on; keys remain until the end of the transaction.
        cursor.execute("DROP TABLE message_rows")
        cursor.execute("DROP TABLE message_classes")
        _fill_report(
            cursor, report, stage, own_share=0.5 if kind == "email" else 1.0, gap=gap,
            therapist_name=options.therapist_name,
        )  # fmt: skip
        cursor.execute(
            _INCOMING_SQL,
            {
                "practice": options.practice_name,
                "therapist": options.therapist_name,
                "time_zone": time_zone,
                "channel": channel,
                "therapist_id": therapist_id,
            },
        )
        _store(cursor, db, scope, report, source, dry_run)
        for table in ("message_mapping", "message_parsed", "message_contacts"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
    return report


def _fill_report(
    cursor: duckdb.DuckDBPyConnection,
    report: MessageReport,
    stage: MessageStage,
    *,
    own_share: float,
    gap: float,
    therapist_name: str,
) -> None:
    """Problems, reasons left out, repeats and unmatched parties, from ``message_parsed``."""
    report.errors = [
        RowProblem(row=int(row), column="date", message=str(text))
        for row, text in cursor.execute(
            "SELECT row_number, reason FROM message_parsed WHERE reason IS NOT NULL "
            "AND left_out IS NULL ORDER BY row_number LIMIT 1000"
        ).fetchall()
    ]
    report.rejected = count_rows(
        cursor, "SELECT count(*) FROM message_parsed WHERE reason IS NOT NULL AND left_out IS NULL"
    )
    report.left_out = {
        str(reason): int(count)
        for reason, count in cursor.execute(
            "SELECT left_out, count(*) FROM message_parsed WHERE left_out IS NOT NULL "
            "GROUP BY 1 ORDER BY 2 DESC, 1"
        ).fetchall()
    }
    report.repeated = count_rows(cursor, "SELECT count(*) FROM message_parsed WHERE repeated")
    # the therapist's own name, as the import names them, is never a client to map
    therapist_key = address_key(stage.secret, stage.kind, therapist_name)
    rows = cursor.execute(
        _UNMATCHED_SQL, {"own_share": own_share, "therapist_key": therapist_key}
    ).fetchall()
    report.unmatched = sorted(
        (UnmatchedAddress(stage.parties.get(key, "?"), int(n)) for key, n in rows),
        key=lambda item: (-item.messages, item.address),
    )
    cursor.execute(_CONTACTS_SQL, {"gap": gap})
    row = cursor.execute(
        "SELECT count(*), coalesce(sum(messages), 0) FROM message_contacts"
    ).fetchone()
    assert row is not None
    report.contacts = int(row[0])


def _store(
    cursor: duckdb.DuckDBPyConnection,
    db: Database,
    scope: Scope,
    report: MessageReport,
    source: bytes | Path,
    dry_run: bool,
) -> None:
    """Store the staged ``incoming`` contacts as one batch and fill the report's counts."""
    staged = count_rows(cursor, "SELECT count(*) FROM incoming")
    report.duplicates = report.contacts - staged
    report.preview = cursor.execute(
        """
        SELECT row_number AS "message", client, timezone(time_zone, started_at) AS local_start,
               time_zone, round(minutes, 4) AS minutes, messages, channel, category, direction
        FROM incoming ORDER BY started_at, row_number LIMIT 20
        """
    ).df()
    figures = cursor.execute(
        "SELECT coalesce(sum(messages), 0), coalesce(sum(minutes), 0) FROM incoming"
    ).fetchone()
    assert figures is not None
    report.messages_in_contacts, report.minutes = int(figures[0]), float(figures[1])
    report.dry_run = dry_run
    if not staged:
        cursor.execute("DROP TABLE incoming")
        return
    cursor.execute("ALTER TABLE incoming DROP COLUMN messages")
    stored = store_incoming(
        cursor,
        db,
        source="messages",
        file_name=report.stored_name or report.file,
        sha256=file_sha256(source) if not isinstance(source, Path) or source.is_file() else None,
        preset=report.preset,
        rows_read=report.rows,
        rows_rejected=report.rejected,
    )
    report.imported = stored.contacts
    report.duplicates += stored.duplicates
    if not dry_run:
        report.batch_id = stored.batch_id
        record_import(
            cursor, scope, report.stored_name or report.file, stored.batch_id, report.imported
        )


def _therapist(
    cursor: duckdb.DuckDBPyConnection, scope: Scope, options: MessageOptions
) -> tuple[int | None, str | None]:
    """The stored therapist the file belongs to and their zone (None while new)."""
    statement = query(
        """
        SELECT t.therapist_id, t.time_zone
        FROM therapists AS t JOIN practices AS p USING (practice_id)
        WHERE p.name = $practice_name AND t.name = $therapist_name AND {seen}
        """,
        seen=scope.fragment("t"),
        practice_name=options.practice_name,
        therapist_name=options.therapist_name,
    )
    row = execute(cursor, statement).fetchone()
    return (int(row[0]), str(row[1])) if row else (None, None)
