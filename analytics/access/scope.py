"""Who may see what: the viewer's scope, applied in SQL by every measure.

Local mode has one user who sees everything. In team mode each signed-in identity gets a
role and a scope from the roles file: a therapist sees their own data, a supervisor the
practices listed (with pseudonymous client keys, never labels), an admin everything. The
scope travels inside ``ContactFilter`` (or as a ``scope`` argument where a function takes
no filter), so the library, not the pages, decides which rows come back.
"""

from __future__ import annotations

import getpass
from dataclasses import dataclass, replace
from typing import Literal, LiteralString

from analytics.errors import PermissionDeniedError
from analytics.storage.sql import FALSE, TRUE, Fragment, all_of, identifier, in_list, query

Role = Literal["local", "admin", "supervisor", "therapist", "none"]
ROLES: tuple[Role, ...] = ("local", "admin", "supervisor", "therapist", "none")


@dataclass(frozen=True)
class Scope:
    """One viewer: their identity, role, and the practices and therapists they may see.

    ``None`` for ``practice_ids`` or ``therapist_ids`` means "no limit on this level";
    an empty tuple means "none at all".
    """

    role: Role = "local"
    identity: str = "local"
    practice_ids: tuple[int, ...] | None = None
    therapist_ids: tuple[int, ...] | None = None
    issuer: str | None = None
    """Team mode: the identity provider that vouched for this person (``iss``)."""
    subject: str | None = None
    """Team mode: the provider's id for this person (``sub``), recorded in the audit log."""

    @classmethod
    def local(cls) -> Scope:
        """The single user of local mode: everything, labels included."""
        return cls()

    @classmethod
    def admin(cls, identity: str) -> Scope:
        """A team-mode admin: everything, and may import, undo and edit any boundary."""
        return cls(role="admin", identity=identity)

    @classmethod
    def supervisor(cls, identity: str, practice_ids: tuple[int, ...]) -> Scope:
        """A supervisor of the listed practices: their data under pseudonymous keys."""
        return cls(role="supervisor", identity=identity, practice_ids=tuple(practice_ids))

    @classmethod
    def therapist(cls, identity: str, therapist_ids: tuple[int, ...]) -> Scope:
        """A therapist: their own clients and contacts only."""
        return cls(role="therapist", identity=identity, therapist_ids=tuple(therapist_ids))

    @classmethod
    def nobody(cls, identity: str) -> Scope:
        """An identity the roles file does not know: sees nothing."""
        return cls(role="none", identity=identity, practice_ids=(), therapist_ids=())

    @property
    def sees_everything(self) -> bool:
        """True when no row is outside this scope."""
        return self.role != "none" and self.practice_ids is None and self.therapist_ids is None

    @property
    def sees_nothing(self) -> bool:
        """True for unknown identities (and any scope narrowed to nothing)."""
        return self.role == "none" or self.practice_ids == () or self.therapist_ids == ()

    @property
    def shows_labels(self) -> bool:
        """Whether client labels may be shown; supervisors see pseudonymous keys only."""
        return self.role in ("local", "admin", "therapist")

    def client_name(self, alias: str) -> str:
        """The SQL naming a client of ``clients AS alias`` to this viewer: the label, or the
        pseudonymous key for viewers who see no labels (the one label-or-key rule).

        ``alias`` is a fixed table alias chosen by the calling module, never user input.
        """
        return f"{alias}.label" if self.shows_labels else f"{alias}.client_key"

    def client_name_fragment(self, alias: LiteralString) -> Fragment:
        """``client_name`` as a fragment for a ``query()`` slot."""
        return Fragment(self.client_name(alias))

    @property
    def may_import(self) -> bool:
        """Importing and undoing imports change everyone's data: local mode and admins."""
        return self.role in ("local", "admin")

    def may_edit_boundaries(self, therapist_id: int) -> bool:
        """Admins edit any boundary, therapists their own; supervisors only read."""
        if self.role in ("local", "admin"):
            return True
        return (
            self.role == "therapist"
            and self.therapist_ids is not None
            and therapist_id in self.therapist_ids
        )

    def require_import(self) -> None:
        """Refuse, in one sentence, a viewer who may not import or undo imports."""
        if not self.may_import:
            raise PermissionDeniedError(
                f"{self.identity} ({self.role}) may not import or undo imports; ask an admin."
            )

    def require_boundary_edit(self, therapist_id: int) -> None:
        """Refuse, in one sentence, a viewer who may not edit this therapist's boundaries."""
        if not self.may_edit_boundaries(therapist_id):
            raise PermissionDeniedError(
                f"{self.identity} ({self.role}) may not change this therapist's boundaries."
            )

    def fragment(self, alias: LiteralString) -> Fragment:
        """The viewer's rows of ``alias`` (a fixed table alias with ``practice_id`` and
        ``therapist_id``), as a query-kit fragment with its own parameters."""
        if self.sees_nothing:
            return FALSE
        return all_of(
            TRUE
            if self.practice_ids is None
            else in_list(f"{alias}.practice_id", "scope_practices", self.practice_ids),
            TRUE
            if self.therapist_ids is None
            else in_list(f"{alias}.therapist_id", "scope_therapists", self.therapist_ids),
        )

    def client_fragment(self, alias: LiteralString) -> Fragment:
        """The viewer's clients of ``clients AS alias``: clients listed under the scope, and
        clients a therapist in scope had a contact or session with (a colleague's client one
        stood in for). ``alias`` is a fixed table alias chosen by the calling module."""
        listed = self.fragment(alias)
        if listed.always or listed.text == "FALSE":
            return listed
        return query(
            "({listed} OR EXISTS (SELECT 1 FROM contacts AS scope_k "
            "WHERE scope_k.client_id = {alias}.client_id AND {contacted}) "
            "OR EXISTS (SELECT 1 FROM sessions AS scope_s "
            "WHERE scope_s.client_id = {alias}.client_id AND {seen}))",
            listed=listed,
            alias=identifier(alias),
            contacted=self.fragment("scope_k"),
            seen=self.fragment("scope_s"),
        )


LOCAL = Scope.local()
"""The scope of local mode (and of the CLI, which runs as the machine's own user)."""


def os_account() -> str:
    """The OS account running this process: who acts in local mode."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no password-file entry (containers)
        return "unknown user"


def local_user() -> Scope:
    """Local mode's one user (the command line, the dashboard on 127.0.0.1), named by the
    OS account: the identity rule of the audit log is the OS account in local mode and
    the signed-in identity in team mode."""
    return replace(LOCAL, identity=os_account())
