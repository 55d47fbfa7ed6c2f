"""The Boundaries page signs changes with who made them and offers its forms only to
viewers who may edit that therapist's boundaries (the library refuses the others too).

The fixture (tests/data/fixture_contacts.csv) has Harbor Counseling with Dana Reyes and
Sam Okafor, and Lindenhof Praxis with Jonas Weber.
"""

import getpass
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.access.scope import LOCAL, Scope
from analytics.storage.database import Database
from tests.test_data_care_page import app_as, db_path

__all__ = ["db_path"]  # the fixture: a private copy of the hand-made fixture database

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/boundaries.py"


def ids(db_path: Path) -> tuple[dict[str, int], dict[str, int]]:
    """Therapist ids and practice ids by name."""
    db = Database(db_path)
    try:
        therapists = db.frame("SELECT name, therapist_id FROM therapists", [])
        practices = db.frame("SELECT name, practice_id FROM practices", [])
    finally:
        db.close()
    return (
        dict(zip(therapists["name"], therapists["therapist_id"].astype(int), strict=True)),
        dict(zip(practices["name"], practices["practice_id"].astype(int), strict=True)),
    )


def boundaries_page(db_path: Path, monkeypatch: pytest.MonkeyPatch, scope: Scope) -> AppTest:
    return app_as(db_path, monkeypatch, scope, PAGE)


def signers(db_path: Path) -> list[tuple[str, str]]:
    """(changed_by, therapist) of every boundary change, oldest first."""
    db = Database(db_path)
    try:
        frame = db.frame(
            "SELECT h.changed_by, t.name FROM boundary_changes AS h "
            "JOIN therapists AS t USING (therapist_id) ORDER BY h.change_id",
            [],
        )
    finally:
        db.close()
    return list(zip(frame["changed_by"], frame["name"], strict=True))


def test_a_therapist_edits_her_own_boundaries_signed_with_her_identity(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    therapists, _ = ids(db_path)
    dana = Scope.therapist("dana@harbor.example", (therapists["Dana Reyes"],))
    app = boundaries_page(db_path, monkeypatch, dana)
    assert app.selectbox(key="boundary_therapist").options == ["Dana Reyes (Harbor Counseling)"]
    assert not [info for info in app.info if "Signed in" in info.value]  # no "may not" note
    app.number_input(key="boundary_cap").set_value(30.0)
    app.button(key="boundary_save").click().run()
    assert not app.exception and not app.error, [error.value for error in app.error]
    app.button(key="hours_save").click().run()
    assert not app.exception and not app.error, [error.value for error in app.error]
    # The signed-in identity signs both changes, never this machine's account.
    changes = signers(db_path)
    assert changes and {who for who, _ in changes} == {"dana@harbor.example"}
    assert {name for _, name in changes} == {"Dana Reyes"}


def test_an_admin_signs_with_the_admin_identity(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = boundaries_page(db_path, monkeypatch, Scope.admin("it@harbor.example"))
    app.selectbox(key="boundary_therapist").set_value(("Jonas Weber", "Lindenhof Praxis")).run()
    app.number_input(key="boundary_cap").set_value(45.0)
    app.button(key="boundary_save").click().run()
    assert not app.exception and not app.error, [error.value for error in app.error]
    assert {who for who, _ in signers(db_path)} == {"it@harbor.example"}
    assert {name for _, name in signers(db_path)} == {"Jonas Weber"}


def test_local_mode_signs_with_the_os_account(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = boundaries_page(db_path, monkeypatch, LOCAL)
    app.number_input(key="boundary_cap").set_value(60.0)
    app.button(key="boundary_save").click().run()
    assert not app.exception and not app.error, [error.value for error in app.error]
    assert {who for who, _ in signers(db_path)} == {getpass.getuser()}


def test_a_supervisor_reads_the_boundaries_but_gets_no_forms(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, practices = ids(db_path)
    lee = Scope.supervisor("lee@harbor.example", (practices["Harbor Counseling"],))
    app = boundaries_page(db_path, monkeypatch, lee)
    # Both Harbor therapists to choose from, none of Lindenhof's.
    assert sorted(app.selectbox(key="boundary_therapist").options) == [
        "Dana Reyes (Harbor Counseling)",
        "Sam Okafor (Harbor Counseling)",
    ]
    shown = app.selectbox(key="boundary_therapist").value[0]
    assert [info.value for info in app.info if "Signed in" in info.value] == [
        f"Signed in as lee@harbor.example (supervisor): only an admin or {shown} can change "
        "these boundaries."
    ]
    # The fixture holds no boundaries: no invitation to set one the viewer cannot set.
    assert "No boundaries agreed yet for this therapist." in [info.value for info in app.info]
    keys = {widget.key for widget in (*app.number_input, *app.text_input, *app.button)}
    assert not keys & {"boundary_cap", "boundary_save", "hours_mon", "hours_save"}
    assert not app.get("file_uploader")
    # Reading stays: the figures and the policy download.
    assert "Weeks over cap" in {metric.label for metric in app.metric}
    assert {button.proto.label for button in app.get("download_button")} >= {
        "Download all boundaries as TOML"
    }
    assert signers(db_path) == []
