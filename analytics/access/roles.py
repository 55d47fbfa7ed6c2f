"""The roles file of team mode: who signs in as what, and what they may see.

A TOML file maps each person to a role. Names in it are the names people know (therapist
and practice names as stored); ``scope_for`` turns them into ids in SQL when someone signs
in, so a roles file written before an import keeps working after it.

    [users."dana@northside.example"]
    role = "therapist"
    therapist = "Dana Whitfield"
    practice = "Northside Psychology"   # only needed when two therapists share a name

    [users."lee@northside.example"]
    role = "supervisor"
    practices = ["Northside Psychology"]
    issuer = "https://login.microsoftonline.com/TENANT-ID/v2.0"
    subject = "7c1f3c9e-52b1-4c41-9a8e-0d2f6a1b5e10"   # Entra ID's oid for Lee

    [users."it@northside.example"]
    role = "admin"

    [issuers."https://login.microsoftonline.com/TENANT-ID/v2.0"]
    emails_verified = true   # the tenant owns its addresses; Entra sends no email_verified

Who someone is comes from the provider's signed claims (``SignIn``), never from what a
person may type: an e-mail address counts only when the provider marks it verified (the
JSON boolean ``true``) or the file's ``[issuers]`` table says that issuer's tenant verifies
its addresses. Otherwise only the provider's subject counts: ``sub``, or Entra ID's object
id ``oid``, matched against an entry's ``subject`` (from its ``issuer``, when given) or an
entry whose key is not an e-mail address. Anything the file does not say is refused with
one sentence, so a typo never widens or silently narrows what someone sees.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from analytics.access.scope import Scope
from analytics.errors import ContactLoadError
from analytics.storage.database import Database

ROLES_ENV = "CONTACTLOAD_ROLES"
"""The environment variable naming the roles file (team mode), as ``--roles`` does."""


def roles_path(argv: Sequence[str] | None = None) -> Path | None:
    """``--roles PATH`` after ``--`` (or $CONTACTLOAD_ROLES): set means team mode.

    Here, not in ui/auth.py, so ``python -m ui.serve`` reads it without importing the
    Streamlit modules whose caches warn "No runtime found" before the server runs."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--roles", type=Path, default=None)
    known, _ = parser.parse_known_args(list(sys.argv[1:] if argv is None else argv))
    if known.roles is not None:
        return Path(known.roles)
    from_env = os.environ.get(ROLES_ENV, "").strip()
    return Path(from_env) if from_env else None


TeamRole = Literal["admin", "supervisor", "therapist"]
TEAM_ROLES: tuple[TeamRole, ...] = ("admin", "supervisor", "therapist")

SIGN_IN_KEYS = ("issuer", "subject")
"""Keys any entry may have: the provider (``iss``) and its subject id for this person."""

ROLE_KEYS: dict[TeamRole, tuple[str, ...]] = {
    "admin": ("role", *SIGN_IN_KEYS),
    "supervisor": ("role", "practices", *SIGN_IN_KEYS),
    "therapist": ("role", "therapist", "practice", *SIGN_IN_KEYS),
}
"""The keys each role's entry may have (an allow-list: anything else is a typo)."""

ISSUER_KEYS = ("emails_verified",)
"""The keys of an ``[issuers."ISSUER"]`` table."""


class RolesFileError(ContactLoadError):
    """The roles file is missing, unreadable or says something it may not."""


@dataclass(frozen=True)
class SignIn:
    """What the identity provider vouches for about one person signing in: the issuer,
    its subject ids for them (``sub``, and Entra ID's ``oid``), and an e-mail address with
    whether the provider marked it verified."""

    issuer: str
    subjects: tuple[str, ...]
    email: str | None = None
    email_verified: bool = False

    @classmethod
    def from_claims(cls, claims: Mapping[str, object]) -> SignIn:
        """Read the ID token's claims; ``email_verified`` counts only as the JSON boolean
        ``true`` (a missing claim, ``"true"``, ``"False"`` or ``1`` is not verified)."""

        def text(name: str) -> str | None:
            value = claims.get(name)
            return value.strip() if isinstance(value, str) and value.strip() else None

        subjects = tuple(value for value in (text("sub"), text("oid")) if value is not None)
        return cls(
            issuer=text("iss") or "",
            subjects=tuple(dict.fromkeys(subjects)),
            email=text("email"),
            email_verified=claims.get("email_verified") is True,
        )

    @property
    def subject(self) -> str:
        """The provider's own id for this person (``sub``; ``oid`` when there is no sub)."""
        return self.subjects[0] if self.subjects else ""


@dataclass(frozen=True)
class RoleEntry:
    """One identity's line in the roles file, with names as written there.

    ``identity`` is the table's key: an e-mail address, or (without ``@``) a subject id.
    ``subject`` and ``issuer`` name the provider's id for the person as well.
    """

    identity: str
    role: TeamRole
    therapist: str | None = None
    practice: str | None = None
    practices: tuple[str, ...] = ()
    subject: str | None = None
    issuer: str | None = None

    @property
    def email(self) -> str | None:
        """The e-mail address this entry is keyed by, if it is keyed by one."""
        return self.identity if "@" in self.identity else None

    def matches_subject(self, sign_in: SignIn) -> bool:
        """The provider's subject id for this person is the one the entry names."""
        subject = self.subject or (None if self.email else self.identity)
        return (
            subject is not None
            and subject in sign_in.subjects
            and self.issuer in (None, sign_in.issuer)
        )

    def matches_email(self, email: str, issuer: str) -> bool:
        """A trusted e-mail address is the one the entry is keyed by."""
        return self.email == normalise_identity(email) and self.issuer in (None, issuer)


@dataclass(frozen=True)
class Roles:
    """Every entry of one roles file, looked up by identity."""

    entries: tuple[RoleEntry, ...]
    email_issuers: frozenset[str] = frozenset()
    """Issuers whose tenant verifies every e-mail address it sends (``[issuers]``)."""

    def find(self, identity: str) -> RoleEntry | None:
        """The entry keyed by this identity (e-mail addresses match whatever their case)."""
        wanted = normalise_identity(identity)
        for entry in self.entries:
            if entry.identity == wanted:
                return entry
        return None

    def trusted_email(self, sign_in: SignIn) -> str | None:
        """The sign-in's e-mail address if it may identify someone, else ``None``."""
        if sign_in.email is None:
            return None
        if sign_in.email_verified or sign_in.issuer in self.email_issuers:
            return sign_in.email
        return None

    def identity_of(self, sign_in: SignIn) -> str:
        """What the dashboard and the audit log call this person: the trusted e-mail
        address, else the provider's subject id."""
        return self.trusted_email(sign_in) or sign_in.subject

    def match(self, sign_in: SignIn) -> RoleEntry | None:
        """The entry for this sign-in: by the provider's subject id first, then by a
        trusted e-mail address; never by an address the provider does not vouch for."""
        for entry in self.entries:
            if entry.matches_subject(sign_in):
                return entry
        email = self.trusted_email(sign_in)
        if email is None:
            return None
        for entry in self.entries:
            if entry.matches_email(email, sign_in.issuer):
                return entry
        return None


def normalise_identity(identity: str) -> str:
    """E-mail addresses compare case-insensitively; other subjects (opaque ids) exactly."""
    identity = identity.strip()
    return identity.lower() if "@" in identity else identity


def load_roles(path: Path | str) -> Roles:
    """Read and check a roles file; any problem is one sentence naming the entry."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RolesFileError(
            f"The roles file {path} does not exist; give the path of an existing file."
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise RolesFileError(f"The roles file {path} could not be read ({error}).") from None
    except tomllib.TOMLDecodeError as error:
        raise RolesFileError(f"The roles file {path} is not valid TOML ({error}).") from None
    return parse_roles(document, str(path))


def parse_roles(document: Mapping[str, object], source: str = "the roles file") -> Roles:
    """Check a parsed roles document: one ``[users."identity"]`` table per person, and
    optionally ``[issuers."ISSUER"]`` tables."""
    unknown = sorted(set(document) - {"users", "issuers"})
    if unknown:
        raise RolesFileError(
            f"Unknown section {unknown[0]!r} in {source}; "
            'put every person under [users."their e-mail"].'
        )
    email_issuers = _email_issuers(document.get("issuers", {}), source)
    users = document.get("users", {})
    if not isinstance(users, Mapping):
        raise RolesFileError(
            f'In {source}, users must be tables: [users."their e-mail"] with a role.'
        )
    entries: list[RoleEntry] = []
    seen: set[str] = set()
    for identity, fields in users.items():
        entry = _entry(str(identity), fields, source)
        if entry.identity in seen:
            raise RolesFileError(f"{identity} appears twice in {source}; keep one entry.")
        seen.add(entry.identity)
        entries.append(entry)
    subjects = [(entry.issuer, entry.subject) for entry in entries if entry.subject]
    for issuer, subject in subjects:
        if subjects.count((issuer, subject)) > 1:
            raise RolesFileError(f"The subject {subject} appears twice in {source}; keep one.")
    return Roles(tuple(entries), email_issuers)


def _email_issuers(issuers: object, source: str) -> frozenset[str]:
    """The issuers whose e-mail addresses the tenant verifies."""
    if not isinstance(issuers, Mapping):
        raise RolesFileError(
            f'In {source}, issuers must be tables: [issuers."https://..."] with '
            "emails_verified = true."
        )
    trusted: set[str] = set()
    for issuer, fields in issuers.items():
        if not isinstance(fields, Mapping):
            raise RolesFileError(
                f'In {source}, [issuers."{issuer}"] must be a table with emails_verified.'
            )
        unknown = sorted(set(fields) - set(ISSUER_KEYS))
        if unknown:
            raise RolesFileError(
                f'[issuers."{issuer}"] in {source} has the unknown key {unknown[0]!r}; '
                "it takes only emails_verified."
            )
        verified = fields.get("emails_verified")
        if not isinstance(verified, bool):
            raise RolesFileError(
                f'[issuers."{issuer}"] in {source} needs emails_verified = true or false.'
            )
        if verified:
            trusted.add(str(issuer).strip())
    return frozenset(trusted)


def _entry(identity: str, fields: object, source: str) -> RoleEntry:
    """One person's entry, checked against the keys their role allows."""
    if not identity.strip():
        raise RolesFileError(f"An entry in {source} has an empty identity; use their e-mail.")
    if not isinstance(fields, Mapping):
        raise RolesFileError(
            f'In {source}, {identity} must be a table ([users."{identity}"]) with a role.'
        )
    role = fields.get("role")
    if role is None:
        raise RolesFileError(
            f"{identity} in {source} has no role; set role to one of {', '.join(TEAM_ROLES)}."
        )
    if role not in TEAM_ROLES:
        raise RolesFileError(
            f"{identity} in {source} has the unknown role {role!r}; "
            f"use one of {', '.join(TEAM_ROLES)}."
        )
    allowed = ROLE_KEYS[role]
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise RolesFileError(
            f"{identity} in {source} has the unknown key {unknown[0]!r} for a {role}; "
            f"a {role} takes only {', '.join(allowed)}."
        )
    subject = _text(fields.get("subject"), identity, "subject", source)
    issuer = _text(fields.get("issuer"), identity, "issuer", source)
    if subject is not None and "@" not in identity:
        raise RolesFileError(
            f"{identity} in {source} is a subject id already; give subject only in an "
            "entry keyed by an e-mail address."
        )
    return replace(_role_entry(identity, role, fields, source), subject=subject, issuer=issuer)


def _role_entry(
    identity: str, role: TeamRole, fields: Mapping[str, object], source: str
) -> RoleEntry:
    """The role's own part of an entry: the therapist, or the supervisor's practices."""
    if role == "therapist":
        therapist = _text(fields.get("therapist"), identity, "therapist", source)
        if therapist is None:
            raise RolesFileError(
                f"{identity} in {source} is a therapist but names none; "
                'set therapist = "their name as stored".'
            )
        practice = _text(fields.get("practice"), identity, "practice", source)
        return RoleEntry(normalise_identity(identity), role, therapist, practice)
    if role == "supervisor":
        practices = fields.get("practices")
        if (
            not isinstance(practices, list)
            or not practices
            or not all(isinstance(name, str) and name.strip() for name in practices)
        ):
            raise RolesFileError(
                f"{identity} in {source} is a supervisor without practices; "
                'set practices = ["a practice name", ...].'
            )
        return RoleEntry(
            normalise_identity(identity),
            role,
            practices=tuple(name.strip() for name in practices),
        )
    return RoleEntry(normalise_identity(identity), role)


def _text(value: object, identity: str, key: str, source: str) -> str | None:
    """An optional non-empty name."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise RolesFileError(f"{identity} in {source} has an empty or non-text {key}.")
    return value.strip()


def scope_for(db: Database, roles: Roles, who: SignIn | str) -> Scope:
    """The scope of a signed-in person, names resolved to ids in the database.

    ``who`` is a sign-in (its claims decide which entry applies, see ``Roles.match``) or
    the key of an entry. An identity the file does not list, or whose names match
    nothing (or, for a therapist name two practices share, more than one person), sees
    nothing: a mistake in the file must never show someone else's data.
    """
    if isinstance(who, str):
        return _entry_scope(db, roles.find(who), who)
    scope = _entry_scope(db, roles.match(who), roles.identity_of(who))
    return replace(scope, issuer=who.issuer or None, subject=who.subject or None)


def _entry_scope(db: Database, entry: RoleEntry | None, identity: str) -> Scope:
    """The scope one roles-file entry gives ``identity``."""
    if entry is None:
        return Scope.nobody(identity)
    if entry.role == "admin":
        return Scope.admin(identity)
    if entry.role == "supervisor":
        wanted = [name.lower() for name in entry.practices]
        found = db.frame(
            "SELECT practice_id, lower(name) AS name FROM practices "
            "WHERE list_contains(?, lower(name)) ORDER BY practice_id",
            [wanted],
        )
        if set(found["name"]) != set(wanted):
            return Scope.nobody(identity)
        return Scope.supervisor(identity, tuple(int(value) for value in found["practice_id"]))
    found = db.frame(
        """
        SELECT t.therapist_id
        FROM therapists AS t JOIN practices AS p USING (practice_id)
        WHERE lower(t.name) = lower(?) AND (CAST(? AS VARCHAR) IS NULL OR lower(p.name) = lower(?))
        """,
        [entry.therapist, entry.practice, entry.practice],
    )
    if len(found) != 1:
        return Scope.nobody(identity)
    return Scope.therapist(identity, (int(found["therapist_id"].iloc[0]),))
