"""``contactload import``, ``batches`` and ``undo`` run for real: exit codes, the JSON
report, and what ends up stored."""

import json
from pathlib import Path

from analytics.access.filters import ContactFilter
from analytics.measures.metrics import totals
from analytics.storage.database import Database
from tests.test_cli import run

CHECKS = Path(__file__).parent / "data" / "import" / "pipeline" / "template_checks.csv"


def stored_minutes(path: Path) -> float:
    db = Database(path)
    try:
        return totals(db, ContactFilter()).minutes
    finally:
        db.close()


def test_import_json_report_and_idempotence(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    first = run(
        "import", CHECKS, "--db", db, "--time-zone", "America/New_York", "--json", cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    (file,) = report["files"]
    assert set(file) == {
        "file", "preset", "detected", "encoding", "rows", "imported", "duplicates", "rejected",
        "skipped_erased", "skipped_erased_reason", "errors", "warnings", "direction_unknown",
    }  # fmt: skip
    assert file["direction_unknown"] == 0  # every row has client or therapist
    assert (file["skipped_erased"], file["skipped_erased_reason"]) == (0, None)
    assert (file["file"], file["preset"], file["rows"]) == ("template_checks.csv", "template", 11)
    assert (file["imported"], file["duplicates"], file["rejected"]) == (6, 0, 5)
    assert file["errors"][0] == {
        "row": 5,
        "column": "minutes",
        "message": "The duration is zero or negative.",
    }
    assert stored_minutes(db) == 99.0  # 30 + 15 + 54, see test_import_pipeline.py

    again = run("import", CHECKS, "--db", db, "--json", cwd=tmp_path)
    assert again.returncode == 0
    assert json.loads(again.stdout)["files"][0]["duplicates"] == 6
    assert stored_minutes(db) == 99.0


def test_dry_run_and_readable_report(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    result = run("import", CHECKS, "--db", db, "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "would import 6" in result.stdout
    assert "row 5, minutes: The duration is zero or negative." in result.stdout
    assert stored_minutes(db) == 0.0


def test_unusable_file_exits_1_and_others_still_import(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    result = run("import", empty, CHECKS, "--db", db, cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("contactload: empty.csv: ")
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert stored_minutes(db) == 99.0


def test_missing_file_and_usage_errors(tmp_path: Path) -> None:
    missing = run("import", tmp_path / "nope.csv", "--db", tmp_path / "c.duckdb", cwd=tmp_path)
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr
    assert run("import", "--db", tmp_path / "c.duckdb", cwd=tmp_path).returncode == 2
    bad_preset = run("import", CHECKS, "--preset", "excel", cwd=tmp_path)
    assert bad_preset.returncode == 2


def test_batches_and_undo(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    assert run("import", CHECKS, "--db", db, cwd=tmp_path).returncode == 0
    listing = run("batches", "--db", db, cwd=tmp_path)
    assert listing.returncode == 0 and "template_checks.csv" in listing.stdout
    undone = run("undo", "1", "--db", db, cwd=tmp_path)
    assert undone.returncode == 0
    assert "6 contacts removed" in undone.stdout
    assert stored_minutes(db) == 0.0
    twice = run("undo", "1", "--db", db, cwd=tmp_path)
    assert twice.returncode == 1 and "already undone" in twice.stderr


def test_map_option_imports_an_unknown_layout(tmp_path: Path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text(
        "Wer;Wann;Wie lange (min)\nAvery;02.03.2026 09:00;10\nAvery;03.03.2026 10:00;12,5\n",
        encoding="cp1252",
    )
    db = tmp_path / "c.duckdb"
    refused = run("import", odd, "--db", db, cwd=tmp_path)
    assert refused.returncode == 1 and "map" in refused.stderr
    mapped = run(
        "import", odd, "--db", db, "--map", "client=Wer,started_at=Wann,duration=Wie lange (min)",
        "--therapist", "Robin Sommer", "--json", cwd=tmp_path,
    )  # fmt: skip
    assert mapped.returncode == 0, mapped.stderr
    assert json.loads(mapped.stdout)["files"][0]["imported"] == 2
    assert stored_minutes(db) == 22.5  # 10 + 12,5 (decimal comma)
