"""Every figure every page shows on the demo data, compared with a stored snapshot.

Issues #17 and #18 reshape the library (packages, one query kit, stored derived facts) and
must change no number a user sees. This test renders each page under AppTest on the demo
database and records what a reader takes from it: headline metrics, table cells, chart data
and the sentences around them. A difference names the page and the element.

The snapshot is rewritten only on purpose, when a figure is meant to change:
``CONTACTLOAD_UPDATE_SNAPSHOT=1 pytest tests/test_page_snapshot.py``; review its diff.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from ui.navigation import PAGES

ROOT = Path(__file__).resolve().parent.parent
SNAPSHOT = ROOT / "tests" / "data" / "page_snapshot.json"
UPDATE = os.environ.get("CONTACTLOAD_UPDATE_SNAPSHOT") == "1"

# Chart trace fields that carry figures; layout (colours, fonts) is style, not a figure.
TRACE_FIELDS = ("type", "name", "x", "y", "z", "values", "labels", "text", "customdata", "base")
TEXT_ELEMENTS = ("title", "header", "subheader", "markdown", "caption", "info", "warning")

# What differs between two builds of the same demo and is no figure: the per-database
# pseudonym secret, the moment rows were written, the temporary folder.
VOLATILE = (
    (re.compile(r"\bc-[0-9a-f]{12}\b"), "c-KEY"),
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+\+00:00"), "WRITTEN-AT"),
    (re.compile(r"/tmp/pytest-of-[^/]+/pytest-\d+/(popen-gw\d+/)?"), "TMP/"),
)


def _trace(trace: dict[str, Any]) -> dict[str, Any]:
    return {field: trace[field] for field in TRACE_FIELDS if field in trace}


def _steady(text: str) -> str:
    for pattern, stand_in in VOLATILE:
        text = pattern.sub(stand_in, text)
    return text


def _table(frame: pd.DataFrame) -> dict[str, Any]:
    """Columns and the rows as text, sorted: rows tied on the sort key come in the order of
    their pseudonymous keys, which differ from one demo database to the next."""
    return {
        "columns": [str(column) for column in frame.columns],
        "rows": sorted(frame.map(lambda cell: _steady(str(cell))).values.tolist()),
    }


def _page_figures(app: AppTest) -> dict[str, Any]:
    """What a reader takes from one rendered page, in a stable, JSON-comparable form."""
    figures: dict[str, Any] = {
        "metrics": [[m.label, m.value, m.proto.delta] for m in app.metric],
        "tables": [_table(frame.value) for frame in app.dataframe],
        "charts": [
            [_trace(trace) for trace in json.loads(chart.proto.spec)["data"]]
            for chart in app.get("plotly_chart")
        ],
    }
    for kind in TEXT_ELEMENTS:
        figures[kind] = [element.value for element in getattr(app, kind)]
    # one JSON round trip so tuples and lists compare alike
    return json.loads(_steady(json.dumps(figures, default=str)))


def _render(db_path: Path, monkeypatch: pytest.MonkeyPatch, page: str) -> dict[str, Any]:
    monkeypatch.setenv("CONTACTLOAD_DB", str(db_path))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    app.run()
    app.switch_page(page).run()
    assert not app.exception, [exception.message for exception in app.exception]
    return _page_figures(app)


@pytest.mark.parametrize("page", [page.path for page in PAGES], ids=lambda p: Path(p).stem)
def test_demo_figures_are_unchanged(
    page: str, demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown = _render(demo_db_path, monkeypatch, page)
    stored: dict[str, Any] = json.loads(SNAPSHOT.read_text()) if SNAPSHOT.exists() else {}
    if UPDATE:
        stored[page] = shown
        SNAPSHOT.write_text(json.dumps(stored, indent=1, sort_keys=True, ensure_ascii=False))
        return
    assert page in stored, f"no snapshot for {page}: run with CONTACTLOAD_UPDATE_SNAPSHOT=1"
    for kind, expected in stored[page].items():
        assert shown.get(kind) == expected, f"{page}: the {kind} changed"
    assert set(shown) == set(stored[page])


def test_the_snapshot_holds_figures() -> None:
    """The comparison above means something only if the snapshot recorded real figures."""
    stored = json.loads(SNAPSHOT.read_text())
    assert set(stored) == {page.path for page in PAGES}
    overview = stored["pages/overview.py"]
    assert any(label == "Contacts" and value != "0" for label, value, _ in overview["metrics"])
    assert sum(len(charts) for charts in (p["charts"] for p in stored.values())) >= 10
    assert sum(len(p["tables"]) for p in stored.values()) >= 5
