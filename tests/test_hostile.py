"""Hostile input: labels, mapping names and rule keywords holding SQL, HTML/JavaScript or
formulas are stored verbatim and shown as text; identifiers from users are refused.

The browser half lives in tests/test_browser_hostile.py (marked ``browser``).
"""

import ast
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analytics.access.filters import ContactFilter
from analytics.errors import InvalidFilterError
from analytics.importing.classify import Rule, list_rules, replace_rules
from analytics.importing.person_names import shown_name
from analytics.importing.pipeline import import_file
from analytics.importing.presets import layout_for_preset, list_mappings, save_mapping
from analytics.measures import metrics
from analytics.storage.database import Database
from analytics.storage.store import add_contacts
from tests.test_cli import run
from tests.test_exports import HOSTILE_LABELS, HOSTILE_PRACTICE, add_hostile

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
HOSTILE_MAPPING = "<script>window.__pwned=1</script>'; DROP TABLE saved_mappings;--"
HOSTILE_KEYWORD = "=cmd|'/c calc'!a0"


@pytest.fixture(scope="module")
def hostile_db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database whose every user-supplied name is hostile."""
    path = tmp_path_factory.mktemp("hostile") / "contactload.duckdb"
    db = Database(path)
    try:
        add_hostile(db)
        template = "date,start_time,minutes,client,therapist,practice,channel,category,direction"
        save_mapping(db, HOSTILE_MAPPING, layout_for_preset("template", template.split(",")))
        rules = list_rules(db)
        first = rules.iloc[0]
        replace_rules(
            db,
            [
                Rule(
                    target=str(first["target"]),
                    keyword=HOSTILE_KEYWORD,
                    value=str(first["value"]),
                    priority=1,
                    language="en",
                )
            ],
        )
    finally:
        db.close()
    return path


def run_page(db_path: Path, monkeypatch: pytest.MonkeyPatch, page: str) -> AppTest:
    monkeypatch.setenv("CONTACTLOAD_DB", str(db_path))
    app = AppTest.from_file(APP, default_timeout=60)
    app.run()
    app.switch_page(page).run()
    assert not app.exception, [exception.message for exception in app.exception]
    return app


def test_hostile_names_are_stored_verbatim(hostile_db_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "copy.duckdb"
    shutil.copy(hostile_db_path, path)
    shutil.copy(hostile_db_path.parent / ".contactload-secret", tmp_path)
    db = Database(path)
    try:
        with db.cursor() as cursor:
            labels = {row[0] for row in cursor.execute("SELECT label FROM clients").fetchall()}
            practices = [row[0] for row in cursor.execute("SELECT name FROM practices").fetchall()]
            # the SQL in a label ran nowhere: every table is still there, with its rows
            (contacts,) = cursor.execute("SELECT count(*) FROM contacts").fetchone() or (0,)
        assert labels == set(HOSTILE_LABELS)
        assert practices == [HOSTILE_PRACTICE]
        assert contacts == len(HOSTILE_LABELS)
        assert list_mappings(db) == [HOSTILE_MAPPING]
        assert HOSTILE_KEYWORD in set(list_rules(db)["keyword"])
    finally:
        db.close()


def test_clients_page_shows_hostile_labels_as_text(
    hostile_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "contactload.duckdb"
    shutil.copy(hostile_db_path, path)
    shutil.copy(hostile_db_path.parent / ".contactload-secret", tmp_path)
    app = run_page(path, monkeypatch, "pages/clients.py")
    table = app.dataframe[0].value
    # 10 clients, 10 minutes each: every label shown exactly as stored
    assert set(table["label"]) == set(HOSTILE_LABELS)
    assert set(table["minutes"]) == {10.0}
    # no markdown or HTML element carries a label (they are data cells only)
    rendered = " ".join(str(element.value) for element in [*app.markdown, *app.caption, *app.title])
    assert "<script>" not in rendered and "onerror" not in rendered
    # each table has CSV and XLSX downloads side by side
    labels = [button.proto.label for button in app.get("download_button")]
    assert labels[:2] == ["Download CSV", "Download XLSX"], labels


def test_import_page_shows_hostile_mapping_and_rule_as_text(
    hostile_db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "contactload.duckdb"
    shutil.copy(hostile_db_path, path)
    shutil.copy(hostile_db_path.parent / ".contactload-secret", tmp_path)
    app = run_page(path, monkeypatch, "pages/import_data.py")
    assert HOSTILE_MAPPING in app.selectbox(key="import_mapping_name").options
    rules = app.dataframe[-1].value  # the rules editor, last on the page
    assert list(rules["keyword"]) == [HOSTILE_KEYWORD]


# --- no HTML from data --------------------------------------------------------------------


def _html_calls(path: Path) -> list[tuple[int, ast.Call]]:
    """Calls that render HTML: ``unsafe_allow_html=True`` anywhere, ``st.html`` and
    ``components.html``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        unsafe = any(
            keyword.arg == "unsafe_allow_html"
            and not (isinstance(keyword.value, ast.Constant) and keyword.value.value is False)
            for keyword in node.keywords
        )
        name = node.func.attr if isinstance(node.func, ast.Attribute) else ""
        if unsafe or name == "html":
            found.append((node.lineno, node))
    return found


def _fixed_strings(path: Path) -> set[str]:
    """Module-level names bound exactly once, to a plain string literal."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bound: dict[str, int] = {}
    literal: set[str] = set()
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else []
        for target in targets:
            if isinstance(target, ast.Name):
                bound[target.id] = bound.get(target.id, 0) + 1
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            literal.add(node.targets[0].id)
    return {name for name in literal if bound[name] == 1}


def test_html_is_only_ever_rendered_from_fixed_text() -> None:
    files = [ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")]
    problems = []
    for path in files:
        fixed = _fixed_strings(path)
        for line, call in _html_calls(path):
            body = call.args[0] if call.args else None
            # a plain string literal is fixed text (or a module-level name bound once to one);
            # an f-string, any other name or a call may carry user data
            literal = isinstance(body, ast.Constant) and isinstance(body.value, str)
            if not (literal or (isinstance(body, ast.Name) and body.id in fixed)):
                problems.append(f"{path.relative_to(ROOT)}:{line}")
    assert problems == [], f"HTML built from non-literal text: {problems}"


def test_the_html_check_catches_an_f_string(tmp_path: Path) -> None:
    """The check above can fail: an f-string with unsafe_allow_html is reported."""
    sample = tmp_path / "page.py"
    sample.write_text(
        'import streamlit as st\nlabel = "x"\n'
        'st.markdown(f"<b>{label}</b>", unsafe_allow_html=True)\n'
        'st.markdown("<hr>", unsafe_allow_html=True)\n',
        encoding="utf-8",
    )
    calls = _html_calls(sample)
    assert [line for line, _ in calls] == [3, 4]
    assert isinstance(calls[0][1].args[0], ast.JoinedStr)
    assert isinstance(calls[1][1].args[0], ast.Constant)


def test_a_name_counts_as_fixed_only_when_bound_once_to_a_literal(tmp_path: Path) -> None:
    """A module constant holding a literal passes; one built from an f-string does not."""
    sample = tmp_path / "page.py"
    sample.write_text(
        'FIXED = "<hr>"\nlabel = "x"\nBUILT = f"<b>{label}</b>"\nTWICE = "<p>"\nTWICE = label\n',
        encoding="utf-8",
    )
    assert _fixed_strings(sample) == {"FIXED", "label"}


# --- identifiers from users are refused ------------------------------------------------


@pytest.mark.parametrize(
    "by",
    [
        "client; DROP TABLE contacts",
        "label FROM clients --",
        "1=1",
        "Client",
    ],
)
def test_hostile_breakdown_is_refused_in_one_sentence(fixture_db: Database, by: str) -> None:
    with pytest.raises(InvalidFilterError) as caught:
        metrics.breakdown(fixture_db, ContactFilter(), by)
    message = str(caught.value)
    assert message.startswith("Cannot break down by") and message.endswith(".")
    with fixture_db.cursor() as cursor:
        (contacts,) = cursor.execute("SELECT count(*) FROM contacts").fetchone() or (0,)
    assert contacts == 25  # nothing ran


@pytest.mark.parametrize("by", ["channel; DROP TABLE contacts", "minutes"])
def test_hostile_trend_dimension_is_refused(fixture_db: Database, by: str) -> None:
    with pytest.raises(InvalidFilterError, match="Cannot show a trend by"):
        metrics.trend(fixture_db, ContactFilter(), by)  # type: ignore[arg-type]


def test_cli_refuses_a_hostile_breakdown(fixture_db_path: Path, tmp_path: Path) -> None:
    result = run(
        "summary", "--db", fixture_db_path, "--by", "client; DROP TABLE contacts", cwd=tmp_path
    )
    assert result.returncode == 2  # argparse: not one of the allowed choices
    assert "invalid choice" in result.stderr


# --- look-alike names ---------------------------------------------------------------------

LOOK_ALIKES = (
    "Anna K.",
    "Anna\u200b K.",  # zero-width space
    "\u202eAnna K.\u202c",  # right-to-left override ... pop
    "Anna\u00a0K.",  # no-break space
    "Anna  K.",  # two spaces
    "\u2066Anna\u2069 K.",  # isolate
    "An\u00adna K.",  # soft hyphen
    "Anna\ufeff K.",  # zero-width no-break space
)
TEMPLATE = "date,start_time,minutes,client,therapist,practice,channel,category,direction"


def look_alike_file(names: tuple[str, ...]) -> bytes:
    rows = [
        f"2026-03-02,{9 + n:02d}:00,10,{name},Dr.\u00a0Kim,North\u200bside,phone,scheduling,client"
        for n, name in enumerate(names)
    ]
    return "\n".join([TEMPLATE, *rows, ""]).encode("utf-8")


def test_names_that_look_alike_become_one_client(empty_db: Database) -> None:
    report = import_file(empty_db, look_alike_file(LOOK_ALIKES), file_name="alike.csv")
    assert (report.imported, report.rejected, report.warnings) == (len(LOOK_ALIKES), 0, [])
    with empty_db.cursor() as cursor:
        clients = cursor.execute("SELECT label FROM clients").fetchall()
        therapists = cursor.execute("SELECT name FROM therapists").fetchall()
        practices = cursor.execute("SELECT name FROM practices").fetchall()
        (contacts,) = cursor.execute("SELECT count(DISTINCT client_id) FROM contacts").fetchone()
    assert (clients, therapists, practices) == ([("Anna K.",)], [("Dr. Kim",)], [("Northside",)])
    assert contacts == 1


def test_a_name_mixing_alphabets_is_flagged(empty_db: Database) -> None:
    # "Аnna K." starts with a Cyrillic А (U+0410): it looks like "Anna K." and is not.
    names = ("Anna K.", "\u0410nna K.", "Ζoe", "Наталья")
    report = import_file(empty_db, look_alike_file(names), file_name="mixed.csv")
    assert report.warnings == [
        "Row 3: the client name 'Аnna K.' mixes Latin and Cyrillic letters, so it can look "
        "like another client's name and be a different client; check how it is spelt.",
        "Row 4: the client name 'Ζoe' mixes Latin and Greek letters, so it can look like "
        "another client's name and be a different client; check how it is spelt.",
    ]
    assert report.to_json()["warnings"] == report.warnings
    assert report.imported == 4  # flagged, not refused: the user decides


def test_invisible_characters_left_in_stored_names_are_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Names stored before the import normalised them keep their characters; the pages
    # write them out instead of letting an override turn the text around.
    assert shown_name("\u202eAnna K.") == "⟨U+202E⟩Anna K."
    assert shown_name("Anna K.") == "Anna K."
    path = tmp_path / "contactload.duckdb"
    db = Database(path)
    try:
        frame = pd.DataFrame(
            {
                "practice": "North",
                "therapist": "Dr. Kim",
                "time_zone": "UTC",
                "client": ["\u202eAnna K.", "Anna K."],
                "started_at": ["2026-05-04T09:00:00+00:00", "2026-05-05T09:00:00+00:00"],
                "minutes": 10,
                "channel": "phone",
                "category": "support",
                "direction": "client",
            }
        )
        add_contacts(db, frame, source="test", file_name="old.csv")
    finally:
        db.close()
    app = run_page(path, monkeypatch, "pages/clients.py")
    assert set(app.dataframe[0].value["label"]) == {"⟨U+202E⟩Anna K.", "Anna K."}
