"""Therapist and client names in boundary settings, resolved to the ids the tables store.

Names are resolved by the one resolver (``analytics.access.names``), so a name that matches
nobody reads the same here as on the command line; its sentence is raised again as an
``InvalidBoundaryError``, which settings files prefix with the row or entry it came from.
Also the SQL naming a client to a viewer (label, or pseudonymous key) as a query-kit fragment.
"""

import duckdb

from analytics.access import names
from analytics.access.names import Therapist
from analytics.access.scope import LOCAL, Scope
from analytics.errors import InvalidFilterError
from analytics.policy.agreements import InvalidBoundaryError
from analytics.storage.sql import Fragment, sql

__all__ = ["Therapist", "client_name", "find_client", "find_therapist"]


def client_name(scope: Scope | None) -> Fragment:
    """How ``clients AS c`` is named to the viewer: the label, or the pseudonymous key for
    viewers who see no labels (the rule of ``Scope.client_name``)."""
    return sql("c.label") if (scope or LOCAL).shows_labels else sql("c.client_key")


def find_therapist(
    cursor: duckdb.DuckDBPyConnection,
    therapist: str,
    practice: str | None,
    scope: Scope | None = None,
) -> Therapist:
    """The one therapist of that name (in that practice, when given), or a clear error.

    With a ``scope``, therapists outside it are unknown (readers); writers look up
    without one and then ask the scope for permission, so a refusal says so.
    """
    try:
        return names.find_therapist(cursor, therapist, practice, scope)
    except InvalidFilterError as error:
        raise InvalidBoundaryError(str(error)) from None


def find_client(
    cursor: duckdb.DuckDBPyConnection,
    therapist: Therapist,
    client: str,
    scope: Scope | None = None,
) -> int:
    """The id of a client the therapist sees (listed as theirs, or with contacts with them).

    With a ``scope``, only its clients are found, by label, or by client key for viewers
    who see keys instead of labels.
    """
    try:
        return names.find_client(cursor, client, scope, therapist=therapist).client_id
    except InvalidFilterError as error:
        raise InvalidBoundaryError(str(error)) from None
