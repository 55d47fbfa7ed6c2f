"""Streamlit glue for the Import page: cached dry runs, the options form, session reports."""

import hashlib
from dataclasses import replace
from datetime import date
from zoneinfo import available_timezones

import pandas as pd
import streamlit as st

from analytics.access.scope import Scope
from analytics.importing.conversations import MessageReport
from analytics.importing.dispatch import import_detected
from analytics.importing.phone_log import PhoneLogReport
from analytics.importing.pipeline import (
    FileReport,
    ImportOptions,
    TherapistNeededError,
    import_file,
    local_time_zone,
)
from analytics.importing.presets import FIELDS, Layout
from analytics.importing.session_report import (
    DEFAULT_CLIENT_PATTERN,
    LEFT_OUT_WORDS,
    STATUS_WORDS,
    SessionOptions,
    SessionReport,
)
from analytics.importing.workbook import is_workbook, sheet_csv, sheet_names
from analytics.storage.database import Database
from ui.components import csv_download
from ui.state import database, filter_choices
from ui.viewer import current_viewer_scope

COMMON_ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Zurich",
    "Europe/Paris",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Asia/Tokyo",
)


def default_time_zone() -> tuple[str, str]:
    """The zone the Import page offers first, and where it comes from: the browser's
    (``st.context.timezone``) when it names a known zone, else this computer's."""
    browser = st.context.timezone
    if browser and browser in available_timezones():
        return browser, "your browser's time zone"
    return local_time_zone(), "this computer's time zone"


def practice_client_labels(practice_name: str) -> list[str]:
    """Labels of the clients stored in a practice, for the mapping editors of phone logs,
    mailboxes and chats."""
    choices = filter_choices()
    practice = choices.practices[choices.practices["name"] == practice_name]
    if practice.empty:
        return []
    clients = choices.clients[choices.clients["practice_id"] == practice["practice_id"].iloc[0]]
    return sorted(str(label) for label in clients["label"])


def therapist_named(key: str) -> str:
    """The therapist's name typed for one file (``ask_therapist``'s box), or ""."""
    return str(st.session_state.get(key) or "").strip()


def ask_therapist(error: TherapistNeededError, key: str) -> None:
    """Say the file names no real therapist and ask for the name in the file's box."""
    st.warning(error.ask, icon=":material/person:")
    st.text_input("Therapist's name", key=key, placeholder="e.g. Anna Weber")


def keep_therapist_box(key: str) -> None:
    """Show the file's box again once a name is typed, so the name stays."""
    if therapist_named(key):
        st.text_input("Therapist's name", key=key)


def time_zone_choices(first: str) -> list[str]:
    """Every IANA zone, ``first`` first, then the common ones, then the rest A to Z (the
    select box can be typed into)."""
    return list(dict.fromkeys([first, *COMMON_ZONES, *sorted(available_timezones())]))


def new_therapists_note(names: list[str], zone: str) -> str:
    """One sentence naming the therapists an import would add and the zone they get."""
    listed = ", ".join(names[:10]) + (f" and {len(names) - 10:,} more" if len(names) > 10 else "")
    return (
        f"New therapist{'s' if len(names) > 1 else ''}: {listed}. Their times are read in "
        f"{zone} (the time zone chosen above) and kept in it."
    )


@st.cache_data(show_spinner=False, max_entries=32)
def _dry_run(
    _db: Database,
    digest: str,
    version: int,
    data: bytes,
    name: str,
    options: ImportOptions,
    scope: Scope,
) -> FileReport:
    return import_file(_db, data, file_name=name, options=options, dry_run=True, scope=scope)


def dry_run(data: bytes, name: str, options: ImportOptions) -> FileReport:
    """What importing ``data`` would do, cached per file, options and stored data."""
    db = database()
    digest = hashlib.sha256(data).hexdigest()
    return _dry_run(db, digest, db.data_version(), data, name, options, current_viewer_scope())


@st.cache_data(show_spinner=False, max_entries=16)
def _sheet_names(digest: str, data: bytes, name: str) -> tuple[str, ...]:
    return sheet_names(data, name)


@st.cache_data(show_spinner=False, max_entries=16)
def _sheet_csv(digest: str, data: bytes, name: str, sheet: str) -> bytes:
    return sheet_csv(data, name, sheet)


def upload_table(data: bytes, name: str, key: str) -> tuple[bytes, str]:
    """The upload as the importers read it: a workbook's chosen sheet (a select box) as CSV,
    any other file as it is; with the widget key for what is read (the sheet's own, so the
    column mapping of one sheet is not carried to another). A workbook that cannot be read
    raises its one sentence."""
    if not is_workbook(data):
        return data, key
    digest = hashlib.sha256(data).hexdigest()
    sheets = _sheet_names(digest, data, name)
    sheet = st.selectbox(
        "Sheet",
        sheets,
        key=f"sheet_{key}",
        help="The worksheet that holds the report; its first row is the header.",
    )
    chosen = sheet or sheets[0]
    return _sheet_csv(digest, data, name, chosen), f"{key}_{sheets.index(chosen)}"


def with_mapping(options: ImportOptions, mapping: dict[str, str]) -> ImportOptions:
    """The same options with an edited column mapping."""
    return replace(options, mapping=mapping or None)


def mapping_choices(header: list[str], layout: Layout | None, key: str) -> dict[str, str]:
    """One picker per field, offering the file's columns; the fields changed from ``layout``
    (the detected one, None when nothing was recognised) as a mapping, "" for a removed one."""
    st.caption(
        "Pick the column that holds each field; leave a field empty when the file has none. "
        "started_at and ended_at are for columns holding date and time together."
    )
    changes: dict[str, str] = {}
    columns = st.columns(3)
    for index, name in enumerate(FIELDS):
        current = " + ".join(layout.sources(name)) if layout else ""
        options = ["", *header, *([current] if current and current not in header else [])]
        chosen = columns[index % 3].selectbox(
            name,
            options,
            index=options.index(current),
            key=f"map_{key}_{name}",
            format_func=lambda cell: cell or "(none)",
        )
        if (chosen or "") != current:
            changes[name] = chosen or ""
    return changes


@st.cache_data(show_spinner=False, max_entries=32)
def _session_dry_run(
    _db: Database,
    digest: str,
    version: int,
    data: bytes,
    name: str,
    options: SessionOptions,
    today: date,
    scope: Scope,
) -> FileReport | SessionReport:
    report = import_detected(
        _db, data, file_name=name, session_options=options, dry_run=True, scope=scope
    )
    # phone logs and messages take their own paths on the page, never this one
    assert not isinstance(report, PhoneLogReport | MessageReport)
    return report


def session_dry_run(data: bytes, name: str, options: SessionOptions) -> FileReport | SessionReport:
    """What importing a calendar or session file would do, cached per file, options, stored
    data and day (a calendar's default range ends today)."""
    db = database()
    digest = hashlib.sha256(data).hexdigest()
    return _session_dry_run(
        db, digest, db.data_version(), data, name, options, date.today(), current_viewer_scope()
    )


STATUS_LABELS = {
    "no_show": "No-show",
    "late_cancelled": "Late cancellation",
    "cancelled": "Cancellation",
}


def calendar_settings(
    time_zone: str, therapist: str | None, practice: str | None, *, calendars: bool
) -> SessionOptions:
    """The calendar settings form (range, client pattern, status words) as options; open
    when a calendar is uploaded."""
    with st.expander("Calendar settings", expanded=calendars):
        st.caption(
            "Each event whose title fits the client pattern is a session; the others are "
            "listed for review. All-day and cancelled events are left out. Dates are the "
            "therapist's local dates; leave them empty for the first event to today."
        )
        left, right = st.columns(2)
        start = left.date_input("From", value=None, key="calendar_from", format="YYYY-MM-DD")
        end = right.date_input("To", value=None, key="calendar_to", format="YYYY-MM-DD")
        pattern = st.text_input(
            "Client pattern",
            value=DEFAULT_CLIENT_PATTERN,
            key="calendar_pattern",
            help="A regular expression over the event title with a group named client, "
            "e.g. ^(?P<client>.+)$ when every event is a session titled with the client.",
        )
        columns = st.columns(3)
        words = tuple(
            (
                status,
                tuple(
                    word.strip()
                    for word in column.text_input(
                        f"{STATUS_LABELS[status]} words",
                        value=", ".join(STATUS_WORDS[status]),
                        key=f"calendar_words_{status}",
                    ).split(",")
                    if word.strip()
                ),
            )
            for column, status in zip(columns, STATUS_LABELS, strict=True)
        )
    return SessionOptions(
        therapist=therapist,
        practice=practice,
        time_zone=time_zone,
        client_pattern=pattern.strip() or DEFAULT_CLIENT_PATTERN,
        start=start if isinstance(start, date) else None,
        end=end if isinstance(end, date) else None,
        status_words=words,
    )


def show_session_report(report: SessionReport, key: str) -> None:
    """The dry-run report of a calendar or session file: counts, preview, rows to review."""
    st.caption(f"Detected: {report.detected}")
    columns = st.columns(5)
    columns[0].metric("Events" if report.kind == "calendar" else "Rows", f"{report.rows:,}")
    columns[1].metric("Sessions to import", f"{report.imported:,}")
    columns[2].metric("Already stored", f"{report.duplicates:,}")
    columns[3].metric(
        "To review" if report.kind == "calendar" else "Rejected", f"{report.rejected:,}"
    )
    columns[4].metric("Left out", f"{sum(report.excluded.values()):,}")
    if report.erased_note:
        st.info(report.erased_note, icon=":material/person_off:")
    if report.statuses:
        st.caption(
            "Sessions by status: "
            + ", ".join(
                f"{status.replace('_', ' ')} {n:,}" for status, n in report.statuses.items()
            )
            + (f" · left out: {left_out}" if (left_out := _left_out(report)) else "")
        )
    if report.preview is not None and not report.preview.empty:
        st.dataframe(report.preview, hide_index=True, key=f"session_preview_{key}")
    if report.errors:
        st.warning(f"{report.rejected:,} rows cannot be imported; the others can.")
        st.dataframe(report.errors_frame().head(200), hide_index=True)
        csv_download(report.errors_frame(), f"{report.file}-problems.csv", key=f"errors_{key}")
    show_unmatched(report, key)


def _left_out(report: SessionReport) -> str:
    """The events left out on purpose, by reason, in words ("1 all-day, 2 cancelled")."""
    counts = [(LEFT_OUT_WORDS.get(name, name), n) for name, n in report.excluded.items() if n]
    return ", ".join(f"{n:,} {words}" for words, n in counts)


def show_unmatched(report: SessionReport, key: str) -> None:
    """Calendar events not stored, with date, title and reason, downloadable."""
    if not report.unmatched:
        return
    count = len(report.unmatched)
    st.warning(
        f"{count:,} event{' is' if count == 1 else 's are'} not stored: the title names no "
        "client by the pattern, the event cannot be read, it falls outside the range, or it "
        "repeats past a limit. Each has its reason below; change the client pattern if they "
        "are sessions, or the range if they fall outside it."
    )
    frame: pd.DataFrame = report.unmatched_frame()
    st.dataframe(frame.head(500), hide_index=True, key=f"unmatched_{key}")
    csv_download(frame, f"{report.file}-review.csv", key=f"unmatched_download_{key}")
