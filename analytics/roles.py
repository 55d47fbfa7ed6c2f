"""The roles file of team mode: who signs in as what, and what they may see.

A TOML file maps each identity (the e-mail claim the identity provider sends, or its
``sub`` where there is no e-mail) to a role. Names in it are the names people know
(therapist and practice names as stored); ``scope_for`` turns them into ids in SQL when
someone signs in, so a roles file written before an import keeps working after it.

    [users."dana@northside.example"]
    role = "therapist"
    therapist = "Dana Whitfield"
    practice = "Northside Psychology"   # only needed when two therapists share a name

    [users."lee@northside.example"]
    role = "supervisor"
    practices = ["Northside Psychology"]

    [users."it@northside.example"]
    role = "admin"

Anything the file does not say is refused with one sentence, so a typo never widens or
silently narrows what someone sees.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from analytics.db import Database
from analytics.errors import ContactLoadError
from analytics.scope import Scope

TeamRole = Literal["admin", "supervisor", "therapist"]
TEAM_ROLES: tuple[TeamRole, ...] = ("admin", "supervisor", "therapist")

ROLE_KEYS: dict[TeamRole, tuple[str, ...]] = {
    "admin": ("role",),
    "supervisor": ("role", "practices"),
    "therapist": ("role", "therapist", "practice"),
}
"""The keys each role's entry may have (an allow-list: anything else is a typo)."""


class RolesFileError(ContactLoadError):
    """The roles file is missing, unreadable or says something it may not."""


@dataclass(frozen=True)
class RoleEntry:
    """One identity's line in the roles file, with names as written there."""

    identity: str
    role: TeamRole
    therapist: str | None = None
    practice: str | None = None
    practices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Roles:
    """Every entry of one roles file, looked up by identity."""

    entries: tuple[RoleEntry, ...]

    def find(self, identity: str) -> RoleEntry | None:
        """The entry for this identity (e-mail addresses match whatever their case)."""
        wanted = normalise_identity(identity)
        for entry in self.entries:
            if entry.identity == wanted:
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
    """Check a parsed roles document: one ``[users."identity"]`` table per person."""
    unknown = sorted(set(document) - {"users"})
    if unknown:
        raise RolesFileError(
            f"Unknown section {unknown[0]!r} in {source}; "
            'put every person under [users."their e-mail"].'
        )
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
    return Roles(tuple(entries))


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


def scope_for(db: Database, roles: Roles, identity: str) -> Scope:
    """The scope of a signed-in identity, names resolved to ids in the database.

    An identity the file does not list, or whose names match nothing (or, for a
    therapist name two practices share, more than one person), sees nothing: a
    mistake in the file must never show someone else's data.
    """
    entry = roles.find(identity)
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
