"""The Import page with calendars and session CSV files, under Streamlit's AppTest:
detection, calendar settings, the report with events to review, storing, undo."""

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.storage.database import Database
from tests.test_pages import metric_values, run_app

DATA = Path(__file__).parent / "data"
WEEKLY = DATA / "calendars" / "weekly_exdate_moved.ics"
PAGE = "pages/import_data.py"


def session_count(db_path: Path) -> int:
    db = Database(db_path)
    try:
        with db.cursor() as cursor:
            return int(cursor.execute("SELECT count(*) FROM sessions").fetchall()[0][0])
    finally:
        db.close()


def upload_calendar(app: AppTest) -> AppTest:
    # a calendar never names its therapist: the import settings do
    app.text_input(key="import_therapist").set_value("Dr. Weber").run()
    app.file_uploader(key="import_files").set_value(
        ("practice.ics", WEEKLY.read_bytes(), "text/calendar")
    ).run()
    app.date_input(key="calendar_from").set_value(date(2026, 9, 1)).run()
    app.date_input(key="calendar_to").set_value(date(2026, 11, 30)).run()
    app.selectbox(key="import_time_zone").set_value("Europe/Berlin").run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def test_calendar_upload_preview_import_and_undo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "contactload.duckdb"
    app = upload_calendar(run_app(db_path, monkeypatch, PAGE))
    figures = metric_values(app)
    # See test_import_calendar.py: 9 events in range, 6 sessions, the team meeting to
    # review, one all-day and one cancelled event left out.
    assert (
        figures["Events"],
        figures["Sessions to import"],
        figures["To review"],
        figures["Left out"],
    ) == ("9", "6", "1", "2")
    assert any("ICS calendar" in caption.value for caption in app.caption)
    review = [frame.value for frame in app.dataframe if "title" in frame.value.columns]
    assert list(review[0]["title"]) == ["Team meeting"]
    assert session_count(db_path) == 0  # the preview stores nothing
    app.button(key="import_commit").click().run()
    assert not app.exception
    assert any("6 sessions imported" in message.value for message in app.success)
    assert session_count(db_path) == 6
    history = [frame.value for frame in app.dataframe if "Sessions now" in frame.value.columns]
    assert list(history[0]["Sessions now"]) == [6]
    app.button(key="undo_button").click().run()
    assert session_count(db_path) == 6  # asked first: nothing deleted yet
    (question,) = [w.value for w in app.warning if w.value.startswith("Undo ")]
    assert "This deletes its 6 sessions" in question
    app.button(key="undo_confirm").click().run()
    assert any("6 sessions removed" in message.value for message in app.success)
    assert session_count(db_path) == 0


def test_session_csv_upload_reports_bad_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(tmp_path / "contactload.duckdb", monkeypatch, PAGE)
    upload = DATA / "sessions" / "bad_rows.csv"
    app.file_uploader(key="import_files").set_value(
        ("sessions.csv", upload.read_bytes(), "text/csv")
    ).run()
    assert not app.exception
    figures = metric_values(app)
    assert (figures["Rows"], figures["Sessions to import"], figures["Rejected"]) == (
        "10",
        "5",
        "5",
    )  # see test_import_sessions_csv.py
    assert any("Session CSV" in caption.value for caption in app.caption)
    problems = [frame.value for frame in app.dataframe if "message" in frame.value.columns]
    assert list(problems[0]["row"]) == [6, 7, 8, 9, 11]


def test_pattern_that_fits_nothing_lists_the_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = upload_calendar(run_app(tmp_path / "contactload.duckdb", monkeypatch, PAGE))
    app.text_input(key="calendar_pattern").set_value("^Nope (?P<client>.+)$").run()
    assert not app.exception
    assert len(app.error) == 1 and "check the client pattern" in app.error[0].value
    review = [frame.value for frame in app.dataframe if "title" in frame.value.columns]
    assert len(review[0]) == 7  # 5 of Anna, Ben's no-show, the team meeting


def test_phone_log_goes_to_the_phone_log_importer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(tmp_path / "contactload.duckdb", monkeypatch, PAGE)
    app.file_uploader(key="import_files").set_value(
        ("calls.xml", b"<?xml version='1.0'?>\n<calls count='0'></calls>", "text/xml")
    ).run()
    assert not app.exception
    # the phone-log importer's own sentence: an empty log stores nothing
    assert len(app.error) == 1 and "holds no calls and no texts" in app.error[0].value


@pytest.mark.parametrize(
    ("name", "figures", "reasons"),
    [
        # see test_import_calendar_malformed.py: Zoë's event is stored; Jörg's title and
        # Mia's end cannot be read
        (
            "undecodable_bytes.ics",
            ("3", "1", "2", "0"),
            ["Its title holds bytes that are not UTF-8 text; save the calendar as UTF-8 and "
             "import it again.", "Its end (DTEND) cannot be read (20261106T0950?00Z)."],
        ),
        # every second from 2 Nov: over the limit of 5,000 instances, left out and listed
        (
            "secondly_unbounded.ics",
            ("2", "1", "0", "1"),
            ["It has more than 5,000 instances between 2026-11-01 and 2026-11-30; none of its "
             "instances were read; import a shorter range."],
        ),
    ],
)  # fmt: skip
def test_broken_and_hostile_events_are_listed_with_their_reasons(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    figures: tuple[str, ...],
    reasons: list[str],
) -> None:
    app = run_app(tmp_path / "contactload.duckdb", monkeypatch, PAGE)
    app.text_input(key="import_therapist").set_value("Dr. Weber").run()
    upload = DATA / "calendars" / name
    app.file_uploader(key="import_files").set_value((name, upload.read_bytes(), "text/calendar"))
    app.run()
    app.date_input(key="calendar_from").set_value(date(2026, 11, 1)).run()
    app.date_input(key="calendar_to").set_value(date(2026, 11, 30)).run()
    assert not app.exception, [e.message for e in app.exception]
    shown = metric_values(app)
    assert tuple(shown[k] for k in ("Events", "Sessions to import", "To review", "Left out")) == (
        figures
    )
    review = [frame.value for frame in app.dataframe if "reason" in frame.value.columns]
    assert list(review[0]["reason"]) == reasons
    assert any("Each has its reason below" in warning.value for warning in app.warning)


def therapists(db_path: Path) -> list[str]:
    db = Database(db_path)
    try:
        with db.cursor() as cursor:
            return [str(r[0]) for r in cursor.execute("SELECT name FROM therapists").fetchall()]
    finally:
        db.close()


def test_calendar_without_a_therapist_asks_for_the_name_and_imports_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "contactload.duckdb"
    app = run_app(db_path, monkeypatch, PAGE)
    app.file_uploader(key="import_files").set_value(
        ("practice.ics", WEEKLY.read_bytes(), "text/calendar")
    ).run()
    app.date_input(key="calendar_from").set_value(date(2026, 9, 1)).run()
    app.date_input(key="calendar_to").set_value(date(2026, 11, 30)).run()
    assert not app.exception, [e.message for e in app.exception]
    # the 6 sessions in range (see test_import_calendar.py) belong to nobody yet: asked
    (asked,) = [w.value for w in app.warning if "does not say whose" in w.value]
    assert asked == (
        "practice.ics does not say whose sessions these are (6 sessions have no therapist); "
        "type the therapist's name below."
    )
    assert "Sessions to import" not in metric_values(app)
    assert not [b for b in app.button if b.key == "import_commit"]
    (box,) = [box for box in app.text_input if box.label == "Therapist's name"]
    box.set_value("Dr. Weber").run()
    assert not app.exception, [e.message for e in app.exception]
    assert not [w for w in app.warning if "does not say whose" in w.value]
    assert metric_values(app)["Sessions to import"] == "6"
    app.button(key="import_commit").click().run()
    assert any("6 sessions imported" in message.value for message in app.success)
    assert session_count(db_path) == 6
    assert therapists(db_path) == ["Dr. Weber"]


def test_placeholder_in_the_settings_is_no_therapist_for_a_session_csv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "contactload.duckdb"
    app = run_app(db_path, monkeypatch, PAGE)
    app.text_input(key="import_therapist").set_value("Me").run()
    text = b"date,start_time,minutes,client,status\n2026-10-01,09:00,50,A,attended\n"
    app.file_uploader(key="import_files").set_value(("s.csv", text, "text/csv")).run()
    assert not app.exception, [e.message for e in app.exception]
    assert any("s.csv does not say whose sessions" in w.value for w in app.warning)
    (box,) = [box for box in app.text_input if box.label == "Therapist's name"]
    box.set_value("Anna Weber").run()
    app.button(key="import_commit").click().run()
    assert session_count(db_path) == 1
    assert therapists(db_path) == ["Anna Weber"]
