"""Words a therapist reads: plurals, one number format per unit, tables and downloads with
stored codes and column names in words, and the pages that show them (AppTest)."""

import ast
import html
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from analytics.access.filters import ContactFilter
from analytics.access.scope import LOCAL
from analytics.domain import CATEGORY_LABELS, CHANNEL_LABELS
from analytics.importing.classify import list_rules
from analytics.output import report, wording
from analytics.output.exports import table_to_csv
from analytics.policy import billing_rules
from analytics.storage.database import Database
from analytics.storage.sql import execute, query
from tests.test_browser_words import internal_words
from tests.test_pages import metric_values, run_app
from ui import format as ui_format
from ui.format import per_session_text, weeks_over_text


@pytest.mark.parametrize(
    ("count", "noun", "nouns", "expected"),
    [
        (0, "client", None, "0 clients"),
        (1, "client", None, "1 client"),
        (2, "client", None, "2 clients"),
        (12000, "contact", None, "12,000 contacts"),
        (1, "entry", "entries", "1 entry"),
        (3, "entry", "entries", "3 entries"),
        (1.5, "hour", None, "1.5 hours"),
    ],
)
def test_plural(count: float, noun: str, nouns: str | None, expected: str) -> None:
    assert wording.plural(count, noun, nouns) == expected


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (0, "0 min"),
        (42, "42 min"),
        (7.5, "7.5 min"),
        (60, "60 min (1.0 h)"),
        (1234, "1,234 min (20.6 h)"),  # 1234 / 60 = 20.566...
        (109_340, "109,340 min (1,822.3 h)"),
        (None, "–"),
        (float("nan"), "–"),
    ],
)
def test_minutes_have_thousands_separators_and_hours_one_decimal(
    minutes: float | None, expected: str
) -> None:
    assert wording.minutes_text(minutes) == expected


@pytest.mark.parametrize(
    ("hours", "expected"),
    [(20.566, "20.6 h"), (1822.3, "1,822.3 h"), (0, "0.0 h"), (None, "–"), (pd.NA, "–")],
)
def test_hours_have_one_decimal(hours: float | None, expected: str) -> None:
    assert wording.hours_text(hours) == expected


@pytest.mark.parametrize(
    ("share", "expected"), [(0.2345, "23.4 %"), (1, "100.0 %"), (None, "–"), (float("nan"), "–")]
)
def test_shares(share: float | None, expected: str) -> None:
    assert wording.share_text(share) == expected


def test_the_dashboard_and_the_report_format_with_the_same_functions() -> None:
    """One formatting module: the page helpers and the report's are the same objects."""
    for name in ("minutes_text", "hours_text", "share_text"):
        assert getattr(ui_format, name) is getattr(wording, name)
        assert getattr(report, name) is getattr(wording, name)


def test_table_column_formats_have_thousands_separators() -> None:
    # sprintf-js (Streamlit's column formats) writes "1,234" for "%,d".
    assert ui_format.MINUTES_COLUMN == "%,.0f min"
    assert ui_format.HOURS_COLUMN == "%,.1f h"
    assert ui_format.COUNT_COLUMN == "%,d"


def test_weeks_over_cap_and_missing_rates_read_as_words() -> None:
    assert weeks_over_text(1) == "1 week ⚠"
    assert weeks_over_text(3) == "3 weeks ⚠"
    assert weeks_over_text(0) == ""
    assert weeks_over_text(None) == ""
    assert per_session_text(None) == "—, no sessions"
    assert per_session_text(1234.56) == "1,234.6 min"


def test_a_table_in_words_has_no_code_none_or_true() -> None:
    frame = pd.DataFrame(
        {
            "category": ["check_in", None],
            "channel": ["text", "portal"],
            "status": ["no_show", "late_cancelled"],
            "direction": ["client", "unknown"],
            "action": ["boundary_edit", "erase_client"],
            "over_cap": [True, False],
            "note": [None, "kept"],
            "rows_read": [1234, 5],
        }
    )
    shown = wording.in_words(frame)
    assert list(shown.columns) == [
        "Category",
        "Channel",
        "Status",
        "Direction",
        "Action",
        "Over cap",
        "Note",
        "Rows read",
    ]
    assert shown.to_dict("records") == [
        {
            "Category": "Check-ins",
            "Channel": "Text / messaging",
            "Status": "No-show",
            "Direction": "Client",
            "Action": "Boundary edit",
            "Over cap": "Yes",
            "Note": "",
            "Rows read": 1234,
        },
        {
            "Category": "",
            "Channel": "Portal",
            "Status": "Late cancelled",
            "Direction": "Unknown",
            "Action": "Client erased",
            "Over cap": "No",
            "Note": "kept",
            "Rows read": 5,
        },
    ]
    # A page table's download: the same words, headers included.
    csv = table_to_csv(shown).decode("utf-8")
    assert csv.splitlines()[0] == (
        "Category,Channel,Status,Direction,Action,Over cap,Note,Rows read"
    )
    assert "check_in" not in csv and "None" not in csv and "True" not in csv
    assert frame["category"].iloc[0] == "check_in"  # the caller's frame is left alone


def test_sql_words_turns_codes_into_words_in_duckdb(tmp_path: Path) -> None:
    db = Database(tmp_path / "words.duckdb")
    try:
        expression = wording.sql_words("code", {"check_in": "Check-ins", "o'clock": "It's"})
        sql = f"SELECT {expression} FROM (VALUES ('check_in'), ('o''clock'), ('email')) t(code)"
        with db.cursor() as cursor:
            rows = cursor.execute(sql).fetchall()
    finally:
        db.close()
    assert [row[0] for row in rows] == ["Check-ins", "It's", "email"]


def test_channel_and_category_words_are_bound_as_parameters(tmp_path: Path) -> None:
    db = Database(tmp_path / "words.duckdb")
    try:
        statement = query(
            "SELECT {channel}, {category} FROM (VALUES ('text', 'check_in'), "
            "('carrier_pigeon', 'o''clock')) AS t(code, kind)",
            channel=wording.channel_words_sql("code"),
            category=wording.category_words_sql("kind"),
        )
        assert "Check-ins" not in statement.text  # the words travel as parameters
        with db.cursor() as cursor:
            rows = execute(cursor, statement).fetchall()
    finally:
        db.close()
    assert rows == [
        (CHANNEL_LABELS["text"], CATEGORY_LABELS["check_in"]),
        ("carrier_pigeon", "o'clock"),  # a code without words stays as it is
    ]


def test_overview_names_the_figure_time_with_clients_between_sessions(
    demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(demo_db_path, monkeypatch)
    values = metric_values(app)
    assert "Time between sessions" not in values
    assert values["Time with clients between sessions"].endswith(" h")


def test_a_clients_timeline_shows_channels_categories_and_directions_in_words(
    demo_db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = run_app(demo_db_path, monkeypatch, "pages/clients.py")
    table = next(frame.value for frame in app.dataframe if "Category" in frame.value.columns)
    assert {"Local time", "Minutes", "Channel", "Category", "Direction"} <= set(table.columns)
    categories = set(table["Category"])
    assert categories <= set(wording.VALUE_WORDS["category"].values())
    assert set(table["Channel"]) <= set(wording.VALUE_WORDS["channel"].values())
    assert set(table["Direction"]) <= {"Client", "Therapist", "Unknown"}


def test_classification_rules_show_words_and_save_back_as_codes(
    fixture_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "contactload.duckdb"
    shutil.copy(fixture_db_path, path)
    for secret in fixture_db_path.parent.glob(".contactload-*"):
        shutil.copy(secret, tmp_path)
    db = Database(path)
    try:
        before = list_rules(db).drop(columns=["rule_id"])
    finally:
        db.close()
    app = run_app(path, monkeypatch, "pages/import_data.py")
    shown = next(frame.value for frame in app.dataframe if "keyword" in frame.value.columns)
    assert set(shown["target"]) == {"Category", "Channel"}
    assert "Crisis" in set(shown["value"]) and "crisis" not in set(shown["value"])
    first = before.sort_values(["target", "priority", "keyword"]).iloc[0]
    assert (first["target"], first["value"]) == ("category", "crisis")
    # The first rule, re-pointed in words, is stored as the code.
    app.session_state["rules_editor"] = {
        "edited_rows": {0: {"value": "Check-ins"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    app.button(key="save_rules").click().run()
    assert not app.exception
    assert [message.value for message in app.success] == [
        "Rules saved; they apply to the next import."
    ]
    before.loc[first.name, "value"] = "check_in"
    db = Database(path)
    try:
        after = list_rules(db).drop(columns=["rule_id"])
    finally:
        db.close()
    key = ["target", "keyword", "value", "priority", "language"]
    pd.testing.assert_frame_equal(
        after.sort_values(key).reset_index(drop=True),
        before.sort_values(key).reset_index(drop=True),
    )


def test_billing_rules_edit_in_words_and_save_as_codes(
    fixture_db_path: Path, tmp_path: Path
) -> None:
    path = tmp_path / "contactload.duckdb"
    shutil.copy(fixture_db_path, path)
    db = Database(path)
    try:
        stored = billing_rules.billing_rules(db, LOCAL)
        shown = billing_rules.billing_rules(db, LOCAL, as_text=True)
        online = shown[shown["code"] == "98970"].iloc[0]
        assert "Check-ins" in online["counting_categories"]
        assert "check_in" not in " ".join(shown["counting_categories"])
        assert "Scheduling" in online["excluded_categories"]
        billing_rules.save_rules(db, LOCAL, shown)
        again = billing_rules.billing_rules(db, LOCAL)
    finally:
        db.close()
    for column in ("channels", "counting_categories", "excluded_categories"):
        assert [list(items) for items in again[column]] == [list(items) for items in stored[column]]


def test_no_page_shows_text_meant_for_developers() -> None:
    """Streamlit's "magic" writes every bare string statement of a page script onto the
    page: a docstring under a constant showed "the CLI's ``contactload audit --limit N``"
    on Data care. Only the module docstring (the first statement) is exempt."""
    root = Path(__file__).resolve().parent.parent
    found = []

    def bare_strings(statements: list[ast.stmt], path: Path) -> None:
        for statement in statements:
            if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                continue
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
                found.append(f"{path.name}:{statement.lineno}")
            for field in ("body", "orelse", "finalbody", "handlers"):
                bare_strings(getattr(statement, field, None) or [], path)

    for path in [root / "app.py", *sorted((root / "pages").glob("*.py"))]:
        body = ast.parse(path.read_text(encoding="utf-8")).body
        bare_strings(
            body[1:] if ast.get_docstring(ast.Module(body=body, type_ignores=[])) else body, path
        )
    assert found == []


def test_the_supervision_report_shows_no_internal_code(demo_db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "contactload.duckdb"
    shutil.copy(demo_db_path, path)
    db = Database(path)
    try:
        document = report.supervision_report(db, ContactFilter(scope=LOCAL))
    finally:
        db.close()
    text = html.unescape(
        re.sub(r"<[^>]+>", "\n", re.sub(r"<style.*?</style>", "", document, flags=re.S))
    )
    assert "Time with clients between sessions" in text
    assert internal_words([text]) == set()


def test_dates_in_tables_read_as_days_without_clock_times() -> None:
    """A flagged table's date column reads "27 Nov 2026", never "2026-11-27 00:00:00"."""
    from ui.format import red_rows

    assert wording.date_text(pd.Timestamp("2026-11-27 00:00")) == "27 Nov 2026"
    assert wording.date_text(pd.NaT) == ""
    frame = pd.DataFrame(
        {"client": ["Ada", "Ben"], "last_contact": pd.to_datetime(["2026-11-27", "2026-03-01"])}
    )
    html = red_rows(frame, pd.Series([True, False])).to_html()
    assert "27 Nov 2026" in html and "1 Mar 2026" in html
    assert "00:00" not in html


def test_shares_in_table_columns_read_like_shares_elsewhere() -> None:
    """A share column holds percentage points printed as "7.4 %", the same as share_text."""
    from ui.format import PERCENT_COLUMN, percent_points

    frame = percent_points(pd.DataFrame({"share": [0.0741, 1.0], "n": [1, 2]}), "share")
    assert [PERCENT_COLUMN % value for value in frame["share"]] == ["7.4 %", "100.0 %"]
    assert PERCENT_COLUMN % frame["share"].iloc[0] == wording.share_text(0.0741)
    assert list(frame["n"]) == [1, 2]
