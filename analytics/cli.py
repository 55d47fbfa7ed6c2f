"""The ``contactload`` command: a thin second face of the library.

Each subcommand parses its arguments, calls one library function and prints the result.
Errors the user can act on (``ContactLoadError``) print one sentence on stderr and exit 1;
argument mistakes exit 2 (argparse's convention).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from analytics.db import Database, default_db_path
from analytics.demo import DEFAULT_CONTACTS, DEFAULT_SEED
from analytics.domain import BREAKDOWNS
from analytics.errors import ContactLoadError
from analytics.filters import ContactFilter
from analytics.importing.presets import PRESET_NAMES

if TYPE_CHECKING:
    from analytics.importing.pipeline import FileReport

# Each command imports what it needs when it runs: an import of a large file should not
# wait for pandas and the measures to load (start-up is part of what `make bench` times).


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

    importer = commands.add_parser(
        "import", parents=[db_option], help="import CSV exports of time trackers and spreadsheets"
    )
    importer.add_argument("files", nargs="+", type=Path, metavar="FILE")
    importer.add_argument("--preset", choices=("auto", *PRESET_NAMES), default="auto")
    importer.add_argument(
        "--map", dest="mapping", default=None, help="field=Header,... for other layouts"
    )
    importer.add_argument("--mapping", dest="mapping_name", default=None, help="a saved mapping")
    importer.add_argument("--therapist", default=None, help="therapist when the file names none")
    importer.add_argument("--practice", default=None, help="practice when the file names none")
    importer.add_argument(
        "--time-zone",
        default=None,
        help="IANA zone of therapists new to the database (default: this machine's)",
    )
    importer.add_argument("--date-order", choices=("dmy", "mdy", "ymd"), default=None)
    importer.add_argument("--dry-run", action="store_true", help="check and report, store nothing")
    importer.add_argument("--json", action="store_true", help="print a JSON report")

    compliance_parser = commands.add_parser(
        "compliance",
        parents=[db_option],
        help="weekly use against caps, breaches, out-of-policy, after hours, response times",
    )
    compliance_parser.add_argument("--by", choices=("client", "therapist"), default="client")
    compliance_parser.add_argument("--from", dest="start", type=_iso_date, default=None)
    compliance_parser.add_argument("--to", dest="end", type=_iso_date, default=None)
    compliance_parser.add_argument("--json", action="store_true", help="print JSON")

    compare_parser = commands.add_parser(
        "compare",
        parents=[db_option],
        help="therapists or practices side by side on normalised measures, small groups hidden",
    )
    compare_parser.add_argument("--by", choices=("therapist", "practice"), required=True)
    compare_parser.add_argument("--from", dest="start", type=_iso_date, default=None)
    compare_parser.add_argument("--to", dest="end", type=_iso_date, default=None)
    compare_parser.add_argument(
        "--min-clients",
        type=_positive,
        default=None,
        help="smallest group shown (default: the min_group_clients setting, 11)",
    )
    compare_parser.add_argument("--json", action="store_true", help="print JSON")

    report_parser = commands.add_parser(
        "report",
        parents=[db_option],
        help="write the supervision report for a period as one self-contained HTML file",
    )
    report_parser.add_argument("--from", dest="start", type=_iso_date, required=True)
    report_parser.add_argument("--to", dest="end", type=_iso_date, required=True)
    report_selection = report_parser.add_mutually_exclusive_group()
    report_selection.add_argument("--therapist", default=None, help="only this therapist")
    report_selection.add_argument("--practice", default=None, help="only this practice")
    report_parser.add_argument("--out", type=Path, required=True, metavar="FILE.html")

    commands.add_parser("batches", parents=[db_option], help="list import batches")
    undo = commands.add_parser("undo", parents=[db_option], help="undo one import batch")
    undo.add_argument("batch_id", type=int, metavar="BATCH")

    boundary = commands.add_parser(
        "boundaries", help="show, load or export boundary settings and working hours"
    )
    actions = boundary.add_subparsers(dest="action", required=True, metavar="ACTION")
    show = actions.add_parser(
        "show", parents=[db_option], help="list settings and working hours per therapist"
    )
    show.add_argument("--therapist", default=None, help="only this therapist")
    show.add_argument("--practice", default=None, help="the therapist's practice, when ambiguous")
    load = actions.add_parser(
        "load", parents=[db_option], help="store the settings of a .toml or .csv file"
    )
    load.add_argument("file", type=Path, metavar="FILE")
    export = actions.add_parser(
        "export", parents=[db_option], help="write all settings to a .toml or .csv file"
    )
    export.add_argument("file", type=Path, metavar="FILE")
    return parser


def run_demo(args: argparse.Namespace) -> int:
    """``contactload demo``: add demo contacts (or nothing, with --if-empty on a full db)."""
    from analytics import boundaries
    from analytics.demo import generate_demo, is_empty

    db = Database(args.db or default_db_path())
    if args.if_empty and not is_empty(db):
        print(f"{db.path} already holds contacts; no demo data added.")
        return 0
    batch = generate_demo(
        db, contacts=args.contacts, clients=args.clients, seed=args.seed, end=args.end
    )
    agreements = boundaries.demo_boundaries(db)
    print(
        f"Added {batch.contacts:,} demo contacts to {db.path} (batch {batch.batch_id}) "
        f"and {agreements} demo boundary settings."
    )
    return 0


def run_summary(args: argparse.Namespace) -> int:
    """``contactload summary``: one row per key with contacts and minutes."""
    import pandas as pd

    from analytics import metrics

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


def run_import(args: argparse.Namespace) -> int:
    """``contactload import``: each file is one batch; unusable files store nothing."""
    from analytics.importing.pipeline import ImportOptions, import_file, local_time_zone
    from analytics.importing.presets import parse_map_option
    from analytics.importing.reader import UnreadableFileError

    db = Database(args.db or default_db_path())
    options = ImportOptions(
        preset=args.preset,
        mapping=parse_map_option(args.mapping) if args.mapping else None,
        mapping_name=args.mapping_name,
        therapist=args.therapist,
        practice=args.practice,
        time_zone=args.time_zone or local_time_zone(),
        date_order=args.date_order,
        preview_rows=0,
    )
    reports: list[dict[str, object]] = []
    failed = 0
    for path in args.files:
        try:
            if not path.is_file():
                raise UnreadableFileError(f"{path} does not exist or is not a file.")
            report = import_file(
                db, path, file_name=path.name, options=options, dry_run=args.dry_run
            )
        except ContactLoadError as error:
            failed += 1
            print(f"contactload: {path.name}: {error}", file=sys.stderr)
            reports.append({"file": path.name, "error": str(error)})
            continue
        reports.append(report.to_json())
        if not args.json:
            _print_import(report)
    if args.json:
        print(json.dumps({"files": reports}, indent=2, default=str))
    return 1 if failed else 0


def _print_import(report: FileReport) -> None:
    verb = "would import" if report.dry_run else "imported"
    print(
        f"{report.file}: {report.detected}. {report.rows:,} rows: {verb} {report.imported:,}, "
        f"{report.duplicates:,} already stored, {report.rejected:,} rejected"
        + (f" (batch {report.batch_id})." if report.batch_id else ".")
    )
    for error in report.errors[:20]:
        column = f", {error.column}" if error.column else ""
        print(f"  row {error.row}{column}: {error.message}")
    if len(report.errors) > 20:
        print(f"  ... and {len(report.errors) - 20} more.")
    if report.unclassified:
        rows = ", ".join(str(problem.row) for problem in report.unclassified[:20])
        more = "…" if report.unclassified_count > 20 else ""
        print(
            f"  {report.unclassified_count:,} contacts are stored as 'other' for review "
            f"(rows {rows}{more}); add a rule on the Import page to place them."
        )


def run_compliance(args: argparse.Namespace) -> int:
    """``contactload compliance``: each client's (or therapist's) use against the agreement."""
    import pandas as pd

    from analytics import compliance

    db = Database(args.db or default_db_path())
    filters = ContactFilter(start=args.start, end=args.end)
    rows = compliance.compliance_report(db, filters, args.by)
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    if not rows:
        print("No contacts match; widen the dates or add data (contactload demo).")
        return 0
    table = pd.DataFrame(rows).drop(columns=["weeks"])
    print(table.to_string(index=False, float_format=lambda value: f"{value:,.1f}"))
    return 0


def run_compare(args: argparse.Namespace) -> int:
    """``contactload compare``: the normalised measures per group, suppression applied."""
    import pandas as pd

    from analytics import compare

    db = Database(args.db or default_db_path())
    filters = ContactFilter(start=args.start, end=args.end)
    report = compare.comparison_report(db, filters, args.by, args.min_clients)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    if report["total"] is None:
        print("No contacts match; widen the dates or add data (contactload demo).")
        return 0
    print(
        f"{report['from']} to {report['to']} ({report['days']} days); groups with fewer than "
        f"{report['min_group_clients']} clients are suppressed."
    )
    table = pd.DataFrame([*report["groups"], report["total"]])
    headers = {
        "clients": "clients",
        "minutes_per_client_week": "min/client/week",
        "minutes_per_8_session_hours": "min/8 session h",
        "after_hours_share": "after hours %",
        "crisis_share": "crisis %",
        "top_client_share": "top 10% share %",
        "response_median_hours": "reply median h",
        "cap_compliance": "weeks within cap %",
        "percentile_rank": "percentile",
    }
    shown = pd.DataFrame({args.by: table[args.by]})
    for column, header in headers.items():
        scale = 100 if column.endswith("_share") or column == "cap_compliance" else 1
        digits = 0 if column == "clients" else 1
        shown[header] = [
            "–" if value is None or value != value else f"{value * scale:,.{digits}f}"
            for value in table[column]  # one value per group: a handful of rows
        ]
    shown["suppressed"] = table["suppressed_reason"].fillna("")
    print(shown.to_string(index=False))
    return 0


def run_report(args: argparse.Namespace) -> int:
    """``contactload report``: the supervision report as one HTML file, audited."""
    from analytics.report import report_filter, write_report
    from analytics.scope import LOCAL

    db = Database(args.db or default_db_path())
    filters = report_filter(db, LOCAL, args.start, args.end, args.therapist, args.practice)
    written = write_report(db, filters, args.out)
    print(
        f"Wrote the supervision report for {args.start} to {args.end} to {args.out} "
        f"({written / 1024:,.0f} KB)."
    )
    return 0


def run_batches(args: argparse.Namespace) -> int:
    """``contactload batches``: every batch, newest first."""
    from analytics.store import list_batches

    batches = list_batches(Database(args.db or default_db_path()))
    if batches.empty:
        print("No batches yet.")
    else:
        print(batches.drop(columns=["undone_at"]).to_string(index=False))
    return 0


def run_undo(args: argparse.Namespace) -> int:
    """``contactload undo BATCH``: remove what one batch added."""
    from analytics.store import undo_batch

    removed = undo_batch(Database(args.db or default_db_path()), args.batch_id)
    print(f"Batch {args.batch_id} undone: {removed:,} contacts removed.")
    return 0


def _user_name() -> str:
    """Who makes a change from the command line: the OS account name."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name and no password-file entry (containers)
        return "unknown user"


def run_boundaries(args: argparse.Namespace) -> int:
    """``contactload boundaries show|load FILE|export FILE``."""
    from analytics import boundaries

    db = Database(args.db or default_db_path())
    if args.action == "load":
        entries = boundaries.load_settings(db, args.file, changed_by=_user_name())
        print(f"Loaded {entries:,} boundary entries from {args.file}.")
        return 0
    if args.action == "export":
        entries = boundaries.export_settings(db, args.file)
        print(f"Exported {entries:,} boundary entries to {args.file}.")
        return 0
    settings = boundaries.stored_settings(db, args.therapist, practice=args.practice)
    weeks = boundaries.stored_working_hours(db, args.therapist, practice=args.practice)
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
                scope = "default" if setting.client is None else setting.client
                print(
                    f"  {scope} from {setting.effective_from}: "
                    f"{boundaries.describe_setting(setting)}"
                )
        for week_practice, week_therapist, week in weeks:
            if (week_practice, week_therapist) == (practice, therapist):
                print(
                    f"  working hours from {week.effective_from}: "
                    f"{boundaries.describe_working_hours(week)}"
                )
    return 0


COMMANDS = {
    "demo": run_demo,
    "summary": run_summary,
    "import": run_import,
    "compliance": run_compliance,
    "compare": run_compare,
    "report": run_report,
    "batches": run_batches,
    "undo": run_undo,
    "boundaries": run_boundaries,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``contactload`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ContactLoadError as error:
        print(f"contactload: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (``contactload summary ... | head``): nothing left to say.
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
