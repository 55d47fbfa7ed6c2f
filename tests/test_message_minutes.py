"""Minutes of written messages from their words (analytics.importing.message_minutes).

Every figure is worked out by hand. The phone-log fixture tests/data/phone/sms_burst.xml
(Dr Vogel, Europe/Berlin, UTC+2 in April 2026) holds, for Anna (+49 171 5550142):
09:00 UTC received, 16 words; 09:02 sent, 50 words; 09:06:30 received, 2 words; 09:20
sent, no body; the next day 10:00 sent, 700 words; and for Ben (+49 30 5550 1999) 09:01
received, 1 word.
"""

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from analytics.access.filters import ContactFilter
from analytics.access.scope import LOCAL
from analytics.importing.message_minutes import (
    MessageModel,
    describe_model,
    estimated_minutes_note,
    load_model,
    message_contacts_sql,
    model_parameters,
    word_count_sql,
)
from analytics.importing.phone_log import PhoneLogOptions, import_phone_log, map_number
from analytics.storage.database import Database
from analytics.storage.settings import set_setting

BURST = Path(__file__).parent / "data" / "phone" / "sms_burst.xml"
OPTIONS = PhoneLogOptions(therapist="Dr Vogel", practice="Praxis Nord", time_zone="Europe/Berlin")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Can we reschedule Tuesday's appointment?", 5),
        ("  two\twords\n", 2),
        ("", 0),
        (None, 0),
        ("Sure, Thursday at ten works.", 5),
        ("ok", 1),
        ("Ich  kann   morgen nicht kommen.", 5),
    ],
)
def test_words_are_counted_in_sql(text: str | None, words: int) -> None:
    with duckdb.connect() as connection:
        row = connection.execute(f"SELECT {word_count_sql('$text')}", {"text": text}).fetchone()
    assert row == (words,)


def contacts(messages: list[tuple[int, str, str, str, int]], model: MessageModel) -> list[tuple]:
    """(conversation, first row, direction, category, messages, words, minutes) per contact
    of the staged ``messages`` (row, conversation, ISO moment, direction, words)."""
    with duckdb.connect() as connection:
        connection.execute(
            "CREATE TABLE staged (row_number BIGINT, conversation VARCHAR, moment TIMESTAMPTZ, "
            "direction VARCHAR, words INTEGER, category VARCHAR)"
        )
        connection.executemany(
            "INSERT INTO staged VALUES (?, ?, ?, ?, ?, ?)",
            [(*message, "scheduling" if row == 3 else "other") for message in messages
             for row in [message[0]]],
        )  # fmt: skip
        rows = connection.execute(
            "SELECT conversation, first_row, direction, category, messages, words, "
            "round(minutes, 4) FROM ("
            + message_contacts_sql("SELECT * FROM staged")
            + ") ORDER BY conversation, first_row",
            model_parameters(model),
        ).fetchall()
    return rows


MESSAGES = [
    # row, conversation, moment, direction, words
    (1, "a", "2026-04-02 09:00:00+00", "client", 24),  # 24 / 240 = 0.1 min
    (2, "a", "2026-04-02 09:04:59+00", "therapist", 30),  # 4:59 later: 30 / 20 = 1.5
    (3, "a", "2026-04-02 09:09:59+00", "unknown", 48),  # exactly 5 min later: new; 0.2
    (4, "b", "2026-04-02 09:01:00+00", "therapist", 1000),  # 50 min, capped at 30
    (5, "b", "2026-04-02 09:02:00+00", "client", 0),  # no words: 0, the floor covers it
]


def test_consecutive_messages_are_one_contact_with_a_floor_and_ceiling() -> None:
    model = MessageModel()  # 20 / 240 words a minute, floor 2, ceiling 30, gap 5 min
    assert contacts(MESSAGES, model) == [
        # 0.1 + 1.5 = 1.6, under the floor: 2 min; started by the client
        ("a", 1, "client", "other", 2, 54, 2.0),
        # read (unknown direction) 48 / 240 = 0.2 min: the floor, 2 min; its category
        ("a", 3, "unknown", "scheduling", 1, 48, 2.0),
        # min(30, 50) + 0 = 30 min
        ("b", 4, "therapist", "other", 2, 1000, 30.0),
    ]


def test_every_part_of_the_model_is_a_setting() -> None:
    model = MessageModel(
        writing_words_per_minute=10,
        reading_words_per_minute=120,
        floor_minutes=0.5,
        ceiling_minutes=60,
        gap_minutes=0,
    )
    assert contacts(MESSAGES, model) == [
        ("a", 1, "client", "other", 1, 24, 0.5),  # 24 / 120 = 0.2, floor 0.5
        ("a", 2, "therapist", "other", 1, 30, 3.0),  # 30 / 10
        ("a", 3, "unknown", "scheduling", 1, 48, 0.5),  # 48 / 120 = 0.4, floor 0.5
        ("b", 4, "therapist", "other", 1, 1000, 60.0),  # 100, capped at 60
        ("b", 5, "client", "other", 1, 0, 0.5),
    ]


def test_the_model_comes_from_the_installation_settings(empty_db: Database) -> None:
    assert load_model(empty_db) == MessageModel(20, 240, 2, 30, 5)
    set_setting(empty_db, "writing_words_per_minute", 25)
    set_setting(empty_db, "message_gap_minutes", 0)
    set_setting(empty_db, "minutes_per_text", 1.5)  # stored before: now the floor
    assert load_model(empty_db) == MessageModel(25, 240, 1.5, 30, 0)
    assert describe_model(load_model(empty_db)) == (
        "estimated from their words: written at 25 and read at 240 words a minute, at most "
        "30 min a message and at least 1.5 min a contact (a message without text counts "
        "1.5 min); every message is a contact of its own"
    )


def map_anna_and_ben(db: Database) -> None:
    map_number(
        db, LOCAL, "Dr Vogel", "+49 171 5550142", "Anna", practice="Praxis Nord",
        time_zone="Europe/Berlin",
    )  # fmt: skip
    map_number(db, LOCAL, "Dr Vogel", "+49 30 5550 1999", "Ben", practice="Praxis Nord")


def stored_texts(db: Database) -> list[tuple[object, ...]]:
    with db.cursor() as cursor:
        return cursor.execute(
            """
            SELECT cl.label, c.local_started_at, round(c.minutes, 4), c.category, c.direction
            FROM contacts AS c JOIN clients AS cl USING (client_id)
            WHERE c.channel = 'text' ORDER BY c.started_at, cl.label
            """
        ).fetchall()


def test_a_phone_log_burst_is_one_contact_with_minutes_from_its_words(empty_db: Database) -> None:
    map_anna_and_ben(empty_db)
    assert estimated_minutes_note(empty_db, ContactFilter()) is None  # nothing imported yet
    report = import_phone_log(empty_db, BURST, file_name="sms_burst.xml", options=OPTIONS)
    assert (report.texts, report.imported_texts, report.joined) == (6, 4, 2)
    assert stored_texts(empty_db) == [
        # 16 / 240 + 50 / 20 + 2 / 240 = 0.0667 + 2.5 + 0.0083 = 2.575 min; started by
        # Anna; "appointment" in the second text makes it scheduling; 09:00 UTC = 11:00
        ("Anna", datetime(2026, 4, 2, 11, 0), 2.575, "scheduling", "client"),
        ("Ben", datetime(2026, 4, 2, 11, 1), 2.0, "other", "client"),  # 1 / 240: the floor
        # 13.5 minutes after the last text: a new contact; no body: the floor
        ("Anna", datetime(2026, 4, 2, 11, 20), 2.0, "other", "therapist"),
        # 700 / 20 = 35 min, capped at 30
        ("Anna", datetime(2026, 4, 3, 12, 0), 30.0, "other", "therapist"),
    ]
    assert report.text_minutes == pytest.approx(2.575 + 2 + 2 + 30)
    assert report.to_json()["texts_joined"] == 2
    assert "at least 2 min a contact" in str(estimated_minutes_note(empty_db, ContactFilter()))
    again = import_phone_log(empty_db, BURST, file_name="sms_burst.xml", options=OPTIONS)
    assert again.imported == 0


def test_the_settings_change_later_imports(empty_db: Database) -> None:
    map_anna_and_ben(empty_db)
    set_setting(empty_db, "writing_words_per_minute", 25)
    set_setting(empty_db, "message_gap_minutes", 0)
    import_phone_log(empty_db, BURST, file_name="sms_burst.xml", options=OPTIONS)
    assert [row[2] for row in stored_texts(empty_db)] == [
        2.0,  # Anna 16 / 240: the floor
        2.0,  # Ben
        2.0,  # Anna 50 / 25 = 2
        2.0,  # Anna 2 / 240: the floor
        2.0,  # Anna no body
        28.0,  # Anna 700 / 25
    ]


def test_the_supervision_report_says_how_texts_were_estimated(empty_db: Database) -> None:
    from datetime import date

    from analytics.output.report import report_filter, supervision_report

    map_anna_and_ben(empty_db)
    import_phone_log(empty_db, BURST, file_name="sms_burst.xml", options=OPTIONS)
    filters = report_filter(empty_db, LOCAL, date(2026, 4, 1), date(2026, 4, 30))
    html = supervision_report(empty_db, filters)
    assert (
        "texts and messages estimated from their words: written at 20 and read at 240 words "
        "a minute" in html
    )
