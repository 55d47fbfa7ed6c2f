"""Faults: an import killed mid-way, a database held by another process, a schema from the
future, a full disk and an oversized upload all leave stored data exactly as it was and
say what happened in one sentence.

Imports run as real ``contactload`` processes on a copy of the hand-made fixture
(tests/data/fixture_contacts.csv: 25 contacts, 400 minutes, see tests/test_metrics.py).
"""

import os
import resource
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from analytics.errors import ContactLoadError
from analytics.importing.limits import MAX_UPLOAD_ENV_VAR, PAUSE_ENV_VAR, FileTooLargeError
from analytics.importing.pipeline import import_file
from analytics.storage.database import Database
from tests.conftest import load_fixture_csv
from tests.test_cli import CONTACTLOAD, assert_one_line_error, holder, run

__all__ = ["holder"]  # the fixture, used below by name

TEMPLATE_HEADER = "date,start_time,minutes,client,therapist,practice,channel,category,direction"


def template_file(path: Path, rows: int) -> Path:
    """``rows`` contacts of 5 minutes each, one a minute from 2026-06-01 08:00 on, for 50
    clients of one new therapist; ``rows`` x 5 minutes in all."""
    lines = [TEMPLATE_HEADER]
    for index in range(rows):
        day = 1 + (index // 600) % 28
        minute = index % 600
        lines.append(
            f"2026-06-{day:02d},{8 + minute // 60:02d}:{minute % 60:02d},5,"
            f"Client {index % 50},Fault Tester,Fault Practice,phone,support,client"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def snapshot(path: Path) -> tuple[int, float, int, int, int]:
    """Contacts, minutes, clients, batches and data_version of a closed database file."""
    db = Database(path)
    try:
        with db.cursor() as cursor:
            contacts, minutes = cursor.execute(
                "SELECT count(*), coalesce(sum(minutes), 0) FROM contacts"
            ).fetchone() or (0, 0)
            (clients,) = cursor.execute("SELECT count(*) FROM clients").fetchone() or (0,)
            (batches,) = cursor.execute("SELECT count(*) FROM import_batches").fetchone() or (0,)
        return int(contacts), float(minutes), int(clients), int(batches), db.data_version()
    finally:
        db.close()


@pytest.fixture
def fixture_copy(fixture_db_path: Path, tmp_path: Path) -> Path:
    """A writable copy of the fixture database (with its pseudonym secret)."""
    folder = tmp_path / "db"
    folder.mkdir()
    shutil.copy(fixture_db_path, folder / "contactload.duckdb")
    shutil.copy(fixture_db_path.parent / ".contactload-secret", folder)
    return folder / "contactload.duckdb"


# --- killed mid-way -----------------------------------------------------------------------


def wait_for_line(process: subprocess.Popen[str], text: str, timeout: float = 60) -> None:
    """Read the child's stderr until ``text`` appears (or fail after ``timeout`` seconds)."""
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stderr], [], [], 0.5)
        if ready:
            line = process.stderr.readline()
            seen += line
            if text in line:
                return
        if process.poll() is not None:
            break
    pytest.fail(f"the import never reached {text!r}: {seen}")


@pytest.mark.parametrize("stage", ["staged", "classified", "stored"])
def test_import_killed_at_any_stage_leaves_the_database_as_it_was(
    fixture_copy: Path, tmp_path: Path, stage: str
) -> None:
    upload = template_file(tmp_path / "june.csv", 3_000)
    before = snapshot(fixture_copy)
    # the fixture: 25 contacts, 400 minutes, 7 clients, 1 batch
    assert before[:4] == (25, 400.0, 7, 1)
    process = subprocess.Popen(
        [CONTACTLOAD, "import", str(upload), "--db", str(fixture_copy), "--time-zone", "UTC"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env={**os.environ, PAUSE_ENV_VAR: stage},
    )
    try:
        wait_for_line(process, f"paused at {stage}")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    assert snapshot(fixture_copy) == before  # nothing of the killed import is visible
    # and the file is healthy: the same import, not killed, adds all 3,000 rows
    # (3,000 x 5 = 15,000 minutes; 50 new clients)
    result = run("import", upload, "--db", fixture_copy, "--time-zone", "UTC", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    contacts, minutes, clients, batches, _ = snapshot(fixture_copy)
    assert (contacts, minutes, clients, batches) == (25 + 3_000, 400 + 15_000, 7 + 50, 2)


@pytest.mark.parametrize("delay", [0.3, 0.8, 1.5, 2.5])
def test_import_killed_at_any_moment_is_all_or_nothing(
    fixture_copy: Path, tmp_path: Path, delay: float
) -> None:
    """Killed by timing, wherever it is (start-up, reading, storing, committing): the
    database holds none of the file or all of it, and opens."""
    upload = template_file(tmp_path / "june.csv", 20_000)
    before = snapshot(fixture_copy)
    process = subprocess.Popen(
        [CONTACTLOAD, "import", str(upload), "--db", str(fixture_copy), "--time-zone", "UTC"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    time.sleep(delay)
    process.kill()
    process.wait(timeout=30)
    contacts, minutes, clients, batches, _ = snapshot(fixture_copy)
    # none: the fixture's 25 contacts, 400 minutes, 7 clients, 1 batch;
    # all: + 20,000 contacts x 5 minutes = 100,000 minutes, + 50 clients, + 1 batch
    assert (contacts, minutes, clients, batches) in {
        before[:4],
        (25 + 20_000, 400 + 100_000.0, 7 + 50, 2),
    }


# --- another process, a newer schema ---------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [["import", "PLACEHOLDER"], ["export", "--out", "out.csv"], ["backup", "--out", "b.duckdb"]],
)
def test_a_second_process_gets_one_sentence(holder: Path, tmp_path: Path, args: list[str]) -> None:
    upload = template_file(tmp_path / "small.csv", 3)
    args = [str(upload) if arg == "PLACEHOLDER" else arg for arg in args]
    result = run(*args, "--db", holder, cwd=tmp_path)
    line = assert_one_line_error(result)
    assert "is in use by another program" in line


def test_cli_refuses_a_schema_from_the_future(fixture_copy: Path, tmp_path: Path) -> None:
    import duckdb

    connection = duckdb.connect(str(fixture_copy))
    connection.execute("INSERT INTO schema_version (version, description) VALUES (99, 'future')")
    connection.close()
    result = run("summary", "--db", fixture_copy, "--by", "channel", cwd=tmp_path)
    line = assert_one_line_error(result)
    assert "schema version 99" in line and "newer" in line
    result = run("import", template_file(tmp_path / "x.csv", 3), "--db", fixture_copy, cwd=tmp_path)
    assert "schema version 99" in assert_one_line_error(result)


# --- disk full --------------------------------------------------------------------------


def _limit_file_size(limit: int) -> None:
    """In the child: files may not grow past ``limit`` bytes, and writing past it fails
    with EFBIG instead of killing the process (SIGXFSZ ignored), as a full disk does."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_disk_full_during_import_rolls_back_with_one_sentence(tmp_path: Path) -> None:
    # a freshly written file: no free blocks inside it that new rows could fill without
    # growing it
    fixture_copy = tmp_path / "db" / "contactload.duckdb"
    fresh = Database(fixture_copy)
    load_fixture_csv(fresh, "fixture_contacts.csv")
    fresh.close()
    # more rows than the write-ahead log could hold under the same limit (the limit applies to
    # each file, and the log may grow as large as the database file itself)
    upload = template_file(tmp_path / "big.csv", 250_000)
    before = snapshot(fixture_copy)
    assert before[:4] == (25, 400.0, 7, 1)
    limit = fixture_copy.stat().st_size + 64 * 1024  # room for a little, not 60,000 rows
    environment = {k: v for k, v in os.environ.items() if k != "CONTACTLOAD_DB"}
    result = subprocess.run(
        [CONTACTLOAD, "import", str(upload), "--db", str(fixture_copy), "--time-zone", "UTC"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=environment,
        preexec_fn=lambda: _limit_file_size(limit),
        timeout=300,
        check=False,
    )
    line = assert_one_line_error(result)
    # the limit is hit while the rows are written, or at the commit: one sentence either way
    assert "could not be s" in line and "File too large" in line, line
    assert line.endswith("stored.") and "nothing" in line
    assert snapshot(fixture_copy) == before


# --- upload size cap ----------------------------------------------------------------------


def test_upload_over_the_cap_is_refused_before_reading(
    fixture_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upload = template_file(tmp_path / "june.csv", 2_000)  # about 140 kB
    monkeypatch.setenv(MAX_UPLOAD_ENV_VAR, "0.1")  # 0.1 MB = 104,857 bytes
    version = fixture_db.data_version()
    with pytest.raises(FileTooLargeError) as caught:
        import_file(fixture_db, upload, file_name="june.csv")
    size_mb = upload.stat().st_size / 1024 / 1024
    assert str(caught.value) == (
        f"june.csv is {size_mb:,.1f} MB, over the 0.1 MB limit; split it, or raise the limit "
        f"with {MAX_UPLOAD_ENV_VAR}."
    )
    assert isinstance(caught.value, ContactLoadError)
    assert fixture_db.data_version() == version
    # bytes (the dashboard's uploads) are capped the same way
    with pytest.raises(FileTooLargeError):
        import_file(fixture_db, upload.read_bytes(), file_name="june.csv")
    monkeypatch.setenv(MAX_UPLOAD_ENV_VAR, "1")  # 1 MB: the same file goes in
    report = import_file(fixture_db, upload, file_name="june.csv")
    assert report.imported == 2_000


def test_cli_upload_cap_is_one_line(fixture_copy: Path, tmp_path: Path) -> None:
    upload = template_file(tmp_path / "june.csv", 2_000)
    result = run(
        "import", upload, "--db", fixture_copy, cwd=tmp_path, env={MAX_UPLOAD_ENV_VAR: "0.05"}
    )
    assert "over the 0.05 MB limit" in assert_one_line_error(result)


def test_streamlit_upload_cap_matches_the_library_default() -> None:
    from analytics.importing.limits import DEFAULT_MAX_UPLOAD_MB

    config = (Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text()
    assert f"maxUploadSize = {DEFAULT_MAX_UPLOAD_MB}" in config


def test_import_page_says_when_a_file_is_over_the_cap(
    fixture_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    shutil.copy(fixture_db_path, tmp_path / "contactload.duckdb")
    shutil.copy(fixture_db_path.parent / ".contactload-secret", tmp_path)
    monkeypatch.setenv("CONTACTLOAD_DB", str(tmp_path / "contactload.duckdb"))
    monkeypatch.setenv(MAX_UPLOAD_ENV_VAR, "0.05")  # 52,428 bytes
    upload = template_file(tmp_path / "june.csv", 2_000)  # about 140 kB
    app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"))
    app.run(timeout=60)
    app.switch_page("pages/import_data.py").run(timeout=60)
    app.file_uploader(key="import_files").set_value(
        ("june.csv", upload.read_bytes(), "text/csv")
    ).run(timeout=60)
    assert not app.exception
    assert [error.value for error in app.error] == [
        f"june.csv is {upload.stat().st_size / 1024 / 1024:,.1f} MB, over the 0.05 MB limit; "
        f"split it, or raise the limit with {MAX_UPLOAD_ENV_VAR}."
    ]
    assert snapshot(tmp_path / "contactload.duckdb")[:4] == (25, 400.0, 7, 1)
