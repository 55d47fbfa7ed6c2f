"""The DuckDB side of a phone-log import: the read columns staged, keyed, parsed, matched
to clients and shaped as ``incoming`` contacts, and the report's figures read back.

Split from ``phone_log`` (which holds the import's steps, its report and the number
mappings) so the SQL over the staged columns reads in one place. Numbers and bodies live
here only in temporary tables of the import's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import duckdb

if TYPE_CHECKING:
    import pandas as pd

from analytics.access.scope import Scope
from analytics.importing.message_minutes import message_contacts_sql, word_count_sql
from analytics.importing.phone_log_xml import PhoneColumns
from analytics.importing.phone_numbers import legacy_country_code, legacy_number_form, read_number
from analytics.importing.pipeline import DEFAULT_MAX_MINUTES, DEFAULT_PRACTICE
from analytics.importing.reader import RowProblem
from analytics.storage.pseudonyms import number_hint, number_key
from analytics.storage.sql import TRUE, execute, identifier, query, sql

LEFT_OUT_REASONS = (
    "missed call",
    "voicemail",
    "rejected call",
    "blocked call",
    "call of unknown type",
    "call of zero length",
    "text not sent (draft, outbox, failed or queued)",
    "group message",
    "withheld or empty number",
    "not a valid phone number",
)
"""Why a call or text is not a contact, in the order the report lists them."""


@dataclass(frozen=True)
class PhoneLogOptions:
    """Whose phone the log comes from and how to read it.

    ``time_zone`` is used when the therapist is new (a known therapist keeps theirs);
    ``call_category`` is given to every call, since a call has no text to classify;
    ``region`` (``IT``, ``DE``...) reads numbers written without a country code, else the
    stored default region; ``country_code`` (``39``) is the older way to say the same and
    stands for its main region (see ``phone_numbers``).
    """

    therapist: str | None = None
    practice: str | None = None
    time_zone: str = "UTC"
    call_category: str = "other"
    country_code: str | None = None
    max_minutes: float = DEFAULT_MAX_MINUTES
    region: str | None = None

    @property
    def therapist_name(self) -> str:
        """The therapist named ("" when none is: an import then refuses the log)."""
        return (self.therapist or "").strip()

    @property
    def practice_name(self) -> str:
        """The practice named, else the default one."""
        return (self.practice or "").strip() or DEFAULT_PRACTICE


@dataclass(frozen=True)
class UnmatchedNumber:
    """A number of the file that no client is mapped to (in its international form, which
    the mapping takes), and what its calls and texts would bring."""

    number: str
    number_hint: str
    calls: int
    texts: int
    minutes: float


@dataclass(frozen=True)
class InvalidNumber:
    """A number of the file that is not a valid phone number, as written, with the reason;
    its calls and texts are left out."""

    number: str
    reason: str
    calls: int
    texts: int


# -- SQL over the staged columns -------------------------------------------------------

# One row per call or text: what it is, when, how long, who started it, and why it is left
# out (NULL when it is a contact). The body is only read by the classification before,
# and here as a digest: ``repeated`` marks an entry identical to an earlier one of the
# file (same number, instant, kind, type, length and body), as merged backups hold.
_PARSED_SQL = """
CREATE OR REPLACE TEMP TABLE phone_parsed AS
WITH typed AS (
    SELECT r.row_number, r.kind, r.number,
           TRY_CAST(r.date AS BIGINT) AS epoch_ms,
           TRY_CAST(r.duration AS DOUBLE) AS seconds,
           TRY_CAST(r.type AS INTEGER) AS type,
           contains(coalesce(r.number, ''), '~') AS group_message,
           k.number_key, k.number_hint, k.shown, k.invalid_reason,
           md5(coalesce(r.body, '')) AS body_digest,
           {words} AS words,
           coalesce(c.category, 'other') AS text_category
    FROM phone_rows AS r
    LEFT JOIN phone_keys AS k USING (number)
    LEFT JOIN phone_classes AS c USING (row_number)
)
SELECT row_number, kind, number_key, number_hint, shown, invalid_reason, words,
       row_number() OVER (
           PARTITION BY kind, coalesce(number_key, number), epoch_ms, seconds, type,
                        body_digest
           ORDER BY row_number
       ) > 1 AS repeated,
       CASE WHEN kind = 'call' THEN 'phone' ELSE 'text' END AS channel,
       CASE WHEN epoch_ms BETWEEN 0 AND 4102444800000
            THEN timezone('UTC', make_timestamp(epoch_ms * 1000)) END AS started_at,
       CASE WHEN kind = 'call' THEN seconds / 60
            ELSE greatest($floor_minutes, least($ceiling_minutes, words / CASE WHEN type = 2
                THEN $writing_wpm ELSE $reading_wpm END)) END AS minutes,
       CASE WHEN kind = 'call' THEN $call_category ELSE text_category END AS category,
       CASE WHEN type IN (1, 7) THEN 'client' WHEN type = 2 THEN 'therapist'
            ELSE 'unknown' END AS direction,
       CASE
           WHEN epoch_ms IS NULL OR NOT epoch_ms BETWEEN 0 AND 4102444800000
               THEN 'The date could not be read (epoch milliseconds expected).'
           WHEN kind = 'call' AND type IN (1, 2, 7) AND seconds IS NULL
               THEN 'The call''s duration could not be read (seconds expected).'
           WHEN kind = 'call' AND type IN (1, 2, 7) AND seconds < 0
               THEN 'The call''s duration is negative.'
           WHEN kind = 'call' AND type IN (1, 2, 7) AND seconds / 60 > $max_minutes
               THEN 'The call of ' || round(seconds / 60, 1) || ' minutes is over the '
                    || $max_label || '-minute maximum.'
       END AS problem,
       CASE
           WHEN kind = 'call' AND type = 3 THEN 'missed call'
           WHEN kind = 'call' AND type = 4 THEN 'voicemail'
           WHEN kind = 'call' AND type = 5 THEN 'rejected call'
           WHEN kind = 'call' AND type = 6 THEN 'blocked call'
           WHEN kind = 'call' AND (type IS NULL OR type NOT IN (1, 2, 7))
               THEN 'call of unknown type'
           WHEN kind = 'call' AND seconds = 0 THEN 'call of zero length'
           WHEN kind <> 'call' AND (type IS NULL OR type NOT IN (1, 2))
               THEN 'text not sent (draft, outbox, failed or queued)'
           WHEN group_message THEN 'group message'
           WHEN invalid_reason IS NOT NULL THEN 'not a valid phone number'
           WHEN number_key IS NULL THEN 'withheld or empty number'
       END AS left_out
FROM typed
""".replace("{words}", word_count_sql("r.body"))

# Texts of one number less than the model's gap apart become one contact
# (``message_minutes``): the contact replaces its first text, the others go.
_TEXT_CONTACTS_SQL = (
    "CREATE OR REPLACE TEMP TABLE phone_text_contacts AS "  # noqa: S608 - fixed text
    + message_contacts_sql(
        "SELECT row_number, number_key AS conversation, started_at AS moment, direction, "
        "words, category FROM phone_matched WHERE channel = 'text' AND NOT repeated"
    )
)
_MERGE_TEXTS_SQL = """
CREATE OR REPLACE TEMP TABLE phone_matched AS
SELECT m.* REPLACE (
           coalesce(t.minutes, m.minutes) AS minutes,
           coalesce(t.direction, m.direction) AS direction,
           coalesce(t.category, m.category) AS category
       )
FROM phone_matched AS m
LEFT JOIN phone_text_contacts AS t ON t.first_row = m.row_number
WHERE m.channel <> 'text' OR m.repeated OR t.first_row IS NOT NULL
"""

# Candidate contacts (readable, not left out) with the client their number is mapped to,
# if any, for this therapist.
_MATCHED_SQL = """
CREATE OR REPLACE TEMP TABLE phone_matched AS
SELECT p.*, m.client_id, cl.label AS client_label
FROM phone_parsed AS p
LEFT JOIN phone_numbers AS m ON m.therapist_id = ? AND m.number_key = p.number_key
LEFT JOIN clients AS cl ON cl.client_id = m.client_id
WHERE p.problem IS NULL AND p.left_out IS NULL
"""

# The canonical shape ``store.store_incoming`` takes. A text already stored for the same
# therapist, client and instant is left out here, so a re-import after the minutes per
# text changed still adds nothing (its fingerprint, which includes the minutes, would
# differ).
_INCOMING_SQL = """
CREATE OR REPLACE TEMP TABLE incoming AS
SELECT $practice AS practice, $therapist AS therapist, $time_zone AS time_zone,
       m.client_label AS client, m.started_at, m.minutes, m.channel, m.category,
       m.direction, true AS time_known, m.row_number
FROM phone_matched AS m
WHERE m.client_id IS NOT NULL AND NOT m.repeated
  AND NOT (m.channel = 'text' AND EXISTS (
      SELECT 1 FROM contacts AS e
      WHERE e.therapist_id = $therapist_id AND e.client_id = m.client_id
        AND e.started_at = m.started_at AND e.channel = 'text'
  ))
ORDER BY m.row_number
"""


def _stage(
    cursor: duckdb.DuckDBPyConnection,
    columns: PhoneColumns,
    options: PhoneLogOptions,
    secret: bytes,
) -> None:
    """Stage the columns as ``phone_rows`` and key each distinct number once, in
    ``phone_keys`` (number as written, its key, hint and the form shown to the user)."""
    import pyarrow as pa

    table = pa.table(
        {
            "row_number": pa.array(range(1, len(columns.kind) + 1), pa.int64()),
            "kind": pa.array(columns.kind, pa.string()),
            "number": pa.array(columns.number, pa.string()),
            "duration": pa.array(columns.duration, pa.string()),
            "date": pa.array(columns.date, pa.string()),
            "type": pa.array(columns.type, pa.string()),
            "body": pa.array(columns.body, pa.string()),
        }
    )
    cursor.register("phone_arrow", table)
    cursor.execute("CREATE OR REPLACE TEMP TABLE phone_rows AS SELECT * FROM phone_arrow")
    cursor.unregister("phone_arrow")
    distinct = [
        number
        for (number,) in cursor.execute(
            "SELECT DISTINCT number FROM phone_rows WHERE number IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    # Older keys were made from another written form, with the country code of that time
    # (the one given, else the region's): computed only to find and re-key them.
    legacy_code = legacy_country_code(options.region, options.country_code)
    keyed: list[tuple[str, str | None, str | None, str, str | None, str | None]] = []
    for number in distinct:  # distinct numbers: a few hundred, not contacts
        if "~" in number:
            continue
        read = read_number(number, options.region)
        legacy = legacy_number_form(number, legacy_code)
        legacy_key = number_key(secret, legacy) if legacy else None
        if read.e164 is not None:
            keyed.append(
                (
                    number,
                    number_key(secret, read.e164),
                    number_hint(read.e164),
                    read.e164,
                    None,
                    legacy_key,
                )
            )
        elif read.reason is not None:
            keyed.append((number, None, None, number.strip(), read.reason, None))
    cursor.execute(
        """
        CREATE OR REPLACE TEMP TABLE phone_keys AS
        SELECT unnest(?::VARCHAR[]) AS number, unnest(?::VARCHAR[]) AS number_key,
               unnest(?::VARCHAR[]) AS number_hint, unnest(?::VARCHAR[]) AS shown,
               unnest(?::VARCHAR[]) AS invalid_reason, unnest(?::VARCHAR[]) AS legacy_key
        """,
        [[row[i] for row in keyed] for i in range(6)],
    )


def _therapist(
    cursor: duckdb.DuckDBPyConnection, scope: Scope, options: PhoneLogOptions
) -> tuple[int | None, str | None]:
    """The stored therapist the log belongs to and their zone (None while new)."""
    found = query(
        """
        SELECT t.therapist_id, t.time_zone
        FROM therapists AS t JOIN practices AS p USING (practice_id)
        WHERE p.name = $practice AND t.name = $therapist AND {in_scope}
        """,
        in_scope=scope.fragment("t"),
        practice=options.practice_name,
        therapist=options.therapist_name,
    )
    row = execute(cursor, found).fetchone()
    return (int(row[0]), str(row[1])) if row else (None, None)


def _problems(cursor: duckdb.DuckDBPyConnection) -> list[RowProblem]:
    rows = cursor.execute(
        """
        SELECT row_number, CASE WHEN problem LIKE 'The date%' THEN 'date'
                                ELSE 'duration' END, problem
        FROM phone_parsed WHERE problem IS NOT NULL ORDER BY row_number
        """
    ).fetchall()
    return [RowProblem(row=int(row), column=column, message=text) for row, column, text in rows]


def _left_out(cursor: duckdb.DuckDBPyConnection) -> dict[str, int]:
    rows = dict(
        cursor.execute(
            "SELECT left_out, count(*) FROM phone_parsed "
            "WHERE problem IS NULL AND left_out IS NOT NULL GROUP BY left_out"
        ).fetchall()
    )
    return {reason: int(rows[reason]) for reason in LEFT_OUT_REASONS if reason in rows}


def _unmatched(cursor: duckdb.DuckDBPyConnection) -> list[UnmatchedNumber]:
    rows = cursor.execute(
        """
        SELECT min(shown), any_value(number_hint),
               count(*) FILTER (WHERE channel = 'phone'),
               count(*) FILTER (WHERE channel = 'text'), sum(minutes)
        FROM phone_matched WHERE client_id IS NULL AND NOT repeated
        GROUP BY number_key
        ORDER BY sum(minutes) DESC, min(shown)
        """
    ).fetchall()
    return [
        UnmatchedNumber(str(shown), str(hint), int(calls), int(texts), float(minutes))
        for shown, hint, calls, texts, minutes in rows
    ]


def _invalid(cursor: duckdb.DuckDBPyConnection) -> list[InvalidNumber]:
    """Numbers that are not valid, as written, with the reason and their entries."""
    rows = cursor.execute(
        """
        SELECT shown, any_value(invalid_reason), count(*) FILTER (WHERE channel = 'phone'),
               count(*) FILTER (WHERE channel = 'text')
        FROM phone_parsed
        WHERE problem IS NULL AND left_out = 'not a valid phone number'
        GROUP BY shown ORDER BY count(*) DESC, shown
        """
    ).fetchall()
    return [
        InvalidNumber(str(shown), str(reason), int(calls), int(texts))
        for shown, reason, calls, texts in rows
    ]


_FIGURES_SQL = """
SELECT count(*) FILTER (WHERE channel = 'phone'), count(*) FILTER (WHERE channel = 'text'),
       coalesce(sum(minutes) FILTER (WHERE channel = 'phone'), 0),
       coalesce(sum(minutes) FILTER (WHERE channel = 'text'), 0)
FROM {table}
WHERE {which}
"""


def _stored_figures(cursor: duckdb.DuckDBPyConnection, table: str) -> tuple[int, int, float, float]:
    figures = query(_FIGURES_SQL, table=identifier(table), which=TRUE)
    row = execute(cursor, figures).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), float(row[2]), float(row[3])


def _batch_figures(
    cursor: duckdb.DuckDBPyConnection, batch_id: int
) -> tuple[int, int, float, float]:
    figures = query(
        _FIGURES_SQL,
        table=identifier("contacts"),
        which=sql("batch_id = $batch_id", batch_id=batch_id),
    )
    row = execute(cursor, figures).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), float(row[2]), float(row[3])


def _preview(cursor: duckdb.DuckDBPyConnection, rows: int = 20) -> pd.DataFrame:
    """The first contacts as they will be stored (no number, no body)."""
    return cursor.execute(
        """
        SELECT row_number AS "row", client, timezone(time_zone, started_at) AS local_start,
               time_zone, round(minutes, 4) AS minutes, channel, category, direction
        FROM incoming ORDER BY row_number LIMIT ?
        """,
        [rows],
    ).df()
