"""The ``contactload`` command: a thin second face of the library.

Each subcommand parses its arguments, calls one library function and prints the result.
Errors the user can act on (``ContactLoadError``) print one sentence on stderr and exit 1;
argument mistakes exit 2 (argparse's convention).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analytics.cli_commands import (
    _named_ids,
    _record_shown,
    add_billing_rules_parser,
    add_sessions_parser,
    cli_scope,
    command_database,
    compliance_rows,
    iso_date,
    keys_option,
    run_billing_rules,
    run_sessions,
    shown_client,
)
from analytics.cli_messages import add_addresses_parser, print_message_report, run_addresses
from analytics.db import Database, default_db_path
from analytics.demo import DEFAULT_CONTACTS, DEFAULT_SEED
from analytics.domain import BREAKDOWNS, CATEGORIES, CHANNELS
from analytics.errors import ContactLoadError
from analytics.filters import ContactFilter
from analytics.importing.presets import PRESET_NAMES
from analytics.scope import os_account

if TYPE_CHECKING:
    from analytics.importing.phone_log import PhoneLogReport
    from analytics.importing.pipeline import FileReport
    from analytics.importing.session_report import SessionReport
    from analytics.inbox import SweepResult

EXPORT_CHOICES = ("csv", "xlsx", "parquet")
"""Formats of ``contactload export`` (analytics.exports.EXPORT_FORMATS, without loading it)."""

# Each command imports what it needs when it runs: an import of a large file should not
# wait for pandas and the measures to load (start-up is part of what `make bench` times).


_iso_date = iso_date


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
    demo.add_argument(
        "--remove",
        action="store_true",
        help="remove the demo data (and only it) instead, before importing your own",
    )

    summary = commands.add_parser(
        "summary",
        parents=[db_option, keys_option()],
        help="contacts and minutes broken down by one dimension",
    )
    summary.add_argument("--by", choices=BREAKDOWNS, required=True)
    summary.add_argument("--from", dest="start", type=_iso_date, default=None)
    summary.add_argument("--to", dest="end", type=_iso_date, default=None)
    summary.add_argument("--json", action="store_true", help="print JSON instead of a table")
    summary.add_argument(
        "--per-session-hour",
        action="store_true",
        help="add scheduled session hours and contact minutes per session hour and per 8 "
        "session hours (by therapist, practice, client, week or month)",
    )

    importer = commands.add_parser(
        "import",
        parents=[db_option],
        help="import contact logs (CSV or .xlsx), session calendars (ICS) and session CSV "
        "files, phone logs, mailboxes (mbox, .eml) and WhatsApp chats",
    )
    importer.add_argument("files", nargs="+", type=Path, metavar="FILE")
    importer.add_argument("--preset", choices=("auto", *PRESET_NAMES), default="auto")
    importer.add_argument(
        "--map", dest="mapping", default=None, help="field=Header,... for other layouts"
    )
    importer.add_argument("--mapping", dest="mapping_name", default=None, help="a saved mapping")
    importer.add_argument(
        "--therapist",
        default=None,
        help="therapist when the file names none (calendars and phone logs never do)",
    )
    importer.add_argument("--practice", default=None, help="practice when the file names none")
    importer.add_argument(
        "--time-zone",
        default=None,
        help="IANA zone of therapists new to the database (default: this machine's)",
    )
    importer.add_argument("--date-order", choices=("dmy", "mdy", "ymd"), default=None)
    importer.add_argument(
        "--direction-default",
        dest="direction_defaults",
        action="append",
        default=None,
        metavar="CHANNEL=DIRECTION,...",
        help="who started contacts of a channel when the file does not say, e.g. "
        "phone=client,portal=client (client or therapist; in/out, incoming/outgoing too)",
    )
    importer.add_argument(
        "--encoding",
        default=None,
        metavar="NAME",
        help="contact logs: the file's text encoding, e.g. cp1250 (default: detected)",
    )
    importer.add_argument(
        "--sheet",
        default=None,
        metavar="NAME",
        help="Excel workbooks: the sheet to read (default: the first)",
    )
    importer.add_argument(
        "--client-pattern",
        default=None,
        help="calendars: regular expression with a group (?P<client>...) over event titles",
    )
    importer.add_argument(
        "--from", dest="start", type=_iso_date, default=None,
        help="calendars: first local date to import (default: the first event's)",
    )  # fmt: skip
    importer.add_argument(
        "--to", dest="end", type=_iso_date, default=None,
        help="calendars: last local date to import (default: today)",
    )  # fmt: skip
    importer.add_argument(
        "--status-words",
        action="append",
        default=None,
        metavar="STATUS=WORD,...",
        help="calendars: title words marking no_show, late_cancelled or cancelled (repeatable)",
    )
    importer.add_argument("--dry-run", action="store_true", help="check and report, store nothing")
    importer.add_argument("--json", action="store_true", help="print a JSON report")
    importer.add_argument(
        "--call-category",
        choices=CATEGORIES,
        default="other",
        help="category of the calls in a phone log (default: other, for review)",
    )
    importer.add_argument(
        "--region",
        default=None,
        help="phone logs: region of numbers written without a country code, e.g. IT, DE, US "
        "(default: the stored one, `contactload phones region`)",
    )
    importer.add_argument(
        "--country-code",
        default=None,
        help="phone logs: the older way to give the region, as its calling code (39 = IT)",
    )

    inbox_parser = commands.add_parser(
        "inbox",
        parents=[db_option],
        help="import the files dropped in the inbox folder, then file them in done/ or failed/",
    )
    inbox_parser.add_argument(
        "--inbox",
        type=Path,
        default=None,
        metavar="DIR",
        help="the inbox folder (default: the stored one, else inbox/ beside the database)",
    )
    inbox_parser.add_argument(
        "--watch", action="store_true", help="keep watching until interrupted (Ctrl+C)"
    )
    inbox_parser.add_argument(
        "--settle",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long a file must stay unchanged before it is taken "
        "(default: the inbox_settle_seconds setting, 5)",
    )
    inbox_parser.add_argument(
        "--interval",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="--watch: pause between looks",
    )
    inbox_parser.add_argument(
        "--time-zone",
        default=None,
        help="IANA zone of therapists new to the database (default: this machine's)",
    )
    inbox_parser.add_argument(
        "--remember",
        action="store_true",
        help="store --inbox as this database's inbox (the dashboard watches it from its next "
        "start)",
    )
    inbox_parser.add_argument("--json", action="store_true", help="print a JSON report")

    compliance_parser = commands.add_parser(
        "compliance",
        parents=[db_option, keys_option()],
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
    compare_parser.add_argument(
        "--months", action="store_true", help="also each local month (hidden where needed)"
    )
    compare_parser.add_argument("--json", action="store_true", help="print JSON")
    billing_parser = commands.add_parser(
        "billing",
        parents=[db_option, keys_option()],
        help="client-initiated work that meets the billing rules (an estimate, not advice)",
    )
    billing_parser.add_argument("--from", dest="start", type=_iso_date, default=None)
    billing_parser.add_argument("--to", dest="end", type=_iso_date, default=None)
    billing_parser.add_argument("--json", action="store_true", help="print JSON")
    add_billing_rules_parser(billing_parser)
    add_sessions_parser(commands, db_option)

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

    phones = commands.add_parser(
        "phones",
        help="list, map or unmap the phone numbers of call and text logs; their default region",
    )
    phone_actions = phones.add_subparsers(dest="action", required=True, metavar="ACTION")
    therapist_options = argparse.ArgumentParser(add_help=False)
    therapist_options.add_argument("--therapist", default=None, help="whose phone (required)")
    therapist_options.add_argument("--practice", default=None, help="the therapist's practice")
    therapist_options.add_argument(
        "--region", default=None, help="region of a number without a country code, e.g. IT"
    )
    therapist_options.add_argument(
        "--country-code", default=None, help="the region as its calling code, e.g. 39"
    )
    phone_list = phone_actions.add_parser(
        "list",
        parents=[db_option, keys_option()],
        help="the mapped numbers (last two digits) and clients",
    )
    phone_list.add_argument("--therapist", default=None, help="only this therapist")
    phone_list.add_argument("--practice", default=None, help="only this practice")
    phone_list.add_argument("--json", action="store_true", help="print JSON")
    phone_map = phone_actions.add_parser(
        "map", parents=[db_option, therapist_options], help="map a number to a client"
    )
    phone_map.add_argument("number", metavar="NUMBER")
    phone_map.add_argument("client", metavar="CLIENT", help="the client's label (new or known)")
    phone_map.add_argument(
        "--time-zone",
        default=None,
        help="IANA zone when the therapist is new (default: this machine's)",
    )
    phone_unmap = phone_actions.add_parser(
        "unmap", parents=[db_option, therapist_options], help="forget a number's mapping"
    )
    phone_unmap.add_argument("number", metavar="NUMBER")
    phone_region = phone_actions.add_parser(
        "region",
        parents=[db_option],
        help="show or set the default region of numbers written without a country code",
    )
    phone_region.add_argument(
        "region", nargs="?", default=None, metavar="REGION", help="e.g. IT, DE, US; 'none' clears"
    )
    add_addresses_parser(commands, db_option)
    exporter = commands.add_parser(
        "export",
        parents=[db_option],
        help="write contacts with their derived fields to CSV, XLSX or Parquet",
    )
    exporter.add_argument("--format", dest="export_format", choices=EXPORT_CHOICES, default=None)
    exporter.add_argument(
        "--out", type=Path, required=True, help="file (or folder, for partitioned Parquet)"
    )
    exporter.add_argument(
        "--partitioned",
        action="store_true",
        help="Parquet partitioned by practice_id, year and month into the --out folder",
    )
    exporter.add_argument("--from", dest="start", type=_iso_date, default=None)
    exporter.add_argument("--to", dest="end", type=_iso_date, default=None)
    exporter.add_argument("--therapist", action="append", default=[], help="repeatable")
    exporter.add_argument("--practice", action="append", default=[], help="repeatable")
    exporter.add_argument("--channel", action="append", default=[], choices=CHANNELS)
    exporter.add_argument("--category", action="append", default=[], choices=CATEGORIES)

    backup_parser = commands.add_parser(
        "backup", parents=[db_option], help="write a consistent copy of the database"
    )
    backup_parser.add_argument("--out", type=Path, required=True, help="a new .duckdb file")
    restore_parser = commands.add_parser(
        "restore", parents=[db_option], help="put a backup in place of the database"
    )
    restore_parser.add_argument("backup_file", type=Path, metavar="FILE")
    restore_parser.add_argument("--force", action="store_true", help="replace an existing database")
    erase = commands.add_parser(
        "erase-client", parents=[db_option], help="delete every row of one client"
    )
    erase.add_argument("--client", required=True, help="the client's pseudonymous key")

    settings_parser = commands.add_parser(
        "settings", help="show or change the installation's settings"
    )
    settings_actions = settings_parser.add_subparsers(
        dest="action", required=True, metavar="ACTION"
    )
    settings_show = settings_actions.add_parser(
        "show", parents=[db_option], help="every setting with its value, unit and range"
    )
    settings_show.add_argument("--json", action="store_true", help="print JSON")
    settings_set = settings_actions.add_parser(
        "set", parents=[db_option], help="change one setting (checked against its range)"
    )
    settings_set.add_argument("key", metavar="KEY")
    settings_set.add_argument("value", metavar="VALUE")
    audit_parser = commands.add_parser(
        "audit", parents=[db_option], help="the audit log, newest first"
    )
    audit_parser.add_argument(
        "--limit", type=_positive, default=50, help="how many entries (default 50)"
    )
    audit_parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def run_export(args: argparse.Namespace) -> int:
    """``contactload export``: contacts under the filters, written by DuckDB."""
    from analytics.exports import export_contacts

    db = command_database(args, create=False)
    filters = ContactFilter(
        start=args.start,
        end=args.end,
        practice_ids=_named_ids(db, "practice", args.practice),
        therapist_ids=_named_ids(db, "therapist", args.therapist),
        channels=tuple(args.channel),
        categories=tuple(args.category),
        scope=_cli_scope(),
    )
    result = export_contacts(
        db, filters, args.out, args.export_format, partitioned=args.partitioned
    )
    layout = " (partitioned by practice_id, year and month)" if result.partitioned else ""
    print(f"Exported {result.contacts:,} contacts as {result.format} to {result.path}{layout}.")
    return 0


def run_backup(args: argparse.Namespace) -> int:
    """``contactload backup --out FILE``: a consistent, checked copy."""
    from analytics.care import backup

    result = backup(command_database(args, create=False), _cli_scope(), args.out)
    print(
        f"Backed up {result.rows.get('contacts', 0):,} contacts and "
        f"{result.rows.get('sessions', 0):,} sessions to {result.path}."
    )
    return 0


def run_restore(args: argparse.Namespace) -> int:
    """``contactload restore FILE``: a checked copy of the backup replaces the database."""
    from analytics.care import restore

    target = args.db or default_db_path()
    result = restore(_cli_scope(), args.backup_file, target, force=args.force)
    print(
        f"Restored {result.rows.get('contacts', 0):,} contacts and "
        f"{result.rows.get('sessions', 0):,} sessions from {args.backup_file} to {result.path}."
    )
    return 0


def run_erase_client(args: argparse.Namespace) -> int:
    """``contactload erase-client --client KEY``: every row of one client, gone."""
    from analytics.care import erase_client

    erasure = erase_client(command_database(args, create=False), _cli_scope(), args.client)
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


def run_settings(args: argparse.Namespace) -> int:
    """``contactload settings show|set KEY VALUE``: over analytics.settings."""
    from analytics.settings import SETTINGS, InvalidSettingError, get_setting, set_setting

    db = command_database(args, create=args.action == "set")
    if args.action == "set":
        try:
            value = float(args.value)
        except ValueError:
            raise InvalidSettingError(
                f"{args.value!r} is not a number; give {args.key} as a number like 2 or 1.5."
            ) from None
        set_setting(db, args.key, value, scope=_cli_scope())
        print(f"{args.key} = {get_setting(db, args.key):g} {SETTINGS[args.key].unit}")
        return 0
    rows = [
        {
            "key": setting.key,
            "label": setting.label,
            "value": get_setting(db, setting.key),
            "unit": setting.unit,
            "default": float(setting.default),
            "minimum": float(setting.minimum),
            "maximum": float(setting.maximum),
        }
        for setting in SETTINGS.values()
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        print(
            f"{row['key']} = {row['value']:g} {row['unit']}  ({row['label']}; "
            f"{row['minimum']:g} to {row['maximum']:g} {row['unit']}, "
            f"default {row['default']:g} {row['unit']})"
        )
    return 0


def run_audit(args: argparse.Namespace) -> int:
    """``contactload audit``: the newest entries of the audit log."""
    from analytics.audit import entries

    log = entries(command_database(args, create=False), _cli_scope(), limit=args.limit)
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
    if args.json:
        print(json.dumps(rows, indent=2))
    elif not rows:
        print("The audit log is empty.")
    else:
        for row in rows:
            signed = f" [{row['issuer']} {row['subject']}]" if row["subject"] else ""
            print(
                f"{row['logged_at']}  {row['identity']} ({row['role']}){signed}  {row['action']}"
                + (f": {row['detail']}" if row["detail"] else "")
            )
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """``contactload demo``: add demo contacts (or nothing, with --if-empty on a full db), or
    remove them (--remove)."""
    from analytics import boundaries
    from analytics.demo import demo_status, generate_demo, is_empty, remove_demo

    db = command_database(args, create=not args.remove)
    if args.remove:
        print(remove_demo(db, scope=_cli_scope()).describe())
        return 0
    if args.if_empty and not is_empty(db, _cli_scope()):
        print(f"{db.path} already holds contacts; no demo data added.")
        return 0
    if args.if_empty and demo_status(db, _cli_scope()) == "removed":
        print(f"The demo data of {db.path} was removed; no demo data added.")
        return 0
    batch = generate_demo(
        db,
        contacts=args.contacts,
        clients=args.clients,
        seed=args.seed,
        end=args.end,
        scope=_cli_scope(),
    )
    agreements = boundaries.demo_boundaries(db, scope=_cli_scope())
    print(
        f"Added {batch.contacts:,} demo contacts to {db.path} (batch {batch.batch_id}) "
        f"and {agreements} demo boundary settings."
    )
    return 0


def run_summary(args: argparse.Namespace) -> int:
    """``contactload summary``: one row per key with contacts and minutes."""
    import pandas as pd

    from analytics import metrics

    db = command_database(args, create=False)
    filters = ContactFilter(start=args.start, end=args.end, scope=_cli_scope())
    if args.per_session_hour:
        return _print_session_load(db, filters, args.by, as_json=args.json, keys=args.keys)
    table = metrics.summary(db, filters, args.by)
    if args.json:
        rows = [
            {"key": str(key), **_named(args.by, key, label), "contacts": int(contacts),
             "minutes": float(minutes)}
            for key, label, contacts, minutes in zip(
                table["key"], table["label"], table["contacts"], table["minutes"], strict=True
            )
        ]  # fmt: skip
        print(json.dumps(rows, indent=2))
        return 0
    if table.empty:
        print("No contacts match; widen the dates or add data (contactload demo).")
        return 0
    shown = pd.DataFrame(
        {
            args.by: _shown_key(table, args.by, args.keys),
            "contacts": table["contacts"],
            "minutes": table["minutes"].round(1),
            "hours": (table["minutes"] / 60).round(2),
            "share %": (table["share"] * 100).round(1),
        }
    )
    print(shown.to_string(index=False))
    return 0


def _named(by: str, key: object, label: object) -> dict[str, str]:
    """A client row's names for JSON: ``client`` as the dashboard shows it, ``client_key``."""
    return {"client": str(label), "client_key": str(key)} if by == "client" else {}


def _shown_key(table: Any, by: str, keys: bool) -> Any:
    """The first column of a summary table: clients by label (or key with ``--keys``)."""
    return table["label"] if by == "client" and not keys else table["key"]


def _print_session_load(
    db: Database, filters: ContactFilter, by: str, *, as_json: bool, keys: bool
) -> int:
    """``summary --per-session-hour``: contact minutes beside scheduled session hours."""
    import math

    import pandas as pd

    from analytics.session_load import session_load_by

    table = session_load_by(db, filters, by)

    def known(value: float) -> float | None:
        return None if value is None or math.isnan(value) else float(value)

    if as_json:
        rows = [
            {
                "key": str(key),
                **_named(by, key, label),
                "contacts": int(contacts),
                "minutes": float(minutes),
                "scheduled_session_hours": float(hours),
                "minutes_per_session_hour": known(per_hour),
                "minutes_per_8_session_hours": known(per_8),
            }
            for key, label, contacts, minutes, hours, per_hour, per_8 in zip(
                table["key"],
                table["label"],
                table["contacts"],
                table["contact_minutes"],
                table["scheduled_hours"],
                table["per_session_hour"],
                table["per_8_session_hours"],
                strict=True,
            )
        ]
        print(json.dumps(rows, indent=2))
        return 0
    if table.empty:
        print("No contacts or sessions match; widen the dates or add data (contactload demo).")
        return 0

    def rate(value: float) -> str:
        number = known(value)
        return "—, no sessions" if number is None else f"{number:,.1f}"

    shown = pd.DataFrame(
        {
            by: _shown_key(table, by, keys),
            "contacts": table["contacts"],
            "minutes": table["contact_minutes"].round(1),
            "session h": table["scheduled_hours"].round(2),
            "min per session h": table["per_session_hour"].map(rate),
            "min per 8 session h": table["per_8_session_hours"].map(rate),
        }
    )
    print(shown.to_string(index=False))
    return 0


def _status_words(values: list[str] | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``--status-words no_show=DNA,no-show`` options over the default words."""
    from analytics.importing.session_report import STATUS_WORDS

    words = dict(STATUS_WORDS)
    for value in values or []:
        status, _, listed = value.partition("=")
        if status.strip() not in words or not listed.strip():
            raise argparse.ArgumentTypeError(
                f"--status-words {value!r}: write STATUS=WORD,... with STATUS one of "
                f"{', '.join(words)}"
            )
        words[status.strip()] = tuple(w.strip() for w in listed.split(",") if w.strip())
    return tuple(words.items())


def run_import(args: argparse.Namespace) -> int:
    """``contactload import``: each file is one batch; unusable files store nothing.

    Each file's kind is detected from its content (contact log, ICS calendar, session CSV,
    phone log), unless a preset or column mapping says it is a contact log.
    """
    from analytics.importing.classify import parse_direction_defaults
    from analytics.importing.conversations import MessageOptions, MessageReport
    from analytics.importing.dispatch import import_detected
    from analytics.importing.phone_log import PhoneLogOptions, PhoneLogReport
    from analytics.importing.pipeline import ImportOptions, local_time_zone
    from analytics.importing.presets import parse_map_option
    from analytics.importing.reader import UnreadableFileError
    from analytics.importing.session_report import NoSessionsError, SessionOptions, SessionReport

    db = command_database(args, create=True)
    options = ImportOptions(
        preset=args.preset,
        mapping=parse_map_option(args.mapping) if args.mapping else None,
        mapping_name=args.mapping_name,
        therapist=args.therapist,
        practice=args.practice,
        time_zone=args.time_zone or local_time_zone(),
        date_order=args.date_order,
        preview_rows=0,
        direction_defaults=parse_direction_defaults(",".join(args.direction_defaults or [])),
        encoding=args.encoding,
    )
    try:
        status_words = _status_words(args.status_words)
    except argparse.ArgumentTypeError as error:
        print(f"contactload import: error: {error}", file=sys.stderr)
        return 2
    session_options = SessionOptions(
        therapist=args.therapist,
        practice=args.practice,
        time_zone=options.time_zone,
        start=args.start,
        end=args.end,
        date_order=args.date_order,
        preview_rows=0,
        status_words=status_words,
        **({"client_pattern": args.client_pattern} if args.client_pattern else {}),
    )
    phone_options = PhoneLogOptions(
        therapist=args.therapist,
        practice=args.practice,
        time_zone=options.time_zone,
        call_category=args.call_category,
        country_code=args.country_code,
        region=args.region,
    )
    message_options = MessageOptions(
        therapist=args.therapist,
        practice=args.practice,
        time_zone=options.time_zone,
        date_order=args.date_order,
    )
    contacts_only = args.preset != "auto" or args.mapping or args.mapping_name
    reports: list[dict[str, object]] = []
    failed = 0
    for path in args.files:
        try:
            if not path.is_file() and not path.is_dir():  # a folder of .eml files
                raise UnreadableFileError(f"{path} does not exist or is not a file.")
            report = import_detected(
                db,
                path,
                file_name=path.name,
                contact_options=options,
                session_options=session_options,
                phone_options=phone_options,
                message_options=message_options,
                dry_run=args.dry_run,
                kind="contacts" if contacts_only else None,
                scope=_cli_scope(),
                sheet=args.sheet,
            )
        except ContactLoadError as error:
            failed += 1
            print(f"contactload: {path.name}: {error}", file=sys.stderr)
            failure: dict[str, object] = {"file": path.name, "error": str(error)}
            if isinstance(error, NoSessionsError):
                # the events that need a look are the point of the message: list them
                failure["unmatched"] = error.report.to_json()["unmatched"]
                for event in error.report.unmatched[:20]:
                    print(f"  {event.day or '(no date)'} {event.title!r}: {event.reason}",
                          file=sys.stderr)  # fmt: skip
            reports.append(failure)
            continue
        reports.append(report.to_json())
        if not args.json:
            if isinstance(report, SessionReport):
                _print_session_import(report)
            elif isinstance(report, PhoneLogReport):
                _print_phone_log(report)
            elif isinstance(report, MessageReport):
                print_message_report(report)
            else:
                _print_import(report)
    if args.json:
        print(json.dumps({"files": reports}, indent=2, default=str))
    return 1 if failed else 0


def run_inbox(args: argparse.Namespace) -> int:
    """``contactload inbox``: one sweep of the inbox folder, or ``--watch`` until stopped."""
    import time

    from analytics import inbox

    db = command_database(args, create=True)
    folder = inbox.inbox_folder(db, args.inbox)
    if args.remember:
        inbox.set_inbox_folder(db, folder, scope=_cli_scope())
    if not args.watch:
        result = inbox.sweep(
            db, folder, settle=args.settle, time_zone=args.time_zone, scope=_cli_scope()
        )
        _print_sweep(folder, result, as_json=args.json, quiet_when_empty=False)
        failed = any(entry.outcome == "failed" for entry in result.taken)
        return 1 if failed or result.paused else 0
    inbox.log_to_stderr()
    watcher = inbox.InboxWatcher(
        db,
        folder,
        settle=args.settle,
        time_zone=args.time_zone,
        on_sweep=lambda result: _print_sweep(folder, result, as_json=args.json),
    )
    print(f"Watching {folder} (Ctrl+C to stop).", flush=True)
    try:
        while True:
            watcher.run_once()
            time.sleep(args.interval)
    except KeyboardInterrupt:
        return 0


def _print_sweep(
    folder: Path, result: SweepResult, *, as_json: bool, quiet_when_empty: bool = True
) -> None:
    """What one sweep of the inbox did: a line per file (or JSON), problems on stderr."""
    from analytics import inbox

    if as_json:
        if result.taken or result.paused or not quiet_when_empty:
            print(
                json.dumps(
                    {
                        "inbox": str(folder),
                        "taken": [inbox.entry_json(entry) for entry in result.taken],
                        "still_changing": result.still_changing,
                        "ignored": result.ignored,
                        "paused": result.paused,
                    },
                    indent=2,
                ),
                flush=True,
            )
        return
    for entry in result.taken:
        stream = sys.stderr if entry.outcome == "failed" else sys.stdout
        print(inbox.describe(entry), file=stream, flush=True)
    if result.paused:
        print(f"contactload: {result.paused}", file=sys.stderr, flush=True)
    if quiet_when_empty:
        return
    if result.still_changing:
        print(
            f"{len(result.still_changing):,} files are still being written "
            f"({', '.join(result.still_changing)}); run again later.",
            flush=True,
        )
    if not result.taken and not result.still_changing and not result.paused:
        print(f"Nothing to import in {folder}.", flush=True)


def _print_import(report: FileReport) -> None:
    verb = "would import" if report.dry_run else "imported"
    print(
        f"{report.file}: {report.detected}. {report.rows:,} rows: {verb} {report.imported:,}, "
        f"{report.duplicates:,} already stored, {report.rejected:,} rejected"
        + (f" (batch {report.batch_id})." if report.batch_id else ".")
    )
    for warning in report.warnings:
        print(f"  warning: {warning}")
    if report.erased_note:
        print(f"  {report.erased_note}")
    for error in report.errors[:20]:
        column = f", {error.column}" if error.column else ""
        print(f"  row {error.row}{column}: {error.message}")
    if len(report.errors) > 20:
        print(f"  ... and {len(report.errors) - 20} more.")
    if report.direction_unknown:
        print(f"  {DIRECTION_UNKNOWN_NOTE.format(count=report.direction_unknown)}")
    if report.unclassified:
        rows = ", ".join(str(problem.row) for problem in report.unclassified[:20])
        more = "…" if report.unclassified_count > 20 else ""
        print(
            f"  {report.unclassified_count:,} contacts are stored as 'other' for review "
            f"(rows {rows}{more}); add a rule on the Import page to place them."
        )


DIRECTION_UNKNOWN_NOTE = (
    "{count:,} contacts have no direction (the file does not say who started them), so "
    "billing, which counts client-initiated work, leaves them out; give a direction column "
    "(--map direction=COLUMN) or per-channel defaults (--direction-default "
    "phone=client,portal=client)."
)


def _print_phone_log(report: PhoneLogReport) -> None:
    verb = "would import" if report.dry_run else "imported"
    print(
        f"{report.file}: {report.describe()}. {verb} {report.describe_import()}, "
        f"{report.duplicates:,} already stored, "
        f"{report.rejected:,} rejected, {report.left_out_total:,} left out"
        + (f" (batch {report.batch_id})." if report.batch_id else ".")
    )
    for reason, count in report.left_out.items():
        print(f"  left out, {reason}: {count:,}")
    if report.repeated:
        print(
            f"  {report.repeated:,} entries repeat an earlier one of the file (same number, "
            "time and text): stored once, counted as already stored."
        )
    if report.rekeyed:
        print(f"  {report.rekeyed:,} mappings made before version 8 re-keyed to E.164.")
    for error in report.errors[:20]:
        print(f"  entry {error.row}, {error.column}: {error.message}")
    if report.invalid:
        region = report.region or "none chosen"
        print(
            f"  Numbers that are not valid phone numbers ({len(report.invalid):,}; default "
            f"region: {region}); their calls and texts were left out:"
        )
        for invalid in report.invalid[:50]:
            print(
                f"    {invalid.number}: {invalid.reason} (calls {invalid.calls:,}, "
                f"texts {invalid.texts:,})"
            )
    if report.unmatched:
        print(
            f"  Numbers mapped to no client ({len(report.unmatched):,}); their calls and "
            "texts were not stored (map them with `contactload phones map NUMBER CLIENT`, "
            "then import the file again):"
        )
        for item in report.unmatched:
            print(
                f"    {item.number}: calls {item.calls:,}, texts {item.texts:,}, "
                f"{item.minutes:,.1f} min"
            )


def run_phones(args: argparse.Namespace) -> int:
    """``contactload phones list|map|unmap``: the number-to-client mapping of phone logs."""
    from analytics.importing.phone_log import list_mappings, map_number, unmap_number
    from analytics.importing.pipeline import local_time_zone

    writes = args.action == "map" or (args.action == "region" and args.region is not None)
    db = command_database(args, create=writes)
    if args.action == "region":
        return _phone_region(db, args.region)
    scope = _cli_scope()
    if args.action == "list":
        table = list_mappings(db, scope)
        if args.therapist:
            table = table[table["therapist"] == args.therapist]
        if args.practice:
            table = table[table["practice"] == args.practice]
        if args.json:
            rows = [
                {
                    "therapist": str(therapist),
                    "practice": str(practice),
                    "number_hint": str(hint),
                    "client": str(client),
                    "client_key": str(client_key),
                    "contacts": int(contacts),
                    "minutes": float(minutes),
                    "legacy": bool(legacy),
                }
                for therapist, practice, hint, client, client_key, contacts, minutes, legacy in zip(
                    table["therapist"],
                    table["practice"],
                    table["number_hint"],
                    table["client"],
                    table["client_key"],
                    table["contacts"],
                    table["minutes"],
                    table["legacy"],
                    strict=True,
                )
            ]
            print(json.dumps(rows, indent=2))
            return 0
        if table.empty:
            print(
                "No phone numbers mapped yet; import a phone log to see its numbers, then "
                "map them with `contactload phones map NUMBER CLIENT`."
            )
            return 0
        shown = table.assign(
            client=shown_client(table, args.keys),
            number=["…" + hint for hint in table["number_hint"]],
            key=["before v8" if legacy else "E.164" for legacy in table["legacy"]],
        )
        print(
            shown[["therapist", "practice", "number", "client", "contacts", "minutes", "key"]]
            .round({"minutes": 1})
            .to_string(index=False)
        )
        legacy = int(table["legacy"].sum())
        if legacy:
            print(LEGACY_MAPPINGS_NOTE.format(count=legacy))
        return 0
    therapist = args.therapist or ""  # none named: refused with a sentence naming --therapist
    if args.action == "map":
        mapping = map_number(
            db,
            scope,
            therapist,
            args.number,
            args.client,
            practice=args.practice,
            time_zone=args.time_zone or local_time_zone(),
            country_code=args.country_code,
            region=args.region,
        )
        new = " (new client)" if mapping.created_client else ""
        print(
            f"Number ending {mapping.number_hint} mapped to {args.client.strip()}{new}; "
            "import the log again to add its calls and texts."
        )
        return 0
    if unmap_number(
        db,
        scope,
        therapist,
        args.number,
        practice=args.practice,
        country_code=args.country_code,
        region=args.region,
    ):
        print("Mapping removed; contacts already imported from that number stay.")
        return 0
    print("That number was not mapped for this therapist; nothing changed.")
    return 0


LEGACY_MAPPINGS_NOTE = (
    "{count} mapping(s) marked 'before v8' were keyed from an older written form of the "
    "number: each is re-keyed when a phone log holding the number is imported again (or "
    "when the number is mapped again); until then calls and texts that write it "
    "differently may be listed as unmatched."
)


def _phone_region(db: Database, region: str | None) -> int:
    """``contactload phones region [REGION]``: show or store the default region."""
    from analytics.importing.phone_numbers import default_region, set_default_region

    if region is not None:
        stored = set_default_region(
            db, None if region.strip().lower() == "none" else region, scope=_cli_scope()
        )
        print(f"Default region: {stored or 'none'}.")
        return 0
    current = default_region(db)
    print(
        f"Default region: {current}."
        if current
        else "No default region: numbers written without a country code are listed as not "
        "valid; set one with `contactload phones region IT` (or DE, US...)."
    )
    return 0


def _print_session_import(report: SessionReport) -> None:
    verb = "would import" if report.dry_run else "imported"
    unit = "events" if report.kind == "calendar" else "rows"
    statuses = ", ".join(f"{n:,} {status}" for status, n in report.statuses.items())
    print(
        f"{report.file}: {report.detected}. {report.rows:,} {unit}: {verb} "
        f"{report.imported:,} sessions ({statuses or 'none'}), {report.duplicates:,} already "
        f"stored, {report.rejected:,} rejected"
        + (f" (batch {report.batch_id})." if report.batch_id else ".")
    )
    left_out = {name: n for name, n in report.excluded.items() if n}
    if left_out:
        print(
            "  left out: "
            + ", ".join(f"{n:,} {name.replace('_', '-')}" for name, n in left_out.items())
            + " events."
        )
    if report.erased_note:
        print(f"  {report.erased_note}")
    for error in report.errors[:20]:
        column = f", {error.column}" if error.column else ""
        print(f"  row {error.row}{column}: {error.message}")
    for event in report.unmatched[:20]:
        print(f"  {event.day or '(no date)'} {event.title!r}: {event.reason}")
    hidden = max(len(report.errors) - 20, 0) + max(len(report.unmatched) - 20, 0)
    if hidden:
        print(f"  ... and {hidden:,} more; --json lists them all.")


def run_compliance(args: argparse.Namespace) -> int:
    """``contactload compliance``: each client's (or therapist's) use against the agreement."""
    import pandas as pd

    from analytics import compliance

    db = command_database(args, create=False)
    filters = ContactFilter(start=args.start, end=args.end, scope=_cli_scope())
    rows = compliance_rows(db, filters, args.by, compliance.compliance_report(db, filters, args.by))
    if args.json:
        print(json.dumps(rows, indent=2, default=str))
        return 0
    if not rows:
        print("No contacts match; widen the dates or add data (contactload demo).")
        return 0
    table = pd.DataFrame(rows).drop(columns=["weeks", "out_of_policy"])
    if args.by == "client":
        table = table.drop(columns=["client", "client_key"]).rename(columns={"key": "client"})
        table["client"] = shown_client(pd.DataFrame(rows), args.keys)
    print(table.to_string(index=False, float_format=lambda value: f"{value:,.1f}"))
    return 0


def run_compare(args: argparse.Namespace) -> int:
    """``contactload compare``: the normalised measures per group, suppression applied."""
    from analytics import compare

    db = command_database(args, create=False)
    filters = ContactFilter(start=args.start, end=args.end, scope=_cli_scope())
    report = compare.comparison_report(db, filters, args.by, args.min_clients, args.months)
    _record_shown(db, f"comparison by {args.by}: {len(report['groups'])} groups")
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    if report["total"] is None:
        print("No contacts match; widen the dates or add data (contactload demo).")
        return 0
    print(
        f"{report['from']} to {report['to']} ({report['days']} days); groups with fewer than "
        f"{report['min_group_clients']} clients are suppressed, and so is any figure that "
        "would give a hidden one away."
    )
    print(_compare_table([*report["groups"], report["total"]], args.by))
    for month in report.get("months", []):
        print(f"\n{month['month']}")
        print(_compare_table([*month["groups"], month["total"]], args.by))
    return 0


def _compare_table(rows: list[dict[str, Any]], by: str) -> str:
    """Rows of ``compare.comparison_report`` as a text table; hidden cells say so."""
    import pandas as pd

    table = pd.DataFrame(rows)
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
    shown = pd.DataFrame({by: table[by]})
    for column, header in headers.items():
        scale = 100 if column.endswith("_share") or column == "cap_compliance" else 1
        digits = 0 if column == "clients" else 1
        shown[header] = [
            "suppressed"
            if hidden
            else "–"
            if value is None or value != value
            else f"{value * scale:,.{digits}f}"
            for value, hidden in zip(table[column], table["suppressed"], strict=True)
        ]  # one value per group: a handful of rows
    shown["suppressed"] = table["suppressed_reason"].fillna("")
    return shown.to_string(index=False)


def run_billing(args: argparse.Namespace) -> int:
    """``contactload billing``: online periods and telephone calls with their code and
    exclusions, per client; ``billing rules ...``: the rule table and fees."""
    import pandas as pd

    from analytics import billing

    if args.topic == "rules":
        return run_billing_rules(args)
    db = command_database(args, create=False)
    filters = ContactFilter(start=args.start, end=args.end, scope=_cli_scope())
    rows = billing.episodes_json(db, filters)
    _record_shown(db, f"billing: {len(rows)} episodes by client")
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    unknown = billing.unknown_direction(db, filters).sentence()
    if not rows:
        print(unknown or "No client-initiated work matches the billing rules in this period.")
        return 0
    if unknown:
        print(unknown)
    episodes = pd.DataFrame(rows)
    table = episodes.assign(client=shown_client(episodes, args.keys))[
        ["client", "code", "start", "minutes", "band", "status", "reason"]
    ]
    print(table.to_string(index=False, na_rep="-", float_format=lambda value: f"{value:,.1f}"))
    print(billing.DISCLAIMER)
    return 0


def run_report(args: argparse.Namespace) -> int:
    """``contactload report``: the supervision report as one HTML file, audited."""
    from analytics.report import report_filter, write_report

    db = command_database(args, create=False)
    filters = report_filter(db, _cli_scope(), args.start, args.end, args.therapist, args.practice)
    written = write_report(db, filters, args.out)
    print(
        f"Wrote the supervision report for {args.start} to {args.end} to {args.out} "
        f"({written / 1024:,.0f} KB)."
    )
    return 0


def run_batches(args: argparse.Namespace) -> int:
    """``contactload batches``: every batch, newest first."""
    from analytics.store import list_batches

    batches = list_batches(command_database(args, create=False), _cli_scope())
    if batches.empty:
        print("No batches yet.")
    else:
        print(batches.drop(columns=["undone_at"]).to_string(index=False))
    return 0


def run_undo(args: argparse.Namespace) -> int:
    """``contactload undo BATCH``: remove what one batch added."""
    from analytics.store import list_batches, undo_batch

    db = command_database(args, create=False)
    removed = undo_batch(db, args.batch_id, scope=_cli_scope())
    batches = list_batches(db, _cli_scope())
    kinds = batches.loc[batches["batch_id"] == args.batch_id, "kind"].tolist()
    print(f"Batch {args.batch_id} undone: {removed:,} {kinds[0] if kinds else 'rows'} removed.")
    return 0


def _user_name() -> str:
    """Who makes a change from the command line: the OS account name."""
    return os_account()


_cli_scope = cli_scope


def run_boundaries(args: argparse.Namespace) -> int:
    """``contactload boundaries show|load FILE|export FILE``."""
    from analytics import boundaries

    # Loading names practices and therapists already stored: a new file could never take it.
    db = command_database(args, create=False)
    if args.action == "load":
        entries = boundaries.load_settings(
            db, args.file, changed_by=_user_name(), scope=_cli_scope()
        )
        print(f"Loaded {entries:,} boundary entries from {args.file}.")
        return 0
    if args.action == "export":
        from analytics import audit

        scope = _cli_scope()
        entries = boundaries.export_settings(db, scope, args.file)
        audit.record(db, scope, "export", f"{entries} boundary entries to {args.file.name}")
        print(f"Exported {entries:,} boundary entries to {args.file}.")
        return 0
    scope = _cli_scope()
    settings = boundaries.stored_settings(db, scope, args.therapist, practice=args.practice)
    weeks = boundaries.stored_working_hours(db, scope, args.therapist, practice=args.practice)
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
                print(
                    f"  {level} from {setting.effective_from}: "
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
    "inbox": run_inbox,
    "compliance": run_compliance,
    "compare": run_compare,
    "billing": run_billing,
    "sessions": run_sessions,
    "report": run_report,
    "batches": run_batches,
    "undo": run_undo,
    "boundaries": run_boundaries,
    "phones": run_phones,
    "addresses": run_addresses,
    "export": run_export,
    "backup": run_backup,
    "restore": run_restore,
    "erase-client": run_erase_client,
    "settings": run_settings,
    "audit": run_audit,
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
