"""Billing rules: the rule table (one row per code, CPT 98970-98972 and 98966-98968 by
default, editable on the Billing page) and the fee schedule, read, checked and stored.

What the rules mean for contacts is measured in ``analytics.measures.billing``; files of
rules and fees are read and written by ``policy.billing_files``. Rules and fees are
practice-wide settings: any viewer who sees anything reads them; local mode and admins
change them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import duckdb

from analytics.access.scope import Scope
from analytics.domain import CATEGORIES, CATEGORY_LABELS, CHANNEL_LABELS, CHANNELS
from analytics.errors import ContactLoadError, PermissionDeniedError
from analytics.storage import audit
from analytics.storage.database import Database
from analytics.storage.schema import BILLING_DIRECTIONS, BILLING_FAMILIES
from analytics.storage.sql import Fragment, query, sql

if TYPE_CHECKING:
    import pandas as pd


NEVER_COUNTING = ("scheduling", "reminder")
"""Non-evaluative messages never count toward a code (DOMAIN.md; CPT 98970 descriptor)."""

RULE_COLUMNS = (
    "code",
    "family",
    "description",
    "channels",
    "direction",
    "counting_categories",
    "excluded_categories",
    "min_minutes",
    "max_minutes",
    "window_days",
    "prior_session_days",
    "session_after_hours",
    "active",
)
"""The rule table's columns, in order (the editor shows them the same way)."""

FAMILY_FIELDS = (
    "channels",
    "direction",
    "counting_categories",
    "excluded_categories",
    "window_days",
    "prior_session_days",
    "session_after_hours",
)
"""Fields every active code of one family must share (they define its episodes)."""

_CURRENCY = re.compile(r"^[A-Z]{3}$")


class InvalidBillingRuleError(ContactLoadError):
    """A billing rule or fee that cannot be used as entered."""


@dataclass(frozen=True)
class FamilyRule:
    """What one family's active codes share, and the span of their bands."""

    family: str
    channels: tuple[str, ...]
    directions: tuple[str, ...]
    counting_categories: tuple[str, ...]
    window_days: int | None
    prior_session_days: int
    session_after_hours: int
    lowest_minutes: float
    highest_minutes: float | None


# --- rules and fees -----------------------------------------------------------------------


def _require_reader(scope: Scope) -> None:
    if scope.sees_nothing:
        raise PermissionDeniedError(f"{scope.identity} may not see billing rules or fees.")


def _require_editor(scope: Scope) -> None:
    """Rules and fees are practice-wide settings: local mode and admins change them."""
    if scope.role not in ("local", "admin"):
        raise PermissionDeniedError(
            f"{scope.identity} ({scope.role}) may not change billing rules or fees; ask an admin."
        )


def billing_rules(db: Database, scope: Scope, *, as_text: bool = False) -> pd.DataFrame:
    """The rule table, online codes first, each family by its lowest band; ``as_text``
    gives the list columns as comma-separated words (for the editor: "Check-ins, Support";
    saving reads words or codes)."""
    _require_reader(scope)
    if as_text:
        channels = _in_words("channels", CHANNEL_LABELS, "channel")
        counting = _in_words("counting_categories", CATEGORY_LABELS, "category")
        excluded = _in_words("excluded_categories", CATEGORY_LABELS, "category")
    else:
        channels = sql("channels")
        counting = sql("counting_categories")
        excluded = sql("excluded_categories")
    return db.frame(query(_RULES_SQL, channels=channels, counting=counting, excluded=excluded))


# The columns of RULE_COLUMNS, in order; the list columns as stored or in words.
_RULES_SQL = """
SELECT code, family, description, {channels} AS channels, direction,
       {counting} AS counting_categories, {excluded} AS excluded_categories,
       min_minutes, max_minutes, window_days, prior_session_days, session_after_hours, active
FROM billing_rules
ORDER BY family = 'telephone', family, min_minutes, code
"""

_WORDS_SQL = {
    "channels": "array_to_string(list_transform(channels, lambda item: coalesce("
    "map_extract(map($channel_codes, $channel_words), item)[1], item)), ', ')",
    "counting_categories": "array_to_string(list_transform(counting_categories, lambda item: "
    "coalesce(map_extract(map($category_codes, $category_words), item)[1], item)), ', ')",
    "excluded_categories": "array_to_string(list_transform(excluded_categories, lambda item: "
    "coalesce(map_extract(map($category_codes, $category_words), item)[1], item)), ', ')",
}


def _in_words(column: str, words: dict[str, str], kind: str) -> Fragment:
    """A list column as comma-separated words (codes without a word stay as they are)."""
    return Fragment(
        _WORDS_SQL[column], {f"{kind}_codes": list(words), f"{kind}_words": list(words.values())}
    )


def _items(value: Any) -> tuple[str, ...]:
    """A list cell from the editor: a list, or comma-separated text; blanks dropped."""
    if value is None:
        return ()
    if isinstance(value, str):
        parts = value.split(",")
    else:
        try:
            parts = [str(item) for item in value]
        except TypeError:
            return ()
    items = (part.strip().lower() for part in parts if part and part.strip())
    return tuple(_CODES_OF_WORDS.get(item, item) for item in items)


_CODES_OF_WORDS = {
    words.lower(): code
    for labels in (CHANNEL_LABELS, CATEGORY_LABELS)
    for code, words in labels.items()
}
"""Channels and categories as the editor shows them ("check-ins") and their codes."""


def is_blank(value: Any) -> bool:
    """An empty editor cell: None, NaN or blank text."""
    if value is None:
        return True
    if isinstance(value, float) and value != value:  # NaN
        return True
    return isinstance(value, str) and not value.strip()


def _number(value: Any, code: str, label: str, *, whole: bool = False) -> float | None:
    if is_blank(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidBillingRuleError(f"Code {code}: {label} {value!r} is not a number.") from None
    if number < 0 or (whole and number != int(number)):
        kind = "a whole number of 0 or more" if whole else "0 or more"
        raise InvalidBillingRuleError(f"Code {code}: {label} must be {kind}, not {value}.")
    return number


def validate_rules(rules: pd.DataFrame) -> list[dict[str, Any]]:
    """Check an edited rule table; return its rows cleaned, or raise one sentence."""
    missing = [column for column in RULE_COLUMNS if column not in rules.columns]
    if missing:
        raise InvalidBillingRuleError(f"The rule table lacks the column(s) {', '.join(missing)}.")
    cleaned: list[dict[str, Any]] = []
    for record in rules.to_dict("records"):  # a handful of codes, never contacts
        code = "" if is_blank(record["code"]) else str(record["code"]).strip()
        if not code:
            raise InvalidBillingRuleError("Every rule needs a code (e.g. 98970).")
        family = str(record["family"] or "").strip().lower()
        if family not in BILLING_FAMILIES:
            raise InvalidBillingRuleError(
                f"Code {code}: family must be {' or '.join(BILLING_FAMILIES)}, not {family!r}."
            )
        channels = _items(record["channels"])
        unknown = sorted(set(channels) - set(CHANNELS))
        if not channels or unknown:
            raise InvalidBillingRuleError(
                f"Code {code}: channels must name one or more of {', '.join(CHANNELS)}"
                + (f" ({', '.join(unknown)} is not one)." if unknown else ".")
            )
        direction = str(record["direction"] or "").strip().lower()
        if direction not in BILLING_DIRECTIONS:
            raise InvalidBillingRuleError(
                f"Code {code}: direction must be {' or '.join(BILLING_DIRECTIONS)}, "
                f"not {direction!r}."
            )
        counting = _items(record["counting_categories"])
        excluded = _items(record["excluded_categories"])
        unknown = sorted((set(counting) | set(excluded)) - set(CATEGORIES))
        if unknown:
            raise InvalidBillingRuleError(
                f"Code {code}: unknown category {', '.join(unknown)}; use {', '.join(CATEGORIES)}."
            )
        never = sorted(set(counting) & set(NEVER_COUNTING))
        if never:
            raise InvalidBillingRuleError(
                f"Code {code}: {', '.join(never)} never counts toward a code "
                "(non-evaluative messages); move it to the excluded categories."
            )
        both = sorted(set(counting) & set(excluded))
        left_out = sorted(set(CATEGORIES) - set(counting) - set(excluded))
        if both or left_out or not counting:
            raise InvalidBillingRuleError(
                f"Code {code}: every category must be either counting or excluded, once"
                + (f" ({', '.join(both)} is both)" if both else "")
                + (f" ({', '.join(left_out)} is neither)" if left_out else "")
                + ("" if counting else " (none counts)")
                + "."
            )
        low = _number(record["min_minutes"], code, "the band's lowest minute")
        if low is None:
            raise InvalidBillingRuleError(f"Code {code}: enter the band's lowest minute.")
        high = _number(record["max_minutes"], code, "the band's highest minute")
        if high is not None and high < low:
            raise InvalidBillingRuleError(
                f"Code {code}: the band ends ({high:g} min) before it starts ({low:g} min)."
            )
        window = _number(record["window_days"], code, "the window", whole=True)
        if family == "online" and (window is None or not 1 <= window <= 31):
            raise InvalidBillingRuleError(
                f"Code {code}: online work adds up over a window of 1 to 31 days (7 by CPT)."
            )
        if family == "telephone" and window is not None:
            raise InvalidBillingRuleError(
                f"Code {code}: a telephone code counts each call; leave its window empty."
            )
        prior = _number(record["prior_session_days"], code, "days before", whole=True)
        after = _number(record["session_after_hours"], code, "hours after", whole=True)
        if prior is None or after is None:
            raise InvalidBillingRuleError(
                f"Code {code}: enter the session exclusions (days before, hours after; 0 for none)."
            )
        cleaned.append(
            {
                "code": code,
                "family": family,
                "description": ""
                if is_blank(record["description"])
                else str(record["description"]),
                "channels": list(channels),
                "direction": direction,
                "counting_categories": list(counting),
                "excluded_categories": list(excluded),
                "min_minutes": low,
                "max_minutes": high,
                "window_days": None if window is None else int(window),
                "prior_session_days": int(prior),
                "session_after_hours": int(after),
                "active": bool(record["active"]) if not is_blank(record["active"]) else False,
            }
        )
    codes = [row["code"] for row in cleaned]
    repeated = sorted({code for code in codes if codes.count(code) > 1})
    if repeated:
        raise InvalidBillingRuleError(f"Code {', '.join(repeated)} appears more than once.")
    for family in BILLING_FAMILIES:
        _check_family([row for row in cleaned if row["family"] == family and row["active"]])
    return cleaned


def _check_family(rows: list[dict[str, Any]]) -> None:
    """One family's active codes share their episode fields and cover contiguous bands."""
    if not rows:
        return
    first = rows[0]
    for row in rows[1:]:
        for field in FAMILY_FIELDS:
            if _sorted_value(row[field]) != _sorted_value(first[field]):
                raise InvalidBillingRuleError(
                    f"Codes {first['code']} and {row['code']} are both {row['family']} codes but "
                    f"differ in {field.replace('_', ' ')}; change them together."
                )
    bands = sorted(rows, key=lambda row: row["min_minutes"])
    for lower, upper in pairwise(bands):
        if lower["max_minutes"] is None or upper["min_minutes"] != lower["max_minutes"] + 1:
            raise InvalidBillingRuleError(
                f"The bands of {lower['code']} and {upper['code']} must follow on whole minutes "
                f"({upper['code']} should start at "
                + ("an end" if lower["max_minutes"] is None else f"{lower['max_minutes'] + 1:g}")
                + " min)."
            )


def _sorted_value(value: Any) -> Any:
    """Lists compare as sets of keys; other values as they are."""
    return sorted(value) if isinstance(value, list) else value


def save_rules(db: Database, scope: Scope, rules: pd.DataFrame) -> int:
    """Replace the rule table with an edited one (all or nothing), recorded in the audit log.

    Returns the number of codes stored.
    """
    _require_editor(scope)
    cleaned = validate_rules(rules)
    with db.transaction() as cursor:
        store_rules(cursor, scope, cleaned)
    return len(cleaned)


_INSERT_RULE_SQL = """
INSERT INTO billing_rules (
    code, family, description, channels, direction, counting_categories, excluded_categories,
    min_minutes, max_minutes, window_days, prior_session_days, session_after_hours, active
)
VALUES (
    $code, $family, $description, $channels, $direction, $counting_categories,
    $excluded_categories, $min_minutes, $max_minutes, $window_days, $prior_session_days,
    $session_after_hours, $active
)
"""


def store_rules(
    cursor: duckdb.DuckDBPyConnection, scope: Scope, cleaned: list[dict[str, Any]]
) -> None:
    """Replace the rule table with rows ``validate_rules`` returned, in the caller's
    transaction, and record it in the audit log."""
    cursor.execute("DELETE FROM billing_rules")
    for row in cleaned:  # one row per code: a handful
        cursor.execute(_INSERT_RULE_SQL, {column: row[column] for column in RULE_COLUMNS})
    audit.record(
        cursor,
        scope,
        "settings",
        "billing rules: "
        + ", ".join(
            f"{row['code']} {row['min_minutes']:g}-"
            + ("" if row["max_minutes"] is None else f"{row['max_minutes']:g}")
            + ("" if row["active"] else " (inactive)")
            for row in cleaned
        ),
    )


def fee_schedule(db: Database, scope: Scope) -> pd.DataFrame:
    """Every code with the fee entered for it (empty where none), in rule order."""
    _require_reader(scope)
    return db.frame(
        """
        SELECT r.code, r.description, f.fee, f.currency
        FROM billing_rules AS r LEFT JOIN billing_fees AS f USING (code)
        ORDER BY r.family = 'telephone', r.family, r.min_minutes, r.code
        """,
        [],
    )


def save_fees(db: Database, scope: Scope, fees: pd.DataFrame) -> int:
    """Store the fee schedule (rows with a blank fee are cleared); one currency for all.

    Returns the number of fees stored; the change is recorded in the audit log.
    """
    _require_editor(scope)
    rows = validate_fees(fees.to_dict("records"))  # type: ignore[arg-type]
    with db.transaction() as cursor:
        store_fees(cursor, scope, rows)
    return len(rows)


def replace_rules_and_fees(
    db: Database,
    scope: Scope,
    cleaned: list[dict[str, Any]],
    fees: list[tuple[str, float, str]],
) -> None:
    """Store checked rules (``validate_rules``) and fees (``validate_fees``) together in one
    transaction, all or nothing, each recorded in the audit log (local mode and admins)."""
    _require_editor(scope)
    with db.transaction() as cursor:
        store_rules(cursor, scope, cleaned)
        store_fees(cursor, scope, fees)


def validate_fee(code: str, fee: Any, currency: Any) -> tuple[str, float, str] | None:
    """One fee as entered, checked: ``(code, amount, currency)``, None for a blank fee."""
    if not code or is_blank(fee):
        return None
    try:
        amount = float(fee)
    except (TypeError, ValueError):
        raise InvalidBillingRuleError(f"The fee of {code}, {fee!r}, is not a number.") from None
    if amount < 0:
        raise InvalidBillingRuleError(f"The fee of {code} cannot be negative ({amount:g}).")
    currency = "" if is_blank(currency) else str(currency).strip().upper()
    if not _CURRENCY.match(currency):
        raise InvalidBillingRuleError(
            f"The fee of {code} needs a three-letter currency code such as USD, not {currency!r}."
        )
    return code, amount, currency


def validate_fees(records: list[dict[str, Any]]) -> list[tuple[str, float, str]]:
    """Check a fee schedule (``code``, ``fee``, ``currency`` per record): blank fees are
    left out, every fee in one currency; one sentence otherwise."""
    rows: list[tuple[str, float, str]] = []
    for record in records:  # one row per code
        code = str(record.get("code") or "").strip()
        row = validate_fee(code, record.get("fee"), record.get("currency"))
        if row is not None:
            rows.append(row)
    currencies = sorted({currency for _, _, currency in rows})
    if len(currencies) > 1:
        raise InvalidBillingRuleError(
            f"Enter every fee in one currency so totals add up (found {', '.join(currencies)})."
        )
    return rows


def store_fees(
    cursor: duckdb.DuckDBPyConnection, scope: Scope, rows: list[tuple[str, float, str]]
) -> None:
    """Replace the fee schedule with checked ``rows`` in the caller's transaction (after
    the rules they name), recorded in the audit log."""
    known = {code for (code,) in cursor.execute("SELECT code FROM billing_rules").fetchall()}
    unknown = sorted({code for code, _, _ in rows} - known)
    if unknown:
        raise InvalidBillingRuleError(
            f"There is no billing rule for code {', '.join(unknown)}; add the rule first."
        )
    cursor.execute("DELETE FROM billing_fees")
    for row in rows:
        code, fee, currency = row
        cursor.execute(
            "INSERT INTO billing_fees VALUES ($code, $fee, $currency)",
            {"code": code, "fee": fee, "currency": currency},
        )
    audit.record(
        cursor,
        scope,
        "settings",
        "billing fees: " + (", ".join(f"{c} {a:g} {cur}" for c, a, cur in rows) or "none"),
    )


def family_rules(cursor: duckdb.DuckDBPyConnection) -> list[FamilyRule]:
    """Each family with active codes, read from the rule table (checked when saved)."""
    found = cursor.execute(
        """
        SELECT family, any_value(channels), any_value(direction),
               any_value(counting_categories), any_value(window_days),
               any_value(prior_session_days), any_value(session_after_hours),
               min(min_minutes), max(coalesce(max_minutes, 'inf'::DOUBLE))
        FROM billing_rules WHERE active GROUP BY family ORDER BY family
        """
    ).fetchall()
    return [
        FamilyRule(
            family=family,
            channels=tuple(channels),
            directions=("client",) if direction == "client" else ("client", "unknown"),
            counting_categories=tuple(counting),
            window_days=window,
            prior_session_days=prior,
            session_after_hours=after,
            lowest_minutes=lowest,
            highest_minutes=None if highest == float("inf") else highest,
        )
        for family, channels, direction, counting, window, prior, after, lowest, highest in found
    ]
