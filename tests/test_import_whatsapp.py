"""WhatsApp chat exports as contacts: hand-made exports in tests/data/messages/ in the
layouts Android and iOS write, every figure worked out by hand.

Dr Anna Weber works in Europe/Berlin (UTC+1 in November). Chat messages count 2 min each
(``minutes_per_text``); messages less than 10 min apart are one contact.

* "WhatsApp Chat with Lena Fischer.txt" (Android, English, US: month-first, 12-hour clock
  with the narrow no-break space before PM): encryption notice, Lena 9:05 PM + Anna 9:07
  PM (two lines) = contact 1 (4 min, scheduling, client); media omitted and deleted left
  out; 11/13 7:45 AM Lena + 7:50 AM Anna = contact 2 (4 min, check_in, client).
* ios-de-chat.txt (iOS, German, 24-hour clock with seconds), zipped as _chat.txt in
  "WhatsApp Chat - Tom Berger.zip": Tom 21:05:33 "Termin … absagen" (scheduling, client),
  Anna 21:20:10 (15 min later: scheduling, therapist), Tom 08:00 next day (other, client);
  encryption notice, image and deleted message left out.
* "WhatsApp Chat with +49 170 1234567.txt" (Android, UK: every date reads both ways,
  24-hour clock, so day-first): the partner is a phone number the phone logs' mapping
  knows; 21:05 + 21:06 = one contact of 4 min, homework.
"""

import io
import zipfile
from pathlib import Path

import pytest

from analytics.access.scope import LOCAL
from analytics.importing.addresses import map_address
from analytics.importing.conversations import MessageFileError, MessageOptions
from analytics.importing.dispatch import file_kind, import_detected
from analytics.importing.phone_log import map_number
from analytics.importing.whatsapp import (
    _message_line,
    chat_name,
    import_whatsapp,
    is_whatsapp,
)
from analytics.storage.database import Database

MESSAGES = Path(__file__).parent / "data" / "messages"
LENA = MESSAGES / "WhatsApp Chat with Lena Fischer.txt"
IOS_DE = MESSAGES / "ios-de-chat.txt"
NUMBER = MESSAGES / "WhatsApp Chat with +49 170 1234567.txt"
OPTIONS = MessageOptions(therapist="Anna Weber", time_zone="Europe/Berlin")
NNBSP = "\u202f"
LRM = "\u200e"


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


def tom_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("_chat.txt", IOS_DE.read_bytes())
        archive.writestr("00000012-PHOTO-2026-11-02-21-21-00.jpg", b"\xff\xd8\xff\xe0" * 500)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("line", "parts"),
    [
        # Android, English (US), 12-hour, narrow no-break space before PM
        (f"12/31/23, 9:05{NNBSP}PM - Anna Weber: Hi", ("12/31/23", "9:05 PM", "Anna Weber: Hi")),
        ("12/31/23, 9:05 PM - Anna Weber: Hi", ("12/31/23", "9:05 PM", "Anna Weber: Hi")),
        # Android, English (UK, India...), 24-hour, four-digit years
        ("31/12/2023, 21:05 - Lena: ok", ("31/12/2023", "21:05", "Lena: ok")),
        # Android, German
        (
            "31.12.23, 21:05 - Lena: <Medien ausgeschlossen>",
            ("31.12.23", "21:05", "Lena: <Medien ausgeschlossen>"),
        ),
        # iOS, German, seconds
        (
            "[31.12.23, 21:05:33] Lena Fischer: Hallo",
            ("31.12.23", "21:05:33", "Lena Fischer: Hallo"),
        ),
        # iOS, English (US), 12-hour with seconds, a mark before the line
        (
            f"{LRM}[12/31/23, 9:05:33{NNBSP}PM] Tom: {LRM}image omitted",
            ("12/31/23", "9:05:33 PM", "Tom: image omitted"),
        ),
        # a system line without a sender
        (
            '31/12/2023, 21:05 - You created group "Praxis"',
            ("31/12/2023", "21:05", 'You created group "Praxis"'),
        ),
    ],
)
def test_message_lines_of_each_layout(line: str, parts: tuple[str, str, str]) -> None:
    found = _message_line(line)
    assert found is not None
    assert (found.group("date"), found.group("time"), found.group("rest")) == parts


@pytest.mark.parametrize(
    "line",
    ["Let me know if that works.", "12/31/23 is the day", "Date,Client,Minutes", "[note] text"],
)
def test_continuation_lines_are_no_messages(line: str) -> None:
    assert _message_line(line) is None


@pytest.mark.parametrize(
    ("file_name", "name"),
    [
        ("WhatsApp Chat with Lena Fischer.txt", "Lena Fischer"),
        ("WhatsApp-Chat mit Lena Fischer.txt", "Lena Fischer"),
        ("WhatsApp Chat - Tom Berger.zip", "Tom Berger"),
        ("WhatsApp Chat with Lena Fischer (1).txt", "Lena Fischer"),
        ("_chat.txt", None),
        ("export.txt", None),
    ],
)
def test_chat_name_from_the_file_name(file_name: str, name: str | None) -> None:
    assert chat_name(file_name) == name


def test_android_us_export_mapped_by_chat_name(empty_db: Database) -> None:
    map_address(
        empty_db, LOCAL, "Anna Weber", "Lena Fischer", "Client L", time_zone="Europe/Berlin"
    )
    report = import_whatsapp(empty_db, LENA, file_name=LENA.name, options=OPTIONS)
    assert (report.preset, report.rows, report.contacts, report.imported) == ("whatsapp", 7, 2, 2)
    assert report.date_order == "mdy" and report.notes == []
    assert report.left_out == {"deleted message": 1, "media without text": 1, "system message": 1}
    assert report.minutes == 8.0
    assert stored(empty_db) == [
        ("Client L", "2026-11-02 21:05:00", 4.0, "text", "scheduling", "client"),
        ("Client L", "2026-11-13 07:45:00", 4.0, "text", "check_in", "client"),
    ]
    again = import_whatsapp(empty_db, LENA, file_name=LENA.name, options=OPTIONS)
    assert (again.imported, again.duplicates, again.batch_id) == (0, 2, None)


def test_ios_german_zip_lists_the_partner_until_mapped(empty_db: Database) -> None:
    data = tom_zip()
    assert file_kind(data) == "whatsapp"
    name = "WhatsApp Chat - Tom Berger.zip"
    before = import_detected(empty_db, data, file_name=name, message_options=OPTIONS)
    # the therapist's own name is never offered for mapping
    assert [(u.address, u.messages) for u in before.unmatched] == [("Tom Berger", 3)]
    assert (before.imported, before.batch_id) == (0, None)
    map_address(empty_db, LOCAL, "Anna Weber", "tom berger", "Client T", time_zone="Europe/Berlin")
    report = import_detected(empty_db, data, file_name=name, message_options=OPTIONS)
    assert report.preset == "whatsapp" and report.date_order == "dmy"
    assert report.left_out == {"deleted message": 1, "media without text": 1, "system message": 1}
    assert stored(empty_db) == [
        ("Client T", "2026-11-02 21:05:33", 2.0, "text", "scheduling", "client"),
        ("Client T", "2026-11-02 21:20:10", 2.0, "text", "scheduling", "therapist"),
        ("Client T", "2026-11-03 08:00:00", 2.0, "text", "other", "client"),
    ]


def test_ios_text_without_a_chat_name_is_mapped_by_its_member(empty_db: Database) -> None:
    map_address(empty_db, LOCAL, "Anna Weber", "Tom Berger", "Client T", time_zone="Europe/Berlin")
    report = import_whatsapp(empty_db, IOS_DE, file_name="_chat.txt", options=OPTIONS)
    assert (report.contacts, report.minutes) == (3, 6.0)


def test_partner_shown_as_a_number_uses_the_phone_mapping(empty_db: Database) -> None:
    map_number(
        empty_db, LOCAL, "Anna Weber", "+49 170 1234567", "Client P", time_zone="Europe/Berlin"
    )
    report = import_detected(empty_db, NUMBER, file_name=NUMBER.name, message_options=OPTIONS)
    assert report.date_order == "dmy"
    assert report.notes and "day-first (24-hour clock)" in report.notes[0]
    assert report.left_out == {"media without text": 1}
    assert stored(empty_db) == [
        ("Client P", "2026-11-02 21:05:00", 4.0, "text", "homework", "client")
    ]


def test_date_order_given_wins_over_the_guess(empty_db: Database) -> None:
    map_number(
        empty_db, LOCAL, "Anna Weber", "+49 170 1234567", "Client P", time_zone="Europe/Berlin"
    )
    options = MessageOptions(therapist="Anna Weber", time_zone="Europe/Berlin", date_order="mdy")
    report = import_whatsapp(empty_db, NUMBER, file_name=NUMBER.name, options=options)
    assert report.notes == []
    assert stored(empty_db)[0][1] == "2026-02-11 21:05:00"


def test_detection() -> None:
    assert is_whatsapp(LENA.read_bytes())
    assert is_whatsapp(IOS_DE.read_bytes())
    assert not is_whatsapp(b"Date,Client,Minutes\n2026-11-02,Lena,5\n")
    assert not is_whatsapp(b"")


def test_zip_bomb_chat_is_refused(empty_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONTACTLOAD_MAX_UPLOAD_MB", "1")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("_chat.txt", LENA.read_bytes() + b"\n" * (40 * 1024 * 1024))
    with pytest.raises(MessageFileError, match="unpack to more than 5 MB"):
        import_detected(
            empty_db, buffer.getvalue(), file_name="WhatsApp Chat - X.zip", message_options=OPTIONS
        )


def test_zip_without_chat_text_is_not_a_chat() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("photo.jpg", b"\xff\xd8")
    assert file_kind(buffer.getvalue()) == "contacts"  # then refused as no workbook


def test_garbage_after_a_first_dated_line_stores_nothing(empty_db: Database) -> None:
    import random

    data = b"31/12/2023, 21:05 - Lena: hi\n" + random.Random(3).randbytes(50_000)
    map_address(empty_db, LOCAL, "Anna Weber", "Lena", "Client L", time_zone="Europe/Berlin")
    report = import_detected(empty_db, data, file_name="chat.txt", message_options=OPTIONS)
    # one message (the garbage continues it): one contact, nothing else invented
    assert (report.rows, report.imported) == (1, 1)


def test_android_german_export(empty_db: Database) -> None:
    chat = MESSAGES / "WhatsApp-Chat mit Lena Fischer.txt"
    map_address(
        empty_db, LOCAL, "Anna Weber", "Lena Fischer", "Client L", time_zone="Europe/Berlin"
    )
    report = import_detected(empty_db, chat, file_name=chat.name, message_options=OPTIONS)
    assert (report.preset, report.rows, report.date_order) == ("whatsapp", 5, "dmy")
    assert report.left_out == {"deleted message": 1, "media without text": 1, "system message": 1}
    assert stored(empty_db) == [
        ("Client L", "2026-10-31 18:02:00", 4.0, "text", "homework", "client")
    ]


def test_cli_import_json_names_whatsapp(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from analytics import cli

    db = str(tmp_path / "cli.duckdb")
    who = ["--therapist", "Anna Weber", "--time-zone", "Europe/Berlin"]
    assert cli.main(["addresses", "map", "Lena Fischer", "Client L", "--db", db, *who]) == 0
    assert "Chat L… mapped to Client L (new client)" in capsys.readouterr().out
    zipped = tmp_path / "WhatsApp Chat - Tom Berger.zip"
    zipped.write_bytes(tom_zip())
    assert cli.main(["import", str(LENA), str(zipped), "--db", db, *who, "--json"]) == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert [(f["preset"], f["imported"], f["date_order"]) for f in files] == [
        ("whatsapp", 2, "mdy"),
        ("whatsapp", 0, "dmy"),
    ]
    assert files[1]["unmatched"] == [{"address": "Tom Berger", "messages": 3}]
    assert "estimated: 2 min per message" in files[0]["minutes_note"]
