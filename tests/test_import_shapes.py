"""Contact logs in the shapes real tools write that used to be refused or misread (issue 13):
Kimai durations in seconds, start and end as date-times, Toggl files whose clients are kept
as projects, unreadable dates, XML that is no phone log. Through the library and the CLI.

Every expected number is worked out by hand in the comment above its table; times are the
therapist's local wall clock (Europe/Berlin unless a test says otherwise).
"""

from datetime import datetime
from pathlib import Path

import pytest

from analytics.cli import main
from analytics.errors import ContactLoadError
from analytics.importing.dispatch import UnsupportedFileError, import_detected
from analytics.importing.parsing import detect_duration_unit
from analytics.importing.pipeline import EmptyClientColumnError, ImportOptions, import_file
from analytics.importing.presets import detect_layout, layout_from_mapping
from analytics.storage.database import Database

DATA = Path(__file__).parent / "data" / "import"
SHAPES = DATA / "shapes"
BERLIN = ImportOptions(therapist="Robin Sommer", time_zone="Europe/Berlin")

Row = tuple[str, datetime, float, str, str]


def stored(db: Database) -> list[Row]:
    """(client, local start, minutes, channel, category) of every stored contact, in time order."""
    with db.cursor() as cursor:
        rows = cursor.execute(
            """
            SELECT cl.label, co.local_started_at, co.minutes, co.channel, co.category
            FROM contacts AS co JOIN clients AS cl USING (client_id)
            ORDER BY co.local_started_at, cl.label
            """
        ).fetchall()
    return [(str(a), b, float(c), str(d), str(e)) for a, b, c, d, e in rows]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- Kimai: Duration in seconds, h:mm or h:mm:ss; English and German; comma and semicolon ---
# kimai_seconds_en.csv (comma; Duration in seconds):
#  2 Alex P.   04-13 09:00-09:45  2700 s = 45   support call        -> phone / support
#  3 Jordan K. 04-13 23:30-00:15  2700 s = 45   panic attack call   -> phone / crisis
#  4 Alex P.   04-14 12:00-12:10   600 s = 10   worksheet by email  -> email / homework
#  5 Riley C.  04-15 17:45-17:50   300 s =  5   check-in by text    -> text / check_in
#  6 Riley C.  04-16 08:00-08:20  (empty): From/To give 20          -> phone / scheduling
# kimai_seconds_de.csv (semicolon, CRLF, German headers):
#  2 Lena M.   04-13 08:30   900 s = 15  Termin verschoben / Telefon      -> phone / scheduling
#  3 Jonas K.  04-13 20:00  3000 s = 50  Suizidgedanken, Krisenplan       -> phone / crisis
#  4 Mia S.    04-14 10:00   360 s =  6  Übungsblatt per E-Mail           -> email / homework
#  5 Lena M.   04-15 19:00   240 s =  4  Kurze Nachfrage per SMS          -> text / check_in
# kimai_from_to_date_times.csv (older Kimai: From and To as date-times, Duration [hh]:mm):
#  2 Alex P.   04-13 09:00 00:45 = 45                                 -> phone / support
#  3 Jordan K. 04-13 23:30 00:45 = 45  called 988, panic attack       -> phone / crisis
#  4 Alex P.   04-14 12:00 (empty): 12:00 -> 12:10 = 10               -> email / homework
# kimai_en.csv and kimai_de.csv (presets/, clock-style) as in test_import_fixtures.py:
#  0:20 = 20, 0:45 = 45, 0:10:00 = 10, 0:05:00 = 5; 0:15 = 15, 0:50 = 50, 0:06 = 6, 0:04 = 4.
KIMAI: list[tuple[Path, list[Row]]] = [
    (
        SHAPES / "kimai_seconds_en.csv",
        [
            ("Alex P.", at("2026-04-13 09:00"), 45.0, "phone", "support"),
            ("Jordan K.", at("2026-04-13 23:30"), 45.0, "phone", "crisis"),
            ("Alex P.", at("2026-04-14 12:00"), 10.0, "email", "homework"),
            ("Riley C.", at("2026-04-15 17:45"), 5.0, "text", "check_in"),
            ("Riley C.", at("2026-04-16 08:00"), 20.0, "phone", "scheduling"),
        ],
    ),
    (
        SHAPES / "kimai_seconds_de.csv",
        [
            ("Lena M.", at("2026-04-13 08:30"), 15.0, "phone", "scheduling"),
            ("Jonas K.", at("2026-04-13 20:00"), 50.0, "phone", "crisis"),
            ("Mia S.", at("2026-04-14 10:00"), 6.0, "email", "homework"),
            ("Lena M.", at("2026-04-15 19:00"), 4.0, "text", "check_in"),
        ],
    ),
    (
        SHAPES / "kimai_from_to_date_times.csv",
        [
            ("Alex P.", at("2026-04-13 09:00"), 45.0, "phone", "support"),
            ("Jordan K.", at("2026-04-13 23:30"), 45.0, "phone", "crisis"),
            ("Alex P.", at("2026-04-14 12:00"), 10.0, "email", "homework"),
        ],
    ),
    (
        DATA / "presets" / "kimai_en.csv",
        [
            ("Alex P.", at("2026-04-13 09:00"), 20.0, "phone", "scheduling"),
            ("Jordan K.", at("2026-04-13 23:30"), 45.0, "phone", "crisis"),
            ("Alex P.", at("2026-04-14 12:00"), 10.0, "email", "homework"),
            ("Riley C.", at("2026-04-15 17:45"), 5.0, "text", "check_in"),
        ],
    ),
    (
        DATA / "presets" / "kimai_de.csv",
        [
            ("Lena M.", at("2026-04-13 08:30"), 15.0, "phone", "scheduling"),
            ("Jonas K.", at("2026-04-13 20:00"), 50.0, "phone", "crisis"),
            ("Mia S.", at("2026-04-14 10:00"), 6.0, "email", "homework"),
            ("Lena M.", at("2026-04-15 19:00"), 4.0, "text", "check_in"),
        ],
    ),
]


@pytest.mark.parametrize(("path", "expected"), KIMAI, ids=lambda v: getattr(v, "name", ""))
def test_kimai_durations_in_seconds_or_on_the_clock(
    empty_db: Database, path: Path, expected: list[Row]
) -> None:
    report = import_file(empty_db, path, file_name=path.name, options=BERLIN)
    assert (report.preset, report.rejected, report.errors) == ("kimai", 0, [])
    assert stored(empty_db) == expected


@pytest.mark.parametrize(
    ("cells", "whole_numbers", "unit"),
    [
        (["2700", "600", None], "seconds", "seconds"),
        (["2700", "600"], "hours", "hours"),  # other exports: whole numbers are hours
        (["0.75", "2700"], "seconds", "hours"),  # a decimal: Kimai's decimal-hours column
        (["0,75", "1,5"], "seconds", "hours"),
        (["0:45", "0:10:00", "2700"], "seconds", "clock"),
    ],
)
def test_duration_unit_from_the_values(
    empty_db: Database, cells: list[str | None], whole_numbers: str, unit: str
) -> None:
    with empty_db.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE cells (c1 VARCHAR)")
        cursor.executemany("INSERT INTO cells VALUES (?)", [[cell] for cell in cells])
        found = detect_duration_unit(
            cursor,
            "cells",
            "c1",
            whole_numbers=whole_numbers,  # type: ignore[arg-type]
        )
    assert found == unit


# --- Start and end as date-times ---------------------------------------------------------
# start_end_iso.csv (ISO with offsets and Z), in Europe/Berlin (CEST = UTC+2 in April):
#  2 Avery 14:30+02:00 -> 15:00+02:00                        = 30, local 04-15 14:30
#  3 Blake 12:00Z -> 12:20Z                                  = 20, local 04-15 14:00
#  4 Avery 04-16 23:50+02:00 -> 04-17 00:05+02:00            = 15, local 04-16 23:50
#  5 Blake 08:00-04:00 (= 12:00Z) -> 12:10Z                  = 10, local 04-17 14:00
#  6 Casey 10:00:00.000+0200 -> 10:07:30.000+0200            = 7.5
# start_end_local.csv (local wall clock; Europe/Berlin):
#  2 Avery 04-15 14:30 -> 14:55                               = 25
#  3 Blake 03-28 23:30 -> 03-29 03:30, clocks go 02:00 -> 03:00: 4 h on the wall, 3 h = 180
#  4 Blake 10-25 00:30 -> 03:30, clocks go 03:00 -> 02:00: 3 h on the wall, 4 h = 240
#  5 Avery ends before it starts: rejected;  6 Casey no end: rejected
# beginn_ende_dmy.csv (German, semicolon, DD.MM.YYYY HH:MM):
#  2 Lena M.  15.04. 14:30 -> 15:10                           = 40
#  3 Jonas K. 29.03. 01:30 -> 03:30 (the spring-forward night) = 60
#  4 Lena M.  03.04. 09:00 -> 09:05                           = 5
# start_end_mdy.csv (US, 12-hour clock), in America/New_York:
#  2 Avery 04/15 2:30 PM -> 3:05 PM                           = 35
#  3 Blake 11/01 12:30 AM -> 3:30 AM, clocks go 02:00 -> 01:00: 3 h on the wall, 4 h = 240
#  4 Avery 03/04 (April 3? March 4? 04/15 decides: month first) 9:00 -> 9:10 AM = 10
START_END: list[tuple[Path, str, list[Row], list[tuple[int, str, str]]]] = [
    (
        SHAPES / "start_end_iso.csv",
        "Europe/Berlin",
        [
            ("Blake", at("2026-04-15 14:00"), 20.0, "email", "scheduling"),
            ("Avery", at("2026-04-15 14:30"), 30.0, "phone", "support"),
            ("Avery", at("2026-04-16 23:50"), 15.0, "phone", "crisis"),
            ("Blake", at("2026-04-17 14:00"), 10.0, "text", "check_in"),
            ("Casey", at("2026-04-18 10:00"), 7.5, "portal", "homework"),
        ],
        [],
    ),
    (
        SHAPES / "start_end_local.csv",
        "Europe/Berlin",
        [
            ("Blake", at("2026-03-28 23:30"), 180.0, "phone", "crisis"),
            ("Avery", at("2026-04-15 14:30"), 25.0, "phone", "support"),
            ("Blake", at("2026-10-25 00:30"), 240.0, "phone", "crisis"),
        ],
        [(5, "End", "The end is not after the start."), (6, "End", "The end could not be read.")],
    ),
    (
        SHAPES / "beginn_ende_dmy.csv",
        "Europe/Berlin",
        [
            ("Jonas K.", at("2026-03-29 01:30"), 60.0, "phone", "crisis"),
            ("Lena M.", at("2026-04-03 09:00"), 5.0, "email", "scheduling"),
            ("Lena M.", at("2026-04-15 14:30"), 40.0, "phone", "support"),
        ],
        [],
    ),
    (
        SHAPES / "start_end_mdy.csv",
        "America/New_York",
        [
            ("Avery", at("2026-03-04 09:00"), 10.0, "email", "other"),
            ("Avery", at("2026-04-15 14:30"), 35.0, "phone", "other"),
            ("Blake", at("2026-11-01 00:30"), 240.0, "phone", "other"),
        ],
        [],
    ),
]


@pytest.mark.parametrize(
    ("path", "zone", "expected", "errors"), START_END, ids=lambda v: getattr(v, "name", "")
)
def test_start_and_end_date_times_are_recognised_without_hints(
    empty_db: Database,
    path: Path,
    zone: str,
    expected: list[Row],
    errors: list[tuple[int, str, str]],
) -> None:
    report = import_file(
        empty_db,
        path,
        file_name=path.name,
        options=ImportOptions(therapist="Robin Sommer", time_zone=zone),
    )
    assert report.layout is not None
    assert report.preset == "custom"
    assert {"started_at", "ended_at"} <= set(report.layout.fields())
    assert "duration" not in report.layout.fields()
    assert [(e.row, e.column, e.message) for e in report.errors] == errors
    assert stored(empty_db) == expected


# Headers no synonym knows: only a mapping says where start and end are.
ODD_START_END = (
    b"Wer;Los;Schluss;Wie\n"
    b"Avery;2026-03-29T01:30:00+01:00;2026-03-29T03:30:00+02:00;Anruf\n"
    b"Blake;29.03.2026 01:00;29.03.2026 04:00;Mail\n"
)
# Europe/Berlin: row 2 01:30 CET -> 03:30 CEST = 60 minutes (local start 01:30);
# row 3 01:00 -> 04:00 on the wall across the spring-forward hour = 120 minutes.


def test_start_and_end_can_be_mapped(empty_db: Database) -> None:
    with pytest.raises(ContactLoadError, match="match no known export"):
        import_file(empty_db, ODD_START_END, file_name="odd.csv", options=BERLIN)
    mapping = {"client": "Wer", "started_at": "Los", "ended_at": "Schluss", "description": "Wie"}
    report = import_file(
        empty_db,
        ODD_START_END,
        file_name="odd.csv",
        options=ImportOptions(therapist="Robin Sommer", time_zone="Europe/Berlin", mapping=mapping),
    )
    assert (report.imported, report.rejected) == (2, 0)
    assert [(row[0], row[1], row[2], row[3]) for row in stored(empty_db)] == [
        ("Blake", at("2026-03-29 01:00"), 120.0, "email"),
        ("Avery", at("2026-03-29 01:30"), 60.0, "phone"),
    ]


def test_a_mapping_turns_a_detected_end_time_into_an_end_date_time() -> None:
    header = ["Client", "Date", "Start", "End"]
    detected = detect_layout(header)
    assert detected is not None and detected.columns["end_time"] == "End"
    mapped = layout_from_mapping(header, {"started_at": "Start", "ended_at": "End"}, detected)
    assert dict(mapped.columns) == {
        "client": "Client",
        "date": "Date",
        "started_at": "Start",
        "ended_at": "End",
    }


def test_cli_map_started_at_and_ended_at(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "odd.csv"
    path.write_bytes(ODD_START_END)
    db = tmp_path / "c.duckdb"
    args = [
        "import",
        str(path),
        "--db",
        str(db),
        "--time-zone",
        "Europe/Berlin",
        "--therapist",
        "Robin Sommer",
    ]
    assert main(args) == 1
    assert "match no known export" in capsys.readouterr().err
    assert main([*args, "--map", "client=Wer,started_at=Los,ended_at=Schluss"]) == 0
    out = capsys.readouterr().out
    assert "imported 2, 0 already stored, 0 rejected" in out
    database = Database(db)
    try:
        assert sum(row[2] for row in stored(database)) == 180.0
    finally:
        database.close()


# --- Toggl with every Client empty (clients kept as projects) ---------------------------
# toggl_clients_as_projects.csv, mapped client=Project:
#  2 Lena M.  04-13 09:05 00:10:00 = 10  rescheduled appointment      -> phone / scheduling
#  3 Jonas K. 04-13 21:40 00:45:00 = 45  crisis call - safety plan    -> phone / crisis
#  4 Lena M.  04-14 12:00 00:08:00 =  8  worksheet by email           -> email / homework
TOGGL_AS_PROJECTS = SHAPES / "toggl_clients_as_projects.csv"
TOGGL_SENTENCE = (
    "Every Client cell of toggl_clients_as_projects.csv is empty; use --map client=Project "
    "or pick Project as the client on the Import page."
)


def test_toggl_with_every_client_empty_says_how_to_fix_it(empty_db: Database) -> None:
    with pytest.raises(EmptyClientColumnError) as caught:
        import_file(empty_db, TOGGL_AS_PROJECTS, file_name=TOGGL_AS_PROJECTS.name, options=BERLIN)
    assert str(caught.value) == TOGGL_SENTENCE
    assert stored(empty_db) == []
    mapped = ImportOptions(
        therapist="Robin Sommer", time_zone="Europe/Berlin", mapping={"client": "Project"}
    )
    report = import_file(
        empty_db, TOGGL_AS_PROJECTS, file_name=TOGGL_AS_PROJECTS.name, options=mapped
    )
    assert (report.imported, report.rejected) == (3, 0)
    assert stored(empty_db) == [
        ("Lena M.", at("2026-04-13 09:05"), 10.0, "phone", "scheduling"),
        ("Jonas K.", at("2026-04-13 21:40"), 45.0, "phone", "crisis"),
        ("Lena M.", at("2026-04-14 12:00"), 8.0, "email", "homework"),
    ]


def test_cli_toggl_with_every_client_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "c.duckdb"
    args = [
        "import",
        str(TOGGL_AS_PROJECTS),
        "--db",
        str(db),
        "--time-zone",
        "Europe/Berlin",
        "--therapist",
        "Robin Sommer",
    ]
    assert main(args) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == f"contactload: {TOGGL_AS_PROJECTS.name}: {TOGGL_SENTENCE}"
    assert "Traceback" not in captured.err
    assert main([*args, "--map", "client=Project"]) == 0
    assert "imported 3, 0 already stored, 0 rejected" in capsys.readouterr().out


# --- Accurate reasons --------------------------------------------------------------------
# dates_neither_order.csv: 25/03/2024 proves day-first; row 3 "13/15/2024" reads neither way;
# 02/04/2024 is then 2 April. Stored: Avery 03-25 09:00 10 min, Blake 04-02 11:00 15 min.
# dates_only_unreadable.csv: nothing decides the order, but no date reads both ways either:
# row 2 "13/15/2024" is reported, row 3 (ISO) is stored.
NEITHER = "The date reads neither day-first nor month-first, so it could not be read."


def test_a_date_neither_day_first_nor_month_first_is_unreadable_with_its_row(
    empty_db: Database,
) -> None:
    path = SHAPES / "dates_neither_order.csv"
    report = import_file(empty_db, path, file_name=path.name, options=BERLIN)
    assert [(e.row, e.column, e.message) for e in report.errors] == [(3, "date", NEITHER)]
    assert [(row[0], row[1], row[2]) for row in stored(empty_db)] == [
        ("Avery", at("2024-03-25 09:00"), 10.0),
        ("Blake", at("2024-04-02 11:00"), 15.0),
    ]
    only = SHAPES / "dates_only_unreadable.csv"
    report = import_file(empty_db, only, file_name=only.name, options=BERLIN)
    assert [(e.row, e.message) for e in report.errors] == [(2, NEITHER)]
    assert report.imported == 1


def test_a_file_of_unreadable_dates_names_the_row(empty_db: Database) -> None:
    content = b"date,start_time,minutes,client\n13/15/2024,09:00,10,Avery\n"
    with pytest.raises(ContactLoadError) as caught:
        import_file(empty_db, content, file_name="bad.csv", options=BERLIN)
    assert str(caught.value) == (
        "No row of bad.csv could be imported (row 2: The date reads neither day-first nor "
        "month-first, so it could not be read); nothing was stored."
    )


def test_dates_that_read_both_ways_still_ask_for_the_order(empty_db: Database) -> None:
    content = b"date,start_time,minutes,client\n03/04/2026,09:00,10,Avery\n13/15/2024,9:00,5,A\n"
    with pytest.raises(ContactLoadError, match="read both day-first and month-first"):
        import_file(empty_db, content, file_name="both.csv", options=BERLIN)


@pytest.mark.parametrize(
    ("name", "root"), [("call_log_other_app.xml", "alllogs"), ("one_line.xml", "rss")]
)
def test_xml_that_is_no_phone_log_is_told_so(
    empty_db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, root: str
) -> None:
    sentence = (
        f"{name} is XML but not an SMS Backup & Restore phone log (its root element is "
        f"<{root}>, not <calls> or <smses>); upload the calls or messages backup that app "
        "writes, or export contacts as CSV."
    )
    with pytest.raises(UnsupportedFileError) as caught:
        import_detected(empty_db, (SHAPES / name).read_bytes(), file_name=name)
    assert str(caught.value) == sentence
    assert main(["import", str(SHAPES / name), "--db", str(tmp_path / "c.duckdb")]) == 1
    assert capsys.readouterr().err.strip() == f"contactload: {name}: {sentence}"


# --- No traceback: every file here through the CLI ---------------------------------------
CLI_OUTCOMES = {
    "kimai_seconds_en.csv": 0,
    "kimai_seconds_de.csv": 0,
    "kimai_from_to_date_times.csv": 0,
    "start_end_iso.csv": 0,
    "start_end_local.csv": 0,
    "beginn_ende_dmy.csv": 0,
    "start_end_mdy.csv": 0,
    "dates_neither_order.csv": 0,
    "dates_only_unreadable.csv": 0,
    "toggl_clients_as_projects.csv": 1,
    "call_log_other_app.xml": 1,
    "one_line.xml": 1,
}


def test_every_shape_file_is_listed() -> None:
    on_disk = {path.name for path in SHAPES.iterdir() if not path.name.startswith(".")}
    assert on_disk == set(CLI_OUTCOMES)


@pytest.mark.parametrize(("name", "code"), sorted(CLI_OUTCOMES.items()))
def test_cli_imports_each_shape_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, code: int
) -> None:
    db = tmp_path / "c.duckdb"
    args = [
        "import",
        str(SHAPES / name),
        "--db",
        str(db),
        "--time-zone",
        "Europe/Berlin",
        "--therapist",
        "Robin Sommer",
    ]
    assert main(args) == code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.out + captured.err
    if code:
        # one sentence: "contactload: <file>: <sentence>"
        assert len(captured.err.strip().splitlines()) == 1
        assert captured.err.strip().endswith(".")
