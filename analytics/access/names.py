"""Names as people type them: the one resolver of therapists, practices and clients.

A therapist is named by name (and practice, when two practices have one of that name), a
practice by name, a client by label (where the viewer sees labels) or by pseudonymous key.
Every caller (the command line, the report, boundary settings, phone logs) resolves names
here, so a name that matches nobody, or more than one, reads the same everywhere: one
sentence per case, saying what to check or what to add.

Two kinds of look-up:

- ``find_therapist`` / ``find_practice`` / ``find_client``: exactly one, or a sentence
  (``UnknownNameError`` when nobody matches, ``AmbiguousNameError`` naming the practices
  when several do);
- ``therapist_ids`` / ``practice_ids`` / ``client_keys``: every match of several names, for
  filters (a filter on a name shared by two practices selects both), with the unknown ones
  refused in one sentence.

With a ``scope``, only what that viewer sees is found (a name outside it is unknown, so the
answer reveals nothing). ``scope=None`` looks everywhere: for writers that find first and
then ask the scope for permission, so a refusal says so.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import duckdb

from analytics.access.scope import Scope
from analytics.errors import InvalidFilterError
from analytics.storage.database import Database
from analytics.storage.sql import TRUE, Fragment, execute, query, sql

THERAPIST_UNKNOWN = (
    "There is no therapist called {names}; check the spelling or import their contacts first."
)
THERAPIST_UNKNOWN_AT = (
    "There is no therapist called {names} at {practice}; check the spelling or import their "
    "contacts first."
)
THERAPIST_AMBIGUOUS = "There are therapists called {name} at {practices}; name the practice too."
PRACTICE_UNKNOWN = (
    "There is no practice called {names}; check the spelling or import its contacts first."
)
CLIENT_UNKNOWN = "There is no client called {names}; check the spelling or give the client's key."
CLIENT_UNKNOWN_OF = (
    "There is no client called {names} of {therapist} at {practice}; check the spelling."
)
CLIENT_NOT_THEIRS = "{name} is not a client of {therapist} at {practice}; check the therapist."
CLIENT_AMBIGUOUS = (
    "There are clients called {name} at {practices}; name the practice too, or give the "
    "client's key."
)
"""The sentences, one per case (``{names}``: the names quoted, joined with "or")."""


class UnknownNameError(InvalidFilterError):
    """A therapist, practice or client name that matches nobody the viewer may see."""


class AmbiguousNameError(InvalidFilterError):
    """A name that matches more than one therapist or client; the sentence says what to add."""


@dataclass(frozen=True)
class Therapist:
    """A therapist found by name, with their practice and time zone."""

    therapist_id: int
    name: str
    practice_id: int
    practice: str
    time_zone: str


@dataclass(frozen=True)
class Practice:
    """A practice found by name."""

    practice_id: int
    name: str


@dataclass(frozen=True)
class Client:
    """A client found by label or key (``label`` is None for viewers who see no labels)."""

    client_id: int
    client_key: str
    label: str | None
    practice_id: int


Source = Database | duckdb.DuckDBPyConnection
"""Where names are looked up: a database, or the cursor of a transaction under way."""


def quoted(names: Sequence[str]) -> str:
    """Names as a sentence shows them: ``'Ana'``, ``'Ana' or 'Ben'``."""
    return " or ".join(repr(name) for name in names)


def _and(names: Sequence[str]) -> str:
    return ", ".join(names[:-1]) + " and " + names[-1] if len(names) > 1 else "".join(names)


@contextmanager
def _cursor(source: Source) -> Iterator[duckdb.DuckDBPyConnection]:
    if isinstance(source, Database):
        with source.cursor() as cursor:
            yield cursor
    else:
        yield source


def _rows(source: Source, fragment: Fragment) -> list[tuple[Any, ...]]:
    with _cursor(source) as cursor:
        return list(execute(cursor, fragment).fetchall())


def _therapists_in(scope: Scope | None) -> Fragment:
    return TRUE if scope is None else scope.fragment("t")


def _practices_in(scope: Scope | None) -> Fragment:
    """Practices the viewer sees: those of a therapist in scope (any, without a scope)."""
    if scope is None:
        return TRUE
    return query(
        "EXISTS (SELECT 1 FROM therapists AS t WHERE t.practice_id = p.practice_id AND {seen})",
        seen=scope.fragment("t"),
    )


def _clients_in(scope: Scope | None) -> tuple[Fragment, Fragment]:
    """The viewer's clients of ``clients AS c``, and how they may be named (label or key)."""
    if scope is None:
        return TRUE, sql("(c.client_key = n.name OR c.label = n.name)")
    named = (
        sql("(c.client_key = n.name OR c.label = n.name)")
        if scope.shows_labels
        else sql("c.client_key = n.name")
    )
    return scope.client_fragment("c"), named


def _stripped(names: Sequence[str]) -> list[str]:
    return sorted({name.strip() for name in names})


# --- exactly one ---------------------------------------------------------------------------


def find_therapist(
    source: Source, name: str, practice: str | None = None, scope: Scope | None = None
) -> Therapist:
    """The one therapist called ``name`` (at ``practice``, when given), or one sentence."""
    therapist = name.strip()
    at = practice.strip() if practice else None
    rows = _rows(
        source,
        query(
            """
            SELECT t.therapist_id, t.name, p.practice_id, p.name, t.time_zone
            FROM therapists AS t JOIN practices AS p ON p.practice_id = t.practice_id
            WHERE t.name = $therapist_name
              AND (CAST($practice_name AS VARCHAR) IS NULL OR p.name = $practice_name)
              AND {seen}
            ORDER BY p.name
            """,
            seen=_therapists_in(scope),
            therapist_name=therapist,
            practice_name=at,
        ),
    )
    if len(rows) == 1:
        found = rows[0]
        return Therapist(int(found[0]), str(found[1]), int(found[2]), str(found[3]), str(found[4]))
    if rows:
        practices = _and([str(row[3]) for row in rows])
        raise AmbiguousNameError(
            THERAPIST_AMBIGUOUS.format(name=quoted([therapist]), practices=practices)
        )
    if at is None:
        raise UnknownNameError(THERAPIST_UNKNOWN.format(names=quoted([therapist])))
    find_practice(source, at, scope)  # an unknown practice is the mistake to name
    raise UnknownNameError(THERAPIST_UNKNOWN_AT.format(names=quoted([therapist]), practice=at))


def find_practice(source: Source, name: str, scope: Scope | None = None) -> Practice:
    """The practice called ``name``, or one sentence."""
    rows = _rows(
        source,
        query(
            "SELECT p.practice_id, p.name FROM practices AS p "
            "WHERE p.name = $practice_name AND {seen}",
            seen=_practices_in(scope),
            practice_name=name.strip(),
        ),
    )
    if not rows:
        raise UnknownNameError(PRACTICE_UNKNOWN.format(names=quoted([name.strip()])))
    return Practice(int(rows[0][0]), str(rows[0][1]))


def find_client(
    source: Source,
    name: str,
    scope: Scope | None = None,
    *,
    therapist: Therapist | None = None,
    practice: str | None = None,
) -> Client:
    """The one client called ``name`` (label or key), or one sentence. With ``therapist``,
    a client of their practice they see (listed as theirs, or with contacts with them)."""
    client = name.strip()
    seen, named = _clients_in(scope)
    rows = _rows(
        source,
        query(
            """
            SELECT c.client_id, c.client_key, c.label, c.practice_id, p.name,
                   c.therapist_id IS NOT DISTINCT FROM $client_therapist OR EXISTS (
                       SELECT 1 FROM contacts AS k
                       WHERE k.client_id = c.client_id AND k.therapist_id = $client_therapist
                   ) AS theirs
            FROM (SELECT $client_name AS name) AS n
            JOIN clients AS c ON {named}
            JOIN practices AS p ON p.practice_id = c.practice_id
            WHERE {seen}
              AND (CAST($client_practice AS INTEGER) IS NULL OR c.practice_id = $client_practice)
              AND (CAST($practice_name AS VARCHAR) IS NULL OR p.name = $practice_name)
            ORDER BY p.name
            """,
            named=named,
            seen=seen,
            client_name=client,
            client_therapist=None if therapist is None else therapist.therapist_id,
            client_practice=None if therapist is None else therapist.practice_id,
            practice_name=practice.strip() if practice else None,
        ),
    )
    if therapist is not None:
        if not rows:
            raise UnknownNameError(
                CLIENT_UNKNOWN_OF.format(
                    names=quoted([client]), therapist=therapist.name, practice=therapist.practice
                )
            )
        if not rows[0][5]:
            raise UnknownNameError(
                CLIENT_NOT_THEIRS.format(
                    name=quoted([client]), therapist=therapist.name, practice=therapist.practice
                )
            )
    if not rows:
        raise UnknownNameError(CLIENT_UNKNOWN.format(names=quoted([client])))
    if len(rows) > 1:
        practices = _and(sorted({str(row[4]) for row in rows}))
        raise AmbiguousNameError(
            CLIENT_AMBIGUOUS.format(name=quoted([client]), practices=practices)
        )
    found = rows[0]
    label = str(found[2]) if scope is None or scope.shows_labels else None
    return Client(int(found[0]), str(found[1]), label, int(found[3]))


# --- every match, for filters ------------------------------------------------------------------


def _ids_named(source: Source, found: Fragment, wanted: list[str], unknown: str) -> tuple[int, ...]:
    """The ids ``found`` yields as (id, name) rows, or the ``unknown`` sentence naming the
    wanted names that match no row."""
    rows = _rows(source, found)
    missing = [name for name in wanted if name not in {row[1] for row in rows}]
    if missing:
        raise UnknownNameError(unknown.format(names=quoted(missing)))
    return tuple(int(row[0]) for row in rows)


def therapist_ids(source: Source, names: Sequence[str], scope: Scope | None) -> tuple[int, ...]:
    """The ids of every therapist called one of ``names`` (all practices), or one sentence
    naming those that match nobody."""
    if not names:
        return ()
    wanted = _stripped(names)
    found = query(
        "SELECT t.therapist_id, t.name FROM therapists AS t "
        "WHERE list_contains($therapist_names, t.name) AND {seen} ORDER BY t.therapist_id",
        seen=_therapists_in(scope),
        therapist_names=wanted,
    )
    return _ids_named(source, found, wanted, THERAPIST_UNKNOWN)


def practice_ids(source: Source, names: Sequence[str], scope: Scope | None) -> tuple[int, ...]:
    """The ids of the practices called ``names``, or one sentence naming those unknown."""
    if not names:
        return ()
    wanted = _stripped(names)
    found = query(
        "SELECT p.practice_id, p.name FROM practices AS p "
        "WHERE list_contains($practice_names, p.name) AND {seen} ORDER BY p.practice_id",
        seen=_practices_in(scope),
        practice_names=wanted,
    )
    return _ids_named(source, found, wanted, PRACTICE_UNKNOWN)


def client_keys(source: Source, names: Sequence[str], scope: Scope | None) -> tuple[str, ...]:
    """The pseudonymous keys of every client named (label or key) by ``names``, or one
    sentence naming those that match nobody the viewer sees."""
    if not names:
        return ()
    wanted = _stripped(names)
    seen, named = _clients_in(scope)
    rows = _rows(
        source,
        query(
            """
            SELECT DISTINCT n.name, c.client_key
            FROM unnest($client_names) AS n(name)
            JOIN clients AS c ON {named}
            WHERE {seen}
            """,
            named=named,
            seen=seen,
            client_names=wanted,
        ),
    )
    unknown = [name for name in wanted if name not in {row[0] for row in rows}]
    if unknown:
        raise UnknownNameError(CLIENT_UNKNOWN.format(names=quoted(unknown)))
    return tuple(sorted({str(row[1]) for row in rows}))
