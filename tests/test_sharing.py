"""The dashboard and the command line share one database file, as real processes.

One live dashboard (``python -m ui.serve``) serves a database for the whole module while
``contactload`` commands run on the same file from other processes: every one succeeds,
and a real Chromium reload shows what they added. A command that needs the file while
the dashboard is busy (a render held mid-measure through ``CONTACTLOAD_PAUSE_WHILE``)
says what it waits for, waits, and then succeeds.

Expected figures, by hand from the fixture files (Toggl detailed exports):
- presets/toggl.csv: Anna Weber, 6 contacts, 10 + 45 + 8 + 20 + 5 + 20 = 108 minutes;
  Jonas K. 45 + 20 = 65, Lena M. 10 + 8 = 18, Mia S. 5 + 20 = 25.
- presets/toggl_no_amount.csv: Tom Becker, 5 contacts, 6 + 30 + 2 + 15 + 7.5 = 60.5
  minutes over 3 new clients (Sam R. 6 + 30 = 36 is the largest).
"""

import csv
import fcntl
import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from analytics.storage.database import Database
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, page_url, serve, wait_for_render
from tests.test_cli import CONTACTLOAD
from ui.state import PAUSE_WHILE_ENV_VAR

pytestmark = pytest.mark.browser

PRESETS = Path(__file__).parent / "data" / "import" / "presets"
ANNA = PRESETS / "toggl.csv"
TOM = PRESETS / "toggl_no_amount.csv"
WAIT = "CONTACTLOAD_WAIT_SECONDS"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sharing")


@pytest.fixture(scope="module")
def db_path(folder: Path) -> Path:
    path = folder / "contactload.duckdb"
    Database(path).close()  # an empty Contact Load database
    return path


@pytest.fixture(scope="module")
def server(db_path: Path, folder: Path) -> Iterator[str]:
    """The dashboard on ``db_path`` for the module; it holds a render mid-measure while
    the file ``folder/busy`` exists."""
    os.environ[PAUSE_WHILE_ENV_VAR] = str(folder / "busy")
    try:
        with serve(db_path) as url:
            yield url
    finally:
        os.environ.pop(PAUSE_WHILE_ENV_VAR, None)


@pytest.fixture(scope="module")
def page() -> Iterator[Page]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        yield context.new_page()
        browser.close()


def contactload(*args: str | Path, cwd: Path, wait: float = 30) -> subprocess.Popen[str]:
    """``contactload ARGS`` started as a process of its own (not waited for)."""
    environment = {k: v for k, v in os.environ.items() if k != PAUSE_WHILE_ENV_VAR}
    environment[WAIT] = str(wait)
    return subprocess.Popen(
        [CONTACTLOAD, *map(str, args)],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of a started command, once it ends."""
    stdout, stderr = process.communicate(timeout=90)
    return process.returncode, stdout, stderr


def clients_text(page: Page, server: str) -> str:
    """The Clients page's text after a fresh load."""
    page.goto(page_url(server, "clients"))
    wait_for_render(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    return page.locator("section.main, [data-testid='stMain']").first.inner_text()


def wait_until_let_go(path: Path, seconds: float = 30) -> None:
    """Wait until no process holds ``path`` (DuckDB's POSIX lock), as an idle dashboard
    does a moment after its last render; fails after ``seconds``."""
    deadline = time.monotonic() + seconds
    while True:
        with path.open("rb") as stream:
            try:
                fcntl.lockf(stream, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                assert time.monotonic() < deadline, f"{path} is still held"
            else:
                fcntl.lockf(stream, fcntl.LOCK_UN)
                return
        time.sleep(0.1)


def test_commands_share_the_file_with_a_running_dashboard(
    server: str, page: Page, db_path: Path, folder: Path
) -> None:
    before = clients_text(page, server)
    assert "clients with contact" not in before

    code, _, stderr = finished(
        contactload(
            "import", ANNA, "--db", db_path, "--time-zone", "Europe/Berlin", "--json", cwd=folder
        )
    )
    assert code == 0, stderr

    wait_until_let_go(db_path)  # the dashboard is idle now: it lets go of the file
    started = time.monotonic()
    code, stdout, stderr = finished(
        contactload("summary", "--db", db_path, "--by", "therapist", "--json", cwd=folder)
    )
    assert code == 0, stderr
    assert "Waiting" not in stderr  # a read while the dashboard is idle runs at once
    assert time.monotonic() - started < 15
    assert "108" in stdout, stdout

    code, _, stderr = finished(
        contactload("backup", "--db", db_path, "--out", folder / "copy.duckdb", cwd=folder)
    )
    assert code == 0, stderr
    copy = Database(folder / "copy.duckdb")
    try:
        assert copy.row("SELECT count(*), sum(minutes) FROM contacts", []) == (6, 108)
    finally:
        copy.close()

    code, _, stderr = finished(
        contactload("export", "--db", db_path, "--out", folder / "contacts.csv", cwd=folder)
    )
    assert code == 0, stderr
    with (folder / "contacts.csv").open(newline="", encoding="utf-8") as exported:
        assert len(list(csv.DictReader(exported))) == 6

    after = clients_text(page, server)  # the browser's next visit shows the new rows
    assert "3 clients with contact" in after, after
    # the busiest client (Jonas K., 65 of 108 minutes) takes 60.2 %
    assert "take 60.2 % of the minutes" in after, after


def test_a_write_waits_while_the_dashboard_is_busy_then_succeeds(
    server: str, page: Page, db_path: Path, folder: Path
) -> None:
    busy, held = folder / "busy", folder / "busy.held"
    busy.touch()
    try:
        page.goto(page_url(server, "clients"))
        deadline = time.monotonic() + 30
        while not held.exists():  # the render holds the file mid-measure
            assert time.monotonic() < deadline, "the dashboard never started its render"
            time.sleep(0.05)
        started = time.monotonic()
        command = contactload(
            "import", TOM, "--db", db_path, "--time-zone", "Europe/Berlin", "--json", cwd=folder
        )
        time.sleep(1.5)
        assert command.poll() is None  # still waiting for the dashboard
    finally:
        busy.unlink(missing_ok=True)
    code, stdout, stderr = finished(command)
    waited = time.monotonic() - started
    assert code == 0, stderr
    assert waited >= 1.5
    assert f"Waiting for the dashboard to finish with {db_path}" in stderr, stderr
    assert stderr.count("Waiting") == 1
    assert json.loads(stdout)["files"][0]["imported"] == 5, stdout
    wait_for_render(page)
    after = clients_text(page, server)
    # Tom's three clients join Anna's; Jonas K.'s 65 minutes of 108 + 60.5 = 168.5: 38.6 %
    assert "6 clients with contact" in after, after
    assert "take 38.6 % of the minutes" in after, after
