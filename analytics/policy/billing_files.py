"""Billing rules and fees as a file: ``contactload billing rules show|load|export``.

One file holds the whole rule table (``billing_rules.RULE_COLUMNS``, one entry per code) with
each code's fee and currency beside it, so a practice can keep its rules under version
control or share them. The format follows the file's extension:

TOML (``.toml``), one ``[[rule]]`` table per code; ``max_minutes`` left out means no upper
end, ``window_days`` left out means each call stands alone (telephone), ``fee`` and
``currency`` left out mean the code has no fee::

    [[rule]]
    code = "98970"
    family = "online"
    description = "Online digital assessment, 5-10 min"
    channels = ["portal"]
    direction = "client"
    counting_categories = ["check_in", "support", "crisis", "homework"]
    excluded_categories = ["scheduling", "reminder", "other"]
    min_minutes = 5
    max_minutes = 10
    window_days = 7
    prior_session_days = 7
    session_after_hours = 0
    active = true
    fee = 15.5
    currency = "USD"

CSV (``.csv``, UTF-8), one row per code with the header ``FILE_COLUMNS``; lists are
comma-separated in one cell (``check_in, support``), booleans ``true``/``false``, an empty
cell is "none" (no upper end, no window, no fee).

Loading checks the whole file first (every field, then the table as ``billing.
validate_rules`` and ``billing_rules.validate_fees`` check the Billing page's editors) and
stores nothing on any error, which is one sentence naming the row (CSV) or rule (TOML);
then rules and fees replace the stored ones in one transaction, recorded in the audit log.
``export`` writes what ``load`` reads back unchanged.
"""

from __future__ import annotations

import csv
import io
import tomllib
from pathlib import Path
from typing import Any

from analytics.access.scope import Scope
from analytics.output.toml_text import number_text, toml_string
from analytics.policy import billing_rules
from analytics.policy.billing_rules import RULE_COLUMNS, InvalidBillingRuleError
from analytics.storage import audit
from analytics.storage.database import Database

FILE_COLUMNS = (*RULE_COLUMNS, "fee", "currency")
"""Fields of one code in a rules file: the rule table's columns, then its fee."""

LIST_FIELDS = ("channels", "counting_categories", "excluded_categories")
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


class BillingFileError(InvalidBillingRuleError):
    """A billing rules file that cannot be read or used as it is."""


def rule_records(db: Database, scope: Scope) -> list[dict[str, Any]]:
    """Every code of the rule table with its fee, in rule order, as plain values (lists
    as lists; None for no upper end, no window, no fee)."""
    rules = billing_rules.billing_rules(db, scope)
    fees = billing_rules.fee_schedule(db, scope)
    fee_of = {
        str(code): (float(fee), str(currency))
        for code, fee, currency in zip(fees["code"], fees["fee"], fees["currency"], strict=True)
        if not _missing(fee)
    }
    records: list[dict[str, Any]] = []
    for rule in rules.to_dict("records"):  # one row per code: a handful
        fee, currency = fee_of.get(str(rule["code"]), (None, None))
        records.append(
            {
                "code": str(rule["code"]),
                "family": str(rule["family"]),
                "description": str(rule["description"] or ""),
                **{field: [str(item) for item in rule[field]] for field in LIST_FIELDS},
                "direction": str(rule["direction"]),
                "min_minutes": float(rule["min_minutes"]),
                "max_minutes": _optional(rule["max_minutes"], float),
                "window_days": _optional(rule["window_days"], int),
                "prior_session_days": int(rule["prior_session_days"]),
                "session_after_hours": int(rule["session_after_hours"]),
                "active": bool(rule["active"]),
                "fee": fee,
                "currency": currency,
            }
        )
    return [{field: record[field] for field in FILE_COLUMNS} for record in records]


def _missing(value: Any) -> bool:
    """SQL NULL as a data frame gives it: None or NaN."""
    return value is None or (isinstance(value, float) and value != value)


def _optional(value: Any, kind: type[float] | type[int]) -> Any:
    return None if _missing(value) else kind(value)


def export_rules(db: Database, scope: Scope, path: Path | str) -> int:
    """Write the rule table and fees to ``path`` (.toml or .csv), recorded in the audit
    log; return the number of codes written."""
    path = Path(path)
    kind = _file_format(path)
    records = rule_records(db, scope)
    if kind == "toml":
        path.write_text(_toml_text(records), encoding="utf-8")
    else:
        path.write_text(_csv_text(records), encoding="utf-8-sig", newline="")
    audit.record(db, scope, "export", f"{len(records)} billing rules and their fees to {path.name}")
    return len(records)


def load_rules(db: Database, scope: Scope, path: Path | str) -> tuple[int, int]:
    """Replace the rule table and fees with those of ``path``, all or nothing; return the
    number of codes and of fees stored."""
    cleaned, fees = read_rules_file(path)
    billing_rules.replace_rules_and_fees(db, scope, cleaned, fees)
    return len(cleaned), len(fees)


def read_rules_file(path: Path | str) -> tuple[list[dict[str, Any]], list[tuple[str, float, str]]]:
    """The checked rules and fees of a rules file, or one sentence naming what is wrong
    and where; reads nothing from, and writes nothing to, any database."""
    path = Path(path)
    kind = _file_format(path)
    if not path.is_file():
        raise BillingFileError(f"{path} does not exist or is not a file.")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BillingFileError(f"{path.name} is not UTF-8 text; save it as UTF-8.") from None
    entries = _toml_entries(text, path.name) if kind == "toml" else _csv_entries(text, path.name)
    if not entries:
        raise BillingFileError(
            f"{path.name} holds no billing rule; nothing was changed (every code needs a row)."
        )
    import pandas as pd

    cleaned: list[dict[str, Any]] = []
    fees: list[tuple[str, float, str]] = []
    for place, entry in entries:  # a handful of codes
        try:
            (rule,) = billing_rules.validate_rules(
                pd.DataFrame([entry], columns=list(RULE_COLUMNS))
            )
            fee = billing_rules.validate_fee(rule["code"], entry["fee"], entry["currency"])
        except InvalidBillingRuleError as error:
            raise BillingFileError(f"{place}: {error}") from None
        cleaned.append(rule)
        if fee is not None:
            fees.append(fee)
    try:  # the table as a whole: repeated codes, families, bands, one currency
        billing_rules.validate_rules(pd.DataFrame(cleaned, columns=list(RULE_COLUMNS)))
        billing_rules.validate_fees([{"code": c, "fee": f, "currency": cur} for c, f, cur in fees])
    except InvalidBillingRuleError as error:
        raise BillingFileError(f"{path.name}: {error}") from None
    return cleaned, fees


def _file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".csv"):
        raise BillingFileError(
            f"{path.name} is neither a .toml nor a .csv file; billing rules are exchanged as "
            "TOML or CSV."
        )
    return suffix[1:]


# --- writing ---------------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_text(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_string(str(item)) for item in value) + "]"
    return toml_string(str(value))


def _toml_text(records: list[dict[str, Any]]) -> str:
    lines = [
        "# Contact Load billing rules and fees: one [[rule]] table per code",
        "# (load with `contactload billing rules load FILE`).",
    ]
    for record in records:
        lines.extend(["", "[[rule]]"])
        lines.extend(
            f"{field} = {_toml_value(record[field])}"
            for field in FILE_COLUMNS
            if record[field] is not None
        )
    return "\n".join(lines) + "\n"


def _csv_text(records: list[dict[str, Any]]) -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(FILE_COLUMNS)
    for record in records:
        writer.writerow([_csv_cell(record[field]) for field in FILE_COLUMNS])
    return buffer.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return number_text(value)
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


# --- reading ---------------------------------------------------------------------------------


def _entry(fields: dict[str, Any], place: str) -> tuple[str, dict[str, Any]]:
    """One code's fields, with ``active`` as a boolean, checked for unknown and missing
    fields (the values themselves are checked with the whole table)."""
    unknown = sorted(set(fields) - set(FILE_COLUMNS))
    if unknown:
        raise BillingFileError(
            f"{place}: unknown field {', '.join(unknown)}; the fields are "
            f"{', '.join(FILE_COLUMNS)}."
        )
    entry = {field: fields.get(field) for field in FILE_COLUMNS}
    active = entry["active"]
    if isinstance(active, str):
        active = _BOOLEANS.get(active.strip().lower(), active)
    if not isinstance(active, bool):
        raise BillingFileError(f"{place}: active must be true or false, not {entry['active']!r}.")
    entry["active"] = active
    for field in LIST_FIELDS:
        value = entry[field]
        if isinstance(value, list) and not all(isinstance(item, str) for item in value):
            raise BillingFileError(f"{place}: {field} must be a list of words, not {value!r}.")
    code = entry["code"]
    if isinstance(code, int) and not isinstance(code, bool):
        entry["code"] = str(code)  # code = 98970 written without quotes
    return place, entry


def _toml_entries(text: str, name: str) -> list[tuple[str, dict[str, Any]]]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise BillingFileError(f"{name} is not valid TOML ({error}).") from None
    other = sorted(set(document) - {"rule"})
    rules = document.get("rule", [])
    if other or not isinstance(rules, list):
        raise BillingFileError(
            f"{name} may hold only [[rule]] tables, one per code"
            + (f" (found {', '.join(other)})." if other else ".")
        )
    entries = []
    for number, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict):
            raise BillingFileError(f"Rule {number} in {name} is not a table of fields.")
        entries.append(_entry(rule, f"Rule {number} in {name}"))
    return entries


def _csv_entries(text: str, name: str) -> list[tuple[str, dict[str, Any]]]:
    # csv.reader rather than DictReader: it yields blank lines too, so numbers stay the row
    # numbers a spreadsheet shows
    records = list(csv.reader(io.StringIO(text, newline="")))
    if not records:
        return []
    header = [column.strip().lower() for column in records[0]]
    missing = [column for column in FILE_COLUMNS if column not in header]
    unknown = [column for column in header if column not in FILE_COLUMNS]
    if missing or unknown:
        raise BillingFileError(
            f"The header of {name} must name the columns {', '.join(FILE_COLUMNS)}"
            + (f" (missing: {', '.join(missing)}" if missing else " (")
            + ("; " if missing and unknown else "")
            + (f"unknown: {', '.join(unknown)}" if unknown else "")
            + ")."
        )
    entries = []
    for number, row in enumerate(records[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        place = f"Row {number} of {name}"
        if len(row) != len(header):
            raise BillingFileError(
                f"{place} has {len(row)} cells where the header names {len(header)}."
            )
        fields = {column: (cell.strip() or None) for column, cell in zip(header, row, strict=True)}
        entries.append(_entry(fields, place))
    return entries
