"""The ``contactload`` command: a thin second face of the library.

Each subcommand parses its arguments, calls one library function and prints the result.
Errors the user can act on (``ContactLoadError``) print one sentence on stderr and exit 1;
argument mistakes exit 2 (argparse's convention).
"""

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd

from analytics import metrics
from analytics.db import Database, default_db_path
from analytics.demo import DEFAULT_CONTACTS, DEFAULT_SEED, generate_demo, is_empty
from analytics.domain import BREAKDOWNS
from analytics.errors import ContactLoadError
from analytics.filters import ContactFilter


def _iso_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-31") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand (also used to check the README)."""
    parser = argparse.ArgumentParser(
        prog="contactload",
        description="Measure between-session contact time per client, channel and category.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    db_option = argparse.ArgumentParser(add_help=False)
    db_option.add_argument(
        "--db",
        type=Path,
        default=None,
        help="database file (default: $CONTACTLOAD_DB or data/contactload.duckdb)",
    )

    demo = commands.add_parser(
        "demo", parents=[db_option], help="fill the database with seeded demo contacts"
    )
    demo.add_argument("--contacts", type=_positive, default=DEFAULT_CONTACTS)
    demo.add_argument("--clients", type=_positive, default=None)
    demo.add_argument("--seed", type=int, default=DEFAULT_SEED)
    demo.add_argument("--end", type=_iso_date, default=None, help="last day (default: today)")
    demo.add_argument(
        "--if-empty", action="store_true", help="only when the database has no contacts yet"
    )

    summary = commands.add_parser(
        "summary", parents=[db_option], help="contacts and minutes broken down by one dimension"
    )
    summary.add_argument("--by", choices=BREAKDOWNS, required=True)
    summary.add_argument("--from", dest="start", type=_iso_date, default=None)
    summary.add_argument("--to", dest="end", type=_iso_date, default=None)
    summary.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def run_demo(args: argparse.Namespace) -> int:
    """``contactload demo``: add demo contacts (or nothing, with --if-empty on a full db)."""
    db = Database(args.db or default_db_path())
    if args.if_empty and not is_empty(db):
        print(f"{db.path} already holds contacts; no demo data added.")
        return 0
    batch = generate_demo(
        db, contacts=args.contacts, clients=args.clients, seed=args.seed, end=args.end
    )
    print(f"Added {batch.contacts:,} demo contacts to {db.path} (batch {batch.batch_id}).")
    return 0


def run_summary(args: argparse.Namespace) -> int:
    """``contactload summary``: one row per key with contacts and minutes."""
    db = Database(args.db or default_db_path())
    filters = ContactFilter(start=args.start, end=args.end)
    table = metrics.summary(db, filters, args.by)
    if args.json:
        rows = [
            {"key": str(key), "contacts": int(contacts), "minutes": float(minutes)}
            for key, contacts, minutes in zip(
                table["key"], table["contacts"], table["minutes"], strict=True
            )
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if table.empty:
        print("No contacts match; widen the dates or add data (contactload demo).")
        return 0
    shown = pd.DataFrame(
        {
            args.by: table["label"] if args.by == "client" else table["key"],
            "contacts": table["contacts"],
            "minutes": table["minutes"].round(1),
            "hours": (table["minutes"] / 60).round(2),
            "share %": (table["share"] * 100).round(1),
        }
    )
    print(shown.to_string(index=False))
    return 0


COMMANDS = {"demo": run_demo, "summary": run_summary}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``contactload`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ContactLoadError as error:
        print(f"contactload: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
