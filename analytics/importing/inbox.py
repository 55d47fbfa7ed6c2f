"""The inbox folder: a file dropped there is imported like an upload, then filed away.

``sweep`` makes one pass over the folder. A file is taken only when two looks
``settle_seconds`` apart find it the same size and modification time, and never while its
name is a download's or an editor's temporary one (``is_temporary``). A taken file is
imported by ``dispatch.import_detected``, exactly as ``contactload import`` and the Import
page import it (detection, presets, limits, one batch per file), then moved into ``done/``
or ``failed/`` inside the inbox beside ``<name>.report.json``: when, what kind, rows
stored, already stored and with problems, or the one sentence saying why it failed. A
failed file stores nothing. When the database itself cannot be written (in use too long,
damaged, disk full) the file goes back where it was and the sweep stops: it is the
database's fault, not the file's, and the next pass tries again.

While it is imported a file sits in a hidden ``.taking-<pid>`` folder of the inbox, so two
sweepers (the dashboard's watcher and a scheduled ``contactload inbox``) never take the
same file; what a killed process left there goes back into the inbox at the next sweep.

``InboxWatcher`` runs sweeps on a daemon thread (the dashboard's server process runs one);
between sweeps it holds nothing of the database. Each file taken is one row of
``inbox_files`` (file name, counts and a fixed reason; never contents or error text),
which the Import page lists (``history``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from analytics.access.scope import LOCAL, Scope, local_user
from analytics.errors import ContactLoadError, DatabaseError, PermissionDeniedError
from analytics.storage.database import Database

if TYPE_CHECKING:
    import pandas as pd

    from analytics.importing.conversations import MessageReport
    from analytics.importing.phone_log import PhoneLogReport
    from analytics.importing.pipeline import FileReport
    from analytics.importing.session_report import SessionReport

    ImportReport = FileReport | SessionReport | PhoneLogReport | MessageReport

log = logging.getLogger("contactload.inbox")

DONE = "done"
FAILED = "failed"
REPORT_SUFFIX = ".report.json"
FOLDER_KEY = "inbox_folder"
"""The ``settings`` row holding the inbox folder chosen for this database."""
DEFAULT_FOLDER_NAME = "inbox"
"""The inbox's default: this folder beside the database (``make run``: data/inbox)."""
TAKING_PREFIX = ".taking-"

TEMPORARY_SUFFIXES = (
    ".part",  # Firefox, wget, curl -C and many sync tools
    ".partial",  # older Firefox and Edge
    ".crdownload",  # Chrome, Chromium, Edge
    ".download",  # Safari
    ".opdownload",  # Opera
    ".tmp",
    ".temp",
    ".swp",  # vim
)
TEMPORARY_PREFIXES = (
    ".",  # hidden files: macOS ._ companions, .DS_Store, rsync's .name.XXXXXX
    "~$",  # Office's lock file beside an open workbook
    "~",
)

KIND_WORDS = {
    "contacts": "contact log",
    "calendar": "calendar (ICS)",
    "sessions_csv": "session file",
    "phone_log": "phone log",
    "google_voice": "Google Voice Takeout",
    "practice_sessions": "appointment report",
    "markup": "XML or HTML file",
    "mbox": "mailbox (mbox)",
    "eml": "e-mail (.eml)",
    "whatsapp": "WhatsApp chat",
}
"""What ``detect.detect_kind`` took a file for, in the user's words."""

REASONS: tuple[tuple[str, str], ...] = (
    ("FileTooLargeError", "over the upload size limit"),
    ("ImportLimitError", "over an import limit (rows or time)"),
    ("EmptyClientColumnError", "its client column is empty"),
    ("MappingError", "its columns match no known export"),
    ("AmbiguousDatesError", "its dates read both day-first and month-first"),
    ("TherapistNeededError", "it names no therapist (import it on the Import page)"),
    ("UnsupportedFileError", "not a kind of file Contact Load imports"),
    ("NoSessionsError", "no session could be read from it"),
    ("SessionColumnsError", "its session columns are incomplete"),
    ("CalendarError", "the calendar could not be read"),
    ("PhoneLogError", "the phone log could not be read"),
    ("MessageFileError", "the mailbox or chat export could not be read"),
    ("UnreadableFileError", "not readable as a contact log, calendar or phone log"),
    ("OSError", "the file could not be read"),
)
"""Why a file failed, as stored in ``inbox_files.reason``: the error's class (its first
match along the class's ancestry) names a fixed phrase, so no text of the file is stored.
The report beside the file has the full sentence."""
OTHER_REASON = "it could not be imported"


class InboxError(ContactLoadError):
    """The inbox folder cannot be used (not a folder, or not writable)."""


Outcome = Literal["done", "failed"]


@dataclass(frozen=True)
class InboxEntry:
    """One file the inbox took: where it went and what it stored (or why it failed)."""

    file_name: str
    kind: str
    outcome: Outcome
    moved_to: Path
    report_path: Path
    rows_read: int | None = None
    stored: int | None = None
    already_stored: int | None = None
    problems: int | None = None
    batch_id: int | None = None
    reason: str | None = None
    """A fixed phrase from ``REASONS`` (stored); ``sentence`` is the full one (not stored)."""
    sentence: str | None = None


@dataclass
class SweepResult:
    """What one pass over the inbox did."""

    taken: list[InboxEntry] = field(default_factory=list)
    still_changing: list[str] = field(default_factory=list)
    """Files whose size or time changed between the two looks: left for a later pass."""
    ignored: list[str] = field(default_factory=list)
    """Files with a temporary name (a download or a save still in progress), and empty
    files (created, not yet written)."""
    paused: str | None = None
    """The database's sentence when it could not be written: the sweep stopped there and
    the file stayed in the inbox."""


# One sweep at a time per folder in this process (the claim folder is per process).
_sweep_locks: dict[Path, threading.Lock] = {}
_sweep_locks_guard = threading.Lock()


def log_to_stderr() -> None:
    """Show what the inbox takes (and its problems) on stderr, once per process, without
    touching other loggers (a server's own logging stays as it is)."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("contactload: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False


def is_temporary(name: str) -> bool:
    """Whether ``name`` is a file still being downloaded or saved, or a hidden one."""
    lowered = name.lower()
    return lowered.startswith(TEMPORARY_PREFIXES) or lowered.endswith((*TEMPORARY_SUFFIXES, "~"))


def default_folder(db: Database) -> Path:
    """The inbox when none is chosen: ``inbox`` beside the database file."""
    return db.path.resolve().parent / DEFAULT_FOLDER_NAME


def stored_folder(db: Database) -> Path | None:
    """The inbox folder stored for this database, if one was chosen."""
    (value,) = db.row("SELECT max(value) FROM settings WHERE key = ?", [FOLDER_KEY])
    return Path(value) if value else None


def inbox_folder(db: Database, chosen: Path | None = None) -> Path:
    """The inbox to use: ``chosen`` (``--inbox``), else the stored one, else the default."""
    return Path(chosen or stored_folder(db) or default_folder(db)).expanduser().resolve()


def set_inbox_folder(db: Database, folder: Path | None, *, scope: Scope = LOCAL) -> None:
    """Store ``folder`` as this database's inbox (None: back to the default); only a viewer
    who may import, recorded in the audit log. A running watcher keeps its folder until the
    dashboard starts again."""
    from analytics.storage import audit

    scope.require_import()
    with db.transaction() as cursor:
        cursor.execute("DELETE FROM settings WHERE key = ?", [FOLDER_KEY])
        if folder is not None:
            resolved = str(Path(folder).expanduser().resolve())
            cursor.execute(
                "INSERT INTO settings (key, value) VALUES (?, ?)", [FOLDER_KEY, resolved]
            )
        audit.record(
            cursor, scope, "settings", f"{FOLDER_KEY} = {folder if folder else 'the default'}"
        )


def settle_seconds(db: Database) -> float:
    """How long a dropped file must stay unchanged (setting ``inbox_settle_seconds``)."""
    from analytics.storage.settings import get_setting

    return get_setting(db, "inbox_settle_seconds")


def prepare_folder(inbox: Path) -> Path:
    """Create the inbox and its ``done``/``failed`` folders if needed; one sentence when
    it cannot be used."""
    try:
        for folder in (inbox, inbox / DONE, inbox / FAILED):
            folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InboxError(
            f"The inbox folder {inbox} cannot be used ({error.strerror or error}); choose "
            "another with --inbox."
        ) from error
    return inbox


def _look(inbox: Path) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Each waiting file's (size, modification time) by name, and the temporary names."""
    waiting: dict[str, tuple[int, int]] = {}
    ignored: list[str] = []
    with os.scandir(inbox) as entries:
        for entry in entries:
            if not entry.is_file(follow_symlinks=False):
                continue  # done/, failed/, claim folders, links
            if is_temporary(entry.name):
                ignored.append(entry.name)
                continue
            try:
                stat = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # taken or moved away meanwhile
            if stat.st_size == 0:
                ignored.append(entry.name)  # created, not written yet (or nothing to read)
                continue
            waiting[entry.name] = (stat.st_size, stat.st_mtime_ns)
    return waiting, sorted(ignored)


def _sweep_lock(inbox: Path) -> threading.Lock:
    with _sweep_locks_guard:
        return _sweep_locks.setdefault(inbox, threading.Lock())


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _return_leftovers(inbox: Path) -> None:
    """Put back into the inbox the files a killed sweep left in its claim folder (and what
    an earlier sweep of this process left after an unexpected error)."""
    for claim in inbox.glob(f"{TAKING_PREFIX}*"):
        pid_text = claim.name.removeprefix(TAKING_PREFIX)
        if not pid_text.isdigit() or not claim.is_dir():
            continue
        pid = int(pid_text)
        if pid != os.getpid() and _alive(pid):
            continue  # another sweeper is at work
        for leftover in claim.iterdir():
            target = inbox / leftover.name
            if not target.exists():
                os.replace(leftover, target)
        if not any(claim.iterdir()):
            claim.rmdir()


def _free_name(folder: Path, name: str) -> Path:
    """``folder/name``, or ``name (2)``, ``name (3)``... when it is taken."""
    target = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    number = 2
    while target.exists() or (folder / f"{target.name}{REPORT_SUFFIX}").exists():
        target = folder / f"{stem} ({number}){suffix}"
        number += 1
    return target


def _reason(error: BaseException) -> str:
    """The fixed phrase stored for ``error`` (see ``REASONS``)."""
    ancestry = [klass.__name__ for klass in type(error).__mro__]
    for name in ancestry:
        for known, phrase in REASONS:
            if known == name:
                return phrase
    return OTHER_REASON


def _import_options(
    time_zone: str | None,
) -> dict[str, Any]:
    """The options ``contactload import`` uses with no option given: format detected,
    new therapists in this machine's time zone (or ``time_zone``)."""
    from analytics.importing.phone_log import PhoneLogOptions
    from analytics.importing.pipeline import ImportOptions, local_time_zone
    from analytics.importing.session_report import SessionOptions

    zone = time_zone or local_time_zone()
    return {
        "contact_options": ImportOptions(time_zone=zone, preview_rows=0),
        "session_options": SessionOptions(time_zone=zone, preview_rows=0),
        "phone_options": PhoneLogOptions(time_zone=zone),
    }


def _check_zone(db: Database, zone: str) -> None:
    """An unknown ``--time-zone`` is the command's mistake, not each file's: refuse it once,
    before any file is taken."""
    from analytics.importing.pipeline import check_time_zone

    with db.cursor() as cursor:
        check_time_zone(cursor, zone)


def _write_report(path: Path, entry: InboxEntry, taken_at: datetime, details: Any) -> None:
    """``<name>.report.json`` beside the filed file."""
    report = {
        "file": entry.file_name,
        "taken_at": taken_at.isoformat(timespec="seconds"),
        "kind": entry.kind,
        "outcome": entry.outcome,
        "rows": entry.rows_read,
        "stored": entry.stored,
        "already_stored": entry.already_stored,
        "problems": entry.problems,
        "batch": entry.batch_id,
        "reason": entry.sentence,
        "import": details,
    }
    path.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")


def _record(db: Database, entry: InboxEntry, taken_at: datetime) -> None:
    """One row of ``inbox_files`` for ``entry`` (names and counts only; a WhatsApp export's
    name holds its chat's name, kept as a hint)."""
    from analytics.importing.whatsapp import history_name

    with db.transaction() as cursor:
        cursor.execute(
            "INSERT INTO inbox_files (taken_at, file_name, kind, outcome, moved_to, "
            "rows_read, stored, already_stored, problems, batch_id, reason) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                taken_at,
                history_name(entry.file_name),
                entry.kind,
                entry.outcome,
                f"{entry.outcome}/{history_name(entry.moved_to.name)}",
                entry.rows_read,
                entry.stored,
                entry.already_stored,
                entry.problems,
                entry.batch_id,
                entry.reason,
            ],
        )


def _take(
    db: Database, inbox: Path, claimed: Path, scope: Scope, options: dict[str, Any]
) -> InboxEntry:
    """Import one claimed file and file it in ``done/`` or ``failed/`` with its report.

    Raises ``DatabaseError`` (the file left where it is) when the database cannot be used.
    """
    from analytics.importing.dispatch import file_kind, import_detected

    name = claimed.name
    taken_at = datetime.now(UTC)
    kind = "contacts"
    try:
        kind = file_kind(claimed)
        report: ImportReport = import_detected(
            db, claimed, file_name=name, scope=scope, kind=kind, **options
        )
    except (DatabaseError, PermissionDeniedError):
        raise  # the database's fault (or the viewer's), not the file's: it stays
    except (ContactLoadError, OSError) as error:
        target = _free_name(inbox / FAILED, name)
        sentence = str(error) if isinstance(error, ContactLoadError) else None
        entry = InboxEntry(
            file_name=name,
            kind=KIND_WORDS.get(kind, kind),
            outcome="failed",
            moved_to=target,
            report_path=target.with_name(target.name + REPORT_SUFFIX),
            reason=_reason(error),
            sentence=sentence or f"{name} could not be read ({error}); nothing was stored.",
        )
        details: Any = None
    else:
        target = _free_name(inbox / DONE, name)
        entry = InboxEntry(
            file_name=name,
            kind=KIND_WORDS.get(kind, kind),
            outcome="done",
            moved_to=target,
            report_path=target.with_name(target.name + REPORT_SUFFIX),
            rows_read=report.rows,
            stored=report.imported,
            already_stored=report.duplicates,
            problems=report.rejected,
            batch_id=report.batch_id,
        )
        details = report.to_json()
    _write_report(entry.report_path, entry, taken_at, details)
    os.replace(claimed, target)
    _record(db, entry, taken_at)
    return entry


def sweep(
    db: Database,
    inbox: Path,
    *,
    settle: float | None = None,
    time_zone: str | None = None,
    scope: Scope = LOCAL,
    pause: Callable[[float], None] = time.sleep,
) -> SweepResult:
    """One pass over ``inbox``: import every file that stayed unchanged for ``settle``
    seconds (default: the ``inbox_settle_seconds`` setting), then file it away.

    Only a viewer who may import (the command line and the dashboard's watcher run as this
    machine's own user, ``local_user``); ``pause`` waits between the two looks. The
    database is touched only when a file is there to import.
    """
    scope.require_import()
    inbox = prepare_folder(Path(inbox).resolve())
    result = SweepResult()
    with _sweep_lock(inbox):
        _return_leftovers(inbox)
        first, result.ignored = _look(inbox)
        if not first:
            return result
        pause(settle if settle is not None else settle_seconds(db))
        second, result.ignored = _look(inbox)
        steady = sorted(name for name, seen in second.items() if first.get(name) == seen)
        result.still_changing = sorted(set(second) - set(steady))
        if not steady:
            return result
        options = _import_options(time_zone)
        _check_zone(db, options["contact_options"].time_zone)
        claim = inbox / f"{TAKING_PREFIX}{os.getpid()}"
        claim.mkdir(exist_ok=True)
        try:
            for name in steady:
                claimed = claim / name
                try:
                    os.rename(inbox / name, claimed)
                except FileNotFoundError:
                    continue  # another sweeper took it first
                try:
                    result.taken.append(_take(db, inbox, claimed, scope, options))
                except DatabaseError as error:
                    if claimed.exists():  # not yet filed: back where it was dropped
                        os.replace(claimed, inbox / name)
                    result.paused = str(error)
                    break
        finally:
            _return_leftovers(inbox)
    return result


def history(db: Database, scope: Scope, limit: int = 200) -> pd.DataFrame:
    """The files the inbox took, newest first (viewers who may import; no rows otherwise)."""
    visible = scope.may_import
    with db.cursor() as cursor:
        return cursor.execute(
            "SELECT taken_at, file_name, kind, outcome, stored, already_stored, problems, "
            "rows_read, batch_id, reason, moved_to FROM inbox_files WHERE ? "
            "ORDER BY entry_id DESC LIMIT ?",
            [visible, limit],
        ).df()


def entry_json(entry: InboxEntry) -> dict[str, Any]:
    """The CLI's ``--json`` shape of one file the inbox took."""
    return {
        "file": entry.file_name,
        "kind": entry.kind,
        "outcome": entry.outcome,
        "moved_to": str(entry.moved_to),
        "report": str(entry.report_path),
        "rows": entry.rows_read,
        "stored": entry.stored,
        "already_stored": entry.already_stored,
        "problems": entry.problems,
        "batch": entry.batch_id,
        "reason": entry.sentence,
    }


def describe(entry: InboxEntry) -> str:
    """One line for a file the inbox took (CLI and logs)."""
    if entry.outcome == "failed":
        return f"{entry.file_name}: failed, moved to failed/{entry.moved_to.name}. {entry.sentence}"
    return (
        f"{entry.file_name}: {entry.kind}, {entry.rows_read:,} rows: {entry.stored:,} stored, "
        f"{entry.already_stored:,} already stored, {entry.problems:,} with problems"
        + (f" (batch {entry.batch_id})" if entry.batch_id else "")
        + f"; moved to done/{entry.moved_to.name}."
    )


class InboxWatcher:
    """Sweeps an inbox every ``interval`` seconds on a daemon thread until ``stop``.

    ``db`` may be a function that opens the database: the dashboard's server starts its
    watcher before any page has opened the file, and the watcher opens it (``open_database``
    shares the pages' one) on its first pass, trying again at the next while it cannot.
    ``inbox`` None: the folder stored for the database, else the default.
    """

    def __init__(
        self,
        db: Database | Callable[[], Database],
        inbox: Path | None = None,
        *,
        interval: float = 2.0,
        settle: float | None = None,
        time_zone: str | None = None,
        on_sweep: Callable[[SweepResult], None] | None = None,
    ) -> None:
        self.db: Database | None = db if isinstance(db, Database) else None
        self._opener = db if not isinstance(db, Database) else None
        self._chosen = inbox
        self.inbox: Path | None = None
        if self.db is not None or inbox is not None:
            self.inbox = prepare_folder(
                inbox_folder(self.db, inbox) if self.db else Path(inbox or ".").resolve()
            )
        self.interval = interval
        self.settle = settle
        self.time_zone = time_zone
        self.on_sweep = on_sweep
        self.sweeps = 0
        self.last_problem: str | None = None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="contactload-inbox", daemon=True)

    def start(self) -> InboxWatcher:
        """Start sweeping; returns the watcher."""
        self._thread.start()
        return self

    def stop(self, timeout: float | None = 30) -> None:
        """Stop after the sweep under way (a file being imported finishes first)."""
        self._stopped.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        """Whether the thread still sweeps."""
        return self._thread.is_alive() and not self._stopped.is_set()

    def _pause(self, seconds: float) -> None:
        self._stopped.wait(seconds)

    def _ready(self) -> tuple[Database, Path]:
        """The database and the folder, opened and resolved on first use."""
        if self.db is None:
            assert self._opener is not None
            self.db = self._opener()
        if self.inbox is None:
            self.inbox = prepare_folder(inbox_folder(self.db, self._chosen))
        return self.db, self.inbox

    def run_once(self) -> SweepResult | None:
        """One sweep; a problem of the folder or the database is logged, never raised."""
        try:
            db, folder = self._ready()
            result = sweep(
                db,
                folder,
                settle=self.settle,
                time_zone=self.time_zone,
                scope=local_user(),
                pause=self._pause,
            )
        except (ContactLoadError, OSError) as error:
            self._problem(str(error))
            return None
        self.sweeps += 1
        for entry in result.taken:
            log.info("%s", describe(entry))
        self._problem(result.paused)
        if self.on_sweep is not None:
            self.on_sweep(result)
        return result

    def _problem(self, sentence: str | None) -> None:
        """Log a problem once, not at every sweep while it lasts."""
        if sentence and sentence != self.last_problem:
            log.warning("inbox %s: %s", self.inbox or "", sentence)
        self.last_problem = sentence

    def _run(self) -> None:
        while not self._stopped.is_set():
            self.run_once()
            self._stopped.wait(self.interval)
