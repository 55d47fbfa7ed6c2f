"""Words a therapist reads: numbers with their units, counts with the right plural, and
tables whose stored codes (``check_in``, ``no_show``, ``boundary_edit``) and column names
(``rows_read``) are turned into words.

One module for the dashboard (ui/format.py re-exports it) and the supervision report, so a
number reads the same everywhere: minutes with thousands separators (``"1,234 min"``),
hours with one decimal (``"20.6 h"``), shares with one decimal (``"23.4 %"``).
"""

import math
from typing import Any, Final, LiteralString

import pandas as pd

from analytics.domain import CATEGORY_LABELS, CHANNEL_LABELS
from analytics.measures.session_load import STATUS_LABELS
from analytics.storage.audit import ACTIONS
from analytics.storage.sql import Fragment, query, sql

MISSING: Final = "–"
"""What a number that is not known shows (never ``None`` or ``nan``)."""


def missing(value: Any) -> bool:
    """Whether ``value`` is unknown: None, NaN, NaT or pandas' NA."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def plural(count: float, noun: str, nouns: str | None = None) -> str:
    """``"1 client"``, ``"2 clients"``, ``"12,000 contacts"``; ``nouns`` for irregular
    plurals (``plural(2, "entry", "entries")``)."""
    many = nouns if nouns is not None else f"{noun}s"
    shown = f"{count:,}" if float(count).is_integer() else f"{count:,.1f}"
    return f"{shown} {noun if count == 1 else many}"


def minutes_text(minutes: float | None) -> str:
    """``"1,234 min (20.6 h)"`` from an hour up, ``"42 min"`` below."""
    if minutes is None or missing(minutes):
        return MISSING
    if minutes >= 60:
        return f"{minutes:,.0f} min ({minutes / 60:,.1f} h)"
    return f"{minutes:,.1f} min" if minutes % 1 else f"{minutes:,.0f} min"


def hours_text(hours: float | None) -> str:
    """Hours with one decimal and thousands separators, e.g. ``"1,822.3 h"``."""
    return MISSING if hours is None or missing(hours) else f"{float(hours):,.1f} h"


def date_text(value: Any) -> str:
    """A day as people write it ("27 Nov 2026"); empty for no date."""
    if missing(value):
        return ""
    day = pd.Timestamp(value)
    return f"{day.day} {day:%b %Y}"


def share_text(share: float | None) -> str:
    """A 0..1 share as a percentage with one decimal, e.g. ``"23.4 %"``."""
    return MISSING if share is None or missing(share) else f"{float(share) * 100:.1f} %"


DIRECTION_WORDS: Final = {
    "client": "Client",
    "therapist": "Therapist",
    "unknown": "Unknown",
}
"""Who started a contact, in words."""

SESSION_STATUS_WORDS: Final = {
    "attended": "Attended",
    "late_cancelled": "Late cancelled",
    "no_show": "No-show",
    "cancelled": "Cancelled in time",
}
"""Session statuses in tables and downloads (charts use session_load.STATUS_LABELS)."""
assert set(SESSION_STATUS_WORDS) == set(STATUS_LABELS)

AUDIT_ACTION_WORDS: Final = {
    "sign_in": "Signed in",
    "sign_out": "Signed out",
    "alert_dismiss": "Alert dismissed",
    "backup": "Backup",
    "boundary_edit": "Boundary edit",
    "erase_client": "Client erased",
    "export": "Download",
    "import": "Import",
    "report": "Supervision report",
    "restore": "Restore",
    "settings": "Setting changed",
    "undo": "Import undone",
    "reclassify": "Contacts re-classified",
}
"""What the audit log's ``action`` codes say in words (audit.ACTIONS, each one)."""
assert set(AUDIT_ACTION_WORDS) == set(ACTIONS)

TABLE_WORDS: Final = {
    "contacts": "contacts",
    "sessions": "sessions",
    "clients": "client record",
    "boundaries": "boundary entries",
    "boundary_changes": "boundary history entries",
    "phone_numbers": "phone numbers",
    "message_addresses": "e-mail addresses and chat names",
    "dismissed_alerts": "dismissed alerts",
}
"""What a stored table holds, for sentences such as "7 contacts, 1 client record removed"."""

VALUE_WORDS: Final[dict[str, dict[str, str]]] = {
    "category": dict(CATEGORY_LABELS),
    "channel": dict(CHANNEL_LABELS),
    "direction": DIRECTION_WORDS,
    "status": SESSION_STATUS_WORDS,
    "action": AUDIT_ACTION_WORDS,
    "table": {table: words.capitalize() for table, words in TABLE_WORDS.items()},
    "kind": {"contacts": "Contacts", "sessions": "Sessions"},
    "role": {
        "local": "Local",
        "admin": "Admin",
        "supervisor": "Supervisor",
        "therapist": "Therapist",
        "none": "No role",
    },
}
"""Code columns of a table and the words each code shows as."""

COLUMN_WORDS: Final = {
    "batch_id": "Batch",
    "change_id": "Change",
    "changed_at": "Changed at (UTC)",
    "changed_by": "Changed by",
    "created_at": "Imported at",
    "logged_at": "When",
    "file_name": "File",
    "rows_read": "Rows read",
    "rows_imported": "Rows imported",
    "rows_duplicate": "Duplicates skipped",
    "rows_rejected": "Rows rejected",
    "rows_erased": "Rows of erased clients skipped",
    "client_key": "Key",
    "label": "Client",
    "started_at": "Time (UTC)",
    "local_started_at": "Local time",
    "minutes": "Minutes",
    "contacts": "Contacts",
    "share": "Share of minutes",
    "week_start": "Week of",
    "month_start": "Month",
    "identity": "Who",
    "detail": "Detail",
    "issuer": "Sign-in issuer",
    "subject": "Sign-in subject",
}
"""Column names that do not read well written out; any other ``snake_case`` name becomes
``Snake case``."""


def sql_words(expression: str, words: dict[str, str]) -> str:
    """A SQL ``CASE`` that turns the codes of ``expression`` into ``words`` (codes and words
    are this module's constants, never user input; anything else stays as it is)."""

    def literal(text: str) -> str:
        return "'" + text.replace("'", "''") + "'"

    cases = " ".join(f"WHEN {literal(code)} THEN {literal(word)}" for code, word in words.items())
    return f"(CASE {expression} {cases} ELSE {expression} END)"


def channel_words_sql(expression: LiteralString) -> Fragment:
    """A SQL expression: the channel code ``expression`` in words (``CHANNEL_LABELS``, bound
    as the parameters ``$channel_codes`` and ``$channel_words``); any other code as it is."""
    return query(
        "coalesce(list_extract($channel_words, list_position($channel_codes, {code})), {code})",
        code=sql(expression),
        channel_codes=list(CHANNEL_LABELS),
        channel_words=list(CHANNEL_LABELS.values()),
    )


def category_words_sql(expression: LiteralString) -> Fragment:
    """A SQL expression: the category code ``expression`` in words (``CATEGORY_LABELS``, bound
    as ``$category_codes`` and ``$category_words``); any other code as it is."""
    return query(
        "coalesce(list_extract($category_words, list_position($category_codes, {code})), {code})",
        code=sql(expression),
        category_codes=list(CATEGORY_LABELS),
        category_words=list(CATEGORY_LABELS.values()),
    )


def column_words(column: object) -> str:
    """A column name as a header: ``"rows_read"`` → ``"Rows read"``."""
    name = str(column)
    if name in COLUMN_WORDS:
        return COLUMN_WORDS[name]
    if name != name.lower() or " " in name:
        return name  # already words
    return name.replace("_", " ").capitalize()


def code_words(column: object, code: object) -> object:
    """``code`` of ``column`` in words (``("category", "check_in")`` → ``"Check-ins"``);
    anything else unchanged, unknown values as an empty cell."""
    if missing(code):
        return ""
    if isinstance(code, bool):
        return "Yes" if code else "No"
    words = VALUE_WORDS.get(str(column))
    if words is not None and isinstance(code, str):
        return words.get(code, code.replace("_", " ").capitalize())
    return code


def in_words(frame: pd.DataFrame, *, headers: bool = True) -> pd.DataFrame:
    """A copy of ``frame`` to show or download: code columns in words, yes/no for true and
    false, empty cells for unknown text, and every header in words (``headers=False``
    keeps the names, for a table whose ``column_config`` names them)."""
    shown = frame.copy()
    for column in shown.columns:
        values = shown[column]
        if str(column) in VALUE_WORDS or pd.api.types.is_bool_dtype(values):
            shown[column] = values.map(lambda code, column=column: code_words(column, code))
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            shown[column] = values.astype(object).where(values.notna(), "")
    return shown.rename(columns=column_words) if headers else shown


__all__ = [
    "AUDIT_ACTION_WORDS",
    "COLUMN_WORDS",
    "DIRECTION_WORDS",
    "MISSING",
    "SESSION_STATUS_WORDS",
    "TABLE_WORDS",
    "VALUE_WORDS",
    "category_words_sql",
    "channel_words_sql",
    "code_words",
    "column_words",
    "date_text",
    "hours_text",
    "in_words",
    "minutes_text",
    "missing",
    "plural",
    "share_text",
    "sql_words",
]
