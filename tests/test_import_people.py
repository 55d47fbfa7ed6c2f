"""Imports that fit real people (issue 16): undo that names what it removes and asks first,
removing the demo data in one step, the time zone asked of a new therapist, placeholder
names refused, and contacts left as `other` re-classified after import.

Figures by hand: tests/data/import/presets/toggl.csv holds 6 contacts of therapist Anna
Weber (Lena M. 18 min, Jonas K. 65, Mia S. 25; its last row, 20 min with Mia S. on the
portal, is `other`); the demo data here is 200 contacts of the seeded demo.
"""

from pathlib import Path

import pytest

from analytics.cli import main
from analytics.db import Database
from analytics.demo import demo_status, remove_demo
from analytics.importing.pipeline import ImportOptions, import_file
from analytics.scope import LOCAL
from analytics.store import undo_choices
from tests.test_pages import run_app

TOGGL = Path(__file__).parent / "data" / "import" / "presets" / "toggl.csv"
BERLIN = ImportOptions(time_zone="Europe/Berlin")


def counts(db_path: Path) -> dict[str, int]:
    """Rows of the tables demo data and imports fill."""
    db = Database(db_path)
    try:
        with db.cursor() as cursor:
            return {
                table: int(cursor.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
                for table in ("contacts", "sessions", "therapists", "boundaries")
            }
    finally:
        db.close()


def demo_and_toggl(db_path: Path) -> None:
    """200 demo contacts (with their sessions and boundaries), then toggl.csv."""
    assert main(["demo", "--contacts", "200", "--db", str(db_path)]) == 0
    db = Database(db_path)
    try:
        import_file(db, TOGGL, file_name="toggl.csv", options=BERLIN)
    finally:
        db.close()


def test_undo_choices_name_file_date_and_rows(empty_db: Database) -> None:
    import_file(empty_db, TOGGL, file_name="toggl.csv", options=BERLIN)
    (choice,) = undo_choices(empty_db, LOCAL)
    assert (choice.file_name, choice.rows, choice.kind) == ("toggl.csv", 6, "contacts")
    assert choice.label.startswith("toggl.csv · ")
    assert choice.label.endswith(" UTC · 6 contacts (batch 1)")


def test_undo_on_the_import_page_asks_first_and_can_be_cancelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "contactload.duckdb"
    db = Database(db_path)
    import_file(db, TOGGL, file_name="toggl.csv", options=BERLIN)
    db.close()
    app = run_app(db_path, monkeypatch, "pages/import_data.py")
    box = app.selectbox(key="undo_batch")
    assert box.options[0].startswith("toggl.csv · ") and box.options[0].endswith(
        "6 contacts (batch 1)"
    )
    app.button(key="undo_button").click().run()
    (question,) = [w.value for w in app.warning if w.value.startswith("Undo toggl.csv")]
    assert "This deletes its 6 contacts" in question
    assert counts(db_path)["contacts"] == 6
    app.button(key="undo_cancel").click().run()
    assert not [w for w in app.warning if w.value.startswith("Undo ")]
    assert counts(db_path)["contacts"] == 6
    app.button(key="undo_button").click().run()
    app.button(key="undo_confirm").click().run()
    assert not app.exception
    assert any("toggl.csv (batch 1) undone: 6 contacts removed" in s.value for s in app.success)
    assert counts(db_path)["contacts"] == 0


def test_remove_demo_takes_only_the_demo_data(tmp_path: Path) -> None:
    db_path = tmp_path / "contactload.duckdb"
    demo_and_toggl(db_path)
    before = counts(db_path)
    assert before["contacts"] == 206 and before["boundaries"] > 0 and before["sessions"] > 0
    db = Database(db_path)
    try:
        assert demo_status(db, LOCAL) == "present"
        removal = remove_demo(db)
        assert (removal.batches, removal.contacts, removal.therapists) == (2, 200, 12)
        assert removal.sessions == before["sessions"]
        assert demo_status(db, LOCAL) == "removed"
        assert remove_demo(db).describe() == "There is no demo data to remove."
        with db.cursor() as cursor:
            left = cursor.execute(
                "SELECT t.name, sum(c.minutes) FROM contacts AS c JOIN therapists AS t "
                "USING (therapist_id) GROUP BY ALL"
            ).fetchall()
            audit = cursor.execute(
                "SELECT detail FROM audit_log WHERE detail LIKE 'demo data removed%'"
            ).fetchall()
    finally:
        db.close()
    assert left == [("Anna Weber", 108.0)]  # toggl.csv: 18 + 65 + 25
    assert counts(db_path) == {"contacts": 6, "sessions": 0, "therapists": 1, "boundaries": 0}
    assert len(audit) == 1


def test_cli_demo_remove_and_if_empty_does_not_bring_it_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db_path = tmp_path / "contactload.duckdb"
    assert main(["demo", "--contacts", "200", "--db", str(db_path)]) == 0
    capsys.readouterr()
    assert main(["demo", "--remove", "--db", str(db_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Demo data removed: 200 contacts and ")
    assert main(["demo", "--if-empty", "--db", str(db_path)]) == 0
    assert "was removed; no demo data added" in capsys.readouterr().out
    assert counts(db_path)["contacts"] == 0


def test_data_care_removes_the_demo_data_after_asking(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "contactload.duckdb"
    demo_and_toggl(db_path)
    app = run_app(db_path, monkeypatch, "pages/data_care.py")
    app.button(key="demo_remove").click().run()
    assert any(w.value.startswith("Remove all demo data?") for w in app.warning)
    assert counts(db_path)["contacts"] == 206
    app.button(key="demo_remove_confirm").click().run()
    assert not app.exception
    assert any(s.value.startswith("Demo data removed: 200 contacts") for s in app.success)
    assert counts(db_path)["contacts"] == 6
    app.run()
    assert not [button for button in app.button if button.key == "demo_remove"]
