"""Pages pass the viewer's scope on: what a supervisor or therapist sees and may change
(the fixture of tests/scope_world.py under AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.access.scope import Scope
from analytics.storage.database import Database
from tests.helpers import copy_database as _copy
from tests.scope_world import LINDEN, OTHER, OWN, THERAPISTS, _scopes, _world
from ui.viewer import VIEWER_SCOPE_KEY

# --- pages pass the viewer's scope on ------------------------------------------------------------


def _run_page(db_path: Path, monkeypatch: pytest.MonkeyPatch, scope: Scope, page: str) -> AppTest:
    """Run ``page`` as the viewer ``scope`` (what team-mode sign-in leaves in the session)."""
    monkeypatch.setenv("CONTACTLOAD_DB", str(db_path))
    app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"))
    app.session_state[VIEWER_SCOPE_KEY] = scope
    app.run(timeout=60)
    app.switch_page(page).run(timeout=60)
    assert not app.exception, [exception.message for exception in app.exception]
    return app


def test_clients_page_shows_a_supervisor_only_keys_of_their_practice(
    scoped_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(scoped_db_path)
    world = _world(db)
    db.close()
    scope = _scopes(world)["supervisor"]
    app = _run_page(scoped_db_path, monkeypatch, scope, "pages/clients.py")
    table = app.dataframe[0].value
    # Lindenhof has Cyprian Fenwick's two clients; their keys stand in for labels.
    linden = world.clients[world.clients["practice_id"] == world.practices[LINDEN]]
    assert sorted(table["client_key"]) == sorted(linden["client_key"])
    assert list(table["label"]) == list(table["client_key"])
    assert set(table["therapist"]) == {OTHER}
    assert [option for option in app.multiselect(key="filter_therapists").options] == [
        f"{OTHER} (Europe/London)"
    ]


@pytest.mark.parametrize(
    ("scope_name", "therapist", "error"),
    [
        ("supervisor", OTHER, "Signed in as sam@example.org (supervisor): only an admin or "
         f"{OTHER} can change these boundaries."),
        ("therapist", OWN, None),
    ],
)  # fmt: skip
def test_boundaries_page_edits_within_the_viewers_rights(
    scoped_db_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    scope_name: str,
    therapist: str,
    error: str | None,
) -> None:
    path = _copy(scoped_db_path, tmp_path / "db")
    db = Database(path)
    scope = _scopes(_world(db))[scope_name]
    db.close()
    app = _run_page(path, monkeypatch, scope, "pages/boundaries.py")
    # The only therapist the viewer can pick is the one in scope.
    assert app.selectbox(key="boundary_therapist").options == [
        f"{therapist} ({THERAPISTS[therapist][0]})"
    ]
    if error:
        # A viewer who may not edit gets a note instead of forms (the library refuses too).
        assert [shown.value for shown in app.info] == [error]
        assert not [w for w in app.number_input if w.key == "boundary_cap"]
    else:
        app.number_input(key="boundary_cap").set_value(15.0)
        app.button(key="boundary_save").click().run(timeout=60)
        assert [shown.value for shown in app.error] == []
    db = Database(path)
    try:
        saved = db.frame(
            "SELECT t.name FROM boundaries AS b JOIN therapists AS t USING (therapist_id) "
            "WHERE b.weekly_cap_minutes = 15",
            [],
        )
        edits = db.frame("SELECT identity FROM audit_log WHERE action = 'boundary_edit'", [])
    finally:
        db.close()
    assert list(saved["name"]) == ([] if error else [therapist])
    # 12 edits while the fixture was built (local), plus the viewer's own when allowed
    assert list(edits["identity"]).count(scope.identity) == (0 if error else 1)


def test_import_page_audits_the_minutes_per_text_under_the_admin(
    scoped_db_path: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = _copy(scoped_db_path, tmp_path / "db")
    admin = Scope.admin("admin@example.org")
    app = _run_page(path, monkeypatch, admin, "pages/import_data.py")
    app.number_input(key="phone_minutes_per_text").set_value(3.0).run(timeout=60)
    assert not app.exception
    db = Database(path)
    try:
        entries = db.frame(
            "SELECT identity, action, detail FROM audit_log WHERE action = ?", ["settings"]
        )
    finally:
        db.close()
    # 3 mapped numbers while the fixture was built (local), then the admin's change
    assert entries.values.tolist()[-1] == [
        "admin@example.org",
        "settings",
        "minutes_per_text = 3 min",
    ]


def test_import_page_tells_a_therapist_to_ask_an_admin(
    scoped_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(scoped_db_path)
    scope = _scopes(_world(db))["therapist"]
    db.close()
    # The menu leaves Import out for a therapist (ui.navigation.visible_pages) ...
    monkeypatch.setenv("CONTACTLOAD_DB", str(scoped_db_path))
    app = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"))
    app.session_state[VIEWER_SCOPE_KEY] = scope
    app.run(timeout=60)
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page("pages/import_data.py")
    # ... and the page itself, reached any other way, refuses before any upload.
    page = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages/import_data.py"))
    page.session_state[VIEWER_SCOPE_KEY] = scope
    page.run(timeout=60)
    assert [info.value for info in page.info] == [
        "Signed in as ada@example.org (therapist): importing and undoing imports are for "
        "admins. Ask an admin to bring in new contact logs."
    ]
    assert not page.get("file_uploader")
