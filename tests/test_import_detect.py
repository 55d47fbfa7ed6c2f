"""``detect_kind``: every kind of upload is recognised from its first bytes."""

from pathlib import Path

import pytest

from analytics.importing.detect import HEAD_BYTES, detect_kind
from analytics.importing.session_csv import session_template_csv

DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", "calendar"),
        (b"\xef\xbb\xbf\r\n  begin:vcalendar\nPRODID:x\n", "calendar"),
        (b"\xff\xfe" + "BEGIN:VCALENDAR\r\n".encode("utf-16-le"), "calendar"),
        (b"<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<calls count='2'>",
         "phone_log"),
        (b"<?xml version='1.0'?>\n<!--File Created By SMS Backup & Restore-->\n<smses>",
         "phone_log"),
        (b"<smses count=\"0\" />", "phone_log"),
        # the real app writes a stylesheet instruction after its comment
        (b"<?xml version='1.0'?>\n<!--SMS Backup & Restore-->\n"
         b"<?xml-stylesheet type=\"text/xsl\" href=\"calls.xsl\"?>\n<calls count='1'>",
         "phone_log"),
        (b"<html><body>calls</body></html>", "markup"),
        (b"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel/></rss>", "markup"),
        (b"\xef\xbb\xbf<?xml version='1.0'?>\n<!-- export -->\n<note><to>x</to></note>",
         "markup"),
        (b"date,start_time,minutes,client,therapist,practice,status\n", "sessions_csv"),
        (b"Datum;Beginn;Dauer;Klient;Therapeut;Status\r\n13.10.2026;09:00", "sessions_csv"),
        (b"Date\tTime\tLength\tPatient\tAttendance\n", "sessions_csv"),
        (b"date,start_time,minutes,client,channel,category,status\n", "contacts"),
        (b"date,start_time,minutes,client,therapist\n", "contacts"),
        (b"", "contacts"),
        (b"\x00\x01\x02", "contacts"),
    ],
)  # fmt: skip
def test_detect_kind(head: bytes, kind: str) -> None:
    assert detect_kind(head) == kind


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        *((path, "calendar") for path in sorted((DATA / "calendars").glob("*.ics"))),
        *((path, "sessions_csv") for path in sorted((DATA / "sessions").glob("*.csv"))),
        *((path, "contacts") for path in sorted((DATA / "import" / "presets").glob("*.csv"))),
        *((path, "contacts") for path in sorted((DATA / "import" / "quirks").glob("*.*"))),
    ],
    ids=lambda value: value.name if isinstance(value, Path) else value,
)
def test_fixture_files_are_detected(path: Path, kind: str) -> None:
    assert detect_kind(path.read_bytes()[:HEAD_BYTES]) == kind


def test_session_template_is_a_session_file() -> None:
    assert detect_kind(session_template_csv().encode()) == "sessions_csv"
