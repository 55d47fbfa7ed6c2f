"""No body, address, chat name or phone number of an imported mailbox or chat reaches the
database: every value of every table is read, and the raw bytes of the file and its WAL are
scanned (DuckDB compresses strings, so the bytes alone could miss a stored marker)."""

import io
import zipfile
from pathlib import Path

from analytics.access.scope import LOCAL
from analytics.importing.addresses import map_address
from analytics.importing.conversations import MessageOptions
from analytics.importing.dispatch import import_detected
from analytics.importing.phone_log import map_number
from analytics.storage.database import Database

MESSAGES = Path(__file__).parent / "data" / "messages"
OPTIONS = MessageOptions(therapist="Anna Weber", time_zone="Europe/Berlin")

# Written in the fixtures; none may be stored in any form the user could read back.
MARKERS = (
    # addresses (senders, recipients, the owner's, a Cc, an unmatched one)
    "lena.fischer@example.org", "tom.berger@example.com", "jonas.k@example.net",
    "dr.weber@praxis-weber.de", "info@praxis-weber.de", "praxis-weber.de", "example.org",
    # bodies and subjects (plain, quoted-printable, base64, HTML, encoded words)
    "Dienstplan", "Termin verschieben", "Bitte um Rückruf", "can't sleep", "worksheet we",
    "breathing exercise", "Arbeitsblatt zur", "ausgefüllt", "Platz frei", "Friday at 10",
    "much better today", "Montag passt", "absagen", "homework sheet", "Out of office",
    # chat names and members, message ids
    "Lena Fischer", "Tom Berger", "Jonas", "CAB1xLena001", "AM6PR08MB1234",
    # the chat partner's phone number, however written
    "1701234567", "170 1234567", "+49 170",
)  # fmt: skip


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _import_everything(db: Database) -> int:
    """Map the clients and import every fixture; the contacts stored."""
    map_address(db, LOCAL, "Anna Weber", "lena.fischer@example.org", "Client L",
                time_zone="Europe/Berlin")  # fmt: skip
    map_address(db, LOCAL, "Anna Weber", "Tom.Berger@example.com", "Client T")
    map_address(db, LOCAL, "Anna Weber", "Lena Fischer", "Client L")
    map_address(db, LOCAL, "Anna Weber", "Tom Berger", "Client T")
    map_number(db, LOCAL, "Anna Weber", "+49 170 1234567", "Client P")
    outlook = MESSAGES / "outlook"
    sources: list[tuple[bytes | Path, str]] = [
        (MESSAGES / "gmail-takeout.mbox", "gmail-takeout.mbox"),
        (MESSAGES / "Thunderbird Inbox", "Thunderbird Inbox"),
        (outlook, "outlook"),
        ((outlook / "01-lena.eml").read_bytes(), "Arbeitsblatt zur Übung.eml"),
        (MESSAGES / "WhatsApp Chat with Lena Fischer.txt", "WhatsApp Chat with Lena Fischer.txt"),
        (_zip({"_chat.txt": (MESSAGES / "ios-de-chat.txt").read_bytes()}),
         "WhatsApp Chat - Tom Berger.zip"),
        (MESSAGES / "WhatsApp Chat with +49 170 1234567.txt",
         "WhatsApp Chat with +49 170 1234567.txt"),
    ]  # fmt: skip
    stored = 0
    for source, name in sources:
        report = import_detected(db, source, file_name=name, message_options=OPTIONS)
        stored += report.imported
    return stored


def _every_value(db: Database) -> list[str]:
    """Every value of every table of the database, as text."""
    values: list[str] = []
    with db.cursor() as cursor:
        tables = [
            str(row[0])
            for row in cursor.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
            ).fetchall()
        ]
        for table in tables:
            for row in cursor.execute(f'SELECT * FROM "{table}"').fetchall():
                values.extend(str(value) for value in row if value is not None)
    return values


def test_nothing_private_is_stored_in_values_or_bytes(tmp_path: Path) -> None:
    db = Database(tmp_path / "private.duckdb")
    # mbox 4, Thunderbird 2, Outlook 1 (the single .eml repeats it: 0), chats 2 + 3 + 1
    assert _import_everything(db) == 13
    values = _every_value(db)
    assert any("Client L" in value for value in values)  # the reading works
    found = [m for m in MARKERS if any(m.casefold() in value.casefold() for value in values)]
    assert found == []
    # the history names the chats by a hint, never by the chat's name or number
    assert "WhatsApp Chat with L….txt" in values
    db.close()
    raw = b"".join(
        path.read_bytes() for path in tmp_path.iterdir() if path.name.startswith("private.")
    )
    assert raw  # the file (and WAL, if any) were read
    leaked = [
        m for m in MARKERS for form in {m, m.lower()} if form.encode() in raw or
        form.encode("utf-16-le") in raw
    ]  # fmt: skip
    assert leaked == []


def test_the_inbox_history_keeps_no_chat_name(tmp_path: Path) -> None:
    import shutil

    from analytics.importing import inbox

    db = Database(tmp_path / "inbox.duckdb")
    folder = tmp_path / "inbox"
    folder.mkdir()
    for name in ("WhatsApp Chat with Lena Fischer.txt", "WhatsApp Chat with +49 170 1234567.txt"):
        shutil.copy(MESSAGES / name, folder)
    result = inbox.sweep(db, folder, settle=0.1)
    # the inbox names no therapist: filed as failed, with the sentence that says so
    assert [entry.outcome for entry in result.taken] == ["failed", "failed"]
    values = _every_value(db)
    assert any("WhatsApp Chat with L….txt" in value for value in values)
    assert [m for m in MARKERS if any(m in value for value in values)] == []
    db.close()
