"""Boundary commands: ``boundaries show|load FILE|export FILE`` (the agreed boundary settings
and working hours per therapist, as text or as a .toml/.csv file).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from analytics.cli.command import DB, command, group, option

if TYPE_CHECKING:
    from analytics.cli.context import Context

group("boundaries", help="show, load or export boundary settings and working hours")


@command("boundaries", "show", help="list settings and working hours per therapist", shared=(DB,))
@option("--therapist", default=None, help="only this therapist")
@option("--practice", default=None, help="the therapist's practice, when ambiguous")
def show(ctx: Context) -> int:
    """``contactload boundaries show``: each therapist's settings and working hours."""
    from analytics.policy import in_force, words

    db, scope, args = ctx.db, ctx.scope, ctx.args
    settings = in_force.stored_settings(db, scope, args.therapist, practice=args.practice)
    weeks = in_force.stored_working_hours(db, scope, args.therapist, practice=args.practice)
    if not settings and not weeks:
        print(
            "No boundary settings yet; load a policy (contactload boundaries load FILE) "
            "or edit them on the Boundaries page."
        )
        return 0
    therapists = sorted(
        {(setting.practice, setting.therapist) for setting in settings}
        | {(practice, therapist) for practice, therapist, _ in weeks}
    )
    for practice, therapist in therapists:
        print(f"{therapist} ({practice})")
        for setting in settings:
            if (setting.practice, setting.therapist) == (practice, therapist):
                level = "default" if setting.client is None else setting.client
                print(f"  {level} from {setting.effective_from}: {words.describe_setting(setting)}")
        for week_practice, week_therapist, week in weeks:
            if (week_practice, week_therapist) == (practice, therapist):
                print(
                    f"  working hours from {week.effective_from}: "
                    f"{words.describe_working_hours(week)}"
                )
    return 0


# Loading names practices and therapists already stored: a new file could never take it.
@command("boundaries", "load", help="store the settings of a .toml or .csv file", shared=(DB,))
@option("file", type=Path, metavar="FILE")
def load(ctx: Context) -> int:
    """``contactload boundaries load FILE``: every entry of the file, checked first."""
    from analytics.policy import files

    entries = files.load_settings(ctx.db, ctx.args.file, changed_by=ctx.identity, scope=ctx.scope)
    print(f"Loaded {entries:,} boundary entries from {ctx.args.file}.")
    return 0


@command("boundaries", "export", help="write all settings to a .toml or .csv file", shared=(DB,))
@option("file", type=Path, metavar="FILE")
def export(ctx: Context) -> int:
    """``contactload boundaries export FILE``: every setting, audited."""
    from analytics.policy import files
    from analytics.storage import audit

    entries = files.export_settings(ctx.db, ctx.scope, ctx.args.file)
    audit.record(ctx.db, ctx.scope, "export", f"{entries} boundary entries to {ctx.args.file.name}")
    print(f"Exported {entries:,} boundary entries to {ctx.args.file}.")
    return 0
