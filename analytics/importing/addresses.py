"""E-mail addresses and chat names: their keyed hashes, and their mapping to clients.

An address or a chat's (or a chat member's) name reaches a client only through a mapping,
as a phone number does (``phone_log``): the table ``message_addresses`` holds a keyed hash
of the normalised address or name (``address_key``, with the installation secret, like
``pseudonyms.number_key``) and a hint of a letter or two for the user to recognise it,
never the address. A chat member shown as a phone number is keyed as the number, so the
phone logs' mapping finds them. Therapist and client are resolved as for phone numbers
(``phone_log.mapped_client``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import pandas as pd

from analytics.access.scope import Scope
from analytics.errors import InvalidRecordError
from analytics.importing.phone_log import mapped_client, resolve_therapist
from analytics.importing.phone_numbers import read_number
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.pseudonyms import load_or_create_secret, number_key
from analytics.storage.sql import query

AddressKind = Literal["email", "chat"]
"""An e-mail address, or a chat's or chat member's name."""

MARKS = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
"""The direction marks WhatsApp and mail clients put around names and numbers."""


def normalise_address(kind: AddressKind, text: str) -> str:
    """The form an address or chat name is keyed in: marks and case dropped, spaces one."""
    cleaned = unicodedata.normalize("NFC", MARKS.sub("", text))
    cleaned = " ".join(cleaned.split()).casefold()
    if kind == "email":
        cleaned = cleaned.strip("<>").removeprefix("mailto:")
    return cleaned


def address_key(secret: bytes, kind: AddressKind, text: str) -> str:
    """The keyed hash of one e-mail address or chat name, e.g. ``a-1a2b…`` (never reversible
    without the installation secret; the same address has one key in every file)."""
    message = f"{kind}\x1f{normalise_address(kind, text)}".encode()
    return "a-" + hmac.new(secret, message, hashlib.sha256).hexdigest()[:24]


def address_hint(kind: AddressKind, text: str) -> str:
    """A letter or two for the user to recognise a mapping: ``a…@e…`` or ``A…``."""
    normalised = normalise_address(kind, text)
    if kind == "email":
        local, _, domain = normalised.partition("@")
        return f"{local[:1]}…@{domain[:1]}…"
    return f"{normalised[:1].upper()}…"


def party_key(secret: bytes, kind: AddressKind, text: str) -> str:
    """The key of a party: a chat partner written as a phone number (+49 170 …) is keyed
    as the number, so the phone logs' mapping finds them; everything else by
    ``address_key``."""
    stripped = MARKS.sub("", text).strip()
    if kind == "chat" and stripped.startswith("+"):
        e164 = read_number(stripped, None).e164
        if e164 is not None:
            return number_key(secret, e164)
    return address_key(secret, kind, text)


# -- the mapping of addresses and chat names to clients -----------------------------------


@dataclass(frozen=True)
class AddressMapping:
    """One stored mapping: the therapist, the address's hint, and the client it names."""

    therapist_id: int
    kind: AddressKind
    address_hint: str
    client_id: int
    client_key: str
    created_client: bool = False


def address_kind(text: str) -> AddressKind:
    """``email`` for something with an @, else ``chat`` (a chat's or a person's name)."""
    return "email" if "@" in text else "chat"


def map_address(
    db: Database,
    scope: Scope,
    therapist: int | str,
    address: str,
    client_label: str,
    *,
    practice: str | None = None,
    time_zone: str | None = None,
) -> AddressMapping:
    """Map an e-mail address or a WhatsApp chat name (or a chat partner's name) to a client
    of ``therapist`` for later imports; only its keyed hash and a hint are stored. The
    therapist and client are found or created as for phone numbers (``mapped_client``)."""
    kind = address_kind(address)
    if not normalise_address(kind, address):
        raise InvalidRecordError("Give the e-mail address or chat name to map.")
    secret = load_or_create_secret(db.path)
    with db.transaction() as cursor:
        therapist_id, client_id, key, created = mapped_client(
            cursor, scope, therapist, client_label, secret,
            practice=practice, time_zone=time_zone, what="address" if kind == "email" else "chat",
        )  # fmt: skip
        hint = address_hint(kind, address)
        cursor.execute(
            """
            INSERT OR REPLACE INTO message_addresses
                (therapist_id, kind, address_key, address_hint, client_id)
            VALUES ($therapist_id, $kind, $key, $hint, $client_id)
            """,
            {
                "therapist_id": therapist_id,
                "kind": kind,
                "key": address_key(secret, kind, address),
                "hint": hint,
                "client_id": client_id,
            },
        )
        what = "e-mail address" if kind == "email" else "chat name"
        audit.record(cursor, scope, "settings", f"{what} {hint} mapped to client {key}")
    return AddressMapping(therapist_id, kind, hint, client_id, key, created)


def unmap_address(
    db: Database, scope: Scope, therapist: int | str, address: str, *, practice: str | None = None
) -> bool:
    """Forget the mapping of an address or chat name for ``therapist``; True if there was
    one. Contacts already imported stay (undo their batch to remove them)."""
    kind = address_kind(address)
    secret = load_or_create_secret(db.path)
    with db.transaction() as cursor:
        therapist_id = resolve_therapist(cursor, scope, therapist, practice)
        scope.require_boundary_edit(therapist_id)
        removed = cursor.execute(
            "DELETE FROM message_addresses WHERE therapist_id = $therapist_id "
            "AND address_key = $key RETURNING 1",
            {"therapist_id": therapist_id, "key": address_key(secret, kind, address)},
        ).fetchall()
        if removed:
            what = "e-mail address" if kind == "email" else "chat name"
            audit.record(
                cursor, scope, "settings", f"{what} {address_hint(kind, address)} unmapped"
            )
    return bool(removed)


def list_address_mappings(db: Database, scope: Scope) -> pd.DataFrame:
    """Every address and chat mapping the viewer may see: therapist, practice, kind, hint,
    client (label where the viewer may see labels, else its key), newest first."""
    return db.frame(
        query(
            """
            SELECT t.name AS therapist, p.name AS practice, m.kind, m.address_hint,
                   {client} AS client, cl.client_key, m.created_at
            FROM message_addresses AS m
            JOIN therapists AS t USING (therapist_id)
            JOIN practices AS p ON p.practice_id = t.practice_id
            JOIN clients AS cl ON cl.client_id = m.client_id
            WHERE {therapists} AND {clients}
            ORDER BY m.created_at DESC, t.name, m.address_hint
            """,
            client=scope.client_name_fragment("cl"),
            therapists=scope.fragment("t"),
            clients=scope.client_fragment("cl"),
        )
    )
