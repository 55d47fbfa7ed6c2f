"""The Billing page under Streamlit's AppTest: figures from the library, editors that save
what is valid and explain what is not."""

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.access.filters import ContactFilter
from analytics.measures import billing
from analytics.storage.database import Database

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGE = "pages/billing.py"


@pytest.fixture
def demo_copy(demo_db_path: Path, tmp_path: Path) -> Path:
    """A writable copy of the session's demo database."""
    path = tmp_path / "contactload.duckdb"
    shutil.copy(demo_db_path, path)
    return path


def open_page(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("CONTACTLOAD_DB", str(db_path))
    app = AppTest.from_file(APP, default_timeout=90)
    app.run()
    app.switch_page(PAGE).run()
    assert not app.exception, [exception.message for exception in app.exception]
    return app


def figures(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def library_summary(path: Path) -> billing.BillingSummary:
    db = Database(path)
    try:
        return billing.summary(db, ContactFilter())
    finally:
        db.close()


def test_the_page_shows_the_estimate_and_its_disclaimer(
    demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = library_summary(demo_db_path)
    app = open_page(demo_db_path, monkeypatch)
    assert app.title[0].value == "Billing"
    assert any(billing.DISCLAIMER in warning.value for warning in app.warning)
    shown = figures(app)
    assert shown["Qualifying episodes"] == f"{expected.qualifying:,} of {expected.episodes:,}"
    assert shown["Excluded · unknown"] == f"{expected.excluded:,} · {expected.unknown:,}"
    assert shown["Estimated value"] == "no fees yet"
    # Qualifying minutes shown in hours, one decimal.
    assert shown["Qualifying time"] == f"{expected.qualifying_minutes / 60:,.1f} h"
    assert expected.qualifying > 0 and expected.excluded > 0
    assert len(app.get("plotly_chart")) == 1
    # (Read-only tables carry no key under AppTest: find them by their columns.)
    tables = [table.value for table in app.dataframe]
    episode_tables = [table for table in tables if "reason" in table.columns]
    every, excluded = episode_tables
    assert len(every) == expected.episodes
    assert len(excluded) == expected.excluded + expected.unknown
    assert set(excluded["status"]) == {"excluded", "unknown"}
    assert excluded["reason"].str.len().min() > 0  # every exclusion says why
    (behind,) = [table for table in tables if "local_started_at" in table.columns]
    # The first episode's contacts add up to its minutes.
    assert behind["minutes"].sum() == every["minutes"].iloc[0]


def test_entering_fees_values_the_qualifying_episodes(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = open_page(demo_copy, monkeypatch)
    codes = app.data_editor(key="billing_fees_editor").value["code"].tolist()
    app.session_state["billing_fees_editor"] = {
        "edited_rows": {index: {"fee": 10.0, "currency": "usd"} for index in range(len(codes))},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.button(key="billing_fees_save").click().run()
    assert not app.exception, [exception.message for exception in app.exception]
    expected = library_summary(demo_copy)
    # Every code at 10 USD: the value is 10 per qualifying episode.
    assert expected.estimated_value == 10.0 * expected.qualifying
    assert figures(app)["Estimated value"] == f"{10.0 * expected.qualifying:,.2f} USD"


def test_a_bad_rule_edit_is_explained_and_not_stored(
    demo_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = open_page(demo_copy, monkeypatch)
    before = figures(app)
    app.session_state["billing_rules_editor"] = {
        "edited_rows": {0: {"counting_categories": "support, scheduling"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.button(key="billing_rules_save").click().run()
    assert not app.exception
    assert [error.value for error in app.error] == [
        "Code 98970: scheduling never counts toward a code (non-evaluative messages); move "
        "it to the excluded categories."
    ]
    assert figures(app) == before
