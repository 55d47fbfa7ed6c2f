"""analytics.importing.classify: stored keyword rules, classifying staged rows, value columns.

Expectations are worked out by hand from the rules in DEFAULT_RULES and the matching rules
in the module docstring (word starts, ``*`` for inside words, quotes for whole words,
lowest priority number wins; crisis 10, reminder 20, homework 30, scheduling 40, check_in
50, support 60; portal 10, video 20, "mailbox" 25, email 30, text 40, phone 50).
"""

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.domain import CATEGORIES, CHANNELS
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
    rule_text_sql,
)
from analytics.importing.presets import CLASSIFY_FIELDS, detect_layout
from analytics.storage.database import Database

PRESETS_DIR = Path(__file__).parent / "data" / "import" / "presets"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "contactload.duckdb")
    yield database
    database.close()


def classify(db: Database, texts: list[str | None]) -> list[tuple[str | None, str | None]]:
    """(category, channel) for each text, in order, through a staged temp table."""
    with db.cursor() as cursor:
        cursor.execute(
            "CREATE OR REPLACE TEMP TABLE staged (row_number BIGINT, c1 VARCHAR, c2 VARCHAR)"
        )
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


NUMBER_AND_PHRASE_CASES: list[tuple[str | None, tuple[str | None, str | None]]] = [
    # Numbers are word characters: "call2" starts with "call", "2call" does not.
    ("Note 1234", (None, None)),
    ("Note 5678", (None, None)),
    ("call2", (None, "phone")),
    ("2call", (None, None)),
    ("Call #12 about 3 appointments", ("scheduling", "phone")),
    ("Call #3 about 12 appointments", ("scheduling", "phone")),
    # Keywords of several words across spaces and punctuation, and broken by a number.
    ("Check - in", ("check_in", None)),
    ("check  in, 10 min", ("check_in", None)),
    ("check 10 in", (None, None)),
    ("How are you?", ("check_in", None)),
    ("how are 2 you", (None, None)),
    ("SAFETY-PLAN", ("crisis", None)),
    ("Simple practice portal", (None, "portal")),
    ("E - Mail", (None, "email")),
    ("e 2 mail", (None, "email")),  # "mail" alone still is email
    ("how-are you", ("check_in", None)),
    ("How are-you", ("check_in", None)),
    ("Safety planning", ("crisis", None)),
]


def test_numbers_and_keywords_over_several_words(db: Database) -> None:
    texts = [text for text, _ in NUMBER_AND_PHRASE_CASES]
    assert classify(db, texts) == [expected for _, expected in NUMBER_AND_PHRASE_CASES]


def test_keyword_forms_over_several_words(db: Database) -> None:
    replace_rules(
        db,
        [
            Rule("category", "*fety plan", "crisis", 10),
            Rule("category", '"check in"', "check_in", 50),
            Rule("channel", "are you there", "text", 50),
        ],
    )
    assert classify(
        db,
        [
            "Safety plan",
            "unsafety-plans",
            "fety plan",
            "safe plan",
            "check in",
            "Check-in!",
            "check inside",
            "Are you-there?",
            "are you-then there",
        ],
    ) == [
        ("crisis", None),
        ("crisis", None),
        ("crisis", None),
        (None, None),
        ("check_in", None),
        ("check_in", None),
        (None, None),
        (None, "text"),
        (None, None),
    ]


def test_keywords_with_digits_see_every_digit(db: Database) -> None:
    replace_rules(
        db,
        [
            Rule("category", "911", "crisis", 10),
            Rule("category", "24/7", "support", 20),
            Rule("channel", "call", "phone", 50),
        ],
    )
    assert classify(
        db, ["911 call", "Call 9110", "1911", "Note 912", "24/7 line", "24/70", "124/7", "247"]
    ) == [
        ("crisis", "phone"),
        ("crisis", "phone"),
        (None, None),
        (None, None),
        ("support", None),
        ("support", None),
        (None, None),
        (None, None),
    ]


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


@pytest.mark.parametrize("name", ["texts", "rules", "keys", "best"])
def test_classify_table_reads_a_table_of_any_name(db: Database, name: str) -> None:
    with db.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMP TABLE {name} AS SELECT * FROM (VALUES (1, 'Crisis call'), (2, NULL)) "
            "AS t(row_number, c1)"
        )
        classify_table(cursor, name, "c1", "result")
        rows = cursor.execute("SELECT * FROM result ORDER BY row_number").fetchall()
    assert rows == [(1, "crisis", "phone"), (2, None, None)]


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
         ("support", "phone"), ("check_in", "text"), ("homework", "portal")],  # sleep diary
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


def _reference_words(text: str) -> str:
    """The module docstring's normalization, in Python: NFC, lower case, word breaks."""
    return re.sub(r"[\W_]+", " ", unicodedata.normalize("NFC", text).lower())


def reference_classify(
    rules: list[tuple[int, str, str, str, int]], text: str | None
) -> tuple[str | None, str | None]:
    """(category, channel) for one text by (rule_id, target, keyword, value, priority) rules,
    straight from the module docstring: substring search, best rule per target."""
    padded = " " + _reference_words(text or "") + " "
    best: dict[str, tuple[tuple[int, int, int], str]] = {}
    for rule_id, target, keyword, value, priority in rules:
        inside = keyword.startswith("*")
        body = keyword[1:] if inside else keyword
        whole = len(body) >= 2 and body.startswith('"') and body.endswith('"')
        core = _reference_words(body[1:-1] if whole else body).strip()
        pattern = ("" if inside else " ") + core + (" " if whole else "")
        if core and pattern in padded:
            rank = (priority, -len(core), rule_id)
            if target not in best or rank < best[target][0]:
                best[target] = (rank, value)
    category, channel = best.get("category"), best.get("channel")
    return (category[1] if category else None, channel[1] if channel else None)


KEYWORD_POOL = [
    "call", "check-in", "check in", '"check in"', "*anruf", '"teams"', "team", "e-mail",
    "mail", "how are you", "are you", "*nachricht", "*port", "in", '"in"', "*in", '*"in"',
    "re", "übung", "*übung", "911", "24 7", "2nd", "call 2", '"a b"', "a b a", "*all", "a",
    "plan", "safety plan", "*fety plan", "*ty pl", "straße", '"you"', '"988"', "x0", "1 0",
    '"0"', "*3",
]  # fmt: skip
KEYWORD_WORDS = [
    "call", "check", "in", "how", "are", "you", "safety", "plan", "a", "b", "24", "7", "2",
    "e", "mail", "teams", "anruf", "übung", "nachricht", "port", "all", "ty", "pl", "911",
    "2nd", "re", "straße", "988", "9880", "x0", "x5", "1", "0", "3",
]  # fmt: skip
NOISE = [
    "Calls", "recall", "CALL2", "2call", "Check-in", "checkin", "inside", "Krisenanruf",
    "teamsitzung", "E-Mail", "Gmail", "You're", "Portal", "report", "9110", "0", "12", "Ü",
    "U\u0308bung", "übungen", "ß", "Straße", "how-are", "are-you", "Safety-plans", "unsafety",
]  # fmt: skip
SEPARATORS = [" ", " ", " ", "  ", "-", ", ", "\t", "_", "/", "", "…", " - "]


@st.composite
def phrases(draw: st.DrawFn) -> str:
    """A keyword of the pool as a text would hold it, its words joined in various ways."""
    first, *others = draw(st.sampled_from(KEYWORD_POOL)).strip('*"').split(" ")
    return first + "".join(draw(st.sampled_from([" ", "-", " - ", ", "])) + w for w in others)


rule_lists = st.lists(
    st.tuples(
        st.sampled_from(("category", "channel")),
        st.sampled_from(KEYWORD_POOL),
        st.integers(0, 5),
        st.sampled_from((10, 20, 20, 50)),
    ),
    min_size=1,
    max_size=12,
    unique_by=lambda rule: (rule[0], rule[1]),
)
texts = st.one_of(
    st.none(),
    st.lists(
        st.tuples(
            st.one_of(
                st.sampled_from(KEYWORD_WORDS),
                st.sampled_from(NOISE),
                phrases(),
            ),
            st.sampled_from(SEPARATORS),
        ),
        max_size=8,
    ).map(lambda parts: "".join(fragment + separator for fragment, separator in parts)),
)


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One database for the property test (opening one per example is slow)."""
    database = Database(tmp_path_factory.mktemp("classify") / "contactload.duckdb")
    yield database
    database.close()


@settings(max_examples=100, deadline=None)
@given(drawn=rule_lists, batch=st.lists(texts, min_size=1, max_size=12))
def test_classify_table_agrees_with_a_plain_substring_search(
    shared_db: Database,
    drawn: list[tuple[str, str, int, int]],
    batch: list[str | None],
) -> None:
    values = {"category": CATEGORIES, "channel": CHANNELS}
    replace_rules(
        shared_db,
        [
            Rule(target, keyword, values[target][index % len(values[target])], priority)
            for target, keyword, index, priority in drawn
        ],
    )
    stored = list_rules(shared_db)
    rules = [
        (int(row.rule_id), str(row.target), str(row.keyword), str(row.value), int(row.priority))
        for row in stored.itertuples()
    ]
    # Each text twice, once with other numbers: repeated texts are classified once.
    renumbered = [None if text is None else re.sub("[0-9]+", "5", text) for text in batch]
    everything = batch + renumbered
    assert classify(shared_db, everything) == [
        reference_classify(rules, text) for text in everything
    ]


# Descriptions as therapists write them in time trackers and hand-kept logs, English and
# German, with the category each must get from the default rules (other: no rule places it).
# Reviewed against DEFAULT_RULES: crisis words outrank every other category; "ER" and "988"
# count only as whole words ("reminder", "Error", "19880" and the German "Er" do not).
REAL_DESCRIPTIONS: list[tuple[str, str]] = [
    ("Phone call - panic attack", "crisis"),
    ("suicidal thoughts", "crisis"),
    ("self-harm", "crisis"),
    ("safety plan", "crisis"),
    ("988", "crisis"),
    ("ER", "crisis"),
    ("emergency", "crisis"),
    ("Suizidgedanken", "crisis"),
    ("Selbstverletzung", "crisis"),
    ("Notfall", "crisis"),
    ("Panikattacke", "crisis"),
    ("Krisenplan", "crisis"),
    ("Notfallplan", "crisis"),
    ("Client called with suicidal thoughts", "crisis"),
    ("Self-harm disclosure, reviewed coping", "crisis"),
    ("Reviewed safety plan by phone", "crisis"),
    ("Gave 988 number after late-night text", "crisis"),
    ("Client called 988 last night, follow-up", "crisis"),
    ("Call from ER social worker", "crisis"),
    ("Client in ER after overdose", "crisis"),
    ("ER visit follow-up call", "crisis"),
    ("Emergency call after hours", "crisis"),
    ("Crisis text at 2am", "crisis"),
    ("Passive SI, safety check", "crisis"),
    ("Overdose scare - coordinated with family", "crisis"),
    ("Anruf wegen Panikattacke", "crisis"),
    ("Suizidgedanken, Krisenplan besprochen", "crisis"),
    ("Selbstverletzung, Notfallplan aktualisiert", "crisis"),
    ("Notfall am Wochenende", "crisis"),
    ("Krisenintervention telefonisch", "crisis"),
    ("Panikattacken in der Nacht, kurzer Anruf", "crisis"),
    ("Klientin in der Notaufnahme", "crisis"),
    ("Lebensmüde Gedanken geäußert", "crisis"),
    ("Appointment reminder sent", "reminder"),
    ("Reminder: session tomorrow at 10", "reminder"),
    ("Confirmed Thursday appointment", "reminder"),
    ("Automated text reminder", "reminder"),
    ("Terminerinnerung per SMS", "reminder"),
    ("Erinnerung an Sitzung morgen", "reminder"),
    ("Terminbestätigung verschickt", "reminder"),
    ("Rescheduled Thursday appointment", "scheduling"),
    ("Client cancelled, wants to rebook", "scheduling"),
    ("Scheduling next session", "scheduling"),
    ("Moved session to Friday", "scheduling"),
    ("Booked intake for new client", "scheduling"),
    ("Insurance and scheduling questions", "scheduling"),
    ("Termin verschoben", "scheduling"),
    ("Terminabsage per E-Mail", "scheduling"),
    ("Neuen Termin vereinbart", "scheduling"),
    ("Sitzung abgesagt wegen Krankheit", "scheduling"),
    ("Quick check-in by text", "check_in"),
    ("Checking in after hard session", "check_in"),
    ("How are you doing this week?", "check_in"),
    ("Weekly check in email", "check_in"),
    ("Kurze Nachfrage per SMS", "check_in"),
    ("Wie geht es nach der Sitzung?", "check_in"),
    ("Kurzes Befinden erfragt", "check_in"),
    ("Follow-up support call", "support"),
    ("Guidance on talking to partner", "support"),
    ("DBT phone coaching", "support"),
    ("Skills coaching between sessions", "support"),
    ("Support email about work stress", "support"),
    ("Telefonische Beratung", "support"),
    ("Unterstützung bei Konflikt mit Arbeitgeber", "support"),
    ("Kurze Beratung per Telefon", "support"),
    ("Skills-Coaching am Telefon", "support"),
    ("Sent worksheet by email", "homework"),
    ("Thought record homework feedback", "homework"),
    ("Shared breathing exercise handout", "homework"),
    ("Reviewed sleep diary", "homework"),
    ("Sent resources on grief", "homework"),
    ("Arbeitsblatt per E-Mail geschickt", "homework"),
    ("Hausaufgabe besprochen", "homework"),
    ("Atemübung erklärt", "homework"),
    ("Übungsblatt nachgereicht", "homework"),
    ("Invoice question", "other"),
    ("Records request from insurer", "other"),
    ("Letter for employer", "other"),
    ("Rechnung nachgefragt", "other"),
    ("Befundbericht angefordert", "other"),
    ("Sent receipt for payment", "other"),
    ("Error in billing statement", "other"),
    ("Invoice 19880 paid", "other"),
    ("Left voicemail, number 555-9881", "other"),
    ("Er fragt nach der Rechnung", "other"),
    ("Er hat den Termin abgesagt", "scheduling"),
    ("Sent reminder for Monday", "reminder"),
]


@pytest.fixture(scope="module")
def default_rules_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """One database holding the default rules, for the table below."""
    database = Database(tmp_path_factory.mktemp("defaults") / "contactload.duckdb")
    yield database
    database.close()


def test_real_descriptions_cover_every_category_in_both_languages() -> None:
    assert len(REAL_DESCRIPTIONS) >= 60
    assert {category for _, category in REAL_DESCRIPTIONS} == set(CATEGORIES)


@pytest.mark.parametrize(("description", "category"), REAL_DESCRIPTIONS)
def test_default_rules_place_real_descriptions(
    default_rules_db: Database, description: str, category: str
) -> None:
    # the text as the contact-log importer builds it (rule_text_sql: "ER" in capitals)
    with default_rules_db.cursor() as cursor:
        cursor.execute("CREATE OR REPLACE TEMP TABLE staged (row_number BIGINT, c1 VARCHAR)")
        cursor.execute("INSERT INTO staged VALUES (2, ?)", [description])
        classify_table(cursor, "staged", rule_text_sql(["c1"]), "classified")
        found = cursor.execute("SELECT category FROM classified").fetchall()
    assert found == [(None if category == "other" else category,)]
