"""The one context a command runs in: its arguments, who runs it, and its database.

``main`` builds one ``Context`` per run and hands it to the command's handler. Every
command therefore opens its database one way (``ctx.db``: a command that only reads never
creates a file, so a typo in ``--db`` says so instead) and acts under one identity
(``ctx.scope``: local mode, named by the OS account), which the audit log records for every
command alike.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from analytics.access.filters import ContactFilter
from analytics.access.scope import Scope, local_user
from analytics.errors import DatabaseError
from analytics.storage.database import Database, default_db_path

MISSING_DATABASE = (
    "The database {path} does not exist; check the path given with --db (or "
    "$CONTACTLOAD_DB), or create it with `contactload import FILE` or `contactload demo`."
)

READING_COMMANDS = (
    "summary",
    "sessions",
    "compliance",
    "compare",
    "billing",
    "billing rules show",
    "billing rules export",
    "report",
    "batches",
    "export",
    "backup",
    "boundaries show",
    "boundaries export",
    "phones list",
    "phones region",
    "settings show",
    "audit",
)
"""Commands that only read (``phones region`` without a region): on a file that does not
exist they say so and create nothing. So do ``undo``, ``erase-client``, ``phones unmap`` and
``boundaries load``, which can only act on rows (practices, therapists) already stored.
Commands that add data (``demo``, ``import``, ``restore``, ``phones map``, ``phones region
REGION``, ``settings set``, ``billing rules load``) create the database when it is new;
each command's ``creates`` says which it is."""


def cli_scope() -> Scope:
    """The command line runs as the machine's own user: local mode, sees everything, and
    the audit log names the OS account (every command, one rule)."""
    return local_user()


@dataclass
class Context:
    """One run of one command: its arguments, its identity and its database."""

    args: argparse.Namespace
    scope: Scope = field(default_factory=cli_scope)
    creates: bool = False
    """Whether this run may create the database file (see ``READING_COMMANDS``)."""

    @property
    def identity(self) -> str:
        """Who the audit log names for this run."""
        return self.scope.identity

    @property
    def db_path(self) -> Path:
        """The database file of ``--db`` (or ``$CONTACTLOAD_DB``, or the default)."""
        return Path(getattr(self.args, "db", None) or default_db_path())

    @cached_property
    def db(self) -> Database:
        """The database, opened on first use: a file that does not exist is refused in one
        sentence unless this command creates it."""
        path = self.db_path
        if not self.creates and not path.exists():
            raise DatabaseError(MISSING_DATABASE.format(path=path))
        return Database(path)

    @property
    def output(self) -> str:
        """How rows are printed: ``table``, ``json`` or ``csv``."""
        if getattr(self.args, "json", False):
            return "json"
        if getattr(self.args, "csv", False):
            return "csv"
        return "table"

    @property
    def keys(self) -> bool:
        """Name clients by pseudonymous key (``--keys``) instead of label."""
        return bool(getattr(self.args, "keys", False))

    def filters(self, **narrowed: Any) -> ContactFilter:
        """The contacts of ``--from``/``--to`` this identity sees, narrowed further by
        ``narrowed`` (therapist ids, channels...)."""
        return ContactFilter(
            start=getattr(self.args, "start", None),
            end=getattr(self.args, "end", None),
            scope=self.scope,
            **narrowed,
        )

    def record_shown(self, what: str) -> None:
        """Record in the audit log that the command took data out to the terminal (or a
        pipe), under this run's identity."""
        from analytics.storage import audit

        audit.record(self.db, self.scope, "export", f"{what} to the terminal")
