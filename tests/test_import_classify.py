"""analytics.importing.classify: stored keyword rules, classifying staged rows, value columns.

Expectations are worked out by hand from the rules in DEFAULT_RULES and the matching rules
in the module docstring (word starts, ``*`` for inside words, quotes for whole words,
lowest priority number wins; crisis 10, reminder 20, homework 30, scheduling 40, check_in
50, support 60; portal 10, video 20, "mailbox" 25, email 30, text 40, phone 50).
"""

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from analytics.db import Database
from analytics.importing.classify import (
    DEFAULT_RULES,
    InvalidRuleError,
    Rule,
    category_value_sql,
    channel_value_sql,
    classify_table,
    direction_value_sql,
    ensure_default_rules,
    list_rules,
    replace_rules,
    rule_from_row,
)
from analytics.importing.presets import CLASSIFY_FIELDS, detect_layout

PRESETS_DIR = Path(__file__).parent / "data" / "import" / "presets"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "contactload.duckdb")
    yield database
    database.close()


def classify(db: Database, texts: list[str | None]) -> list[tuple[str | None, str | None]]:
    """(category, channel) for each text, in order, through a staged temp table."""
    with db.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE staged (row_number BIGINT, c1 VARCHAR, c2 VARCHAR)")
        cursor.execute(
            "INSERT INTO staged SELECT unnest(?::BIGINT[]), unnest(?::VARCHAR[]), NULL",
            [list(range(2, len(texts) + 2)), texts],
        )
        classify_table(cursor, "staged", "concat_ws(' ', c1, c2)", "classified")
        rows = cursor.execute(
            "SELECT category, channel FROM classified ORDER BY row_number"
        ).fetchall()
    return [(row[0], row[1]) for row in rows]


def test_defaults_are_inserted_once(db: Database) -> None:
    rules = list_rules(db)
    assert list(rules.columns) == ["rule_id", "target", "keyword", "value", "priority", "language"]
    assert len(rules) == len(DEFAULT_RULES)
    with db.cursor() as cursor:
        ensure_default_rules(cursor)
        ensure_default_rules(cursor)
        count = cursor.execute("SELECT count(*) FROM classification_rules").fetchone()
    assert count == (len(DEFAULT_RULES),)
    crisis = rules[rules["keyword"] == "crisis"].iloc[0]
    assert (crisis["target"], crisis["value"], crisis["priority"], crisis["language"]) == (
        "category",
        "crisis",
        10,
        "en",
    )


def test_edited_rules_are_not_refilled(db: Database) -> None:
    replace_rules(db, [Rule("channel", "Brief", "other", 5, "de")])
    with db.cursor() as cursor:
        ensure_default_rules(cursor)
    rules = list_rules(db)
    assert rules[["target", "keyword", "value", "priority", "language"]].values.tolist() == [
        ["channel", "brief", "other", 5, "de"]
    ]


def test_default_rules_are_valid_as_they_stand(db: Database) -> None:
    replace_rules(db, DEFAULT_RULES)
    stored = list_rules(db)
    assert len(stored) == len(DEFAULT_RULES)
    assert set(stored["keyword"]) == {rule.keyword for rule in DEFAULT_RULES}


DEFAULT_CASES: list[tuple[str | None, tuple[str | None, str | None]]] = [
    ("Crisis call", ("crisis", "phone")),
    ("CRISIS CALL AT NIGHT", ("crisis", "phone")),
    ("crisis call", ("crisis", "phone")),
    # word starts: "context" is no text, "recall" no call
    ("Context for the recall", (None, None)),
    ("Texted about rescheduling", ("scheduling", "text")),
    ("Called back; cancelled appointment", ("scheduling", "phone")),
    ("E-MAIL an Klientin", (None, "email")),
    ("emails re: booking", ("scheduling", "email")),
    ("Gmail label", (None, None)),
    # German: umlauts, compounds with a leading-* keyword, participles
    ("Übungsblatt geschickt", ("homework", None)),
    ("Atemübung per WhatsApp", ("homework", "text")),
    ("Krisenanruf", ("crisis", "phone")),
    ("Terminabsage per SMS", ("scheduling", "text")),
    ("Termin abgesagt", ("scheduling", None)),
    ("Terminerinnerung per SMS", ("reminder", "text")),
    ("Rückruf wegen Terminverschiebung", ("scheduling", "phone")),
    ("Mailbox besprochen", (None, "phone")),
    ("Wie geht's? Kurze Nachricht", ("check_in", "text")),
    ("Portalnachricht: Arbeitsblatt", ("homework", "portal")),
    ("Telefonische Beratung", ("support", "phone")),
    ("Suizidgedanken, Notfallplan", ("crisis", None)),
    # whole-word keywords and the words left out on purpose
    ("Teams call", (None, "video")),
    ("Teamsitzung", (None, None)),
    ("Team meeting", (None, None)),
    ("Signal", (None, "text")),
    ("signalisiert Bedarf", (None, None)),
    ("Call with Jane", (None, "phone")),
    ("Determine next steps", (None, None)),
    # priorities between targets' values
    ("Appointment reminder text", ("reminder", "text")),
    ("Confirmed appointment by email", ("reminder", "email")),
    ("Video call about homework", ("homework", "video")),
    ("Zoom check-in", ("check_in", "video")),
    ("Supportive check in", ("check_in", None)),
    ("Secure message via SimplePractice", (None, "portal")),
    ("WhatsApp call", (None, "text")),
    ("Suicidal ideation - emergency call", ("crisis", "phone")),
    ("Self-harm safety plan", ("crisis", None)),
    ("Sent worksheet by email", ("homework", "email")),
    ("Checking in on sleep", ("check_in", None)),
    ("", (None, None)),
    (None, (None, None)),
]


def test_classify_table_with_default_rules(db: Database) -> None:
    texts = [text for text, _ in DEFAULT_CASES]
    assert classify(db, texts) == [expected for _, expected in DEFAULT_CASES]


def test_classify_table_result_shape(db: Database) -> None:
    with db.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE staged AS SELECT * FROM (VALUES (7, 'crisis', 'call'), "
            "(9, NULL, 'mail'), (12, NULL, NULL)) AS t(row_number, c1, c2)"
        )
        classify_table(cursor, "staged", "concat_ws(' ', c1, c2)", "result")
        # Calling again replaces the result table.
        classify_table(cursor, "staged", "concat_ws(' ', c1, c2)", "result")
        columns = cursor.execute("DESCRIBE result").fetchall()
        rows = cursor.execute("SELECT * FROM result ORDER BY row_number").fetchall()
    assert [(name, kind) for name, kind, *_ in columns] == [
        ("row_number", "BIGINT"),
        ("category", "VARCHAR"),
        ("channel", "VARCHAR"),
    ]
    assert rows == [(7, "crisis", "phone"), (9, None, "email"), (12, None, None)]


def test_classify_table_refuses_odd_table_names(db: Database) -> None:
    with db.cursor() as cursor, pytest.raises(ValueError):
        classify_table(cursor, "staged; DROP TABLE contacts", "c1", "result")


def test_keyword_forms_and_ties(db: Database) -> None:
    replace_rules(
        db,
        [
            Rule("channel", "*anruf", "phone", 50, "de"),
            Rule("channel", '"fax"', "other", 50),
            Rule("channel", "Video Call", "video", 50),
            Rule("channel", "video", "portal", 50),  # shorter than "video call": loses the tie
            Rule("category", "plan", "support", 30),
            Rule("category", "safe", "crisis", 30),  # same length and priority: older wins
            Rule("category", "übung", "homework", 40),
        ],
    )
    assert classify(
        db,
        [
            "Krisenanruf",
            "Anruf",
            "Fax",
            "Faxed",
            "video-call",
            "Video",
            "Safety plan",
            "Plan; safety",
            "Atemübung",
            "ÜBUNGEN",
        ],
    ) == [
        (None, "phone"),
        (None, "phone"),
        (None, "other"),
        (None, None),
        (None, "video"),
        (None, "portal"),
        ("support", None),
        ("support", None),
        (None, None),
        ("homework", None),
    ]


def test_decomposed_umlauts_match(db: Database) -> None:
    decomposed = "U\u0308bung per E-Mail"  # "Ü" written as U + combining diaeresis
    assert classify(db, [decomposed]) == [("homework", "email")]


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        (
            [Rule("channel", "fax", "fax")],
            "Rule 1 (channel 'fax' -> 'fax'): 'fax' is not a channel; use one of phone, email, "
            "text, portal, video, other.",
        ),
        (
            [Rule("channel", "zoom", "video"), Rule("category", "zoom", "video")],
            "Rule 2 (category 'zoom' -> 'video'): 'video' is not a category; use one of "
            "scheduling, reminder, check_in, support, crisis, homework, other.",
        ),
        ([Rule("category", "  ", "crisis")], "Rule 1 has no keyword; type one or delete the rule."),
        (
            [Rule("category", "--", "crisis")],
            "Rule 1 (category '--' -> 'crisis'): a keyword needs at least one letter or digit.",
        ),
        (
            [Rule("category", "cris*", "crisis")],
            "Rule 1 (category 'cris*' -> 'crisis'): a * may only stand at the start of a keyword.",
        ),
        (
            [Rule("category", '"crisis', "crisis")],
            "Rule 1 (category '\"crisis' -> 'crisis'): a quoted keyword needs a closing double "
            "quote.",
        ),
        (
            [Rule("category", "crisis", "crisis", -1)],
            "Rule 1 (category 'crisis' -> 'crisis'): the priority must be between 0 and 1000000.",
        ),
        (
            [Rule("category", "Crisis", "crisis"), Rule("category", "crisis ", "support")],
            "Rule 2 (category 'crisis ' -> 'support'): the keyword appears twice for category; "
            "keep one of them.",
        ),
        (
            [Rule("mood", "sad", "support")],  # type: ignore[arg-type]
            "Rule 1 (mood 'sad' -> 'support'): the target must be category or channel.",
        ),
        ([], "Keep at least one rule; to start again from the built-in rules, reset them."),
    ],
)
def test_replace_rules_validation_stores_nothing(
    db: Database, rules: list[Rule], message: str
) -> None:
    before = list_rules(db)
    with pytest.raises(InvalidRuleError) as caught:
        replace_rules(db, rules)
    assert str(caught.value) == message
    assert list_rules(db).equals(before)


def test_replace_rules_tidies_keywords_and_values(db: Database) -> None:
    replace_rules(db, [Rule("category", "  Krise ", " Crisis ", 10, " DE ")])
    assert list_rules(db)[["keyword", "value", "language"]].values.tolist() == [
        ["krise", "crisis", "de"]
    ]


def test_rule_from_row() -> None:
    assert rule_from_row("channel", "fax", "other", 5, "en") == Rule("channel", "fax", "other", 5)
    with pytest.raises(InvalidRuleError, match="'mood' is not a rule target"):
        rule_from_row("mood", "sad", "support", 5, "en")


_CONNECTION = duckdb.connect()
"""One in-memory connection for the value-expression tables (opening one per case is slow)."""


def value_of(sql: str, value: str | None) -> str | None:
    """Evaluate a value expression over column ``v`` holding one value."""
    row = _CONNECTION.execute(f"SELECT {sql} FROM (SELECT ?::VARCHAR AS v)", [value]).fetchone()
    assert row is not None
    return row[0]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Crisis", "crisis"),
        ("krise", "crisis"),
        ("Krisenintervention", "crisis"),
        ("NOTFALL", "crisis"),
        ("check in", "check_in"),
        ("Check-in", "check_in"),
        ("check_in", "check_in"),
        ("Check-ins", "check_in"),
        ("scheduling", "scheduling"),
        ("Terminplanung", "scheduling"),
        ("Reminder", "reminder"),
        ("Reminders & confirmations", "reminder"),
        ("Erinnerung", "reminder"),
        ("Unterstützung", "support"),
        ("Hausaufgabe", "homework"),
        ("Übungen", "homework"),
        ("  homework  ", "homework"),
        ("other", "other"),
        ("Other (to review)", "other"),
        ("Sonstiges", "other"),
        ("crisis call", None),
        ("", None),
        (None, None),
    ],
)
def test_category_value_sql(text: str | None, key: str | None) -> None:
    assert value_of(category_value_sql("v"), text) == key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Phone", "phone"),
        ("Telefon", "phone"),
        ("Anruf", "phone"),
        ("SMS", "text"),
        ("WhatsApp", "text"),
        ("Text / messaging", "text"),
        ("E-Mail", "email"),
        ("email", "email"),
        ("Video call", "video"),
        ("Zoom", "video"),
        ("portal", "portal"),
        ("Secure message", "portal"),
        ("other", "other"),
        ("pigeon", None),
        (None, None),
    ],
)
def test_channel_value_sql(text: str | None, key: str | None) -> None:
    assert value_of(channel_value_sql("v"), text) == key


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("client", "client"),
        ("Client", "client"),
        ("in", "client"),
        ("Incoming", "client"),
        ("eingehend", "client"),
        ("Klient", "client"),
        ("therapist", "therapist"),
        ("OUT", "therapist"),
        ("outgoing", "therapist"),
        ("ausgehend", "therapist"),
        ("unknown", "unknown"),
        ("sideways", "unknown"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_direction_value_sql(text: str | None, key: str) -> None:
    assert value_of(direction_value_sql("v"), text) == key


FIXTURE_CLASSES = [
    # (fixture, delimiter, (category, channel) per row with the default rules; None = other)
    (
        "toggl.csv",
        ",",
        [("scheduling", "phone"), ("crisis", "phone"), ("homework", "email"),
         ("support", "phone"), ("check_in", "text"), (None, "portal")],
    ),
    (
        "toggl_no_amount.csv",
        ",",
        [("scheduling", "email"), ("crisis", "phone"), ("reminder", "text"),
         ("homework", "video"), ("check_in", "phone")],
    ),
    (
        "clockify_us.csv",
        ",",
        [("scheduling", "phone"), ("crisis", "phone"), ("homework", "portal"),
         ("reminder", "text"), ("check_in", "phone")],
    ),
    (
        "clockify_eu.csv",
        ",",
        [("scheduling", "phone"), ("crisis", "phone"), ("homework", "email"),
         ("check_in", "text")],
    ),
    (
        "harvest.csv",
        ",",
        [("scheduling", None), ("crisis", "phone"), ("homework", None), ("check_in", "text"),
         ("support", "phone")],
    ),
    (
        "harvest_de.csv",
        ",",
        [("scheduling", None), ("crisis", "phone"), ("homework", "email"), ("reminder", "text")],
    ),
    (
        "kimai_en.csv",
        ",",
        [("scheduling", "phone"), ("crisis", "phone"), ("homework", "email"),
         ("check_in", "text")],
    ),
    (
        "kimai_de.csv",
        ";",
        [("scheduling", "phone"), ("crisis", "phone"), ("homework", "email"),
         ("check_in", "text")],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("fixture", "delimiter", "expected"), FIXTURE_CLASSES)
def test_preset_fixtures_classify_as_documented(
    db: Database, fixture: str, delimiter: str, expected: list[tuple[str | None, str | None]]
) -> None:
    path = PRESETS_DIR / fixture
    with db.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE staged AS SELECT row_number() OVER () + 1 AS row_number, * "
            "FROM read_csv(?, all_varchar = true, header = true, delim = ?)",
            [str(path), delimiter],
        )
        header = [row[0] for row in cursor.execute("DESCRIBE staged").fetchall()][1:]
        layout = detect_layout(header)
        assert layout is not None
        quoted = [
            '"' + cell.replace('"', '""') + '"'
            for name in CLASSIFY_FIELDS
            for cell in layout.sources(name)
        ]
        classify_table(cursor, "staged", f"concat_ws(' ', {', '.join(quoted)})", "classified")
        rows = cursor.execute(
            "SELECT category, channel FROM classified ORDER BY row_number"
        ).fetchall()
    assert [(row[0], row[1]) for row in rows] == expected
