"""Scheduled sessions from ICS calendars, as Google Calendar and Outlook/Exchange export them.

Python does the text parsing only: ``icalendar`` reads the file (VTIMEZONE blocks, TZID
parameters, UTC ``Z`` times, Windows zone names such as ``Pacific Standard Time``) and
``recurring-ical-events`` expands RRULE/RDATE series within the imported range, with EXDATE
removed and moved instances (RECURRENCE-ID) in place of their original. Each instance
becomes one row of plain column lists. Everything after that is DuckDB SQL in one
transaction: the client from the title by a pattern, the status from words in the title,
the range in the therapist's local dates, and storing through ``analytics.sessions``.

A session is identified by its event's UID and the instance's original start (its
RECURRENCE-ID, or DTSTART) in UTC epoch seconds, so importing the same calendar again adds
nothing and a moved instance keeps the identity of the slot it was moved from.
All-day events and events marked STATUS:CANCELLED are left out and counted; titles the
pattern does not fit are listed for review. Titles and descriptions are never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from analytics.db import Database
from analytics.errors import ContactLoadError
from analytics.importing.pipeline import (
    DEFAULT_PRACTICE,
    DEFAULT_THERAPIST,
    check_time_zone,
    file_sha256,
)
from analytics.importing.session_report import (
    NoSessionsError,
    ReviewedEvent,
    SessionOptions,
    SessionReport,
)
from analytics.scope import LOCAL, Scope
from analytics.sessions import stage_sessions, store_sessions
from analytics.store import count_rows, record_import

if TYPE_CHECKING:
    import pandas as pd


class CalendarError(ContactLoadError):
    """The file is not a calendar that can be read (broken lines, no events, bad rules)."""


class ClientPatternError(ContactLoadError):
    """The pattern that finds the client in an event's title cannot be used."""


RANGE_MARGIN = timedelta(days=2)
"""Instances are expanded this far beyond the range, so a zone far from UTC loses none;
the exact range is then applied to local dates in SQL."""


@dataclass
class CalendarEvents:
    """One row per event instance, as plain columns (the only per-event Python work)."""

    uid: list[str | None] = field(default_factory=list)
    title: list[str] = field(default_factory=list)
    start_wall: list[datetime | None] = field(default_factory=list)
    """UTC wall time of the start, or the local wall time where ``floating``."""
    floating: list[bool] = field(default_factory=list)
    instance_wall: list[datetime | None] = field(default_factory=list)
    """The instance's original start (RECURRENCE-ID), in the same terms as ``start_wall``."""
    instance_floating: list[bool] = field(default_factory=list)
    minutes: list[float | None] = field(default_factory=list)
    all_day: list[bool] = field(default_factory=list)
    cancelled: list[bool] = field(default_factory=list)
    problem: list[str | None] = field(default_factory=list)
    """Why an instance cannot be read (e.g. an unknown time zone), else None."""

    def frame(self) -> pd.DataFrame:
        """The columns as a data frame DuckDB can read."""
        import pandas as pd

        return pd.DataFrame(
            {
                "event_number": range(1, len(self.title) + 1),
                "uid": pd.Series(self.uid, dtype="string"),
                "title": pd.Series(self.title, dtype="string"),
                "start_wall": pd.Series(self.start_wall, dtype="datetime64[us]"),
                "floating": pd.Series(self.floating, dtype="bool"),
                "instance_wall": pd.Series(self.instance_wall, dtype="datetime64[us]"),
                "instance_floating": pd.Series(self.instance_floating, dtype="bool"),
                "minutes": pd.Series(self.minutes, dtype="float64"),
                "all_day": pd.Series(self.all_day, dtype="bool"),
                "cancelled": pd.Series(self.cancelled, dtype="bool"),
                "problem": pd.Series(self.problem, dtype="string"),
            }
        )


def _wall(value: date | datetime) -> tuple[datetime, bool]:
    """A start as (wall time, floating): aware times in UTC, floating and all-day as written.

    (A calendar with ``X-WR-TIMEZONE``, as Google writes, has its floating times already
    placed in that zone by recurring-ical-events.)"""
    if not isinstance(value, datetime):
        return datetime(value.year, value.month, value.day), True
    if value.tzinfo is None:
        return value, True
    return value.astimezone(UTC).replace(tzinfo=None), False


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def read_calendar(
    data: bytes, file_name: str, start: date | None, end: date | None, today: date
) -> tuple[CalendarEvents, date, date]:
    """Parse an ICS file into one row per event instance between ``start`` and ``end``
    (local dates, with a margin; default: the first event's date to ``today``).

    Returns the instances and the range used. Raises ``CalendarError`` with one sentence
    when the file cannot be read as a calendar.
    """
    import icalendar
    import recurring_ical_events

    try:
        calendar = icalendar.Calendar.from_ical(data.lstrip(b"\xef\xbb\xbf"))
        vevents: list[Any] = list(calendar.walk("VEVENT"))
        if not vevents:
            raise CalendarError(
                f"{file_name} holds no events; export the calendar with its appointments."
            )
        starts = [_day(event["DTSTART"].dt) for event in vevents if "DTSTART" in event]
        if not starts:
            raise CalendarError(
                f"No event in {file_name} has a start (DTSTART); export the calendar again."
            )
        start = start or min(starts)
        end = end or today
        if end < start:
            raise CalendarError(
                f"The range starts on {start} but ends earlier, on {end}; choose an end on "
                "or after the start."
            )
        unknown_zones = _unknown_zones(vevents)
        query = recurring_ical_events.of(calendar)
        instances = list(query.between(start - RANGE_MARGIN, end + RANGE_MARGIN))
        events = CalendarEvents()
        for instance in instances:
            _add_instance(events, instance, unknown_zones)
    except CalendarError:
        raise
    except ValueError as error:
        # icalendar and recurring-ical-events raise ValueError (and subclasses) for every
        # broken line, date, zone or rule; the first line of its text says which.
        detail = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        raise CalendarError(
            f"{file_name} is not a readable calendar ({detail.rstrip('.')}); export it again "
            "from the calendar program; nothing was stored."
        ) from error
    return events, start, end


def _unknown_zones(vevents: list[Any]) -> dict[str, str]:
    """UID -> zone name, for events whose TZID neither a VTIMEZONE block, the IANA database
    nor the Windows names resolve (icalendar then reads the time as floating; we refuse to
    guess). Expanded instances no longer carry the TZID, so this looks at the originals."""
    unknown: dict[str, str] = {}
    for event in vevents:
        start = event.get("DTSTART")
        zone = start.params.get("TZID") if start is not None else None
        if zone and isinstance(start.dt, datetime) and start.dt.tzinfo is None:
            unknown[str(event.get("UID") or "")] = str(zone)  # "" for events without UID
    return unknown


def _add_instance(events: CalendarEvents, instance: Any, unknown_zones: dict[str, str]) -> None:
    """Append one expanded instance to the column lists."""
    begin = instance.start
    finish = instance.end
    recurrence = instance.get("RECURRENCE-ID")
    original = recurrence.dt if recurrence is not None else begin
    start_wall, floating = _wall(begin)
    instance_wall, instance_floating = _wall(original)
    all_day = not isinstance(begin, datetime)
    zone = unknown_zones.get(str(instance.get("UID") or ""))
    floating_time = isinstance(begin, datetime) and begin.tzinfo is None
    problem = f"Unknown time zone {zone}." if zone and floating_time else None
    minutes = None
    same_kind = isinstance(finish, datetime) and (begin.tzinfo is None) == (finish.tzinfo is None)
    if isinstance(begin, datetime) and same_kind:
        minutes = (finish - begin).total_seconds() / 60
    events.uid.append(str(instance["UID"]) if instance.get("UID") else None)
    events.title.append(str(instance.get("SUMMARY") or "").strip())
    events.start_wall.append(start_wall)
    events.floating.append(floating)
    events.instance_wall.append(instance_wall)
    events.instance_floating.append(instance_floating)
    events.minutes.append(minutes)
    events.all_day.append(all_day)
    events.cancelled.append(str(instance.get("STATUS") or "").upper() == "CANCELLED")
    events.problem.append(problem)


def client_group(pattern: str) -> int:
    """The number of the ``client`` group in ``pattern`` (for DuckDB's regexp_extract)."""
    try:
        compiled = re.compile(pattern)
    except re.error as error:
        raise ClientPatternError(
            f"The client pattern is not a valid regular expression ({error}); write it like "
            "Session: (?P<client>.+)."
        ) from None
    if "client" not in compiled.groupindex:
        raise ClientPatternError(
            "The client pattern has no group named client; write it like Session: (?P<client>.+)."
        )
    return compiled.groupindex["client"]


def status_pattern(words: tuple[str, ...]) -> str:
    """A case-insensitive RE2 pattern finding any of ``words`` at the start of a word."""
    escaped = [
        "".join(ch if ch.isalnum() or ch == " " else f"\\{ch}" for ch in word.strip().lower())
        for word in words
        if word.strip()
    ]
    # \b\B never matches (RE2 has no lookahead): a status with no words marks no title.
    return f"(?i)\\b(?:{'|'.join(escaped)})" if escaped else "\\b\\B"


_EVENTS_SQL = """
CREATE OR REPLACE TEMP TABLE calendar_rows AS
WITH zoned AS (
    SELECT e.*, coalesce(t.time_zone, $zone) AS zone
    FROM calendar_frame AS e
    LEFT JOIN practices AS p ON p.name = $practice
    LEFT JOIN therapists AS t ON t.practice_id = p.practice_id AND t.name = $therapist
), timed AS (
    SELECT *,
           CASE WHEN floating THEN timezone(zone, start_wall)
                ELSE timezone('UTC', start_wall) END AS started_at,
           CASE WHEN instance_floating THEN timezone(zone, instance_wall)
                ELSE timezone('UTC', instance_wall) END AS instance_at
    FROM zoned
), local AS (
    SELECT *,
           CASE WHEN all_day THEN CAST(start_wall AS DATE)
                ELSE CAST(timezone(zone, started_at) AS DATE) END AS local_day,
           nullif(trim(regexp_extract(title, $pattern, $group)), '') AS client
    FROM timed
)
SELECT event_number, uid, title, zone, started_at, instance_at, local_day, client, minutes,
       CASE WHEN regexp_matches(title, $no_show) THEN 'no_show'
            WHEN regexp_matches(title, $late_cancelled) THEN 'late_cancelled'
            WHEN regexp_matches(title, $cancelled) THEN 'cancelled'
            ELSE 'attended' END AS status,
       CASE WHEN all_day THEN 'all_day'
            WHEN cancelled THEN 'cancelled'
            WHEN problem IS NOT NULL THEN problem
            WHEN minutes IS NULL OR minutes = 0
                THEN 'It has no length (no DTEND or DURATION, or it ends as it starts).'
            WHEN minutes < 0 THEN 'It ends before it starts.'
            WHEN minutes > $max_minutes
                THEN 'It lasts ' || round(minutes) || ' minutes, over the '
                     || $max_text || '-minute maximum.'
            WHEN client IS NULL THEN 'The title names no client by the client pattern.'
       END AS left_out
FROM local
WHERE local_day BETWEEN $start AND $end
"""

_INCOMING_SQL = """
CREATE OR REPLACE TEMP TABLE calendar_incoming AS
SELECT $practice AS practice, $therapist AS therapist, zone AS time_zone, client, started_at,
       minutes, status,
       CASE WHEN uid IS NOT NULL
            THEN uid || '|' || CAST(epoch(instance_at) AS BIGINT) END AS identity
FROM calendar_rows
WHERE left_out IS NULL
ORDER BY event_number
"""


def import_calendar(
    db: Database,
    source: bytes | Path,
    *,
    file_name: str,
    options: SessionOptions | None = None,
    scope: Scope = LOCAL,
    dry_run: bool = False,
    today: date | None = None,
) -> SessionReport:
    """Import the sessions of one ICS file as one batch (or report them, with ``dry_run``).

    Raises ``CalendarError`` for a file that is not a readable calendar and
    ``NoSessionsError`` (carrying the report) when no event in the range is a session.
    """
    scope.require_import()
    options = options or SessionOptions()
    data = source if isinstance(source, bytes) else source.read_bytes()
    group = client_group(options.client_pattern)
    events, start, end = read_calendar(
        data, file_name, options.start, options.end, today or date.today()
    )
    with db.transaction(rollback=dry_run) as cursor:
        report = _store(cursor, db, events, data, file_name, options, group, start, end, dry_run)
        if report.batch_id is not None:  # a stored batch is audited like every import
            record_import(cursor, scope, file_name, report.batch_id, report.imported)
        return report


def _store(
    cursor: duckdb.DuckDBPyConnection,
    db: Database,
    events: CalendarEvents,
    data: bytes,
    file_name: str,
    options: SessionOptions,
    group: int,
    start: date,
    end: date,
    dry_run: bool,
) -> SessionReport:
    check_time_zone(cursor, options.time_zone)
    words = dict(options.status_words)
    practice = options.practice or DEFAULT_PRACTICE
    therapist = options.therapist or DEFAULT_THERAPIST
    cursor.register("calendar_frame", events.frame())
    try:
        cursor.execute(
            _EVENTS_SQL,
            {
                "zone": options.time_zone,
                "practice": practice,
                "therapist": therapist,
                "pattern": options.client_pattern,
                "group": group,
                "no_show": status_pattern(words.get("no_show", ())),
                "late_cancelled": status_pattern(words.get("late_cancelled", ())),
                "cancelled": status_pattern(words.get("cancelled", ())),
                "max_minutes": options.max_minutes,
                "max_text": f"{options.max_minutes:g}",
                "start": start,
                "end": end,
            },
        )
    except duckdb.InvalidInputException as error:
        raise ClientPatternError(
            f"The client pattern cannot be used here ({str(error).splitlines()[0]}); write it "
            "like Session: (?P<client>.+)."
        ) from None
    # (after an error the transaction is rolled back and the cursor closed with the view)
    cursor.unregister("calendar_frame")
    rows, excluded, statuses = _counts(cursor)
    unmatched = [
        ReviewedEvent(day=day, title=title, reason=reason)
        for day, title, reason in cursor.execute(
            """
            SELECT local_day, title, left_out FROM calendar_rows
            WHERE left_out IS NOT NULL AND left_out NOT IN ('all_day', 'cancelled')
            ORDER BY local_day, event_number
            """
        ).fetchall()
    ]
    cursor.execute(_INCOMING_SQL, {"practice": practice, "therapist": therapist})
    preview = _preview(cursor, options.preview_rows) if options.preview_rows else None
    cursor.execute("DROP TABLE calendar_rows")  # titles are gone from the database here
    staged = count_rows(cursor, "SELECT count(*) FROM calendar_incoming")
    report = SessionReport(
        file=file_name,
        kind="calendar",
        detected=f"ICS calendar, {rows:,} event{'s' if rows != 1 else ''} from {start} to {end}",
        rows=rows,
        imported=0,
        duplicates=0,
        rejected=len(unmatched),
        excluded=excluded,
        unmatched=unmatched,
        dry_run=dry_run,
        preview=preview,
        statuses=statuses,
    )
    if staged == 0:
        cursor.execute("DROP TABLE calendar_incoming")
        raise NoSessionsError(_nothing_to_store(file_name, report, start, end), report)
    stage_sessions(cursor, "calendar_incoming")
    cursor.execute("DROP TABLE calendar_incoming")
    stored = store_sessions(
        cursor,
        db,
        "calendar",
        file_name=file_name,
        sha256=file_sha256(data),
        preset="calendar",
        rows_read=rows,
        rows_rejected=len(unmatched),
    )
    report.imported = stored.sessions
    report.duplicates = stored.duplicates
    report.erased = stored.erased
    report.batch_id = None if dry_run else stored.batch_id
    return report


def _counts(
    cursor: duckdb.DuckDBPyConnection,
) -> tuple[int, dict[str, int], dict[str, int]]:
    """Events in the range, those left out on purpose, and sessions per status."""
    row = cursor.execute(
        """
        SELECT count(*), count(*) FILTER (WHERE left_out = 'all_day'),
               count(*) FILTER (WHERE left_out = 'cancelled')
        FROM calendar_rows
        """
    ).fetchall()[0]
    statuses = dict(
        cursor.execute(
            "SELECT status, count(*) FROM calendar_rows WHERE left_out IS NULL "
            "GROUP BY status ORDER BY status"
        ).fetchall()
    )
    return int(row[0]), {"all_day": int(row[1]), "cancelled": int(row[2])}, statuses


def _nothing_to_store(file_name: str, report: SessionReport, start: date, end: date) -> str:
    if report.rows == 0:
        return (
            f"{file_name} has no events between {start} and {end}; choose another range; "
            "nothing was stored."
        )
    parts = [
        f"{report.rejected:,} need review" if report.rejected else "",
        f"{report.excluded['all_day']:,} all-day" if report.excluded["all_day"] else "",
        f"{report.excluded['cancelled']:,} cancelled" if report.excluded["cancelled"] else "",
    ]
    return (
        f"No event of {file_name} between {start} and {end} is a session "
        f"({', '.join(part for part in parts if part)}); check the client pattern; "
        "nothing was stored."
    )


def _preview(cursor: duckdb.DuckDBPyConnection, rows: int) -> pd.DataFrame:
    """The first sessions exactly as they will be stored (no title exists any more)."""
    return cursor.execute(
        """
        SELECT client, timezone(time_zone, started_at) AS local_start, time_zone, minutes,
               status
        FROM calendar_incoming ORDER BY started_at LIMIT ?
        """,
        [rows],
    ).df()
