"""How processes take turns with one database file (the dashboard, commands, a nightly job).

DuckDB lets one process at a time open a file for writing, and a read-only connection
cannot open it either while a writer holds it. So no process keeps the file longer than
it needs: the dashboard closes it when idle, a command when it exits, and a process that
finds it held waits its turn instead of failing.

Two empty lock files per database coordinate the turns, each through an advisory lock
(``flock``), so a killed process leaves nothing held. They live in the machine's
temporary folder (named after the database's full path), not beside the data:

- ``….turn``: held for the instant of opening the file, and by a rewrite or restore
  while the file is being replaced, so nobody opens a file about to be replaced.
- ``….queue``: held (shared) by every process waiting for the file, so a holder that
  is idle can see that someone waits and close at once; a newcomer lets those already
  waiting go first.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no coordination, DuckDB's lock alone
    fcntl = None  # type: ignore[assignment]

WAIT_ENV_VAR = "CONTACTLOAD_WAIT_SECONDS"
DEFAULT_WAIT_SECONDS = 30.0
"""How long a process waits for a database file another process holds before giving up."""

LOCKED = (
    "The database {path} is in use by another program; close it "
    "(or stop the other Contact Load) and try again."
)

_PID = re.compile(r"\(PID (\d+)\)")
_STEP = 0.02


def wait_seconds() -> float:
    """The wait bound from ``CONTACTLOAD_WAIT_SECONDS`` (default 30 s; 0 never waits)."""
    text = os.environ.get(WAIT_ENV_VAR, "").strip()
    try:
        return max(0.0, float(text)) if text else DEFAULT_WAIT_SECONDS
    except ValueError:
        return DEFAULT_WAIT_SECONDS


def print_waiting(sentence: str) -> None:
    """Say on stderr what this process waits for (the default ``Database.on_wait``)."""
    print(sentence, file=sys.stderr, flush=True)


def holder_name(error: BaseException | None) -> str:
    """Who holds the file, in the user's words, from DuckDB's lock error (which names
    the holding process's id): the dashboard, another command, or another program."""
    found = _PID.search(str(error or ""))
    if found is None:
        return "another program"
    try:
        command = Path(f"/proc/{found.group(1)}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return "another program"
    if b"streamlit" in command or b"ui.serve" in command:
        return "the dashboard"
    if b"contactload" in command or b"analytics.cli" in command:
        return "another contactload command"
    return f"another program (process {found.group(1)})"


def lock_folder() -> Path:
    """The folder of the turn-taking lock files (this user's, in the temporary folder)."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    folder = Path(tempfile.gettempdir()) / f"contactload-locks-{uid}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


class Turn:
    """The turn-taking locks of one database file, shared by this process's threads."""

    def __init__(self, path: Path) -> None:
        folder = lock_folder()
        name = hashlib.sha256(str(path).encode()).hexdigest()[:24]
        self.turn_path = folder / f"{name}.turn"
        self.queue_path = folder / f"{name}.queue"
        self._mine = threading.RLock()
        self._depth = 0
        self._turn_fd: int | None = None
        self._queued = 0
        self._queue_fd: int | None = None

    @contextmanager
    def taken(self, deadline: float) -> Iterator[bool]:
        """Hold the turn (no other process opens or replaces the file meanwhile); yields
        False if it could not be had before ``deadline``. Re-entrant in this process."""
        if not self._mine.acquire(timeout=max(0.0, deadline - time.monotonic())):
            yield False
            return
        try:
            if self._depth == 0 and not self._lock_turn(deadline):
                yield False
                return
            self._depth += 1
            try:
                yield True
            finally:
                self._depth -= 1
                if self._depth == 0 and self._turn_fd is not None:
                    fd, self._turn_fd = self._turn_fd, None
                    os.close(fd)  # closing releases the lock
        finally:
            self._mine.release()

    def _lock_turn(self, deadline: float) -> bool:
        """Take the turn lock, trying until ``deadline``."""
        if fcntl is None:
            return True
        fd = os.open(self.turn_path, os.O_RDWR | os.O_CREAT, 0o600)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    return False
                time.sleep(_STEP)
                continue
            self._turn_fd = fd
            return True

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Stand in the queue for the block's time, so an idle holder lets go at once."""
        with self._mine:
            if self._queued == 0 and fcntl is not None:
                fd = os.open(self.queue_path, os.O_RDWR | os.O_CREAT, 0o600)
                fcntl.flock(fd, fcntl.LOCK_SH)
                self._queue_fd = fd
            self._queued += 1
        try:
            yield
        finally:
            with self._mine:
                self._queued -= 1
                if self._queued == 0 and self._queue_fd is not None:
                    fd, self._queue_fd = self._queue_fd, None
                    os.close(fd)

    def wanted_elsewhere(self) -> bool:
        """Whether another process waits for the file now."""
        if fcntl is None or self._queued:
            return False
        try:
            fd = os.open(self.queue_path, os.O_RDONLY)
        except OSError:
            return False  # nobody ever waited for this file
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)
        return False

    def wait_for_earlier(self, deadline: float) -> None:
        """Let processes already waiting for the file go first (until ``deadline``)."""
        while self.wanted_elsewhere() and time.monotonic() < deadline:
            time.sleep(_STEP)


_turns: dict[Path, Turn] = {}
_turns_lock = threading.Lock()


def turn_for(path: Path) -> Turn:
    """This process's one ``Turn`` for the database at ``path``."""
    resolved = path.resolve()
    with _turns_lock:
        turn = _turns.get(resolved)
        if turn is None:
            turn = _turns[resolved] = Turn(resolved)
        return turn


def waiting_sentence(holder: str, path: Path, bound: float) -> str:
    """The one sentence a waiting process shows."""
    return f"Waiting for {holder} to finish with {path} (up to {bound:g} s)…"
