"""Sessions from ICS calendars, checked against times and hours worked out by hand.

The fixtures in tests/data/calendars are written by hand in the shapes Google Calendar
(VTIMEZONE blocks, UTC ``Z`` times, RRULE, EXDATE, RECURRENCE-ID, all-day ``VALUE=DATE``)
and Outlook (Windows zone names, CRLF, DURATION) export.
"""

from datetime import date, datetime
from pathlib import Path

import pytest

from analytics.access.scope import Scope
from analytics.errors import PermissionDeniedError
from analytics.importing.calendar import (
    CalendarError,
    ClientPatternError,
    import_calendar,
    status_pattern,
)
from analytics.importing.session_report import NoSessionsError, SessionOptions, SessionReport
from analytics.storage.database import Database
from analytics.storage.store import undo_batch

CALENDARS = Path(__file__).parent / "data" / "calendars"
AUTUMN = {"start": date(2026, 9, 1), "end": date(2026, 11, 30)}


def options(zone: str, **changes: object) -> SessionOptions:
    fields: dict[str, object] = {"therapist": "Dr. Weber", "time_zone": zone, **AUTUMN}
    fields.update(changes)
    return SessionOptions(**fields)  # type: ignore[arg-type]


def load(db: Database, name: str, zone: str, **changes: object) -> SessionReport:
    chosen = options(zone, **changes)
    return import_calendar(
        db, CALENDARS / name, file_name=name, options=chosen, today=date(2026, 11, 28)
    )


def stored(db: Database) -> list[tuple[object, ...]]:
    """(client label, local start, UTC start, minutes, status) per session, in time order."""
    with db.cursor() as cursor:
        return cursor.execute(
            """
            SELECT c.label, s.local_started_at,
                   CAST(timezone('UTC', s.started_at) AS TIMESTAMP), s.minutes, s.status
            FROM sessions AS s JOIN clients AS c USING (client_id)
            ORDER BY s.started_at
            """
        ).fetchall()


def count(db: Database, table: str) -> int:
    with db.cursor() as cursor:
        return int(cursor.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def test_weekly_series_with_exdate_and_moved_instance(empty_db: Database) -> None:
    report = load(empty_db, "weekly_exdate_moved.ics", "Europe/Berlin")
    # Series: Wednesdays 10:00-10:50 Berlin, 6 from 2 Sep: 2, 9, 16, 23, 30 Sep, 7 Oct.
    # EXDATE removes 16 Sep; the 23 Sep instance moved to Thu 24 Sep 14:00-15:00.
    # Berlin is UTC+2 (CEST) throughout, so 10:00 local = 08:00 UTC.
    # Ben's no-show on 17 Sep 11:00 is a session with status no_show.
    assert stored(empty_db) == [
        ("Anna B.", datetime(2026, 9, 2, 10), datetime(2026, 9, 2, 8), 50.0, "attended"),
        ("Anna B.", datetime(2026, 9, 9, 10), datetime(2026, 9, 9, 8), 50.0, "attended"),
        ("Ben K.", datetime(2026, 9, 17, 11), datetime(2026, 9, 17, 9), 50.0, "no_show"),
        ("Anna B.", datetime(2026, 9, 24, 14), datetime(2026, 9, 24, 12), 60.0, "attended"),
        ("Anna B.", datetime(2026, 9, 30, 10), datetime(2026, 9, 30, 8), 50.0, "attended"),
        ("Anna B.", datetime(2026, 10, 7, 10), datetime(2026, 10, 7, 8), 50.0, "attended"),
    ]
    # 9 events in range: 5 series instances (6 - EXDATE, the moved one replacing its
    # original), the all-day conference, Ben's cancelled event, the team meeting, the no-show.
    assert (report.rows, report.imported, report.duplicates) == (9, 6, 0)
    assert report.excluded == {
        "all_day": 1, "cancelled": 1, "outside_range": 0, "over_limit": 0
    }  # fmt: skip
    assert report.statuses == {"attended": 5, "no_show": 1}
    assert [(e.day, e.title) for e in report.unmatched] == [(date(2026, 9, 11), "Team meeting")]
    assert report.rejected == 1
    assert report.batch_id is not None


def test_per_week_session_hours_by_local_week(empty_db: Database) -> None:
    load(empty_db, "weekly_exdate_moved.ics", "Europe/Berlin")
    load(empty_db, "dst_berlin.ics", "Europe/Berlin")
    with empty_db.cursor() as cursor:
        weeks = cursor.execute(
            """
            SELECT CAST(date_trunc('week', local_started_at) AS DATE) AS week,
                   sum(minutes) / 60 AS hours,
                   coalesce(sum(minutes) FILTER (WHERE status = 'attended'), 0) / 60
            FROM sessions GROUP BY week ORDER BY week
            """
        ).fetchall()
    # By hand, ISO weeks of the Berlin wall clock:
    #   31 Aug: Wed 2 Sep 50 min                       -> 50/60
    #   7 Sep:  Wed 9 Sep 50 (Ben's 10 Sep cancelled)  -> 50/60
    #   14 Sep: 16 Sep excluded; Ben no-show 17 Sep 50  -> 50/60 scheduled, 0 attended
    #   21 Sep: moved to Thu 24 Sep, 60 min             -> 1.0
    #   28 Sep: 30 Sep 50; 5 Oct: 7 Oct 50
    #   19 Oct, 26 Oct, 2 Nov: Lena at 10:00, 50 min each (DST ends 25 Oct in between)
    h = 50 / 60
    assert weeks == [
        (date(2026, 8, 31), pytest.approx(h), pytest.approx(h)),
        (date(2026, 9, 7), pytest.approx(h), pytest.approx(h)),
        (date(2026, 9, 14), pytest.approx(h), 0),
        (date(2026, 9, 21), pytest.approx(1.0), pytest.approx(1.0)),
        (date(2026, 9, 28), pytest.approx(h), pytest.approx(h)),
        (date(2026, 10, 5), pytest.approx(h), pytest.approx(h)),
        (date(2026, 10, 19), pytest.approx(h), pytest.approx(h)),
        (date(2026, 10, 26), pytest.approx(h), pytest.approx(h)),
        (date(2026, 11, 2), pytest.approx(h), pytest.approx(h)),
    ]


def test_series_across_dst_stays_at_ten_local(empty_db: Database) -> None:
    load(empty_db, "dst_berlin.ics", "Europe/Berlin")
    # Mondays at 10:00 Berlin until 2 Nov 09:00 UTC: 19 Oct (CEST, UTC+2 -> 08:00 UTC),
    # then DST ends Sun 25 Oct: 26 Oct and 2 Nov are CET, UTC+1 -> 09:00 UTC.
    assert stored(empty_db) == [
        ("Lena W.", datetime(2026, 10, 19, 10), datetime(2026, 10, 19, 8), 50.0, "attended"),
        ("Lena W.", datetime(2026, 10, 26, 10), datetime(2026, 10, 26, 9), 50.0, "attended"),
        ("Lena W.", datetime(2026, 11, 2, 10), datetime(2026, 11, 2, 9), 50.0, "attended"),
    ]


def test_outlook_windows_zone_names(empty_db: Database) -> None:
    report = load(empty_db, "outlook_windows.ics", "America/Los_Angeles")
    # "Pacific Standard Time": Fri 30 Oct 09:00 PDT (UTC-7) = 16:00 UTC; Fri 6 Nov 09:00 is
    # after US DST ends (1 Nov): PST, UTC-8 = 17:00 UTC.
    # "W. Europe Standard Time" (no VTIMEZONE block): Wed 4 Nov 08:00 CET (UTC+1) = 07:00
    # UTC, which is Tue 3 Nov 23:00 on the Los Angeles therapist's wall clock; DURATION 50 min;
    # "late cancel" in the title.
    assert stored(empty_db) == [
        ("Carl M.", datetime(2026, 10, 30, 9), datetime(2026, 10, 30, 16), 50.0, "attended"),
        ("Dana S.", datetime(2026, 11, 3, 23), datetime(2026, 11, 4, 7), 50.0, "late_cancelled"),
        ("Carl M.", datetime(2026, 11, 6, 9), datetime(2026, 11, 6, 17), 50.0, "attended"),
    ]
    assert report.statuses == {"attended": 2, "late_cancelled": 1}


def test_utc_only_calendar_and_floating_time(empty_db: Database) -> None:
    load(empty_db, "utc_only.ics", "America/New_York")
    # 2 Nov 15:00Z: New York is on EST (UTC-5) since 1 Nov -> 10:00 local, 45 min.
    # 3 Nov 23:30Z to 4 Nov 00:20Z -> 18:30 local on 3 Nov, 50 min across UTC midnight.
    # Floating 5 Nov 09:00 is the therapist's wall clock: 09:00 EST = 14:00 UTC.
    assert stored(empty_db) == [
        ("Eve R.", datetime(2026, 11, 2, 10), datetime(2026, 11, 2, 15), 45.0, "attended"),
        ("Eve R.", datetime(2026, 11, 3, 18, 30), datetime(2026, 11, 3, 23, 30), 50.0, "attended"),
        ("Finn T.", datetime(2026, 11, 5, 9), datetime(2026, 11, 5, 14), 50.0, "attended"),
    ]


@pytest.mark.parametrize(
    ("name", "zone", "sessions"),
    [
        ("weekly_exdate_moved.ics", "Europe/Berlin", 6),
        ("dst_berlin.ics", "Europe/Berlin", 3),
        ("outlook_windows.ics", "America/Los_Angeles", 3),
        ("utc_only.ics", "America/New_York", 3),
    ],
)
def test_reimport_adds_nothing(empty_db: Database, name: str, zone: str, sessions: int) -> None:
    first = load(empty_db, name, zone)
    again = load(empty_db, name, zone)
    assert (first.imported, again.imported, again.duplicates) == (sessions, 0, sessions)
    assert count(empty_db, "sessions") == sessions


def test_moved_instance_keeps_its_identity(empty_db: Database, tmp_path: Path) -> None:
    # Import the series before the 23 Sep instance was moved, then the moved version:
    # the moved instance's identity is its RECURRENCE-ID (23 Sep 10:00), so it is the
    # same session and nothing new is stored.
    text = (CALENDARS / "weekly_exdate_moved.ics").read_text()
    before_move = text.split("BEGIN:VEVENT\nDTSTART;TZID=Europe/Berlin:20260924T140000")[0]
    before_move += text.split("RECURRENCE-ID;TZID=Europe/Berlin:20260923T100000")[1].split(
        "END:VEVENT\n", 1
    )[1]
    original = tmp_path / "before.ics"
    original.write_text(before_move)
    first = import_calendar(empty_db, original, file_name="before.ics", options=options("UTC"))
    moved = load(empty_db, "weekly_exdate_moved.ics", "UTC")
    assert (first.imported, moved.imported, moved.duplicates) == (6, 0, 6)


def test_unreadable_start_is_listed_and_the_good_event_stored(empty_db: Database) -> None:
    report = load(empty_db, "malformed.ics", "UTC")
    # Eve's 2 Nov event is read; the other's DTSTART "2026-11-03 10:00" is no iCalendar
    # date: that event alone is listed, with no date since its start cannot be read.
    assert (report.rows, report.imported, report.rejected) == (2, 1, 1)
    assert [(e.day, e.title, e.reason) for e in report.unmatched] == [
        (None, "Session: Eve R.", "Its start (DTSTART) cannot be read (2026-11-03 10:00).")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"", "is not a readable calendar"),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", "holds no events"),
        (
            b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20261001T100000Z\n",
            r"^x.ics is not a readable calendar \(Found no components where exactly one is "
            r"required\); export it again from the calendar program; nothing was stored.$",
        ),
        (b"BEGIN:VCARD\nVERSION:3.0\nFN:Anna\nEND:VCARD\n", "is not a calendar"),
    ],
)
def test_files_that_are_not_calendars_are_refused(
    empty_db: Database, text: bytes, expected: str
) -> None:
    load(empty_db, "dst_berlin.ics", "Europe/Berlin")
    with pytest.raises(CalendarError, match=expected):
        import_calendar(empty_db, text, file_name="x.ics", options=options("UTC"))
    assert count(empty_db, "sessions") == 3  # the earlier import is untouched
    assert count(empty_db, "import_batches") == 1


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nEND:VEVENT\nEND:VCALENDAR\n",
         "It has no start (DTSTART)."),
        (
            b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nSUMMARY:Session: A\n"
            b"DTSTART:20261001T100000Z\nRRULE:FREQ=WEEKLY;BYDAY=XX\nEND:VEVENT\nEND:VCALENDAR\n",
            "Its repetition rule (RRULE) cannot be read (FREQ=WEEKLY;BYDAY=XX).",
        ),
    ],
)  # fmt: skip
def test_a_file_of_broken_events_lists_them(empty_db: Database, text: bytes, reason: str) -> None:
    with pytest.raises(NoSessionsError, match="1 need review") as caught:
        import_calendar(empty_db, text, file_name="x.ics", options=options("UTC"))
    assert [e.reason for e in caught.value.report.unmatched] == [reason]
    assert count(empty_db, "import_batches") == 0


def test_unknown_tzid_is_listed_not_guessed(empty_db: Database) -> None:
    text = (
        b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nSUMMARY:Session: Anna B.\n"
        b"DTSTART;TZID=Nowhere/Land:20261001T100000\nDTEND;TZID=Nowhere/Land:20261001T105000\n"
        b"END:VEVENT\nBEGIN:VEVENT\nUID:2\nSUMMARY:Session: Anna B.\n"
        b"DTSTART:20261002T100000Z\nDTEND:20261002T105000Z\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    report = import_calendar(empty_db, text, file_name="x.ics", options=options("UTC"))
    assert report.imported == 1
    assert [(e.day, e.reason) for e in report.unmatched] == [
        (date(2026, 10, 1), "Unknown time zone Nowhere/Land.")
    ]


def test_range_default_is_first_event_to_today(empty_db: Database) -> None:
    report = import_calendar(
        empty_db,
        CALENDARS / "weekly_exdate_moved.ics",
        file_name="w.ics",
        options=SessionOptions(therapist="Dr. Weber", time_zone="Europe/Berlin"),
        today=date(2026, 9, 20),
    )
    # From 2 Sep (the first DTSTART) to 20 Sep: 2 and 9 Sep (Anna), 17 Sep (Ben, no-show);
    # the moved 24 Sep instance and later ones are after the range.
    assert report.detected.endswith("from 2026-09-02 to 2026-09-20")
    assert [row[1] for row in stored(empty_db)] == [
        datetime(2026, 9, 2, 10),
        datetime(2026, 9, 9, 10),
        datetime(2026, 9, 17, 11),
    ]


def test_range_is_applied_to_local_dates(empty_db: Database) -> None:
    # Dana's 4 Nov 07:00 UTC session is 3 Nov on the Los Angeles wall clock: a range
    # ending 3 Nov includes it, one starting 4 Nov does not.
    until_third = load(
        empty_db, "outlook_windows.ics", "America/Los_Angeles", end=date(2026, 11, 3)
    )
    assert until_third.imported == 2  # Carl 30 Oct, Dana 3 Nov local
    with pytest.raises(NoSessionsError, match="has no events between 2026-11-07"):
        load(empty_db, "outlook_windows.ics", "America/Los_Angeles", start=date(2026, 11, 7))


def test_client_pattern_and_status_words_are_configurable(empty_db: Database) -> None:
    report = load(
        empty_db,
        "weekly_exdate_moved.ics",
        "Europe/Berlin",
        client_pattern=r"^(?P<client>Team) meeting$",
        status_words=(("no_show", ("team",)),),
    )
    # Only the team meeting fits; "team" marks it a no-show in this configuration.
    assert report.imported == 1 and report.statuses == {"no_show": 1}
    assert len(report.unmatched) == 6  # 5 of Anna and 1 of Ben did not fit the pattern


@pytest.mark.parametrize("pattern", [r"Session: (.+)", r"Session: (?P<client>.+", r"(?P<name>.+)"])
def test_bad_client_pattern_is_one_sentence(empty_db: Database, pattern: str) -> None:
    with pytest.raises(ClientPatternError, match=r"^The client pattern .*\(\?P<client>\.\+\)\.$"):
        load(empty_db, "dst_berlin.ics", "Europe/Berlin", client_pattern=pattern)


@pytest.mark.parametrize(
    ("title", "status"),
    [
        ("Session: A (no-show)", "no_show"),
        ("Session: A - No Show", "no_show"),
        ("Session: A [LATE CANCEL]", "late_cancelled"),
        ("Session: A - late cancelled", "late_cancelled"),
        ("Session: A (cancelled)", "cancelled"),
        ("Sitzung mit A - abgesagt", "cancelled"),
        ("Session: A", "attended"),
        ("Session: Francesca", "attended"),  # "cancel" only from the start of a word
    ],
)
def test_status_from_title(empty_db: Database, title: str, status: str) -> None:
    text = (
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:1\nSUMMARY:" + title + "\n"
        "DTSTART:20261001T100000Z\nDTEND:20261001T105000Z\nEND:VEVENT\nEND:VCALENDAR\n"
    ).encode()
    report = import_calendar(empty_db, text, file_name="x.ics", options=options("UTC"))
    assert report.statuses == {status: 1}


def test_status_pattern_escapes_words() -> None:
    assert status_pattern(("no-show", "a.b")) == r"(?i)\b(?:no\-show|a\.b)"
    assert status_pattern(()) == r"\b\B"


def test_titles_and_descriptions_are_never_stored(empty_db: Database) -> None:
    load(empty_db, "weekly_exdate_moved.ics", "Europe/Berlin")
    with empty_db.cursor() as cursor:
        columns = cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' AND table_schema = 'main'"
        ).fetchall()
        for table, column in columns:
            found = cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}" LIKE ? OR "{column}" LIKE ? '
                f'OR "{column}" LIKE ?',
                ["%Session%", "%Private notes%", "%Team meeting%"],
            ).fetchall()[0][0]
            assert found == 0, (table, column)


def test_dry_run_reports_and_stores_nothing(empty_db: Database) -> None:
    report = import_calendar(
        empty_db,
        CALENDARS / "dst_berlin.ics",
        file_name="dst.ics",
        options=options("Europe/Berlin"),
        dry_run=True,
    )
    assert (report.imported, report.batch_id, report.dry_run) == (3, None, True)
    assert report.preview is not None and len(report.preview) == 3
    assert count(empty_db, "sessions") == 0 and count(empty_db, "import_batches") == 0


def test_undo_removes_the_calendar_batch(empty_db: Database) -> None:
    report = load(empty_db, "dst_berlin.ics", "Europe/Berlin")
    assert report.batch_id is not None
    assert undo_batch(empty_db, report.batch_id) == 3
    assert count(empty_db, "sessions") == 0


def test_only_importers_may_import(empty_db: Database) -> None:
    with pytest.raises(PermissionDeniedError):
        import_calendar(
            empty_db,
            CALENDARS / "dst_berlin.ics",
            file_name="dst.ics",
            scope=Scope.supervisor("sam", (1,)),
        )


def test_report_json_shape(empty_db: Database) -> None:
    report = load(empty_db, "weekly_exdate_moved.ics", "Europe/Berlin")
    shape = report.to_json()
    assert shape["kind"] == "calendar"
    assert shape["excluded"] == {"all_day": 1, "cancelled": 1, "outside_range": 0, "over_limit": 0}
    assert shape["unmatched"] == [
        {
            "date": "2026-09-11",
            "title": "Team meeting",
            "reason": "The title names no client by the client pattern.",
        }
    ]


def test_google_calendar_zone_places_floating_times_and_zero_length_is_listed(
    empty_db: Database,
) -> None:
    text = (
        b"BEGIN:VCALENDAR\nX-WR-TIMEZONE:Europe/Berlin\n"
        b"BEGIN:VEVENT\nUID:1\nSUMMARY:Session: Anna B.\n"
        b"DTSTART:20261001T100000\nDTEND:20261001T105000\nEND:VEVENT\n"
        b"BEGIN:VEVENT\nUID:2\nSUMMARY:Session: Anna B.\nDTSTART:20261002T100000Z\n"
        b"END:VEVENT\nEND:VCALENDAR\n"
    )
    report = import_calendar(empty_db, text, file_name="x.ics", options=options("UTC"))
    # The floating 10:00 is Berlin time by X-WR-TIMEZONE (CEST, UTC+2): 08:00 UTC, even for
    # a therapist in UTC. The second event has no DTEND: no length, listed for review.
    assert stored(empty_db) == [
        ("Anna B.", datetime(2026, 10, 1, 8), datetime(2026, 10, 1, 8), 50.0, "attended")
    ]
    assert [(e.day, e.reason) for e in report.unmatched] == [
        (
            date(2026, 10, 2),
            "It has no length (no DTEND or DURATION, or it ends as it starts).",
        )
    ]


@pytest.mark.parametrize(
    "zone_id",
    ["Customized Time Zone", "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna"],
)
def test_exchange_zone_defined_only_by_its_vtimezone_block(
    empty_db: Database, zone_id: str
) -> None:
    text = (
        "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:" + zone_id.replace(",", "\\,") + "\r\n"
        "BEGIN:STANDARD\r\nDTSTART:16011028T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n"
        "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"
        "BEGIN:DAYLIGHT\r\nDTSTART:16010325T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\n"
        "TZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
        "BEGIN:VEVENT\r\nUID:x1\r\nSUMMARY:Session: Anna B.\r\n"
        f'DTSTART;TZID="{zone_id}":20261019T100000\r\n'
        f'DTEND;TZID="{zone_id}":20261019T105000\r\n'
        "RRULE:FREQ=WEEKLY;COUNT=2\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    import_calendar(empty_db, text, file_name="x.ics", options=options("Europe/Berlin"))
    # The block's rules: +02:00 until the last Sunday of October (25 Oct 2026), then +01:00.
    assert [row[2] for row in stored(empty_db)] == [
        datetime(2026, 10, 19, 8),
        datetime(2026, 10, 26, 9),
    ]


def test_events_without_uid_are_identified_by_client_start_and_length(
    empty_db: Database,
) -> None:
    text = (
        b"BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:Session: Anna B.\n"
        b"DTSTART;TZID=Nowhere/Land:20261001T100000\nDTEND;TZID=Nowhere/Land:20261001T105000\n"
        b"END:VEVENT\nBEGIN:VEVENT\nSUMMARY:Holiday\nDTSTART;VALUE=DATE:20261003\n"
        b"END:VEVENT\nBEGIN:VEVENT\nSUMMARY:Session: Ben K.\n"
        b"DTSTART:20261002T100000Z\nDTEND:20261002T105000Z\nEND:VEVENT\nEND:VCALENDAR\n"
    )
    first = import_calendar(empty_db, text, file_name="x.ics", options=options("UTC"))
    again = import_calendar(empty_db, text, file_name="x.ics", options=options("UTC"))
    # Anna's event has an unknown zone (listed), the all-day one is left out, Ben's is
    # stored once: without a UID, therapist, client, start and length identify it.
    assert (first.imported, first.excluded["all_day"], len(first.unmatched)) == (1, 1, 1)
    assert (again.imported, again.duplicates) == (0, 1)
