"""Google Voice from Google Takeout: hand-made Takeout pages in tests/data/google_voice/
(written by tests' own script in the shape Takeout writes, see analytics/importing/
google_voice.py for the sources), every figure worked out by hand.

Dr Reyes of Bay Counseling, America/New_York (EST, UTC-5, in January 2026). Anna is
+1 212-555-0142, Ben +1 312-555-0177; +1 617-555-0123 is mapped to nobody. The Takeout:

* Anna received 2026-01-05 09:33:21, PT12M30S = 12.5 min; Anna placed 2026-01-06 15:00,
  PT4M = 4 min; a missed call from +1 212-555-0199 (left out); Ben's voicemail 2026-01-07
  18:30, PT1M5S = 65 s = 1.0833 min (received); the stranger's call 2026-01-08 11:00,
  PT2M (unmatched);
* Anna's thread on 2026-01-08: 09:00 hers, 5 words ("Can we reschedule Thursday's
  appointment?"), 09:03 mine, 60 words, 11:00 mine, a picture ("MMS Sent": no text);
* a group thread with Anna and Ben, two messages (left out); Ben's thread, 2026-01-09
  21:15 his "ok thanks".
"""

import json
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from analytics import cli
from analytics.access.scope import LOCAL
from analytics.importing.detect import detect_kind
from analytics.importing.dispatch import file_kind, import_detected
from analytics.importing.google_voice import (
    MAX_PAGE_BYTES,
    GoogleVoiceError,
    import_google_voice,
    is_google_voice,
)
from analytics.importing.phone_log import PhoneLogOptions, PhoneLogReport, map_number
from analytics.storage.database import Database
from tests.test_care import every_value, file_bytes, traces

DATA = Path(__file__).parent / "data" / "google_voice"
FOLDER = DATA / "Takeout"
ZIP = DATA / "takeout-20260111T120000Z-001.zip"
PAGES = FOLDER / "Voice" / "Calls"
THREAD = PAGES / "Anna Alvarez - Text - 2026-01-08T14_00_00Z.html"
OPTIONS = PhoneLogOptions(
    therapist="Dr Reyes", practice="Bay Counseling", time_zone="America/New_York"
)


def map_anna_and_ben(db: Database) -> None:
    map_number(
        db, LOCAL, "Dr Reyes", "+1 212-555-0142", "Anna", practice="Bay Counseling",
        time_zone="America/New_York",
    )  # fmt: skip
    map_number(db, LOCAL, "Dr Reyes", "(312) 555-0177", "Ben", practice="Bay Counseling",
               region="US")  # fmt: skip


def stored(db: Database) -> list[tuple[object, ...]]:
    """(client, local start, minutes, channel, category, direction), by start."""
    with db.cursor() as cursor:
        return cursor.execute(
            """
            SELECT cl.label, c.local_started_at, round(c.minutes, 4), c.channel, c.category,
                   c.direction
            FROM contacts AS c JOIN clients AS cl USING (client_id) ORDER BY c.started_at
            """
        ).fetchall()


def counts(db: Database) -> tuple[int, int]:
    with db.cursor() as cursor:
        row = cursor.execute(
            "SELECT (SELECT count(*) FROM contacts), (SELECT count(*) FROM import_batches)"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


EXPECTED = [
    ("Anna", datetime(2026, 1, 5, 9, 33, 21), 12.5, "phone", "other", "client"),
    ("Anna", datetime(2026, 1, 6, 15, 0), 4.0, "phone", "other", "therapist"),
    ("Ben", datetime(2026, 1, 7, 18, 30), 1.0833, "phone", "other", "client"),  # voicemail
    # 5 / 240 + 60 / 20 = 0.0208 + 3 = 3.0208 min (3 minutes apart: one contact), started
    # by Anna; "reschedule ... appointment": scheduling
    ("Anna", datetime(2026, 1, 8, 9, 0), 3.0208, "text", "scheduling", "client"),
    # two hours later, a picture without text: the 2-minute floor
    ("Anna", datetime(2026, 1, 8, 11, 0), 2.0, "text", "other", "therapist"),
    ("Ben", datetime(2026, 1, 9, 21, 15), 2.0, "text", "other", "client"),  # 2 / 240: floor
]


@pytest.mark.parametrize("source", [FOLDER, ZIP], ids=["folder", "zip"])
def test_takeout_calls_voicemails_and_texts_become_contacts(
    empty_db: Database, source: Path
) -> None:
    map_anna_and_ben(empty_db)
    report = import_detected(empty_db, source, file_name=source.name, phone_options=OPTIONS)
    assert isinstance(report, PhoneLogReport)
    assert report.preset == "google_voice"
    # 5 call pages, 3 + 2 + 1 messages
    assert (report.rows, report.calls, report.texts) == (11, 5, 6)
    assert (report.imported, report.imported_calls, report.imported_texts) == (6, 3, 3)
    assert report.joined == 1
    assert report.left_out == {"missed call": 1, "group message": 2}
    assert [(u.number, u.calls, u.minutes) for u in report.unmatched] == [("+16175550123", 1, 2.0)]
    assert report.call_minutes == pytest.approx(12.5 + 4 + 65 / 60)
    assert report.text_minutes == pytest.approx(5 / 240 + 3 + 2 + 2)
    assert stored(empty_db) == EXPECTED
    assert report.describe() == "Google Voice Takeout: 5 calls and 6 texts"


def test_importing_the_takeout_again_adds_nothing(empty_db: Database) -> None:
    map_anna_and_ben(empty_db)
    import_detected(empty_db, ZIP, file_name=ZIP.name, phone_options=OPTIONS)
    assert counts(empty_db) == (6, 1)
    again = import_detected(empty_db, ZIP, file_name=ZIP.name, phone_options=OPTIONS)
    # 3 calls already stored (same fingerprint), 3 texts already stored (same instant)
    assert (again.imported, again.duplicates) == (0, 6)
    folder = import_detected(empty_db, FOLDER, file_name="Takeout", phone_options=OPTIONS)
    assert (folder.imported, folder.duplicates) == (0, 6)
    assert counts(empty_db)[0] == 6


def test_one_page_is_an_upload_of_its_own(empty_db: Database) -> None:
    map_anna_and_ben(empty_db)
    report = import_google_voice(
        empty_db, THREAD.read_bytes(), file_name=THREAD.name, options=OPTIONS
    )
    assert (report.rows, report.imported_texts, report.text_minutes) == (3, 2, pytest.approx(
        5 / 240 + 3 + 2
    ))  # fmt: skip


def test_takeout_is_recognised_by_content() -> None:
    page = THREAD.read_bytes()
    call = (PAGES / "Anna Alvarez - Received - 2026-01-05T14_33_21Z.html").read_bytes()
    assert detect_kind(page[:65536]) == "google_voice"
    assert detect_kind(call[:65536]) == "google_voice"
    assert file_kind(ZIP.read_bytes()) == "google_voice"
    assert file_kind(ZIP) == "google_voice"
    assert file_kind(FOLDER) == "google_voice"
    archive_page = (FOLDER / "archive_browser.html").read_bytes()
    assert detect_kind(archive_page) == "markup"  # Takeout's index page is no Voice page
    assert not is_google_voice(Path(__file__).parent / "data" / "phone")


def test_the_cli_imports_the_zip_with_the_json_report(
    empty_db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    map_anna_and_ben(empty_db)
    path = empty_db.path
    empty_db.close()
    code = cli.main([
        "import", str(ZIP), str(FOLDER), "--db", str(path), "--therapist", "Dr Reyes",
        "--practice", "Bay Counseling", "--time-zone", "America/New_York", "--json",
    ])  # fmt: skip
    assert code == 0
    files = json.loads(capsys.readouterr().out)["files"]
    assert [(f["file"], f["preset"], f["imported"]) for f in files] == [
        (ZIP.name, "google_voice", 6),
        ("Takeout", "google_voice", 0),  # the same calls and texts, unpacked
    ]
    assert files[0]["left_out"] == {"missed call": 1, "group message": 2}
    assert files[0]["texts_joined"] == 1


# -- hostile uploads -------------------------------------------------------------------


def zip_of(tmp_path: Path, members: dict[str, bytes], name: str = "takeout.zip") -> Path:
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


def test_a_zip_bomb_is_refused_in_one_sentence(empty_db: Database, tmp_path: Path) -> None:
    map_anna_and_ben(empty_db)
    before = counts(empty_db)
    page = THREAD.read_bytes()
    # 17 MB of spaces after a real page: 17 kB in the zip, over the 16 MB a page may be
    bomb = zip_of(tmp_path, {
        "Takeout/Voice/Calls/Anna - Text - 2026-01-08T14_00_00Z.html": page,
        "Takeout/Voice/Calls/x - Text - 2026-01-09T14_00_00Z.html": page + b" " * (17 << 20),
    })  # fmt: skip
    assert bomb.stat().st_size < 200_000
    with pytest.raises(GoogleVoiceError) as refused:
        import_detected(empty_db, bomb, file_name="bomb.zip", phone_options=OPTIONS)
    assert str(refused.value) == (
        "bomb.zip: the page Takeout/Voice/Calls/x - Text - 2026-01-09T14_00_00Z.html is larger "
        "than 16 MB, which no Google Voice page is; nothing was stored."
    )
    assert counts(empty_db) == before


def test_a_huge_page_is_refused_without_reading_it_whole(
    empty_db: Database, tmp_path: Path
) -> None:
    huge = tmp_path / "huge.html"
    huge.write_bytes(THREAD.read_bytes() + b"<q>" + b"word " * (MAX_PAGE_BYTES // 5))
    with pytest.raises(GoogleVoiceError, match=r"larger than 16 MB.*nothing was stored\.$"):
        import_detected(empty_db, huge, file_name="huge.html", phone_options=OPTIONS)
    assert counts(empty_db) == (0, 0)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        # markup that breaks off: Takeout's classes, nothing to read
        ({"Takeout/Voice/Calls/a - Received - x.html":
          b'<html><body><div class="haudio"><a class="tel" href="tel:'},
         "takeout.zip holds no calls and no texts that could be read; nothing was stored."),
        # only other parts of a Takeout
        ({"Takeout/archive_browser.html": b"<html><body>Voice</body></html>"},
         "takeout.zip holds no Google Voice pages"),
    ],
)  # fmt: skip
def test_malformed_takeouts_are_refused_in_one_sentence(
    empty_db: Database, tmp_path: Path, members: dict[str, bytes], message: str
) -> None:
    upload = zip_of(tmp_path, members)
    with pytest.raises(GoogleVoiceError) as refused:
        import_google_voice(empty_db, upload, file_name="takeout.zip", options=OPTIONS)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)
    assert counts(empty_db) == (0, 0)


def test_a_truncated_zip_is_refused_in_one_sentence(empty_db: Database) -> None:
    cut = ZIP.read_bytes()[: ZIP.stat().st_size // 2]
    with pytest.raises(GoogleVoiceError, match=r"^cut\.zip is not a readable zip .*stored\.$"):
        import_google_voice(empty_db, cut, file_name="cut.zip", options=OPTIONS)
    assert counts(empty_db) == (0, 0)


def test_a_malformed_page_reads_as_far_as_it_goes(empty_db: Database) -> None:
    map_anna_and_ben(empty_db)
    page = THREAD.read_bytes()
    # cut in the middle of the second message's text: the first message and the start of
    # the second still read (5 words, then some of the 60)
    broken = page[: page.index(b"sleep diary")]
    report = import_google_voice(empty_db, broken, file_name="broken.html", options=OPTIONS)
    assert (report.rows, report.imported_texts) == (2, 1)
    assert "sleep" not in every_value(empty_db)


# -- nothing private is stored ---------------------------------------------------------


def test_no_text_number_or_name_is_stored(empty_db: Database) -> None:
    map_anna_and_ben(empty_db)
    report = import_detected(empty_db, ZIP, file_name=ZIP.name, phone_options=OPTIONS)
    assert report.imported == 6
    path = empty_db.path
    values = every_value(empty_db)
    empty_db.close()
    markers = [
        # message texts and the voicemail's transcript
        "reschedule Thursday",
        "sleep diary",
        "ok thanks",
        "hard night",
        "room 2",
        # numbers, in every written form (the therapist's own too)
        "2125550142",
        "212-555-0142",
        "3125550177",
        "6175550123",
        "6175550123",
        "2125550199",
        "6465550100",
        # names of contacts in the pages and their file names
        "Alvarez",
        "Brooks",
    ]
    assert traces(values.encode(), *markers) == []
    assert traces(file_bytes(path), *markers) == []


def test_the_import_page_previews_and_imports_a_takeout_zip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit.testing.v1 import AppTest

    db_path = tmp_path / "contactload.duckdb"
    db = Database(db_path)
    map_anna_and_ben(db)
    db.close()
    monkeypatch.setenv("CONTACTLOAD_DB", str(db_path))
    app = AppTest.from_file(
        str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=60
    )
    app.run()
    app.switch_page("pages/import_data.py").run()
    app.text_input(key="import_therapist").set_value("Dr Reyes")
    app.selectbox(key="import_practice").set_value("Bay Counseling")
    app.selectbox(key="import_time_zone").set_value("America/New_York")
    app.file_uploader(key="import_files").set_value(
        (ZIP.name, ZIP.read_bytes(), "application/zip")
    ).run()
    assert not app.exception, [e.message for e in app.exception]
    figures = {metric.label: metric.value for metric in app.metric}
    assert (figures["Calls and texts"], figures["Will import"]) == ("11", "6")
    assert figures["Unmatched numbers"] == "1"
    captions = [caption.value for caption in app.caption]
    assert any(
        c.startswith("Detected: Google Voice Takeout: 5 calls and 6 texts") for c in captions
    )
    assert any("texts estimated from their words" in c for c in captions)
    next(b for b in app.button if (b.key or "").startswith("phone_import_")).click().run()
    assert any("6 contacts imported" in message.value for message in app.success)
    db = Database(db_path)
    assert counts(db)[0] == 6
    db.close()


def test_a_thread_of_only_my_messages_names_no_number(empty_db: Database) -> None:
    # Takeout names the other party of a thread only in their own messages: a thread of
    # the account's messages alone has no number to map, so its texts are left out.
    page = THREAD.read_bytes()
    start = page.index(b'<div class="message">')
    end = page.index(b'<div class="message">', start + 1)
    mine_only = page[:start] + page[end:]
    map_anna_and_ben(empty_db)
    report = import_google_voice(empty_db, mine_only, file_name="t.html", options=OPTIONS)
    assert (report.rows, report.imported) == (2, 0)
    assert report.left_out == {"withheld or empty number": 2}


def test_a_recorded_call_is_left_out_as_of_unknown_kind(empty_db: Database) -> None:
    page = (PAGES / "Anna Alvarez - Received - 2026-01-05T14_33_21Z.html").read_bytes()
    recorded = page.replace(b"voice#received", b"voice#recorded")
    map_anna_and_ben(empty_db)
    report = import_google_voice(empty_db, recorded, file_name="r.html", options=OPTIONS)
    assert (report.calls, report.imported) == (1, 0)
    assert report.left_out == {"call of unknown type": 1}
