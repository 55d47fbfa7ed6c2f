"""Boundary settings: storing, replacing and deleting with history, validation that stores
nothing, merging overrides over defaults by date, working hours, time zones, policy files,
demo settings and the ``contactload boundaries`` command.

Figures refer to tests/data/fixture_contacts.csv (therapists Dana Reyes in New York, Sam
Okafor in UTC, Jonas Weber in Berlin) and to the hand-written policy files in
tests/data/boundaries/, whose content ``POLICY`` spells out below.
"""

import getpass
import json
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pytest

from analytics.access.scope import LOCAL
from analytics.cli import build_parser, main
from analytics.demo import PRACTICES, demo_boundaries, generate_demo
from analytics.policy import agreements, cells, in_force
from analytics.policy.agreements import BoundarySetting, InvalidBoundaryError, WorkingWeek
from analytics.policy.cells import setting_from_row
from analytics.policy.files import export_settings, load_settings
from analytics.policy.history import change_log
from analytics.policy.in_force import settings_in_force, stored_settings, stored_working_hours
from analytics.policy.words import list_settings, list_working_hours
from analytics.policy.writes import (
    delete_setting,
    delete_working_hours,
    save_setting,
    save_working_hours,
    set_time_zone,
)
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.pseudonyms import secret_path
from tests.conftest import DATA, DEMO_END
from tests.test_cli import assert_one_line_error, assert_usage_error, run

FILES = DATA / "boundaries"
DANA = ("Dana Reyes", "Harbor Counseling")
CHANNELS_BUT_OTHER = ("phone", "email", "text", "portal", "video")
NINE_TO_FIVE = [(time(9), time(17))]

DANA_DEFAULT = BoundarySetting(
    therapist="Dana Reyes",
    practice="Harbor Counseling",
    client=None,
    effective_from=date(2026, 3, 2),
    weekly_cap_minutes=60,
    category_caps={"support": 45},
    allowed_channels=CHANNELS_BUT_OTHER,
    channel_categories={"text": ("scheduling", "reminder")},
    response_target_hours=24,
    response_in_working_hours=True,
    crisis_counts_toward_cap=False,
)

# What tests/data/boundaries/policy.toml and policy.csv both say.
POLICY = [
    DANA_DEFAULT,
    BoundarySetting("Dana Reyes", "Harbor Counseling", "Avery", date(2026, 3, 9),
                    weekly_cap_minutes=30, allowed_channels=("phone", "video")),
    BoundarySetting("Jonas Weber", "Lindenhof Praxis", None, date(2026, 3, 2),
                    weekly_cap_minutes=40.5, response_target_hours=48,
                    response_in_working_hours=False),
    BoundarySetting("Jonas Weber", "Lindenhof Praxis", "Finn", date(2026, 3, 16),
                    channel_categories={}, crisis_counts_toward_cap=True),
]  # fmt: skip
POLICY_HOURS = [
    ("Harbor Counseling", "Dana Reyes",
     WorkingWeek(date(2026, 3, 2), {day: NINE_TO_FIVE for day in range(5)})),
    ("Lindenhof Praxis", "Jonas Weber",
     WorkingWeek(date(2026, 3, 2), {
         0: [(time(8), time(12)), (time(13), time(18))],
         3: [(time(8), time(12)), (time(13), time(18))],
         4: [(time(8), time(13))],
     })),
]  # fmt: skip


# --- helpers -------------------------------------------------------------------------------


def snapshot(db: Database) -> dict[str, Any]:
    """Everything a boundary function could touch, to compare before and after."""
    with db.cursor() as cursor:
        tables = {
            table: sorted(map(repr, cursor.execute(f"SELECT * FROM {table}").fetchall()))
            for table in ("boundaries", "working_hours", "boundary_changes", "therapists", "meta")
        }
        tables["contacts"] = cursor.execute(
            "SELECT count(*), sum(hash(local_started_at, started_at, therapist_id)) FROM contacts"
        ).fetchall()
    return tables


def history(db: Database) -> list[dict[str, Any]]:
    """The change log oldest first, before/after parsed from their JSON text."""
    log = change_log(db, LOCAL).iloc[::-1]
    return [
        {
            "changed_by": row.changed_by,
            "what": row.what,
            "client": row.client,
            "before": None if row.before is None else json.loads(row.before),
            "after": None if row.after is None else json.loads(row.after),
        }
        for row in log.itertuples()
    ]


@pytest.fixture(scope="module")
def fixture_template(fixture_db_path: Path) -> Path:
    """tests/data/fixture_contacts.csv in a closed database file, copied by each test."""
    return fixture_db_path


def copy_of(template: Path, folder: Path) -> Path:
    """A copy of the template database (and its pseudonym secret) in ``folder``."""
    folder.mkdir(parents=True)
    for name in (template.name, secret_path(template).name):
        shutil.copy(template.parent / name, folder / name)
    return folder / template.name


@pytest.fixture
def db(fixture_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A fresh copy of the fixture database for each test (as conftest's ``db``,
    copied rather than re-imported: four times faster across this file's ~90 tests)."""
    database = Database(copy_of(fixture_template, tmp_path / "db"))
    yield database
    database.close()


@pytest.fixture(scope="module")
def policy_template(fixture_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture database with tests/data/boundaries/policy.csv loaded, closed."""
    path = copy_of(fixture_template, tmp_path_factory.mktemp("boundaries-policy") / "db")
    db = Database(path)
    try:
        load_settings(db, FILES / "policy.csv", changed_by="rita")
    finally:
        db.close()
    return path


@pytest.fixture
def policy_db(policy_template: Path, tmp_path: Path) -> Iterator[Database]:
    """A fresh copy of the fixture database holding the policy of ``POLICY``."""
    database = Database(copy_of(policy_template, tmp_path / "policy"))
    yield database
    database.close()


@pytest.fixture
def second_db(fixture_template: Path, tmp_path: Path) -> Iterator[Database]:
    """Another fresh database with the same therapists and clients as ``db``."""
    database = Database(copy_of(fixture_template, tmp_path / "second"))
    yield database
    database.close()


# --- save, replace, delete, history ----------------------------------------------------------


def test_save_stores_the_setting_and_records_who_and_after(db: Database) -> None:
    save_setting(db, DANA_DEFAULT, changed_by="rita")
    assert stored_settings(db, LOCAL) == [DANA_DEFAULT]

    (change,) = history(db)
    assert change["changed_by"] == "rita"
    assert change["what"] == "default from 2026-03-02 added"
    assert change["before"] is None
    assert change["after"] == {
        "practice": "Harbor Counseling",
        "therapist": "Dana Reyes",
        "client": None,
        "effective_from": "2026-03-02",
        "weekly_cap_minutes": 60.0,
        "category_caps": {"support": 45.0},
        "allowed_channels": ["phone", "email", "text", "portal", "video"],
        "channel_categories": {"text": ["scheduling", "reminder"]},
        "response_target_hours": 24.0,
        "response_in_working_hours": True,
        "crisis_counts_toward_cap": False,
    }
    changed_at = change_log(db, LOCAL)["changed_at"].iloc[0]
    assert abs((datetime.now(changed_at.tzinfo) - changed_at).total_seconds()) < 60


def test_frame_lists_one_readable_row_per_setting(db: Database) -> None:
    for setting in POLICY:
        save_setting(db, setting, changed_by="rita")
    frame = list_settings(db, LOCAL)
    assert list(frame.columns) == [
        "practice", "therapist", "client", "effective_from", *agreements.SETTING_FIELDS
    ]  # fmt: skip
    assert len(frame) == 4
    dana = frame.iloc[0].to_dict()
    assert dana["client"] is None
    assert dana["category_caps"] == "support=45"
    assert dana["allowed_channels"] == "phone, email, text, portal, video"
    assert dana["channel_categories"] == "text=scheduling, reminder"
    assert frame.iloc[3]["channel_categories"] == "none"  # Finn: explicitly no restrictions
    assert frame.iloc[1]["channel_categories"] is None  # Avery: inherits
    # An edited row goes back through setting_from_row unchanged.
    assert [setting_from_row(row) for row in frame.to_dict("records")] == POLICY
    assert list(list_settings(db, LOCAL, "Jonas Weber")["client"]) == [None, "Finn"]


def test_same_scope_and_date_replaces_and_records_before_and_after(db: Database) -> None:
    save_setting(db, DANA_DEFAULT, changed_by="rita")
    lower = replace(DANA_DEFAULT, weekly_cap_minutes=45)
    save_setting(db, lower, changed_by="sam")
    avery = BoundarySetting(*DANA, "Avery", date(2026, 3, 2), weekly_cap_minutes=30)
    save_setting(db, avery, changed_by="sam")
    save_setting(db, replace(avery, weekly_cap_minutes=20), changed_by="sam")

    # one default (NULL client ids are distinct to UNIQUE, so this is the module's doing)
    # and one override, each the latest version
    assert stored_settings(db, LOCAL) == [lower, replace(avery, weekly_cap_minutes=20)]
    changes = history(db)
    assert [(c["changed_by"], c["what"], c["client"]) for c in changes] == [
        ("rita", "default from 2026-03-02 added", None),
        ("sam", "default from 2026-03-02 changed", None),
        ("sam", "override from 2026-03-02 added", "Avery"),
        ("sam", "override from 2026-03-02 changed", "Avery"),
    ]
    assert changes[1]["before"]["weekly_cap_minutes"] == 60.0
    assert changes[1]["after"]["weekly_cap_minutes"] == 45.0
    assert changes[3]["before"]["weekly_cap_minutes"] == 30.0
    assert changes[3]["after"]["weekly_cap_minutes"] == 20.0


def test_saving_an_identical_setting_records_nothing(db: Database) -> None:
    save_setting(db, DANA_DEFAULT, changed_by="rita")
    before = snapshot(db)
    # written differently (list order, ints), the same agreement
    same = replace(DANA_DEFAULT, allowed_channels=("video", "text", "portal", "email", "phone"))
    save_setting(db, same, changed_by="sam")
    after = snapshot(db)
    assert {k: v for k, v in after.items() if k != "meta"} == {
        k: v for k, v in before.items() if k != "meta"
    }
    assert len(history(db)) == 1


def test_delete_removes_the_row_and_records_before(db: Database) -> None:
    avery = BoundarySetting(*DANA, "Avery", date(2026, 3, 9), weekly_cap_minutes=30)
    save_setting(db, DANA_DEFAULT, changed_by="rita")
    save_setting(db, avery, changed_by="rita")
    delete_setting(db, "Dana Reyes", "Avery", date(2026, 3, 9), changed_by="sam")
    assert stored_settings(db, LOCAL) == [DANA_DEFAULT]
    last = history(db)[-1]
    assert (last["changed_by"], last["what"], last["after"]) == (
        "sam", "override from 2026-03-09 deleted", None
    )  # fmt: skip
    assert last["before"]["client"] == "Avery"
    assert last["before"]["weekly_cap_minutes"] == 30.0

    delete_setting(db, "Dana Reyes", None, date(2026, 3, 2), changed_by="sam")
    assert stored_settings(db, LOCAL) == []
    assert len(history(db)) == 4


@pytest.mark.parametrize(
    ("client", "day", "message"),
    [
        (None, date(2026, 3, 3), "Dana Reyes has no default from 2026-03-03 to delete."),
        ("Blake", date(2026, 3, 2),
         "Dana Reyes has no override for Blake from 2026-03-02 to delete."),
    ],
)  # fmt: skip
def test_deleting_what_is_not_there_says_so_and_changes_nothing(
    client: str | None, day: date, message: str, db: Database
) -> None:
    save_setting(db, DANA_DEFAULT, changed_by="rita")
    before = snapshot(db)
    with pytest.raises(InvalidBoundaryError) as raised:
        delete_setting(db, "Dana Reyes", client, day, changed_by="sam")
    assert str(raised.value) == message
    assert snapshot(db) == before


# --- validation: the exact sentence, and nothing stored ---------------------------------------

ALL_CHANNELS = "phone, email, text, portal, video, other"
ALL_CATEGORIES = "scheduling, reminder, check_in, support, crisis, homework, other"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"weekly_cap_minutes": -5}, "The weekly cap must be 0 minutes or more, not -5."),
        ({"weekly_cap_minutes": -0.5}, "The weekly cap must be 0 minutes or more, not -0.5."),
        ({"weekly_cap_minutes": float("nan")},
         "The weekly cap must be a finite number of minutes, not nan."),
        ({"weekly_cap_minutes": "lots"}, "The weekly cap must be a number of minutes, not 'lots'."),
        ({"category_caps": {"support": -1}}, "The support cap must be 0 minutes or more, not -1."),
        ({"category_caps": {"chat": 10}},
         f"Unknown category 'chat' in the category caps; use one of {ALL_CATEGORIES}."),
        ({"allowed_channels": ("phone", "sms")},
         f"Unknown channel 'sms' in the allowed channels; use one of {ALL_CHANNELS}."),
        ({"channel_categories": {"sms": ("reminder",)}},
         f"Unknown channel 'sms' in the channel categories; use one of {ALL_CHANNELS}."),
        ({"channel_categories": {"text": ("reminder", "chat")}},
         f"Unknown category 'chat' in what the text channel carries; use one of "
         f"{ALL_CATEGORIES}."),
        ({"response_target_hours": 0}, "The response target must be more than 0 hours, not 0."),
        ({"response_target_hours": -2.5},
         "The response target must be more than 0 hours, not -2.5."),
        ({"response_in_working_hours": "yes"},
         "The response_in_working_hours field must be true or false, not 'yes'."),
        ({"effective_from": date(1999, 12, 31)},
         "The effective date 1999-12-31 is before 2000; check the year."),
        ({"effective_from": date(2100, 1, 1)},
         "The effective date 2100-01-01 is after 2099; check the year."),
        ({"therapist": "Dana Rayes"},
         "There is no therapist called 'Dana Rayes' at Harbor Counseling; check the spelling "
         "or import their contacts first."),
        ({"practice": "Harbour Counselling"},
         "There is no practice called 'Harbour Counselling'; check the spelling or import its "
         "contacts first."),
        ({"client": "Zed"},
         "There is no client called 'Zed' of Dana Reyes at Harbor Counseling; check the spelling."),
        # Drew is Sam Okafor's client in the same practice; Finn is in another practice.
        ({"client": "Drew"},
         "'Drew' is not a client of Dana Reyes at Harbor Counseling; check the therapist."),
        ({"client": "Finn"},
         "There is no client called 'Finn' of Dana Reyes at Harbor Counseling; check the "
         "spelling."),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)  # fmt: skip
def test_invalid_settings_store_nothing_and_say_why(
    changes: dict[str, Any], message: str, db: Database
) -> None:
    save_setting(db, replace(DANA_DEFAULT, effective_from=date(2026, 2, 2)), "rita")
    before = snapshot(db)
    with pytest.raises(InvalidBoundaryError) as raised:
        save_setting(db, replace(DANA_DEFAULT, **changes), changed_by="sam")
    assert str(raised.value) == message
    assert snapshot(db) == before


def test_a_change_needs_someone_to_make_it(db: Database) -> None:
    with pytest.raises(InvalidBoundaryError) as raised:
        save_setting(db, DANA_DEFAULT, changed_by=" ")
    assert str(raised.value) == "A change needs the name of the person making it."
    assert stored_settings(db, LOCAL) == []


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"weekly_cap_minutes": "45"}, {"weekly_cap_minutes": 45.0}),
        ({"weekly_cap_minutes": " 12.5 "}, {"weekly_cap_minutes": 12.5}),
        ({"weekly_cap_minutes": "", "category_caps": None}, {}),
        ({"category_caps": "support=45; homework = 30"},
         {"category_caps": {"support": 45.0, "homework": 30.0}}),
        ({"category_caps": "none"}, {"category_caps": {}}),
        ({"allowed_channels": "text, phone"}, {"allowed_channels": ("phone", "text")}),
        ({"allowed_channels": "None"}, {"allowed_channels": ()}),
        ({"channel_categories": "text=reminder, scheduling; email=none"},
         {"channel_categories": {"email": (), "text": ("scheduling", "reminder")}}),
        ({"response_in_working_hours": "TRUE", "crisis_counts_toward_cap": "no"},
         {"response_in_working_hours": True, "crisis_counts_toward_cap": False}),
        ({"weekly_cap_minutes": "1 hour"},
         "The weekly cap must be a number of minutes, not '1 hour'."),
        ({"category_caps": "support 45"},
         "The category caps must read like support=45; homework=30, not 'support 45'."),
        ({"category_caps": "support=lots"},
         "The support cap must be a number of minutes, not 'lots'."),
        ({"crisis_counts_toward_cap": "maybe"},
         "The crisis_counts_toward_cap field must be true or false, not 'maybe'."),
        ({"effective_from": "02/03/2026"},
         "The effective date must be a date like 2026-03-02, not '02/03/2026'."),
        ({"effective_from": ""}, "A setting needs the date from which it applies."),
    ],
)  # fmt: skip
def test_setting_cells_are_read_or_refused_with_a_reason(
    cells: dict[str, object], expected: dict[str, object] | str
) -> None:
    row: dict[str, object] = {
        "practice": "Harbor Counseling", "therapist": "Dana Reyes", "client": "",
        "effective_from": "2026-03-02", **cells,
    }  # fmt: skip
    if isinstance(expected, str):
        with pytest.raises(InvalidBoundaryError) as raised:
            setting_from_row(row)
        assert str(raised.value) == expected
    else:
        assert setting_from_row(row) == BoundarySetting(*DANA, None, date(2026, 3, 2), **expected)


# --- settings in force: overrides over defaults, by date ---------------------------------------
#
# Dana's defaults: D1 from 03-02 (cap 60, support cap 45, every channel but other, text for
# scheduling and reminders, 24 working hours, crisis not counted) and D2 from 03-16 (cap 45,
# no category caps, target 12 hours, the rest as D1). Avery's overrides: A1 from 03-09
# (cap 30, phone and video only) and A2 from 03-30 (crisis counts; nothing else, so from
# 03-30 every other field is D2's again: overrides replace each other, they do not stack).

D2 = replace(
    DANA_DEFAULT,
    effective_from=date(2026, 3, 16),
    weekly_cap_minutes=45,
    category_caps=None,
    response_target_hours=12,
)
A1 = BoundarySetting(*DANA, "Avery", date(2026, 3, 9), weekly_cap_minutes=30,
                     allowed_channels=("phone", "video"))  # fmt: skip
A2 = BoundarySetting(*DANA, "Avery", date(2026, 3, 30), crisis_counts_toward_cap=True)
TEXT_LOGISTICS = {"text": ("scheduling", "reminder")}


@pytest.mark.parametrize(
    ("client", "day", "expected"),
    [
        # (effective_from, cap, category caps, channels, target hours, crisis counts)
        (None, date(2026, 3, 1), (date(2026, 3, 1), None, None, None, None, None)),
        (None, date(2026, 3, 2), (date(2026, 3, 2), 60, {"support": 45}, CHANNELS_BUT_OTHER,
                                  24, False)),
        (None, date(2026, 3, 15), (date(2026, 3, 2), 60, {"support": 45}, CHANNELS_BUT_OTHER,
                                   24, False)),
        (None, date(2026, 3, 16), (date(2026, 3, 16), 45, None, CHANNELS_BUT_OTHER, 12, False)),
        # before A1: the default alone
        ("Avery", date(2026, 3, 8), (date(2026, 3, 2), 60, {"support": 45}, CHANNELS_BUT_OTHER,
                                     24, False)),
        # A1's cap and channels; the support cap, target and crisis rule inherited from D1
        ("Avery", date(2026, 3, 9), (date(2026, 3, 9), 30, {"support": 45}, ("phone", "video"),
                                     24, False)),
        # the default changed mid-period under A1: target 12 and no category caps from D2
        ("Avery", date(2026, 3, 20), (date(2026, 3, 16), 30, None, ("phone", "video"), 12,
                                      False)),
        # A2 replaces A1: cap 45 and every channel again (D2), crisis counts (A2)
        ("Avery", date(2026, 4, 1), (date(2026, 3, 30), 45, None, CHANNELS_BUT_OTHER, 12, True)),
        # Blake has no override
        ("Blake", date(2026, 3, 20), (date(2026, 3, 16), 45, None, CHANNELS_BUT_OTHER, 12,
                                      False)),
    ],
)  # fmt: skip
def test_settings_in_force_merge_the_override_over_that_days_default(
    client: str | None, day: date, expected: tuple[Any, ...], db: Database
) -> None:
    for setting in (DANA_DEFAULT, D2, A1, A2):
        save_setting(db, setting, changed_by="rita")
    merged = settings_in_force(db, LOCAL, "Dana Reyes", client, day)
    effective_from, cap, caps, channels, target, crisis = expected
    assert (merged.therapist, merged.practice, merged.client) == (*DANA, client)
    assert merged.effective_from == effective_from
    assert merged.weekly_cap_minutes == cap
    assert merged.category_caps == caps
    assert merged.allowed_channels == channels
    assert merged.channel_categories == (None if cap is None else TEXT_LOGISTICS)
    assert merged.response_target_hours == target
    assert merged.response_in_working_hours is (None if cap is None else True)
    assert merged.crisis_counts_toward_cap is crisis


def test_settings_in_force_for_an_unknown_client_says_so(db: Database) -> None:
    with pytest.raises(
        InvalidBoundaryError, match=r"^There is no client called 'Zed' of Dana Reyes"
    ):
        settings_in_force(db, LOCAL, "Dana Reyes", "Zed", date(2026, 3, 2))


# --- working hours ---------------------------------------------------------------------------


def test_working_hours_are_stored_replaced_and_deleted_with_history(
    db: Database,
) -> None:
    week = WorkingWeek(date(2026, 3, 2), {
        0: [(time(13), time(17)), (time(9), time(12))], 4: NINE_TO_FIVE, 5: [],
    })  # fmt: skip
    save_working_hours(db, "Dana Reyes", week, changed_by="rita")
    # split shift sorted, Saturday's empty list is a day off like the days left out
    assert in_force.working_hours_of(db, LOCAL, "Dana Reyes") == [
        WorkingWeek(date(2026, 3, 2), {0: [(time(9), time(12)), (time(13), time(17))],
                                        4: NINE_TO_FIVE})
    ]  # fmt: skip
    frame = list_working_hours(db, LOCAL)
    assert frame.to_dict("records") == [{
        "practice": "Harbor Counseling", "therapist": "Dana Reyes",
        "effective_from": date(2026, 3, 2), "mon": "09:00-12:00, 13:00-17:00", "tue": "",
        "wed": "", "thu": "", "fri": "09:00-17:00", "sat": "", "sun": "",
    }]  # fmt: skip

    longer = WorkingWeek(date(2026, 3, 2), {day: [(time(8), time(18))] for day in range(5)})
    save_working_hours(db, "Dana Reyes", longer, changed_by="sam")
    later = WorkingWeek(date(2026, 3, 23), {day: NINE_TO_FIVE for day in range(4)})
    save_working_hours(db, "Dana Reyes", later, changed_by="sam")
    assert in_force.working_hours_of(db, LOCAL, "Dana Reyes") == [longer, later]
    assert in_force.working_hours_in_force(db, LOCAL, "Dana Reyes", date(2026, 3, 22)) == longer
    assert in_force.working_hours_in_force(db, LOCAL, "Dana Reyes", date(2026, 3, 23)) == later
    assert in_force.working_hours_in_force(db, LOCAL, "Dana Reyes", date(2026, 3, 1)) is None

    delete_working_hours(db, "Dana Reyes", date(2026, 3, 23), changed_by="sam")
    assert in_force.working_hours_of(db, LOCAL, "Dana Reyes") == [longer]
    changes = history(db)
    assert [(c["changed_by"], c["what"]) for c in changes] == [
        ("rita", "working hours from 2026-03-02 added"),
        ("sam", "working hours from 2026-03-02 changed"),
        ("sam", "working hours from 2026-03-23 added"),
        ("sam", "working hours from 2026-03-23 deleted"),
    ]
    assert changes[1]["before"]["mon"] == ["09:00-12:00", "13:00-17:00"]
    assert changes[1]["before"].get("tue") is None
    assert changes[1]["after"]["tue"] == ["08:00-18:00"]


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ({1: [(time(17), time(9))]},
         "Tuesday's hours 17:00-09:00 end before they start; enter an end after the start."),
        ({2: [(time(9), time(9))]},
         "Wednesday's hours 09:00-09:00 end when they start; enter an end after the start."),
        ({0: [(time(9), time(13)), (time(12), time(17))]},
         "Monday's hours 09:00-13:00 and 12:00-17:00 overlap; merge them or end one before "
         "the other starts."),
        ({7: NINE_TO_FIVE}, "Weekday 7 does not exist; use 0 (Monday) to 6 (Sunday)."),
        ({}, "The working hours from 2026-03-02 give no hours on any day; enter at least one "
             "day's hours, or delete the entry."),
        ({6: [("09:00", "17:00")]},
         "Sunday's hours must be pairs of times like 09:00-17:00, not '('09:00', '17:00')'."),
    ],
)  # fmt: skip
def test_invalid_working_hours_store_nothing_and_say_why(
    days: dict[int, list[Any]], message: str, db: Database
) -> None:
    save_working_hours(db, "Dana Reyes", WorkingWeek(date(2026, 3, 2), {0: NINE_TO_FIVE}), "rita")
    before = snapshot(db)
    with pytest.raises(InvalidBoundaryError) as raised:
        save_working_hours(db, "Dana Reyes", WorkingWeek(date(2026, 3, 2), days), "sam")
    assert str(raised.value) == message
    assert snapshot(db) == before


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("09:00-17:00", [(time(9), time(17))]),
        ("9:00 - 12:30, 13:15-17:00:30",
         [(time(9), time(12, 30)), (time(13, 15), time(17, 0, 30))]),
        ("08:00–12:00; 13:00–18:00", [(time(8), time(12)), (time(13), time(18))]),
        (["08:00-12:00", "13:00-18:00"], [(time(8), time(12)), (time(13), time(18))]),
        ("", []),
        ("9am-5pm", "Monday's hours must read like 09:00-17:00, not '9am-5pm'."),
        ("09:00", "Monday's hours must read like 09:00-17:00, not '09:00'."),
        ("09:00-24:00", "Monday's hours must read like 09:00-17:00, not '09:00-24:00'."),
    ],
)  # fmt: skip
def test_day_hours_text_is_read_or_refused(
    text: str | list[str], expected: list[tuple[time, time]] | str
) -> None:
    if isinstance(expected, str):
        with pytest.raises(InvalidBoundaryError) as raised:
            cells.parse_day_hours(text, 0)
        assert str(raised.value) == expected
    else:
        assert cells.parse_day_hours(text, 0) == expected


# --- time zones ------------------------------------------------------------------------------


def local_start(db: Database, utc: str) -> datetime:
    with db.cursor() as cursor:
        row = cursor.execute(
            "SELECT local_started_at FROM contacts WHERE started_at = CAST(? AS TIMESTAMPTZ)",
            [utc],
        ).fetchone()
    assert row is not None
    return row[0]


def test_set_time_zone_recomputes_local_times_of_that_therapist(db: Database) -> None:
    # #1 2026-03-02T08:00-05:00 (13:00Z), #5 2026-03-11T17:59-04:00 (21:59Z), Dana's;
    # #12 Sam's 2026-03-03T09:00Z.
    assert local_start(db, "2026-03-02 13:00:00+00") == datetime(2026, 3, 2, 8, 0)
    updated = set_time_zone(db, "Dana Reyes", "america/los_angeles", changed_by="rita")
    assert updated == 11  # Dana's contacts
    # Los Angeles is UTC-8 on 2 March and UTC-7 (PDT, from 8 March) on 11 March
    assert local_start(db, "2026-03-02 13:00:00+00") == datetime(2026, 3, 2, 5, 0)
    assert local_start(db, "2026-03-11 21:59:00+00") == datetime(2026, 3, 11, 14, 59)
    assert local_start(db, "2026-03-03 09:00:00+00") == datetime(2026, 3, 3, 9, 0)
    with db.cursor() as cursor:
        zones = dict(cursor.execute("SELECT name, time_zone FROM therapists").fetchall())
    assert zones == {
        "Dana Reyes": "America/Los_Angeles", "Sam Okafor": "Etc/UTC",
        "Jonas Weber": "Europe/Berlin",
    }  # fmt: skip
    (change,) = history(db)
    assert change["what"] == "time zone changed"
    assert change["before"]["time_zone"] == "America/New_York"
    assert change["after"]["time_zone"] == "America/Los_Angeles"


def test_an_unknown_time_zone_changes_nothing(db: Database) -> None:
    before = snapshot(db)
    with pytest.raises(InvalidBoundaryError) as raised:
        set_time_zone(db, "Dana Reyes", "Mars/Olympus_Mons", changed_by="rita")
    assert str(raised.value) == (
        "Unknown time zone 'Mars/Olympus_Mons'; use an IANA name such as America/New_York "
        "or Europe/Berlin."
    )
    assert snapshot(db) == before


# --- files -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["policy.toml", "policy.csv"])
def test_policy_files_load_what_they_say(name: str, db: Database) -> None:
    assert load_settings(db, FILES / name, changed_by="rita") == 6
    assert stored_settings(db, LOCAL) == POLICY
    assert stored_working_hours(db, LOCAL) == POLICY_HOURS
    assert len(history(db)) == 6
    # loading the same file again changes nothing
    load_settings(db, FILES / name, changed_by="sam")
    assert len(history(db)) == 6


@pytest.mark.parametrize("suffix", [".toml", ".csv"])
def test_export_then_load_into_a_fresh_database_gives_the_same_settings(
    suffix: str, policy_db: Database, second_db: Database, tmp_path: Path
) -> None:
    db = policy_db
    # awkward names and values survive too
    odd = BoundarySetting("Sam Okafor", "Harbor Counseling", "Drew", date(2026, 3, 3),
                          weekly_cap_minutes=0, category_caps={}, allowed_channels=(),
                          channel_categories={"text": (), "email": ("homework",)},
                          response_target_hours=0.25)  # fmt: skip
    save_setting(db, odd, changed_by="rita")
    path = tmp_path / f"exported{suffix}"
    assert export_settings(db, LOCAL, path) == 7
    assert load_settings(second_db, path, changed_by="rita") == 7
    assert stored_settings(second_db, LOCAL) == stored_settings(db, LOCAL)
    assert stored_working_hours(second_db, LOCAL) == stored_working_hours(db, LOCAL)


def test_exported_toml_reads_like_the_documented_format(db: Database, tmp_path: Path) -> None:
    avery = BoundarySetting(*DANA, "Avery", date(2026, 3, 9), weekly_cap_minutes=30,
                            channel_categories={})  # fmt: skip
    save_setting(db, avery, changed_by="rita")
    friday = WorkingWeek(date(2026, 3, 2), {4: [(time(8), time(13))]})
    save_working_hours(db, "Jonas Weber", friday, changed_by="rita")
    export_settings(db, LOCAL, tmp_path / "policy.toml")
    text = (tmp_path / "policy.toml").read_text(encoding="utf-8")
    assert text.split("\n\n")[1:] == [
        '[[setting]]\npractice = "Harbor Counseling"\ntherapist = "Dana Reyes"\n'
        'client = "Avery"\neffective_from = 2026-03-09\nweekly_cap_minutes = 30\n'
        "channel_categories = {}",
        '[[working_hours]]\npractice = "Lindenhof Praxis"\ntherapist = "Jonas Weber"\n'
        'effective_from = 2026-03-02\nfri = ["08:00-13:00"]\n',
    ]


BAD_FILES = {
    "bad_duplicate.csv": "Rows 2 and 4 of bad_duplicate.csv both give Sam Okafor's default "
    "from 2026-04-06; keep one.",
    "bad_end_before_start.csv": "Row 2 of bad_end_before_start.csv: Tuesday's hours "
    "17:00-09:00 end before they start; enter an end after the start.",
    "bad_far_past.toml": "Setting 1 in bad_far_past.toml: The effective date 0226-04-06 is "
    "before 2000; check the year.",
    "bad_negative_cap.csv": "Row 3 of bad_negative_cap.csv: The weekly cap must be 0 minutes "
    "or more, not -10.",
    "bad_response_target.csv": "Row 2 of bad_response_target.csv: The response target must be "
    "more than 0 hours, not 0.",
    "bad_syntax.toml": "bad_syntax.toml is not valid TOML (Illegal character '\\n' (at line 2, "
    "column 29)).",
    "bad_time_text.toml": "Working hours entry 1 in bad_time_text.toml: Wednesday's hours must "
    "read like 09:00-17:00, not '9am-5pm'.",
    "bad_unknown_channel.toml": "Setting 1 in bad_unknown_channel.toml: Unknown channel 'sms' "
    f"in the allowed channels; use one of {ALL_CHANNELS}.",
    # only the database knows Zed is not Dana's client: setting 1 is rolled back
    "bad_unknown_client.toml": "Setting 2 in bad_unknown_client.toml: There is no client "
    "called 'Zed' of Dana Reyes at Harbor Counseling; check the spelling.",
    "bad_unknown_column.csv": "bad_unknown_column.csv has an unknown column 'cap'; the columns "
    f"are {', '.join(agreements.CSV_COLUMNS)}.",
    "bad_unknown_field.toml": "Setting 1 in bad_unknown_field.toml: Unknown field 'weekly_cap'; "
    "use practice, therapist, client, effective_from, "
    f"{', '.join(agreements.SETTING_FIELDS)}.",
    "bad_unknown_therapist.csv": "Row 3 of bad_unknown_therapist.csv: There is no "
    "therapist called 'Dana Rayes' at Harbor Counseling; check the spelling or import their "
    "contacts first.",
}


def test_every_bad_file_has_an_expected_message() -> None:
    assert sorted(path.name for path in FILES.glob("bad_*")) == sorted(BAD_FILES)


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_stores_nothing_and_names_the_place(name: str, policy_db: Database) -> None:
    before = snapshot(policy_db)
    with pytest.raises(InvalidBoundaryError) as raised:
        load_settings(policy_db, FILES / name, changed_by="sam")
    assert str(raised.value) == BAD_FILES[name]
    assert snapshot(policy_db) == before


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("policy.json", "policy.json is neither a .toml nor a .csv file; boundary settings are "
                        "exchanged as TOML or CSV."),
        ("missing.csv", "{path} does not exist or is not a file."),
    ],
)  # fmt: skip
def test_unusable_paths_say_why(name: str, message: str, db: Database, tmp_path: Path) -> None:
    (tmp_path / "policy.json").write_text("{}")
    with pytest.raises(agreements.BoundaryFileError) as raised:
        load_settings(db, tmp_path / name, changed_by="rita")
    assert str(raised.value) == message.format(path=tmp_path / name)


# --- demo ------------------------------------------------------------------------------------


def test_demo_boundaries_give_every_demo_therapist_a_policy(tmp_path: Path) -> None:
    db = Database(tmp_path / "contactload.duckdb")
    try:
        generate_demo(db, contacts=2000, end=DEMO_END)
        with db.cursor() as cursor:
            contacts_before = snapshot(db)["contacts"]
            clients_before = cursor.execute("SELECT count(*) FROM clients").fetchall()
        stored = demo_boundaries(db)

        settings = stored_settings(db, LOCAL)
        hours = stored_working_hours(db, LOCAL)
        assert stored == len(settings) + len(hours)
        therapists = {
            (practice, name) for practice, staff in PRACTICES.items() for name, _ in staff
        }
        assert {(s.practice, s.therapist) for s in settings if s.client is None} == therapists
        assert {(practice, therapist) for practice, therapist, _ in hours} == therapists
        for setting in settings:
            if setting.client is None:
                assert setting.weekly_cap_minutes is not None
                assert 60 <= setting.weekly_cap_minutes <= 120
                assert setting.channel_categories == TEXT_LOGISTICS
                assert setting.crisis_counts_toward_cap is False
        overrides = [s for s in settings if s.client is not None]
        assert len(overrides) >= 3
        caps_per_client: dict[tuple[str, str | None], list[float | None]] = {}
        for override in overrides:
            caps_per_client.setdefault((override.therapist, override.client), []).append(
                override.weekly_cap_minutes
            )
        # at least one client's cap changes mid-year
        assert any(len(set(caps)) > 1 for caps in caps_per_client.values())

        # only boundary tables were touched
        assert snapshot(db)["contacts"] == contacts_before
        with db.cursor() as cursor:
            assert cursor.execute("SELECT count(*) FROM clients").fetchall() == clients_before
            # a first run has something to show: client weeks over the default cap
            over = cursor.execute(
                """
                WITH weekly AS (
                    SELECT therapist_id, client_id, date_trunc('week', local_started_at) AS week,
                           sum(minutes) FILTER (WHERE category <> 'crisis') AS minutes
                    FROM contacts GROUP BY ALL
                )
                SELECT count(*) FROM weekly AS w JOIN boundaries AS b
                    ON b.therapist_id = w.therapist_id AND b.client_id IS NULL
                WHERE w.minutes > b.weekly_cap_minutes
                """
            ).fetchone()
        assert over is not None and over[0] > 0

        # running it again changes nothing
        changes = len(change_log(db, LOCAL, limit=10_000))
        demo_boundaries(db)
        assert len(change_log(db, LOCAL, limit=10_000)) == changes
    finally:
        db.close()


def test_demo_boundaries_touch_only_demo_therapists(db: Database) -> None:
    # Of the fixture's therapists only Jonas Weber of Lindenhof Praxis is also a demo name.
    before = snapshot(db)
    demo_boundaries(db)
    assert {setting.therapist for setting in stored_settings(db, LOCAL)} == {"Jonas Weber"}
    assert {therapist for _, therapist, _ in stored_working_hours(db, LOCAL)} == {"Jonas Weber"}
    after = snapshot(db)
    assert after["contacts"] == before["contacts"]
    assert after["therapists"] == before["therapists"]


def test_demo_boundaries_on_a_database_without_demo_therapists_do_nothing(
    empty_db: Database,
) -> None:
    before = snapshot(empty_db)
    assert demo_boundaries(empty_db) == 0
    assert snapshot(empty_db) == before


# --- command line ----------------------------------------------------------------------------


@pytest.fixture
def fixture_file(fixture_template: Path, tmp_path: Path) -> Path:
    """A closed copy of the fixture database the CLI process can open."""
    return copy_of(fixture_template, tmp_path / "cli")


def test_cli_loads_shows_and_exports(
    fixture_file: Path, fixture_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run("boundaries", "load", FILES / "policy.toml", "--db", fixture_file, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"Loaded 6 boundary entries from {FILES / 'policy.toml'}."

    result = run("boundaries", "show", "--db", fixture_file, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Dana Reyes (Harbor Counseling)",
        "  default from 2026-03-02: 60 min a week; category caps support 45 min; channels "
        "phone, email, text, portal, video; text carries scheduling, reminder; replies within "
        "24 working hours; crisis not counted toward caps",
        "  Avery from 2026-03-09: 30 min a week; channels phone, video",
        "  working hours from 2026-03-02: Mon-Fri 09:00-17:00",
        "Jonas Weber (Lindenhof Praxis)",
        "  default from 2026-03-02: 40.5 min a week; replies within 48 calendar hours",
        "  Finn from 2026-03-16: any channel carries any category; crisis counts toward caps",
        "  working hours from 2026-03-02: Mon 08:00-12:00, 13:00-18:00; "
        "Thu 08:00-12:00, 13:00-18:00; Fri 08:00-13:00",
    ]

    # in-process from here on: the same entry point without another process start
    assert main(["boundaries", "export", str(tmp_path / "out.csv"), "--db", str(fixture_file)]) == 0
    assert capsys.readouterr().out == f"Exported 6 boundary entries to {tmp_path / 'out.csv'}.\n"

    db = Database(fixture_file)
    try:
        assert set(change_log(db, LOCAL)["changed_by"]) == {getpass.getuser()}
        # The audit log names the OS account for the load (6 new entries) and the export,
        # after the fixture's own import (25 contacts, stored in local mode).
        logged = audit.entries(db, LOCAL)
        assert list(zip(logged["identity"], logged["action"], logged["detail"], strict=True)) == [
            (getpass.getuser(), "export", "6 boundary entries to out.csv"),
            (
                getpass.getuser(),
                "boundary_edit",
                "6 of 6 entries loaded from policy.toml for Dana Reyes at Harbor Counseling; "
                "Jonas Weber at Lindenhof Praxis",
            ),
            ("local", "import", "fixture_contacts.csv: batch 1, 25 rows stored"),
        ]
        fresh = Database(copy_of(fixture_template, tmp_path / "fresh"))
        load_settings(fresh, tmp_path / "out.csv", changed_by="rita")
        assert stored_settings(fresh, LOCAL) == stored_settings(db, LOCAL) == POLICY
        fresh.close()
    finally:
        db.close()


def test_cli_errors_are_one_sentence_and_store_nothing(
    fixture_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run("boundaries", "load", FILES / "bad_unknown_client.toml", "--db", fixture_file,
                 cwd=tmp_path)  # fmt: skip
    line = assert_one_line_error(result)
    assert line == f"contactload: {BAD_FILES['bad_unknown_client.toml']}"

    assert main(["boundaries", "show", "--therapist", "Nobody", "--db", str(fixture_file)]) == 1
    assert capsys.readouterr().err == (
        "contactload: There is no therapist called 'Nobody'; check the spelling or import "
        "their contacts first.\n"
    )

    db = Database(fixture_file)
    try:
        assert stored_settings(db, LOCAL) == []
        assert change_log(db, LOCAL).empty
    finally:
        db.close()


def test_cli_without_an_action_exits_2(tmp_path: Path) -> None:
    assert_usage_error(run("boundaries", cwd=tmp_path))


@pytest.mark.parametrize(
    "args",
    [["boundaries", "load"], ["boundaries", "frobnicate"],
     ["boundaries", "export", "a.toml", "b.toml"], ["boundaries", "show", "--therapist"]],
    ids=" ".join,
)  # fmt: skip
def test_cli_argument_mistakes_are_usage_errors(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    # the same parser as the subprocess above, without a process per case
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args(args)
    assert raised.value.code == 2
    assert "usage: contactload" in capsys.readouterr().err
