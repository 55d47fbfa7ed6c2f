"""Practice-management exports: SimplePractice's appointment status report as sessions and
TherapyNotes' contact notes as contacts, from files in tests/data/practice/ written in the
shapes described in analytics/importing/practice_exports.py and presets.py. Every figure is
worked out by hand; the practice is Bay Counseling, America/New_York.
"""

import json
from datetime import datetime
from pathlib import Path

import pytest

from analytics import cli
from analytics.importing.detect import detect_kind
from analytics.importing.dispatch import import_detected
from analytics.importing.pipeline import FileReport, ImportOptions
from analytics.importing.session_report import SessionOptions, SessionReport
from analytics.storage.database import Database
from tests.test_care import every_value, file_bytes, traces

DATA = Path(__file__).parent / "data" / "practice"
SIMPLEPRACTICE = DATA / "simplepractice_appointment_status.csv"
WITH_STATUS = DATA / "simplepractice_appointment_status_with_status.csv"
THERAPYNOTES = DATA / "therapynotes_contact_notes.csv"
SESSIONS = SessionOptions(practice="Bay Counseling", time_zone="America/New_York")
CONTACTS = ImportOptions(practice="Bay Counseling", time_zone="America/New_York")


def sessions(db: Database) -> list[tuple[object, ...]]:
    with db.cursor() as cursor:
        return cursor.execute(
            """
            SELECT t.name, cl.label, s.local_started_at, s.minutes, s.status
            FROM sessions AS s JOIN clients AS cl USING (client_id)
            JOIN therapists AS t ON t.therapist_id = s.therapist_id
            ORDER BY s.started_at, cl.label
            """
        ).fetchall()


@pytest.mark.parametrize(
    ("path", "kind"),
    [(SIMPLEPRACTICE, "practice_sessions"), (WITH_STATUS, "practice_sessions"),
     (THERAPYNOTES, "contacts")],
)  # fmt: skip
def test_exports_are_recognised_by_their_header(path: Path, kind: str) -> None:
    assert detect_kind(path.read_bytes()) == kind


def test_simplepractice_appointments_become_sessions(empty_db: Database) -> None:
    report = import_detected(
        empty_db, SIMPLEPRACTICE, file_name=SIMPLEPRACTICE.name, session_options=SESSIONS
    )
    assert isinstance(report, SessionReport)
    assert (report.kind, report.rows, report.imported, report.rejected) == (
        "simplepractice", 6, 5, 1,
    )  # fmt: skip
    # no attendance column: every billed appointment is a session held
    assert report.statuses == {"attended": 5}
    assert [(e.column, e.message) for e in report.errors] == [
        ("Billing Code", "The billing code 99213 gives no session length (psychotherapy codes "
         "such as 90834 and 90837 do)."),
    ]  # fmt: skip
    assert sessions(empty_db) == [
        # 90837: 60 minutes, 90834: 45, 90791: 60, 90832: 30; the 13th makes dates month-first
        ("Dr Lena Park", "Avery Stone", datetime(2025, 10, 6, 12, 0), 60.0, "attended"),
        ("Dr Lena Park", "Blake Rivers", datetime(2025, 10, 6, 14, 0), 45.0, "attended"),
        ("Dr Lena Park", "Casey Moore", datetime(2025, 10, 7, 16, 45), 60.0, "attended"),
        ("Dr Omar Haddad", "Avery Stone", datetime(2025, 10, 8, 9, 30), 30.0, "attended"),
        ("Dr Lena Park", "Avery Stone", datetime(2025, 10, 13, 12, 0), 60.0, "attended"),
    ]
    again = import_detected(
        empty_db, SIMPLEPRACTICE, file_name=SIMPLEPRACTICE.name, session_options=SESSIONS
    )
    assert (again.imported, again.duplicates) == (0, 5)
    assert len(sessions(empty_db)) == 5


def test_an_appointment_status_column_gives_the_status(empty_db: Database) -> None:
    report = import_detected(
        empty_db, WITH_STATUS, file_name=WITH_STATUS.name, session_options=SESSIONS
    )
    assert isinstance(report, SessionReport)
    assert report.statuses == {
        "attended": 1, "cancelled": 1, "late_cancelled": 1, "no_show": 1,
    }  # fmt: skip
    assert [row[3:] for row in sessions(empty_db)] == [
        (60.0, "attended"),  # Show
        (45.0, "no_show"),
        (45.0, "late_cancelled"),
        (60.0, "cancelled"),  # "Canceled", US spelling
    ]


def test_therapynotes_contact_notes_become_contacts(empty_db: Database) -> None:
    report = import_detected(
        empty_db, THERAPYNOTES, file_name=THERAPYNOTES.name, contact_options=CONTACTS
    )
    assert isinstance(report, FileReport)
    assert report.to_json()["preset"] == "therapynotes"
    assert (report.rows, report.imported, report.rejected) == (4, 4, 0)
    with empty_db.cursor() as cursor:
        rows = cursor.execute(
            """
            SELECT cl.label, c.local_started_at, c.minutes, c.channel, c.category, c.direction
            FROM contacts AS c JOIN clients AS cl USING (client_id) ORDER BY c.started_at
            """
        ).fetchall()
    assert rows == [
        # "Crisis intervention": crisis; the method is the channel; no direction is given
        ("Avery Stone", datetime(2025, 10, 14, 9, 5), 25.0, "phone", "crisis", "unknown"),
        ("Blake Rivers", datetime(2025, 10, 14, 16, 30), 10.0, "email", "scheduling", "unknown"),
        ("Casey Moore", datetime(2025, 10, 15, 11, 0), 5.0, "text", "check_in", "unknown"),
        # "Changes in medication": no rule places it, kept as other for review
        ("Avery Stone", datetime(2025, 10, 16, 14, 15), 15.0, "phone", "other", "unknown"),
    ]
    path = empty_db.path
    values = every_value(empty_db)
    empty_db.close()
    # the contacted party, the relationship and the reason are never stored
    markers = ["Quentin", "Marlowe-Ashby", "Jordan Rivers", "Psychiatrist", "Crisis intervention",
               "Changes in medication", "Parent/Guardian"]  # fmt: skip
    assert traces(values.encode(), *markers) == []
    assert traces(file_bytes(path), *markers) == []


def test_the_cli_names_each_source_in_its_json_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path = tmp_path / "contactload.duckdb"
    code = cli.main([
        "import", str(SIMPLEPRACTICE), str(THERAPYNOTES), "--db", str(db_path),
        "--practice", "Bay Counseling", "--time-zone", "America/New_York", "--json",
    ])  # fmt: skip
    assert code == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert [(f["file"], f["preset"], f["imported"]) for f in files] == [
        (SIMPLEPRACTICE.name, "simplepractice", 5),
        (THERAPYNOTES.name, "therapynotes", 4),
    ]


def test_the_import_page_previews_and_imports_a_simplepractice_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_pages import metric_values, run_app

    db_path = tmp_path / "contactload.duckdb"
    app = run_app(db_path, monkeypatch, "pages/import_data.py")
    app.selectbox(key="import_time_zone").set_value("America/New_York").run()
    app.file_uploader(key="import_files").set_value(
        (SIMPLEPRACTICE.name, SIMPLEPRACTICE.read_bytes(), "text/csv")
    ).run()
    assert not app.exception, [e.message for e in app.exception]
    figures = metric_values(app)
    assert (figures["Rows"], figures["Sessions to import"]) == ("6", "5")
    assert any("SimplePractice appointment status report" in c.value for c in app.caption)
    app.button(key="import_commit").click().run()
    assert not app.exception
    assert any("5 sessions imported" in message.value for message in app.success)
    db = Database(db_path)
    assert len(sessions(db)) == 5
    db.close()
