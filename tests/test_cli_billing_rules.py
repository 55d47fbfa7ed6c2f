"""``contactload billing rules show|load|export``: the rule table and fee schedule as a file.

Expected values come from DOMAIN.md's codes as migration 5 stores them: online 98970 5-10,
98971 11-20, 98972 21+ minutes (portal, 7-day window, 7 days before; the online rows were
later given 168 hours after, a visit within the period); telephone 98966 5-10, 98967
11-20, 98968 21-30 (phone, each call, 7 days before, 24 hours after); all client-initiated,
counting check-ins, support, crisis and homework. No fees until a practice enters them.
"""

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from analytics.access.scope import LOCAL
from analytics.cli import main
from analytics.policy import billing_rules
from analytics.storage.database import Database

COUNTING = ["check_in", "support", "crisis", "homework"]
NEVER = ["scheduling", "reminder", "other"]


def cli(*args: str | Path) -> int:
    return main([str(arg) for arg in args])


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A new database with the default rules and two fees entered."""
    path = tmp_path / "db" / "contactload.duckdb"
    path.parent.mkdir()
    db = Database(path)
    try:
        fees = billing_rules.fee_schedule(db, LOCAL)
        fees.loc[fees["code"] == "98970", ["fee", "currency"]] = [15.5, "USD"]
        fees.loc[fees["code"] == "98967", ["fee", "currency"]] = [40.0, "USD"]
        billing_rules.save_fees(db, LOCAL, fees)
    finally:
        db.close()
    return path


def stored(path: Path) -> tuple[list[dict[str, Any]], list[tuple[Any, ...]], int]:
    """Rules, fees and the number of audit entries, read straight from the file."""
    db = Database(path)
    try:
        rules = db.frame("SELECT * FROM billing_rules ORDER BY code", []).to_dict("records")
        fees = [tuple(row) for row in db.frame("SELECT * FROM billing_fees ORDER BY code", [])
                .itertuples(index=False)]  # fmt: skip
        (entries,) = db.row("SELECT count(*) FROM audit_log", [])
    finally:
        db.close()
    for rule in rules:
        for field in ("channels", "counting_categories", "excluded_categories"):
            rule[field] = list(rule[field])
        for field in ("max_minutes", "window_days"):
            rule[field] = None if rule[field] != rule[field] else rule[field]
    return rules, fees, int(entries)


def test_show_lists_every_code_with_its_fee(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert cli("billing", "rules", "show", "--json", "--db", db_path) == 0
    rules = json.loads(capsys.readouterr().out)
    online = {"family": "online", "channels": ["portal"], "direction": "client",
              "counting_categories": COUNTING, "excluded_categories": NEVER, "window_days": 7,
              "prior_session_days": 7, "session_after_hours": 168, "active": True}  # fmt: skip
    phone = {**online, "family": "telephone", "channels": ["phone"], "window_days": None,
             "session_after_hours": 24}  # fmt: skip
    assert rules == [
        {"code": "98970", **online, "description": "Online digital assessment, 5-10 min",
         "min_minutes": 5.0, "max_minutes": 10.0, "fee": 15.5, "currency": "USD"},
        {"code": "98971", **online, "description": "Online digital assessment, 11-20 min",
         "min_minutes": 11.0, "max_minutes": 20.0, "fee": None, "currency": None},
        {"code": "98972", **online, "description": "Online digital assessment, 21+ min",
         "min_minutes": 21.0, "max_minutes": None, "fee": None, "currency": None},
        {"code": "98966", **phone, "description": "Telephone assessment, 5-10 min",
         "min_minutes": 5.0, "max_minutes": 10.0, "fee": None, "currency": None},
        {"code": "98967", **phone, "description": "Telephone assessment, 11-20 min",
         "min_minutes": 11.0, "max_minutes": 20.0, "fee": 40.0, "currency": "USD"},
        {"code": "98968", **phone, "description": "Telephone assessment, 21-30 min",
         "min_minutes": 21.0, "max_minutes": 30.0, "fee": None, "currency": None},
    ]  # fmt: skip
    assert list(rules[0])[:2] == ["code", "family"]
    assert cli("billing", "rules", "show", "--db", db_path) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["code", "kind", "band"]
    assert table[1].split()[:3] == ["98970", "online", "5-10"]
    assert table[1].split()[-2:] == ["15.50", "USD"]
    assert table[3].split()[2] == "21+"
    assert "each call" in table[4]


@pytest.mark.parametrize("kind", ["toml", "csv"])
def test_export_then_load_gives_back_the_same_rules_and_fees(
    kind: str, db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Change a rule first, so the round trip carries more than the defaults.
    db = Database(db_path)
    try:
        rules = billing_rules.billing_rules(db, LOCAL, as_text=True)
        online = rules["family"] == "online"
        rules.loc[online, "channels"] = "portal, email"
        rules.loc[rules["code"] == "98968", "description"] = 'Call, "long" 21-30 min'
        billing_rules.save_rules(db, LOCAL, rules)
    finally:
        db.close()
    before = stored(db_path)
    exported = tmp_path / f"rules.{kind}"
    assert cli("billing", "rules", "export", exported, "--db", db_path) == 0
    assert capsys.readouterr().out == f"Exported 6 billing rules and their fees to {exported}.\n"

    other = tmp_path / "other" / "contactload.duckdb"
    assert cli("billing", "rules", "load", exported, "--db", other) == 0
    assert capsys.readouterr().out == f"Loaded 6 billing rules and 2 fees from {exported}.\n"
    rules_after, fees_after, _ = stored(other)
    assert (rules_after, fees_after) == before[:2]
    assert [rule["channels"] for rule in rules_after if rule["family"] == "online"] == [
        ["portal", "email"]
    ] * 3
    assert fees_after == [("98967", 40.0, "USD"), ("98970", 15.5, "USD")]
    again = tmp_path / f"again.{kind}"
    assert cli("billing", "rules", "export", again, "--db", other) == 0
    assert again.read_bytes() == exported.read_bytes()


def test_load_is_audited_and_export_too(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exported = tmp_path / "rules.toml"
    assert cli("billing", "rules", "export", exported, "--db", db_path) == 0
    text = exported.read_text().replace("window_days = 7", "window_days = 10")
    exported.write_text(text.replace("fee = 40\n", "fee = 42.25\n"))
    assert cli("billing", "rules", "load", exported, "--db", db_path) == 0
    capsys.readouterr()
    assert cli("audit", "--limit", "3", "--json", "--db", db_path) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [(entry["action"], entry["detail"]) for entry in entries] == [
        ("settings", "billing fees: 98970 15.5 USD, 98967 42.25 USD"),  # the file's order
        ("settings", "billing rules: 98970 5-10, 98971 11-20, 98972 21-, 98966 5-10, "
         "98967 11-20, 98968 21-30"),
        ("export", "6 billing rules and their fees to rules.toml"),
    ]  # fmt: skip
    rules, fees, _ = stored(db_path)
    assert {rule["window_days"] for rule in rules if rule["family"] == "online"} == {10}
    assert ("98967", 42.25, "USD") in fees


HEADER = (
    "code,family,description,channels,direction,counting_categories,excluded_categories,"
    "min_minutes,max_minutes,window_days,prior_session_days,session_after_hours,active,fee,"
    "currency\n"
)
ROW_70 = '98970,online,a,portal,client,"check_in, support, crisis, homework",' \
    '"scheduling, reminder, other",5,10,7,7,168,true,15.5,USD\n'  # fmt: skip
ROW_71 = '98971,online,b,portal,client,"check_in, support, crisis, homework",' \
    '"scheduling, reminder, other",11,,7,7,168,true,,\n'  # fmt: skip


@pytest.mark.parametrize(
    ("name", "text", "sentence"),
    [
        ("rules.csv", HEADER + ROW_70 + ROW_71.replace("portal", "fax"),
         "Row 3 of rules.csv: Code 98971: channels must name one or more of phone, email, "
         "text, portal, video, other (fax is not one)."),
        ("rules.csv", HEADER + ROW_70.replace("true", "maybe") + ROW_71,
         "Row 2 of rules.csv: active must be true or false, not 'maybe'."),
        ("rules.csv", HEADER + ROW_70.replace(",5,10,", ",five,10,") + ROW_71,
         "Row 2 of rules.csv: Code 98970: the band's lowest minute 'five' is not a number."),
        ("rules.csv", HEADER + ROW_70.replace("USD", "US") + ROW_71,
         "Row 2 of rules.csv: The fee of 98970 needs a three-letter currency code such as "
         "USD, not 'US'."),
        ("rules.csv", HEADER + ROW_70 + ROW_71.replace(",,\n", ",3,EUR\n"),
         "rules.csv: Enter every fee in one currency so totals add up (found EUR, USD)."),
        ("rules.csv", HEADER + ROW_70 + ROW_71.replace(",11,", ",12,"),
         "rules.csv: The bands of 98970 and 98971 must follow on whole minutes (98971 should "
         "start at 11 min)."),
        ("rules.csv", HEADER + ROW_70 + ROW_70,
         "rules.csv: Code 98970 appears more than once."),
        ("rules.csv", HEADER.replace(",currency", ",currency,notes") + ROW_70,
         "The header of rules.csv must name the columns code, family, description, channels, "
         "direction, counting_categories, excluded_categories, min_minutes, max_minutes, "
         "window_days, prior_session_days, session_after_hours, active, fee, currency "
         "(unknown: notes)."),
        ("rules.csv", HEADER + ROW_70.replace(",USD", ""),
         "Row 2 of rules.csv has 14 cells where the header names 15."),
        ("rules.csv", HEADER, "rules.csv holds no billing rule; nothing was changed (every "
         "code needs a row)."),
        ("rules.toml", '[[rule]]\ncode = "98970"\ncolour = "red"\n',
         "Rule 1 in rules.toml: unknown field colour; the fields are code, family, "
         "description, channels, direction, counting_categories, excluded_categories, "
         "min_minutes, max_minutes, window_days, prior_session_days, session_after_hours, "
         "active, fee, currency."),
        ("rules.toml", "[[rule]\n", None),
        ("rules.toml", '[setting]\nx = 1\n',
         "rules.toml may hold only [[rule]] tables, one per code (found setting)."),
        ("rules.json", "{}", "rules.json is neither a .toml nor a .csv file; billing rules "
         "are exchanged as TOML or CSV."),
    ],
)  # fmt: skip
def test_a_bad_file_changes_nothing_and_says_where_in_one_sentence(
    name: str,
    text: str,
    sentence: str | None,
    db_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = stored(db_path)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert cli("billing", "rules", "load", path, "--db", db_path) == 1
    captured = capsys.readouterr()
    (line,) = captured.err.splitlines()
    if sentence is None:
        assert line.startswith(f"contactload: {name} is not valid TOML (")
    else:
        assert line == f"contactload: {sentence}"
    assert captured.out == ""
    assert stored(db_path) == before  # rules, fees and the audit log as they were


def test_a_bad_file_creates_no_database(tmp_path: Path) -> None:
    path = tmp_path / "rules.csv"
    path.write_text(HEADER + ROW_70.replace("true", "maybe"), encoding="utf-8")
    assert cli("billing", "rules", "load", path, "--db", tmp_path / "db" / "new.duckdb") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rules.csv"]


def test_billing_still_lists_episodes_beside_the_rules(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copy(db_path, copy)
    capsys.readouterr()
    assert cli("billing", "--json", "--db", copy) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert cli("billing", "--db", copy, "rules", "show", "--json") == 0
    assert len(json.loads(capsys.readouterr().out)) == 6
