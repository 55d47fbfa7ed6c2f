"""Shared test machinery: the pre-migrated template database, the in-process CLI runner,
copies of database files, and results as plain values for comparing.

Both exist for speed (issue #17: ``make test`` under five minutes on two cores) and change
nothing a test checks:

- A new database file starts as a byte copy of one database migrated once per test session
  (``TemplateDatabases``), so each test pays a file copy instead of running every migration.
  The copy is what the migrations would have written; ``Database`` then opens it and finds
  the schema current. Tests of the migrations themselves opt out with
  ``@pytest.mark.real_migrations`` (or ``pytestmark`` for a whole module).
- ``contactload`` runs the console script's ``main(argv)`` in this process, with the
  working directory, environment, standard streams and warnings a fresh process would have,
  and closes every database the command opened (as a process exit would). It falls back to a
  real subprocess when this process holds one of the command's files open, since only a
  second process meets DuckDB's file lock; ``process=True`` asks for one explicitly.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import os
import shutil
import subprocess
import sys
import traceback
import warnings
import weakref
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analytics.errors import ContactLoadError
from analytics.storage import database as db_module
from analytics.storage.database import DB_ENV_VAR, DEFAULT_DB_PATH, Database
from analytics.storage.pseudonyms import secret_path

CONTACTLOAD = str(Path(sys.executable).parent / "contactload")
"""The installed console script, for the tests that need a process of their own."""

# --- the template database -------------------------------------------------------------------


class TemplateDatabases:
    """Start every new unencrypted database file of this process as a copy of one migrated
    once, instead of migrating each file anew."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.template: Path | None = None
        self.enabled = True
        self.live: weakref.WeakSet[Database] = weakref.WeakSet()
        self.copies = 0
        self._original_init: Callable[..., None] | None = None

    def install(self) -> None:
        """Wrap ``Database.__init__`` so new files start from the template."""
        original = Database.__init__
        self._original_init = original
        templates = self

        def init(self: Database, path: Path | str, *args: Any, **kwargs: Any) -> None:
            templates.prepare(Path(path), *args, **kwargs)
            original(self, path, *args, **kwargs)
            templates.live.add(self)

        Database.__init__ = init  # type: ignore[method-assign]

    def uninstall(self) -> None:
        """Put ``Database.__init__`` back."""
        if self._original_init is not None:
            Database.__init__ = self._original_init  # type: ignore[method-assign]
            self._original_init = None

    def prepare(self, path: Path, key: str | None = None, **_: Any) -> None:
        """Copy the template to ``path`` when ``Database`` is about to create it."""
        if not self.enabled or key is not None or _key_configured():
            return  # encrypted files are made by their own code path, migrations and all
        if path.exists() or Path(f"{path}.wal").exists() or str(path) == ":memory:":
            return
        template = self._template()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(template, path)
        except OSError:
            # A folder that cannot take the file: ``Database`` meets it itself and says so.
            with contextlib.suppress(OSError):
                path.unlink()
            return
        self.copies += 1

    def _template(self) -> Path:
        """The migrated, empty, closed template file (made on first use)."""
        if self.template is None:
            path = self.folder / "template.duckdb"
            assert self._original_init is not None
            database = Database.__new__(Database)
            self._original_init(database, path)  # the real migrations, once
            database.close()
            self.template = path
        return self.template

    def open_paths(self) -> set[Path]:
        """Files this process holds open through a ``Database`` now."""
        return {
            database.path.resolve()
            for database in list(self.live)
            if not getattr(database, "_closed", False)
        }


def _key_configured() -> bool:
    """Whether the environment names an encryption key (``Database`` would then encrypt)."""
    from analytics.storage.encryption import KEY_ENV_VAR, KEY_FILE_ENV_VAR

    return bool(os.environ.get(KEY_ENV_VAR) or os.environ.get(KEY_FILE_ENV_VAR))


TEMPLATES: TemplateDatabases | None = None
"""The session's template databases (set by tests/conftest.py)."""


# --- the command line, in-process -----------------------------------------------------------


class _Stream(io.StringIO):
    """A captured standard stream that survives ``close()`` (the CLI closes stderr when its
    reader went away) so what was written can still be read."""

    def close(self) -> None:
        pass


def _candidate_paths(argv: list[str], cwd: Path, environment: Mapping[str, str]) -> set[Path]:
    """Every file the command might open: its arguments that name paths, and the database
    it would default to."""
    candidates = {cwd / DEFAULT_DB_PATH}
    if environment.get(DB_ENV_VAR):
        candidates.add(cwd / environment[DB_ENV_VAR])
    for argument in argv:
        if argument and not argument.startswith("-"):
            candidates.add(cwd / argument)
    resolved = set()
    for candidate in candidates:
        with contextlib.suppress(OSError, ValueError):
            resolved.add(candidate.resolve())
    return resolved


@contextlib.contextmanager
def _environment(environment: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` replaced by ``environment`` for the duration."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environment)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def _fresh_process_warnings() -> Iterator[None]:
    """Warnings filtered and printed (to the current ``sys.stderr``) as in a new process:
    Python's default filters, in their order, instead of pytest's."""
    with warnings.catch_warnings():
        warnings.resetwarnings()
        warnings.filterwarnings("default", category=DeprecationWarning, module="__main__")
        for category in (
            DeprecationWarning,
            PendingDeprecationWarning,
            ImportWarning,
            ResourceWarning,
        ):
            warnings.simplefilter("ignore", category, append=True)
        warnings.showwarning = warnings._showwarning_orig  # type: ignore[attr-defined]
        yield


def contactload(
    *args: str | Path,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    process: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``contactload args`` in ``cwd`` as a fresh process would, with
    ``CONTACTLOAD_DB`` unset unless ``env`` sets it; in-process unless ``process`` is True
    or this process holds one of the command's files open."""
    argv = [str(argument) for argument in args]
    environment = {k: v for k, v in os.environ.items() if k != DB_ENV_VAR}
    environment.update(env or {})
    templates = TEMPLATES
    if (
        process
        or templates is None
        or _candidate_paths(argv, Path(cwd).resolve(), environment) & templates.open_paths()
    ):
        return subprocess.run(
            [CONTACTLOAD, *argv],
            capture_output=True,
            text=True,
            cwd=cwd,
            env=environment,
            timeout=120,
            check=False,
        )
    return _in_process(argv, Path(cwd), environment, templates)


def _in_process(
    argv: list[str], cwd: Path, environment: dict[str, str], templates: TemplateDatabases
) -> subprocess.CompletedProcess[str]:
    """``main(argv)`` with the process's surroundings replaced, then its databases closed."""
    from analytics.cli import main

    before = set(templates.live)
    shared_before = dict(getattr(db_module, "_open", {}))
    stdout, stderr = _Stream(), _Stream()
    previous = Path.cwd()
    code: int
    try:
        with (
            _environment(environment),
            contextlib.redirect_stdout(stdout),
            contextlib.redirect_stderr(stderr),
            _fresh_process_warnings(),
        ):
            os.chdir(cwd)
            try:
                code = main(argv)
            except SystemExit as exit_:  # argparse's usage errors, --help
                if exit_.code is None or isinstance(exit_.code, int):
                    code = exit_.code or 0
                else:
                    print(exit_.code, file=sys.stderr)
                    code = 1
            except Exception:  # what the interpreter would print before exiting with 1
                traceback.print_exc(file=sys.stderr)
                code = 1
    finally:
        os.chdir(previous)
        # A process exit closes every database the command opened.
        shared = getattr(db_module, "_open", None)
        if isinstance(shared, dict):
            for path, database in list(shared.items()):
                if shared_before.get(path) is not database:
                    del shared[path]
        for database in set(templates.live) - before:
            with contextlib.suppress(Exception):
                database.close()
    return subprocess.CompletedProcess(
        [CONTACTLOAD, *argv], code, stdout.getvalue(), stderr.getvalue()
    )


# --- database files and results ---------------------------------------------------------------


def copy_database(source: Path, folder: Path) -> Path:
    """A copy of a closed database file with its pseudonym secret, in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    shutil.copy(source, target)
    shutil.copy(secret_path(source), secret_path(target))
    return target


def plain(value: Any) -> Any:
    """A result as plain, comparable Python: frames as columns and rows, floats rounded."""
    if isinstance(value, pd.DataFrame):
        frame = value.reset_index(drop=True)
        return {
            "columns": [str(column) for column in frame.columns],
            "rows": [[plain(cell) for cell in row] for row in frame.itertuples(index=False)],
        }
    if isinstance(value, pd.Series):
        return [plain(cell) for cell in value.tolist()]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: plain(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [plain(item) for item in value]
    if isinstance(value, np.generic):
        return plain(value.item())
    if isinstance(value, float):
        return None if math.isnan(value) else round(value, 9)
    if value is pd.NaT or value is None or value is pd.NA:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def outcome(call: Callable[[], Any]) -> Any:
    """The plain result of a call, or the error a user would read."""
    try:
        return plain(call())
    except ContactLoadError as error:
        return {"error": type(error).__name__, "message": str(error)}


def without_errors(value: Any) -> Any:
    """``value`` with every refusal (an ``outcome`` error) left out."""
    if isinstance(value, dict):
        if set(value) == {"error", "message"}:
            return None
        return {key: without_errors(item) for key, item in value.items()}
    if isinstance(value, list):
        return [without_errors(item) for item in value]
    return value
