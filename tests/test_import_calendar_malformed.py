"""Calendars as real servers write them when things go wrong, and calendars built to hurt.

Each file in tests/data/calendars is written by hand in the shape a server or client writes
(CRLF lines, PRODID, DTSTAMP, UIDs): one broken event beside good ones. The good events must
be stored, the broken one listed with a plain reason, and nothing may end in a traceback.
Counts and times are worked out by hand in the comments.
"""

import time
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.errors import ContactLoadError
from analytics.importing import calendar_events
from analytics.importing.calendar import import_calendar
from analytics.importing.calendar_events import read_calendar
from analytics.importing.session_report import NoSessionsError, SessionOptions, SessionReport
from analytics.storage.database import Database

CALENDARS = Path(__file__).parent / "data" / "calendars"
AUTUMN = {"start": date(2026, 9, 1), "end": date(2026, 11, 30)}


def load(
    db: Database, source: str | bytes, zone: str = "UTC", today: date = date(2026, 11, 28),
    **changes: object,
) -> SessionReport:  # fmt: skip
    fields: dict[str, object] = {"therapist": "Dr. Weber", "time_zone": zone, **changes}
    data = source if isinstance(source, bytes) else (CALENDARS / source).read_bytes()
    return import_calendar(
        db,
        data,
        file_name="x.ics",
        options=SessionOptions(**fields),
        today=today,  # type: ignore[arg-type]
    )


def stored(db: Database) -> list[tuple[object, ...]]:
    """(client, UTC start, minutes) per session, in time order."""
    with db.cursor() as cursor:
        return cursor.execute(
            """
            SELECT c.label, CAST(timezone('UTC', s.started_at) AS TIMESTAMP), s.minutes
            FROM sessions AS s JOIN clients AS c USING (client_id) ORDER BY s.started_at
            """
        ).fetchall()


def listed(report: SessionReport) -> list[tuple[object, ...]]:
    return [(event.day, event.title, event.reason) for event in report.unmatched]


@pytest.mark.parametrize(
    ("name", "sessions", "review"),
    [
        # Noah's event has DTSTART twice (10:00 and 11:00): which is meant cannot be known.
        (
            "two_dtstart.ics",
            [("Mia L.", datetime(2026, 11, 3, 9), 50.0)],
            [(date(2026, 11, 4), "Session: Noah P.",
              "It has 2 DTSTART lines; an event has one start.")],
        ),
        # Weekly from Mon 2 Nov 09:00Z, 4 times: 2, 9, 16, 23 Nov. The 9 Nov override has no
        # DTSTART: it is listed (at the slot it replaces) and that slot is not guessed.
        (
            "moved_without_dtstart.ics",
            [("Mia L.", datetime(2026, 11, d, 9), 50.0) for d in (2, 16, 23)],
            [(date(2026, 11, 9), "Session: Mia L. (moved)",
              "It is a moved instance (RECURRENCE-ID) without its own start (DTSTART).")],
        ),
        # An empty EXDATE excludes nothing: Tue 3, 10, 17 Nov at 14:00Z.
        (
            "empty_exdate.ics",
            [("Noah P.", datetime(2026, 11, d, 14), 50.0) for d in (3, 10, 17)],
            [],
        ),
        # BYDAY=MO, TU read as MO,TU: Mon 2, Tue 3, Mon 9, Tue 10 Nov at 08:00Z (COUNT=4).
        (
            "byday_spaces.ics",
            [("Ola K.", datetime(2026, 11, d, 8), 50.0) for d in (2, 3, 9, 10)],
            [],
        ),
        # RDATE dates without DTSTART: no start to read, no date to show.
        (
            "rdate_only.ics",
            [("Mia L.", datetime(2026, 11, 6, 10), 50.0)],
            [(None, "Session: Ola K.", "It has dates (RDATE) but no start (DTSTART).")],
        ),
        # Windows-1252 bytes: in a title (the client's name cannot be trusted: listed), in a
        # location (not read: stored), in an end time (listed).
        (
            "undecodable_bytes.ics",
            [("Zoë A.", datetime(2026, 11, 5, 9), 50.0)],
            [
                (date(2026, 11, 4), "Session: J\ufffdrg M\ufffdller",
                 "Its title holds bytes that are not UTF-8 text; save the calendar as UTF-8 "
                 "and import it again."),
                (date(2026, 11, 6), "Session: Mia L.",
                 "Its end (DTEND) cannot be read (20261106T0950?00Z)."),
            ],
        ),
    ],
)  # fmt: skip
def test_broken_event_is_listed_and_the_others_stored(
    empty_db: Database, name: str, sessions: list[tuple[object, ...]], review: list[object]
) -> None:
    report = load(empty_db, name, **AUTUMN)
    assert stored(empty_db) == sessions
    assert listed(report) == review
    assert (report.imported, report.rejected, report.rows) == (
        len(sessions), len(review), len(sessions) + len(review)
    )  # fmt: skip
    for event in report.unmatched:  # plain words: no Python bytes literal, no escapes
        assert "b'" not in event.reason and "\\" not in event.reason
    again = load(empty_db, name, **AUTUMN)
    assert (again.imported, again.duplicates) == (0, len(sessions))


def test_first_session_on_another_day_in_the_therapists_zone_is_kept(
    empty_db: Database,
) -> None:
    # Weekly from Mon 2 Nov 08:00 Auckland (NZDT, UTC+13): 19:00 UTC on Sunday 1 Nov, which
    # is 20:00 on Sunday 1 Nov for a therapist in Berlin (CET, UTC+1); then 8 and 15 Nov.
    # The default range starts at the first event's date on the Berlin calendar: 1 Nov.
    report = load(empty_db, "auckland_first_day.ics", "Europe/Berlin")
    assert stored(empty_db) == [
        ("Ruth H.", datetime(2026, 11, d, 19), 50.0) for d in (1, 8, 15)
    ]  # fmt: skip
    assert report.detected.endswith("3 events from 2026-11-01 to 2026-11-28")
    # Left out by the range (today is 28 Nov), counted and listed: 29 Nov 14:00 Auckland is
    # 01:00 UTC and 02:00 in Berlin on 29 Nov (read within the margin, then left out by its
    # Berlin date); 10 Dec 08:00 Auckland, 9 Dec in Berlin, is beyond the margin.
    assert report.excluded["outside_range"] == 2
    assert listed(report) == [
        (date(2026, 11, 29), "Session: Ruth H.",
         "It falls outside the range 2026-11-01 to 2026-11-28."),
        (date(2026, 12, 9), "Session: Ruth H.",
         "It has no instance between 2026-11-01 and 2026-11-28."),
    ]  # fmt: skip
    assert report.rejected == 0  # nothing is wrong with them


def test_this_and_future_gives_each_later_instance_its_own_identity(
    empty_db: Database,
) -> None:
    # Weekly from Mon 5 Oct 10:00Z, 6 times; RANGE=THISANDFUTURE at 19 Oct moves 19 Oct and
    # every later one to 14:00Z: 5, 12 Oct at 10:00, then 19, 26 Oct, 2, 9 Nov at 14:00.
    report = load(empty_db, "this_and_future.ics", **AUTUMN)
    assert stored(empty_db) == [
        ("Omar T.", datetime(2026, 10, 5, 10), 50.0),
        ("Omar T.", datetime(2026, 10, 12, 10), 50.0),
        ("Omar T.", datetime(2026, 10, 19, 14), 50.0),
        ("Omar T.", datetime(2026, 10, 26, 14), 50.0),
        ("Omar T.", datetime(2026, 11, 2, 14), 50.0),
        ("Omar T.", datetime(2026, 11, 9, 14), 50.0),
    ]
    assert (report.rows, report.imported, report.duplicates) == (6, 6, 0)
    again = load(empty_db, "this_and_future.ics", **AUTUMN)
    assert (again.imported, again.duplicates) == (0, 6)


def test_moved_rest_of_series_is_the_same_sessions_as_before_the_move(
    empty_db: Database,
) -> None:
    # Each instance is identified by its slot in the series, so the series imported before
    # the move and the moved one are the same 6 sessions.
    text = (CALENDARS / "this_and_future.ics").read_bytes()
    before = text.split(b"BEGIN:VEVENT\r\nUID:omar-weekly@caldav.example.org\r\nDTSTAMP:20261015")
    first = load(empty_db, before[0] + b"END:VCALENDAR\r\n", **AUTUMN)
    moved = load(empty_db, "this_and_future.ics", **AUTUMN)
    assert (first.imported, moved.imported, moved.duplicates) == (6, 0, 6)


def test_unbounded_secondly_rule_is_capped_quickly(empty_db: Database) -> None:
    data = (CALENDARS / "secondly_unbounded.ics").read_bytes()
    began = time.perf_counter()
    read_calendar(data, "x.ics", None, None, date(2026, 11, 28))
    assert time.perf_counter() - began < 1.0  # 2.2 million instances uncapped
    report = load(empty_db, data)
    # Every second from 2 Nov 09:00Z: over 5,000 instances in the range, so none are read;
    # Mia's single session is stored.
    assert stored(empty_db) == [("Mia L.", datetime(2026, 11, 3, 10), 50.0)]
    assert report.excluded["over_limit"] == 1
    assert listed(report) == [
        (date(2026, 11, 2), "Session: Flood F.",
         "It has more than 5,000 instances between 2026-11-02 and 2026-11-28; none of its "
         "instances were read; import a shorter range."),
    ]  # fmt: skip


def event(uid: str, start: str, rule: str = "") -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:Session: {uid}\r\nDTSTART:{start}\r\n"
        f"DURATION:PT50M\r\n{rule and 'RRULE:' + rule + chr(13) + chr(10)}END:VEVENT\r\n"
    )


def calendar(*events: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + "".join(events) + "END:VCALENDAR\r\n").encode()


@pytest.mark.parametrize(
    ("rule", "today"),
    [
        ("FREQ=MINUTELY", date(2026, 11, 28)),  # 5,000 minutes is 3.5 days
        ("FREQ=HOURLY", date(2027, 6, 30)),  # 5,000 hours is 208 days
        ("FREQ=DAILY;INTERVAL=1", date(2040, 12, 31)),  # 5,000 days is 13.7 years
    ],
)
def test_every_unbounded_rule_is_capped(empty_db: Database, rule: str, today: date) -> None:
    text = calendar(event("Flood", "20261102T090000Z", rule), event("Mia", "20261103T100000Z"))
    report = load(empty_db, text, today=today)
    assert (report.imported, report.excluded["over_limit"]) == (1, 1)
    assert report.unmatched[0].reason.startswith("It has more than 5,000 instances between")


def test_rule_running_long_before_the_range_is_capped(empty_db: Database) -> None:
    # Daily since 1 Jan 1700: about 119,000 instances before the range, over the 100,000 a
    # rule may run through; the range itself would hold only 91 of them.
    text = calendar(
        event("Old", "17000101T090000Z", "FREQ=DAILY"), event("Mia", "20261103T100000Z")
    )
    report = load(empty_db, text, **AUTUMN)
    assert report.imported == 1 and report.excluded["over_limit"] == 1
    assert [e.reason for e in report.unmatched] == [
        "Its repetition rule runs through more than 100,000 instances up to 2026-11-30; none "
        "of its instances were read."
    ]


def test_file_limit_lists_the_events_past_it(
    empty_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calendar_events, "MAX_INSTANCES_PER_FILE", 5)
    text = calendar(
        event("Anna", "20261102T090000Z", "FREQ=WEEKLY;COUNT=4"),  # 4 instances: total 4
        event("Ben", "20261102T110000Z", "FREQ=WEEKLY;COUNT=4"),  # 4 more would make 8
        event("Carl", "20261103T100000Z"),  # 1 more makes 5: within the limit
    )
    report = load(empty_db, text, **AUTUMN)
    assert [row[0] for row in stored(empty_db)] == ["Anna", "Carl", "Anna", "Anna", "Anna"]
    assert report.excluded["over_limit"] == 1
    assert listed(report) == [
        (date(2026, 11, 2), "Session: Ben",
         "The file has more than 5 instances before this event between 2026-09-01 and "
         "2026-11-30; none of its instances were read; import a shorter range."),
    ]  # fmt: skip


def test_reading_time_limit_lists_the_events_not_reached(
    empty_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calendar_events, "MAX_READING_SECONDS", 0.0)
    text = calendar(event("Anna", "20261102T090000Z"), event("Ben", "20261102T110000Z"))
    with pytest.raises(NoSessionsError, match=r"is a session \(2 over a limit\)") as caught:
        load(empty_db, text, **AUTUMN)
    reasons = [e.reason for e in caught.value.report.unmatched]
    assert (
        reasons
        == [
            "Reading the file took over 0 seconds before this event between 2026-09-01 and "
            "2026-11-30; none of its instances were read; import a shorter range."
        ]
        * 2
    )


def test_readme_states_the_limits() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Sessions from calendars and session files")[1].split("\n## ")[0]
    text = " ".join(section.split())
    assert f"more than {calendar_events.MAX_INSTANCES_PER_EVENT:,} instances of one event" in text
    assert f"more than {calendar_events.MAX_RULE_STEPS:,} instances up to" in text
    assert f"more than {calendar_events.MAX_INSTANCES_PER_FILE:,} instances in one file" in text
    assert f"more than {calendar_events.MAX_READING_SECONDS:g} seconds of reading" in text


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("DTSTART:202611", "Its start (DTSTART) cannot be read (202611)."),  # a time of day
        ("DTSTART:20261104T100000Z\r\nEXDATE:1030", "Its excluded dates (EXDATE) cannot be "
         "read (1030)."),
    ],
)  # fmt: skip
def test_values_of_the_wrong_kind_are_listed(empty_db: Database, line: str, reason: str) -> None:
    text = calendar(event("Mia", "20261103T100000Z")).replace(
        b"END:VCALENDAR", f"BEGIN:VEVENT\r\nUID:x\r\n{line}\r\nEND:VEVENT\r\nEND:VCALENDAR".encode()
    )
    report = load(empty_db, text, **AUTUMN)
    assert report.imported == 1 and [e.reason for e in report.unmatched] == [reason]


def test_a_series_from_the_first_year_is_read_within_the_limits(empty_db: Database) -> None:
    # Yearly on 1 Jan from the year 1; the default range starts there (its margin stops at
    # the first date Python knows) and ends on 28 Nov 2026: years 1 to 2026 are 2,026
    # instances, within the 5,000 of one event, and Mia's session makes 2,027.
    text = calendar(
        event("Old", "00010101T090000Z", "FREQ=YEARLY"), event("Mia", "20261103T100000Z")
    )
    report = load(empty_db, text)
    assert report.imported == 2027 and report.excluded["over_limit"] == 0


MUTATIONS = [
    "DTSTART:20261103T100000Z", "DTSTART;VALUE=DATE:20261103", "DTEND:20261101T100000Z",
    "RRULE:FREQ=DAILY;UNTIL=20261110", "RRULE:FREQ=WEEKLY;UNTIL=20261110T000000",
    "EXDATE;VALUE=DATE:20261104", "RDATE;VALUE=PERIOD:20261105T100000Z/PT1H",
    "RECURRENCE-ID:20261110T100000Z", "RECURRENCE-ID;RANGE=THISANDFUTURE:20261103T100000Z",
    "DURATION:-PT1H", "DTSTART;TZID=Nowhere:20261103T100000", "RRULE:FREQ=YEARLY;BYMONTH=13",
    "RRULE:COUNT=3", "UID:", "SEQUENCE:abc", "DTSTART:99991231T235959Z", "DTSTART:202611",
    "RRULE:FREQ=MONTHLY;BYSETPOS=400", "RDATE:20261103", "BEGIN:VALARM", "END:VALARM",
    "RRULE:FREQ=SECONDLY", "EXDATE:", "DTEND;VALUE=DATE:20261104",
]  # fmt: skip
SHAPES = sorted(path.read_bytes().replace(b"\r\n", b"\n") for path in CALENDARS.glob("*.ics"))


@st.composite
def mutated_calendars(draw: st.DrawFn) -> bytes:
    """A fixture with a few lines inserted, removed, repeated, cut or given a stray byte."""
    lines = draw(st.sampled_from(SHAPES)).split(b"\n")
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(lines) - 1))
        change = draw(st.sampled_from(["insert", "remove", "repeat", "cut", "byte"]))
        if change == "insert":
            lines.insert(at, draw(st.sampled_from(MUTATIONS)).encode())
        elif change == "remove":
            del lines[at]
        elif change == "repeat":
            lines.insert(at, lines[draw(st.integers(0, len(lines) - 1))])
        elif change == "cut":
            lines[at] = lines[at][: draw(st.integers(0, len(lines[at])))]
        else:
            spot = draw(st.integers(0, len(lines[at])))
            lines[at] = lines[at][:spot] + bytes([draw(st.integers(0, 255))]) + lines[at][spot:]
    return b"\r\n".join(lines)


@pytest.fixture(scope="module")
def fuzz_db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    return Database(tmp_path_factory.mktemp("fuzz") / "contactload.duckdb")


@settings(
    max_examples=60,
    deadline=10_000,  # ms: a calendar that expands without limit fails rather than hangs
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=mutated_calendars())
def test_no_calendar_ends_in_a_traceback(fuzz_db: Database, data: bytes) -> None:
    for chosen in ({}, AUTUMN):
        try:
            report = import_calendar(
                fuzz_db, data, file_name="x.ics", dry_run=True, today=date(2026, 11, 28),
                options=SessionOptions(time_zone="Europe/Berlin", **chosen),  # type: ignore[arg-type]
            )  # fmt: skip
        except NoSessionsError as error:
            report = error.report
        except ContactLoadError as error:
            assert str(error) and "\n" not in str(error) and "b'" not in str(error)
            continue
        for listed_event in report.unmatched:
            assert listed_event.reason and "b'" not in listed_event.reason
