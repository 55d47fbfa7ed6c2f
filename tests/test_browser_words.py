"""Every page, opened in a real headless Chromium on demo data, speaks the user's words and
stays on this machine: no stored code (``check_in``, ``no_show``), no ``None``/``True``/
``nan`` and no ``snake_case`` column name in what a person can read (text, table cells
and headers, chart labels), and no request to anywhere but the local server.

Also: text contrast of at least 4.5:1 (WCAG AA), chart toolbars add no tab stops, and on
a phone the first chart is on the first screen with its legend below the plot.
"""

import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from tests.test_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    copy_of,
    free_port,
    page_url,
    serve,
    wait_for_render,
)
from ui.navigation import PAGES

pytestmark = pytest.mark.browser

INTERNAL = re.compile(
    r"\b(check_in|late_cancelled|no_show|None|True|False|nan|NaN|NaT)\b"
    r"|\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"
)
"""Stored codes, Python's and pandas' words for nothing, and any ``snake_case`` name."""

LOCAL_REQUEST = re.compile(
    r"^(?:(?:https?|wss?)://(?:127\.0\.0\.1|localhost)(?::\d+)?/|data:|blob:)"
)
"""Requests that stay on this machine."""

# Everything a person can read: the page's rendered text with icon ligatures hidden
# (":material/download:" renders the word "download" in an icon font), the cells and
# headers of tables (drawn on a canvas; their text lives in an accessible table inside),
# and the labels of charts (SVG).
READABLE_TEXT = """() => {
  const hide = document.createElement('style');
  hide.textContent = '[data-testid="stIconMaterial"] { display: none !important; }';
  document.head.appendChild(hide);
  const parts = [document.body.innerText];
  hide.remove();
  document.querySelectorAll(
    '[data-testid="stDataFrame"] table[role="grid"] th,'
    + ' [data-testid="stDataFrame"] table[role="grid"] td'
  ).forEach(cell => parts.push(cell.textContent));
  document.querySelectorAll('.js-plotly-plot svg text').forEach(t => parts.push(t.textContent));
  return parts;
}"""

# Text whose colour, blended onto the colours behind it, has less than 4.5:1 contrast.
# Disabled widgets are exempt (WCAG 1.4.3: inactive components).
LOW_CONTRAST = """() => {
  const parse = c => { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const blend = (fg, bg) => [0, 1, 2].map(i => fg[i] * fg[3] + bg[i] * (1 - fg[3])).concat([1]);
  const lum = c => { const f = v => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
  const behind = el => { const layers = [];
    for (let e = el; e; e = e.parentElement) { const b = parse(getComputedStyle(e).backgroundColor);
      if (b && b[3] > 0) { layers.push(b); if (b[3] >= 1) break; } }
    let bg = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) bg = blend(layers[i], bg);
    return bg; };
  const low = []; const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim(); const el = walker.currentNode.parentElement;
    if (!text || !el || seen.has(el)) continue; seen.add(el);
    if (el.closest('svg, [data-testid="stIconMaterial"]')) continue;
    const box = el.getBoundingClientRect(); const style = getComputedStyle(el);
    if (!box.width || !box.height || style.visibility === 'hidden') continue;
    const container = el.closest('[data-testid="stElementContainer"]');
    if (container && container.querySelector('[disabled], [aria-disabled="true"]')) continue;
    const bg = behind(el); const fg = blend(parse(style.color), bg);
    const [a, b] = [lum(fg), lum(bg)];
    const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
    if (ratio < 4.5) low.push(`${ratio.toFixed(2)}:1 ${style.color} "${text.slice(0, 40)}"`);
  }
  return low;
}"""


@pytest.fixture(scope="module")
def server(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard on a copy of the demo data, for the whole module."""
    with serve(copy_of(demo_db_path, tmp_path_factory.mktemp("words"))) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; `make test` installs Debian's chromium package.")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def requests() -> list[str]:
    """Every URL the page asked for (filled by ``open_page``)."""
    return []


def open_page(browser: Browser, requests: list[str], width: int, height: int) -> Page:
    """A fresh page (no cache, no cookies) that records every request it makes."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.on("request", lambda request: requests.append(request.url))
    return page


def readable_text(page: Page) -> list[str]:
    """What a person can read on the page now, with every expander and tab opened."""
    for summary in page.locator('[data-testid="stExpander"] summary').all():
        summary.click()
    parts: list[str] = page.evaluate(READABLE_TEXT)
    for tab in page.get_by_role("tab").all()[1:]:
        tab.click()
        page.wait_for_timeout(300)
        parts += page.evaluate(READABLE_TEXT)
    return parts


def internal_words(parts: list[str]) -> set[str]:
    """Every internal code found in ``parts``, with the line it stands in."""
    found = set()
    for part in parts:
        for line in part.splitlines():
            for match in INTERNAL.finditer(line):
                found.add(f"{match.group(0)!r} in {line.strip()[:80]!r}")
    return found


@pytest.mark.parametrize("spec", PAGES, ids=[spec.url_path for spec in PAGES])
def test_every_page_shows_words_only_and_fetches_nothing_from_outside(
    server: str, browser: Browser, requests: list[str], spec: object
) -> None:
    url_path = spec.url_path  # type: ignore[attr-defined]
    page = open_page(browser, requests, 1440, 900)
    page.goto(page_url(server, url_path))
    wait_for_render(page)
    if url_path in {"overview", "clients", "channels", "compare"}:
        page.wait_for_selector(".js-plotly-plot text", timeout=30_000)
    page.wait_for_timeout(1_000)  # late requests: fonts, icons, the favicon
    parts = readable_text(page)
    assert len("".join(parts)) > 500  # the page did render its content
    assert internal_words(parts) == set(), url_path
    assert page.evaluate(LOW_CONTRAST) == [], url_path
    page.wait_for_load_state("networkidle")
    outside = sorted({url for url in requests if not LOCAL_REQUEST.match(url)})
    assert outside == [], url_path
    assert any(url.startswith(server) for url in requests)  # the recorder did record
    page.context.close()


def test_the_check_finds_codes_and_outside_requests() -> None:
    """The patterns above are not vacuous: each kind of slip is caught."""
    assert internal_words(["Category: check_in", "None", "Late: nan", "rows_read 3"]) == {
        "'check_in' in 'Category: check_in'",
        "'None' in 'None'",
        "'nan' in 'Late: nan'",
        "'rows_read' in 'rows_read 3'",
    }
    assert internal_words(["Check-ins · 1,234 min (20.6 h)", "No-show", "Late cancelled"]) == set()
    assert not LOCAL_REQUEST.match("https://fonts.gstatic.com/s/i/schedule/24px.svg")
    assert not LOCAL_REQUEST.match("http://127.0.0.1.example.org/")
    assert LOCAL_REQUEST.match("http://127.0.0.1:8501/_stcore/health")
    assert LOCAL_REQUEST.match("ws://localhost:8501/_stcore/stream")


def test_chart_toolbars_add_no_tab_stops(
    server: str, browser: Browser, requests: list[str]
) -> None:
    page = open_page(browser, requests, 1440, 900)
    page.goto(page_url(server, "overview"))
    wait_for_render(page)
    page.wait_for_selector(".js-plotly-plot text", timeout=30_000)
    page.locator('[data-testid="stPlotlyChart"]').first.hover()  # toolbars show on hover
    stops_in_charts, stops = [], 0
    for _ in range(120):
        page.keyboard.press("Tab")
        where = page.evaluate(
            """() => { const e = document.activeElement;
              const box = e && e.closest('[data-testid="stElementContainer"]');
              if (!e || e === document.body) return null;
              return box && box.querySelector('[data-testid="stPlotlyChart"]')
                ? 'chart: ' + (e.getAttribute('aria-label') || e.tagName) : 'other'; }"""
        )
        if where is None:
            break
        stops += 1
        if where != "other":
            stops_in_charts.append(where)
    assert stops > 20  # the walk went through the page's links and buttons
    assert stops_in_charts == []
    page.context.close()


def test_on_a_phone_the_first_chart_is_on_the_first_screen_with_its_legend_below(
    server: str, browser: Browser, requests: list[str]
) -> None:
    page = open_page(browser, requests, 390, 844)
    page.goto(page_url(server, "overview"))
    wait_for_render(page)
    page.wait_for_selector(".js-plotly-plot .legend", timeout=30_000)
    layout = page.evaluate(
        """() => { const chart = document.querySelector('.js-plotly-plot');
          const box = chart.getBoundingClientRect();
          const plot = chart.querySelector('.nsewdrag').getBoundingClientRect();
          const legend = chart.querySelector('.legend').getBoundingClientRect();
          const cards = [...document.querySelectorAll('[data-testid="stMetric"]')]
            .filter(card => card.getBoundingClientRect().top < box.top).length;
          return {top: box.top, plotBottom: plot.bottom, legendTop: legend.top,
                  plotWidth: plot.width, cards: cards}; }"""
    )
    assert layout["top"] < 844 - 200  # its title and most of its plot are in view
    assert layout["cards"] <= 3  # only the headline cards come before it
    assert layout["legendTop"] >= layout["plotBottom"]  # legend below, not beside
    assert layout["plotWidth"] > 250  # the plot keeps the screen's width
    page.context.close()


def test_the_server_prints_no_warning_a_user_cannot_act_on(
    demo_db_path: Path, tmp_path: Path, browser: Browser, requests: list[str]
) -> None:
    """``make run``'s server: no "No runtime found" cache warnings (ui.serve used to import
    Streamlit's cached functions before the runtime existed), nor any other warning,
    from start-up through a page's first run."""
    port = free_port()
    database = copy_of(demo_db_path, tmp_path)
    process = subprocess.Popen(
        [sys.executable, "-m", "ui.serve", "--server.port", str(port), "--", "--db", str(database)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                time.sleep(0.3)
        page = open_page(browser, requests, 1440, 900)
        page.goto(f"{url}/")
        wait_for_render(page)
        page.context.close()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=20)
    assert "You can now view your Streamlit app" in output
    assert "No runtime found" not in output
    assert "WARNING" not in output.upper().replace("GATHERUSAGESTATS", "")
