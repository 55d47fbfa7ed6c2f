"""A database file cut short (by a few bytes, or by a few KB) is refused in one sentence
naming the file and what to do, by every command and every page; never a traceback, and
never blamed on another file (an export's output).

DuckDB writes whole blocks after a 12 KB header, so a file that lost its end is shorter
than its block count says: ``Database`` refuses it on opening. A file damaged while it is
open (the dashboard keeps it open for days) fails only when a query reaches the missing
part: the adapter turns that DuckDB error into the same sentence, whichever query met it.
"""

import os
import shutil
from collections.abc import Iterator
from itertools import takewhile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.access.filters import ContactFilter
from analytics.cli import build_parser, main
from analytics.errors import DamagedDatabaseError
from analytics.measures import compare, compliance
from analytics.output import exports
from analytics.storage.database import DAMAGED, Database
from tests.test_cli import assert_one_line_error, run
from ui.navigation import PAGES

ROOT = Path(__file__).resolve().parent.parent

CUTS = {"a few bytes": 5, "a few KB": 3 * 1024 + 7}


def damaged_copy(source: Path, folder: Path, cut: int) -> Path:
    """A copy of ``source`` (with its pseudonym secret) whose last ``cut`` bytes are gone."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "contactload.duckdb"
    shutil.copy(source, path)
    secret = source.parent / ".contactload-secret"
    if secret.exists():
        shutil.copy(secret, folder)
    os.truncate(path, path.stat().st_size - cut)
    return path


def commands(db: Path, out: Path) -> list[list[str]]:
    """Every command of ``contactload`` (each subcommand and action at least once)."""
    policy = ROOT / "tests" / "data" / "boundaries" / "policy.toml"
    every = [
        ["demo", "--contacts", "10"],
        ["demo", "--remove"],
        ["summary", "--by", "channel"],
        ["summary", "--by", "client", "--per-session-hour"],
        ["import", str(ROOT / "tests" / "data" / "fixture_contacts.csv")],
        ["inbox", "--inbox", str(out / "inbox"), "--settle", "0.1"],
        [
            "import",
            str(ROOT / "tests" / "data" / "import" / "workbooks" / "clockify.xlsx"),
            "--sheet",
            "Detailed Report",
        ],
        ["compliance"],
        ["compare", "--by", "therapist"],
        ["billing"],
        ["billing", "rules", "show"],
        ["billing", "rules", "load", str(ROOT / "tests" / "data" / "cli" / "rules.toml")],
        ["billing", "rules", "export", str(out / "rules.toml")],
        ["sessions"],
        ["report", "--from", "2026-01-01", "--to", "2026-11-27", "--out", str(out / "r.html")],
        ["batches"],
        ["undo", "1"],
        ["boundaries", "show"],
        ["boundaries", "load", str(policy)],
        ["boundaries", "export", str(out / "b.toml")],
        ["phones", "list"],
        ["phones", "map", "+4917155501234", "Someone"],
        ["phones", "unmap", "+4917155501234"],
        ["phones", "region", "DE"],
        ["addresses", "list"],
        ["addresses", "map", "lena@example.org", "Someone"],
        ["addresses", "unmap", "lena@example.org"],
        ["export", "--out", str(out / "contacts.csv")],
        ["backup", "--out", str(out / "backup.duckdb")],
        ["restore", str(out / "backup.duckdb")],
        ["erase-client", "--client", "c-000000000000"],
        ["settings", "show"],
        ["settings", "set", "minutes_per_text", "3"],
        ["audit"],
    ]
    return [[*command, "--db", str(db)] for command in every]


def command_names() -> set[str]:
    """Every ``command`` and ``command action`` the parser knows (a command whose actions
    are optional, like ``billing`` beside ``billing rules show``, is a command too)."""
    import argparse

    def walk(prefix: str, parser: argparse.ArgumentParser) -> set[str]:
        nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        if not nested:
            return {prefix}
        names = set() if nested[0].required else {prefix}
        for name, child in nested[0].choices.items():
            names |= walk(f"{prefix} {name}".strip(), child)
        return names

    return walk("", build_parser())


@pytest.fixture(params=list(CUTS), ids=list(CUTS))
def damaged(request: pytest.FixtureRequest, demo_db_path: Path, tmp_path: Path) -> Path:
    return damaged_copy(demo_db_path, tmp_path / "db", CUTS[request.param])


def test_the_list_below_is_every_command(tmp_path: Path) -> None:
    nested = {"boundaries": 2, "phones": 2, "addresses": 2, "settings": 2, "billing": 3}
    listed = {
        " ".join(takewhile(lambda word: not word.startswith("-"), command[: nested[command[0]]]))
        if command[0] in nested
        else command[0]
        for command in commands(tmp_path / "x.duckdb", tmp_path)
    }
    assert listed == command_names()


def test_every_command_refuses_a_damaged_file_in_one_sentence(
    damaged: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = f"contactload: {DAMAGED.format(path=damaged)}"
    (tmp_path / "out").mkdir()
    size = damaged.stat().st_size
    for command in commands(damaged, tmp_path / "out"):
        if command[0] == "restore":
            continue  # restoring a backup is the remedy: below
        assert main(command) == 1, command
        captured = capsys.readouterr()
        assert captured.err.strip().splitlines() == [expected], command
        assert captured.out == "", command
    # Nothing was written beside it, nor to the damaged file.
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == []
    assert damaged.stat().st_size == size


@pytest.mark.parametrize("command", ["compare", "compliance", "export", "backup"])
def test_the_commands_that_crashed_say_it_as_a_process_too(
    command: str, demo_db_path: Path, tmp_path: Path
) -> None:
    damaged = damaged_copy(demo_db_path, tmp_path / "db", CUTS["a few bytes"])
    arguments = {
        "compare": ["compare", "--by", "therapist"],
        "compliance": ["compliance"],
        "export": ["export", "--out", str(tmp_path / "contacts.csv")],
        "backup": ["backup", "--out", str(tmp_path / "backup.zip")],
    }[command]
    line = assert_one_line_error(run(*arguments, "--db", damaged, cwd=tmp_path))
    assert line == f"contactload: {DAMAGED.format(path=damaged)}"
    assert "contacts.csv" not in line  # not blamed on the output file


def test_a_backup_made_before_restores_over_the_damaged_file(
    demo_db_path: Path, tmp_path: Path
) -> None:
    healthy = tmp_path / "healthy" / "contactload.duckdb"
    healthy.parent.mkdir()
    shutil.copy(demo_db_path, healthy)
    # The backup carries the secret the client keys were made with (care.backup checks it).
    shutil.copy(demo_db_path.parent / ".contactload-secret", healthy.parent)
    backup_file = tmp_path / "backup.duckdb"
    made = run("backup", "--out", backup_file, "--db", healthy, cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    damaged = damaged_copy(healthy, tmp_path / "db", CUTS["a few KB"])
    restored = run("restore", backup_file, "--force", "--db", damaged, cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    summary = run("summary", "--by", "practice", "--db", damaged, cwd=tmp_path)
    assert summary.returncode == 0, summary.stderr
    expected = run("summary", "--by", "practice", "--db", healthy, cwd=tmp_path)
    assert summary.stdout == expected.stdout


@pytest.mark.parametrize("cut", list(CUTS.values()), ids=list(CUTS))
def test_a_file_damaged_while_open_fails_in_one_sentence_in_any_query(
    cut: int, demo_db_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "contactload.duckdb"
    shutil.copy(demo_db_path, path)
    db = Database(path)  # opened whole (only its header and settings read so far)
    try:
        os.truncate(path, path.stat().st_size - cut)
        expected = DAMAGED.format(path=path)
        for work in (
            lambda: compare.comparison_report(db, ContactFilter(), "therapist", None),
            lambda: compliance.compliance_report(db, ContactFilter(), "client"),
            lambda: exports.export_contacts(db, ContactFilter(), tmp_path / "contacts.csv"),
        ):
            with pytest.raises(DamagedDatabaseError) as caught:
                work()
            assert str(caught.value) == expected
    finally:
        db.close()


# --- pages ------------------------------------------------------------------------------


@pytest.fixture
def fresh_caches() -> Iterator[None]:
    """The server's cached database and results start (and end) empty."""
    import streamlit as st

    from ui.state import _database

    st.cache_data.clear()
    _database.clear()
    yield
    st.cache_data.clear()
    _database.clear()


def test_the_dashboard_refuses_a_damaged_file_in_one_sentence(
    damaged: Path, monkeypatch: pytest.MonkeyPatch, fresh_caches: None
) -> None:
    monkeypatch.setenv("CONTACTLOAD_DB", str(damaged))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not app.exception, [exception.message for exception in app.exception]
    assert [error.value for error in app.error] == [DAMAGED.format(path=damaged)]
    assert len(app.metric) == 0


@pytest.mark.parametrize("cut", list(CUTS.values()), ids=list(CUTS))
def test_every_page_of_a_file_damaged_while_open_shows_one_sentence(
    cut: int,
    demo_db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_caches: None,
) -> None:
    from ui.state import _database

    path = tmp_path / "contactload.duckdb"
    shutil.copy(demo_db_path, path)
    monkeypatch.setenv("CONTACTLOAD_DB", str(path))
    # The server opened the file when it was whole; it is cut short while it runs.
    _database(str(path.resolve()))
    os.truncate(path, path.stat().st_size - cut)
    expected = DAMAGED.format(path=path.resolve())
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    said = 0
    for page in PAGES:
        app.switch_page(page.path).run()
        assert not app.exception, (page.path, [e.message for e in app.exception])
        errors = [str(error.value) for error in app.error]
        # A page that never reads the lost part works; one that does says this, only this.
        assert set(errors) <= {expected}, (page.path, errors)
        said += bool(errors)
    assert said >= 3
