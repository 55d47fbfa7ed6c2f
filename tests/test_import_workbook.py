"""Excel workbooks (.xlsx) import like the CSV they would save to (analytics.importing.workbook).

The workbooks are written here with XlsxWriter (the library many exporting services use, and
the one that stores a formula's calculated value beside it, as Excel does) in the shapes
Toggl Track, Clockify and Harvest give their detailed reports as .xlsx: the CSV export's
columns, with real date, time and duration cells instead of text. Expected figures by hand:

toggl.xlsx (sheet "Detailed report"; Duration cells formatted [h]:mm:ss; row 3 empty, so the
    rows are numbered as Excel shows them; row 5's Duration is text "soon"):
    row 2 Lena M.  2026-04-13 09:05, 0:10:00 -> 10 min, tags "phone, scheduling"
    row 4 Jonas K. 2026-04-13 21:40, 0:45:00 -> 45 min, tags "crisis, phone"
    row 5 Jonas K. 2026-04-14, Duration "soon" -> rejected, row 5 named
    row 6 Lena M.  2026-04-14 12:00, 0:08:00 -> 8 min
    => Lena M. 18, Jonas K. 45; therapist Anna Weber.
clockify.xlsx (first sheet "Summary" is a pivot-like table; the report is on "Detailed
    Report"; Duration (h) as a time cell, Duration (decimal) a formula =N*24 whose cached
    value is rounded to hundredths and not to be used):
    Lena M. 12 (0:12:00), Paul H. 55 (0:55:00); therapist Sophie Martin, practice
    Praxis Lindenhof.
harvest.xlsx (Date left as serial numbers in the General format, 46125 = 2026-04-13;
    Hours as numbers, one of them a formula =0.5+0.25 with cached value 0.75):
    Jamie L. 15 (0.25 h), Casey N. 45 (0.75 h); therapist Maria Garcia.
"""

import datetime as dt
import io
import zipfile
from pathlib import Path

import pytest
import xlsxwriter
from streamlit.testing.v1 import AppTest

from analytics.cli import main
from analytics.importing.dispatch import import_detected
from analytics.importing.pipeline import FileReport, ImportOptions
from analytics.importing.workbook import (
    DamagedWorkbookError,
    WorkbookError,
    WorkbookTooLargeError,
    sheet_csv,
    sheet_names,
)
from analytics.storage.database import Database
from tests.test_pages import metric_values, run_app

BERLIN = ImportOptions(time_zone="Europe/Berlin")

TOGGL_HEADER = [
    "User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date",
    "Start time", "End date", "End time", "Duration", "Tags", "Amount (EUR)",
]  # fmt: skip


def _book(sheets: dict[str, list[list[object]]], formats: dict[str, str] | None = None) -> bytes:
    """An .xlsx with one worksheet per entry; dates, times and durations as Excel cells.

    ``formats``: header name -> number format for that column's non-text cells. A value
    ``("=formula", cached)`` is written as a formula with its saved result.
    """
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    made = {key: book.add_format({"num_format": value}) for key, value in (formats or {}).items()}
    default_date = book.add_format({"num_format": "yyyy-mm-dd"})
    default_time = book.add_format({"num_format": "hh:mm:ss"})
    for title, rows in sheets.items():
        sheet = book.add_worksheet(title)
        header = [str(cell) for cell in rows[0]] if rows else []
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                heading = header[c] if c < len(header) else ""
                if value is None:
                    continue
                if isinstance(value, tuple):
                    sheet.write_formula(r, c, value[0], made.get(heading), value[1])
                elif isinstance(value, dt.datetime | dt.date):
                    sheet.write_datetime(r, c, value, made.get(heading, default_date))
                elif isinstance(value, dt.time | dt.timedelta):
                    sheet.write_datetime(r, c, value, made.get(heading, default_time))
                elif isinstance(value, int | float) and heading in made and r > 0:
                    sheet.write_number(r, c, value, made[heading])
                else:
                    sheet.write(r, c, value)
    book.close()
    return out.getvalue()


def toggl_xlsx() -> bytes:
    """A Toggl Track detailed report as .xlsx (see the module docstring)."""
    anna = ["Anna Weber", "anna.weber@praxis-weber.example"]
    rows: list[list[object]] = [
        TOGGL_HEADER,
        [*anna, "Lena M.", "Between sessions", None, "Rescheduled Thursday", "No",
         dt.date(2026, 4, 13), dt.time(9, 5), dt.date(2026, 4, 13), dt.time(9, 15),
         dt.timedelta(minutes=10), "phone, scheduling", 0],
        [],
        [*anna, "Jonas K.", "Between sessions", None, "Crisis call", "Yes",
         dt.date(2026, 4, 13), dt.time(21, 40), dt.date(2026, 4, 13), dt.time(22, 25),
         dt.timedelta(minutes=45), "crisis, phone", 67.5],
        [*anna, "Jonas K.", "Between sessions", None, "Follow-up", "Yes",
         dt.date(2026, 4, 14), dt.time(8, 30), dt.date(2026, 4, 14), None, "soon",
         "support, phone", 30],
        [*anna, "Lena M.", "Between sessions", None, "Sent worksheet by email", "No",
         dt.date(2026, 4, 14), dt.time(12, 0), dt.date(2026, 4, 14), dt.time(12, 8),
         dt.timedelta(minutes=8), "homework", 0],
    ]  # fmt: skip
    return _book({"Detailed report": rows}, {"Duration": "[h]:mm:ss"})


def clockify_xlsx() -> bytes:
    """A Clockify detailed report as .xlsx, after a summary sheet."""
    header = [
        "Project", "Client", "Description", "Activity", "User", "Group", "Email", "Tags",
        "Billable", "Start Date", "Start Time", "End Date", "End Time", "Duration (h)",
        "Duration (decimal)",
    ]  # fmt: skip
    sophie = ["Sophie Martin", "Praxis Lindenhof", "sophie.martin@lindenhof.example"]
    rows: list[list[object]] = [
        header,
        ["Zwischen Sitzungen", "Lena M.", "Terminverschiebung", "Organisation", *sophie,
         "Telefon", "No", dt.date(2026, 4, 15), dt.time(14, 30), dt.date(2026, 4, 15),
         dt.time(14, 42), dt.timedelta(minutes=12), ("=N2*24", 0.2)],
        ["Zwischen Sitzungen", "Paul H.", "Krisengespräch", "Krise", *sophie,
         "Krise, Telefon", "Yes", dt.date(2026, 4, 15), dt.time(22, 10),
         dt.date(2026, 4, 15), dt.time(23, 5), dt.timedelta(minutes=55), ("=N3*24", 0.92)],
    ]  # fmt: skip
    summary: list[list[object]] = [["Client", "Time (h)"], ["Lena M.", 0.2], ["Paul H.", 0.92]]
    return _book(
        {"Summary": summary, "Detailed Report": rows},
        {"Start Date": "dd/mm/yyyy", "End Date": "dd/mm/yyyy", "Duration (h)": "[h]:mm:ss"},
    )


def harvest_xlsx() -> bytes:
    """A Harvest detailed time report as .xlsx, its dates left as General serial numbers."""
    header = [
        "Date", "Client", "Project", "Project Code", "Task", "Notes", "Hours",
        "Billable?", "First Name", "Last Name",
    ]  # fmt: skip
    rows: list[list[object]] = [
        header,
        [46125, "Jamie L.", "Between-session contacts", "BSC", "Scheduling",
         "Moved appointment", 0.25, "No", "Maria", "Garcia"],
        [46125, "Casey N.", "Between-session contacts", "BSC", "Crisis support",
         "Crisis phone call", ("=0.5+0.25", 0.75), "Yes", "Maria", "Garcia"],
    ]  # fmt: skip
    return _book({"Detailed Time Report": rows})


def minutes_by_client(db: Database) -> dict[str, float]:
    """Stored minutes per client name."""
    with db.cursor() as cursor:
        rows = cursor.execute(
            "SELECT cl.label, sum(c.minutes) FROM contacts AS c "
            "JOIN clients AS cl USING (client_id) GROUP BY ALL"
        ).fetchall()
    return {str(name): float(minutes) for name, minutes in rows}


def stored_counts(db: Database) -> tuple[int, int]:
    """Contacts and batches stored."""
    with db.cursor() as cursor:
        contacts = cursor.execute("SELECT count(*) FROM contacts").fetchone()
        batches = cursor.execute("SELECT count(*) FROM import_batches").fetchone()
    return (int(contacts[0]) if contacts else 0, int(batches[0]) if batches else 0)


def therapists(db: Database) -> list[str]:
    with db.cursor() as cursor:
        return [str(row[0]) for row in cursor.execute("SELECT name FROM therapists").fetchall()]


def test_toggl_workbook_rows_in_and_the_bad_row_named_as_excel_numbers_it(
    empty_db: Database,
) -> None:
    report = import_detected(empty_db, toggl_xlsx(), file_name="toggl.xlsx", contact_options=BERLIN)
    assert isinstance(report, FileReport)
    assert report.preset == "toggl"
    assert (report.rows, report.imported, report.rejected) == (4, 3, 1)
    assert [error.row for error in report.errors] == [5]
    assert report.errors[0].column == "Duration"
    assert minutes_by_client(empty_db) == {"Lena M.": 18.0, "Jonas K.": 45.0}
    assert therapists(empty_db) == ["Anna Weber"]
    with empty_db.cursor() as cursor:
        started = cursor.execute(
            "SELECT strftime(timezone('Europe/Berlin', started_at), '%Y-%m-%d %H:%M') "
            "FROM contacts ORDER BY started_at"
        ).fetchall()
    assert [row[0] for row in started] == ["2026-04-13 09:05", "2026-04-13 21:40",
                                           "2026-04-14 12:00"]  # fmt: skip


def test_the_sheet_csv_keeps_one_line_per_excel_row() -> None:
    lines = sheet_csv(toggl_xlsx(), "toggl.xlsx").decode("utf-8").splitlines()
    assert lines[0] == ",".join(TOGGL_HEADER)
    assert lines[1].split(",")[7:12] == ["2026-04-13", "09:05:00", "2026-04-13", "09:15:00",
                                         "0:10:00"]  # fmt: skip
    assert lines[2] == "," * (len(TOGGL_HEADER) - 1)  # the empty row 3 stays a row
    assert lines[3].endswith(',"crisis, phone",67.5')


def test_clockify_workbook_on_its_second_sheet(empty_db: Database) -> None:
    assert sheet_names(clockify_xlsx(), "clockify.xlsx") == ("Summary", "Detailed Report")
    report = import_detected(
        empty_db,
        clockify_xlsx(),
        file_name="clockify.xlsx",
        contact_options=BERLIN,
        sheet="Detailed Report",
    )
    assert isinstance(report, FileReport)
    assert (report.preset, report.imported, report.rejected) == ("clockify", 2, 0)
    # Duration (h), exact; the cached Duration (decimal) would give 12 and 55.2
    assert minutes_by_client(empty_db) == {"Lena M.": 12.0, "Paul H.": 55.0}
    with empty_db.cursor() as cursor:
        practices = cursor.execute("SELECT name FROM practices").fetchall()
    assert practices == [("Praxis Lindenhof",)]


def test_harvest_workbook_with_serial_dates_and_a_formula(empty_db: Database) -> None:
    report = import_detected(
        empty_db, harvest_xlsx(), file_name="harvest.xlsx", contact_options=BERLIN
    )
    assert isinstance(report, FileReport)
    assert (report.preset, report.imported, report.rejected) == ("harvest", 2, 0)
    assert minutes_by_client(empty_db) == {"Jamie L.": 15.0, "Casey N.": 45.0}
    assert therapists(empty_db) == ["Maria Garcia"]
    with empty_db.cursor() as cursor:
        days = cursor.execute(
            "SELECT DISTINCT CAST(timezone('Europe/Berlin', started_at) AS DATE) FROM contacts"
        ).fetchall()
    assert days == [(dt.date(2026, 4, 13),)]


def test_a_sheet_that_is_not_there_is_named_with_the_ones_that_are(empty_db: Database) -> None:
    with pytest.raises(WorkbookError) as caught:
        import_detected(empty_db, clockify_xlsx(), file_name="c.xlsx", sheet="Details")
    assert str(caught.value) == (
        "c.xlsx has no sheet named 'Details'; its sheets are 'Summary', 'Detailed Report'."
    )
    assert stored_counts(empty_db) == (0, 0)


def test_the_first_sheet_is_read_when_none_is_chosen(empty_db: Database) -> None:
    # The summary sheet has no dates: refused in the contact importer's own sentence
    with pytest.raises(Exception) as caught:
        import_detected(empty_db, clockify_xlsx(), file_name="c.xlsx", contact_options=BERLIN)
    assert "Traceback" not in str(caught.value)
    assert stored_counts(empty_db) == (0, 0)


def test_a_damaged_workbook_is_refused_in_one_sentence_storing_nothing(
    empty_db: Database,
) -> None:
    whole = toggl_xlsx()
    for damaged in (whole[: len(whole) // 2], whole[:100] + b"\x00" * 400 + whole[500:]):
        with pytest.raises(DamagedWorkbookError) as caught:
            import_detected(empty_db, damaged, file_name="toggl.xlsx", contact_options=BERLIN)
        assert str(caught.value) == (
            "toggl.xlsx is not a readable Excel workbook (it is damaged, cut short or another "
            "kind of file); nothing was imported. Open it in Excel and save it again, or "
            "export the report as CSV."
        )
    assert stored_counts(empty_db) == (0, 0)


def test_a_zip_that_is_no_workbook_is_told_so(empty_db: Database) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(DamagedWorkbookError, match="is a zip archive but not an Excel"):
        import_detected(empty_db, out.getvalue(), file_name="letter.xlsx")
    assert stored_counts(empty_db) == (0, 0)


def zip_bomb(unpacked_bytes: int) -> bytes:
    """A real workbook with one extra member of ``unpacked_bytes`` zeros (a few KB packed)."""
    source = zipfile.ZipFile(io.BytesIO(toggl_xlsx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in source.infolist():
            archive.writestr(member, source.read(member))
        with archive.open("xl/media/padding.bin", "w", force_zip64=True) as padding:
            block = b"\x00" * (1 << 20)
            for _ in range(unpacked_bytes >> 20):
                padding.write(block)
    return out.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_unpacked(
    empty_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONTACTLOAD_MAX_UPLOAD_MB", "1")  # workbooks may unpack to 5 MB
    bomb = zip_bomb(64 << 20)
    assert len(bomb) < 200_000
    with pytest.raises(WorkbookTooLargeError) as caught:
        import_detected(empty_db, bomb, file_name="bomb.xlsx", contact_options=BERLIN)
    assert str(caught.value) == (
        "bomb.xlsx would unpack to 64 MB, over the limit of 5 MB (a small file that unpacks "
        "to so much is a zip bomb, not a report); nothing was imported."
    )
    assert stored_counts(empty_db) == (0, 0)


def test_a_cell_longer_than_excel_allows_is_refused(empty_db: Database) -> None:
    # Writers keep to Excel's limit, a hostile file need not: the cell is swapped in the XML
    rows = [["Client", "Date", "Minutes"], ["A", dt.date(2026, 4, 1), 5], ["QQQQ"]]
    source = zipfile.ZipFile(io.BytesIO(_book({"Sheet": rows})))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for member in source.infolist():
            archive.writestr(member, source.read(member).replace(b"QQQQ", b"x" * 40_000))
    with pytest.raises(WorkbookTooLargeError) as caught:
        import_detected(empty_db, out.getvalue(), file_name="long.xlsx")
    assert str(caught.value) == (
        "Cell A3 of sheet 'Sheet' in long.xlsx holds more than 32,767 characters, more than "
        "Excel allows; nothing was imported."
    )
    assert stored_counts(empty_db) == (0, 0)


def test_cli_imports_a_workbook_sheet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = tmp_path / "clockify.xlsx"
    book.write_bytes(clockify_xlsx())
    db_path = tmp_path / "contactload.duckdb"
    common = ["--db", str(db_path), "--time-zone", "Europe/Berlin"]
    assert main(["import", str(book), *common, "--sheet", "Nope"]) == 1
    assert "has no sheet named 'Nope'" in capsys.readouterr().err
    assert main(["import", str(book), *common, "--sheet", "Detailed Report"]) == 0
    out = capsys.readouterr().out
    assert "clockify.xlsx:" in out and "imported 2," in out
    db = Database(db_path)
    try:
        assert minutes_by_client(db) == {"Lena M.": 12.0, "Paul H.": 55.0}
    finally:
        db.close()


def test_cli_damaged_workbook_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    book = tmp_path / "cut.xlsx"
    book.write_bytes(toggl_xlsx()[:3000])
    assert main(["import", str(book), "--db", str(tmp_path / "c.duckdb")]) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert captured.err.strip().splitlines() == [
        "contactload: cut.xlsx: cut.xlsx is not a readable Excel workbook (it is damaged, cut "
        "short or another kind of file); nothing was imported. Open it in Excel and save it "
        "again, or export the report as CSV."
    ]


def _upload(app: AppTest, name: str, content: bytes) -> AppTest:
    app.selectbox(key="import_time_zone").set_value("Europe/Berlin").run()
    mime = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    app.file_uploader(key="import_files").set_value((name, content, mime)).run()
    assert not app.exception, [e.message for e in app.exception]
    return app


def test_import_page_takes_a_workbook_and_its_chosen_sheet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(tmp_path / "contactload.duckdb", monkeypatch, "pages/import_data.py")
    _upload(app, "clockify.xlsx", clockify_xlsx())
    (sheet,) = [box for box in app.selectbox if box.label == "Sheet"]
    assert sheet.options == ["Summary", "Detailed Report"]
    sheet.set_value("Detailed Report").run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    figures = metric_values(app)
    assert (figures["Rows"], figures["Will import"], figures["Rejected"]) == ("2", "2", "0")
    app.button(key="import_commit").click().run()
    assert any("clockify.xlsx: 2 contacts imported" in m.value for m in app.success)
    db = Database(tmp_path / "contactload.duckdb")
    try:
        assert minutes_by_client(db) == {"Lena M.": 12.0, "Paul H.": 55.0}
    finally:
        db.close()


def test_import_page_names_a_damaged_workbook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(tmp_path / "contactload.duckdb", monkeypatch, "pages/import_data.py")
    _upload(app, "cut.xlsx", toggl_xlsx()[:3000])
    assert [error.value for error in app.error] == [
        "cut.xlsx is not a readable Excel workbook (it is damaged, cut short or another kind "
        "of file); nothing was imported. Open it in Excel and save it again, or export the "
        "report as CSV."
    ]


def test_a_session_file_as_a_workbook_goes_to_the_session_importer(empty_db: Database) -> None:
    from analytics.importing.session_report import SessionOptions, SessionReport

    # A practice system's session list kept in Excel: real date-time cells, one bad row (4)
    rows: list[list[object]] = [
        ["Client", "Clinician", "Start", "End", "Status"],
        ["Lee M.", "Dr. Kim", dt.datetime(2026, 10, 13, 9), dt.datetime(2026, 10, 13, 9, 50),
         "Show"],
        ["Lee M.", "Dr. Kim", dt.datetime(2026, 10, 20, 9), dt.datetime(2026, 10, 20, 9, 45),
         "No show"],
        ["Lee M.", "Dr. Kim", "someday", None, "Show"],
    ]  # fmt: skip
    book = _book({"Sessions": rows}, {"Start": "yyyy-mm-dd hh:mm", "End": "yyyy-mm-dd hh:mm"})
    report = import_detected(
        empty_db,
        book,
        file_name="sessions.xlsx",
        session_options=SessionOptions(time_zone="Europe/Berlin"),
    )
    assert isinstance(report, SessionReport)
    assert (report.imported, report.rejected) == (2, 1)
    assert [error.row for error in report.errors] == [4]
    with empty_db.cursor() as cursor:
        stored = cursor.execute(
            "SELECT status, minutes FROM sessions ORDER BY started_at"
        ).fetchall()
    assert stored == [("attended", 50.0), ("no_show", 45.0)]
