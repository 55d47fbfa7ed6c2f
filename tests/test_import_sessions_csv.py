"""Session CSV files: the same reader and parsers as contacts, statuses mapped, bad rows
reported with their row numbers, the rest stored once."""

from datetime import date, datetime
from pathlib import Path

import pytest

from analytics.importing.session_csv import (
    SessionColumnsError,
    import_session_csv,
    session_template_csv,
)
from analytics.importing.session_report import SessionOptions
from analytics.importing.text_encodings import UnreadableFileError
from analytics.storage.database import Database

SESSIONS = Path(__file__).parent / "data" / "sessions"


def stored(db: Database) -> list[tuple[object, ...]]:
    """(therapist, client label, local start, UTC start, minutes, status), in time order."""
    with db.cursor() as cursor:
        return cursor.execute(
            """
            SELECT t.name, c.label, s.local_started_at,
                   CAST(timezone('UTC', s.started_at) AS TIMESTAMP), s.minutes, s.status
            FROM sessions AS s JOIN clients AS c USING (client_id)
            JOIN therapists AS t ON t.therapist_id = s.therapist_id
            ORDER BY s.started_at
            """
        ).fetchall()


def test_bad_rows_are_reported_and_the_rest_stored(empty_db: Database) -> None:
    report = import_session_csv(
        empty_db,
        SESSIONS / "bad_rows.csv",
        file_name="bad_rows.csv",
        options=SessionOptions(time_zone="Europe/Berlin"),
    )
    # Semicolons, DD.MM.YYYY, German headers, CRLF. Berlin is on CEST (UTC+2) until 25 Oct.
    assert stored(empty_db) == [
        ("Dr. Weber", "Anna B.", datetime(2026, 10, 13, 9), datetime(2026, 10, 13, 7), 50.0,
         "attended"),
        ("Dr. Weber", "Ben K.", datetime(2026, 10, 13, 10), datetime(2026, 10, 13, 8), 50.0,
         "no_show"),
        ("Dr. Weber", "Anna B.", datetime(2026, 10, 14, 14, 30), datetime(2026, 10, 14, 12, 30),
         50.0, "late_cancelled"),
        ("Dr. Weber", "Carl M.", datetime(2026, 10, 15, 9), datetime(2026, 10, 15, 7), 45.0,
         "cancelled"),
        ("Dr. Weber", "Dana S.", datetime(2026, 10, 20, 10), datetime(2026, 10, 20, 8), 50.0,
         "attended"),
    ]  # fmt: skip
    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (6, "Datum + Beginn", "The date or start time could not be read."),  # 25:00
        (7, "Dauer", "The length could not be read."),  # empty
        (8, "Klient", "No client is named in this row."),
        (9, "Status", 'The status "maybe" is not known; use attended, no show, late cancel '
         "or cancelled."),
        (11, None, "Expected 6 fields but found 7."),
    ]  # fmt: skip
    assert (report.rows, report.imported, report.duplicates, report.rejected) == (10, 5, 0, 5)
    assert report.statuses == {"attended": 2, "cancelled": 1, "late_cancelled": 1, "no_show": 1}


def test_session_hours_per_local_week(empty_db: Database) -> None:
    import_session_csv(
        empty_db,
        SESSIONS / "bad_rows.csv",
        file_name="bad_rows.csv",
        options=SessionOptions(time_zone="Europe/Berlin"),
    )
    with empty_db.cursor() as cursor:
        weeks = cursor.execute(
            """
            SELECT CAST(date_trunc('week', local_started_at) AS DATE), sum(minutes),
                   coalesce(sum(minutes) FILTER (WHERE status = 'attended'), 0)
            FROM sessions GROUP BY 1 ORDER BY 1
            """
        ).fetchall()
    # Week of Mon 12 Oct: 50 + 50 + 50 + 45 = 195 scheduled, 50 attended (Anna on the 13th).
    # Week of Mon 19 Oct: Dana 50, attended.
    assert weeks == [(date(2026, 10, 12), 195.0, 50.0), (date(2026, 10, 19), 50.0, 50.0)]


def test_reimport_adds_nothing(empty_db: Database) -> None:
    chosen = SessionOptions(time_zone="Europe/Berlin")
    path = SESSIONS / "bad_rows.csv"
    import_session_csv(empty_db, path, file_name="a.csv", options=chosen)
    again = import_session_csv(empty_db, path, file_name="a.csv", options=chosen)
    assert (again.imported, again.duplicates) == (0, 5)
    assert len(stored(empty_db)) == 5


def test_us_dates_twelve_hour_clock_and_end_times(empty_db: Database) -> None:
    import_session_csv(
        empty_db,
        SESSIONS / "us_end_times.csv",
        file_name="us.csv",
        options=SessionOptions(time_zone="America/New_York", therapist="Dr. Kim"),
    )
    # 04/13/2026 proves month-first. 9:00-9:50 AM EDT (UTC-4) -> 13:00 UTC, 50 min;
    # 11:30 PM to 12:20 AM runs past midnight: 50 min, 03:30 UTC the next day.
    assert stored(empty_db) == [
        ("Dr. Kim", "Eve R.", datetime(2026, 4, 11, 9), datetime(2026, 4, 11, 13), 50.0,
         "attended"),
        ("Dr. Kim", "Eve R.", datetime(2026, 4, 13, 23, 30), datetime(2026, 4, 14, 3, 30), 50.0,
         "no_show"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("cell", "status"),
    [
        ("Attended", "attended"),
        ("Show", "attended"),
        ("No show", "no_show"),
        ("No-Show", "no_show"),
        ("DNA", "no_show"),
        ("Late cancel", "late_cancelled"),
        ("Late Cancellation", "late_cancelled"),
        ("Cancelled", "cancelled"),
        ("canceled", "cancelled"),
        ("abgesagt", "cancelled"),
    ],
)
def test_status_spellings(empty_db: Database, cell: str, status: str) -> None:
    text = f"date,start_time,minutes,client,status\n2026-10-01,09:00,50,A,{cell}\n"
    report = import_session_csv(
        empty_db, text.encode(), file_name="s.csv", options=SessionOptions(therapist="Dr. Weber")
    )
    assert report.statuses == {status: 1}


def test_template_imports_as_is(empty_db: Database) -> None:
    report = import_session_csv(empty_db, session_template_csv().encode(), file_name="t.csv")
    assert (report.imported, report.rejected) == (3, 0)
    assert report.statuses == {"attended": 1, "late_cancelled": 1, "no_show": 1}


def test_missing_columns_and_unusable_files_store_nothing(empty_db: Database) -> None:
    with pytest.raises(SessionColumnsError, match="no column for status"):
        import_session_csv(
            empty_db, b"date,start_time,minutes,client\n2026-10-01,09:00,50,A\n", file_name="x"
        )
    with pytest.raises(UnreadableFileError, match=r"^No row of x.csv could be imported \(row 2"):
        import_session_csv(
            empty_db, b"date,start_time,minutes,client,status\n2026-10-01,09:00,50,A,?\n",
            file_name="x.csv",
        )  # fmt: skip
    with empty_db.cursor() as cursor:
        assert cursor.execute("SELECT count(*) FROM import_batches").fetchall() == [(0,)]


def test_dry_run_stores_nothing(empty_db: Database) -> None:
    report = import_session_csv(
        empty_db, SESSIONS / "bad_rows.csv", file_name="b.csv", dry_run=True
    )
    assert (report.imported, report.batch_id) == (5, None)
    assert report.preview is not None and list(report.preview["row"]) == [2, 3, 4, 5, 10]
    assert stored(empty_db) == []


def test_start_and_end_as_date_times_and_notes_dropped(empty_db: Database) -> None:
    report = import_session_csv(
        empty_db,
        SESSIONS / "practice_export.csv",
        file_name="export.csv",
        options=SessionOptions(time_zone="America/Chicago"),
    )
    # "Start" alone holds date and time; 09:00-09:50 CDT (UTC-5) -> 14:00 UTC, 50 min.
    # The second row ends before it starts on the same day: rejected, not wrapped.
    assert stored(empty_db) == [
        ("Dr. Kim", "Lee, M.", datetime(2026, 10, 13, 9), datetime(2026, 10, 13, 14), 50.0,
         "attended"),
    ]  # fmt: skip
    assert [(e.row, e.column, e.message) for e in report.errors] == [
        (3, "End", "The length is zero or negative.")
    ]
    with empty_db.cursor() as cursor:  # the Notes column is in no table
        columns = cursor.execute(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE data_type = 'VARCHAR' AND table_schema = 'main'"
        ).fetchall()
        for table, column in columns:
            found = cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}" LIKE ?', ["%never stored%"]
            ).fetchall()
            assert found == [(0,)], (table, column)
