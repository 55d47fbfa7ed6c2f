"""``contactload settings show|set`` and ``contactload audit``, run for real as subprocesses
against a copy of the hand-made fixture database."""

import getpass
import json
from pathlib import Path

import pytest

from analytics.access.scope import Scope
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.settings import SETTINGS, get_setting
from tests.test_cli import assert_one_line_error, run
from tests.test_data_care_page import db_path

__all__ = ["db_path"]  # the fixture: a private copy of the hand-made fixture database


def stored(path: Path, key: str) -> float:
    db = Database(path)
    try:
        return get_setting(db, key)
    finally:
        db.close()


def test_settings_show_lists_every_setting_with_unit_and_range(
    db_path: Path, tmp_path: Path
) -> None:
    result = run("settings", "show", "--db", db_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "minutes_per_text = 2 min  (Least minutes counted per text or message contact "
        "(floor); 0 to 60 min, default 2 min)",
        "writing_words_per_minute = 20 words/min  (Words a minute the therapist writes a "
        "message at; 1 to 200 words/min, default 20 words/min)",
        "reading_words_per_minute = 240 words/min  (Words a minute a received message is read "
        "at; 10 to 1000 words/min, default 240 words/min)",
        "message_ceiling_minutes = 30 min  (Most minutes counted per written message; 1 to 240 "
        "min, default 30 min)",
        "message_gap_minutes = 5 min  (Messages of one conversation less than this apart are "
        "one contact (0 = never); 0 to 240 min, default 5 min)",
        "min_group_clients = 11 clients  (Smallest group shown in comparisons (distinct "
        "clients); 2 to 1000 clients, default 11 clients)",
        "after_session_days = 3 days  (Days after a missed session to look at; 1 to 30 days, "
        "default 3 days)",
        "load_flag_minutes = 0 min  (Flag therapists above (minutes per active client per "
        "week; 0 = the practice's 90th percentile); 0 to 10000 min, default 0 min)",
        "inbox_settle_seconds = 5 s  (Seconds a file in the inbox folder must stay unchanged "
        "before it is imported; 1 to 600 s, default 5 s)",
        "minutes_per_email = 3 min  (Minutes counted per e-mail; 0 to 120 min, default 3 min)",
        "conversation_gap_minutes = 10 min  (Minutes between messages of one conversation that "
        "still make one contact; 0 to 1440 min, default 10 min)",
    ]
    shown = json.loads(run("settings", "show", "--db", db_path, "--json", cwd=tmp_path).stdout)
    assert [row["key"] for row in shown] == list(SETTINGS)
    assert shown[0] == {
        "key": "minutes_per_text",
        "label": "Least minutes counted per text or message contact (floor)",
        "value": 2.0,
        "unit": "min",
        "default": 2.0,
        "minimum": 0.0,
        "maximum": 60.0,
    }


def test_settings_set_stores_the_value_and_audits_it(db_path: Path, tmp_path: Path) -> None:
    result = run("settings", "set", "minutes_per_text", "1.5", "--db", db_path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "minutes_per_text = 1.5 min"
    assert stored(db_path, "minutes_per_text") == 1.5
    shown = json.loads(run("settings", "show", "--db", db_path, "--json", cwd=tmp_path).stdout)
    assert shown[0]["value"] == 1.5
    newest = json.loads(
        run("audit", "--db", db_path, "--limit", "1", "--json", cwd=tmp_path).stdout
    )
    assert len(newest) == 1
    assert {k: newest[0][k] for k in ("identity", "role", "action", "detail")} == {
        "identity": getpass.getuser(),
        "role": "local",
        "action": "settings",
        "detail": "minutes_per_text = 1.5 min",
    }


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("minutes_per_text", "61",
         "Least minutes counted per text or message contact (floor) must be between 0 and 60 "
         "min; 61 is outside that."),
        ("min_group_clients", "1",
         "Smallest group shown in comparisons (distinct clients) must be between 2 and 1000 "
         "clients; 1 is outside that."),
        ("minutes_per_text", "two", "'two' is not a number; give minutes_per_text as a number "
         "like 2 or 1.5."),
        ("colour", "3", "There is no setting 'colour'; use one of minutes_per_text, "
         "writing_words_per_minute, reading_words_per_minute, message_ceiling_minutes, "
         "message_gap_minutes, min_group_clients, after_session_days, load_flag_minutes, "
         "inbox_settle_seconds, minutes_per_email, conversation_gap_minutes."),
    ],
)  # fmt: skip
def test_settings_set_refuses_in_one_sentence_and_changes_nothing(
    db_path: Path, tmp_path: Path, key: str, value: str, message: str
) -> None:
    result = run("settings", "set", key, value, "--db", db_path, cwd=tmp_path)
    assert assert_one_line_error(result) == f"contactload: {message}"
    assert stored(db_path, "minutes_per_text") == 2
    assert stored(db_path, "min_group_clients") == 11


def test_audit_prints_the_newest_entries_first(db_path: Path, tmp_path: Path) -> None:
    db = Database(db_path)
    try:
        audit.record(db, Scope.admin("ada@example.org"), "export", "contacts.csv")
        audit.record(db, Scope.therapist("tom@example.org", (1,)), "report", "march.html")
        everything = len(audit.entries(db, Scope.admin("x")))
    finally:
        db.close()
    result = run("audit", "--db", db_path, "--limit", "2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    # "<ISO time>  identity (role)  action: detail", newest first
    assert lines[0].split("  ", 1)[1] == "tom@example.org (therapist)  report: march.html"
    assert lines[1].split("  ", 1)[1] == "ada@example.org (admin)  export: contacts.csv"
    assert lines[0].split("  ", 1)[0].endswith("+00:00")  # UTC
    rows = json.loads(run("audit", "--db", db_path, "--json", cwd=tmp_path).stdout)
    assert len(rows) == min(everything, 50)  # the default limit
    assert [row["action"] for row in rows[:2]] == ["report", "export"]
    bad = run("audit", "--db", db_path, "--limit", "0", cwd=tmp_path)
    assert bad.returncode == 2  # argparse: must be 1 or more


def test_audit_of_an_empty_log(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    Database(path).close()
    result = run("audit", "--db", path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "The audit log is empty."
