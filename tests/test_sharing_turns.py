"""Processes taking turns with one database file (analytics.storage.sharing, Database's holding),
with real processes holding a real file: no mock of the lock."""

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from analytics.errors import DatabaseLockedError
from analytics.storage.database import Database

ROOT = Path(__file__).resolve().parent.parent

HOLDER = (
    "import sys, time\n"
    "from analytics.storage.database import Database\n"
    "db = Database(sys.argv[1])\n"
    "if sys.argv[2] != 'keep':\n"
    "    db.release_when_idle(float(sys.argv[2]))\n"
    "db.data_version()\n"
    "print('ready', flush=True)\n"
    "time.sleep(float(sys.argv[3]))\n"
    "db.close()\n"
)
"""A Contact Load process holding the file: until it closes (``keep``) or, as the
dashboard does, until idle for the given seconds."""


@contextmanager
def holder(path: Path, policy: str, seconds: float) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), policy, str(seconds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    database = tmp_path / "shared.duckdb"
    Database(database).close()
    return database


def test_an_idle_dashboard_lets_go_and_opens_again_on_the_next_query(path: Path) -> None:
    db = Database(path)
    try:
        db.release_when_idle(0.2)
        version = db.data_version()
        assert db.held
        deadline = time.monotonic() + 10
        while db.held:
            assert time.monotonic() < deadline, "never let go of the file"
            time.sleep(0.05)
        with db.transaction() as cursor:  # opens the file again
            cursor.execute("SELECT 1")
        assert db.data_version() == version + 1
    finally:
        db.close()


def test_a_command_waits_for_a_holder_then_opens(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONTACTLOAD_WAIT_SECONDS", "30")
    with holder(path, "keep", 1.5) as process:
        started = time.monotonic()
        db = Database(path)
        waited = time.monotonic() - started
        try:
            assert waited >= 1.0  # the holder kept it for 1.5 s after saying ready
            assert db.data_version() >= 0
        finally:
            db.close()
    assert capsys.readouterr().err.strip().splitlines() == [
        f"Waiting for another program (process {process.pid}) to finish with {path} (up to 30 s)…"
    ]


def test_an_idle_holder_lets_a_waiting_command_in_at_once(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACTLOAD_WAIT_SECONDS", "30")
    # The holder would keep the file for 60 s of idleness, but sees the queue.
    with holder(path, "60", 60):
        started = time.monotonic()
        db = Database(path)
        try:
            assert time.monotonic() - started < 10
        finally:
            db.close()


def test_after_the_bound_the_command_says_the_file_is_in_use(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CONTACTLOAD_WAIT_SECONDS", "0.5")
    with holder(path, "keep", 60):
        started = time.monotonic()
        with pytest.raises(DatabaseLockedError, match="is in use by another program"):
            Database(path)
        assert time.monotonic() - started >= 0.5
    waiting = capsys.readouterr().err.strip().splitlines()
    assert len(waiting) == 1 and waiting[0].startswith("Waiting for another program")
