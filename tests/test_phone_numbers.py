"""Phone numbers read by libphonenumber: one key per line however it is written, invalid
numbers listed with a reason, the default region, and mappings made before schema 8.

Logs in tests/data/phone/: calls_rome.xml (Dr Rossi, Studio Roma, Europe/Rome, CET in
November) and sms_moscow.xml (Dr Ivanova, Europe/Moscow, UTC+3); figures by hand.
"""

import json
from pathlib import Path

import duckdb
import pytest

from analytics import cli
from analytics.access.scope import LOCAL
from analytics.errors import InvalidRecordError
from analytics.importing.phone_log import (
    PhoneLogOptions,
    import_phone_log,
    list_mappings,
    map_number,
    unmap_number,
)
from analytics.importing.phone_numbers import (
    choose_region,
    default_region,
    legacy_number_form,
    read_number,
    set_default_region,
)
from analytics.storage.database import Database
from analytics.storage.pseudonyms import load_or_create_secret, number_key
from analytics.storage.schema import MIGRATIONS, migrate

PHONE = Path(__file__).parent / "data" / "phone"
ROME = PhoneLogOptions(
    therapist="Dr Rossi", practice="Studio Roma", time_zone="Europe/Rome", region="IT"
)
MOSCOW = PhoneLogOptions(
    therapist="Dr Ivanova", practice="Praxis Ost", time_zone="Europe/Moscow", region="RU"
)

# (region, written nationally, written internationally, E.164 worked out by hand from the
# numbering plan: drop the trunk prefix where the country has one, keep Italy's 0).
EIGHT_COUNTRIES = [
    ("IT", "06 1234 5678", "+39 06 1234 5678", "+390612345678"),  # Rome landline, 0 kept
    ("IT", "347 123 4567", "0039 347 1234567", "+393471234567"),  # mobile, no trunk prefix
    ("DE", "030 12345678", "+49 30 12345678", "+493012345678"),  # trunk 0 dropped
    ("DE", "0151 23456789", "0049 151 23456789", "+4915123456789"),
    ("GB", "020 7946 0018", "+44 20 7946 0018", "+442079460018"),
    ("GB", "07400 123456", "+44 7400 123456", "+447400123456"),
    ("US", "(212) 555-0123", "+1 212-555-0123", "+12125550123"),
    ("US", "1-212-555-0199", "+1 (212) 555 0199", "+12125550199"),  # trunk 1
    ("FR", "01 23 45 67 89", "+33 1 23 45 67 89", "+33123456789"),
    ("FR", "06 12 34 56 78", "+33 6 12 34 56 78", "+33612345678"),
    ("RU", "8 (495) 123-45-67", "+7 495 123-45-67", "+74951234567"),  # trunk 8 dropped
    ("RU", "8 912 345-67-89", "+7 912 345 67 89", "+79123456789"),
    ("BR", "(11) 91234-5678", "+55 11 91234-5678", "+5511912345678"),
    ("BR", "0 21 2345-6789", "+55 21 2345-6789", "+552123456789"),  # trunk 0 dropped
    ("AU", "(02) 9876 5432", "+61 2 9876 5432", "+61298765432"),
    ("AU", "0412 345 678", "+61 412 345 678", "+61412345678"),
]


@pytest.mark.parametrize(("region", "national", "international", "e164"), EIGHT_COUNTRIES)
def test_a_line_written_nationally_or_internationally_has_one_key(
    region: str, national: str, international: str, e164: str
) -> None:
    secret = b"s" * 32
    read_national = read_number(national, region)
    read_international = read_number(international, region)
    assert read_national.e164 == read_international.e164 == e164
    # An international number reads the same whatever the default region is.
    assert read_number(e164, "JP").e164 == e164
    assert number_key(secret, e164) == number_key(secret, read_national.e164 or "")


def test_the_older_form_split_italian_lines_in_two() -> None:
    # What issue 22 found: the old rule took Italy's 0 for a trunk prefix.
    assert legacy_number_form("06 1234 5678", "39") == "+39612345678"
    assert legacy_number_form("+39 06 1234 5678", "39") == "+390612345678"
    assert read_number("06 1234 5678", "IT").e164 == read_number("+39 06 1234 5678", None).e164


@pytest.mark.parametrize(
    ("written", "region", "reason"),
    [
        ("030 12345678", None, "written without a country code and no default region"),
        ("DHL", "DE", "not a phone number"),
        ("4242", "IT", "too short for a number in IT (+39)"),
        ("+49 30 1", None, "too short for a full number in DE (+49)"),
        ("+1 555 0100", None, "too short for a full number in US (+1)"),
        ("0039 06", "DE", "too short for a number in IT (+39)"),
        ("+999 1234567", None, "country code is not one in use"),
        ("+49 30 1234 5678 9012 3456 78", None, "too long"),
    ],
)
def test_invalid_numbers_have_a_reason(written: str, region: str | None, reason: str) -> None:
    read = read_number(written, region)
    assert read.e164 is None and read.reason is not None
    assert reason in read.reason


@pytest.mark.parametrize("written", [None, "", "null", "-1", "-2", "  "])
def test_withheld_numbers_are_neither_valid_nor_invalid(written: str | None) -> None:
    assert read_number(written, "DE").withheld


@pytest.mark.parametrize(
    ("region", "country_code", "expected"),
    [("it", None, "IT"), ("UK", None, "GB"), (None, "49", "DE"), (None, "+1", "US"),
     (None, "7", "RU"), ("FR", "49", "FR"), (None, None, None)],
)  # fmt: skip
def test_the_region_or_the_older_country_code(
    region: str | None, country_code: str | None, expected: str | None
) -> None:
    assert choose_region(region, country_code) == expected


@pytest.mark.parametrize(("region", "country_code"), [("XX", None), (None, "999"), (None, "4x")])
def test_unknown_regions_get_one_sentence(region: str | None, country_code: str | None) -> None:
    with pytest.raises(InvalidRecordError, match="Unknown"):
        choose_region(region, country_code)


# -- importing -------------------------------------------------------------------------


def test_an_italian_log_keys_each_line_once(empty_db: Database) -> None:
    report = import_phone_log(empty_db, PHONE / "calls_rome.xml", file_name="r.xml", options=ROME)
    # One entry per line, however written: Marco 600 + 60 + 180 s = 840 s = 14 min; Giulia
    # 300 + 120 s = 420 s = 7 min; London 240 s = 4 min.
    assert [(u.number, u.calls, round(u.minutes, 4)) for u in report.unmatched] == [
        ("+393471234567", 3, 14.0),
        ("+390612345678", 2, 7.0),
        ("+442079460018", 1, 4.0),
    ]
    assert [(i.number, i.calls) for i in report.invalid] == [("4242", 1)]
    assert report.left_out == {"not a valid phone number": 1}
    map_number(
        empty_db, LOCAL, "Dr Rossi", "06 1234 5678", "Giulia",
        practice="Studio Roma", time_zone="Europe/Rome", region="IT",
    )  # fmt: skip
    map_number(empty_db, LOCAL, "Dr Rossi", "+39 347 123 4567", "Marco", practice="Studio Roma")
    stored = import_phone_log(empty_db, PHONE / "calls_rome.xml", file_name="r.xml", options=ROME)
    assert (stored.imported, stored.duplicates) == (5, 0)
    with empty_db.cursor() as cursor:
        minutes = dict(
            cursor.execute(
                "SELECT cl.label, sum(c.minutes) FROM contacts AS c "
                "JOIN clients AS cl USING (client_id) GROUP BY 1"
            ).fetchall()
        )
    assert minutes == {"Giulia": 7.0, "Marco": 14.0}


def test_a_russian_log_drops_the_trunk_8(empty_db: Database) -> None:
    map_number(
        empty_db, LOCAL, "Dr Ivanova", "+7 495 123 45 67", "Olga",
        practice="Praxis Ost", time_zone="Europe/Moscow",
    )  # fmt: skip
    report = import_phone_log(empty_db, PHONE / "sms_moscow.xml", file_name="m.xml", options=MOSCOW)
    # Olga's three texts (written 8 (495)..., +7 495..., 8495...) at 2 min each.
    assert (report.imported_texts, report.text_minutes) == (3, 6.0)
    assert [u.number for u in report.unmatched] == ["+79123456789"]


def test_without_a_region_national_numbers_are_listed_not_guessed(empty_db: Database) -> None:
    options = PhoneLogOptions(therapist="Dr Ivanova", practice="Praxis Ost", time_zone="UTC")
    report = import_phone_log(
        empty_db, PHONE / "sms_moscow.xml", file_name="m.xml", options=options
    )
    assert sorted(i.number for i in report.invalid) == ["8 (495) 123-45-67", "84951234567"]
    assert report.region is None
    # Once a default region is stored, the same file reads them.
    set_default_region(empty_db, "ru")
    assert default_region(empty_db) == "RU"
    again = import_phone_log(empty_db, PHONE / "sms_moscow.xml", file_name="m.xml", options=options)
    assert again.invalid == [] and again.region == "RU"
    assert [(u.number, u.texts) for u in again.unmatched] == [
        ("+74951234567", 3),
        ("+79123456789", 1),
    ]


def test_mapping_an_invalid_number_is_refused(empty_db: Database) -> None:
    with pytest.raises(InvalidRecordError, match="4242 is not a valid phone number"):
        map_number(
            empty_db, LOCAL, "Dr Rossi", "4242", "Giulia", practice="Studio Roma",
            time_zone="Europe/Rome", region="IT",
        )  # fmt: skip


# -- mappings made before schema 8 ---------------------------------------------------


def _database_before_version_8(path: Path) -> None:
    """A file at schema 5 with Dr Rossi's mappings as the older code keyed them."""
    secret = load_or_create_secret(path)
    connection = duckdb.connect(str(path))
    migrate(connection.cursor(), tuple(m for m in MIGRATIONS if m.version < 8))
    connection.execute("INSERT INTO practices (name) VALUES ('Studio Roma')")
    connection.execute(
        "INSERT INTO therapists (practice_id, name, time_zone) "
        "VALUES (1, 'Dr Rossi', 'Europe/Rome')"
    )
    for key, label in (("c-giulia", "Giulia"), ("c-marco", "Marco"), ("c-luca", "Luca")):
        connection.execute(
            "INSERT INTO clients (client_key, label, practice_id, therapist_id) "
            "VALUES (?, ?, 1, 1)",
            [key, label],
        )
    # Older keys: Giulia mapped as "06 1234 5678" with country code 39 (→ +39612345678, the
    # split form), Marco as "+39 347 123 4567" (→ +393471234567, already E.164), Luca's
    # number appears in no log.
    for old_form, client_id in (("+39612345678", 1), ("+393471234567", 2), ("+393331112223", 3)):
        connection.execute(
            "INSERT INTO phone_numbers (therapist_id, number_key, number_hint, client_id) "
            "VALUES (1, ?, ?, ?)",
            [number_key(secret, old_form), old_form[-2:], client_id],
        )
    connection.close()


def test_older_mappings_are_marked_and_re_keyed_when_met(tmp_path: Path) -> None:
    path = tmp_path / "contactload.duckdb"
    _database_before_version_8(path)
    db = Database(path)
    assert list(list_mappings(db, LOCAL)["legacy"]) == [True, True, True]
    report = import_phone_log(db, PHONE / "calls_rome.xml", file_name="r.xml", options=ROME)
    # Giulia's older key is found through her national form; Marco's was E.164 already.
    assert report.rekeyed == 2
    # Every one of Giulia's and Marco's calls is stored, both written forms under one client.
    assert report.imported == 5 and [u.number for u in report.unmatched] == ["+442079460018"]
    mappings = list_mappings(db, LOCAL).sort_values("client")
    assert list(zip(mappings["client"], mappings["legacy"], strict=True)) == [
        ("Giulia", False),
        ("Luca", True),
        ("Marco", False),
    ]
    # A re-import finds the new keys and adds nothing.
    again = import_phone_log(db, PHONE / "calls_rome.xml", file_name="r.xml", options=ROME)
    assert (again.rekeyed, again.imported, again.duplicates) == (0, 0, 5)
    db.close()


def test_mapping_again_or_unmapping_replaces_the_older_key(tmp_path: Path) -> None:
    path = tmp_path / "contactload.duckdb"
    _database_before_version_8(path)
    db = Database(path)
    # Giulia's number typed again nationally: the older key goes, the E.164 one comes.
    map_number(db, LOCAL, "Dr Rossi", "06 1234 5678", "Giulia", region="IT")
    mappings = list_mappings(db, LOCAL)
    assert sorted(zip(mappings["client"], mappings["legacy"], strict=True)) == [
        ("Giulia", False),
        ("Luca", True),
        ("Marco", True),
    ]
    assert unmap_number(db, LOCAL, "Dr Rossi", "+39 333 111 2223")  # Luca's older key
    assert sorted(list_mappings(db, LOCAL)["client"]) == ["Giulia", "Marco"]
    db.close()


def test_cli_region_and_legacy_note(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "contactload.duckdb"
    _database_before_version_8(path)
    db = str(path)
    assert cli.main(["phones", "region", "--db", db]) == 0
    assert "No default region" in capsys.readouterr().out
    assert cli.main(["phones", "region", "it", "--db", db]) == 0
    assert capsys.readouterr().out.strip() == "Default region: IT."
    assert cli.main(["phones", "list", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "before v8" in out and "3 mapping(s) marked 'before v8'" in out
    # --country-code 39 still works: it stands for Italy.
    code = cli.main(
        ["import", str(PHONE / "calls_rome.xml"), "--db", db, "--therapist", "Dr Rossi",
         "--practice", "Studio Roma", "--country-code", "39", "--json"]
    )  # fmt: skip
    assert code == 0
    result = json.loads(capsys.readouterr().out)["files"][0]
    assert (result["imported"], result["mappings_rekeyed"], result["region"]) == (5, 2, "IT")
    assert result["invalid_numbers"] == [
        {"number": "4242", "reason": result["invalid_numbers"][0]["reason"], "calls": 1, "texts": 0}
    ]
    assert cli.main(["phones", "list", "--db", db, "--json"]) == 0
    listed = {row["client"]: row["legacy"] for row in json.loads(capsys.readouterr().out)}
    assert listed == {"Giulia": False, "Marco": False, "Luca": True}
    assert cli.main(["phones", "region", "XX", "--db", db]) == 1
    assert "Unknown region 'XX'" in capsys.readouterr().err
