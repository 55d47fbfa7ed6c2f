"""Therapist and client names to the ids the boundary tables store, or one clear sentence."""

from dataclasses import dataclass

import duckdb

from analytics.access.scope import LOCAL, Scope
from analytics.policy.agreements import InvalidBoundaryError


@dataclass(frozen=True)
class Therapist:
    therapist_id: int
    name: str
    practice: str
    time_zone: str


def named_scope(
    scope: Scope | None, alias: str, *, clients: bool = False
) -> tuple[str, dict[str, object]]:
    """``scope.where(alias)`` (``client_where`` for ``clients``) with named parameters, for
    this module's ``$name`` queries."""
    if scope is None:
        return "TRUE", {}
    sql, values = scope.client_where(alias) if clients else scope.where(alias)
    named: dict[str, object] = {}
    for number, value in enumerate(values):
        sql = sql.replace("?", f"$scope_{number}", 1)
        named[f"scope_{number}"] = value
    return sql, named


def client_column(scope: Scope | None) -> str:
    """How a client is named: the label, or the pseudonymous key for supervisors."""
    return (scope or LOCAL).client_name("c")


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
    in_scope, scope_params = named_scope(scope, "t")
    rows = cursor.execute(
        f"""
        SELECT t.therapist_id, t.name, p.name, t.time_zone
        FROM therapists AS t JOIN practices AS p ON p.practice_id = t.practice_id
        WHERE t.name = $therapist
          AND (CAST($practice AS VARCHAR) IS NULL OR p.name = $practice)
          AND {in_scope}
        ORDER BY p.name
        """,  # noqa: S608 - the scope condition is fixed text with parameters
        {
            "therapist": therapist.strip(),
            "practice": practice.strip() if practice else None,
            **scope_params,
        },
    ).fetchall()
    if len(rows) == 1:
        return Therapist(*rows[0])
    if rows:
        practices = " and ".join(str(row[2]) for row in rows)
        raise InvalidBoundaryError(
            f"There are therapists named '{therapist}' at {practices}; name the practice too."
        )
    if practice:
        known = cursor.execute(
            f"""
            SELECT count(*) FROM practices AS p
            WHERE p.name = $practice AND (
                CAST($scoped AS BOOLEAN) IS NOT TRUE OR EXISTS (
                    SELECT 1 FROM therapists AS t
                    WHERE t.practice_id = p.practice_id AND {in_scope}
                )
            )
            """,  # noqa: S608 - the scope condition is fixed text with parameters
            {"practice": practice.strip(), "scoped": scope is not None, **scope_params},
        )
        row = known.fetchone()
        if not row or row[0] == 0:
            raise InvalidBoundaryError(
                f"Unknown practice '{practice}'; check the spelling or import its contacts first."
            )
        raise InvalidBoundaryError(
            f"Unknown therapist '{therapist}' at {practice}; check the spelling or import "
            "their contacts first."
        )
    raise InvalidBoundaryError(
        f"Unknown therapist '{therapist}'; check the spelling or import their contacts first."
    )


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
    in_scope, scope_params = named_scope(scope, "c", clients=True)
    row = cursor.execute(
        f"""
        SELECT c.client_id,
               c.therapist_id = $therapist_id OR EXISTS (
                   SELECT 1 FROM contacts AS k
                   WHERE k.client_id = c.client_id AND k.therapist_id = $therapist_id
               )
        FROM clients AS c JOIN therapists AS t ON t.practice_id = c.practice_id
        WHERE t.therapist_id = $therapist_id AND {client_column(scope)} = $label
          AND {in_scope}
        """,  # noqa: S608 - column and scope condition are fixed text
        {"therapist_id": therapist.therapist_id, "label": client.strip(), **scope_params},
    ).fetchone()
    if row is None:
        raise InvalidBoundaryError(
            f"Unknown client '{client}' of {therapist.name} at {therapist.practice}; "
            "check the spelling."
        )
    if not row[1]:
        raise InvalidBoundaryError(
            f"'{client}' is not a client of {therapist.name} at {therapist.practice}; "
            "check the therapist."
        )
    return int(row[0])
