"""How much one import may take on: file size, rows and time, and the fault tests' pause.

Split from ``pipeline`` so the caps every importer shares (CSV, workbooks, calendars,
phone logs, the inbox) and the environment variables that raise them are read in one
place, without the pipeline's steps around them.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from analytics.errors import ContactLoadError

DEFAULT_MAX_UPLOAD_MB = 200
"""Largest file an import accepts unless ``CONTACTLOAD_MAX_UPLOAD_MB`` says otherwise (the
dashboard's own cap, ``server.maxUploadSize`` in .streamlit/config.toml, matches it)."""

MAX_UPLOAD_ENV_VAR = "CONTACTLOAD_MAX_UPLOAD_MB"

DEFAULT_MAX_ROWS = 5_000_000
"""Most rows one file may hold unless ``CONTACTLOAD_MAX_IMPORT_ROWS`` says otherwise (a
200 MB Toggl export has about 1.3 million)."""

MAX_ROWS_ENV_VAR = "CONTACTLOAD_MAX_IMPORT_ROWS"

DEFAULT_MAX_SECONDS = 600.0
"""Longest one import may run unless ``CONTACTLOAD_MAX_IMPORT_SECONDS`` says otherwise (a
million rows take a few seconds)."""

MAX_SECONDS_ENV_VAR = "CONTACTLOAD_MAX_IMPORT_SECONDS"

PAUSE_ENV_VAR = "CONTACTLOAD_PAUSE_AT"
"""Fault tests only: the pipeline stage at which an import announces itself on stderr and
waits, so a test can kill the process there (see tests/test_faults.py)."""


class FileTooLargeError(ContactLoadError):
    """The file is larger than the configured upload cap."""


class ImportLimitError(ContactLoadError):
    """The file needs more work than an import may do (rows, time)."""


def max_upload_bytes() -> int:
    """The upload cap in bytes: ``CONTACTLOAD_MAX_UPLOAD_MB`` megabytes, default 200."""
    text = os.environ.get(MAX_UPLOAD_ENV_VAR, "").strip()
    try:
        megabytes = float(text) if text else DEFAULT_MAX_UPLOAD_MB
    except ValueError:
        megabytes = DEFAULT_MAX_UPLOAD_MB
    if megabytes <= 0:
        megabytes = DEFAULT_MAX_UPLOAD_MB
    return int(megabytes * 1024 * 1024)


def _limit(name: str, default: float) -> float:
    """A positive number from the environment variable ``name``, else ``default``."""
    try:
        value = float(os.environ.get(name, "").strip() or default)
    except ValueError:
        return default
    return value if value > 0 else default


def max_rows() -> int:
    """The row cap: ``CONTACTLOAD_MAX_IMPORT_ROWS``, default 5,000,000."""
    return int(_limit(MAX_ROWS_ENV_VAR, DEFAULT_MAX_ROWS))


def max_seconds() -> float:
    """The time cap of one import: ``CONTACTLOAD_MAX_IMPORT_SECONDS``, default 600."""
    return _limit(MAX_SECONDS_ENV_VAR, DEFAULT_MAX_SECONDS)


class _Deadline:
    """Stops an import that runs past ``max_seconds()``: DuckDB's running statement is
    interrupted when the time is up, and the steps in between check the clock."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection, file_name: str) -> None:
        import threading
        import time

        self.seconds = max_seconds()
        self.file_name = file_name
        self._clock = time.monotonic
        self._end = time.monotonic() + self.seconds
        self._timer = threading.Timer(self.seconds, cursor.interrupt)
        self._timer.daemon = True
        self._timer.start()

    def error(self) -> ImportLimitError:
        """The one sentence for an import that ran out of time."""
        return ImportLimitError(
            f"{self.file_name} took longer than the {self.seconds:g}-second limit for one "
            f"import; nothing from it was stored. Split it, or raise the limit with "
            f"{MAX_SECONDS_ENV_VAR}."
        )

    def check(self) -> None:
        """Raise the sentence when the time is up."""
        if self._clock() > self._end:
            raise self.error()

    def cancel(self) -> None:
        """Stop the timer (the import ended)."""
        self._timer.cancel()


def _check_size(source: bytes | Path, file_name: str) -> None:
    """Refuse, in one sentence, a file over the upload cap before reading any of it."""
    size = len(source) if isinstance(source, bytes) else source.stat().st_size
    cap = max_upload_bytes()
    if size > cap:
        raise FileTooLargeError(
            f"{file_name} is {size / 1024 / 1024:,.1f} MB, over the {cap / 1024 / 1024:.4g} MB "
            f"limit; split it, or raise the limit with {MAX_UPLOAD_ENV_VAR}."
        )


def _pause_point(stage: str) -> None:
    """Wait at ``stage`` when a fault test asked for it (``CONTACTLOAD_PAUSE_AT``)."""
    if os.environ.get(PAUSE_ENV_VAR) == stage:
        import sys
        import time

        print(f"paused at {stage}", file=sys.stderr, flush=True)
        time.sleep(120)
