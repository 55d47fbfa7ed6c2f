"""The command line speaks like the dashboard, lists sessions, and never invents a database.

Run in-process through ``main(argv)`` (a real DuckDB file each time), except one test that
runs the real console script. Two small databases are built through the CLI itself:

``policy``: tests/data/cli/policy_contacts.csv imported for Mia Roth (Europe/Berlin) and
tests/data/cli/policy.toml loaded (from 2026-01-01: phone, email and text agreed, texts for
scheduling only). Worked out by hand (local Berlin time; summer time began 29 March):

    Ada  Fri 03-27 09:00 CET   10 text   support     out: text may carry only scheduling
    Ada  Mon 03-30 18:30 CEST   5 text   scheduling  ok
    Ben  Sat 03-28 23:30 CET   15 portal check_in    out: portal is not agreed
    Ben  Tue 03-31 08:15 CEST  20 phone  support     ok

So Ada has 2 contacts, 15 min, 1 out of policy; Ben 2 contacts, 35 min, 1 out of policy.

``sessions``: tests/data/cli/sessions_berlin.ics (Mia Roth, Europe/Berlin) and
sessions_new_york.ics (Sam Lee, America/New_York), every time written in UTC:

    20260306T150000Z  Sam Lee  Cleo  50 min  -05:00 -> 2026-03-06 10:00
    20260310T140000Z  Sam Lee  Cleo  50 min  -04:00 (US summer time from 03-08) -> 10:00
    20260327T080000Z  Mia Roth Ada   50 min  +01:00 -> 2026-03-27 09:00
    20260328T233000Z  Mia Roth Ben   45 min  +01:00 -> 2026-03-29 00:30 (the next local day)
    20260329T013000Z  Mia Roth Ada   50 min  +02:00 (summer time from 01:00Z) -> 03:30
    20260330T070000Z  Mia Roth Ada   50 min  +02:00 -> 2026-03-30 09:00
    20260331T160000Z  Mia Roth Ben   50 min  +02:00 -> 2026-03-31 18:00, no-show
"""

import csv
import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analytics.access.filters import ContactFilter
from analytics.access.scope import Scope
from analytics.cli import main
from analytics.errors import InvalidFilterError
from analytics.storage.database import Database
from analytics.storage.sessions import client_keys_named, session_list
from tests.test_cli import assert_one_line_error, run

DATA = Path(__file__).parent / "data" / "cli"


def cli(*args: str | Path) -> int:
    """``contactload args`` in-process; its exit code."""
    return main([str(arg) for arg in args])


def keys_of(path: Path) -> dict[str, str]:
    """Client label -> pseudonymous key, read from the file."""
    db = Database(path)
    try:
        frame = db.frame("SELECT label, client_key FROM clients", [])
    finally:
        db.close()
    return dict(zip(frame["label"], frame["client_key"], strict=True))


@pytest.fixture(scope="module")
def policy_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("policy") / "contactload.duckdb"
    assert cli("import", DATA / "policy_contacts.csv", "--db", path, "--time-zone",
               "Europe/Berlin") == 0  # fmt: skip
    assert cli("boundaries", "load", DATA / "policy.toml", "--db", path) == 0
    return path


@pytest.fixture(scope="module")
def sessions_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sessions") / "contactload.duckdb"
    for name, therapist, zone in (
        ("sessions_berlin.ics", "Mia Roth", "Europe/Berlin"),
        ("sessions_new_york.ics", "Sam Lee", "America/New_York"),
    ):
        code = cli("import", DATA / name, "--db", path, "--therapist", therapist,
                   "--practice", "Elbe Praxis", "--time-zone", zone)  # fmt: skip
        assert code == 0
    return path


def output(capsys: pytest.CaptureFixture[str], *args: str | Path) -> str:
    """What ``contactload args`` printed, after checking it succeeded quietly."""
    capsys.readouterr()
    assert cli(*args) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    return captured.out


def as_json(capsys: pytest.CaptureFixture[str], *args: str | Path) -> Any:
    return json.loads(output(capsys, *args, "--json"))


# --- read commands never invent a database -------------------------------------------------


def read_commands(out: Path) -> list[list[str]]:
    """Every command that only reads, and those that can only act on stored rows."""
    return [
        ["summary", "--by", "channel"],
        ["summary", "--by", "client", "--per-session-hour"],
        ["sessions"],
        ["sessions", "--csv"],
        ["compliance", "--json"],
        ["compare", "--by", "therapist"],
        ["billing"],
        ["billing", "rules", "show"],
        ["billing", "rules", "export", str(out / "rules.toml")],
        ["report", "--from", "2026-01-01", "--to", "2026-01-31", "--out", str(out / "r.html")],
        ["batches"],
        ["export", "--out", str(out / "contacts.csv")],
        ["backup", "--out", str(out / "backup.duckdb")],
        ["boundaries", "show"],
        ["boundaries", "export", str(out / "b.toml")],
        ["boundaries", "load", str(DATA / "policy.toml")],
        ["phones", "list"],
        ["phones", "region"],
        ["phones", "unmap", "+4917155501234"],
        ["settings", "show"],
        ["audit"],
        ["undo", "1"],
        ["erase-client", "--client", "c-000000000000"],
    ]


@pytest.mark.parametrize(
    "command", read_commands(Path("OUT")), ids=lambda command: " ".join(command[:3])
)
def test_a_read_command_on_a_missing_file_says_so_and_creates_nothing(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "nowhere" / "typo.duckdb"
    out = tmp_path / "out"
    out.mkdir()
    argv = [part.replace("OUT", str(out)) for part in command]
    assert cli(*argv, "--db", typo) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        f"contactload: The database {typo} does not exist; check the path given with --db "
        "(or $CONTACTLOAD_DB), or create it with `contactload import FILE` or "
        "`contactload demo`."
    ]
    # No file, no WAL, no folder, no output file.
    assert sorted(path.name for path in tmp_path.rglob("*")) == ["out"]


def test_the_default_database_is_not_invented_either(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CONTACTLOAD_DB", raising=False)
    assert cli("summary", "--by", "channel") == 1
    assert "data/contactload.duckdb does not exist" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_console_script_says_it_in_one_line(tmp_path: Path) -> None:
    result = run("sessions", "--db", "typo.duckdb", cwd=tmp_path)
    line = assert_one_line_error(result)
    assert line.startswith("contactload: The database typo.duckdb does not exist;")
    assert list(tmp_path.iterdir()) == []


def test_writing_commands_still_create_a_new_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    new = tmp_path / "new" / "contactload.duckdb"
    assert cli("settings", "set", "minutes_per_text", "3", "--db", new) == 0
    assert new.exists()
    assert "minutes_per_text = 3 min" in capsys.readouterr().out


# --- clients named as the dashboard names them --------------------------------------------------


def test_summary_names_clients_by_label_or_key(
    policy_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = keys_of(policy_path)
    table = output(capsys, "summary", "--by", "client", "--db", policy_path).splitlines()
    assert [line.split()[:3] for line in table[1:]] == [["Ben", "2", "35.0"], ["Ada", "2", "15.0"]]
    by_key = output(capsys, "summary", "--by", "client", "--keys", "--db", policy_path)
    assert [line.split()[0] for line in by_key.splitlines()[1:]] == [keys["Ben"], keys["Ada"]]
    assert "Ada" not in by_key and "Ben" not in by_key
    rows = as_json(capsys, "summary", "--by", "client", "--db", policy_path)
    assert rows == [
        {"key": keys["Ben"], "client": "Ben", "client_key": keys["Ben"], "contacts": 2,
         "minutes": 35.0},
        {"key": keys["Ada"], "client": "Ada", "client_key": keys["Ada"], "contacts": 2,
         "minutes": 15.0},
    ]  # fmt: skip
    # other breakdowns name no client
    assert as_json(capsys, "summary", "--by", "channel", "--db", policy_path)[0].keys() == {
        "key", "contacts", "minutes"
    }  # fmt: skip


def test_summary_per_session_hour_names_clients_too(
    sessions_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # No contacts, sessions only: Ada 3 x 50 min = 2.5 h, Ben 45 + 50 (a no-show keeps its
    # place in the schedule) = 1.58 h, Cleo 2 x 50 min.
    keys = keys_of(sessions_path)
    args = ("summary", "--by", "client", "--per-session-hour", "--db", sessions_path)
    rows = as_json(capsys, *args)
    assert {(row["client"], row["client_key"], row["key"]) for row in rows} == {
        (label, key, key) for label, key in keys.items()
    }
    hours = {row["client"]: row["scheduled_session_hours"] for row in rows}
    assert hours == pytest.approx({"Ada": 2.5, "Ben": 95 / 60, "Cleo": 100 / 60})
    table = output(capsys, *args)
    assert {line.split()[0] for line in table.splitlines()[1:]} == {"Ada", "Ben", "Cleo"}
    keyed = output(capsys, *args, "--keys")
    assert {line.split()[0] for line in keyed.splitlines()[1:]} == set(keys.values())


def test_compliance_lists_out_of_policy_contacts_in_words(
    policy_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = keys_of(policy_path)
    ada = {
        "date": "2026-03-27", "time": "09:00", "client": "Ada", "client_key": keys["Ada"],
        "therapist": "Mia Roth", "channel": "Text / messaging", "category": "Support",
        "minutes": 10.0, "reason": "Text / messaging may carry only Scheduling, not Support",
    }  # fmt: skip
    ben = {
        "date": "2026-03-28", "time": "23:30", "client": "Ben", "client_key": keys["Ben"],
        "therapist": "Mia Roth", "channel": "Portal", "category": "Check-ins",
        "minutes": 15.0,
        "reason": "Portal is not an agreed channel (agreed: Email, Phone, Text / messaging)",
    }  # fmt: skip
    rows = {row["key"]: row for row in as_json(capsys, "compliance", "--db", policy_path)}
    assert set(rows) == {keys["Ada"], keys["Ben"]}
    assert rows[keys["Ada"]]["client"] == "Ada"
    assert rows[keys["Ada"]]["client_key"] == keys["Ada"]
    assert rows[keys["Ada"]]["out_of_policy"] == [ada]
    assert rows[keys["Ben"]]["out_of_policy"] == [ben]
    # what it reported before is still there
    assert (rows[keys["Ben"]]["contacts"], rows[keys["Ben"]]["minutes"]) == (2, 35.0)
    assert rows[keys["Ben"]]["out_of_policy_contacts"] == 1
    (mia,) = as_json(capsys, "compliance", "--by", "therapist", "--db", policy_path)
    assert (mia["key"], mia["out_of_policy"]) == ("Mia Roth", [ada, ben])
    table = output(capsys, "compliance", "--db", policy_path)
    assert [line.split()[0] for line in table.splitlines()] == ["client", "Ben", "Ada"]
    keyed = output(capsys, "compliance", "--keys", "--db", policy_path)
    assert [line.split()[0] for line in keyed.splitlines()[1:]] == [keys["Ben"], keys["Ada"]]


def test_billing_names_clients_by_label_and_carries_the_key(
    policy_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Ben's client-initiated portal check-in (15 min, 98971) and phone call (20 min, 98967);
    # Ada's texts are no billing channel.
    keys = keys_of(policy_path)
    rows = as_json(capsys, "billing", "--db", policy_path)
    assert [(row["client"], row["client_key"], row["code"], row["minutes"]) for row in rows] == [
        ("Ben", keys["Ben"], "98971", 15.0),
        ("Ben", keys["Ben"], "98967", 20.0),
    ]
    table = output(capsys, "billing", "--db", policy_path)
    assert table.splitlines()[1].split()[0] == "Ben"
    keyed = output(capsys, "billing", "--keys", "--db", policy_path)
    assert keyed.splitlines()[1].split()[0] == keys["Ben"]


def test_phone_mappings_carry_label_and_key(
    policy_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "contactload.duckdb"
    shutil.copy(policy_path, path)
    secret = policy_path.parent / ".contactload-secret"
    if secret.exists():
        shutil.copy(secret, tmp_path)
    assert cli("phones", "map", "+4917155501234", "Ada", "--therapist", "Mia Roth",
               "--db", path) == 0  # fmt: skip
    (row,) = as_json(capsys, "phones", "list", "--db", path)
    assert (row["client"], row["client_key"]) == ("Ada", keys_of(path)["Ada"])
    keyed = output(capsys, "phones", "list", "--keys", "--db", path)
    assert keys_of(path)["Ada"] in keyed and " Ada " not in keyed


# --- contactload sessions ------------------------------------------------------------------------

EVERY_SESSION = [
    ("2026-03-06", "10:00", 50.0, "Cleo", "Sam Lee", "Attended"),
    ("2026-03-10", "10:00", 50.0, "Cleo", "Sam Lee", "Attended"),
    ("2026-03-27", "09:00", 50.0, "Ada", "Mia Roth", "Attended"),
    ("2026-03-29", "00:30", 45.0, "Ben", "Mia Roth", "Attended"),
    ("2026-03-29", "03:30", 50.0, "Ada", "Mia Roth", "Attended"),
    ("2026-03-30", "09:00", 50.0, "Ada", "Mia Roth", "Attended"),
    ("2026-03-31", "18:00", 50.0, "Ben", "Mia Roth", "No-show"),
]


def listed(rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (row["date"], row["start"], row["minutes"], row["client"], row["therapist"], row["status"])
        for row in rows
    ]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ([], EVERY_SESSION),
        (["--therapist", "Mia Roth"], EVERY_SESSION[2:]),
        (["--therapist", "Sam Lee", "--therapist", "Mia Roth"], EVERY_SESSION),
        (["--client", "Ada"], [EVERY_SESSION[i] for i in (2, 4, 5)]),
        (["--client", "Ben", "--client", "Cleo"], [EVERY_SESSION[i] for i in (0, 1, 3, 6)]),
        # local dates: Ben's session of 28 March 23:30 UTC is Mia's 29 March
        (["--from", "2026-03-29", "--to", "2026-03-30"], EVERY_SESSION[3:6]),
        (["--to", "2026-03-06"], EVERY_SESSION[:1]),
        (["--practice", "Elbe Praxis", "--from", "2026-03-31"], EVERY_SESSION[6:]),
    ],
)
def test_sessions_lists_local_start_times_with_filters(
    options: list[str],
    expected: list[tuple[Any, ...]],
    sessions_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = as_json(capsys, "sessions", *options, "--db", sessions_path)
    assert listed(rows) == expected
    keys = keys_of(sessions_path)
    assert all(row["client_key"] == keys[row["client"]] for row in rows)
    assert all(row["practice"] == "Elbe Praxis" for row in rows)


def test_sessions_as_table_csv_and_keys(
    sessions_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keys = keys_of(sessions_path)
    table = output(capsys, "sessions", "--client", "Ben", "--db", sessions_path).splitlines()
    assert table[0].split() == [
        "date", "start", "minutes", "client", "therapist", "practice", "status"
    ]  # fmt: skip
    assert table[1].split() == ["2026-03-29", "00:30", "45", "Ben", "Mia", "Roth", "Elbe",
                                "Praxis", "Attended"]  # fmt: skip
    assert table[2].split()[-1] == "No-show"
    keyed = output(capsys, "sessions", "--keys", "--client", "Ben", "--db", sessions_path)
    assert keyed.splitlines()[1].split()[3] == keys["Ben"]
    text = output(capsys, "sessions", "--csv", "--client", keys["Ben"], "--db", sessions_path)
    assert list(csv.reader(io.StringIO(text))) == [
        ["date", "start", "minutes", "client", "client_key", "therapist", "practice", "status"],
        ["2026-03-29", "00:30", "45.0", "Ben", keys["Ben"], "Mia Roth", "Elbe Praxis",
         "Attended"],
        ["2026-03-31", "18:00", "50.0", "Ben", keys["Ben"], "Mia Roth", "Elbe Praxis",
         "No-show"],
    ]  # fmt: skip
    assert output(capsys, "sessions", "--to", "2026-01-31", "--db", sessions_path) == (
        "No sessions match; widen the dates or import a calendar (contactload import).\n"
    )
    assert output(capsys, "sessions", "--csv", "--to", "2026-01-31", "--db", sessions_path) == ""


@pytest.mark.parametrize(
    ("options", "sentence"),
    [
        (["--client", "Zed"],
         "There is no client called 'Zed'; check the spelling or give the client's key."),
        (["--therapist", "Nobody"],
         "There is no therapist called 'Nobody'; check the spelling or import their contacts "
         "first."),
        (["--from", "2026-04-01", "--to", "2026-03-01"],
         "The period starts on 2026-04-01 but ends earlier, on 2026-03-01; choose an end "
         "date on or after the start."),
    ],
)  # fmt: skip
def test_sessions_refuses_unknown_names_in_one_sentence(
    options: list[str], sentence: str, sessions_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("sessions", *options, "--db", sessions_path) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"contactload: {sentence}"]
    assert captured.out == ""


def test_sessions_are_audited(sessions_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    output(capsys, "sessions", "--therapist", "Sam Lee", "--db", sessions_path)
    (entry,) = as_json(capsys, "audit", "--limit", "1", "--db", sessions_path)
    assert (entry["action"], entry["detail"]) == ("export", "sessions: 2 listed to the terminal")


@pytest.fixture
def sessions_db(sessions_path: Path) -> Iterator[Database]:
    db = Database(sessions_path)
    yield db
    db.close()


def test_a_supervisor_sees_keys_in_the_session_list(sessions_db: Database) -> None:
    supervisor = Scope.supervisor("sue", (1,))
    frame = session_list(sessions_db, ContactFilter(scope=supervisor))
    assert len(frame) == 7
    assert list(frame["client"]) == list(frame["client_key"])
    with pytest.raises(InvalidFilterError, match="There is no client named Ada"):
        client_keys_named(sessions_db, supervisor, ["Ada"])
    ada = session_list(sessions_db, ContactFilter())
    ada_key = ada.loc[ada["client"] == "Ada", "client_key"].iloc[0]
    assert client_keys_named(sessions_db, supervisor, [ada_key]) == (ada_key,)
