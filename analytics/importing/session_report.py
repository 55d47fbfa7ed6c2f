"""What a session import did: the report both session importers (ICS, CSV) return.

Like ``FileReport`` for contacts: counts read, stored, already stored, rejected and left
out, the rows or events that need a look (with their row number, or date and title), and
the batch it became. Event titles appear only here, in memory, for the user to review;
they are never stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from analytics.errors import ContactLoadError
from analytics.importing.parsing import DateOrder
from analytics.importing.reader import RowProblem, problems_frame
from analytics.storage.store import ERASED_REASON

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_MAX_MINUTES = 480.0
"""Longest plausible session (8 hours); longer events are listed for review, not stored."""

SESSION_KINDS = ("calendar", "sessions_csv")
"""The session importers, as ``detect_kind`` names them."""

STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "no_show": ("no-show", "no show", "noshow", "did not attend", "nicht erschienen"),
    "late_cancelled": (
        "late cancel",
        "late-cancel",
        "cancelled late",
        "canceled late",
        "kurzfristig abgesagt",
    ),
    "cancelled": ("cancel", "abgesagt", "storniert"),
}
"""Words in a calendar event's title that mark its session status (checked in this order,
case-insensitive, from the start of a word: "cancel" also finds "cancelled"); a title with
none of them is an attended session. Change them per import (``CalendarOptions``, the
Import page, ``--status-words`` on the command line)."""


DEFAULT_CLIENT_PATTERN = (
    r"(?i)^\s*(?:session|therapy|therapie|sitzung|appointment|termin)\b\s*"
    r"(?:with\b|mit\b|[:\-–])?\s*(?P<client>[^()\[\]:]+?)\s*(?:(?:[(\[]|\s[-–]\s).*)?$"
)
"""Which calendar events are sessions and with whom: a title starting with a session word
(session, therapy, appointment; Sitzung, Therapie, Termin), then the client, then maybe a
note in brackets or after " - " ("Session: Anna B. (no-show)" -> "Anna B."). Titles it does
not fit (team meetings, holidays) are listed for review and not stored. Use
``(?P<client>.+)`` when every event is a session titled with the client alone."""


LEFT_OUT_WORDS = {
    "all_day": "all-day",
    "cancelled": "cancelled",
    "outside_range": "outside the range",
    "over_limit": "over a limit",
}
"""Why calendar events are left out on purpose (the keys of ``SessionReport.excluded``), in
the words a report uses: all-day events, those marked STATUS:CANCELLED, events with no
instance in the range, and events over a limit of ``calendar_events`` (those last two are
also listed for review)."""


@dataclass(frozen=True)
class SessionOptions:
    """How to read a session file; every field has a sensible default."""

    therapist: str | None = None
    practice: str | None = None
    time_zone: str = "UTC"
    """Zone of therapists new to the database (and of floating calendar times for them)."""
    client_pattern: str = DEFAULT_CLIENT_PATTERN
    start: date | None = None
    """First local date of calendar sessions to import (default: the first event's)."""
    end: date | None = None
    """Last local date of calendar sessions to import (default: today)."""
    status_words: tuple[tuple[str, tuple[str, ...]], ...] = tuple(STATUS_WORDS.items())
    date_order: DateOrder | None = None
    max_minutes: float = DEFAULT_MAX_MINUTES
    preview_rows: int = 20


@dataclass(frozen=True)
class ReviewedEvent:
    """A calendar event that was not stored and needs a look: when, its title, and why."""

    day: date | None
    title: str
    reason: str


@dataclass
class SessionReport:
    """What importing one session file did (or, on a dry run, would do)."""

    file: str
    kind: str
    """"calendar" (ICS) or "sessions_csv"."""
    detected: str
    rows: int
    """Events in the range (each instance of a recurring one) or CSV data rows."""
    imported: int
    duplicates: int
    rejected: int
    excluded: dict[str, int] = field(default_factory=dict)
    """Events left out on purpose, by reason (the keys of ``LEFT_OUT_WORDS``)."""
    errors: list[RowProblem] = field(default_factory=list)
    """CSV rows that could not become sessions (row, column, reason)."""
    unmatched: list[ReviewedEvent] = field(default_factory=list)
    """Events whose title named no client by the pattern, or that could not be read."""
    batch_id: int | None = None
    dry_run: bool = False
    preview: pd.DataFrame | None = None
    statuses: dict[str, int] = field(default_factory=dict)
    """Sessions to store per status (attended, cancelled, late_cancelled, no_show)."""
    erased: int = 0
    """Sessions left out because their client was erased (never imported again)."""

    @property
    def erased_note(self) -> str | None:
        """Why sessions were skipped, in one sentence, when any were."""
        if not self.erased:
            return None
        return f"{self.erased:,} sessions were skipped: {ERASED_REASON}."

    def to_json(self) -> dict[str, Any]:
        """The CLI's ``--json`` shape for one file (the contact report's keys, and more)."""
        return {
            "file": self.file,
            "kind": self.kind,
            "preset": self.kind,
            "rows": self.rows,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "excluded": dict(self.excluded),
            "skipped_erased": self.erased,
            "skipped_erased_reason": ERASED_REASON if self.erased else None,
            "statuses": dict(self.statuses),
            "errors": [error.to_json() for error in self.errors],
            "unmatched": [
                {"date": event.day.isoformat() if event.day else None, "title": event.title,
                 "reason": event.reason}
                for event in self.unmatched
            ],
        }  # fmt: skip

    def errors_frame(self) -> pd.DataFrame:
        """Rejected CSV rows as a table (row, column, message), for download."""
        return problems_frame(self.errors)

    def unmatched_frame(self) -> pd.DataFrame:
        """Events left for review as a table (date, title, reason), for download."""
        import pandas as pd

        return pd.DataFrame(
            [(event.day, event.title, event.reason) for event in self.unmatched],
            columns=["date", "title", "reason"],
        )


class NoSessionsError(ContactLoadError):
    """Nothing in the file can become a session; carries the report for review."""

    def __init__(self, message: str, report: SessionReport) -> None:
        super().__init__(message)
        self.report = report
