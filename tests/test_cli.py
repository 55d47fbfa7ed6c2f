"""The ``contactload`` console script: its ``main(argv)`` run in-process as a fresh process
would run it, or as a real subprocess where a second process matters (tests/helpers.py).

Every test points ``--db`` (or ``CONTACTLOAD_DB``) into ``tmp_path`` and runs with
``tmp_path`` as the working directory, so nothing can touch the repository's data folder.
Expected figures for tests/data/fixture_contacts.csv are worked out by hand in the
docstring of tests/test_metrics.py (contact numbers #1..#25 below refer to it).
"""

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from analytics.cli import build_parser
from analytics.demo import PRACTICES, generate_demo
from analytics.domain import BREAKDOWNS, CATEGORIES, CHANNELS
from analytics.storage.database import Database
from tests.conftest import DEMO_END
from tests.helpers import CONTACTLOAD as CONTACTLOAD  # other test files import it from here
from tests.helpers import contactload

README = Path(__file__).resolve().parent.parent / "README.md"


# --- helpers ---------------------------------------------------------------------------


def run(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``contactload args`` in ``cwd``; CONTACTLOAD_DB unset unless ``env`` sets it.

    In-process through ``main(argv)`` as a fresh process would run it (tests/helpers.py),
    or as a real subprocess when this process holds one of its files open.
    """
    return contactload(*args, cwd=cwd, env=env)


def count_contacts(path: Path) -> int:
    db = Database(path)
    try:
        with db.cursor() as cursor:
            row = cursor.execute("SELECT count(*) FROM contacts").fetchone()
    finally:
        db.close()
    assert row is not None
    return int(row[0])


def summary_json(db: Path, *args: str, cwd: Path) -> list[dict[str, Any]]:
    result = run("summary", "--db", db, "--json", *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    rows = json.loads(result.stdout)
    assert isinstance(rows, list)
    return rows


def as_tuples(rows: list[dict[str, Any]]) -> list[tuple[str, int, float]]:
    return [(row["key"], row["contacts"], row["minutes"]) for row in rows]


def assert_one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """Exit 1 with exactly one "contactload: ..." line on stderr and no traceback."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("contactload: "), lines[0]
    return lines[0]


def assert_usage_error(result: subprocess.CompletedProcess[str]) -> None:
    """argparse's convention: exit 2 with a usage message, no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "usage:" in result.stderr
    assert "Traceback" not in result.stderr


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small demo database (3,000 contacts), built in-process and closed."""
    path = tmp_path_factory.mktemp("cli-demo") / "contactload.duckdb"
    db = Database(path)
    generate_demo(db, contacts=3_000, end=DEMO_END)
    db.close()
    return path


@pytest.fixture(scope="module")
def demo_total(demo_path: Path) -> int:
    return count_contacts(demo_path)


@pytest.fixture(scope="module")
def fixture_path(fixture_db_path: Path) -> Path:
    """The hand-made fixture in a closed file the CLI process can open (read only here)."""
    return fixture_db_path


@pytest.fixture
def holder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A database file held open read-write by another process for the test's duration
    (commands here and in subprocesses give up at once instead of waiting their turn)."""
    monkeypatch.setenv("CONTACTLOAD_WAIT_SECONDS", "0")
    path = tmp_path / "locked.duckdb"
    Database(path).close()  # a real Contact Load file, schema and all
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
            "print('ready', flush=True); time.sleep(30)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.strip() == "ready", process.stderr.read() if process.stderr else line
        yield path
    finally:
        process.kill()
        process.wait(timeout=10)


# --- demo ------------------------------------------------------------------------------


def test_demo_adds_the_requested_contacts_and_if_empty_adds_nothing_more(
    tmp_path: Path,
) -> None:
    db = tmp_path / "demo" / "contactload.duckdb"
    result = run(
        "demo", "--db", db, "--contacts", "2000", "--seed", "3", "--end", "2026-06-30",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert re.search(r"\b2,?000\b", result.stdout), result.stdout
    assert result.stdout.strip().endswith(".")
    assert count_contacts(db) == 2000

    again = run("demo", "--db", db, "--if-empty", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert re.search(r"already|no demo data", again.stdout, re.IGNORECASE), again.stdout
    assert count_contacts(db) == 2000


def test_demo_if_empty_on_a_new_file_adds_data(tmp_path: Path) -> None:
    db = tmp_path / "new" / "contactload.duckdb"
    result = run("demo", "--db", db, "--if-empty", "--contacts", "500", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "500" in result.stdout
    assert count_contacts(db) == 500


def test_contactload_db_environment_variable_is_used_without_db(tmp_path: Path) -> None:
    env_db = tmp_path / "from-env" / "contactload.duckdb"
    env = {"CONTACTLOAD_DB": str(env_db)}
    result = run("demo", "--contacts", "300", "--end", "2026-06-30", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert count_contacts(env_db) == 300
    assert not (tmp_path / "data" / "contactload.duckdb").exists()

    result = run("summary", "--by", "channel", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert sum(row["contacts"] for row in json.loads(result.stdout)) == 300
    assert not (tmp_path / "data" / "contactload.duckdb").exists()


# --- summary --json: shape -------------------------------------------------------------


@pytest.mark.parametrize("by", BREAKDOWNS)
def test_summary_json_shape(by: str, demo_path: Path, demo_total: int, tmp_path: Path) -> None:
    rows = summary_json(demo_path, "--by", by, cwd=tmp_path)
    assert rows
    for row in rows:
        assert isinstance(row, dict)
        names = {"client", "client_key"} if by == "client" else set()
        assert set(row) == {"key", "contacts", "minutes", *names}
        assert isinstance(row["key"], str)
        if by == "client":  # the label as the dashboard shows it, beside the key
            assert row["client_key"] == row["key"] and row["client"] != row["key"]
        assert type(row["contacts"]) is int
        assert type(row["minutes"]) is float
        assert row["contacts"] > 0
        assert row["minutes"] >= 0
    keys = [row["key"] for row in rows]
    assert len(keys) == len(set(keys)), "one row per key"
    assert sum(row["contacts"] for row in rows) == demo_total

    if by == "channel":
        assert set(keys) <= set(CHANNELS)
    elif by == "category":
        assert set(keys) <= set(CATEGORIES)
    elif by == "month":
        assert all(re.fullmatch(r"\d{4}-\d{2}", key) for key in keys), keys
    elif by == "week":
        for key in keys:
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", key), key
            assert date.fromisoformat(key).weekday() == 0, f"{key} is not a Monday"
    elif by == "practice":
        assert set(keys) == set(PRACTICES)
    elif by == "therapist":
        assert set(keys) == {name for staff in PRACTICES.values() for name, _ in staff}
    elif by == "client":
        assert all(re.fullmatch(r"c-[0-9a-f]{12}", key) for key in keys), keys[:5]


# --- summary --json: values on the hand-made fixture -----------------------------------


@pytest.mark.parametrize(
    ("by", "expected"),
    [
        (
            "channel",  # busiest first
            [
                ("phone", 7, 145.0),  # #1 20 #5 30 #7 40 #12 15 #17 5 #19 20 #24 15
                ("video", 4, 90.0),  # #3 25 #10 15 #13 20 #18 30
                ("text", 5, 60.0),  # #2 15 #9 15 #14 5 #20 15 #23 10
                ("portal", 4, 55.0),  # #6 5 #16 25 #22 5 #25 20
                ("email", 4, 40.0),  # #4 10 #8 10 #15 10 #21 10
                ("other", 1, 10.0),  # #11
            ],
        ),
        (
            "month",  # in key order; local calendar months
            [
                # everything but April; #9 (03-31 23:30 New York, 04-01Z) stays in March
                ("2026-03", 21, 360.0),
                # #10 15 #11 10 #17 5 #23 10 (04-01 00:30 Berlin, 03-31Z)
                ("2026-04", 4, 40.0),
            ],
        ),
        (
            "week",  # local Mondays
            [
                ("2026-03-02", 6, 105.0),  # #1 20 #2 15 #4 10 #12 15 #18 30 #24 15
                ("2026-03-09", 5, 120.0),  # #3 25 #5 30 #6 5 #7 40 (Sun local) #13 20
                ("2026-03-16", 3, 35.0),  # #8 10 #14 5 #25 20
                ("2026-03-23", 4, 45.0),  # #15 10 #19 20 #21 10 #22 5
                ("2026-03-30", 5, 80.0),  # #9 15 #10 15 #16 25 #20 15 #23 10
                ("2026-04-06", 2, 15.0),  # #11 10 #17 5
            ],
        ),
    ],
)
def test_summary_json_values_on_the_fixture(
    by: str, expected: list[tuple[str, int, float]], fixture_path: Path, tmp_path: Path
) -> None:
    rows = summary_json(fixture_path, "--by", by, cwd=tmp_path)
    assert as_tuples(rows) == expected
    assert sum(row["contacts"] for row in rows) == 25
    assert sum(row["minutes"] for row in rows) == pytest.approx(400.0)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # both ends inclusive, local dates: 03-31 23:30 New York (#9) is in March,
        # 04-01 00:30 Berlin (#23, 03-31 in UTC) is not
        (
            ["--by", "month", "--from", "2026-03-02", "--to", "2026-03-31"],
            [("2026-03", 21, 360.0)],
        ),
        (["--by", "month", "--from", "2026-04-01"], [("2026-04", 4, 40.0)]),
        # #7 is Sunday 03-15 22:00 in New York (Monday 03-16 in UTC)
        (["--by", "channel", "--from", "2026-03-15", "--to", "2026-03-15"], [("phone", 1, 40.0)]),
        # #25 portal 20 is the only contact on local 03-16
        (["--by", "channel", "--from", "2026-03-16", "--to", "2026-03-16"], [("portal", 1, 20.0)]),
        # first day alone: #1 phone 20
        (["--by", "week", "--from", "2026-03-02", "--to", "2026-03-02"], [("2026-03-02", 1, 20.0)]),
        # 03-16..03-29: weeks of 03-16 (#8 10 #14 5 #25 20) and 03-23 (#15 10 #19 20 #21 10 #22 5)
        (
            ["--by", "week", "--from", "2026-03-16", "--to", "2026-03-29"],
            [("2026-03-16", 3, 35.0), ("2026-03-23", 4, 45.0)],
        ),
        # through 03-06: #1 phone 20, #2 text 15, #12 phone 15, #18 video 30, #24 phone 15
        (
            ["--by", "channel", "--to", "2026-03-06"],
            [("phone", 3, 50.0), ("video", 1, 30.0), ("text", 1, 15.0)],
        ),
        # before the data: nothing
        (["--by", "channel", "--to", "2026-03-01"], []),
    ],
)
def test_summary_json_date_range_narrows_by_local_dates(
    args: list[str], expected: list[tuple[str, int, float]], fixture_path: Path, tmp_path: Path
) -> None:
    assert as_tuples(summary_json(fixture_path, *args, cwd=tmp_path)) == expected


# --- summary: readable table -----------------------------------------------------------


@pytest.mark.parametrize(
    ("by", "keys"),
    [
        ("channel", ["phone", "video", "text", "portal", "email", "other"]),
        ("month", ["2026-03", "2026-04"]),
        ("practice", ["Harbor Counseling", "Lindenhof Praxis"]),
    ],
)
def test_summary_table_has_a_header_and_one_line_per_key(
    by: str, keys: list[str], fixture_path: Path, tmp_path: Path
) -> None:
    result = run("summary", "--db", fixture_path, "--by", by, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    header, body = lines[0], lines[1:]
    assert "minutes" in header
    assert "hours" in header
    assert len(body) == len(keys), result.stdout
    for key in keys:
        matching = [line for line in body if re.search(rf"(^|\s){re.escape(key)}(\s|$)", line)]
        assert len(matching) == 1, (key, result.stdout)


def test_summary_table_of_nothing_says_so(fixture_path: Path, tmp_path: Path) -> None:
    result = run(
        "summary", "--db", fixture_path, "--by", "channel", "--to", "2026-01-31", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    assert "hours" not in result.stdout


# --- errors ----------------------------------------------------------------------------


def test_reversed_dates_exit_1_with_one_sentence(fixture_path: Path, tmp_path: Path) -> None:
    result = run(
        "summary", "--db", fixture_path, "--by", "channel",
        "--from", "2026-03-10", "--to", "2026-03-01",
        cwd=tmp_path,
    )  # fmt: skip
    line = assert_one_line_error(result)
    assert "2026-03-10" in line
    assert result.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ["summary", "--by", "channel", "--from", "notadate"],
        ["summary", "--by", "channel", "--to", "2026-02-30"],
        ["summary", "--by", "nonsense"],
        ["summary"],
        [],
        ["frobnicate"],
        ["demo", "--contacts", "0"],
        ["demo", "--contacts", "-5"],
        ["demo", "--contacts", "many"],
        ["demo", "--end", "tomorrow"],
    ],
    ids=lambda args: " ".join(args) or "no-subcommand",
)
def test_argument_mistakes_exit_2(args: list[str], tmp_path: Path) -> None:
    db = tmp_path / "contactload.duckdb"
    extra = ["--db", str(db)] if args and args[0] in ("summary", "demo") else []
    result = run(*args, *extra, cwd=tmp_path)
    assert_usage_error(result)
    assert not db.exists() or count_contacts(db) == 0


def test_locked_database_exits_1_with_one_sentence(holder: Path, tmp_path: Path) -> None:
    result = run("summary", "--db", holder, "--by", "channel", cwd=tmp_path)
    line = assert_one_line_error(result)
    assert "in use" in line
    assert str(holder) in line or holder.name in line
    message = line.removeprefix("contactload: ")
    assert message.endswith(".")
    # one sentence: no full stop followed by a new sentence inside the message
    assert not re.search(r"\.\s+[A-Z]", message.replace(str(holder), "")), message


# --- documentation ---------------------------------------------------------------------


def _subcommands() -> list[str]:
    parser = build_parser()
    for action in parser._actions:  # argparse offers no public way to list subparsers
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    raise AssertionError("build_parser() has no subcommands")


def test_every_subcommand_is_in_the_readme() -> None:
    commands = _subcommands()
    assert set(commands) >= {"demo", "summary"}
    assert README.exists(), "README.md is missing"
    text = README.read_text(encoding="utf-8")
    for command in commands:
        assert re.search(rf"contactload\s+{re.escape(command)}\b", text), (
            f"README.md does not show `contactload {command}`"
        )
