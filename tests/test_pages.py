"""Every page under Streamlit's AppTest: renders without exception, shows its key elements,
and follows the shared sidebar filters."""

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.access.filters import ContactFilter
from analytics.measures.metrics import totals
from analytics.storage.database import Database
from tests.conftest import DEMO_END
from ui.navigation import PAGES

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def run_app(db_path: Path, monkeypatch: pytest.MonkeyPatch, page: str | None = None) -> AppTest:
    """Run app.py against ``db_path`` (and switch to ``page``), failing on any exception."""
    monkeypatch.setenv("CONTACTLOAD_DB", str(db_path))
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    if page:
        app.switch_page(page).run()
    assert not app.exception, [exception.message for exception in app.exception]
    return app


def metric_values(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def test_every_page_file_is_registered() -> None:
    on_disk = {f"pages/{path.name}" for path in (ROOT / "pages").glob("*.py")}
    assert on_disk == {page.path for page in PAGES}
    assert len({page.url_path for page in PAGES}) == len(PAGES)


def test_app_registers_the_navigation_pages(
    demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for page in PAGES:
        app = run_app(demo_db_path, monkeypatch, page.path)
        assert app.title[0].value


def test_overview_shows_headline_figures(
    demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(demo_db_path, monkeypatch)
    values = metric_values(app)
    assert set(values) >= {
        "Time with clients between sessions",
        "Contacts",
        "Active clients",
        "Per active client per week",
        "After hours",
        "Top 10% of clients",
    }
    db = Database(demo_db_path)
    expected = totals(db, ContactFilter())
    db.close()
    assert values["Contacts"] == f"{expected.contacts:,}"
    assert values["Time with clients between sessions"] == f"{expected.minutes / 60:,.1f} h"
    # weekly load, contact minutes beside session hours, channel mix, heatmap
    assert len(app.get("plotly_chart")) == 4


def test_filter_change_changes_the_numbers(
    demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(demo_db_path, monkeypatch)
    before = metric_values(app)
    app.multiselect(key="filter_channels").set_value(["phone"]).run()
    after = metric_values(app)
    db = Database(demo_db_path)
    phone = totals(db, ContactFilter(channels=("phone",)))
    db.close()
    assert after["Contacts"] == f"{phone.contacts:,}"
    assert after["Contacts"] != before["Contacts"]
    # The filter persists when the user moves to another page.
    app.switch_page("pages/clients.py").run()
    assert app.multiselect(key="filter_channels").value == ["phone"]
    assert not app.exception


def test_clients_page_table_pareto_and_drilldown(
    demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(demo_db_path, monkeypatch, "pages/clients.py")
    table = app.dataframe[0].value
    assert len(table) == 150
    assert list(table["minutes"]) == sorted(table["minutes"], reverse=True)
    assert any("take" in caption.value for caption in app.caption)
    second = table["client_key"].iloc[1]
    app.selectbox(key="client_drilldown").set_value(second).run()
    # the contact timeline (the page's other tables have no channel column)
    timeline = next(frame.value for frame in app.dataframe if "Channel" in frame.value.columns)
    assert len(timeline) == table["contacts"].iloc[1]
    assert timeline["Minutes"].sum() == pytest.approx(table["minutes"].iloc[1])


def test_channels_page_trend_bucket(demo_db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = run_app(demo_db_path, monkeypatch, "pages/channels.py")
    channels = app.dataframe[0].value
    assert set(channels["key"]) == {"phone", "email", "text", "portal", "video", "other"}
    app.segmented_control(key="trend_bucket").set_value("month").run()
    assert not app.exception
    assert len(app.get("plotly_chart")) == 3


ANALYTICS_PAGES = [page.path for page in PAGES if page.url_path not in ("import", "data-care")]


@pytest.mark.parametrize("page", ANALYTICS_PAGES)
def test_empty_database_explains_what_to_do(
    page: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Database(tmp_path / "empty.duckdb").close()
    app = run_app(tmp_path / "empty.duckdb", monkeypatch, page)
    assert any("No contacts stored yet" in info.value for info in app.info)


def test_filters_matching_nothing_say_so(
    demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(demo_db_path, monkeypatch)
    # Crisis contacts by video do not occur in the demo data.
    app.multiselect(key="filter_channels").set_value(["video"]).run()
    app.multiselect(key="filter_categories").set_value(["crisis"]).run()
    assert any("No contacts match these filters" in info.value for info in app.info)


def test_import_page_upload_changes_the_totals(
    demo_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "contactload.duckdb"
    shutil.copy(demo_db_path, db_path)
    app = run_app(db_path, monkeypatch)
    before = int(metric_values(app)["Contacts"].replace(",", ""))
    app.switch_page("pages/import_data.py").run()
    upload = ROOT / "tests" / "data" / "import" / "pipeline" / "template_checks.csv"
    app.file_uploader(key="import_files").set_value(
        ("checks.csv", upload.read_bytes(), "text/csv")
    ).run()
    assert not app.exception
    figures = metric_values(app)
    assert (figures["Rows"], figures["Will import"], figures["Rejected"]) == ("11", "6", "5")
    assert any(
        "Template" in caption.value or "template" in caption.value for caption in app.caption
    )
    app.button(key="import_commit").click().run()
    assert not app.exception
    assert any("6 contacts imported" in message.value for message in app.success)
    app.switch_page("pages/overview.py").run()
    assert metric_values(app)["Contacts"] == f"{before + 6:,}"


def test_import_page_reports_an_unusable_file(
    demo_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "contactload.duckdb"
    shutil.copy(demo_db_path, db_path)
    app = run_app(db_path, monkeypatch, "pages/import_data.py")
    app.file_uploader(key="import_files").set_value(("empty.csv", b"", "text/csv")).run()
    assert not app.exception
    assert len(app.error) == 1 and "empty" in app.error[0].value.lower()


def boundary_rows(db_path: Path) -> list[tuple[object, ...]]:
    db = Database(db_path)
    try:
        with db.cursor() as cursor:
            return cursor.execute("SELECT * FROM boundaries ORDER BY ALL").fetchall()
    finally:
        db.close()


def weeks_over_cap(app: AppTest) -> int:
    table = app.dataframe[0].value
    return int(table["breach_weeks"].sum())


def test_boundaries_page_shows_settings_and_compliance(
    demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(demo_db_path, monkeypatch, "pages/boundaries.py")
    figures = metric_values(app)
    assert {"Clients over their cap", "Weeks over cap", "Out-of-policy contacts"} <= set(figures)
    assert app.selectbox(key="boundary_therapist").value is not None
    assert any("Working hours now" in caption.value for caption in app.caption)


def test_editing_a_boundary_changes_the_clients_page(
    demo_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "contactload.duckdb"
    shutil.copy(demo_db_path, db_path)
    app = run_app(db_path, monkeypatch, "pages/clients.py")
    before = weeks_over_cap(app)
    app.switch_page("pages/boundaries.py").run()
    # A 1-minute weekly cap for every client of the first therapist, from the first day:
    # dated in the past, so it waits for an explicit confirmation.
    app.date_input(key="boundary_from").set_value(DEMO_END - timedelta(days=364))
    app.number_input(key="boundary_cap").set_value(1.0)
    app.button(key="boundary_save").click().run()
    assert not app.exception
    assert not app.error, [error.value for error in app.error]
    assert any("rewrites" in warning.value for warning in app.warning)
    app.button(key="boundary_confirm").click().run()
    assert not app.exception
    app.switch_page("pages/clients.py").run()
    assert weeks_over_cap(app) > before


def test_invalid_boundary_shows_the_reason_and_stores_nothing(
    demo_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "contactload.duckdb"
    shutil.copy(demo_db_path, db_path)
    before = boundary_rows(db_path)
    app = run_app(db_path, monkeypatch, "pages/boundaries.py")
    app.number_input(key="boundary_cap").set_value(-5.0)
    app.button(key="boundary_save").click().run()
    assert not app.exception
    assert len(app.error) == 1
    assert "must be 0 minutes or more, not -5" in app.error[0].value
    app.number_input(key="boundary_cap").set_value(None)
    app.text_input(key="hours_mon").set_value("17:00-09:00")
    app.button(key="hours_save").click().run()
    assert any("17:00" in error.value for error in app.error)
    assert boundary_rows(db_path) == before
