"""Commands that look after the installation: ``backup`` and ``restore``, ``erase-client``,
``settings show|set`` and ``audit`` (the audit log, newest first).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from analytics.cli.command import DB, JSON, OUTPUT, command, group, option, positive
from analytics.cli.output import emit

if TYPE_CHECKING:
    from analytics.cli.context import Context


@command("backup", help="write a consistent copy of the database", shared=(DB,))
@option("--out", type=Path, required=True, help="a new .duckdb file")
def backup(ctx: Context) -> int:
    """``contactload backup --out FILE``: a consistent, checked copy."""
    from analytics.storage.care import backup

    result = backup(ctx.db, ctx.scope, ctx.args.out)
    print(
        f"Backed up {result.rows.get('contacts', 0):,} contacts and "
        f"{result.rows.get('sessions', 0):,} sessions to {result.path}."
    )
    return 0


@command("restore", help="put a backup in place of the database", shared=(DB,), creates=True)
@option("backup_file", type=Path, metavar="FILE")
@option("--force", action="store_true", help="replace an existing database")
def restore(ctx: Context) -> int:
    """``contactload restore FILE``: a checked copy of the backup replaces the database."""
    from analytics.storage.care import restore

    result = restore(ctx.scope, ctx.args.backup_file, ctx.db_path, force=ctx.args.force)
    print(
        f"Restored {result.rows.get('contacts', 0):,} contacts and "
        f"{result.rows.get('sessions', 0):,} sessions from {ctx.args.backup_file} to "
        f"{result.path}."
    )
    return 0


@command("erase-client", help="delete every row of one client", shared=(DB,))
@option("--client", required=True, help="the client's pseudonymous key")
def erase_client(ctx: Context) -> int:
    """``contactload erase-client --client KEY``: every row of one client, gone."""
    from analytics.storage.care import erase_client

    erasure = erase_client(ctx.db, ctx.scope, ctx.args.client)
    print(f"Erased client {erasure.client_key}: {erasure.described} removed.")
    print(
        f"The audit log and the list of erased clients keep only {erasure.erasure_ref}; "
        + (
            "the file was rewritten, so nothing of the client stays in it."
            if erasure.rewritten
            else "the file is rewritten at the next start to wipe the freed space."
        )
        + " Later imports skip this client's rows."
    )
    return 0


group("settings", help="show or change the installation's settings")


@command("settings", "show", help="every setting with its value, unit and range", shared=(DB, JSON))
def settings_show(ctx: Context) -> int:
    """``contactload settings show``: each setting with its value and range."""
    from analytics.storage.settings import SETTINGS, get_setting

    rows = [
        {
            "key": setting.key,
            "label": setting.label,
            "value": get_setting(ctx.db, setting.key),
            "unit": setting.unit,
            "default": float(setting.default),
            "minimum": float(setting.minimum),
            "maximum": float(setting.maximum),
        }
        for setting in SETTINGS.values()
    ]
    emit(
        ctx,
        rows,
        lambda: "\n".join(
            f"{row['key']} = {row['value']:g} {row['unit']}  ({row['label']}; "
            f"{row['minimum']:g} to {row['maximum']:g} {row['unit']}, "
            f"default {row['default']:g} {row['unit']})"
            for row in rows
        ),
        empty="",
    )
    return 0


@command(
    "settings",
    "set",
    help="change one setting (checked against its range)",
    shared=(DB,),
    creates=True,
)
@option("key", metavar="KEY")
@option("value", metavar="VALUE")
def settings_set(ctx: Context) -> int:
    """``contactload settings set KEY VALUE``: checked against the setting's range."""
    from analytics.storage.settings import SETTINGS, InvalidSettingError, get_setting, set_setting

    key, text = ctx.args.key, ctx.args.value
    try:
        value = float(text)
    except ValueError:
        raise InvalidSettingError(
            f"{text!r} is not a number; give {key} as a number like 2 or 1.5."
        ) from None
    set_setting(ctx.db, key, value, scope=ctx.scope)
    print(f"{key} = {get_setting(ctx.db, key):g} {SETTINGS[key].unit}")
    return 0


@command("audit", help="the audit log, newest first", shared=(DB, OUTPUT))
@option("--limit", type=positive, default=50, help="how many entries (default 50)")
def audit(ctx: Context) -> int:
    """``contactload audit``: the newest entries of the audit log."""
    from analytics.storage.audit import entries

    log = entries(ctx.db, ctx.scope, limit=ctx.args.limit)
    rows = [
        {
            "logged_at": logged_at.isoformat(),
            "identity": identity,
            "role": role,
            "action": action,
            "detail": detail or "",
            "issuer": issuer if isinstance(issuer, str) else None,
            "subject": subject if isinstance(subject, str) else None,
        }
        for logged_at, identity, role, action, detail, issuer, subject in log.itertuples(
            index=False
        )
    ]

    def line(row: dict[str, str | None]) -> str:
        signed = f" [{row['issuer']} {row['subject']}]" if row["subject"] else ""
        detail = f": {row['detail']}" if row["detail"] else ""
        who = f"{row['identity']} ({row['role']}){signed}"
        return f"{row['logged_at']}  {who}  {row['action']}{detail}"

    emit(ctx, rows, lambda: "\n".join(line(row) for row in rows), empty="The audit log is empty.")
    return 0
