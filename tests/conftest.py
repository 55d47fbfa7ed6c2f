"""Shared fixtures: real DuckDB files in a temporary folder, filled from real CSV files.

Every new database file of the test process starts as a copy of one migrated once per
session (tests/helpers.py), so tests pay a file copy rather than every migration; mark a
test (or module) ``real_migrations`` when the migrations themselves are what it checks.
"""

import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings
from playwright.sync_api import expect as playwright_expect

from analytics.demo import demo_boundaries, generate_demo
from analytics.storage.database import Database
from analytics.storage.pseudonyms import secret_path
from analytics.storage.store import add_contacts
from tests import helpers

DATA = Path(__file__).parent / "data"

# Property tests keep the example counts they set themselves; under `make test` two workers
# share the cores (with Chromium and Streamlit servers beside them), so a slow example is
# load, not a failure: no per-example deadline and no too-slow health check unless a test
# asks for one. HYPOTHESIS_PROFILE=default restores Hypothesis's own defaults.
settings.register_profile(
    "ci", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# The same for the browser tests: a page that renders slowly because the other worker is
# busy still has to show the same thing, given 20 s instead of Playwright's 5 s.
playwright_expect.set_options(timeout=20_000)

DEMO_END = date(2026, 11, 27)
"""Demo data in tests always ends here, so figures do not move with the calendar."""


def load_fixture_csv(db: Database, name: str) -> None:
    """Store a canonical contacts CSV from tests/data (started_at written with its offset)."""
    contacts = pd.read_csv(DATA / name, dtype=str, keep_default_na=False)
    add_contacts(db, contacts, source="fixture", file_name=name)


@pytest.fixture(scope="session", autouse=True)
def _template_databases(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[helpers.TemplateDatabases]:
    """New database files start as copies of one migrated once (see tests/helpers.py)."""
    templates = helpers.TemplateDatabases(tmp_path_factory.mktemp("template"))
    templates.install()
    helpers.TEMPLATES = templates
    try:
        yield templates
    finally:
        helpers.TEMPLATES = None
        templates.uninstall()


@pytest.fixture(autouse=True)
def _real_migrations_when_marked(
    request: pytest.FixtureRequest, _template_databases: helpers.TemplateDatabases
) -> Iterator[None]:
    """Tests marked ``real_migrations`` create their files through the migrations."""
    if request.node.get_closest_marker("real_migrations") is None:
        yield
        return
    _template_databases.enabled = False
    try:
        yield
    finally:
        _template_databases.enabled = True


@pytest.fixture
def empty_db(tmp_path: Path) -> Iterator[Database]:
    """A new, empty database file."""
    db = Database(tmp_path / "contactload.duckdb")
    yield db
    db.close()


@pytest.fixture
def fixture_db(fixture_db_path: Path, tmp_path: Path) -> Iterator[Database]:
    """The small hand-checked fixture of tests/data/fixture_contacts.csv, in a file of its
    own (a copy of the one stored per session, with its pseudonym secret)."""
    path = tmp_path / "contactload.duckdb"
    shutil.copyfile(fixture_db_path, path)
    shutil.copyfile(secret_path(fixture_db_path), secret_path(path))
    db = Database(path)
    yield db
    db.close()


@pytest.fixture(scope="session")
def fixture_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-made fixture stored once per test session in a closed database file.

    Tests that write copy it (with its pseudonym secret); the CLI can open it directly.
    """
    path = tmp_path_factory.mktemp("fixture") / "contactload.duckdb"
    db = Database(path)
    try:
        load_fixture_csv(db, "fixture_contacts.csv")
    finally:
        db.close()
    return path


@pytest.fixture(scope="session")
def demo_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo database built once per test session (default size, fixed end date)."""
    path = tmp_path_factory.mktemp("demo") / "contactload.duckdb"
    db = Database(path)
    generate_demo(db, end=DEMO_END)
    demo_boundaries(db)
    db.close()
    return path


@pytest.fixture(scope="session")
def scoped_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The scope tests' two-practice fixture (tests/scope_world.py), stored once per test
    session in a closed file; tests that write copy it."""
    from tests.scope_world import build_scoped_database

    path = tmp_path_factory.mktemp("scope") / "contactload.duckdb"
    build_scoped_database(path)
    return path


@pytest.fixture(scope="session")
def scoped_scopes(scoped_db_path: Path) -> dict[str, Any]:
    """The scopes under test (tests/scope_world.py) by name, read once from the stored
    fixture: every copy of it holds the same practice and therapist ids."""
    from tests.scope_world import _scopes, _world

    db = Database(scoped_db_path)
    try:
        return _scopes(_world(db))
    finally:
        db.close()


@pytest.fixture(autouse=True)
def _navigation_apps_under_apptest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let AppTest rerun an ``st.navigation`` app that has a ``pages/`` folder.

    Streamlit remembers that an app calls ``st.navigation`` in a class attribute, which
    AppTest resets before every run; with a ``pages/`` folder present the second run then
    falls back to the old folder-based multipage mode and runs the page script without
    app.py (a real server keeps the flag, so only tests are affected). Keeping the flag
    False after AppTest resets it gives tests the server's behaviour.
    """
    import streamlit.testing.v1.app_test as app_test_module
    from streamlit.runtime.pages_manager import PagesManager

    class NavigationPagesManager(PagesManager):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            PagesManager.uses_pages_directory = False

    monkeypatch.setattr(app_test_module, "PagesManager", NavigationPagesManager)
