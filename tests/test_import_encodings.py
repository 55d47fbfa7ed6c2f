"""Files in the encodings people's tools write are read as the text they hold (issue #22).

The files in tests/data/import/encodings are the Contact Load template (or a German Kimai
export) saved the way Excel and other tools save them in each locale: Polish Excel in
Windows-1250 with semicolons, a Unix tool in ISO-8859-2, Russian Excel in Windows-1251,
Japanese Excel in Shift-JIS, "Unicode Text" written without its byte-order mark, French and
German Excel in Windows-1252. Each is checked by the labels the database stores.
"""

import json
import random
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.importing.csv_layout import SAMPLE_BYTES
from analytics.importing.pipeline import ImportOptions, import_file
from analytics.importing.reader import stage_text_table
from analytics.importing.text_encodings import DETECT_BYTES, UnreadableFileError
from analytics.storage.database import Database
from tests.test_cli import run

ROOT = Path(__file__).resolve().parent.parent
ENCODINGS = ROOT / "tests" / "data" / "import" / "encodings"
TEMPLATE = "date,start_time,minutes,client,therapist,practice,channel,category,direction"
POLISH = ["Grzegorz Brzęczyszczykiewicz", "Małgorzata Ł.", "Zofia Świątek", "Łukasz Żółć"]


def stored_names(db: Database) -> tuple[list[str], list[str], list[str]]:
    """Client labels, therapist names and practice names as the database holds them."""
    with db.cursor() as cursor:
        return tuple(  # type: ignore[return-value]
            sorted(row[0] for row in cursor.execute(sql).fetchall())
            for sql in (
                "SELECT label FROM clients",
                "SELECT name FROM therapists",
                "SELECT name FROM practices",
            )
        )


@pytest.mark.parametrize(
    ("name", "encoding", "shown", "clients", "therapist", "practice"),
    [
        pytest.param(
            "polish_excel_cp1250.csv", "cp1250", "Windows-1250", POLISH,
            "Dorota Wiśniewska", "Gabinet Łódź", id="windows-1250",
        ),
        pytest.param(
            "polish_iso8859_2.csv", "iso8859-2", "ISO-8859-2", POLISH,
            "Dorota Wiśniewska", "Gabinet Łódź", id="iso-8859-2",
        ),
        pytest.param(
            "russian_excel_cp1251.csv", "cp1251", "Windows-1251",
            ["Иванов Пётр", "Кузнецов Дмитрий", "Смирнова Анна"],
            "Ольга Соколова", "Кабинет на Арбате", id="windows-1251",
        ),
        pytest.param(
            "japanese_excel_shift_jis.csv", "cp932", "Shift-JIS (Windows)",
            ["佐藤花子", "山田太郎", "鈴木一郎"], "高橋美咲", "東京カウンセリング",
            id="shift-jis",
        ),
        pytest.param(
            "polish_unicode_text_utf16le_no_bom.txt", "utf-16-le", "UTF-16 LE", POLISH,
            "Dorota Wiśniewska", "Gabinet Łódź", id="utf-16-le-without-bom",
        ),
        pytest.param(
            "french_excel_cp1252.csv", "cp1252", "Windows-1252",
            ["Chloé Dubois", "François Lefèvre", "Zoë Bérénice"],
            "Hélène Crèvecœur", "Cabinet de l'Écluse", id="windows-1252-french",
        ),
        pytest.param(
            "kimai_de_cp1252.csv", "cp1252", "Windows-1252", ["Jonas K.", "Lena M.", "Mia S."],
            "Katrin Vogel", "My practice", id="windows-1252-german-kimai",
        ),
    ],
)  # fmt: skip
def test_each_encoding_stores_the_right_labels(
    empty_db: Database,
    name: str,
    encoding: str,
    shown: str,
    clients: list[str],
    therapist: str,
    practice: str,
) -> None:
    report = import_file(empty_db, ENCODINGS / name, file_name=name)
    assert report.encoding == encoding
    assert f"; {shown}, " in report.detected
    assert (report.imported, report.rejected) == (len(clients) + (name.startswith("kimai")), 0)
    assert stored_names(empty_db) == (clients, [therapist], [practice])


def test_the_detector_reads_past_the_first_64_kib(empty_db: Database) -> None:
    # 3,000 ASCII rows (well over the first 64 KiB), then the Polish names: the sample the
    # detector sees is gathered from the lines holding non-ASCII bytes, wherever they are.
    ascii_rows = [
        f"2026-01-{day % 28 + 1:02d},09:00,10,Client {n},Dr. Kim,Northside,phone,scheduling,client"
        for n, day in enumerate(range(3000))
    ]
    polish_rows = [
        f"2026-03-02,1{n}:00,15,{client},Dr. Kim,Northside,phone,scheduling,client"
        for n, client in enumerate(POLISH)
    ]
    data = "\r\n".join([TEMPLATE, *ascii_rows, *polish_rows, ""]).encode("cp1250")
    assert data.find(b"\xb3") > SAMPLE_BYTES  # the first "ł" lies beyond the head
    report = import_file(empty_db, data, file_name="late.csv")
    assert report.encoding == "cp1250"
    labels = stored_names(empty_db)[0]
    assert set(POLISH) <= set(labels) and len(labels) == 3000 + len(POLISH)


def test_the_detector_looks_at_a_bounded_sample() -> None:
    # Megabytes of non-ASCII lines: the detector is handed DETECT_BYTES at most.
    from analytics.importing.reader import _chunks, _survey

    line = "2026-03-02,09:00,15,Małgorzata Ł.,Dorota Wiśniewska,Gabinet Łódź,phone,x,client\n"
    data = (TEMPLATE + "\n" + line * 40_000).encode("cp1250")
    survey = _survey(_chunks(data))
    assert not survey.utf8
    assert 0 < len(survey.non_ascii) <= DETECT_BYTES < len(data)


def test_random_bytes_are_still_refused(empty_db: Database) -> None:
    noise = random.Random(21)
    with_nul = noise.randbytes(50_000)
    without_nul = b"date,client,minutes\n" + bytes(b for b in noise.randbytes(80_000) if b)[:50_000]
    with pytest.raises(UnreadableFileError, match="not a text"):
        import_file(empty_db, with_nul, file_name="noise.bin")
    with pytest.raises(UnreadableFileError, match="could not be recognised with confidence"):
        import_file(empty_db, without_nul, file_name="noise.csv")
    assert stored_names(empty_db) == ([], [], [])


def test_a_file_not_valid_in_its_encoding_throughout_is_refused() -> None:
    # Windows-1251 lacks byte 0x98: text that reads as Cyrillic at first, then has one.
    head = "\r\n".join([TEMPLATE, "2026-03-02,09:00,10,Иванов Пётр,Ольга,Кабинет,phone,x,client"])
    data = head.encode("cp1251") + b"\r\n" + b"2026-03-03,09:00,10,A\x98,B,C,phone,x,client\r\n"
    with pytest.raises(UnreadableFileError, match="not valid Windows-1251 text throughout"):
        stage_text_table(duckdb.connect(), data, encoding="cp1251")


def test_a_chosen_encoding_overrides_detection(empty_db: Database) -> None:
    source = ENCODINGS / "polish_excel_cp1250.csv"
    # Chosen wrongly on purpose: the user's choice is what is read (and said so).
    report = import_file(
        empty_db, source, file_name="pl.csv", options=ImportOptions(encoding="windows-1252"),
        dry_run=True,
    )  # fmt: skip
    assert report.encoding == "cp1252"
    assert "Windows-1252 (as chosen), semicolon-separated" in report.detected
    assert report.preview is not None and "Ma³gorzata £." in set(report.preview["client"])
    report = import_file(
        empty_db, source, file_name="pl.csv", options=ImportOptions(encoding="cp1250")
    )
    assert stored_names(empty_db)[0] == POLISH
    with pytest.raises(UnreadableFileError, match="'klingon' is not a text encoding"):
        import_file(empty_db, source, file_name="pl.csv", options=ImportOptions(encoding="klingon"))


def test_cli_encoding_option_and_json_report(tmp_path: Path) -> None:
    db = tmp_path / "c.duckdb"
    source = ENCODINGS / "russian_excel_cp1251.csv"
    detected = run("import", source, "--db", db, "--json", "--dry-run", cwd=tmp_path)
    assert detected.returncode == 0, detected.stderr
    (file,) = json.loads(detected.stdout)["files"]
    assert file["encoding"] == "cp1251" and "Windows-1251, semicolon-separated" in file["detected"]
    chosen = run("import", source, "--db", db, "--json", "--encoding", "koi8-r", cwd=tmp_path)
    (file,) = json.loads(chosen.stdout)["files"]
    assert file["encoding"] == "koi8-r" and "KOI8-R (as chosen)" in file["detected"]
    wrong = run("import", source, "--db", db, "--encoding", "rot13", cwd=tmp_path)
    assert wrong.returncode == 1
    assert "'rot13' is not a text encoding" in wrong.stderr and "Traceback" not in wrong.stderr


def preview(app: AppTest) -> pd.DataFrame:
    """The Import page's preview table of the uploaded file."""
    (table,) = [frame.value for frame in app.dataframe if "client" in frame.value.columns]
    return table


def test_import_page_shows_the_encoding_and_lets_the_user_choose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACTLOAD_DB", str(tmp_path / "contactload.duckdb"))
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    app.run()
    app.switch_page("pages/import_data.py").run()
    data = (ENCODINGS / "polish_excel_cp1250.csv").read_bytes()
    app.file_uploader(key="import_files").set_value(("pl.csv", data, "text/csv")).run()
    assert not app.exception
    captions = " ".join(caption.value for caption in app.caption)
    assert "Windows-1250, semicolon-separated" in captions
    assert set(preview(app)["client"]) == set(POLISH)
    app.selectbox(key="import_encoding").set_value("cp1252").run()
    assert not app.exception
    captions = " ".join(caption.value for caption in app.caption)
    assert "Windows-1252 (as chosen)" in captions
    assert "Ma³gorzata £." in set(preview(app)["client"])
