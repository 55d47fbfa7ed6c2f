"""The audit log: who signed in, imported, undid, edited boundaries, exported or erased.

Who: the OS account for the command line and the local dashboard, the signed-in identity
in team mode with the provider (issuer) and its subject id for the person beside it.

Entries are written in the same transaction as the change they record where there is one
(pass the open cursor), so a rolled-back import leaves no entry claiming it happened.
Details are short descriptions (file names, batch ids, counts), never client data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from analytics.access.scope import Scope
from analytics.storage.database import Database

if TYPE_CHECKING:
    import pandas as pd

ACTIONS = (
    "sign_in",
    "sign_out",
    "import",
    "undo",
    "boundary_edit",
    "export",
    "report",
    "erase_client",
    "backup",
    "restore",
    "settings",
    "alert_dismiss",
    "reclassify",
)
"""Every action the log records (an allow-list)."""


def record(
    target: Database | duckdb.DuckDBPyConnection, scope: Scope, action: str, detail: str = ""
) -> None:
    """Add one entry: ``target`` is the database, or a cursor inside the change's
    transaction so the entry commits (or rolls back) with it."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    sql = (
        "INSERT INTO audit_log (identity, role, action, detail, issuer, subject) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )
    params = [scope.identity, scope.role, action, detail, scope.issuer, scope.subject]
    if isinstance(target, Database):
        with target.transaction() as cursor:
            cursor.execute(sql, params)
    else:
        target.execute(sql, params)


def entries(db: Database, scope: Scope, limit: int = 500) -> pd.DataFrame:
    """The newest entries: everything for local mode and admins, one's own otherwise."""
    if scope.role in ("local", "admin"):
        return db.frame(
            "SELECT logged_at, identity, role, action, detail, issuer, subject FROM audit_log "
            "ORDER BY entry_id DESC LIMIT ?",
            [limit],
        )
    return db.frame(
        "SELECT logged_at, identity, role, action, detail, issuer, subject FROM audit_log "
        "WHERE identity = ? ORDER BY entry_id DESC LIMIT ?",
        [scope.identity, limit],
    )
