"""Import commands: ``import FILE...`` (contact logs, session calendars and CSV files, phone
logs, mailboxes and WhatsApp chats: each file's kind detected from its content) and
``inbox`` (the files dropped in the inbox folder, once or ``--watch``), with the lines that
report what each file did.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from analytics.cli.command import DB, JSON, command, iso_date, option
from analytics.cli.output import print_json
from analytics.domain import CATEGORIES
from analytics.errors import ContactLoadError
from analytics.importing.presets import PRESET_NAMES

if TYPE_CHECKING:
    from analytics.cli.context import Context
    from analytics.importing.inbox import SweepResult
    from analytics.importing.phone_log import PhoneLogReport
    from analytics.importing.pipeline import FileReport
    from analytics.importing.session_report import SessionReport


@command(
    "import",
    help="import contact logs (CSV or .xlsx), session calendars (ICS) and session CSV "
    "files, phone logs, mailboxes (mbox, .eml) and WhatsApp chats",
    shared=(DB, JSON),
    creates=True,
)
@option("files", nargs="+", type=Path, metavar="FILE")
@option("--preset", choices=("auto", *PRESET_NAMES), default="auto")
@option("--map", dest="mapping", default=None, help="field=Header,... for other layouts")
@option("--mapping", dest="mapping_name", default=None, help="a saved mapping")
@option(
    "--therapist",
    default=None,
    help="therapist when the file names none (calendars and phone logs never do)",
)
@option("--practice", default=None, help="practice when the file names none")
@option(
    "--time-zone",
    default=None,
    help="IANA zone of therapists new to the database (default: this machine's)",
)
@option("--date-order", choices=("dmy", "mdy", "ymd"), default=None)
@option(
    "--direction-default",
    dest="direction_defaults",
    action="append",
    default=None,
    metavar="CHANNEL=DIRECTION,...",
    help="who started contacts of a channel when the file does not say, e.g. "
    "phone=client,portal=client (client or therapist; in/out, incoming/outgoing too)",
)
@option(
    "--encoding",
    default=None,
    metavar="NAME",
    help="contact logs: the file's text encoding, e.g. cp1250 (default: detected)",
)
@option(
    "--sheet",
    default=None,
    metavar="NAME",
    help="Excel workbooks: the sheet to read (default: the first)",
)
@option(
    "--client-pattern",
    default=None,
    help="calendars: regular expression with a group (?P<client>...) over event titles",
)
@option(
    "--from", dest="start", type=iso_date, default=None,
    help="calendars: first local date to import (default: the first event's)",
)  # fmt: skip
@option(
    "--to", dest="end", type=iso_date, default=None,
    help="calendars: last local date to import (default: today)",
)  # fmt: skip
@option(
    "--status-words",
    action="append",
    default=None,
    metavar="STATUS=WORD,...",
    help="calendars: title words marking no_show, late_cancelled or cancelled (repeatable)",
)
@option("--dry-run", action="store_true", help="check and report, store nothing")
@option(
    "--call-category",
    choices=CATEGORIES,
    default="other",
    help="category of the calls in a phone log (default: other, for review)",
)
@option(
    "--region",
    default=None,
    help="phone logs: region of numbers written without a country code, e.g. IT, DE, US "
    "(default: the stored one, `contactload phones region`)",
)
@option(
    "--country-code",
    default=None,
    help="phone logs: the older way to give the region, as its calling code (39 = IT)",
)
def import_files(ctx: Context) -> int:
    """``contactload import``: each file is one batch; unusable files store nothing.

    Each file's kind is detected from its content (contact log, ICS calendar, session CSV,
    phone log), unless a preset or column mapping says it is a contact log.
    """
    from analytics.cli.messages import print_message_report
    from analytics.importing.classify import parse_direction_defaults
    from analytics.importing.conversations import MessageOptions, MessageReport
    from analytics.importing.dispatch import import_detected
    from analytics.importing.phone_log import PhoneLogOptions, PhoneLogReport
    from analytics.importing.pipeline import ImportOptions, local_time_zone
    from analytics.importing.presets import parse_map_option
    from analytics.importing.session_report import NoSessionsError, SessionOptions, SessionReport
    from analytics.importing.text_encodings import UnreadableFileError

    args, db = ctx.args, ctx.db
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
            if not path.is_file() and not (path.is_dir() and _readable_folder(path)):
                # a folder only as an unpacked Google Takeout of Voice, a folder of .eml
                # files or Apple Mail's Inbox.mbox folder
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
                scope=ctx.scope,
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
        print_json({"files": reports})
    return 1 if failed else 0


@command(
    "inbox",
    help="import the files dropped in the inbox folder, then file them in done/ or failed/",
    shared=(DB, JSON),
    creates=True,
)
@option(
    "--inbox",
    type=Path,
    default=None,
    metavar="DIR",
    help="the inbox folder (default: the stored one, else inbox/ beside the database)",
)
@option("--watch", action="store_true", help="keep watching until interrupted (Ctrl+C)")
@option(
    "--settle",
    type=float,
    default=None,
    metavar="SECONDS",
    help="how long a file must stay unchanged before it is taken "
    "(default: the inbox_settle_seconds setting, 5)",
)
@option(
    "--interval", type=float, default=2.0, metavar="SECONDS", help="--watch: pause between looks"
)
@option(
    "--time-zone",
    default=None,
    help="IANA zone of therapists new to the database (default: this machine's)",
)
@option(
    "--remember",
    action="store_true",
    help="store --inbox as this database's inbox (the dashboard watches it from its next start)",
)
def sweep_inbox(ctx: Context) -> int:
    """``contactload inbox``: one sweep of the inbox folder, or ``--watch`` until stopped."""
    import time

    from analytics.importing import inbox

    args, db = ctx.args, ctx.db
    folder = inbox.inbox_folder(db, args.inbox)
    if args.remember:
        inbox.set_inbox_folder(db, folder, scope=ctx.scope)
    if not args.watch:
        result = inbox.sweep(
            db, folder, settle=args.settle, time_zone=args.time_zone, scope=ctx.scope
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
    from analytics.importing import inbox

    if as_json:
        if result.taken or result.paused or not quiet_when_empty:
            print_json(
                {
                    "inbox": str(folder),
                    "taken": [inbox.entry_json(entry) for entry in result.taken],
                    "still_changing": result.still_changing,
                    "ignored": result.ignored,
                    "paused": result.paused,
                },
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


def _readable_folder(path: Path) -> bool:
    """Whether a folder is one an importer reads: an unpacked Google Takeout of Voice, a
    folder of .eml files, or Apple Mail's ``Inbox.mbox`` folder."""
    from analytics.importing.dispatch import file_kind

    return file_kind(path) in ("google_voice", "eml", "mbox")


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
