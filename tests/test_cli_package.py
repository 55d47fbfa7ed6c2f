"""The command line as a package (analytics/cli/): every command's help renders, every
command audits under the one identity of its run, rows print one way (JSON and CSV carry
the same rows), and no module of it grows past 800 lines.

Run in-process through ``main(argv)`` on private copies of the hand-made fixture
(tests/data/fixture_contacts.csv: 25 contacts, 7 clients).
"""

import csv
import getpass
import io
import json
import shutil
from pathlib import Path

import pytest

import analytics.cli
from analytics.access.scope import LOCAL
from analytics.cli import build_parser, main
from analytics.cli.command import REGISTRY
from analytics.storage.audit import entries
from analytics.storage.database import Database
from tests.test_damaged import command_names


@pytest.fixture
def db_path(fixture_db_path: Path, tmp_path: Path) -> Path:
    """A private copy of the fixture database, with its pseudonym secret."""
    path = tmp_path / "db" / "contactload.duckdb"
    path.parent.mkdir()
    shutil.copy(fixture_db_path, path)
    shutil.copy(fixture_db_path.parent / ".contactload-secret", path.parent)
    return path


def every_command() -> list[str]:
    """Each command as typed (``boundaries show``), from the parser itself."""
    return sorted(name for name in command_names() if name)


@pytest.mark.parametrize("name", ["", *every_command()])
def test_every_commands_help_renders(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    words = name.split()
    with pytest.raises(SystemExit) as raised:
        main([*words, "--help"])
    assert raised.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: contactload {name}".rstrip())
    declared = {command.name: command for command in REGISTRY.commands}
    if name in declared:  # a command (not a group): its own help line and its options
        assert "--db" in out
        for option in declared[name].options:
            flag = option.flags[0]
            assert (flag if flag.startswith("-") else option.settings["metavar"]) in out


def test_every_declared_command_is_in_the_parser() -> None:
    declared = {command.name for command in REGISTRY.commands}
    assert declared == set(every_command())
    assert len(declared) == 31  # 28 and addresses list|map|unmap


def test_every_command_audits_under_the_identity_of_its_run(
    db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "ana.cli")
    db = str(db_path)
    out = tmp_path / "out"
    out.mkdir()
    runs = [
        ["compare", "--by", "practice"],
        ["billing"],
        ["billing", "--json"],
        ["export", "--out", str(out / "contacts.csv")],
        ["sessions"],
        ["report", "--from", "2026-03-01", "--to", "2026-03-31", "--out", str(out / "r.html")],
        ["boundaries", "export", str(out / "b.toml")],
        ["billing", "rules", "export", str(out / "rules.toml")],
        ["settings", "set", "min_group_clients", "5"],
        ["backup", "--out", str(out / "copy.duckdb")],
    ]
    for argv in runs:
        assert main([*argv, "--db", db]) == 0, argv
    database = Database(db_path)
    try:
        log = entries(database, LOCAL)
    finally:
        database.close()
    ours = log[log["identity"] == "ana.cli"]
    # one entry per run, newest first, every one under the run's identity
    assert len(ours) == len(runs) == len(log) - 1  # the rest: the fixture's own import
    assert set(ours["role"]) == {"local"}
    details = list(reversed(ours["detail"].tolist()))
    assert details[0].startswith("comparison by practice: ")
    assert details[1] == details[2] and details[1].startswith("billing: ")
    assert details[3] == "25 contacts as csv to contacts.csv"
    assert details[4] == "sessions: 0 listed to the terminal"


def test_json_and_csv_carry_the_same_rows(
    fixture_db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(fixture_db_path)
    for argv in (["summary", "--by", "client"], ["summary", "--by", "channel"], ["audit"]):
        assert main([*argv, "--json", "--db", db]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert main([*argv, "--csv", "--db", db]) == 0
        listed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
        assert rows and len(listed) == len(rows)
        assert [list(row) for row in listed] == [list(row) for row in rows]
        assert listed == [
            {key: "" if value is None else str(value) for key, value in row.items()} for row in rows
        ]


def test_json_and_csv_are_one_choice(
    fixture_db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["summary", "--by", "channel", "--json", "--csv", "--db", str(fixture_db_path)])
    assert raised.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_no_module_of_the_command_line_is_over_800_lines() -> None:
    folder = Path(analytics.cli.__file__).parent
    modules = sorted(folder.glob("*.py"))
    assert len(modules) >= 8
    for module in modules:
        lines = module.read_text(encoding="utf-8").count("\n")
        assert lines < 800, f"{module.name} has {lines} lines"


def test_the_parser_is_built_from_the_declarations() -> None:
    parser = build_parser()
    args = parser.parse_args(["billing", "--db", "x.duckdb", "rules", "show"])
    assert args.cli_command.name == "billing rules show"
    assert str(args.db) == "x.duckdb"  # the outer --db stays when the leaf gives none
    args = parser.parse_args(["billing", "rules", "show", "--db", "y.duckdb"])
    assert str(args.db) == "y.duckdb"
    assert parser.parse_args(["billing"]).cli_command.name == "billing"


@pytest.mark.parametrize(
    ("needle", "home"),
    [
        ("Database(", "context.py"),  # the database is opened one way: ctx.db
        ("default_db_path(", "context.py"),
        ("local_user(", "context.py"),  # one identity per run: ctx.scope
        ("os_account(", None),
        ("json.dumps(", "output.py"),  # rows print one way
        ("csv.DictWriter(", "output.py"),
    ],
)
def test_each_shared_concern_lives_in_one_module(needle: str, home: str | None) -> None:
    folder = Path(analytics.cli.__file__).parent
    found = sorted(
        module.name
        for module in folder.glob("*.py")
        if needle in module.read_text(encoding="utf-8")
    )
    assert found == ([home] if home else [])
