"""Boundary settings and working weeks read back from cells: rows of an edited table or a
CSV file, and tables of a TOML file (text or values; ``none`` is an explicitly empty list)."""

import math
import numbers
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import suppress
from datetime import date, datetime, time
from typing import Any

import numpy as np
import pandas as pd

from analytics.policy.agreements import (
    FIELD_LABELS,
    NONE_TEXT,
    WEEKDAY_KEYS,
    WEEKDAY_NAMES,
    BoundarySetting,
    Interval,
    InvalidBoundaryError,
    WorkingWeek,
)

_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})


def is_empty(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _parse_number(value: object, field: str, unit: str) -> float | None:
    if is_empty(value):
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, str):
        with suppress(ValueError):
            return float(value.strip())
    raise InvalidBoundaryError(
        f"The {FIELD_LABELS.get(field, field)} must be a number of {unit}, not '{value}'."
    )


def _parse_bool(value: object, field: str) -> bool | None:
    if is_empty(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidBoundaryError(f"The {FIELD_LABELS[field]} must be true or false, not '{value}'.")


def _parse_date(value: object) -> date:
    if isinstance(value, datetime):
        if value.time() != time(0):
            raise InvalidBoundaryError(
                f"The effective date must be a date like 2026-03-02, not '{value}'."
            )
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        with suppress(ValueError):
            return date.fromisoformat(value.strip())
    if is_empty(value):
        raise InvalidBoundaryError("A setting needs the date from which it applies.")
    raise InvalidBoundaryError(f"The effective date must be a date like 2026-03-02, not '{value}'.")


def _parse_list(value: object, field: str) -> tuple[str, ...] | None:
    """A list of keys from a list, or from text ``"a, b"``; ``"none"`` is the empty list."""
    if is_empty(value):
        return None
    if isinstance(value, str):
        if value.strip().lower() == NONE_TEXT:
            return ()
        return tuple(item.strip() for item in value.split(",") if item.strip())
    if isinstance(value, list | tuple | np.ndarray) and all(isinstance(i, str) for i in value):
        return tuple(str(item).strip() for item in value)
    raise InvalidBoundaryError(
        f"The {FIELD_LABELS.get(field, field)} must be a list of names like phone, email, "
        f"not '{value}'."
    )


def _map_entries(value: str, field: str, example: str) -> Iterator[tuple[str, str]]:
    """``"a=1; b=2"`` -> (a, 1), (b, 2); nothing for ``"none"``."""
    if value.strip().lower() == NONE_TEXT:
        return
    for entry in value.split(";"):
        if not entry.strip():
            continue
        key, equals, item = entry.partition("=")
        if not equals or not key.strip():
            raise InvalidBoundaryError(
                f"The {FIELD_LABELS[field]} must read like {example}, not '{value.strip()}'."
            )
        yield key.strip(), item.strip()


def _parse_caps(value: object) -> dict[str, float] | None:
    if is_empty(value):
        return None
    if isinstance(value, Mapping):
        entries: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, str):
        entries = list(_map_entries(value, "category_caps", "support=45; homework=30"))
    else:
        raise InvalidBoundaryError(
            f"The category caps must read like support=45; homework=30, not '{value}'."
        )
    caps: dict[str, float] = {}
    for key, minutes in entries:
        parsed = _parse_number(minutes, f"{key} cap", "minutes")
        if parsed is None:
            raise InvalidBoundaryError(f"The {key} cap needs a number of minutes.")
        caps[str(key)] = parsed
    return caps


def _parse_channel_categories(value: object) -> dict[str, tuple[str, ...]] | None:
    if is_empty(value):
        return None
    if isinstance(value, Mapping):
        entries: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, str):
        entries = list(
            _map_entries(value, "channel_categories", "text=scheduling, reminder; email=none")
        )
    else:
        raise InvalidBoundaryError(
            "The channel categories must read like text=scheduling, reminder; email=none, "
            f"not '{value}'."
        )
    carried: dict[str, tuple[str, ...]] = {}
    for channel, categories in entries:
        parsed = () if is_empty(categories) else _parse_list(categories, f"{channel} categories")
        carried[str(channel)] = parsed or ()
    return carried


_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def _parse_time(text: str) -> time | None:
    match = _TIME.match(text.strip())
    if not match:
        return None
    hour, minute, second = (int(part or 0) for part in match.groups())
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def parse_day_hours(value: object, weekday: int) -> list[Interval]:
    """A day's intervals from ``"09:00-12:00, 13:00-17:00"`` or a list of such texts.

    Empty is a day off. The result is not yet checked (``check_working_hours`` does that).
    """
    if is_empty(value):
        return []
    texts: list[object]
    if isinstance(value, str):
        texts = [part for part in re.split(r"[,;]", value) if part.strip()]
    elif isinstance(value, list | tuple | np.ndarray):
        texts = list(value)
    else:
        texts = [value]
    day = WEEKDAY_NAMES[weekday]
    intervals: list[Interval] = []
    for text in texts:
        if isinstance(text, list | tuple) and len(text) == 2:
            if all(isinstance(moment, time) for moment in text):
                intervals.append((text[0], text[1]))
                continue
            text = "-".join(str(moment) for moment in text)
        starts_text, dash, ends_text = str(text).replace("–", "-").partition("-")
        starts, ends = _parse_time(starts_text), _parse_time(ends_text)
        if not dash or starts is None or ends is None:
            raise InvalidBoundaryError(
                f"{day}'s hours must read like 09:00-17:00, not '{str(text).strip()}'."
            )
        intervals.append((starts, ends))
    return intervals


def setting_from_row(row: Mapping[str, object]) -> BoundarySetting:
    """A setting from one row of ``list_settings`` or of a CSV file (cells as text or values).

    Raises ``InvalidBoundaryError`` for a cell that cannot be read; the result still needs
    ``check_setting`` (``save_setting`` does both).
    """
    therapist, practice, client = (row.get(key) for key in ("therapist", "practice", "client"))
    return BoundarySetting(
        therapist="" if is_empty(therapist) else str(therapist).strip(),
        practice="" if is_empty(practice) else str(practice).strip(),
        client=None if is_empty(client) else str(client).strip(),
        effective_from=_parse_date(row.get("effective_from")),
        weekly_cap_minutes=_parse_number(
            row.get("weekly_cap_minutes"), "weekly_cap_minutes", "minutes"
        ),
        category_caps=_parse_caps(row.get("category_caps")),
        allowed_channels=_parse_list(row.get("allowed_channels"), "allowed_channels"),
        channel_categories=_parse_channel_categories(row.get("channel_categories")),
        response_target_hours=_parse_number(
            row.get("response_target_hours"), "response_target_hours", "hours"
        ),
        response_in_working_hours=_parse_bool(
            row.get("response_in_working_hours"), "response_in_working_hours"
        ),
        crisis_counts_toward_cap=_parse_bool(
            row.get("crisis_counts_toward_cap"), "crisis_counts_toward_cap"
        ),
    )


def working_hours_from_row(row: Mapping[str, object]) -> WorkingWeek:
    """A working week from one row of ``list_working_hours`` or of a CSV file."""
    return WorkingWeek(
        effective_from=_parse_date(row.get("effective_from")),
        days={
            weekday: parse_day_hours(row.get(key), weekday)
            for weekday, key in enumerate(WEEKDAY_KEYS)
        },
    )
