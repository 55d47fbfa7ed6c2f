"""Calendars, session CSVs and phone logs that name no real therapist (issue #16): the CLI
refuses them with one sentence naming --therapist and stores nothing, a placeholder such as
"Me" is no therapist, and a session CSV's own therapist column is still used."""

from pathlib import Path

import pytest

from analytics.importing.pipeline import TherapistNeededError
from analytics.importing.session_csv import import_session_csv
from analytics.importing.session_report import SessionOptions
from analytics.storage.database import Database
from tests.test_cli import run

DATA = Path(__file__).parent / "data"
WEEKLY = DATA / "calendars" / "weekly_exdate_moved.ics"
CALLS = DATA / "phone" / "calls.xml"
RANGE = ("--from", "2026-09-01", "--to", "2026-11-30")
SESSIONS = b"date,start_time,minutes,client,status\n2026-10-01,09:00,50,A,attended\n" + (
    b"2026-10-02,09:00,50,B,no show\n"
)


def stored(path: Path) -> tuple[int, int, int, int]:
    """(sessions, contacts, therapists, batches) in the database at ``path``."""
    db = Database(path)
    try:
        with db.cursor() as cursor:
            return tuple(  # type: ignore[return-value]
                int(cursor.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
                for table in ("sessions", "contacts", "therapists", "import_batches")
            )
    finally:
        db.close()


def files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Each kind's file and the parenthesis its sentence gives (counted by hand)."""
    sessions = tmp_path / "sessions.csv"
    sessions.write_bytes(SESSIONS)
    return {
        # 6 sessions in range: see test_import_calendar.py
        "calendar": (WEEKLY, "sessions these are (6 sessions have no therapist)"),
        "session_csv": (sessions, "sessions these are (2 rows have no therapist)"),
        # 10 <call> entries in the file: see test_import_phone_log.py
        "phone_log": (CALLS, "calls and texts these are (10 entries have no therapist)"),
    }


@pytest.mark.parametrize("kind", ["calendar", "session_csv", "phone_log"])
@pytest.mark.parametrize("therapist", [(), ("--therapist", "Me"), ("--therapist", " unknown ")])
def test_cli_refuses_a_file_naming_no_therapist(
    tmp_path: Path, kind: str, therapist: tuple[str, ...]
) -> None:
    db = tmp_path / "c.duckdb"
    path, counted = files(tmp_path)[kind]
    result = run("import", path, "--db", db, *RANGE, *therapist, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == (
        f"contactload: {path.name}: {path.name} does not say whose {counted}; name the "
        "therapist with --therapist NAME.\n"
    )
    assert stored(db) == (0, 0, 0, 0)


def test_cli_imports_a_calendar_with_a_real_therapist(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    result = run("import", WEEKLY, "--db", db, *RANGE, "--therapist", "Dr. Weber", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert stored(db)[:3] == (6, 0, 1)


def test_session_csv_therapist_column_is_used_and_its_placeholders_are_not(
    empty_db: Database,
) -> None:
    text = (
        b"date,start_time,minutes,client,therapist,status\n"
        b"2026-10-01,09:00,50,A,Dr. Weber,attended\n"
        b"2026-10-02,09:00,50,B,Me,attended\n"
        b"2026-10-03,09:00,50,C,,attended\n"
    )
    with pytest.raises(TherapistNeededError) as refused:
        import_session_csv(empty_db, text, file_name="s.csv")
    assert str(refused.value) == (
        "s.csv does not say whose sessions these are (2 rows have no therapist); name the "
        "therapist with --therapist NAME."
    )
    assert stored(empty_db.path) == (0, 0, 0, 0)
    # the rows without one take the therapist given; the named row keeps its own
    report = import_session_csv(
        empty_db, text, file_name="s.csv", options=SessionOptions(therapist="Anna Weber")
    )
    assert report.imported == 3
    with empty_db.cursor() as cursor:
        rows = cursor.execute(
            "SELECT c.label, t.name FROM sessions AS s JOIN clients AS c USING (client_id) "
            "JOIN therapists AS t ON t.therapist_id = s.therapist_id ORDER BY c.label"
        ).fetchall()
    assert rows == [("A", "Dr. Weber"), ("B", "Anna Weber"), ("C", "Anna Weber")]


def test_phones_map_needs_a_real_therapist(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    for therapist in ((), ("--therapist", "Me")):
        result = run("phones", "map", "+491715550142", "Anna", "--db", db, *therapist, cwd=tmp_path)
        assert result.returncode == 1
        assert result.stderr.count("\n") == 1 and "--therapist NAME" in result.stderr


def test_import_page_asks_whose_phone_log_it_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.test_pages import metric_values, run_app

    app = run_app(tmp_path / "contactload.duckdb", monkeypatch, "pages/import_data.py")
    app.file_uploader(key="import_files").set_value(
        ("calls.xml", CALLS.read_bytes(), "text/xml")
    ).run()
    assert not app.exception, [e.message for e in app.exception]
    (asked,) = [w.value for w in app.warning if "does not say whose" in w.value]
    assert asked == (
        "calls.xml does not say whose calls and texts these are (10 entries have no "
        "therapist); type the therapist's name below."
    )
    assert "Calls and texts" not in metric_values(app)
    (box,) = [box for box in app.text_input if box.label == "Therapist's name"]
    box.set_value("Dr Vogel").run()
    assert not app.exception, [e.message for e in app.exception]
    assert metric_values(app)["Calls and texts"] == "10"
    assert any("for Dr Vogel (My practice)." in caption.value for caption in app.caption)
