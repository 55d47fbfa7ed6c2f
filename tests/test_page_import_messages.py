"""The Import page with a mailbox and a WhatsApp chat, under AppTest: recognised by content,
previewed with their figures (worked out by hand in test_import_mail and
test_import_whatsapp), imported once, and a second import adds nothing."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analytics.access.scope import LOCAL
from analytics.importing.addresses import map_address
from analytics.storage.database import Database
from tests.test_pages import metric_values, run_app

PAGE = "pages/import_data.py"
MESSAGES = Path(__file__).parent / "data" / "messages"


def upload(app: AppTest, name: str, content: bytes) -> AppTest:
    app.selectbox(key="import_time_zone").set_value("Europe/Berlin")
    app.text_input(key="import_therapist").set_value("Anna Weber").run()
    app.file_uploader(key="import_files").set_value(
        (name, content, "application/octet-stream")
    ).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def mapped_db(path: Path) -> Path:
    db = Database(path)
    map_address(db, LOCAL, "Anna Weber", "lena.fischer@example.org", "Client L",
                time_zone="Europe/Berlin")  # fmt: skip
    map_address(db, LOCAL, "Anna Weber", "tom.berger@example.com", "Client T")
    map_address(db, LOCAL, "Anna Weber", "Lena Fischer", "Client L")
    db.close()
    return path


def test_mailbox_is_previewed_and_imported_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(mapped_db(tmp_path / "contactload.duckdb"), monkeypatch, PAGE)
    upload(app, "All mail Including Spam and Trash.mbox",
           (MESSAGES / "gmail-takeout.mbox").read_bytes())  # fmt: skip
    assert any("mailbox (mbox): 12 messages" in caption.value for caption in app.caption)
    metrics = metric_values(app)
    assert (metrics["Messages"], metrics["Will import"], metrics["Minutes"]) == (
        "12", "4", "15.0 min"
    )  # fmt: skip
    assert metrics["Unmatched"] == "1"  # jonas.k@, offered for mapping
    app.button(key=next(b.key for b in app.button if b.label == "Import this file")).click().run()
    assert not app.exception
    assert any("4 contacts imported" in success.value for success in app.success)
    app.button(key=next(b.key for b in app.button if b.label == "Import this file")).click().run()
    assert any("nothing new to store (4 already stored)" in info.value for info in app.info)


def test_whatsapp_chat_is_recognised_and_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(mapped_db(tmp_path / "contactload.duckdb"), monkeypatch, PAGE)
    chat = MESSAGES / "WhatsApp Chat with Lena Fischer.txt"
    upload(app, chat.name, chat.read_bytes())
    assert any("WhatsApp chat export: 7 messages" in caption.value for caption in app.caption)
    assert metric_values(app)["Will import"] == "2"
    app.button(key=next(b.key for b in app.button if b.label == "Import this file")).click().run()
    assert any("2 contacts imported" in success.value for success in app.success)
    assert not app.exception
