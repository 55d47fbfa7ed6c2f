"""The inbox folder (issue 15): files dropped there are imported like uploads and filed in
done/ or failed/ beside a report; a file still being written waits; the history is stored
and shown on the Import page; the dashboard's server watches the folder itself.

Files in tests/data/inbox: ``toggl_week.csv`` (a Toggl Track detailed report, 4 rows:
10 + 25 + 5.5 + 40 = 80.5 minutes), ``kimai_slow.csv`` (an English Kimai export, 6 rows:
20 + 45 + 10 + 5 + 60 + 15 = 155 minutes) and ``contacts.vcf`` (two vCards: not a contact
log at all).
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics.access.scope import LOCAL
from analytics.cli import main
from analytics.importing import inbox
from analytics.storage.database import Database
from tests.test_pages import run_app

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data" / "inbox"
NOT_A_LOG = (
    "The columns of this file match no known export; map them to client, date, time and "
    "duration (on the Import page, or with --map field=Header,...)."
)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "contactload.duckdb")
    yield database
    database.close()


def stored(db: Database, file_name: str | None = None) -> tuple[int, float]:
    """Contacts and minutes stored (from one file's batches when ``file_name`` is given)."""
    where = "" if file_name is None else "WHERE b.file_name = ?"
    count, minutes = db.row(
        "SELECT count(*), coalesce(sum(c.minutes), 0) FROM contacts AS c "
        f"JOIN import_batches AS b USING (batch_id) {where}",
        [] if file_name is None else [file_name],
    )
    return int(count), float(minutes)


def report(path: Path) -> dict[str, object]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def write_slowly(target: Path, lines: list[str], pause: float, finished: list[float]) -> None:
    """Write ``lines`` one at a time, as a slow download or network copy would."""
    with target.open("w", encoding="utf-8") as stream:
        for number, line in enumerate(lines):
            if number:
                time.sleep(pause)
            stream.write(line)
            stream.flush()
    finished.append(time.monotonic())  # the last line is written: from here it may be taken


def test_three_files_good_bad_and_slow(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(DATA / "toggl_week.csv", folder)
    shutil.copy(DATA / "contacts.vcf", folder)
    lines = (DATA / "kimai_slow.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    finished: list[float] = []
    # A line every 0.25 s for 1.75 s; a file is taken after 1.5 s unchanged.
    writer = threading.Thread(
        target=write_slowly, args=(folder / "kimai_slow.csv", lines, 0.25, finished)
    )
    writer.start()
    sweeps: list[tuple[float, inbox.SweepResult]] = []
    deadline = time.monotonic() + 60
    while not (folder / "done" / "kimai_slow.csv").exists() and time.monotonic() < deadline:
        began = time.monotonic()
        sweeps.append((began, inbox.sweep(db, folder, settle=1.5)))
    writer.join()

    taken = {entry.file_name: (began, entry) for began, result in sweeps for entry in result.taken}
    assert set(taken) == {"toggl_week.csv", "contacts.vcf", "kimai_slow.csv"}
    # The slow file was seen growing, and only the look after its last line took it.
    assert any("kimai_slow.csv" in result.still_changing for _, result in sweeps)
    slow_began, slow = taken["kimai_slow.csv"]
    assert slow_began >= finished[0]
    assert (slow.rows_read, slow.stored, slow.already_stored, slow.problems) == (6, 6, 0, 0)

    # Where each file went, beside its report.
    assert sorted(path.name for path in folder.iterdir()) == ["done", "failed"]
    assert sorted(path.name for path in (folder / "done").iterdir()) == [
        "kimai_slow.csv",
        "kimai_slow.csv.report.json",
        "toggl_week.csv",
        "toggl_week.csv.report.json",
    ]
    assert sorted(path.name for path in (folder / "failed").iterdir()) == [
        "contacts.vcf",
        "contacts.vcf.report.json",
    ]
    assert (folder / "done" / "kimai_slow.csv").read_bytes() == (
        DATA / "kimai_slow.csv"
    ).read_bytes()
    good = report(folder / "done" / "toggl_week.csv.report.json")
    assert {key: good[key] for key in ("file", "kind", "outcome", "rows", "stored")} == {
        "file": "toggl_week.csv",
        "kind": "contact log",
        "outcome": "done",
        "rows": 4,
        "stored": 4,
    }
    assert (good["already_stored"], good["problems"], good["reason"]) == (0, 0, None)
    bad = report(folder / "failed" / "contacts.vcf.report.json")
    assert (bad["outcome"], bad["stored"], bad["reason"]) == ("failed", None, NOT_A_LOG)

    # What was stored, counted by hand: nothing of the vCards.
    assert stored(db, "toggl_week.csv") == (4, 80.5)
    assert stored(db, "kimai_slow.csv") == (6, 155.0)
    assert stored(db) == (10, 235.5)
    assert db.row("SELECT count(*) FROM import_batches", []) == (2,)

    # The same export dropped again adds nothing, and is filed under a free name.
    shutil.copy(DATA / "toggl_week.csv", folder)
    again = inbox.sweep(db, folder, settle=0.2)
    (entry,) = again.taken
    assert (entry.outcome, entry.stored, entry.already_stored) == ("done", 0, 4)
    assert entry.moved_to == folder / "done" / "toggl_week (2).csv"
    assert report(folder / "done" / "toggl_week (2).csv.report.json")["already_stored"] == 4
    assert stored(db) == (10, 235.5)

    # The history: file names, outcomes and counts, newest first; no file text.
    history = inbox.history(db, LOCAL)
    assert history["file_name"].tolist()[0] == "toggl_week.csv"
    assert sorted(zip(history["file_name"], history["outcome"], strict=True)) == [
        ("contacts.vcf", "failed"),
        ("kimai_slow.csv", "done"),
        ("toggl_week.csv", "done"),
        ("toggl_week.csv", "done"),
    ]
    failed = history[history["outcome"] == "failed"].iloc[0]
    assert failed["reason"] == "its columns match no known export"
    assert failed["moved_to"] == "failed/contacts.vcf"


def test_a_failed_file_loses_nothing_already_stored(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(DATA / "toggl_week.csv", folder)
    inbox.sweep(db, folder, settle=0.1)
    before = stored(db)
    # A Toggl export cut off mid-row by a crashed download: its header and a broken row.
    text = (DATA / "toggl_week.csv").read_text(encoding="utf-8-sig").splitlines()
    (folder / "cut.csv").write_text(text[0] + "\n" + text[1][:40] + "\n", encoding="utf-8")
    (entry,) = inbox.sweep(db, folder, settle=0.1).taken
    assert entry.outcome == "failed"
    assert (folder / "failed" / "cut.csv").exists()
    assert stored(db) == before == (4, 80.5)


def test_temporary_names_are_left_alone(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    names = [
        "toggl_week.csv.part",
        "toggl_week.csv.crdownload",
        "~$toggl_week.csv",
        "toggl_week.tmp",
        ".toggl_week.csv",
    ]
    for name in names:
        shutil.copy(DATA / "toggl_week.csv", folder / name)
    (folder / "created.csv").touch()  # a copy that has not written its first byte yet
    result = inbox.sweep(db, folder, settle=0.1)
    assert result.taken == [] and sorted(result.ignored) == sorted([*names, "created.csv"])
    assert stored(db) == (0, 0.0)
    # The browser renames the finished download: now it is taken.
    os.replace(folder / "toggl_week.csv.crdownload", folder / "toggl_week.csv")
    (entry,) = inbox.sweep(db, folder, settle=0.1).taken
    assert (entry.file_name, entry.stored) == ("toggl_week.csv", 4)


@pytest.mark.parametrize(
    ("name", "temporary"),
    [
        ("export.csv", False),
        ("Toggl_Track_time_entries.csv", False),
        ("calendar.ics", False),
        ("export.csv.part", True),
        ("export.csv.crdownload", True),
        ("export.csv.download", True),
        ("export.TMP", True),
        ("~$export.xlsx", True),
        (".DS_Store", True),
        ("export.csv~", True),
    ],
)
def test_is_temporary(name: str, temporary: bool) -> None:
    assert inbox.is_temporary(name) is temporary


def test_a_killed_sweep_gives_its_file_back(db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    claim = folder / f".taking-{int(finished.stdout)}"  # a process that no longer runs
    claim.mkdir(parents=True)
    shutil.copy(DATA / "toggl_week.csv", claim)
    (entry,) = inbox.sweep(db, folder, settle=0.1).taken
    assert (entry.file_name, entry.stored) == ("toggl_week.csv", 4)
    assert not claim.exists()


def test_cli_sweeps_once_and_remembers_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path = tmp_path / "contactload.duckdb"
    folder = tmp_path / "drop"
    folder.mkdir()
    shutil.copy(DATA / "toggl_week.csv", folder)
    argv = ["inbox", "--db", str(db_path), "--inbox", str(folder), "--settle", "0.1"]
    assert main([*argv, "--json", "--remember"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [(e["file"], e["stored"], e["outcome"]) for e in shown["taken"]] == [
        ("toggl_week.csv", 4, "done")
    ]
    shutil.copy(DATA / "contacts.vcf", folder)
    # No --inbox now: the remembered folder is swept; a failed file exits 1.
    assert main(["inbox", "--db", str(db_path), "--settle", "0.1"]) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        f"contacts.vcf: failed, moved to failed/contacts.vcf. {NOT_A_LOG}"
    )
    assert main(["inbox", "--db", str(db_path), "--settle", "0.1"]) == 0
    assert capsys.readouterr().out.strip() == f"Nothing to import in {folder}."
    # A mistyped zone is the command's mistake: one sentence, and the file stays put.
    shutil.copy(DATA / "toggl_week.csv", folder / "again.csv")
    assert main([*argv, "--time-zone", "Europe/Berlinn"]) == 1
    assert capsys.readouterr().err.strip() == (
        "contactload: Unknown time zone 'Europe/Berlinn'; use an IANA name such as 'Europe/Berlin'."
    )
    assert (folder / "again.csv").exists()
    (folder / "again.csv").unlink()
    database = Database(db_path)
    try:
        assert inbox.stored_folder(database) == folder
        assert stored(database) == (4, 80.5)
    finally:
        database.close()


def test_import_page_lists_the_inbox_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "contactload.duckdb"
    folder = tmp_path / "inbox"  # the default: beside the database
    app = run_app(db_path, monkeypatch, "pages/import_data.py")
    (empty,) = [caption.value for caption in app.caption if "through the inbox" in caption.value]
    assert empty == (
        ":material/inbox: No file has come through the inbox yet. Drop a CSV export, a "
        f"calendar or a phone log into {folder} to import it."
    )
    assert any("is not watching the folder" in caption.value for caption in app.caption)

    folder.mkdir()
    shutil.copy(DATA / "toggl_week.csv", folder)
    shutil.copy(DATA / "contacts.vcf", folder)
    from analytics.storage.database import open_database

    inbox.sweep(open_database(db_path), folder, settle=0.1)  # the page's own Database
    app.run()
    assert not app.exception
    (table,) = [frame.value for frame in app.dataframe if "why it failed" in frame.value]
    assert table["file"].tolist() == ["toggl_week.csv", "contacts.vcf"]  # newest first
    assert table["outcome"].tolist() == ["imported", "failed"]
    assert table["rows stored"].tolist()[0] == 4
    assert table["why it failed"].tolist() == ["", "its columns match no known export"]
    assert not [caption for caption in app.caption if "through the inbox" in caption.value]


def test_the_server_refuses_an_inbox_it_cannot_use(tmp_path: Path) -> None:
    from ui.inbox_watcher import server_watcher, start_server_watcher

    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(inbox.InboxError) as caught:
        start_server_watcher(["--db", str(tmp_path / "c.duckdb"), "--inbox", str(blocker / "in")])
    assert str(caught.value).startswith(f"The inbox folder {blocker / 'in'} cannot be used (")
    assert str(caught.value).endswith("); choose another with --inbox.")
    assert server_watcher() is None
    assert start_server_watcher(["--db", str(tmp_path / "c.duckdb"), "--no-inbox"]) is None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def import_page_text(url: str) -> str:
    """The Import page's text in a real headless Chromium."""
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, wait_for_render

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(f"{url}/import")
            wait_for_render(page)
            page.get_by_text("Inbox folder").first.wait_for(timeout=30_000)
            return page.inner_text("body")
        finally:
            browser.close()


@pytest.mark.browser
def test_the_dashboard_server_watches_the_inbox(tmp_path: Path) -> None:
    """A real ``ui.serve`` process imports a dropped file before any browser connects, and
    its Import page (in Chromium) says it watches that folder."""
    db_path = tmp_path / "contactload.duckdb"
    folder = tmp_path / "drop"
    assert main(["settings", "set", "inbox_settle_seconds", "1", "--db", str(db_path)]) == 0
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "ui.serve", "--server.port", str(port),
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--", "--db", str(db_path), "--inbox", str(folder),
        ],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not folder.is_dir() and time.monotonic() < deadline:
            time.sleep(0.2)
        shutil.copy(DATA / "toggl_week.csv", folder / "toggl_week.csv.part")
        os.replace(folder / "toggl_week.csv.part", folder / "toggl_week.csv")
        done = folder / "done" / "toggl_week.csv.report.json"
        while not done.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        assert done.exists(), process.stdout.read() if process.poll() is not None else ""
        assert report(done)["stored"] == 4
        shown = import_page_text(f"http://127.0.0.1:{port}")
        assert "This dashboard is watching the folder" in shown
        assert str(folder) in shown
        assert "No file has come through the inbox yet" not in shown
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert "toggl_week.csv: contact log, 4 rows: 4 stored" in output
    database = Database(db_path)
    try:
        assert stored(database) == (4, 80.5)
        assert inbox.history(database, LOCAL)["outcome"].tolist() == ["done"]
    finally:
        database.close()


def test_a_calendar_names_no_therapist_and_fails_with_that_reason(
    db: Database, tmp_path: Path
) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    shutil.copy(ROOT / "tests" / "data" / "calendars" / "weekly_exdate_moved.ics", folder)
    (entry,) = inbox.sweep(db, folder, settle=0.1).taken
    # the Import page asks for the name; the inbox has nobody to ask: failed, nothing stored
    assert (entry.outcome, entry.reason) == (
        "failed",
        "it names no therapist (import it on the Import page)",
    )
    assert (folder / "failed" / "weekly_exdate_moved.ics").exists()
    assert db.row("SELECT count(*) FROM sessions", []) == (0,)
