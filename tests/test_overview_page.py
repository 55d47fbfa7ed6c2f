"""The Overview at a glance, the period presets and the Boundaries page's words, under AppTest
on a private copy of the demo data (ending 27 November 2026, tests/conftest.py)."""

import shutil
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.access.filters import ContactFilter
from analytics.access.scope import Scope
from analytics.measures import glance
from analytics.storage.database import Database
from tests.test_data_care_page import app_as

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def demo_copy(demo_db_path: Path, tmp_path: Path) -> Path:
    path = tmp_path / "contactload.duckdb"
    shutil.copy(demo_db_path, path)
    return path


def shown_text(app: AppTest) -> list[str]:
    """Every piece of text the page shows: markdown, captions, notes, metrics, links, labels,
    and every cell of every table."""
    texts: list[str] = []
    for kind in ("markdown", "caption", "info", "warning", "success", "error", "subheader"):
        texts.extend(str(element.value) for element in getattr(app, kind))
    for metric in app.metric:
        texts.extend([metric.label, str(metric.value), str(metric.delta)])
    texts.extend(str(link.label) for link in app.page_link)
    for frame in app.dataframe:
        value = frame.value
        table = value.data if hasattr(value, "data") else value  # a Styler holds its frame
        texts.extend(str(cell) for cell in table.astype(str).to_numpy().ravel())
    return texts


def table_with(app: AppTest, column: str) -> pd.DataFrame:
    """The first table on the page with ``column`` (a Styler's own frame)."""
    for frame in app.dataframe:
        value = frame.value
        table = value.data if hasattr(value, "data") else value
        if column in table.columns:
            return table
    raise AssertionError(f"no table with a {column} column")


def test_a_supervisor_ranks_therapists_without_client_labels(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(demo_copy)
    try:
        practices = tuple(
            int(i) for i in db.frame("SELECT practice_id FROM practices", [])["practice_id"]
        )
        labels = set(db.frame("SELECT label FROM clients", [])["label"])
        scope = Scope.supervisor("sue@example.org", practices)
        expected = glance.therapist_ranking(db, ContactFilter(scope=scope))
    finally:
        db.close()
    app = app_as(demo_copy, monkeypatch, scope, "pages/overview.py")
    table = table_with(app, "flagged")
    assert list(table["therapist"]) == list(expected["therapist"])
    assert list(table["flagged"]) == list(expected["flagged"])
    assert table["flagged"].any()  # the demo has therapists above their practice's p90
    assert any("90th percentile" in caption.value for caption in app.caption)
    texts = shown_text(app)
    leaked = {label for label in labels if any(label in text for text in texts)}
    assert not leaked
    # The top clients are there, under their pseudonymous keys.
    assert len(app.page_link) == glance.TOP_CLIENTS
    assert all(str(link.label).startswith("c-") for link in app.page_link)


def test_a_preset_sets_the_period_and_stays_in_the_url_across_pages(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACTLOAD_DB", str(demo_copy))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.run()
    assert app.selectbox(key="period").value == "all"
    assert "period" not in app.query_params
    app.selectbox(key="period").set_value("last_week").run()
    expected = glance.preset_period("last_week", date.today())
    assert expected is not None
    assert app.date_input(key="filter_period").value == (expected.start, expected.end)
    assert app.query_params["period"] == "last_week"
    app.switch_page("pages/clients.py").run()
    assert app.selectbox(key="period").value == "last_week"
    assert app.query_params["period"] == "last_week"
    # Picking dates by hand makes the period custom, with its dates in the URL.
    app.date_input(key="filter_period").set_value((date(2026, 3, 2), date(2026, 3, 8))).run()
    assert app.selectbox(key="period").value == "custom"
    assert app.query_params["from"] == "2026-03-02" and app.query_params["to"] == "2026-03-08"


def test_a_bookmarked_url_opens_on_its_period(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACTLOAD_DB", str(demo_copy))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.query_params["period"] = "custom"
    app.query_params["from"] = "2026-10-01"
    app.query_params["to"] = "2026-10-31"
    app.run()
    assert app.selectbox(key="period").value == "custom"
    assert app.date_input(key="filter_period").value == (date(2026, 10, 1), date(2026, 10, 31))
    db = Database(demo_copy)
    try:
        october = glance.paid_split(
            db, ContactFilter(start=date(2026, 10, 1), end=date(2026, 10, 31))
        )
    finally:
        db.close()
    values = {metric.label: metric.value for metric in app.metric}
    assert values["Time with clients between sessions"] == f"{october.minutes / 60:,.1f} h"
    assert values["Billable under the billing rules"] == f"{october.billable_minutes / 60:,.1f} h"
    assert values["Unpaid"] == f"{october.unpaid_minutes / 60:,.1f} h"
    # A made-up preset falls back to all data, with no error.
    other = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    other.query_params["period"] = "fortnight"
    other.run()
    assert not other.exception and other.selectbox(key="period").value == "all"


def test_the_digest_lists_recent_alerts_and_a_dismissal_is_audited(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(demo_copy)
    try:
        digest = glance.alert_digest(db, ContactFilter())
    finally:
        db.close()
    app = app_as(demo_copy, monkeypatch, Scope.admin("ada@example.org"), "pages/boundaries.py")
    dismiss = [button for button in app.button if str(button.key).startswith("dismiss_")]
    assert [button.key for button in dismiss] == [
        f"dismiss_{key}" for key in digest.recent["alert_key"]
    ]
    assert any(f"{digest.older:,} older alerts" in caption.value for caption in app.caption)
    dismiss[0].click().run()
    assert not app.exception and not app.error
    left = [button for button in app.button if str(button.key).startswith("dismiss_")]
    assert len(left) == len(dismiss) - 1
    assert any("1 dismissed" in caption.value for caption in app.caption)
    db = Database(demo_copy)
    try:
        logged = db.frame(
            "SELECT identity, action, detail FROM audit_log WHERE action = 'alert_dismiss'", []
        )
    finally:
        db.close()
    assert list(logged["identity"]) == ["ada@example.org"]
    assert "dismissed" in logged["detail"].iloc[0]


def test_the_boundaries_page_never_says_none(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_as(demo_copy, monkeypatch, Scope.admin("ada@example.org"), "pages/boundaries.py")
    # The demo's therapists have client overrides that inherit most fields.
    texts = shown_text(app)
    assert not [text for text in texts if text in ("None", "nan", "NaT", "<NA>")]
    assert not [text for text in texts if "None" in text]
    settings = table_with(app, "crisis_counts_toward_cap")
    cells = set(settings.astype(str).to_numpy().ravel())
    assert "therapist's default" in cells
    assert "inherited from the therapist's default" in cells
    assert any(cell == "not set" for cell in cells) or settings.notna().all().all()
    history = table_with(app, "Changed by")
    assert not history[["Client", "Before", "After"]].isna().any().any()
    assert isinstance(history, pd.DataFrame)
    # Each agreement in words, never the stored JSON or a code.
    after = " ".join(history["After"])
    assert "weekly cap" in after and "{" not in after and "null" not in after
    assert "check_in" not in after


def test_the_boundaries_editor_follows_the_sidebar_and_prefills(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(demo_copy)
    try:
        therapists = db.frame(
            "SELECT t.therapist_id, t.name, p.name AS practice FROM therapists AS t "
            "JOIN practices AS p USING (practice_id) ORDER BY t.therapist_id",
            [],
        )
        # The working week in force today, per therapist.
        hours = db.frame(
            "SELECT therapist_id, weekday, starts, ends FROM working_hours AS w "
            "WHERE effective_from = (SELECT max(effective_from) FROM working_hours "
            "WHERE therapist_id = w.therapist_id AND effective_from <= current_date) "
            "ORDER BY therapist_id, weekday, starts",
            [],
        )
    finally:
        db.close()
    app = app_as(demo_copy, monkeypatch, Scope.admin("ada@example.org"), "pages/boundaries.py")
    assert app.date_input(key="boundary_from").value == date.today()
    seen = set()
    for row in therapists.itertuples():
        app.multiselect(key="filter_therapists").set_value([row.therapist_id]).run()
        assert app.selectbox(key="boundary_therapist").options == [f"{row.name} ({row.practice})"]
        monday = hours[(hours["therapist_id"] == row.therapist_id) & (hours["weekday"] == 0)]
        expected = ", ".join(
            f"{s:%H:%M}-{e:%H:%M}" for s, e in zip(monday["starts"], monday["ends"], strict=True)
        )
        assert app.text_input(key="hours_mon").value == (expected or "09:00-17:00")
        seen.add(app.text_input(key="hours_mon").value)
    assert len(seen) > 1  # the demo's therapists keep different hours
    assert app.date_input(key="hours_from").value == date.today() - timedelta(days=0)
