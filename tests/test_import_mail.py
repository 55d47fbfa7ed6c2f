"""E-mail as contacts: hand-made mailboxes in tests/data/messages/, every figure worked out
by hand.

Dr Anna Weber (dr.weber@praxis-weber.de, Europe/Berlin: UTC+1 in November) writes with Lena
Fischer (lena.fischer@example.org, mapped to "Client L") and Tom Berger
(tom.berger@example.com, "Client T"); jonas.k@example.net is mapped to nobody. E-mails
count 3 min each (``minutes_per_email``); messages of a thread less than 10 min apart
are one contact (``conversation_gap_minutes``).

gmail-takeout.mbox, 12 messages:
 1 Lena -> Anna 09:15Z "Termin verschieben" (RFC 2047, multipart)   } contact 1, 6 min,
 2 Anna -> Lena 09:20Z reply (References 1)                         } client, scheduling
 3 Lena -> Anna 14:00Z "Re: Termin" (References 1, 2)                 contact 2, 3 min
 4 Anna -> Tom 23:30Z HTML only, "worksheet"                          contact 3, therapist
 5 newsletter with List-Id, 6 out-of-office (Auto-Submitted), 8 Precedence: bulk,
   10 Gmail spam: left out; 7 Jonas: unmatched; 9 message 1 again: counted once;
11 Tom -> Anna 08:00Z base64 "crisis" + PDF attachment                contact 4, crisis
12 Tom, "Date: not a date at all": not readable.
"""

import io
import json
import tracemalloc
import zipfile
from pathlib import Path

import pytest

from analytics import cli
from analytics.access.scope import LOCAL
from analytics.importing.addresses import list_address_mappings, map_address, unmap_address
from analytics.importing.conversations import MessageFileError, MessageOptions
from analytics.importing.detect import detect_kind
from analytics.importing.dispatch import file_kind, import_detected
from analytics.importing.mail import html_text, import_mail, is_eml, is_mbox, split_mbox
from analytics.storage.database import Database
from analytics.storage.settings import set_setting
from analytics.storage.store import undo_batch

MESSAGES = Path(__file__).parent / "data" / "messages"
TAKEOUT = MESSAGES / "gmail-takeout.mbox"
THUNDERBIRD = MESSAGES / "Thunderbird Inbox"
OUTLOOK = MESSAGES / "outlook"
OPTIONS = MessageOptions(therapist="Anna Weber", time_zone="Europe/Berlin")


def map_clients(db: Database) -> None:
    map_address(
        db, LOCAL, "Anna Weber", "lena.fischer@example.org", "Client L", time_zone="Europe/Berlin"
    )
    map_address(db, LOCAL, "Anna Weber", "Tom.Berger@Example.com", "Client T")


def stored(db: Database) -> list[tuple[object, ...]]:
    """(client, local start, minutes, channel, category, direction) of stored contacts."""
    with db.cursor() as cursor:
        rows = cursor.execute(
            """
            SELECT cl.label, strftime(c.local_started_at, '%Y-%m-%d %H:%M:%S'), c.minutes,
                   c.channel, c.category, c.direction
            FROM contacts AS c JOIN clients AS cl USING (client_id)
            ORDER BY c.started_at
            """
        ).fetchall()
    return [tuple(row) for row in rows]


def contact_count(db: Database) -> int:
    with db.cursor() as cursor:
        row = cursor.execute("SELECT count(*) FROM contacts").fetchone()
    assert row is not None
    return int(row[0])


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_takeout_mbox_becomes_email_contacts_by_thread_and_gap(empty_db: Database) -> None:
    map_clients(empty_db)
    report = import_mail(empty_db, TAKEOUT, file_name=TAKEOUT.name, options=OPTIONS)
    assert report.preset == "mbox"
    assert (report.rows, report.contacts, report.imported, report.rejected) == (12, 4, 4, 1)
    assert report.messages_in_contacts == 5
    assert report.minutes == 15.0
    assert report.repeated == 1
    assert report.left_out == {
        "automatic message": 1,
        "bulk mail": 1,
        "mailing list": 1,
        "spam, trash or draft": 1,
    }
    assert [(u.address, u.messages) for u in report.unmatched] == [("jonas.k@example.net", 1)]
    assert report.errors[0].row == 12 and "Date" in report.errors[0].message
    assert stored(empty_db) == [
        ("Client L", "2026-11-02 10:15:00", 6.0, "email", "scheduling", "client"),
        ("Client L", "2026-11-02 15:00:00", 3.0, "email", "scheduling", "client"),
        ("Client T", "2026-11-04 00:30:00", 3.0, "email", "homework", "therapist"),
        ("Client T", "2026-11-04 09:00:00", 3.0, "email", "crisis", "client"),
    ]


def test_importing_the_same_mailbox_again_adds_nothing(empty_db: Database) -> None:
    map_clients(empty_db)
    first = import_mail(empty_db, TAKEOUT, file_name=TAKEOUT.name, options=OPTIONS)
    # a changed rate makes other minutes (another fingerprint): still nothing new
    set_setting(empty_db, "minutes_per_email", 5)
    again = import_mail(empty_db, TAKEOUT, file_name=TAKEOUT.name, options=OPTIONS)
    assert (first.imported, again.imported, again.duplicates) == (4, 0, 4)
    assert again.batch_id is None
    assert contact_count(empty_db) == 4


def test_unmapped_mailbox_lists_addresses_but_not_the_owner_and_stores_nothing(
    empty_db: Database,
) -> None:
    report = import_mail(empty_db, TAKEOUT, file_name=TAKEOUT.name, options=OPTIONS)
    # dr.weber@ is in all 6 candidate messages (the mailbox's owner): not listed
    assert [(u.address, u.messages) for u in report.unmatched] == [
        ("lena.fischer@example.org", 3),
        ("tom.berger@example.com", 2),
        ("info@praxis-weber.de", 1),
        ("jonas.k@example.net", 1),
    ]
    assert (report.imported, report.batch_id) == (0, None)
    assert contact_count(empty_db) == 0


def test_gap_setting_splits_or_joins_a_thread(empty_db: Database) -> None:
    map_clients(empty_db)
    set_setting(empty_db, "conversation_gap_minutes", 0)  # every e-mail its own contact
    report = import_mail(empty_db, TAKEOUT, file_name=TAKEOUT.name, options=OPTIONS, dry_run=True)
    assert (report.contacts, report.minutes) == (5, 15.0)
    set_setting(empty_db, "conversation_gap_minutes", 300)  # 09:15, 09:20 and 14:00 joined
    report = import_mail(empty_db, TAKEOUT, file_name=TAKEOUT.name, options=OPTIONS, dry_run=True)
    assert (report.contacts, report.minutes) == (3, 15.0)
    assert contact_count(empty_db) == 0  # dry runs


def test_thunderbird_mbox_splits_only_at_from_lines_after_a_blank_line(
    empty_db: Database,
) -> None:
    map_clients(empty_db)
    report = import_detected(
        empty_db, THUNDERBIRD, file_name=THUNDERBIRD.name, message_options=OPTIONS
    )
    assert (report.rows, report.imported) == (2, 2)
    assert stored(empty_db) == [
        ("Client T", "2026-11-04 11:02:09", 3.0, "email", "check_in", "client"),
        ("Client T", "2026-11-04 13:40:00", 3.0, "email", "check_in", "therapist"),
    ]


def test_apple_mail_export_folder_is_read_as_its_mbox(empty_db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "Inbox.mbox"  # what Apple Mail's "Export Mailbox…" writes
    folder.mkdir()
    (folder / "mbox").write_bytes(THUNDERBIRD.read_bytes())
    (folder / "Info.plist").write_text("<?xml version='1.0'?><plist></plist>")
    map_clients(empty_db)
    assert file_kind(folder) == "mbox"
    report = import_detected(empty_db, folder, file_name=folder.name, message_options=OPTIONS)
    assert (report.preset, report.imported) == ("mbox", 2)


def test_outlook_eml_folder_and_zip_give_the_same_contacts(tmp_path: Path) -> None:
    expected = [("Client L", "2026-11-03 10:12:44", 6.0, "email", "homework", "client")]
    for source, name in (
        (OUTLOOK, "outlook"),
        (zipped({p.name: p.read_bytes() for p in sorted(OUTLOOK.glob("*.eml"))}), "mail.zip"),
    ):
        db = Database(tmp_path / f"{name}.duckdb")
        map_clients(db)
        assert file_kind(source) == "eml"
        report = import_detected(db, source, file_name=name, message_options=OPTIONS)
        assert report.preset == "eml"
        assert (report.rows, report.imported) == (3, 1)
        assert report.left_out == {"automatic message": 1}
        assert stored(db) == expected
        db.close()


def test_one_eml_file_is_one_batch(empty_db: Database) -> None:
    map_clients(empty_db)
    data = (OUTLOOK / "01-lena.eml").read_bytes()
    report = import_detected(empty_db, data, file_name="01-lena.eml", message_options=OPTIONS)
    assert (report.preset, report.imported, report.minutes) == ("eml", 1, 3.0)


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (TAKEOUT, "mbox"),
        (THUNDERBIRD, "mbox"),
        (OUTLOOK / "01-lena.eml", "eml"),
        (OUTLOOK / "02-reply.eml", "eml"),
        (MESSAGES / "WhatsApp Chat with Lena Fischer.txt", "whatsapp"),
    ],
)
def test_detected_by_content(path: Path, kind: str) -> None:
    assert detect_kind(path.read_bytes()[:65536]) == kind


@pytest.mark.parametrize(
    "head",
    [
        b"From,To,Date,Minutes\nlena,anna,2026-11-02,5\n",
        b"From: nobody\n\njust a line",  # no Date or Message-ID
        b"From the desk of Anna: notes\n",
        b"Date,From,Subject\n",
    ],
)
def test_not_mail(head: bytes) -> None:
    assert not is_mbox(head) and not is_eml(head)


def test_html_only_body_is_read_without_tags_and_styles() -> None:
    html = "<html><head><style>p {color: red}</style></head><body><p>A <b>worksheet</b></p>"
    assert html_text(html) == "A worksheet"


def test_mbox_split_unquotes_mboxrd_and_cuts_huge_messages() -> None:
    huge = b"x" * (3 * 1024 * 1024)
    mbox = (
        b"From a@b Mon Nov 02 09:15:00 2026\nFrom: a@b\nDate: x\n\n>From me\nFrom you\n\n"
        b"From c@d Mon Nov 02 09:16:00 2026\nFrom: c@d\n\n" + huge + b"\n"
    )
    messages = list(split_mbox(io.BytesIO(mbox), "test"))
    assert len(messages) == 2
    assert b"\nFrom me\nFrom you\n" in messages[0]
    assert len(messages[1]) == 2 * 1024 * 1024


def test_huge_mbox_is_streamed_not_loaded_whole(empty_db: Database, tmp_path: Path) -> None:
    """3,000 messages (about 20 MB): Python never holds more than a few MB of it."""
    map_clients(empty_db)
    path = tmp_path / "huge.mbox"
    filler = "Some words about the week and the homework worksheet. " * 120
    with path.open("w") as file:
        for n in range(3_000):
            minute, hour, day = n % 60, (n // 60) % 24, 1 + n // 1440
            file.write(
                f"From x@y Mon Nov 02 09:15:00 2026\nFrom: Lena <lena.fischer@example.org>\n"
                f"To: dr.weber@praxis-weber.de\nMessage-ID: <m{n}@example.org>\n"
                f"Date: Sun, {day} Nov 2026 {hour:02}:{minute:02}:00 +0000\n"
                f"Subject: Note {n}\n\n{filler}\n\n"
            )
    size = path.stat().st_size
    tracemalloc.start()
    try:
        report = import_mail(empty_db, path, file_name="huge.mbox", options=OPTIONS, dry_run=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.rows == 3_000
    # one message a minute from 1 Nov 00:00, each its own thread: a contact each
    assert report.contacts == 3_000
    assert peak < size / 2, f"peak {peak:,} bytes for a {size:,}-byte mailbox"


def test_mailbox_over_the_limit_is_refused_in_one_sentence(
    empty_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACTLOAD_MAX_UPLOAD_MB", "0.1")  # mailboxes: 5 x 0.1 MB
    path = tmp_path / "big.mbox"
    path.write_bytes(TAKEOUT.read_bytes() * 80)  # about 1 MB
    with pytest.raises(MessageFileError) as raised:
        import_mail(empty_db, path, file_name="big.mbox", options=OPTIONS)
    message = str(raised.value)
    assert message.count(". ") <= 2 and "Nothing was stored." in message
    assert contact_count(empty_db) == 0


def test_zip_bomb_of_eml_files_is_refused(
    empty_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACTLOAD_MAX_UPLOAD_MB", "1")
    bomb = zipped({"a.eml": b"From: a@b\nDate: x\n\n" + b"\0" * (30 * 1024 * 1024)})
    assert len(bomb) < 100_000
    map_clients(empty_db)
    with pytest.raises(MessageFileError, match="would unpack to more than 5 MB"):
        import_detected(empty_db, bomb, file_name="bomb.zip", message_options=OPTIONS)
    assert contact_count(empty_db) == 0


@pytest.mark.parametrize(
    "data",
    [
        # headers that parse into nothing usable: no sender, no date
        b"From x Mon Nov 02 09:15:00 2026\nFrom: \x00\x01\xff<<@@>>\nDate: 99 Foo 99999 99:99\n"
        b"Message-ID: <\n\nbody\n",
        b"From x Mon Nov 02 09:15:00 2026\nFrom: =?utf-8?B?!!!?= <>\nDate:\nTo: ,,,,\n\n",
    ],
)
def test_malformed_headers_give_one_sentence_and_store_nothing(
    empty_db: Database, data: bytes
) -> None:
    map_clients(empty_db)
    with pytest.raises(MessageFileError, match="has a readable sender and date"):
        import_detected(empty_db, data, file_name="bad.mbox", message_options=OPTIONS)
    assert contact_count(empty_db) == 0


def test_binary_garbage_named_mbox_is_no_mailbox(empty_db: Database) -> None:
    import random

    garbage = random.Random(7).randbytes(200_000)
    assert file_kind(garbage) not in ("mbox", "eml", "whatsapp")


def test_undo_removes_the_batch_and_mappings_stay(empty_db: Database) -> None:
    map_clients(empty_db)
    report = import_mail(empty_db, TAKEOUT, file_name=TAKEOUT.name, options=OPTIONS)
    assert report.batch_id is not None
    undo_batch(empty_db, report.batch_id)
    assert contact_count(empty_db) == 0
    assert len(list_address_mappings(empty_db, LOCAL)) == 2
    assert unmap_address(empty_db, LOCAL, "Anna Weber", "LENA.fischer@example.org")
    assert not unmap_address(empty_db, LOCAL, "Anna Weber", "lena.fischer@example.org")


def test_cli_import_json_names_the_source(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "cli.duckdb")
    who = ["--therapist", "Anna Weber", "--time-zone", "Europe/Berlin"]
    assert (
        cli.main(["addresses", "map", "lena.fischer@example.org", "Client L", "--db", db, *who])
        == 0
    )
    assert "l…@e… mapped to Client L (new client)" in capsys.readouterr().out
    code = cli.main(["import", str(TAKEOUT), str(OUTLOOK), "--db", db, *who, "--json"])
    assert code == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert [(f["preset"], f["imported"]) for f in files] == [("mbox", 2), ("eml", 1)]
    assert files[0]["unmatched"][0] == {"address": "tom.berger@example.com", "messages": 2}
    assert cli.main(["import", str(TAKEOUT), "--db", db, *who]) == 0
    out = capsys.readouterr().out
    assert "Imported 0 contacts" in out and "2 already stored" in out
    assert cli.main(["addresses", "list", "--db", db, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(row["kind"], row["address_hint"], row["client"]) for row in listed] == [
        ("email", "l…@e…", "Client L")
    ]


def test_binary_garbage_gets_one_sentence_and_stores_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import random

    db = tmp_path / "garbage.duckdb"
    garbage = random.Random(11).randbytes(300_000)
    for name, data in (
        ("garbage.mbox", garbage),
        ("outlook.zip", zipped({"a.eml": garbage, "b.eml": garbage[::-1]})),
        ("chat.zip", zipped({"_chat.txt": garbage})),
    ):
        path = tmp_path / name
        path.write_bytes(data)
        code = cli.main(["import", str(path), "--db", str(db), "--therapist", "Anna Weber"])
        error = capsys.readouterr().err.strip()
        assert code == 1
        assert error.startswith(f"contactload: {name}: ") and "\n" not in error
        assert "Traceback" not in error
    opened = Database(db)
    assert contact_count(opened) == 0
    opened.close()
