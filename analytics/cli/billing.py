"""Billing commands: ``billing`` (client-initiated work that meets the billing rules, per
client) and ``billing rules show|load FILE|export FILE`` (the rule table and fee schedule
as a file).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from analytics.cli.command import DB, JSON, KEYS, OUTPUT, PERIOD, command, group, option
from analytics.cli.output import emit, shown_client

if TYPE_CHECKING:
    from analytics.cli.context import Context


@command(
    "billing",
    help="client-initiated work that meets the billing rules (an estimate, not advice)",
    shared=(DB, KEYS, PERIOD, OUTPUT),
)
def billing(ctx: Context) -> int:
    """``contactload billing``: online periods and telephone calls with their code and
    exclusions, per client."""
    import pandas as pd

    from analytics.measures import billing

    db = ctx.db
    filters = ctx.filters()
    rows = billing.episodes_json(db, filters)
    ctx.record_shown(f"billing: {len(rows)} episodes by client")
    unknown = billing.unknown_direction(db, filters).sentence() if ctx.output == "table" else ""
    if unknown and rows:
        print(unknown)

    def text() -> str:
        episodes = pd.DataFrame(rows)
        table = episodes.assign(client=shown_client(episodes, ctx.keys))[
            ["client", "code", "start", "minutes", "band", "status", "reason"]
        ]
        shown = table.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:,.1f}")
        return f"{shown}\n{billing.DISCLAIMER}"

    emit(
        ctx,
        rows,
        text,
        empty=unknown or "No client-initiated work matches the billing rules in this period.",
    )
    return 0


group("billing", "rules", help="show, load or export the billing rule table and the fee schedule")


@command("billing", "rules", "show", help="the rule table with each code's fee", shared=(DB, JSON))
def rules_show(ctx: Context) -> int:
    """``contactload billing rules show``: each rule with its fee."""
    import pandas as pd

    from analytics.policy import billing_files

    records = billing_files.rule_records(ctx.db, ctx.scope)

    def band(low: float, high: float | None) -> str:
        return f"{low:g}+ min" if high is None else f"{low:g}-{high:g} min"

    emit(
        ctx,
        records,
        lambda: pd.DataFrame(
            {
                "code": [r["code"] for r in records],
                "kind": [r["family"] for r in records],
                "band": [band(r["min_minutes"], r["max_minutes"]) for r in records],
                "channels": [", ".join(r["channels"]) for r in records],
                "started by": [r["direction"].replace("_", " ") for r in records],
                "counts": [", ".join(r["counting_categories"]) for r in records],
                "window": [
                    "each call" if r["window_days"] is None else f"{r['window_days']} days"
                    for r in records
                ],
                "session before": [f"{r['prior_session_days']} days" for r in records],
                "session after": [f"{r['session_after_hours']} h" for r in records],
                "active": ["yes" if r["active"] else "no" for r in records],
                "fee": [
                    "–" if r["fee"] is None else f"{r['fee']:,.2f} {r['currency']}" for r in records
                ],
            }
        ),
        empty="No billing rules; load some with `contactload billing rules load FILE`.",
    )
    return 0


@command(
    "billing",
    "rules",
    "load",
    help="replace the rules and fees with those of a .toml or .csv file (all or nothing)",
    shared=(DB,),
    creates=True,
)
@option("file", type=Path, metavar="FILE")
def rules_load(ctx: Context) -> int:
    """``contactload billing rules load FILE``: the whole file or nothing."""
    from analytics.policy import billing_files

    # the whole file is checked before the database is even opened
    billing_files.read_rules_file(ctx.args.file)
    codes, fees = billing_files.load_rules(ctx.db, ctx.scope, ctx.args.file)
    print(f"Loaded {codes:,} billing rules and {fees:,} fees from {ctx.args.file}.")
    return 0


@command(
    "billing",
    "rules",
    "export",
    help="write the rules and fees to a .toml or .csv file",
    shared=(DB,),
)
@option("file", type=Path, metavar="FILE")
def rules_export(ctx: Context) -> int:
    """``contactload billing rules export FILE``."""
    from analytics.policy import billing_files

    codes = billing_files.export_rules(ctx.db, ctx.scope, ctx.args.file)
    print(f"Exported {codes:,} billing rules and their fees to {ctx.args.file}.")
    return 0
