"""analytics.importing.presets: recognising exports from their header, mappings, saved mappings.

Fixtures in tests/data/import/presets/ are small realistic exports, one per preset and
variant; the import pipeline tests load them too. What each should give, worked out by
hand from its rows (minutes per client; the category and channel the default rules or the
explicit columns give, row by row; "other" where nothing matches):

toggl.csv (UTF-8 with BOM, "Amount (EUR)", therapist Anna Weber, times with seconds;
the last row runs past midnight, 23:50 -> 00:10 with End date the next day):
    Lena M. 18 (10 + 8), Jonas K. 65 (45 + 20), Mia S. 25 (5 + 20); total 108.
    rows: scheduling/phone, crisis/phone, homework/email, support/phone, check_in/text,
    other/portal.
toggl_no_amount.csv (BOM, no Amount column, therapist Tom Becker; 00:07:30 = 7.5 min):
    Sam R. 36 (6 + 30), Alex P. 17 (2 + 15), Chris D. 7.5; total 60.5.
    rows: scheduling/email, crisis/phone, reminder/text, homework/video, check_in/phone.
clockify_us.csv (all quoted, CRLF, MM/DD/YYYY, 12-hour clock: "12:00:00 PM" is noon and
"12:15:00 AM" is 00:15; Duration (h) exact, Duration (decimal) rounded and NOT to be used;
therapist Dana Lee, practice "Riverside Counseling" from Group):
    Taylor B. 32 (25 + 7), Riley C. 60 (40 + 20), Morgan D. 1.5; total 93.5.
    (The rounded decimal column would give Taylor 32.4, Riley 60.0, Morgan 1.8.)
    rows: scheduling/phone, crisis/phone, homework/portal, reminder/text, check_in/phone.
clockify_eu.csv (DD/MM/YYYY, 24-hour, Activity instead of Task, approval columns;
therapist Sophie Martin, practice "Praxis Lindenhof"):
    Lena M. 17 (12 + 5), Paul H. 55, Emma W. 3; total 75.
    rows: scheduling/phone, crisis/phone, homework/email, check_in/text.
harvest.csv (ISO dates, no clock times, decimal Hours; "Hours Rounded" NOT to be used;
therapist "Maria Garcia" from First Name + Last Name):
    Jamie L. 21 (15 + 6), Casey N. 48 (45 + 3), Drew P. 30; total 99.
    (Hours Rounded would give Jamie 30, Casey 60.)
    rows: scheduling/other, crisis/phone, homework/other, check_in/text, support/phone.
harvest_de.csv (DD.MM.YYYY, quoted decimal commas "0,25", comma-delimited; therapist
"Katrin Vogel"):
    Lena M. 21 (15 + 6), Jonas K. 60, Mia S. 3; total 84.
    rows: scheduling/other, crisis/phone, homework/email, reminder/text.
kimai_en.csv (comma, durations "0:20" and "0:10:00"; the second row runs 23:30 -> 00:15
with no end date, 45 min; therapist Sam Carter from User):
    Alex P. 30 (20 + 10), Jordan K. 45, Riley C. 5; total 80.
    rows: scheduling/phone, crisis/phone, homework/email, check_in/text.
kimai_de.csv (semicolon, German headers, decimal-comma rates; therapist Katrin Vogel from
Benutzer):
    Lena M. 19 (15 + 4), Jonas K. 50, Mia S. 6; total 75.
    rows: scheduling/phone, crisis/phone, homework/email, check_in/text.
template.csv (this project's template; row 3 has no start_time (time unknown), row 5 an
empty direction (unknown); therapist Dr. Kim, practice Northside Practice):
    Client A 15 (10 + 5), Client B 42 (35 + 7), Client C 12.5; total 69.5.
    rows (explicit columns): scheduling/phone/client, crisis/phone/client,
    reminder/email/therapist, homework/portal/therapist, check_in/text/unknown.
custom_de.csv (semicolon, UTF-8 with BOM as German Excel saves "CSV UTF-8", DD.MM.YYYY,
"Dauer (Min.)" with a decimal comma "12,5", one row without Ende; only synonyms map it):
    Lena M. 20 (15 + 5), Jonas K. 45, Mia S. 15.5 (12.5 + 3); total 80.5.
    rows (explicit columns): scheduling/phone/client, crisis/phone/client,
    homework/email/therapist, support/video/therapist, reminder/text/therapist.
"""

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics.importing.presets import (
    FIELDS,
    PRESET_NAMES,
    TEMPLATE_HEADER,
    Layout,
    MappingError,
    detect_layout,
    layout_for_preset,
    layout_from_mapping,
    parse_map_option,
    template_csv,
)
from analytics.importing.saved_mappings import list_mappings, load_mapping, save_mapping
from analytics.storage.database import Database

PRESETS_DIR = Path(__file__).parent / "data" / "import" / "presets"

DELIMITERS = {"kimai_de.csv": ";", "custom_de.csv": ";"}


def read_header(name: str) -> list[str]:
    """The header row of a fixture, read the plain way (BOM dropped by utf-8-sig)."""
    with open(PRESETS_DIR / name, encoding="utf-8-sig", newline="") as handle:
        return next(csv.reader(handle, delimiter=DELIMITERS.get(name, ",")))


TOGGL_COLUMNS = {
    "client": "Client",
    "therapist": "User",
    "date": "Start date",
    "start_time": "Start time",
    "end_date": "End date",
    "end_time": "End time",
    "duration": "Duration",
    "task": "Task",
    "project": "Project",
    "tags": "Tags",
    "description": "Description",
    "email": "Email",
}
CLOCKIFY_COLUMNS = {
    "client": "Client",
    "therapist": "User",
    "practice": "Group",
    "date": "Start Date",
    "start_time": "Start Time",
    "end_date": "End Date",
    "end_time": "End Time",
    "duration": "Duration (h)",
    "task": "Task",
    "project": "Project",
    "tags": "Tags",
    "description": "Description",
    "email": "Email",
}
HARVEST_COLUMNS = {
    "client": "Client",
    "date": "Date",
    "duration": "Hours",
    "task": "Task",
    "project": "Project",
    "description": "Notes",
}
KIMAI_EN_COLUMNS = {
    "client": "Customer",
    "therapist": "User",
    "date": "Date",
    "start_time": "From",
    "end_time": "To",
    "duration": "Duration",
    "task": "Activity",
    "project": "Project",
    "tags": "Tags",
    "description": "Description",
}
KIMAI_DE_COLUMNS = {
    "client": "Kunde",
    "therapist": "Benutzer",
    "date": "Datum",
    "start_time": "Von",
    "end_time": "Bis",
    "duration": "Dauer",
    "task": "Tätigkeit",
    "project": "Projekt",
    "tags": "Schlagworte",
    "description": "Beschreibung",
}
TEMPLATE_COLUMNS = {
    "client": "client",
    "therapist": "therapist",
    "practice": "practice",
    "date": "date",
    "start_time": "start_time",
    "duration": "minutes",
    "category": "category",
    "channel": "channel",
    "direction": "direction",
}
CUSTOM_DE_COLUMNS = {
    "client": "Klient",
    "therapist": "Therapeutin",
    "practice": "Praxis",
    "date": "Datum",
    "start_time": "Beginn",
    "end_time": "Ende",
    "duration": "Dauer (Min.)",
    "category": "Kategorie",
    "channel": "Kanal",
    "direction": "Richtung",
    "description": "Notiz",
}
HARVEST_THERAPIST = {"therapist": ("First Name", "Last Name")}

DETECTED = [
    # (fixture, preset, columns, duration unit, time of day, joined)
    ("toggl.csv", "toggl", TOGGL_COLUMNS, "clock", True, {}),
    ("toggl_no_amount.csv", "toggl", TOGGL_COLUMNS, "clock", True, {}),
    ("clockify_us.csv", "clockify", CLOCKIFY_COLUMNS, "clock", True, {}),
    ("clockify_eu.csv", "clockify", {**CLOCKIFY_COLUMNS, "task": "Activity"}, "clock", True, {}),
    ("harvest.csv", "harvest", HARVEST_COLUMNS, "hours", False, HARVEST_THERAPIST),
    ("harvest_de.csv", "harvest", HARVEST_COLUMNS, "hours", False, HARVEST_THERAPIST),
    # Kimai writes h:mm, h:mm:ss or seconds: the unit is decided from the values
    ("kimai_en.csv", "kimai", KIMAI_EN_COLUMNS, None, True, {}),
    ("kimai_de.csv", "kimai", KIMAI_DE_COLUMNS, None, True, {}),
    ("template.csv", "template", TEMPLATE_COLUMNS, "minutes", True, {}),
    ("custom_de.csv", "custom", CUSTOM_DE_COLUMNS, "minutes", True, {}),
]


@pytest.mark.parametrize(("fixture", "preset", "columns", "unit", "timed", "joined"), DETECTED)
def test_detect_layout_recognises_each_fixture(
    fixture: str,
    preset: str,
    columns: dict[str, str],
    unit: str,
    timed: bool,
    joined: dict[str, tuple[str, ...]],
) -> None:
    layout = detect_layout(read_header(fixture))
    assert layout == Layout(preset, columns, unit, timed, joined)  # type: ignore[arg-type]


def test_every_fixture_is_there() -> None:
    assert sorted(path.name for path in PRESETS_DIR.glob("*.csv")) == sorted(
        fixture for fixture, *_ in DETECTED
    )


def test_detected_layouts_use_only_known_fields() -> None:
    for fixture, *_ in DETECTED:
        layout = detect_layout(read_header(fixture))
        assert layout is not None
        assert set(layout.fields()) <= set(FIELDS)


@pytest.mark.parametrize(
    ("fixture", "description"),
    [
        ("toggl.csv", "Toggl Track detailed report"),
        ("clockify_eu.csv", "Clockify detailed report"),
        ("harvest_de.csv", "Harvest detailed time report"),
        ("kimai_de.csv", "Kimai timesheet export"),
        ("template.csv", "Contact Load template"),
        (
            "custom_de.csv",
            "Custom column mapping (client: Klient, therapist: Therapeutin, practice: Praxis, "
            "date: Datum, start_time: Beginn, end_time: Ende, duration: Dauer (Min.), "
            "category: Kategorie, channel: Kanal, direction: Richtung)",
        ),
    ],
)
def test_describe(fixture: str, description: str) -> None:
    layout = detect_layout(read_header(fixture))
    assert layout is not None
    assert layout.describe() == description


def test_sources_joins_harvest_names() -> None:
    layout = detect_layout(read_header("harvest.csv"))
    assert layout is not None
    assert layout.sources("therapist") == ("First Name", "Last Name")
    assert layout.sources("client") == ("Client",)
    assert layout.sources("channel") == ()


def test_detection_keeps_the_files_own_spelling() -> None:
    header = ["\ufeffUser", " EMAIL ", "client", "PROJECT", "Task", "Description", "Billable",
              "start DATE", "Start_time", "End date", "End time", "Duration", "Tags"]  # fmt: skip
    layout = detect_layout(header)
    assert layout is not None and layout.preset == "toggl"
    assert layout.columns["therapist"] == "\ufeffUser"
    assert layout.columns["date"] == "start DATE"
    assert layout.columns["start_time"] == "Start_time"


@pytest.mark.parametrize(
    ("header", "columns", "unit", "timed"),
    [
        # case and white space do not matter; the unit comes from the duration header
        (
            ["  KLIENT ", "datum", "Dauer (Min.)"],
            {"client": "  KLIENT ", "date": "datum", "duration": "Dauer (Min.)"},
            "minutes",
            False,
        ),
        (
            ["Kunde", "Datum", "Von", "Bis"],
            {"client": "Kunde", "date": "Datum", "start_time": "Von", "end_time": "Bis"},
            None,
            True,
        ),
        (
            ["Client", "Date", "Hours", "Notes"],
            {"client": "Client", "date": "Date", "duration": "Hours", "description": "Notes"},
            "hours",
            False,
        ),
        # a lone "Start" with no date column holds date and time together, and so does the
        # lone "End" beside it
        (
            ["Patient", "Start", "End", "Channel"],
            {"client": "Patient", "started_at": "Start", "ended_at": "End", "channel": "Channel"},
            None,
            True,
        ),
        (
            ["Zeitpunkt", "Klientin", "Minuten", "Kanal", "Kategorie", "Therapeut", "Richtung"],
            {
                "started_at": "Zeitpunkt",
                "client": "Klientin",
                "duration": "Minuten",
                "channel": "Kanal",
                "category": "Kategorie",
                "therapist": "Therapeut",
                "direction": "Richtung",
            },
            "minutes",
            True,
        ),
        # "End date" is never taken for the date; "Duration" names no unit
        (
            ["Customer", "End date", "Start date", "Duration", "Counsellor", "Clinic"],
            {
                "client": "Customer",
                "end_date": "End date",
                "date": "Start date",
                "duration": "Duration",
                "therapist": "Counsellor",
                "practice": "Clinic",
            },
            None,
            False,
        ),
    ],
)
def test_detect_layout_from_synonyms(
    header: list[str], columns: dict[str, str], unit: str | None, timed: bool
) -> None:
    layout = detect_layout(header)
    assert layout == Layout("custom", columns, unit, timed)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "header",
    [
        [],
        ["Name", "Notes"],
        ["Client", "Date"],  # no duration and no start/end
        ["Datum", "Dauer"],  # no client
        ["Klient", "Dauer"],  # no date
        ["Client", "Date", "Start"],  # a start but no end
    ],
)
def test_detect_layout_gives_up(header: list[str]) -> None:
    assert detect_layout(header) is None


@pytest.mark.parametrize(
    ("preset", "fixture"),
    [
        ("toggl", "toggl.csv"),
        ("Clockify", "clockify_us.csv"),
        ("harvest", "harvest_de.csv"),
        ("kimai", "kimai_en.csv"),
        ("kimai", "kimai_de.csv"),
        (" template ", "template.csv"),
    ],
)
def test_layout_for_preset_matches_detection(preset: str, fixture: str) -> None:
    header = read_header(fixture)
    assert layout_for_preset(preset, header) == detect_layout(header)


def test_forced_preset_needs_only_its_required_columns() -> None:
    # No Billable, End date or Email: not recognised by itself, but loads when forced.
    header = ["User", "Client", "Start date", "Start time", "Duration", "Description"]
    assert detect_layout(header) is None or detect_layout(header).preset != "toggl"  # type: ignore[union-attr]
    layout = layout_for_preset("toggl", header)
    assert layout.preset == "toggl"
    assert dict(layout.columns) == {
        "client": "Client",
        "therapist": "User",
        "date": "Start date",
        "start_time": "Start time",
        "duration": "Duration",
        "description": "Description",
    }


@pytest.mark.parametrize(
    ("preset", "fixture_or_header", "message"),
    [
        (
            "toggl",
            "clockify_us.csv",
            "The file does not fit the Toggl Track detailed report: it has no 'Duration' column.",
        ),
        (
            "harvest",
            "toggl.csv",
            "The file does not fit the Harvest detailed time report: it has no 'Date' or "
            "'Hours' column.",
        ),
        (
            "clockify",
            "harvest.csv",
            "The file does not fit the Clockify detailed report: it has no 'User', "
            "'Start Date', 'Start Time' or 'Duration (h)' column.",
        ),
        (
            "kimai",
            ["Datum", "Kunde", "Projekt"],
            "The file does not fit the Kimai timesheet export: it has no 'Von' or 'Dauer' column.",
        ),
        (
            "kimai",
            ["Date", "Customer", "Duration"],
            "The file does not fit the Kimai timesheet export: it has no 'From' column.",
        ),
        (
            "template",
            "custom_de.csv",
            "The file does not fit the Contact Load template: it has no 'date', 'minutes' or "
            "'client' column.",
        ),
        (
            "tempo",
            "toggl.csv",
            "There is no preset called 'tempo'; choose one of toggl, clockify, harvest, kimai, "
            "template, therapynotes.",
        ),
    ],
)
def test_layout_for_preset_names_missing_columns(
    preset: str, fixture_or_header: str | list[str], message: str
) -> None:
    header = (
        read_header(fixture_or_header) if isinstance(fixture_or_header, str) else fixture_or_header
    )
    with pytest.raises(MappingError) as caught:
        layout_for_preset(preset, header)
    assert str(caught.value) == message


def test_preset_names() -> None:
    assert PRESET_NAMES == ("toggl", "clockify", "harvest", "kimai", "template", "therapynotes")


@pytest.mark.parametrize(
    ("text", "mapping"),
    [
        ("client=Kunde,date=Datum", {"client": "Kunde", "date": "Datum"}),
        (
            " Client = Name des Klienten , date=Datum ",
            {"client": "Name des Klienten", "date": "Datum"},
        ),
        ('date="Date, local",client=Kunde', {"date": "Date, local", "client": "Kunde"}),
        (
            'description="Say ""hi"", then",client=K',
            {"description": 'Say "hi", then', "client": "K"},
        ),
        ('date=" padded ", client=K', {"date": " padded ", "client": "K"}),
        (r"date=Date\, local,client=Kunde", {"date": "Date, local", "client": "Kunde"}),
        (r"description=C:\\notes", {"description": "C:\\notes"}),
        ("duration=Dauer = Minuten", {"duration": "Dauer = Minuten"}),
        ("client=Kunde,,date=Datum,", {"client": "Kunde", "date": "Datum"}),
        ("channel=,client=Kunde", {"channel": "", "client": "Kunde"}),
        ("duration=Dauer,duration_unit=minutes", {"duration": "Dauer", "duration_unit": "minutes"}),
        ("", {}),
    ],
)
def test_parse_map_option(text: str, mapping: dict[str, str]) -> None:
    assert parse_map_option(text) == mapping


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "client",
            "'client' in the mapping has no '='; write field=Header, for example client=Kunde.",
        ),
        ("=Kunde", "'=Kunde' in the mapping names no field before the '='."),
        ("client=A,client=B", "The mapping names the field client twice; keep one."),
        (
            'date="Date, local',
            "The mapping 'date=\"Date, local' opens a double quote it never closes.",
        ),
        (
            'date="Date" local,client=K',
            "In the mapping 'date=\"Date\" local,client=K' a quoted header is followed by more "
            "text; put a comma after the closing quote.",
        ),
    ],
)
def test_parse_map_option_errors(text: str, message: str) -> None:
    with pytest.raises(MappingError) as caught:
        parse_map_option(text)
    assert str(caught.value) == message


CUSTOM_HEADER = ["Kunde", "Tag", "Zeit", "Wie lange", "Wer", "Notizen", "Medium"]


def test_layout_from_mapping_builds_a_custom_layout() -> None:
    layout = layout_from_mapping(
        CUSTOM_HEADER,
        {"client": "kunde", "date": "TAG", "start_time": "Zeit", "duration": "Wie lange",
         "therapist": "Wer", "duration_unit": "Minutes", "channel": ""},
    )  # fmt: skip
    assert layout == Layout(
        "custom",
        {"client": "Kunde", "therapist": "Wer", "date": "Tag", "start_time": "Zeit",
         "duration": "Wie lange"},
        "minutes",
        True,
    )  # fmt: skip


def test_layout_from_mapping_without_unit_infers_it_or_leaves_it_open() -> None:
    layout = layout_from_mapping(
        ["K", "D", "Std."], {"client": "K", "date": "D", "duration": "Std."}
    )
    assert layout.duration_unit == "hours"
    assert layout.has_time_of_day is False
    layout = layout_from_mapping(
        ["K", "D", "Wie lange"], {"client": "K", "date": "D", "duration": "Wie lange"}
    )
    assert layout.duration_unit is None


def test_layout_from_mapping_on_a_base() -> None:
    header = read_header("toggl.csv")
    base = detect_layout(header)
    assert base is not None
    # The same layout again: still the preset (this is how a saved layout is re-checked).
    assert layout_from_mapping(header, {}, base) == base
    # Adding a field keeps the preset.
    added = layout_from_mapping([*header, "Workspace"], {"practice": "workspace"}, base)
    assert added.preset == "toggl"
    assert added.columns["practice"] == "Workspace"
    # A header given to another field moves there, and the layout is custom.
    moved = layout_from_mapping(header, {"practice": "Project"}, base)
    assert moved.preset == "custom"
    assert moved.columns["practice"] == "Project"
    assert "project" not in moved.columns
    # Changing a field makes it custom; removing one too.
    changed = layout_from_mapping(header, {"therapist": "Email"}, base)
    assert changed.preset == "custom"
    assert changed.columns["therapist"] == "Email"
    assert "email" not in changed.columns
    removed = layout_from_mapping(header, {"start_time": ""}, base)
    assert removed.preset == "custom"
    assert "start_time" not in removed.columns
    assert removed.has_time_of_day is False


def test_layout_from_mapping_keeps_and_replaces_joined_fields() -> None:
    header = read_header("harvest.csv")
    base = detect_layout(header)
    assert base is not None
    kept = layout_from_mapping(header, {"category": "Task"}, base)
    assert kept.joined == {"therapist": ("First Name", "Last Name")}
    assert "task" not in kept.columns
    replaced = layout_from_mapping(header, {"therapist": "Last Name"}, base)
    assert replaced.joined == {}
    assert replaced.columns["therapist"] == "Last Name"
    assert replaced.preset == "custom"


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            {"klient": "Kunde"},
            "'klient' is not a field Contact Load can map; use one of client, therapist, "
            "practice, date, start_time, end_date, end_time, started_at, ended_at, duration, "
            "category, "
            "channel, direction, task, project, tags, description, email (or duration_unit).",
        ),
        (
            {"client": "Klient", "date": "Tag", "duration": "Wie lange"},
            "The file has no column 'Klient'; its columns are 'Kunde', 'Tag', 'Zeit', "
            "'Wie lange', 'Wer', 'Notizen', 'Medium'.",
        ),
        (
            {"client": "Kunde", "date": "Tag", "duration": "Wie lange", "duration_unit": "days"},
            "'days' is not a duration unit; use one of clock, hours, minutes, seconds.",
        ),
        (
            {"client": "Kunde", "date": "Tag", "start_time": "Tag", "duration": "Wie lange"},
            "The column 'Tag' is mapped to both date and start_time; map each column to one "
            "field (started_at is for a column holding date and time).",
        ),
        (
            {"date": "Tag", "duration": "Wie lange"},
            "Contacts cannot be placed without a column for client; add it to the mapping, "
            "for example client=Klient.",
        ),
        (
            {"client": "Kunde", "start_time": "Zeit"},
            "Contacts cannot be placed without a column for date (or started_at) and duration "
            "(or start_time and end_time, or started_at and ended_at); add them to the mapping, "
            "for example client=Klient.",
        ),
    ],
)
def test_layout_from_mapping_errors(mapping: dict[str, str], message: str) -> None:
    with pytest.raises(MappingError) as caught:
        layout_from_mapping(CUSTOM_HEADER, mapping)
    assert str(caught.value) == message


def test_a_saved_layout_is_checked_against_the_new_file() -> None:
    base = detect_layout(read_header("toggl.csv"))
    assert base is not None
    with pytest.raises(MappingError, match="The file has no column 'User'"):
        layout_from_mapping(read_header("harvest.csv"), {}, base)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "contactload.duckdb")
    yield database
    database.close()


def test_saved_mappings_round_trip(db: Database) -> None:
    assert list_mappings(db) == []
    harvest = detect_layout(read_header("harvest.csv"))
    custom = detect_layout(read_header("custom_de.csv"))
    assert harvest is not None and custom is not None
    save_mapping(db, "Harvest (Maria)", harvest)
    save_mapping(db, " Praxis-Tabelle ", custom)
    assert list_mappings(db) == ["Harvest (Maria)", "Praxis-Tabelle"]
    assert load_mapping(db, "Harvest (Maria)") == harvest
    assert load_mapping(db, "Praxis-Tabelle") == custom
    # The same name replaces.
    save_mapping(db, "Praxis-Tabelle", harvest)
    assert list_mappings(db) == ["Harvest (Maria)", "Praxis-Tabelle"]
    assert load_mapping(db, "Praxis-Tabelle") == harvest


def test_saved_mapping_survives_reopening(tmp_path: Path) -> None:
    layout = detect_layout(read_header("kimai_de.csv"))
    assert layout is not None
    first = Database(tmp_path / "contactload.duckdb")
    save_mapping(first, "kimai", layout)
    first.close()
    second = Database(tmp_path / "contactload.duckdb")
    assert load_mapping(second, "kimai") == layout
    second.close()


def test_load_mapping_errors(db: Database) -> None:
    with pytest.raises(MappingError) as caught:
        load_mapping(db, "nope")
    assert str(caught.value) == "There is no saved mapping called 'nope'; none is saved yet."
    layout = detect_layout(read_header("template.csv"))
    assert layout is not None
    save_mapping(db, "mine", layout)
    with pytest.raises(MappingError) as caught:
        load_mapping(db, "nope")
    assert str(caught.value) == "There is no saved mapping called 'nope'; saved ones are mine."
    with pytest.raises(MappingError, match="needs a name"):
        save_mapping(db, "  ", layout)
    with db.transaction() as cursor:
        cursor.execute("INSERT INTO saved_mappings (name, mapping) VALUES ('broken', '{oops')")
    with pytest.raises(MappingError) as caught:
        load_mapping(db, "broken")
    assert str(caught.value) == (
        "The saved mapping 'broken' is damaged; map the columns again and save it anew."
    )


def test_template_csv() -> None:
    rows = list(csv.reader(template_csv().splitlines()))
    assert tuple(rows[0]) == TEMPLATE_HEADER
    assert len(rows) == 4
    assert [row[1] for row in rows[1:]].count("") == 1  # one contact with no known time
    layout = detect_layout(rows[0])
    assert layout is not None and layout.preset == "template"
    assert layout.duration_unit == "minutes"
    # The fixture uses the same header, so both go through the same preset.
    assert tuple(read_header("template.csv")) == TEMPLATE_HEADER
