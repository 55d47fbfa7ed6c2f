"""Scheduled sessions from ICS calendars, as Google Calendar and Outlook/Exchange export them.

Python does the text parsing only: ``calendar_events`` reads the file event by event
(``icalendar`` and ``recurring-ical-events``, within limits) into one row per instance, plus
one row per event listed for review or without an instance in the range. Everything after
that is DuckDB SQL in one transaction: the client from the title by a pattern, the status
from words in the title, the range in the therapist's local dates (by default from the first
event's date on the therapist's calendar), and storing through ``analytics.storage.sessions``.

A session is identified by its event's UID and the instance's slot in its series (its
RECURRENCE-ID, its start before a RANGE=THISANDFUTURE move, or DTSTART) in UTC epoch
seconds, so importing the same calendar again adds nothing and a moved instance keeps the
identity of the slot it was moved from. All-day events and events marked STATUS:CANCELLED
are left out and counted; events with no instance in the range or over a limit are counted
and listed; titles the pattern does not fit and events that cannot be read are listed for
review. Titles and descriptions are never stored.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from analytics.access.scope import LOCAL, Scope
from analytics.errors import ContactLoadError
from analytics.importing.calendar_events import CalendarError as CalendarError  # re-exported
from analytics.importing.calendar_events import CalendarEvents, read_calendar
from analytics.importing.person_names import is_placeholder
from analytics.importing.pipeline import (
    DEFAULT_PRACTICE,
    TherapistNeededError,
    check_time_zone,
    file_sha256,
)
from analytics.importing.session_report import (
    LEFT_OUT_WORDS,
    NoSessionsError,
    ReviewedEvent,
    SessionOptions,
    SessionReport,
)
from analytics.storage.database import Database
from analytics.storage.sessions import stage_sessions, store_sessions
from analytics.storage.store import count_rows, record_import

if TYPE_CHECKING:
    import pandas as pd


class ClientPatternError(ContactLoadError):
    """The pattern that finds the client in an event's title cannot be used."""


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
), ranged AS (
    -- the default start is the first event's date in the therapist's zone, the zone the
    -- range is compared in (events with no instance in the window lie after it)
    SELECT local.*, bounds.range_start
    FROM local, (
        SELECT coalesce(
                   $start, min(local_day) FILTER (WHERE NOT whole_event OR problem IS NOT NULL)
               ) AS range_start
        FROM local
    ) AS bounds
), placed AS (
    SELECT *, whole_event OR local_day NOT BETWEEN range_start AND $end AS outside,
           bool_or(NOT whole_event AND local_day BETWEEN range_start AND $end)
               OVER (PARTITION BY event) AS event_in_range
    FROM ranged
), judged AS (
    SELECT *,
           CASE WHEN over_limit THEN 'over_limit'
                WHEN whole_event AND problem IS NOT NULL THEN 'review'
                WHEN outside THEN 'outside_range'
                WHEN all_day THEN 'all_day'
                WHEN cancelled THEN 'cancelled'
                WHEN problem IS NOT NULL OR minutes IS NULL OR minutes <= 0
                     OR minutes > $max_minutes OR client IS NULL THEN 'review'
           END AS left_out
    FROM placed
    -- a series in the range is the event; its instances beyond the range are not events
    WHERE NOT (outside AND coalesce(event_in_range, false))
)
SELECT event_number, uid, title, zone, started_at, instance_at, local_day, client, minutes,
       range_start, left_out,
       CASE WHEN regexp_matches(title, $no_show) THEN 'no_show'
            WHEN regexp_matches(title, $late_cancelled) THEN 'late_cancelled'
            WHEN regexp_matches(title, $cancelled) THEN 'cancelled'
            ELSE 'attended' END AS status,
       CASE WHEN problem IS NOT NULL THEN problem
            WHEN left_out = 'outside_range' AND whole_event
                THEN 'It has no instance between ' || range_start || ' and ' || $end || '.'
            WHEN left_out = 'outside_range'
                THEN 'It falls outside the range ' || range_start || ' to ' || $end || '.'
            WHEN minutes IS NULL OR minutes = 0
                THEN 'It has no length (no DTEND or DURATION, or it ends as it starts).'
            WHEN minutes < 0 THEN 'It ends before it starts.'
            WHEN minutes > $max_minutes
                THEN 'It lasts ' || round(minutes) || ' minutes, over the '
                     || $max_text || '-minute maximum.'
            WHEN client IS NULL THEN 'The title names no client by the client pattern.'
       END AS reason
FROM judged
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
    start: date | None,
    end: date,
    dry_run: bool,
) -> SessionReport:
    check_time_zone(cursor, options.time_zone)
    words = dict(options.status_words)
    practice = options.practice or DEFAULT_PRACTICE
    # A calendar never names its therapist: one must be given, never a placeholder ("Me").
    therapist = None if is_placeholder(options.therapist) else (options.therapist or "").strip()
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
    start, rows, excluded, statuses = _counts(cursor, start)
    unmatched = [
        ReviewedEvent(day=day, title=title, reason=reason)
        for day, title, reason in cursor.execute(
            """
            SELECT local_day, title, reason FROM calendar_rows
            WHERE left_out NOT IN ('all_day', 'cancelled')
            ORDER BY local_day NULLS FIRST, event_number
            """
        ).fetchall()
    ]
    rejected = len(unmatched) - excluded["outside_range"] - excluded["over_limit"]
    cursor.execute(_INCOMING_SQL, {"practice": practice, "therapist": therapist})
    preview = _preview(cursor, options.preview_rows) if options.preview_rows else None
    cursor.execute("DROP TABLE calendar_rows")  # titles are gone from the database here
    staged = count_rows(cursor, "SELECT count(*) FROM calendar_incoming")
    report = SessionReport(
        file=file_name,
        kind="calendar",
        detected=f"ICS calendar, {rows:,} event{'s' if rows != 1 else ''} {_range(start, end)}",
        rows=rows,
        imported=0,
        duplicates=0,
        rejected=rejected,
        excluded=excluded,
        unmatched=unmatched,
        dry_run=dry_run,
        preview=preview,
        statuses=statuses,
    )
    if staged == 0:
        cursor.execute("DROP TABLE calendar_incoming")
        raise NoSessionsError(_nothing_to_store(file_name, report, start, end), report)
    if therapist is None:
        cursor.execute("DROP TABLE calendar_incoming")
        raise TherapistNeededError(
            file_name, staged, "no therapist", what="sessions", noun=("session", "sessions")
        )
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
        rows_rejected=rejected,
    )
    report.imported = stored.sessions
    report.duplicates = stored.duplicates
    report.erased = stored.erased
    report.batch_id = None if dry_run else stored.batch_id
    return report


def _counts(
    cursor: duckdb.DuckDBPyConnection, start: date | None
) -> tuple[date | None, int, dict[str, int], dict[str, int]]:
    """The range's start, events in it, those left out on purpose, sessions per status."""
    row = cursor.execute(
        """
        SELECT any_value(range_start),
               count(*) FILTER (WHERE left_out IS DISTINCT FROM 'outside_range'),
               count(*) FILTER (WHERE left_out = 'all_day'),
               count(*) FILTER (WHERE left_out = 'cancelled'),
               count(*) FILTER (WHERE left_out = 'outside_range'),
               count(*) FILTER (WHERE left_out = 'over_limit')
        FROM calendar_rows
        """
    ).fetchall()[0]
    statuses = dict(
        cursor.execute(
            "SELECT status, count(*) FROM calendar_rows WHERE left_out IS NULL "
            "GROUP BY status ORDER BY status"
        ).fetchall()
    )
    excluded = dict(zip(LEFT_OUT, (int(n) for n in row[2:]), strict=True))
    return start or row[0], int(row[1]), excluded, statuses


LEFT_OUT = tuple(LEFT_OUT_WORDS)
"""The report's counts of events left out on purpose, in this order."""


def _range(start: date | None, end: date) -> str:
    return f"from {start} to {end}" if start else f"up to {end}"


def _between(start: date | None, end: date) -> str:
    return f"between {start} and {end}" if start else f"up to {end}"


def _nothing_to_store(file_name: str, report: SessionReport, start: date | None, end: date) -> str:
    if report.rows == 0:
        return (
            f"{file_name} has no events {_between(start, end)}; choose another range; "
            "nothing was stored."
        )
    counted = {"need review": report.rejected}
    counted |= {LEFT_OUT_WORDS[name]: report.excluded[name] for name in LEFT_OUT}
    parts = ", ".join(f"{n:,} {words}" for words, n in counted.items() if n)
    return (
        f"No event of {file_name} {_between(start, end)} is a session ({parts}); check the "
        "client pattern; nothing was stored."
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
