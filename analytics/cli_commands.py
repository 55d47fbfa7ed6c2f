"""What every ``contactload`` command shares, and the commands added beside the first ones.

Shared: the scope the command line runs as, opening a database that must already exist
(a command that only reads never creates one: a typo in ``--db`` says so instead), naming
clients the way the dashboard does (labels in local mode, ``--keys`` for pseudonymous
keys; JSON rows carry both), and one printer of rows as a table, JSON or CSV.

Commands: ``sessions`` (the stored sessions, listed) and ``billing rules show|load|export``
(the billing rule table and fee schedule as a file). Each parses its options, calls one
library function and prints the result; analytics/cli.py registers them.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analytics.access.filters import ContactFilter
from analytics.access.scope import Scope, local_user
from analytics.errors import DatabaseError
from analytics.storage.database import Database, default_db_path

if TYPE_CHECKING:
    import pandas as pd

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
REGION``, ``settings set``, ``billing rules load``) create the database when it is new."""


def cli_scope() -> Scope:
    """The command line runs as the machine's own user: local mode, sees everything, and
    the audit log names the OS account (every command, one rule)."""
    return local_user()


def command_database(args: argparse.Namespace, *, create: bool) -> Database:
    """The database of ``--db`` (or the default); ``create=False`` for a command that only
    reads: a file that does not exist is refused in one sentence, and nothing is created."""
    path = Path(args.db or default_db_path())
    if not create and not path.exists():
        raise DatabaseError(MISSING_DATABASE.format(path=path))
    return Database(path)


def _record_shown(db: Database, what: str) -> None:
    """Record in the audit log that a command took data out to the terminal (or a pipe)."""
    from analytics.storage import audit

    audit.record(db, cli_scope(), "export", f"{what} to the terminal")


def _named_ids(db: Database, level: str, names: Sequence[str]) -> tuple[int, ...]:
    """Practice or therapist ids for the names given on the command line."""
    from analytics.access import names as resolver

    if level == "practice":
        return resolver.practice_ids(db, names, cli_scope())
    return resolver.therapist_ids(db, names, cli_scope())


def iso_date(text: str) -> date:
    """An ISO date option (``--from 2026-03-31``); argparse reports a bad one."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-31") from None


# --- output ------------------------------------------------------------------------------------


def keys_option() -> argparse.ArgumentParser:
    """``--keys``: name clients by pseudonymous key instead of label (a parent parser)."""
    option = argparse.ArgumentParser(add_help=False)
    option.add_argument(
        "--keys",
        action="store_true",
        help="name clients by their pseudonymous key instead of their label",
    )
    return option


def output_options() -> argparse.ArgumentParser:
    """``--json`` or ``--csv`` instead of a table (a parent parser)."""
    option = argparse.ArgumentParser(add_help=False)
    output = option.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print JSON instead of a table")
    output.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    return option


def shown_client(frame: pd.DataFrame, keys: bool) -> pd.Series:
    """The client column a table shows: labels as the dashboard names clients (keys for
    viewers who see no labels), or the pseudonymous keys with ``--keys``."""
    return frame["client_key"] if keys else frame["client"]


def plain(value: Any) -> Any:
    """A JSON- and CSV-friendly value: ISO dates, floats, None for NULL or NaN."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def print_rows(
    rows: list[dict[str, Any]], table: pd.DataFrame, *, as_json: bool, as_csv: bool, empty: str
) -> None:
    """Rows as JSON (a list of objects) or CSV (their keys as the header), else ``table``
    as text, or the sentence ``empty`` when there is nothing to show."""
    if as_json:
        print(json.dumps(rows, indent=2))
    elif as_csv:
        if rows:
            writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
    elif not rows:
        print(empty)
    else:
        print(table.to_string(index=False))


# --- contactload sessions ------------------------------------------------------------------------


def add_sessions_parser(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    db_option: argparse.ArgumentParser,
) -> None:
    """``contactload sessions``: its options."""
    parser = commands.add_parser(
        "sessions",
        parents=[db_option, keys_option(), output_options()],
        help="list scheduled sessions: local date and start, minutes, client, therapist, status",
    )
    parser.add_argument("--from", dest="start", type=iso_date, default=None)
    parser.add_argument("--to", dest="end", type=iso_date, default=None)
    parser.add_argument("--therapist", action="append", default=[], help="repeatable")
    parser.add_argument("--practice", action="append", default=[], help="repeatable")
    parser.add_argument(
        "--client", action="append", default=[], help="label or pseudonymous key; repeatable"
    )


def run_sessions(args: argparse.Namespace) -> int:
    """``contactload sessions``: one row per stored session, oldest first, audited."""
    import pandas as pd

    from analytics.access.names import client_keys
    from analytics.storage.sessions import session_list

    db = command_database(args, create=False)
    scope = cli_scope()
    filters = ContactFilter(
        start=args.start,
        end=args.end,
        practice_ids=_named_ids(db, "practice", args.practice),
        therapist_ids=_named_ids(db, "therapist", args.therapist),
        client_keys=client_keys(db, args.client, scope),
        scope=scope,
    )
    listed = session_list(db, filters)
    _record_shown(db, f"sessions: {len(listed)} listed")
    rows = [
        {str(column): plain(value) for column, value in record.items()}
        for record in listed.to_dict("records")  # the output's own rows
    ]
    table = pd.DataFrame(
        {
            "date": listed["date"],
            "start": listed["start"],
            "minutes": listed["minutes"].map(lambda minutes: f"{minutes:g}"),
            "client": shown_client(listed, args.keys),
            "therapist": listed["therapist"],
            "practice": listed["practice"],
            "status": listed["status"],
        }
    )
    print_rows(
        rows,
        table,
        as_json=args.json,
        as_csv=args.csv,
        empty="No sessions match; widen the dates or import a calendar (contactload import).",
    )
    return 0


# --- contactload compliance: who the rows name, and the out-of-policy contacts ------------


def compliance_rows(
    db: Database, filters: ContactFilter, by: str, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``compliance_report`` rows with client rows named as the dashboard names them
    (``client`` and ``client_key``) and each row's out-of-policy contacts (``out_of_policy``:
    date, local time, client, client_key, therapist, channel and category in words, minutes,
    reason), oldest first."""
    from analytics.domain import CATEGORY_LABELS, CHANNEL_LABELS
    from analytics.measures.metrics import with_client_labels
    from analytics.measures.out_of_policy import out_of_policy

    outside = out_of_policy(db, filters)
    if not outside.empty:
        outside = with_client_labels(db, filters.scope, outside)
    contacts: dict[str, list[dict[str, Any]]] = {}
    for contact in outside.to_dict("records"):  # out-of-policy contacts, listed in full
        owner = str(contact["client_key"] if by == "client" else contact["therapist"])
        contacts.setdefault(owner, []).append(
            {
                "date": f"{contact['local_started_at']:%Y-%m-%d}",
                "time": f"{contact['local_started_at']:%H:%M}",
                "client": contact["client"],
                "client_key": contact["client_key"],
                "therapist": contact["therapist"],
                "channel": CHANNEL_LABELS[contact["channel"]],
                "category": CATEGORY_LABELS[contact["category"]],
                "minutes": float(contact["minutes"]),
                "reason": contact["reason"],
            }
        )
    names: dict[str, str] = {}
    if by == "client" and rows:
        import pandas as pd

        keys = pd.DataFrame({"client_key": pd.Series([row["key"] for row in rows], dtype=str)})
        named = with_client_labels(db, filters.scope, keys)
        names = dict(zip(named["client_key"], named["client"], strict=True))
    detailed = []
    for row in rows:  # one per client or therapist
        naming = {"client": names.get(row["key"]), "client_key": row["key"]} if names else {}
        detailed.append({**row, **naming, "out_of_policy": contacts.get(row["key"], [])})
    return detailed


# --- contactload billing rules ---------------------------------------------------------------


def add_billing_rules_parser(billing_parser: argparse.ArgumentParser) -> None:
    """``contactload billing rules show|load FILE|export FILE`` under ``billing``."""
    # The leaf's --db leaves the value of ``billing --db`` in place when not given again.
    leaf_db = argparse.ArgumentParser(add_help=False)
    leaf_db.add_argument(
        "--db",
        type=Path,
        default=argparse.SUPPRESS,
        help="database file (default: $CONTACTLOAD_DB or data/contactload.duckdb)",
    )
    topics = billing_parser.add_subparsers(dest="topic", metavar="rules")
    rules = topics.add_parser(
        "rules", help="show, load or export the billing rule table and the fee schedule"
    )
    actions = rules.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser("show", parents=[leaf_db], help="the rule table with each code's fee")
    show.add_argument("--json", action="store_true", help="print JSON")
    load = actions.add_parser(
        "load",
        parents=[leaf_db],
        help="replace the rules and fees with those of a .toml or .csv file (all or nothing)",
    )
    load.add_argument("file", type=Path, metavar="FILE")
    export = actions.add_parser(
        "export", parents=[leaf_db], help="write the rules and fees to a .toml or .csv file"
    )
    export.add_argument("file", type=Path, metavar="FILE")


def run_billing_rules(args: argparse.Namespace) -> int:
    """``contactload billing rules show|load|export``."""
    import pandas as pd

    from analytics.policy import billing_files

    scope = cli_scope()
    if args.action == "load":
        # the whole file is checked before the database is even opened
        billing_files.read_rules_file(args.file)
        codes, fees = billing_files.load_rules(
            command_database(args, create=True), scope, args.file
        )
        print(f"Loaded {codes:,} billing rules and {fees:,} fees from {args.file}.")
        return 0
    db = command_database(args, create=False)
    if args.action == "export":
        codes = billing_files.export_rules(db, scope, args.file)
        print(f"Exported {codes:,} billing rules and their fees to {args.file}.")
        return 0
    records = billing_files.rule_records(db, scope)
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    if not records:
        print("No billing rules; load some with `contactload billing rules load FILE`.")
        return 0

    def band(low: float, high: float | None) -> str:
        return f"{low:g}+ min" if high is None else f"{low:g}-{high:g} min"

    table = pd.DataFrame(
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
    )
    print(table.to_string(index=False))
    return 0
