"""Each page as Streamlit's AppTest renders it, cold and warm, and the analytics it calls.

Run in a fresh process per database (``python -m bench.pages DB``) so that the first render
pays every import and the opening of the database, and the peak memory reported is the
dashboard's own. For each page: every Streamlit cache is cleared and the database closed
(``cold``: the page opens the database again and computes every measure), then the same page
is rerun (``warm``: what a second visit or a widget click costs when nothing changed). The
measures each page asks ``ui.state.measure`` for are timed as they run, so ``analytics`` is
the library's share of the cold render and the rest is Streamlit and plotly.
Prints one JSON object.
"""

import json
import os
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


_depth = [0]
"""How deep in measures we are: a measure that reuses another's cached result calls it
inside, and only the outermost call is counted, so no second counts twice."""


def _timed(name: str, function: Callable[..., Any], calls: list[tuple[str, float]]) -> Any:
    def measured(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        _depth[0] += 1
        try:
            return function(*args, **kwargs)
        finally:
            _depth[0] -= 1
            if _depth[0] == 0:
                calls.append((name, time.perf_counter() - started))

    return measured


def render_pages(db_path: Path) -> dict[str, object]:
    """Cold and warm render seconds of every page, with the seconds its measures took."""
    os.environ["CONTACTLOAD_DB"] = str(db_path)
    started = time.perf_counter()
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import ui.state
    from analytics.storage.database import close_all
    from ui.navigation import PAGES

    calls: list[tuple[str, float]] = []
    for name, function in list(ui.state.MEASURES.items()):
        ui.state.MEASURES[name] = _timed(name, function, calls)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
    app.run()
    first = time.perf_counter() - started
    _fail_on_exception(app, "first render")
    pages: dict[str, dict[str, object]] = {}
    for page in PAGES:
        st.cache_data.clear()
        st.cache_resource.clear()
        close_all()
        calls.clear()
        started = time.perf_counter()
        app.switch_page(page.path).run()
        cold = time.perf_counter() - started
        _fail_on_exception(app, page.title)
        cold_calls = list(calls)
        calls.clear()
        started = time.perf_counter()
        app.run()
        warm = time.perf_counter() - started
        _fail_on_exception(app, page.title)
        slowest = sorted(cold_calls, key=lambda call: -call[1])[:5]
        pages[page.url_path] = {
            "title": page.title,
            "cold_s": round(cold, 3),
            "warm_s": round(warm, 3),
            "analytics_s": round(sum(seconds for _, seconds in cold_calls), 3),
            "measures": len(cold_calls),
            "warm_measures": len(calls),
            "slowest_measures": [[name, round(seconds, 3)] for name, seconds in slowest],
            # The process's peak so far: the page that raises it is where memory goes.
            "peak_mb_so_far": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        }
    return {
        "first_render_s": round(first, 2),
        "pages": pages,
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def _fail_on_exception(app: Any, where: str) -> None:
    if app.exception:
        messages = [exception.message for exception in app.exception]
        raise SystemExit(f"{where}: {messages}")


if __name__ == "__main__":
    print(json.dumps(render_pages(Path(sys.argv[1]))))
