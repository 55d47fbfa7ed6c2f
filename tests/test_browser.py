"""A real headless Chromium (Debian's, driven by Playwright) opens every page of a live
``streamlit run`` server on demo data and finds no error."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from ui.navigation import PAGES

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# Chromium must not try to reach the network: this machine has none but loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser

EXPECTED_TITLES = {
    "overview": "Between-session load",
    "clients": "Clients",
    "channels": "Channels & categories",
    "compare": "Compare therapists and practices",
    "boundaries": "Boundaries",
    "billing": "Billing",
    "import": "Import contacts and sessions",
    "data-care": "Data care",
}
ANALYTICS_PAGES = {"overview", "clients", "channels", "compare"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serve(db_path: Path) -> Iterator[str]:
    """``python -m ui.serve`` (streamlit run app.py) on a free loopback port, then stopped."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ui.serve",
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--",
            "--db",
            str(db_path),
        ],
        cwd=ROOT,
        env={**os.environ, "CONTACTLOAD_DB": str(db_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.read() == b"ok":
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read() if process.stdout else ""
                pytest.fail(f"streamlit did not start:\n{output}")
            time.sleep(0.3)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def copy_of(demo_db_path: Path, folder: Path) -> Path:
    """A private copy of the demo database (a server holds its file open for writing)."""
    target = folder / "contactload.duckdb"
    shutil.copy(demo_db_path, target)
    return target


@pytest.fixture(scope="module")
def server(demo_db_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard on a copy of the demo data, for the whole module."""
    with serve(copy_of(demo_db_path, tmp_path_factory.mktemp("browser"))) as url:
        yield url


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing; `make test` installs Debian's chromium package.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        yield context.new_page()
        browser.close()


def page_url(server: str, url_path: str) -> str:
    """The address of a page; the default (first) page lives at the root."""
    return f"{server}/" if url_path == PAGES[0].url_path else f"{server}/{url_path}"


def wait_for_render(page: Page) -> None:
    """Wait until the script run has finished and the page shows its title."""
    page.wait_for_selector("h1", timeout=30_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000
    )
    page.wait_for_timeout(500)


# Deep links first: the server's very first request goes straight to a page.
@pytest.mark.parametrize("spec", PAGES[::-1], ids=[spec.url_path for spec in PAGES[::-1]])
def test_every_page_renders_without_error(server: str, page: Page, spec: object) -> None:
    url_path = spec.url_path  # type: ignore[attr-defined]
    page.goto(page_url(server, url_path))
    wait_for_render(page)
    assert page.get_by_role("dialog").count() == 0, page.get_by_role("dialog").inner_text()
    assert page.locator('[data-testid="stException"]').count() == 0
    body = page.inner_text("body")
    assert "Traceback" not in body
    assert page.locator("h1").first.inner_text() == EXPECTED_TITLES[url_path]
    # app.py ran: the shared sidebar filters are there on every page.
    filters = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]')
    filters.nth(4).wait_for(timeout=30_000)
    assert filters.count() == 5
    if url_path in ANALYTICS_PAGES:
        # Charts render as Plotly graphs.
        page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        assert page.locator(".js-plotly-plot").count() >= 1


def test_sidebar_filter_changes_the_overview(server: str, page: Page) -> None:
    page.goto(page_url(server, "overview"))
    wait_for_render(page)
    # Cards: time, billable, unpaid, then contacts (the fourth).
    contacts = page.locator('[data-testid="stMetric"]').nth(3)
    before = contacts.inner_text()
    channels = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').nth(3)
    channels.click()
    page.get_by_role("option", name="Phone").click()
    page.keyboard.press("Escape")
    page.wait_for_function(
        "(before) => document.querySelectorAll('[data-testid=\"stMetric\"]')[3]"
        ".innerText !== before",
        arg=before,
        timeout=30_000,
    )
    assert contacts.inner_text() != before


def test_uploading_a_file_changes_the_totals(
    demo_db_path: Path, tmp_path: Path, page: Page
) -> None:
    upload = ROOT / "tests" / "data" / "import" / "pipeline" / "template_checks.csv"
    with serve(copy_of(demo_db_path, tmp_path)) as url:
        page.goto(page_url(url, "overview"))
        wait_for_render(page)
        contacts = page.locator('[data-testid="stMetric"]').nth(3)  # after time, billable, unpaid
        contacts.wait_for(timeout=30_000)
        before = contacts.inner_text()
        page.goto(page_url(url, "import"))
        wait_for_render(page)
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(upload)
        page.get_by_role("button", name="Import 1 file").click(timeout=30_000)
        page.get_by_text("6 contacts imported").wait_for(timeout=30_000)
        page.goto(page_url(url, "overview"))
        wait_for_render(page)
        page.wait_for_function(
            "(before) => { const m = document.querySelectorAll('[data-testid=\"stMetric\"]');"
            " return m.length > 3 && m[3].innerText !== before; }",
            arg=before,
            timeout=30_000,
        )
        assert contacts.inner_text() != before


def test_uploading_a_calendar_stores_its_sessions(
    demo_db_path: Path, tmp_path: Path, page: Page
) -> None:
    upload = ROOT / "tests" / "data" / "calendars" / "weekly_exdate_moved.ics"
    with serve(copy_of(demo_db_path, tmp_path)) as url:
        page.goto(page_url(url, "import"))
        wait_for_render(page)
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(upload)
        # The default range (first event to today) holds all of it: see
        # test_import_calendar.py for the 6 sessions and the team meeting to review.
        page.get_by_text("Calendar settings").wait_for(timeout=30_000)
        # a calendar never names its therapist: the page asks for the name below the file
        page.get_by_label("Therapist's name").fill("Dr. Weber")
        page.get_by_label("Therapist's name").press("Enter")
        page.get_by_text("1 event is not stored").wait_for(timeout=30_000)
        page.get_by_role("button", name="Import 1 file").click(timeout=30_000)
        page.get_by_text("6 sessions imported").wait_for(timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
