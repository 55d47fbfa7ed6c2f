"""Commands over the stored contacts as a whole: ``demo`` (add or remove the demo data),
``batches`` and ``undo`` (what each import added, and taking it back), and ``export``
(contacts with their derived fields as CSV, XLSX or Parquet).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from analytics.cli.command import DB, PERIOD, command, iso_date, option, positive
from analytics.demo import DEFAULT_CONTACTS, DEFAULT_SEED
from analytics.domain import CATEGORIES, CHANNELS

if TYPE_CHECKING:
    from analytics.cli.context import Context

EXPORT_CHOICES = ("csv", "xlsx", "parquet")
"""Formats of ``contactload export`` (``output.exports.EXPORT_FORMATS``, without loading it)."""


@command(
    "demo",
    help="fill the database with seeded demo contacts",
    shared=(DB,),
    creates=lambda args: not args.remove,
)
@option("--contacts", type=positive, default=DEFAULT_CONTACTS)
@option("--clients", type=positive, default=None)
@option("--seed", type=int, default=DEFAULT_SEED)
@option("--end", type=iso_date, default=None, help="last day (default: today)")
@option("--if-empty", action="store_true", help="only when the database has no contacts yet")
@option(
    "--remove",
    action="store_true",
    help="remove the demo data (and only it) instead, before importing your own",
)
def demo(ctx: Context) -> int:
    """``contactload demo``: add demo contacts (or nothing, with --if-empty on a full db), or
    remove them (--remove)."""
    from analytics.demo import demo_boundaries, demo_status, generate_demo, is_empty, remove_demo

    db, scope, args = ctx.db, ctx.scope, ctx.args
    if args.remove:
        print(remove_demo(db, scope=scope).describe())
        return 0
    if args.if_empty and not is_empty(db, scope):
        print(f"{db.path} already holds contacts; no demo data added.")
        return 0
    if args.if_empty and demo_status(db, scope) == "removed":
        print(f"The demo data of {db.path} was removed; no demo data added.")
        return 0
    batch = generate_demo(
        db, contacts=args.contacts, clients=args.clients, seed=args.seed, end=args.end, scope=scope
    )
    agreements = demo_boundaries(db, scope=scope)
    print(
        f"Added {batch.contacts:,} demo contacts to {db.path} (batch {batch.batch_id}) "
        f"and {agreements} demo boundary settings."
    )
    return 0


@command("batches", help="list import batches", shared=(DB,))
def batches(ctx: Context) -> int:
    """``contactload batches``: every batch, newest first."""
    from analytics.storage.store import list_batches

    listed = list_batches(ctx.db, ctx.scope)
    if listed.empty:
        print("No batches yet.")
    else:
        print(listed.drop(columns=["undone_at"]).to_string(index=False))
    return 0


@command("undo", help="undo one import batch", shared=(DB,))
@option("batch_id", type=int, metavar="BATCH")
def undo(ctx: Context) -> int:
    """``contactload undo BATCH``: remove what one batch added."""
    from analytics.storage.store import list_batches, undo_batch

    batch_id = ctx.args.batch_id
    removed = undo_batch(ctx.db, batch_id, scope=ctx.scope)
    listed = list_batches(ctx.db, ctx.scope)
    kinds = listed.loc[listed["batch_id"] == batch_id, "kind"].tolist()
    print(f"Batch {batch_id} undone: {removed:,} {kinds[0] if kinds else 'rows'} removed.")
    return 0


@command(
    "export",
    help="write contacts with their derived fields to CSV, XLSX or Parquet",
    shared=(DB, PERIOD),
)
@option("--format", dest="export_format", choices=EXPORT_CHOICES, default=None)
@option("--out", type=Path, required=True, help="file (or folder, for partitioned Parquet)")
@option(
    "--partitioned",
    action="store_true",
    help="Parquet partitioned by practice_id, year and month into the --out folder",
)
@option("--therapist", action="append", default=[], help="repeatable")
@option("--practice", action="append", default=[], help="repeatable")
@option("--channel", action="append", default=[], choices=CHANNELS)
@option("--category", action="append", default=[], choices=CATEGORIES)
def export(ctx: Context) -> int:
    """``contactload export``: contacts under the filters, written by DuckDB."""
    from analytics.access import names
    from analytics.output.exports import export_contacts

    db, args = ctx.db, ctx.args
    filters = ctx.filters(
        practice_ids=names.practice_ids(db, args.practice, ctx.scope),
        therapist_ids=names.therapist_ids(db, args.therapist, ctx.scope),
        channels=tuple(args.channel),
        categories=tuple(args.category),
    )
    result = export_contacts(
        db, filters, args.out, args.export_format, partitioned=args.partitioned
    )
    layout = " (partitioned by practice_id, year and month)" if result.partitioned else ""
    print(f"Exported {result.contacts:,} contacts as {result.format} to {result.path}{layout}.")
    return 0
