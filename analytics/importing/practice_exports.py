"""Appointment reports of practice-management systems as scheduled sessions.

SimplePractice's *Appointment status* report (Reports > Appointment status, downloaded as
CSV) has one row per appointment with a billing code. Its columns, as a practice's real
download shows them (github.com/dymir1990/fsc-portal, backend/sample_data/
simplepractice_actual.csv; SimplePractice Help Center, "Appointment Status Report:
Checking the billing and documentation status for appointments")::

    Date of Service,Client,Clinician,Billing Code,Primary Insurance,Secondary Insurance,
    Rate per Unit,Units,Total Fee,Client Payment Status,Charge,Uninvoiced,Paid,Unpaid,
    Insurance Payment Status,Charge,Paid,Unpaid

``Date of Service`` is the local start (``10/06/2025 12:00``, US month first), codes and
amounts carry trailing spaces (``90837 ``), and the last three headers repeat. What is
read: the start, the client, the clinician and the billing code; fees, insurance and
payment columns are left out. The report has no length: a psychotherapy code says it
(CPT time rules, ``CPT_MINUTES``); rows with another code are listed, not guessed. It has
no attendance column either: its rows are appointments SimplePractice bills (a status of
Show, or a charged No Show or Late Cancel), so they are stored as attended unless the file
has an ``Appointment Status`` column (some downloads do), read like a session file's status.

Contact notes of the same systems (TherapyNotes' "Method of Communication", "Reason for
Communication", minutes) are contact logs: see the ``therapynotes`` preset in
``presets``. Everything per row happens in SQL, through the session importer's parsers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from analytics.access.scope import LOCAL, Scope
from analytics.importing.parsing import datetime_sql, file_date_order
from analytics.importing.person_names import is_placeholder, placeholder_sql
from analytics.importing.pipeline import (
    DEFAULT_PRACTICE,
    check_time_zone,
)
from analytics.importing.reader import stage_text_table
from analytics.importing.session_csv import STATUS_SPELLINGS, store_incoming_sessions
from analytics.importing.session_report import SessionOptions, SessionReport
from analytics.storage.database import Database
from analytics.storage.store import record_import

if TYPE_CHECKING:
    pass

PRESET = "simplepractice"
"""How batches of SimplePractice appointment reports are labelled (and ``files[].preset``)."""

SIGNATURE = ("date of service", "client", "clinician", "billing code", "rate per unit", "units")
"""Header cells (normalised) every SimplePractice appointment status report has."""

CPT_MINUTES: dict[str, float] = {
    "90832": 30,  # psychotherapy, 16-37 minutes: booked as 30
    "90834": 45,  # psychotherapy, 38-52 minutes: booked as 45
    "90837": 60,  # psychotherapy, 53 minutes or more: booked as 60
    "90791": 60,  # psychiatric diagnostic evaluation (intake)
    "90792": 60,  # diagnostic evaluation with medical services
    "90839": 60,  # psychotherapy for crisis, first 60 minutes
    "90846": 50,  # family psychotherapy without the client, 50 minutes
    "90847": 50,  # family psychotherapy with the client, 50 minutes
    "90853": 60,  # group psychotherapy
}
"""Session length per CPT code (the codes' time rules, AMA CPT 2024; what practices book)."""


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\ufeff", "")).lower()
    return re.sub(r"[\W_]+", " ", text).strip()


def is_practice_appointments(header: Sequence[str]) -> bool:
    """Whether a CSV header is a SimplePractice appointment status report's."""
    cells = {_normalize(cell) for cell in header}
    return all(cell in cells for cell in SIGNATURE)


def _column(header: Sequence[str], *names: str) -> str | None:
    """The staged column (c1..cN) of the first header cell named one of ``names``."""
    normalized = [_normalize(cell) for cell in header]
    for name in names:
        if name in normalized:
            return f"c{normalized.index(name) + 1}"
    return None


_PARSED_SQL = """
CREATE OR REPLACE TEMP TABLE practice_parsed AS
WITH base AS (
    SELECT row_number, {client} AS client, {therapist} AS therapist,
           {started} AS ls, nullif(trim({code}), '') AS code, {status_cell} AS status_cell
    FROM practice_raw
)
SELECT row_number, client, therapist, ls, code, status_cell,
       $minutes[list_position($codes, code)] AS minutes,
       CASE WHEN status_cell IS NULL THEN 'attended' {status_cases} END AS status
FROM base
"""

_ERRORS_SQL = """
SELECT row_number, column_name, message FROM (
    SELECT row_number, 'Client' AS column_name, 'No client is named in this row.' AS message,
           1 AS check_order
    FROM practice_parsed WHERE client IS NULL
    UNION ALL
    SELECT row_number, 'Date of Service', 'The date of service could not be read.', 2
    FROM practice_parsed WHERE ls IS NULL
    UNION ALL
    SELECT row_number, 'Billing Code',
           CASE WHEN code IS NULL THEN 'No billing code is given, so the length is not known.'
                ELSE 'The billing code ' || code || ' gives no session length (psychotherapy '
                     || 'codes such as 90834 and 90837 do).' END, 3
    FROM practice_parsed WHERE minutes IS NULL
    UNION ALL
    SELECT row_number, 'Appointment Status',
           'The status "' || status_cell || '" is not known; use show, no show, late cancel '
           || 'or cancelled.', 4
    FROM practice_parsed WHERE status IS NULL
)
ORDER BY row_number, check_order
"""

_INCOMING_SQL = """
CREATE OR REPLACE TEMP TABLE session_incoming AS
SELECT $practice AS practice, coalesce(p.therapist, $therapist) AS therapist,
       coalesce(t.time_zone, $zone) AS time_zone, p.client,
       timezone(coalesce(t.time_zone, $zone), p.ls) AS started_at,
       p.minutes, p.status, NULL AS identity, p.row_number
FROM practice_parsed AS p
LEFT JOIN practices AS pr ON pr.name = $practice
LEFT JOIN therapists AS t
       ON t.practice_id = pr.practice_id AND t.name = coalesce(p.therapist, $therapist)
WHERE p.client IS NOT NULL AND p.ls IS NOT NULL AND p.minutes IS NOT NULL
  AND p.status IS NOT NULL
ORDER BY p.row_number
"""


def import_practice_appointments(
    db: Database,
    source: bytes | Path,
    *,
    file_name: str,
    options: SessionOptions | None = None,
    scope: Scope = LOCAL,
    dry_run: bool = False,
) -> SessionReport:
    """Import a SimplePractice appointment status report's appointments as sessions (one
    batch; ``dry_run`` reports without storing). Rows already stored are skipped."""
    scope.require_import()
    options = options or SessionOptions()
    with db.transaction(rollback=dry_run) as cursor:
        report = _import(cursor, db, source, file_name, options, dry_run)
        if report.batch_id is not None:
            record_import(cursor, scope, file_name, report.batch_id, report.imported)
        return report


def _import(
    cursor: duckdb.DuckDBPyConnection,
    db: Database,
    source: bytes | Path,
    file_name: str,
    options: SessionOptions,
    dry_run: bool,
) -> SessionReport:
    check_time_zone(cursor, options.time_zone)
    table = stage_text_table(cursor, source, "practice_raw")
    _parse(cursor, table.header, options)
    cursor.execute("DROP TABLE practice_raw")
    problems = cursor.execute(_ERRORS_SQL).fetchall()
    cursor.execute(
        _INCOMING_SQL,
        {
            "practice": options.practice or DEFAULT_PRACTICE,
            "therapist": None if is_placeholder(options.therapist) else options.therapist,
            "zone": options.time_zone,
        },
    )
    cursor.execute("DROP TABLE practice_parsed")
    return store_incoming_sessions(
        cursor,
        db,
        source=source,
        file_name=file_name,
        table=table,
        problems=problems,
        preset=PRESET,
        detected=f"SimplePractice appointment status report; {table.describe()}",
        who="no clinician",
        nothing="no appointments",
        options=options,
        dry_run=dry_run,
    )


def _parse(
    cursor: duckdb.DuckDBPyConnection, header: Sequence[str], options: SessionOptions
) -> None:
    """Create ``practice_parsed``: start, client, clinician, code, length and status per
    row (NULL where a cell did not read)."""
    started = _column(header, "date of service") or "NULL"
    # SimplePractice writes US dates; a file whose every date reads both ways is month first.
    order = options.date_order or file_date_order(cursor, "practice_raw", started) or "mdy"
    status_column = _column(header, "appointment status")
    status_key = "regexp_replace(lower(status_cell), '[^a-z]', '', 'g')"
    status_cases = " ".join(
        f"WHEN list_contains(${status}, {status_key}) THEN '{status}'"
        for status in STATUS_SPELLINGS
    )
    therapist = _column(header, "clinician") or "NULL"
    sql = _PARSED_SQL.format(
        client=_column(header, "client") or "NULL",
        therapist=placeholder_sql(therapist),
        started=datetime_sql(started, order),
        code=_column(header, "billing code") or "NULL",
        status_cell=status_column or "NULL",
        status_cases=status_cases if status_column else "",
    )
    cursor.execute(
        sql,
        {
            "codes": list(CPT_MINUTES),
            "minutes": list(CPT_MINUTES.values()),
            **(
                {status: list(words) for status, words in STATUS_SPELLINGS.items()}
                if status_column
                else {}
            ),
        },
    )
