"""Files built to exhaust the machine get one sentence, and every row read is stored or
reported (issue #21, "Limits on hostile files")."""

import threading
import time
from pathlib import Path

import duckdb
import pytest

from analytics.importing import reader
from analytics.importing.classify import MAX_TEXT_CHARS, classify_table
from analytics.importing.limits import ImportLimitError
from analytics.importing.phone_log import PhoneLogOptions, import_phone_log
from analytics.importing.pipeline import ImportOptions, import_file
from analytics.importing.reader import stage_text_table
from analytics.importing.text_encodings import UnreadableFileError
from analytics.storage.database import Database

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = "date,start_time,minutes,client,therapist,practice,channel,category,direction"


def template_row(day: int, client: str = "Avery") -> str:
    return f"2026-03-{day:02d},09:00,10,{client},Dr. Kim,Northside,phone,scheduling,client"


def contacts(db: Database) -> int:
    with db.cursor() as cursor:
        (count,) = cursor.execute("SELECT count(*) FROM contacts").fetchone() or (0,)
    return int(count)


# --- columns ------------------------------------------------------------------------------


def test_a_header_over_the_column_limit_is_refused_before_the_body_is_read(
    empty_db: Database,
) -> None:
    header = ",".join(f"column {n}" for n in range(1, 1501)).encode()
    # The body would be refused as binary if it were read at all (NUL bytes).
    body = b"\n" + b"x," * 1500 + b"\n" + b"\x00" * 1000
    with pytest.raises(UnreadableFileError) as refused:
        import_file(empty_db, header + body, file_name="wide.csv")
    assert str(refused.value).startswith("The file's header has 1,500 columns, over the limit")


def test_tens_of_thousands_of_columns_are_refused_at_once(empty_db: Database) -> None:
    header = ",".join(f"c{n}" for n in range(40_000))  # wider than the 64 KiB head
    data = (header + "\n" + "1," * 39_999 + "1\n").encode() * 1
    started = time.perf_counter()
    with pytest.raises(UnreadableFileError, match="more than 64 KB of columns"):
        import_file(empty_db, data, file_name="wider.csv")
    assert time.perf_counter() - started < 5  # refused from the head, not after a read
    assert contacts(empty_db) == 0


def test_a_failed_read_inside_a_transaction_keeps_its_sentence(tmp_path: Path) -> None:
    # DuckDB refuses every statement after a failed one until the transaction is rolled
    # back; the reader's clean-up used to raise that error instead of the sentence.
    db = Database(tmp_path / "c.duckdb")
    try:
        layout = reader._Layout(skip=0, delimiter=",", header=("a", "b"))
        with (
            pytest.raises(UnreadableFileError, match="could not be split"),
            db.transaction(rollback=True) as cursor,
        ):
            reader._stage(cursor, tmp_path / "gone.csv", "raw_rows", layout, False, True)
    finally:
        db.close()


# --- field and line size -------------------------------------------------------------------


@pytest.mark.parametrize("megabytes", [3, 31, 33])
def test_a_huge_field_never_vanishes(megabytes: int, empty_db: Database, tmp_path: Path) -> None:
    # Row 3 holds one field of ``megabytes`` MB. DuckDB reports a row over its line size
    # as too long but skipped one longer than its read buffer without a word (33 MB was
    # "0 rejected"): now such a line refuses the file, naming it.
    path = tmp_path / "huge.csv"
    with path.open("w") as out:
        out.write(TEMPLATE + "\n" + template_row(2) + "\n")
        out.write(template_row(3, "B" + "x" * (megabytes * 1024 * 1024)) + "\n")
        out.write(template_row(4) + "\n")
    if megabytes * 1024 * 1024 > reader.MAX_LINE_BYTES:
        with pytest.raises(UnreadableFileError, match="Line 3 of the file is longer than 8 MB"):
            import_file(empty_db, path, file_name="huge.csv")
        assert contacts(empty_db) == 0
        return
    report = import_file(empty_db, path, file_name="huge.csv")
    assert (report.rows, report.imported, report.rejected) == (3, 2, 1)
    assert [(error.row, error.message) for error in report.errors] == [
        (3, "This row is too long to read.")
    ]


def test_a_long_line_in_utf16_is_found_while_transcoding() -> None:
    text = TEMPLATE + "\r\n" + template_row(3, "B" + "x" * (9 * 1024 * 1024)) + "\r\n"
    data = b"\xff\xfe" + text.encode("utf-16-le")
    with pytest.raises(UnreadableFileError, match="Line 2 of the file is longer than 8 MB"):
        stage_text_table(duckdb.connect(), data)


# --- rows and time -------------------------------------------------------------------------


def test_a_file_over_the_row_limit_is_refused(
    empty_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACTLOAD_MAX_IMPORT_ROWS", "3")
    data = "\n".join([TEMPLATE, *(template_row(day) for day in range(1, 5)), ""]).encode()
    with pytest.raises(ImportLimitError) as refused:
        import_file(empty_db, data, file_name="many.csv")
    assert str(refused.value) == (
        "many.csv has 4 rows, over the limit of 3 for one import; nothing from it was "
        "stored. Split it, or raise the limit with CONTACTLOAD_MAX_IMPORT_ROWS."
    )
    monkeypatch.setenv("CONTACTLOAD_MAX_IMPORT_ROWS", "4")
    assert import_file(empty_db, data, file_name="many.csv").imported == 4


def test_an_import_over_the_time_limit_stops_and_stores_nothing(
    empty_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [template_row(day % 28 + 1, f"Client {n}") for n, day in enumerate(range(200_000))]
    data = "\n".join([TEMPLATE, *rows, ""]).encode()
    monkeypatch.setenv("CONTACTLOAD_MAX_IMPORT_SECONDS", "0.05")
    with pytest.raises(ImportLimitError, match=r"took longer than the 0\.05-second limit"):
        import_file(empty_db, data, file_name="slow.csv")
    assert contacts(empty_db) == 0
    monkeypatch.delenv("CONTACTLOAD_MAX_IMPORT_SECONDS")
    assert import_file(empty_db, data, file_name="slow.csv").imported == 200_000


# --- the preview does not hold the writers' turn --------------------------------------------


def test_a_preview_does_not_block_other_writers(tmp_path: Path) -> None:
    db = Database(tmp_path / "c.duckdb")
    preview = "\n".join([TEMPLATE, template_row(2, "Avery"), template_row(3, "Blake"), ""])
    other = "\n".join([TEMPLATE, template_row(4, "Avery"), template_row(5, "Casey"), ""])
    finished: list[str] = []

    def write_meanwhile() -> None:
        import_file(db, other.encode(), file_name="other.csv")
        finished.append("written")

    def while_classifying(fraction: float, text: str) -> None:
        # In the middle of the preview (its transaction open), another user imports.
        if text == "Classifying contacts":
            writer = threading.Thread(target=write_meanwhile)
            writer.start()
            writer.join(timeout=30)
            finished.append("joined" if not writer.is_alive() else "still waiting")

    try:
        report = import_file(
            db, preview.encode(), file_name="preview.csv", dry_run=True,
            progress=while_classifying,
        )  # fmt: skip
        assert finished == ["written", "joined"]
        # The preview's rows are new beside the writer's (other days), and none stayed.
        assert (report.imported, report.duplicates) == (2, 0)
        with db.cursor() as cursor:
            rows = cursor.execute("SELECT label FROM clients").fetchall()
        labels = sorted(row[0] for row in rows)
        assert labels == ["Avery", "Casey"]  # the writer's rows only; the preview left none
        assert contacts(db) == 2
        # And after it, a real import of the previewed file goes in beside them.
        stored = import_file(db, preview.encode(), file_name="preview.csv")
        assert (stored.imported, stored.duplicates) == (2, 0)
        assert contacts(db) == 4
    finally:
        db.close()


def test_options_default_to_detection() -> None:
    assert ImportOptions().encoding is None


# --- one huge message body -------------------------------------------------------------------


def test_the_rules_read_the_first_max_text_chars_of_a_text(empty_db: Database) -> None:
    inside = "x" * (MAX_TEXT_CHARS - 20) + " crisis call"  # ends 8 characters before the bound
    beyond = "x" * MAX_TEXT_CHARS + " crisis call"
    with empty_db.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE texts AS "
            "SELECT * FROM (VALUES (1, ?), (2, ?), (3, ?)) AS t(row_number, body)",
            [inside, beyond, "crisis call"],
        )
        classify_table(cursor, "texts", "body", "classes")
        rows = cursor.execute("SELECT * FROM classes ORDER BY row_number").fetchall()
    assert rows == [(1, "crisis", "phone"), (2, None, None), (3, "crisis", "phone")]


def test_a_phone_log_with_a_36_mb_text_is_read(empty_db: Database) -> None:
    # The size that took two minutes: one text's body of 36 MB among the fixture's texts.
    log = (ROOT / "tests" / "data" / "phone" / "sms.xml").read_text(encoding="utf-8")
    body = "We talked about the crisis plan and the homework sheet. " * (36 * 1024 * 1024 // 56)
    huge = log.replace("Can we reschedule Tuesday's appointment?", body, 1)
    assert len(huge) > 36 * 1024 * 1024
    vogel = PhoneLogOptions(therapist="Dr Vogel")
    plain = import_phone_log(
        empty_db, log.encode(), file_name="sms.xml", options=vogel, dry_run=True
    )
    report = import_phone_log(
        empty_db, huge.encode(), file_name="sms.xml", options=vogel, dry_run=True
    )
    assert (report.rows, report.rejected) == (plain.rows, plain.rejected)
