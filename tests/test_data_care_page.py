"""The Data care page under AppTest: settings saved and refused, a client erased after the
key is typed again, the backup button, the audit log, and no way in for a therapist.

Figures are the hand-made fixture's (tests/data/fixture_contacts.csv, see
tests/test_metrics.py): 25 contacts, 400 minutes, 7 clients; Avery 7 contacts, 160 minutes.
"""

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.access.filters import ContactFilter
from analytics.access.scope import LOCAL, Scope
from analytics.measures.metrics import totals
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.settings import get_setting
from ui.viewer import VIEWER_SCOPE_KEY

ROOT = Path(__file__).resolve().parent.parent
PAGE = "pages/data_care.py"


@pytest.fixture
def db_path(fixture_db_path: Path, tmp_path: Path) -> Path:
    """A private copy of the fixture database, with its pseudonym secret."""
    path = tmp_path / "contactload.duckdb"
    shutil.copy(fixture_db_path, path)
    shutil.copy(fixture_db_path.parent / ".contactload-secret", tmp_path)
    return path


def app_as(db_path: Path, monkeypatch: pytest.MonkeyPatch, scope: Scope, page: str) -> AppTest:
    """The app as ``scope`` (what team-mode sign-in leaves), switched to ``page``."""
    monkeypatch.setenv("CONTACTLOAD_DB", str(db_path))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.session_state[VIEWER_SCOPE_KEY] = scope
    app.run()
    app.switch_page(page).run()
    assert not app.exception, [exception.message for exception in app.exception]
    return app


def data_care(db_path: Path, monkeypatch: pytest.MonkeyPatch, scope: Scope = LOCAL) -> AppTest:
    return app_as(db_path, monkeypatch, scope, PAGE)


def key_of(db_path: Path, label: str) -> str:
    db = Database(db_path)
    try:
        (key,) = db.row("SELECT max(client_key) FROM clients WHERE label = ?", [label])
    finally:
        db.close()
    assert key is not None
    return str(key)


def test_a_setting_is_saved_and_audited(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = db_path
    app = data_care(path, monkeypatch, Scope.admin("ada@example.org"))
    assert app.number_input(key="setting_min_group_clients").value == 11  # the default
    app.number_input(key="setting_min_group_clients").set_value(5)
    app.button(key="setting_save_min_group_clients").click().run()
    assert not app.exception
    assert [message.value for message in app.success] == [
        "Smallest group shown in comparisons (distinct clients): 5 clients saved."
    ]
    db = Database(path)
    try:
        assert get_setting(db, "min_group_clients") == 5
        newest = audit.entries(db, LOCAL).iloc[0]
    finally:
        db.close()
    assert (newest["identity"], newest["action"], newest["detail"]) == (
        "ada@example.org",
        "settings",
        "min_group_clients = 5 clients",
    )
    # The stored detail keeps the key; the page's audit table says it in words.
    shown = next(f.value for f in app.dataframe if "Action" in f.value.columns)
    assert shown["Detail"].iloc[0] == (
        "Smallest group shown in comparisons (distinct clients) = 5 clients"
    )


def test_a_setting_out_of_range_is_refused_in_one_sentence(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = db_path
    app = data_care(path, monkeypatch)
    app.number_input(key="setting_minutes_per_text").set_value(61)
    app.button(key="setting_save_minutes_per_text").click().run()
    assert not app.exception
    assert [error.value for error in app.error] == [
        "Least minutes counted per text or message contact (floor) must be between 0 and 60 "
        "min; 61 is outside that."
    ]
    db = Database(path)
    try:
        assert get_setting(db, "minutes_per_text") == 2  # still the default
    finally:
        db.close()


def test_erasure_needs_the_key_typed_again_then_removes_the_client(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = db_path
    avery = key_of(path, "Avery")
    app = data_care(path, monkeypatch)
    picker = app.selectbox(key="erase_client")
    # Labels with their key for local mode: the fixture's 7 clients.
    assert len(picker.options) == 7
    assert f"Avery ({avery})" in picker.options
    picker.set_value(avery)
    app.text_input(key="erase_confirm").set_value("Avery")  # the name is not the key
    app.button(key="erase_button").click().run()
    assert [error.value for error in app.error] == [
        f"The key typed does not match {avery}; nothing was erased."
    ]
    db = Database(path)
    try:
        assert totals(db, ContactFilter()).contacts == 25
    finally:
        db.close()

    app.text_input(key="erase_confirm").set_value(avery)
    app.button(key="erase_button").click().run()
    assert not app.exception
    # Avery: contacts #1, #2, #3, #5, #7, #9, #10 = 7 contacts, and the client row.
    assert [message.value for message in app.success] == [
        f"Client {avery} erased: 7 contacts, 1 client record removed."
    ]
    removed = next(f.value for f in app.dataframe if "Removed" in f.value.columns)
    rows_removed = dict(zip(removed["Removed"], removed["Rows"], strict=True))
    assert rows_removed["contacts"] == 7
    assert rows_removed["client record"] == 1
    db = Database(path)
    try:
        left = totals(db, ContactFilter())
        (rows,) = db.row(
            "SELECT count(*) FROM contacts c JOIN clients k USING (client_id) WHERE k.label = ?",
            ["Avery"],
        )
        newest = audit.entries(db, LOCAL).iloc[0]
    finally:
        db.close()
    # 25 - 7 = 18 contacts, 400 - 160 = 240 minutes, 7 - 1 = 6 clients
    assert (left.contacts, left.minutes, left.active_clients) == (18, 240.0, 6)
    assert rows == 0
    assert newest["action"] == "erase_client"
    # the erasure is logged under its reference, neither the key nor the label; the file
    # was rewritten at once (no warning about a later rewrite)
    assert newest["detail"].startswith("client erased as e-")
    assert avery not in newest["detail"] and "Avery" not in newest["detail"]
    assert not app.warning
    # The page, run again, no longer offers Avery.
    app.run()
    assert len(app.selectbox(key="erase_client").options) == 6


def test_backup_download_and_the_audit_log_with_its_download(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = db_path
    db = Database(path)
    try:
        audit.record(db, Scope.admin("ada@example.org"), "export", "contacts.csv")
        expected = len(audit.entries(db, LOCAL))
    finally:
        db.close()
    app = data_care(path, monkeypatch)
    labels = [button.proto.label for button in app.get("download_button")]
    assert "Download a backup" in labels
    assert any("contactload restore" in markdown.value for markdown in app.markdown)
    log = next(f.value for f in app.dataframe if "Action" in f.value.columns)
    # The fixture's import, then the entry added above, newest first, in words.
    assert len(log) == expected >= 2
    assert (log["Who"].iloc[0], log["Action"].iloc[0]) == ("ada@example.org", "Download")
    assert log["Action"].iloc[-1] == "Import"
    assert {"Download CSV", "Download XLSX"} <= set(labels)


def test_a_therapist_cannot_reach_the_page(
    fixture_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    therapist = Scope.therapist("dana@example.org", (1,))
    monkeypatch.setenv("CONTACTLOAD_DB", str(fixture_db_path))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.session_state[VIEWER_SCOPE_KEY] = therapist
    app.run()
    # The menu leaves Data care out for a therapist ...
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page(PAGE)
    # ... and the page itself, reached any other way, shows no control.
    page = AppTest.from_file(str(ROOT / PAGE), default_timeout=60)
    page.session_state[VIEWER_SCOPE_KEY] = therapist
    page.run()
    assert not page.exception
    assert [info.value for info in page.info] == [
        "Signed in as dana@example.org (therapist): settings, erasure, backups and the audit "
        "log are for admins. Ask an admin."
    ]
    assert not page.button and not page.get("download_button") and not page.dataframe
