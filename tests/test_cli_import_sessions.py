"""``contactload import`` with calendars and session CSV files: detection by content,
the calendar options, JSON reports, exit codes, re-imports, and the phone-log branch."""

import json
import re
from pathlib import Path

from analytics.storage.database import Database
from tests.test_cli import README, run

DATA = Path(__file__).parent / "data"
WEEKLY = DATA / "calendars" / "weekly_exdate_moved.ics"
BAD_ROWS = DATA / "sessions" / "bad_rows.csv"
RANGE = ("--from", "2026-09-01", "--to", "2026-11-30")
WEBER = ("--therapist", "Dr. Weber")  # a calendar never names its therapist


def sessions(path: Path) -> int:
    db = Database(path)
    try:
        with db.cursor() as cursor:
            return int(cursor.execute("SELECT count(*) FROM sessions").fetchall()[0][0])
    finally:
        db.close()


def test_calendar_and_session_csv_detected_by_content(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    # a calendar named .txt is still a calendar: the content decides
    renamed = tmp_path / "export.txt"
    renamed.write_bytes(WEEKLY.read_bytes())
    result = run(
        "import", renamed, BAD_ROWS, "--db", db, "--time-zone", "Europe/Berlin", *RANGE, *WEBER,
        "--json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    files = json.loads(result.stdout)["files"]
    assert [(f["kind"], f["imported"], f["rejected"]) for f in files] == [
        ("calendar", 6, 1),  # see test_import_calendar.py
        ("sessions_csv", 5, 5),  # see test_import_sessions_csv.py
    ]
    assert files[0]["excluded"] == {
        "all_day": 1, "cancelled": 1, "outside_range": 0, "over_limit": 0
    }  # fmt: skip
    assert files[0]["unmatched"][0]["title"] == "Team meeting"
    assert [error["row"] for error in files[1]["errors"]] == [6, 7, 8, 9, 11]
    assert sessions(db) == 11
    again = run("import", renamed, BAD_ROWS, "--db", db, *RANGE, *WEBER, "--json", cwd=tmp_path)
    assert [f["imported"] for f in json.loads(again.stdout)["files"]] == [0, 0]
    assert sessions(db) == 11


def test_readable_report_dry_run_and_undo(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    dry = run("import", WEEKLY, "--db", db, *RANGE, *WEBER, "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0
    assert "would import 6 sessions (5 attended, 1 no_show)" in dry.stdout
    assert "left out: 1 all-day, 1 cancelled events." in dry.stdout
    assert "2026-09-11 'Team meeting': The title names no client" in dry.stdout
    assert sessions(db) == 0
    stored = run("import", WEEKLY, "--db", db, *RANGE, *WEBER, cwd=tmp_path)
    batch = re.search(r"\(batch (\d+)\)", stored.stdout)
    assert batch, stored.stdout
    undone = run("undo", batch.group(1), "--db", db, cwd=tmp_path)
    assert f"Batch {batch.group(1)} undone: 6 sessions removed." in undone.stdout
    assert sessions(db) == 0


def test_client_pattern_status_words_and_range_options(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    result = run(
        "import", WEEKLY, "--db", db, "--from", "2026-09-01", "--to", "2026-09-13", *WEBER,
        "--client-pattern", r"^Session: (?P<client>.+?)( \(.*\))?$",
        "--status-words", "no_show=never-used", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (report,) = json.loads(result.stdout)["files"]
    # 1-13 Sep: Anna 2 and 9 Sep; Ben's cancelled 10 Sep and the all-day 10 Sep are left
    # out; the team meeting (11 Sep) does not fit; Ben's no-show (17 Sep) is after the range.
    assert (report["imported"], report["statuses"]) == (2, {"attended": 2})
    assert report["excluded"] == {
        "all_day": 1, "cancelled": 1, "outside_range": 1, "over_limit": 0
    }  # fmt: skip
    assert [(e["date"], e["reason"]) for e in report["unmatched"]] == [
        ("2026-09-11", "The title names no client by the client pattern."),
        ("2026-09-17", "It has no instance between 2026-09-01 and 2026-09-13."),
    ]


def test_unusable_calendars_exit_1_with_one_sentence(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    truncated = tmp_path / "cut.ics"  # a calendar cut off in its first event
    truncated.write_bytes(b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20261001T100000Z\r\n")
    broken = run("import", truncated, "--db", db, cwd=tmp_path)
    assert broken.returncode == 1
    assert broken.stderr.startswith("contactload: cut.ics: cut.ics is not a readable calendar")
    assert broken.stderr.count("\n") == 1 and "Traceback" not in broken.stderr
    nothing = run(
        "import", WEEKLY, "--db", db, *RANGE, "--client-pattern", "Nope (?P<client>.+)",
        cwd=tmp_path,
    )  # fmt: skip
    assert nothing.returncode == 1
    assert "is a session (7 need review, 1 all-day, 1 cancelled)" in nothing.stderr
    assert "'Team meeting'" in nothing.stderr  # the events to review are listed
    bad_pattern = run("import", WEEKLY, "--db", db, "--client-pattern", "(x", cwd=tmp_path)
    assert bad_pattern.returncode == 1 and "client pattern" in bad_pattern.stderr
    bad_words = run("import", WEEKLY, "--db", db, "--status-words", "maybe=x", cwd=tmp_path)
    assert bad_words.returncode == 2
    assert sessions(db) == 0


def test_phone_log_is_recognised_and_goes_to_the_phone_log_importer(tmp_path: Path) -> None:
    log = tmp_path / "calls.xml"
    log.write_text("<?xml version='1.0' encoding='UTF-8'?>\n<calls count='0'></calls>\n")
    result = run("import", log, "--db", tmp_path / "c.duckdb", cwd=tmp_path)
    assert result.returncode == 1
    # the phone-log importer's own sentence, not the contact importer's
    assert "holds no calls and no texts; nothing was stored" in result.stderr


def test_readme_documents_the_calendar_options() -> None:
    text = README.read_text(encoding="utf-8")
    for option in ("--client-pattern", "--from", "--to", "--status-words"):
        assert re.search(rf"contactload import [^`]*{option}", text, re.S), option


def test_calendar_with_broken_and_hostile_events_lists_them(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    calendars = DATA / "calendars"
    result = run(
        "import", calendars / "two_dtstart.ics", calendars / "secondly_unbounded.ics",
        "--db", db, "--time-zone", "UTC", "--from", "2026-11-01", "--to", "2026-11-30",
        *WEBER, cwd=tmp_path,
    )  # fmt: skip
    # see test_import_calendar_malformed.py: Mia's session of each file is stored
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "imported 1 sessions (1 attended), 0 already stored, 1 rejected" in result.stdout
    assert (
        "2026-11-04 'Session: Noah P.': It has 2 DTSTART lines; an event has one start."
        in result.stdout
    )
    assert "  left out: 1 over-limit events." in result.stdout
    assert (
        "2026-11-02 'Session: Flood F.': It has more than 5,000 instances between 2026-11-01 "
        "and 2026-11-30; none of its instances were read; import a shorter range."
    ) in result.stdout
    assert sessions(db) == 2
