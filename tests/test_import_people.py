"""Imports that fit real people (issue 16): undo that names what it removes and asks first,
removing the demo data in one step, the time zone asked of a new therapist, placeholder
names refused, and contacts left as `other` re-classified after import.

Figures by hand: tests/data/import/presets/toggl.csv holds 6 contacts of therapist Anna
Weber (Lena M. 18 min, Jonas K. 65, Mia S. 25; its last row, 20 min with Mia S. on the
portal, is `other`); the demo data here is 200 contacts of the seeded demo.
"""

import os
from pathlib import Path

import pytest

from analytics.access.scope import LOCAL
from analytics.cli import main
from analytics.demo import demo_status, remove_demo
from analytics.importing.pipeline import ImportOptions, import_file
from analytics.storage.database import Database
from analytics.storage.store import undo_choices
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


# Toggl's header with placeholder users: "Me" (rows 2 and 3), an empty User (row 4).
TOGGL_ME = (
    b"User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,"
    b"End time,Duration,Tags\n"
    b"Me,,Lena M.,P,,call,No,2026-04-13,09:05:00,2026-04-13,09:15:00,00:10:00,phone\n"
    b"me,,Jonas K.,P,,call,No,2026-04-13,10:00:00,2026-04-13,10:20:00,00:20:00,phone\n"
    b",,Lena M.,P,,call,No,2026-04-14,09:00:00,2026-04-14,09:05:00,00:05:00,phone\n"
)
START_END = Path(__file__).parent / "data" / "import" / "shapes" / "start_end_local.csv"


def therapist_names(db_path: Path) -> list[str]:
    db = Database(db_path)
    try:
        with db.cursor() as cursor:
            rows = cursor.execute("SELECT name, time_zone FROM therapists ORDER BY 1").fetchall()
    finally:
        db.close()
    return [f"{name} ({zone})" for name, zone in rows]


@pytest.mark.parametrize(
    ("content", "sentence"),
    [
        (TOGGL_ME, "toggl.csv does not say whose contacts these are (3 rows have 'Me' as the "
         "user); name the therapist with --therapist NAME."),
        (START_END.read_bytes(), "toggl.csv does not say whose contacts these are (3 rows have "
         "no user); name the therapist with --therapist NAME."),
    ],
)  # fmt: skip
def test_cli_refuses_placeholder_therapists_naming_the_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, sentence: str
) -> None:
    path = tmp_path / "toggl.csv"
    path.write_bytes(content)
    db_path = tmp_path / "contactload.duckdb"
    args = ["import", str(path), "--db", str(db_path), "--time-zone", "Europe/Berlin"]
    assert main(args) == 1
    assert capsys.readouterr().err.strip() == f"contactload: toggl.csv: {sentence}"
    assert main([*args, "--therapist", "Me"]) == 1  # a placeholder given is no name either
    capsys.readouterr()
    assert main([*args, "--therapist", "Anna Weber"]) == 0
    assert therapist_names(db_path) == ["Anna Weber (Europe/Berlin)"]


def test_import_page_asks_for_the_therapist_a_file_does_not_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "contactload.duckdb"
    app = run_app(db_path, monkeypatch, "pages/import_data.py")
    app.selectbox(key="import_time_zone").set_value("Europe/Vienna").run()
    app.file_uploader(key="import_files").set_value(("toggl.csv", TOGGL_ME, "text/csv")).run()
    assert [w.value for w in app.warning] == [
        "toggl.csv does not say whose contacts these are (3 rows have 'Me' as the user); "
        "type the therapist's name below."
    ]
    assert not [button for button in app.button if button.key == "import_commit"]
    (name,) = [box for box in app.text_input if box.label == "Therapist's name"]
    name.set_value("Anna Weber").run()
    assert not app.exception and not app.warning
    notes = [info.value for info in app.info]
    assert (
        "New therapist: Anna Weber. Their times are read in Europe/Vienna (the time zone "
        "chosen above) and kept in it." in notes
    )
    app.button(key="import_commit").click().run()
    assert any("toggl.csv: 3 contacts imported" in s.value for s in app.success)
    assert therapist_names(db_path) == ["Anna Weber (Europe/Vienna)"]


def test_import_page_offers_the_browsers_time_zone_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from analytics.importing.pipeline import local_time_zone

    monkeypatch.setenv("CONTACTLOAD_TIME_ZONE", "Asia/Kolkata")  # this computer's zone
    app = run_app(tmp_path / "contactload.duckdb", monkeypatch, "pages/import_data.py")
    box = app.selectbox(key="import_time_zone")
    assert box.label == "Time zone of therapists new to the database"
    # AppTest has no browser, so this computer's zone is offered, and said to be
    assert local_time_zone() == "Asia/Kolkata" and box.value == "Asia/Kolkata"
    assert any(
        c.value.startswith("Preset to this computer's time zone (Asia/Kolkata)")
        for c in app.caption
    )


# Rows 2, 4 and 5 match no rule (no tags, no keyword): stored as `other`; row 3 is a crisis
# call. Minutes: Lena M. 10 and 7.5, Mia S. 3.
UNPLACED = (
    b"User,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,"
    b"End time,Duration,Tags\n"
    b"Anna Weber,,Lena M.,P,,Xylophone lesson,No,2026-04-13,09:05:00,2026-04-13,09:15:00,"
    b"00:10:00,\n"
    b"Anna Weber,,Jonas K.,P,,Crisis call,No,2026-04-13,10:00:00,2026-04-13,10:20:00,"
    b"00:20:00,phone\n"
    b"Anna Weber,,Lena M.,P,,Xylophone again,No,2026-04-14,09:00:00,2026-04-14,09:07:30,"
    b"00:07:30,\n"
    b"Anna Weber,,Mia S.,P,,Quokka,No,2026-04-15,09:00:00,2026-04-15,09:03:00,00:03:00,\n"
)


def categories(db_path: Path) -> dict[str, float]:
    db = Database(db_path)
    try:
        with db.cursor() as cursor:
            rows = cursor.execute(
                "SELECT category, sum(minutes) FROM contacts GROUP BY ALL"
            ).fetchall()
    finally:
        db.close()
    return {str(category): float(minutes) for category, minutes in rows}


def test_other_contacts_listed_with_what_is_stored_and_reclassified_with_a_rule(
    empty_db: Database,
) -> None:
    from analytics.importing.review import other_contacts, reclassify, review_labels

    import_file(empty_db, UNPLACED, file_name="unplaced.csv", options=BERLIN)
    others = other_contacts(empty_db, LOCAL)
    assert list(others["started"]) == ["2026-04-13 09:05", "2026-04-14 09:00", "2026-04-15 09:00"]
    assert list(others["client"]) == ["Lena M.", "Lena M.", "Mia S."]
    assert list(others["minutes"]) == [10.0, 7.5, 3.0]
    assert set(others["rule"]) == {"no rule"}
    assert list(review_labels(others).values())[1] == "2026-04-14 09:00 · Lena M. · Other · 7.5 min"
    lena = others[others["client"] == "Lena M."]
    done = reclassify(
        empty_db,
        list(zip(lena["ref"], lena["started_at"], strict=True)),
        "homework",
        rule_keyword=" Xylophone ",
    )
    assert done.describe() == (
        "2 contacts re-classified as Homework; later imports place text containing "
        "'xylophone' there too."
    )
    assert list(other_contacts(empty_db, LOCAL)["client"]) == ["Mia S."]
    with empty_db.cursor() as cursor:
        audit = cursor.execute(
            "SELECT detail FROM audit_log WHERE action = 'reclassify'"
        ).fetchall()
    assert audit == [(done.describe(),)]
    # The rule places the same text in a later import (a month on: new contacts)
    later = UNPLACED.replace(b"2026-04-1", b"2026-05-1")
    import_file(empty_db, later, file_name="later.csv", options=BERLIN)
    with empty_db.cursor() as cursor:
        placed = cursor.execute(
            "SELECT category, sum(minutes) FROM contacts "
            "WHERE local_started_at >= '2026-05-01' GROUP BY ALL ORDER BY 1"
        ).fetchall()
    assert placed == [("crisis", 20.0), ("homework", 17.5), ("other", 3.0)]


def test_reclassify_refuses_other_and_an_empty_choice(empty_db: Database) -> None:
    from analytics.errors import ContactLoadError
    from analytics.importing.review import other_contacts, reclassify

    import_file(empty_db, UNPLACED, file_name="unplaced.csv", options=BERLIN)
    others = other_contacts(empty_db, LOCAL)
    pairs = list(zip(others["ref"], others["started_at"], strict=True))
    with pytest.raises(ContactLoadError, match="'other' is not a category to re-classify to"):
        reclassify(empty_db, pairs, "other")
    with pytest.raises(ContactLoadError, match="Choose at least one contact"):
        reclassify(empty_db, [], "support")
    with pytest.raises(ContactLoadError, match="a keyword needs at least one letter"):
        reclassify(empty_db, pairs, "support", rule_keyword="--")
    assert len(other_contacts(empty_db, LOCAL)) == 3  # nothing changed


def test_import_page_reclassifies_chosen_and_all_other_contacts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = tmp_path / "contactload.duckdb"
    db = Database(db_path)
    import_file(db, UNPLACED, file_name="unplaced.csv", options=BERLIN)
    db.close()
    app = run_app(db_path, monkeypatch, "pages/import_data.py")
    chooser = app.multiselect(key="review_contacts")
    (mia,) = [ref for ref in chooser.options if "Mia S." in ref]
    assert mia == "2026-04-15 09:00 · Mia S. · Other · 3 min"
    chooser.set_value([_ref(mia)])
    app.selectbox(key="review_category").set_value("check_in")
    app.button(key="review_apply").click().run()
    assert not app.exception
    assert [s.value for s in app.success] == ["1 contact re-classified as Check-ins."]
    assert categories(db_path) == {"other": 17.5, "crisis": 20.0, "check_in": 3.0}
    app.checkbox(key="review_all").check()
    app.selectbox(key="review_category").set_value("support")
    app.button(key="review_apply").click().run()
    assert [s.value for s in app.success] == ["2 contacts re-classified as Support."]
    assert categories(db_path) == {"support": 17.5, "crisis": 20.0, "check_in": 3.0}
    assert any(c.value.startswith("No stored contact is waiting") for c in app.caption)


def _ref(label: str) -> int:
    """The ref behind a chooser label (the page lists refs, shown as labels)."""
    from analytics.importing.review import other_contacts, review_labels

    db = Database(Path(os.environ["CONTACTLOAD_DB"]))
    try:
        labels = review_labels(other_contacts(db, LOCAL))
    finally:
        db.close()
    return next(ref for ref, text in labels.items() if text == label)
