"""One identity rule for the audit log: every command is recorded under the OS account
(local mode), every dashboard action under the viewer (the OS account in local mode, the
signed-in identity in team mode), and every download of a page's table is recorded when
its file is made.

Commands run in-process through ``contactload``'s entry point on a private copy of the
hand-made fixture (tests/data/fixture_contacts.csv: 25 contacts, 7 clients; Avery 7
contacts). Downloads run under AppTest; the file is made the way the server makes it on a
click: by running the button's deferred data callable through Streamlit's media file
manager.
"""

import getpass
import io
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from analytics.access.scope import LOCAL, Scope
from analytics.cli import main
from analytics.storage.audit import entries
from analytics.storage.database import Database
from ui.viewer import VIEWER_SCOPE_KEY

ROOT = Path(__file__).resolve().parent.parent
ME = getpass.getuser()


@pytest.fixture
def db_path(fixture_db_path: Path, tmp_path: Path) -> Path:
    """A private copy of the fixture database, with its pseudonym secret."""
    path = tmp_path / "db" / "contactload.duckdb"
    path.parent.mkdir()
    shutil.copy(fixture_db_path, path)
    shutil.copy(fixture_db_path.parent / ".contactload-secret", path.parent)
    return path


def newest(path: Path) -> tuple[str, str, str, str]:
    """(identity, role, action, detail) of the newest audit entry."""
    db = Database(path)
    try:
        row = entries(db, LOCAL, limit=1).iloc[0]
    finally:
        db.close()
    return (str(row["identity"]), str(row["role"]), str(row["action"]), str(row["detail"]))


def key_of(path: Path, label: str) -> str:
    db = Database(path)
    try:
        (key,) = db.row("SELECT max(client_key) FROM clients WHERE label = ?", [label])
    finally:
        db.close()
    return str(key)


def cli(*args: str | Path) -> None:
    assert main([str(arg) for arg in args]) == 0


def test_every_command_is_recorded_under_the_os_account(db_path: Path, tmp_path: Path) -> None:
    db = str(db_path)
    out = tmp_path / "out"
    out.mkdir()
    cli("export", "--out", out / "contacts.csv", "--db", db)
    assert newest(db_path) == (ME, "local", "export", "25 contacts as csv to contacts.csv")
    cli("report", "--from", "2026-03-01", "--to", "2026-03-31", "--out", out / "r.html", "--db", db)
    identity, role, action, detail = newest(db_path)
    assert (identity, role, action) == (ME, "local", "report") and "r.html" in detail
    cli("compare", "--by", "practice", "--db", db)
    identity, role, action, detail = newest(db_path)
    assert (identity, role, action) == (ME, "local", "export")
    assert detail.startswith("comparison by practice: ") and detail.endswith("to the terminal")
    cli("billing", "--db", db)
    identity, role, action, detail = newest(db_path)
    assert (identity, role, action) == (ME, "local", "export")
    assert detail.startswith("billing: ") and detail.endswith("episodes by client to the terminal")
    cli("phones", "map", "+4917155501234", "Avery", "--therapist", "Dana Reyes", "--db", db)
    identity, role, action, _ = newest(db_path)
    assert (identity, role, action) == (ME, "local", "settings")
    cli("phones", "unmap", "+4917155501234", "--therapist", "Dana Reyes", "--db", db)
    identity, role, action, _ = newest(db_path)
    assert (identity, role, action) == (ME, "local", "settings")
    cli("backup", "--out", out / "backup.duckdb", "--db", db)
    identity, role, action, detail = newest(db_path)
    assert (identity, role, action) == (ME, "local", "backup") and "backup.duckdb" in detail
    avery = key_of(db_path, "Avery")
    cli("erase-client", "--client", avery, "--db", db)
    identity, role, action, detail = newest(db_path)
    assert (identity, role, action) == (ME, "local", "erase_client")
    # The erasure is named by its reference, never by the key (care.erase_client).
    assert detail.startswith("client erased as e-") and avery not in detail
    restored = tmp_path / "restored" / "contactload.duckdb"
    cli("restore", out / "backup.duckdb", "--db", restored)
    identity, role, action, detail = newest(restored)
    assert (identity, role, action) == (ME, "local", "restore") and "backup.duckdb" in detail
    # Nothing anywhere in the log is signed "local" any more: the fixture's own import was
    # made by the library (not a command), everything since by the OS account.
    db_ = Database(db_path)
    try:
        log = entries(db_, LOCAL)
    finally:
        db_.close()
    assert set(log["identity"].iloc[:-1]) == {ME}


# --- downloads on the pages ----------------------------------------------------------------


@pytest.fixture
def media(monkeypatch: pytest.MonkeyPatch) -> list[MediaFileManager]:
    """The media file managers AppTest runs make (the newest last)."""
    import streamlit.testing.v1.app_test as app_test_module

    made: list[MediaFileManager] = []

    class Recorded(MediaFileManager):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    monkeypatch.setattr(app_test_module, "MediaFileManager", Recorded)
    return made


def click_download(app: AppTest, media: list[MediaFileManager], label: str) -> bytes:
    """What the browser receives when it clicks the download button labelled ``label``:
    the server runs the button's data callable then."""
    button = next(b for b in app.get("download_button") if b.proto.label == label)
    file_id = button.proto.deferred_file_id
    assert file_id, f"{label} builds its file at once instead of on click"
    manager = media[-1]
    url = manager.execute_deferred(file_id)  # what the browser's click asks the server
    stored = manager._storage.get_file(url.rsplit("/", 1)[-1])
    return bytes(stored.content)


def clients_page(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, scope: Scope | None = None
) -> AppTest:
    monkeypatch.setenv("CONTACTLOAD_DB", str(db_path))
    monkeypatch.delenv("CONTACTLOAD_ROLES", raising=False)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if scope is not None:
        app.session_state[VIEWER_SCOPE_KEY] = scope
    app.run()
    app.switch_page("pages/clients.py").run()
    assert not app.exception, [exception.message for exception in app.exception]
    return app


def test_a_download_of_a_page_table_is_recorded_under_the_os_account(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, media: list[MediaFileManager]
) -> None:
    before = newest(db_path)
    app = clients_page(db_path, monkeypatch)
    # Drawing the button records nothing; clicking it does.
    assert newest(db_path) == before
    content = click_download(app, media, "Download CSV")
    table = pd.read_csv(io.BytesIO(content))
    assert "Avery" in set(table["Client"])  # a client list with names (headers in words)
    assert newest(db_path) == (
        ME,
        "local",
        "export",
        f"clients.csv: {len(table)} rows of the page's table",
    )
    click_download(app, media, "Download XLSX")
    assert newest(db_path)[2:] == ("export", f"clients.xlsx: {len(table)} rows of the page's table")


def test_a_download_in_team_mode_is_recorded_under_the_signed_in_identity(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, media: list[MediaFileManager]
) -> None:
    admin = Scope(
        role="admin", identity="ada@example.org", issuer="https://id.example", subject="s-7"
    )
    app = clients_page(db_path, monkeypatch, admin)
    click_download(app, media, "Download CSV")
    assert newest(db_path)[:3] == ("ada@example.org", "admin", "export")
    db = Database(db_path)
    try:
        (issuer, subject) = db.row(
            "SELECT issuer, subject FROM audit_log ORDER BY entry_id DESC LIMIT 1", []
        )
    finally:
        db.close()
    assert (issuer, subject) == ("https://id.example", "s-7")
