"""Minutes for written messages (texts, e-mails, chat messages), estimated from their words.

A written message has no duration. Each installation sets how its minutes are estimated
(settings, see ``analytics.storage.settings``):

* ``writing_words_per_minute`` (default 20): the speed at which the therapist *composes* a
  message they send. People copy text on a phone at about 36 words a minute (Palin et al.,
  "How do people type on mobile devices?", MobileHCI 2019); composing a considered reply
  to a client is slower, hence about half.
* ``reading_words_per_minute`` (default 240): the speed at which a received message is
  read (silent reading of non-fiction in English averages 238 words a minute: Brysbaert,
  "How many words do we read per minute?", Journal of Memory and Language, 2019).
  Messages of unknown direction are counted as read.
* ``message_ceiling_minutes`` (default 30): no single message counts more than this
  (a pasted document is not read word by word in a chat).
* ``message_gap_minutes`` (default 5): consecutive messages of one conversation (one
  client, one number, one thread) less than this many minutes after the previous one are
  one contact; 0 makes every message a contact of its own.
* ``minutes_per_text`` (default 2): the *floor*, the least a contact counts (turning to
  the conversation, opening, replying at all). This is the setting that once counted
  every text flatly; a value stored before keeps its meaning for a one-text contact with
  few words, which is what most texts are, and it is what a message without a body
  counts (some phone logs hold none).

So a contact's minutes are ``greatest(floor, sum over its messages of
least(ceiling, words / speed))``, with the speed chosen per message by its direction;
the contact starts at its first message and takes that message's direction (who started
it) and the first category that is not ``other``.

Everything is SQL over a staged table, so the model runs per row in DuckDB: an importer
counts words with ``word_count_sql`` while the bodies are in its temporary tables, drops
the bodies, and selects its messages as ``(row_number, conversation, moment, direction,
words, category)``; ``message_contacts_sql`` turns them into one row per contact,
bound with ``model_parameters(model)``. Words are counted, never stored.

For other importers (e-mail, chats): ``load_model(db)``, ``word_count_sql('body')``,
``message_contacts_sql('SELECT ... FROM my_staged')`` and ``model_parameters``;
``describe_model`` is the sentence pages and reports show beside such minutes, and
``ESTIMATED_PRESETS`` names the import presets whose written contacts are estimated this
way (append yours) so that ``estimated_minutes_note`` finds them.
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.access.filters import ContactFilter
from analytics.storage.database import Database
from analytics.storage.settings import get_setting
from analytics.storage.sql import in_list, query

ESTIMATED_PRESETS: list[str] = ["sms_backup_restore", "google_voice"]
"""Import presets whose written contacts (channel other than phone) have estimated
minutes; importers of other written sources add theirs (``register_estimated_preset``)."""


@dataclass(frozen=True)
class MessageModel:
    """How the minutes of written messages are estimated (one installation's settings)."""

    writing_words_per_minute: float = 20.0
    reading_words_per_minute: float = 240.0
    floor_minutes: float = 2.0
    ceiling_minutes: float = 30.0
    gap_minutes: float = 5.0

    def message_minutes(self, words: int, sent: bool) -> float:
        """The minutes one message's words count, before the contact's floor (for people
        and tests to reason with; imports compute the same in SQL)."""
        speed = self.writing_words_per_minute if sent else self.reading_words_per_minute
        return min(self.ceiling_minutes, words / speed)


MODEL_SETTINGS = {
    "writing_words_per_minute": "writing_words_per_minute",
    "reading_words_per_minute": "reading_words_per_minute",
    "floor_minutes": "minutes_per_text",
    "ceiling_minutes": "message_ceiling_minutes",
    "gap_minutes": "message_gap_minutes",
}
"""Each field of ``MessageModel`` and the installation setting it comes from."""


def load_model(db: Database) -> MessageModel:
    """The installation's model, from its settings (defaults where none is stored)."""
    return MessageModel(**{field: get_setting(db, key) for field, key in MODEL_SETTINGS.items()})


def register_estimated_preset(preset: str) -> None:
    """Mark an import preset's written contacts as estimated by this model (idempotent)."""
    if preset not in ESTIMATED_PRESETS:
        ESTIMATED_PRESETS.append(preset)


def word_count_sql(text_sql: str) -> str:
    """An SQL expression counting the words (runs of non-space characters) of the text
    expression ``text_sql`` (a column name from the caller, never user input); 0 for NULL."""
    return f"coalesce(len(regexp_extract_all({text_sql}, '[^\\s]+')), 0)"


def model_parameters(model: MessageModel) -> dict[str, float]:
    """The named parameters ``message_contacts_sql`` needs, from ``model``."""
    return {
        "writing_wpm": model.writing_words_per_minute,
        "reading_wpm": model.reading_words_per_minute,
        "floor_minutes": model.floor_minutes,
        "ceiling_minutes": model.ceiling_minutes,
        "gap_seconds": model.gap_minutes * 60,
    }


_CONTACTS_SQL = """
WITH messages AS (
    SELECT row_number, conversation, moment, direction, words, category FROM ({messages})
),
timed AS (
    SELECT *,
           least($ceiling_minutes, words / CASE WHEN direction = 'therapist'
                                                THEN $writing_wpm ELSE $reading_wpm END)
               AS word_minutes,
           coalesce(epoch(moment) - epoch(lag(moment) OVER conversation_order)
                    >= $gap_seconds, true)::INTEGER AS starts_contact
    FROM messages
    WINDOW conversation_order AS (PARTITION BY conversation ORDER BY moment, row_number)
),
numbered AS (
    SELECT *, sum(starts_contact) OVER (
               PARTITION BY conversation ORDER BY moment, row_number
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
           ) AS contact_number
    FROM timed
)
SELECT conversation,
       first(row_number ORDER BY moment, row_number) AS first_row,
       min(moment) AS started_at,
       max(moment) AS last_at,
       first(direction ORDER BY moment, row_number) AS direction,
       first(category ORDER BY category = 'other', moment, row_number) AS category,
       count(*) AS messages,
       sum(words) AS words,
       greatest($floor_minutes, sum(word_minutes)) AS minutes
FROM numbered
GROUP BY conversation, contact_number
"""


def message_contacts_sql(messages: str) -> str:
    """A SELECT of one row per contact from the messages selected by ``messages`` (SQL
    with columns ``row_number``, ``conversation``, ``moment``, ``direction`` in
    'client'/'therapist'/'unknown', ``words``, ``category``; built by the caller from
    fixed text). Its columns: conversation, first_row, started_at, last_at, direction,
    category, messages, words, minutes. Bind ``model_parameters(model)``."""
    return _CONTACTS_SQL.format(messages=messages)


def describe_model(model: MessageModel) -> str:
    """The model in words, for the note beside every figure with such minutes."""
    gap = (
        f"messages of one conversation less than {model.gap_minutes:g} min apart count as "
        "one contact"
        if model.gap_minutes > 0
        else "every message is a contact of its own"
    )
    return (
        f"estimated from their words: written at {model.writing_words_per_minute:g} and read "
        f"at {model.reading_words_per_minute:g} words a minute, at most "
        f"{model.ceiling_minutes:g} min a message and at least {model.floor_minutes:g} min "
        f"a contact (a message without text counts {model.floor_minutes:g} min); {gap}"
    )


def estimated_minutes_note(db: Database, filters: ContactFilter) -> str | None:
    """The note for figures that include written contacts with estimated minutes among
    ``filters``' contacts ("texts and messages ... estimated from their words: ..."),
    None when there are none. The model described is the current one: contacts keep the
    minutes they were estimated at when imported."""
    found = db.frame(
        query(
            """
            SELECT 1 AS found FROM contacts AS c
            WHERE c.channel <> 'phone'
              AND c.batch_id IN (SELECT batch_id FROM import_batches WHERE {presets})
              AND {where}
            LIMIT 1
            """,
            presets=in_list("preset", "estimated_presets", ESTIMATED_PRESETS),
            where=filters.fragment("c"),
        )
    )
    if found.empty:
        return None
    return "texts and messages " + describe_model(load_model(db))
