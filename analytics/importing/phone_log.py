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
  review). Texts received or sent become ``text`` contacts with minutes from their words
  (``message_minutes``: texts of one number less than the gap apart are one contact, at
  least ``minutes_per_text``); their category comes from the keyword rules over the body,
  which is read inside the transaction (its words counted) and dropped, never stored. Incoming
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

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import pandas as pd

from analytics.access.names import UnknownNameError, find_therapist
from analytics.access.scope import LOCAL, Scope
from analytics.domain import CATEGORIES
from analytics.errors import InvalidRecordError, PermissionDeniedError
from analytics.importing.classify import classify_table
from analytics.importing.message_minutes import (
    MessageModel,
    describe_model,
    load_model,
    model_parameters,
)
from analytics.importing.person_names import is_placeholder
from analytics.importing.phone_log_staging import (
    _INCOMING_SQL,
    _MATCHED_SQL,
    _MERGE_TEXTS_SQL,
    _PARSED_SQL,
    _TEXT_CONTACTS_SQL,
    InvalidNumber,
    PhoneLogOptions,
    UnmatchedNumber,
    _batch_figures,
    _invalid,
    _left_out,
    _preview,
    _problems,
    _stage,
    _stored_figures,
    _therapist,
    _unmatched,
)
from analytics.importing.phone_log_xml import PhoneColumns, _read
from analytics.importing.phone_numbers import (
    choose_region,
    default_region,
    e164_number,
    legacy_country_code,
    legacy_number_form,
    rekey_legacy,
)
from analytics.importing.pipeline import (
    DEFAULT_PRACTICE,
    TherapistNeededError,
    check_time_zone,
    file_sha256,
)
from analytics.importing.reader import RowProblem
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.pseudonyms import client_key, load_or_create_secret, number_hint, number_key
from analytics.storage.sql import TRUE, execute, identifier, query, sql
from analytics.storage.store import count_rows, is_erased, record_import, store_incoming

PRESET = "sms_backup_restore"
"""How batches from these files are labelled in the import history."""


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
    """The floor of a text contact (the setting that once counted every text flatly)."""
    text_model: str = ""
    """How the texts' minutes were estimated, in words (``message_minutes.describe_model``)."""
    preset_name: str = "sms_backup_restore"
    source_label: str = "SMS Backup & Restore"
    imported_calls: int = 0
    imported_texts: int = 0
    call_minutes: float = 0.0
    text_minutes: float = 0.0
    left_out: dict[str, int] = field(default_factory=dict)
    errors: list[RowProblem] = field(default_factory=list)
    unmatched: list[UnmatchedNumber] = field(default_factory=list)
    invalid: list[InvalidNumber] = field(default_factory=list)
    joined: int = 0
    """Texts counted in an earlier text's contact (less than the model's gap after it)."""
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
        return self.preset_name

    @property
    def text_note(self) -> str:
        """The sentence every figure with text minutes carries."""
        return "texts " + self.text_model if self.text_model else "texts"

    @property
    def left_out_total(self) -> int:
        """Calls and texts that are not contacts (missed, drafts...)."""
        return sum(self.left_out.values())

    def describe(self) -> str:
        """One line on what the file holds."""
        if self.preset_name != PRESET:
            return f"{self.source_label}: {self.calls:,} calls and {self.texts:,} texts"
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
            "preset": self.preset_name,
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
            "text_minutes_model": self.text_model,
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
            "texts_joined": self.joined,
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
    options = options or PhoneLogOptions()
    _check_options(scope, options)
    kind, columns = _read(source, file_name)
    return import_phone_columns(
        db, columns, kind, source=source, file_name=file_name, options=options, scope=scope,
        dry_run=dry_run,
    )  # fmt: skip


def import_phone_columns(
    db: Database,
    columns: PhoneColumns,
    kind: str,
    *,
    source: bytes | Path,
    file_name: str,
    options: PhoneLogOptions,
    scope: Scope = LOCAL,
    dry_run: bool = False,
    preset: str = PRESET,
    source_label: str = "SMS Backup & Restore",
) -> PhoneLogReport:
    """Import calls and texts already read into ``columns`` (in SMS Backup & Restore's
    terms: kind, number, seconds, epoch ms, type, body) as one batch labelled ``preset``;
    for other phone exports (Google Voice) that reuse the numbers' mapping and the texts'
    minutes. ``kind`` is 'calls', 'texts' or 'calls and texts'."""
    _check_options(scope, options)
    region = choose_region(options.region, options.country_code) or default_region(db)
    options = replace(options, region=region)
    model = load_model(db)
    secret = load_or_create_secret(db.path)
    with db.transaction(rollback=dry_run) as cursor:
        report = _import(
            cursor, db, scope, columns, kind, source, file_name, options, model, secret, preset
        )
        report.source_label = source_label
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


def _check_options(scope: Scope, options: PhoneLogOptions) -> None:
    """Refuse a viewer who may not import, and an unknown category for calls."""
    scope.require_import()
    if options.call_category not in CATEGORIES:
        raise InvalidRecordError(
            f"Unknown category {options.call_category!r} for calls; use one of "
            f"{', '.join(CATEGORIES)}."
        )


def _import(
    cursor: duckdb.DuckDBPyConnection,
    db: Database,
    scope: Scope,
    columns: PhoneColumns,
    kind: str,
    source: bytes | Path,
    file_name: str,
    options: PhoneLogOptions,
    model: MessageModel,
    secret: bytes,
    preset: str = PRESET,
) -> PhoneLogReport:
    check_time_zone(cursor, options.time_zone)
    _stage(cursor, columns, options, secret)
    del columns  # the bodies now live only in the staged table, dropped below
    classify_table(cursor, "phone_rows", "body", "phone_classes")
    cursor.execute(
        _PARSED_SQL,
        {
            **{
                name: value
                for name, value in model_parameters(model).items()
                if name != "gap_seconds"
            },
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
    cursor.execute(_TEXT_CONTACTS_SQL, model_parameters(model))
    joined = count_rows(
        cursor, "SELECT coalesce(sum(messages - 1), 0) FROM phone_text_contacts"
    )  # texts that joined an earlier text's contact, of mapped numbers or not
    cursor.execute(_MERGE_TEXTS_SQL)
    cursor.execute("DROP TABLE phone_text_contacts")
    report = PhoneLogReport(
        file=file_name,
        kind=kind,
        rows=count_rows(cursor, "SELECT count(*) FROM phone_parsed"),
        calls=count_rows(cursor, "SELECT count(*) FROM phone_parsed WHERE kind = 'call'"),
        texts=count_rows(cursor, "SELECT count(*) FROM phone_parsed WHERE kind <> 'call'"),
        imported=0,
        duplicates=0,
        rejected=0,
        minutes_per_text=model.floor_minutes,
        text_model=describe_model(model),
        preset_name=preset,
        therapist_id=therapist_id,
        region=options.region,
        rekeyed=rekeyed,
        joined=joined,
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
            preset=preset,
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
        execute(cursor, query("DROP TABLE {table}", table=identifier(table)))
    return report


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
    # clients listed under the scope or met by a therapist in it (a colleague's client one
    # stood in for), like every reader of clients
    listing = query(
        """
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
        """,
        contact_sql=scope.fragment("c"),
        client_column=scope.client_name_fragment("cl"),
        therapist_sql=scope.fragment("t"),
        client_sql=scope.client_fragment("cl"),
        only=TRUE
        if therapist_id is None
        else sql("m.therapist_id = $mapping_therapist", mapping_therapist=therapist_id),
    )
    return db.frame(listing)


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
    known = query(
        "SELECT cl.client_id, {in_scope} FROM clients AS cl WHERE cl.client_key = $key",
        in_scope=scope.fragment("cl"),
        key=key,
    )
    row = execute(cursor, known).fetchone()
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
    try:  # found anywhere first: the scope then refuses with its own sentence
        found = find_therapist(cursor, name, practice)
    except UnknownNameError:
        _refuse_unknown(scope)
        if time_zone is None:
            raise
    else:
        return found.therapist_id, found.practice_id, found.practice
    assert time_zone is not None  # refused above without one
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
