"""The Import page with contact logs that need a column picked (issue 13), under AppTest:
an empty Client column, start and end columns the synonyms do not know, start and end
recognised without help, XML that is no phone log. One sentence each, never an exception."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.test_import_shapes import ODD_START_END, SHAPES, TOGGL_SENTENCE
from tests.test_pages import metric_values, run_app

PAGE = "pages/import_data.py"


def upload(app: AppTest, name: str, content: bytes) -> AppTest:
    app.selectbox(key="import_time_zone").set_value("Europe/Berlin")
    app.text_input(key="import_therapist").set_value("Robin Sommer").run()
    app.file_uploader(key="import_files").set_value((name, content, "text/csv")).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def pick(app: AppTest, field: str, column: str) -> AppTest:
    """Choose ``column`` for ``field`` in the column mapping (one picker per field)."""
    (picker,) = [box for box in app.selectbox if box.label == field]
    picker.set_value(column).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def test_empty_client_column_is_fixed_by_picking_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(tmp_path / "contactload.duckdb", monkeypatch, PAGE)
    upload(
        app,
        "toggl_clients_as_projects.csv",
        (SHAPES / "toggl_clients_as_projects.csv").read_bytes(),
    )
    assert [error.value for error in app.error] == [TOGGL_SENTENCE]
    assert "Will import" not in metric_values(app)
    pick(app, "client", "Project")
    assert not app.error
    figures = metric_values(app)
    assert (figures["Rows"], figures["Will import"], figures["Rejected"]) == ("3", "3", "0")
    app.button(key="import_commit").click().run()
    assert not app.exception
    assert any("3 contacts imported" in message.value for message in app.success)


def test_unknown_start_and_end_columns_can_be_picked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(tmp_path / "contactload.duckdb", monkeypatch, PAGE)
    upload(app, "odd.csv", ODD_START_END)
    assert len(app.error) == 1 and "match no known export" in app.error[0].value
    pick(app, "client", "Wer")
    pick(app, "started_at", "Los")
    pick(app, "ended_at", "Schluss")
    assert not app.error
    figures = metric_values(app)
    # 60 + 120 minutes across the spring-forward night, see test_import_shapes.py
    assert (figures["Rows"], figures["Will import"], figures["Rejected"]) == ("2", "2", "0")
    (preview,) = [frame.value for frame in app.dataframe if "minutes" in frame.value.columns]
    assert sorted(preview["minutes"]) == [60.0, 120.0]


def test_start_and_end_date_times_need_no_mapping(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(tmp_path / "contactload.duckdb", monkeypatch, PAGE)
    upload(app, "start_end_local.csv", (SHAPES / "start_end_local.csv").read_bytes())
    assert not app.error
    assert any("started_at: Start, ended_at: End" in caption.value for caption in app.caption)
    figures = metric_values(app)
    assert (figures["Rows"], figures["Will import"], figures["Rejected"]) == ("5", "3", "2")


def test_xml_that_is_no_phone_log_gets_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(tmp_path / "contactload.duckdb", monkeypatch, PAGE)
    upload(app, "one_line.xml", (SHAPES / "one_line.xml").read_bytes())
    assert [error.value for error in app.error] == [
        "one_line.xml is XML but not an SMS Backup & Restore phone log (its root element is "
        "<rss>, not <calls> or <smses>); upload the calls or messages backup that app "
        "writes, or export contacts as CSV."
    ]
