"""Boundary settings: the limits each therapist agreed, stored dated, checked and recorded.

A setting is one agreement in force from its ``effective_from`` date until the next one of
the same scope: a therapist's default (``client`` None) or one client's override. Fields
left None inherit: a client override takes each None field from the therapist's default in
force on the same day, and a None field of a default means "no limit set". Working hours
belong to the therapist and are dated the same way. Every change (who, when, before and
after, as JSON text) lands in ``boundary_changes`` in the same transaction as the change
itself, and invalid input stores nothing.

Settings rows are few, so Python handles them one by one; contacts are only ever touched in
SQL (``set_time_zone``).

Files for sharing a practice's standard policy (the format follows the file's extension):

TOML (``.toml``), one ``[[setting]]`` table per setting and one ``[[working_hours]]`` table
per dated week of working hours; a field left out is None (inherit or unset)::

    [[setting]]
    practice = "Harbor Counseling"
    therapist = "Dana Reyes"
    effective_from = 2026-03-02            # a TOML date (or the text "2026-03-02")
    weekly_cap_minutes = 60
    category_caps = { support = 45 }       # {} = no per-category caps
    allowed_channels = ["phone", "email", "text", "portal"]
    channel_categories = { text = ["scheduling", "reminder"] }
    response_target_hours = 24
    response_in_working_hours = true
    crisis_counts_toward_cap = false

    [[setting]]
    practice = "Harbor Counseling"
    therapist = "Dana Reyes"
    client = "Avery"                       # a client's override
    effective_from = 2026-03-16
    weekly_cap_minutes = 30

    [[working_hours]]
    practice = "Harbor Counseling"
    therapist = "Dana Reyes"
    effective_from = 2026-03-02
    mon = ["09:00-12:00", "13:00-17:00"]   # days left out are days off
    tue = ["09:00-17:00"]

CSV (``.csv``, UTF-8), one row per setting or dated week of working hours, with the header
``CSV_COLUMNS``. ``kind`` is ``setting`` (or empty) or ``working_hours``; an empty cell is
None (inherit or unset) and the word ``none`` is an explicitly empty map or list. Lists are
comma-separated (``phone, email, text``), maps are ``key=value`` pairs separated by
semicolons (``support=45; homework=30``; for channel categories
``text=scheduling, reminder; email=none``), booleans ``true``/``false``, dates ISO, and a
day's working hours are intervals separated by commas (``09:00-12:00, 13:00-17:00``; an
empty day cell is a day off).
"""

import csv
import io
import itertools
import json
import math
import numbers
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from analytics.access.scope import LOCAL, Scope
from analytics.demo import PRACTICES
from analytics.domain import CATEGORIES, CHANNELS
from analytics.errors import ContactLoadError
from analytics.output.toml_text import number_text, toml_string
from analytics.storage import audit
from analytics.storage.database import Database

EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2099, 12, 31)
"""Effective dates outside these are refused as typos (a year like 0226 or 2206)."""

WEEKDAY_KEYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""Weekday keys of files and frames, Monday (0) first."""

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

SETTING_FIELDS = (
    "weekly_cap_minutes",
    "category_caps",
    "allowed_channels",
    "channel_categories",
    "response_target_hours",
    "response_in_working_hours",
    "crisis_counts_toward_cap",
)
"""The optional fields of a setting, in file and frame order (None inherits or is unset)."""

CSV_COLUMNS = (
    "kind",
    "practice",
    "therapist",
    "client",
    "effective_from",
    *SETTING_FIELDS,
    *WEEKDAY_KEYS,
)
"""Columns of a settings CSV; ``kind``, ``client``, the setting fields and days may be left out."""

_FIELD_LABELS = {
    "effective_from": "effective date",
    "weekly_cap_minutes": "weekly cap",
    "category_caps": "category caps",
    "allowed_channels": "allowed channels",
    "channel_categories": "channel categories",
    "response_target_hours": "response target",
    "response_in_working_hours": "response_in_working_hours field",
    "crisis_counts_toward_cap": "crisis_counts_toward_cap field",
}
_TRUE = frozenset({"true", "yes", "1"})
_FALSE = frozenset({"false", "no", "0"})
_NONE = "none"


class InvalidBoundaryError(ContactLoadError):
    """A boundary setting, working hours or time zone that cannot be stored as given."""


class BoundaryFileError(InvalidBoundaryError):
    """A settings file that cannot be read (missing, wrong extension, broken syntax)."""


def _in_order(keys: Iterable[str], vocabulary: Sequence[str]) -> tuple[str, ...]:
    """Distinct keys in the domain's display order; unknown keys last (validation names them)."""
    rank = {key: position for position, key in enumerate(vocabulary)}
    return tuple(sorted(set(keys), key=lambda key: (rank.get(key, len(rank)), key)))


def _as_float(value: object) -> object:
    """Whole numbers become floats (stored as DOUBLE); anything else is left to validation."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
        return float(value)
    return value


@dataclass(frozen=True)
class BoundarySetting:
    """One dated agreement: a therapist's default (client None) or one client's override.

    Optional fields None inherit (overrides) or are unset (defaults). Lists and maps are
    kept in the domain's order, so two equal agreements compare equal however they were
    written.
    """

    therapist: str
    practice: str
    client: str | None
    effective_from: date
    weekly_cap_minutes: float | None = None
    category_caps: dict[str, float] | None = None
    allowed_channels: tuple[str, ...] | None = None
    channel_categories: dict[str, tuple[str, ...]] | None = None
    response_target_hours: float | None = None
    response_in_working_hours: bool | None = None
    crisis_counts_toward_cap: bool | None = None

    def __post_init__(self) -> None:
        # Normalising here (not validating) keeps equality meaningful for round trips.
        def put(name: str, value: object) -> None:
            object.__setattr__(self, name, value)

        put("weekly_cap_minutes", _as_float(self.weekly_cap_minutes))
        put("response_target_hours", _as_float(self.response_target_hours))
        if isinstance(self.category_caps, Mapping):
            caps = self.category_caps
            put(
                "category_caps",
                {key: _as_float(caps[key]) for key in _in_order(caps, CATEGORIES)},
            )
        if isinstance(self.allowed_channels, list | tuple | set | frozenset):
            put("allowed_channels", _in_order(self.allowed_channels, CHANNELS))
        if isinstance(self.channel_categories, Mapping):
            carried = self.channel_categories
            put(
                "channel_categories",
                {
                    channel: (
                        _in_order(carried[channel], CATEGORIES)
                        if isinstance(carried[channel], list | tuple | set | frozenset)
                        else carried[channel]
                    )
                    for channel in _in_order(carried, CHANNELS)
                },
            )


Interval = tuple[time, time]


@dataclass(frozen=True)
class WorkingHours:
    """A therapist's working week from ``effective_from``: weekday (0 = Monday) -> intervals.

    Times are wall-clock times in the therapist's own zone; a weekday left out is a day off.
    """

    effective_from: date
    days: dict[int, list[Interval]]

    def __post_init__(self) -> None:
        # Days off are left out and intervals sorted, so equal weeks compare equal.
        if isinstance(self.days, Mapping):
            object.__setattr__(
                self,
                "days",
                {
                    weekday: sorted(intervals, key=_interval_sort_key)
                    for weekday, intervals in sorted(
                        self.days.items(), key=lambda item: _weekday_sort_key(item[0])
                    )
                    if intervals
                },
            )


def _interval_sort_key(interval: object) -> tuple[str, str]:
    """Sorts valid intervals by start; malformed ones still sort (validation names them)."""
    if isinstance(interval, tuple | list) and len(interval) == 2:
        return (str(interval[0]), str(interval[1]))
    return (str(interval), "")


def _weekday_sort_key(weekday: object) -> tuple[int, str]:
    return (weekday, "") if isinstance(weekday, int) else (99, str(weekday))


# --- validation ------------------------------------------------------------------------


def _time_text(moment: time) -> str:
    return moment.strftime("%H:%M:%S" if moment.second else "%H:%M")


def _interval_text(interval: Interval) -> str:
    return f"{_time_text(interval[0])}-{_time_text(interval[1])}"


def _check_number(value: object, field: str, unit: str, *, positive: bool = False) -> None:
    """A finite number of ``unit``; zero or more, or above zero when ``positive``."""
    label = _FIELD_LABELS.get(field, field)
    if not isinstance(value, numbers.Real) or isinstance(value, bool | np.bool_):
        raise InvalidBoundaryError(f"The {label} must be a number of {unit}, not '{value}'.")
    if not math.isfinite(float(value)):
        raise InvalidBoundaryError(f"The {label} must be a finite number of {unit}, not {value}.")
    if positive and value <= 0:
        raise InvalidBoundaryError(
            f"The {label} must be more than 0 {unit}, not {number_text(float(value))}."
        )
    if not positive and value < 0:
        raise InvalidBoundaryError(
            f"The {label} must be 0 {unit} or more, not {number_text(float(value))}."
        )


def _check_keys(keys: Iterable[object], vocabulary: Sequence[str], kind: str, where: str) -> None:
    for key in keys:
        if key not in vocabulary:
            raise InvalidBoundaryError(
                f"Unknown {kind} '{key}' in {where}; use one of {', '.join(vocabulary)}."
            )


def _check_date(value: object, what: str = "effective date") -> None:
    if not isinstance(value, date) or isinstance(value, datetime):
        raise InvalidBoundaryError(f"The {what} must be a date like 2026-03-02, not '{value}'.")
    if value < EARLIEST_DATE:
        raise InvalidBoundaryError(
            f"The {what} {value} is before {EARLIEST_DATE.year}; check the year."
        )
    if value > LATEST_DATE:
        raise InvalidBoundaryError(
            f"The {what} {value} is after {LATEST_DATE.year}; check the year."
        )


def _check_name(value: object, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidBoundaryError(f"A setting needs the {what}'s name.")


def _check_changed_by(changed_by: object) -> None:
    if not isinstance(changed_by, str) or not changed_by.strip():
        raise InvalidBoundaryError("A change needs the name of the person making it.")


def check_setting(setting: BoundarySetting) -> None:
    """Raise ``InvalidBoundaryError`` naming the first field that cannot be stored, and why."""
    _check_name(setting.therapist, "therapist")
    _check_name(setting.practice, "practice")
    if setting.client is not None:
        _check_name(setting.client, "client")
    _check_date(setting.effective_from)
    if setting.weekly_cap_minutes is not None:
        _check_number(setting.weekly_cap_minutes, "weekly_cap_minutes", "minutes")
    if setting.category_caps is not None:
        if not isinstance(setting.category_caps, Mapping):
            raise InvalidBoundaryError(
                "The category caps must map categories to minutes, like support=45."
            )
        _check_keys(setting.category_caps, CATEGORIES, "category", "the category caps")
        for category, minutes in setting.category_caps.items():
            _check_number(minutes, f"{category} cap", "minutes")
    if setting.allowed_channels is not None:
        if not isinstance(setting.allowed_channels, tuple):
            raise InvalidBoundaryError("The allowed channels must be a list of channels.")
        _check_keys(setting.allowed_channels, CHANNELS, "channel", "the allowed channels")
    if setting.channel_categories is not None:
        if not isinstance(setting.channel_categories, Mapping):
            raise InvalidBoundaryError(
                "The channel categories must map channels to lists of categories, "
                "like text=scheduling, reminder."
            )
        _check_keys(setting.channel_categories, CHANNELS, "channel", "the channel categories")
        for channel, carried in setting.channel_categories.items():
            if not isinstance(carried, tuple):
                raise InvalidBoundaryError(
                    f"The categories the {channel} channel may carry must be a list."
                )
            _check_keys(carried, CATEGORIES, "category", f"what the {channel} channel carries")
    if setting.response_target_hours is not None:
        _check_number(
            setting.response_target_hours, "response_target_hours", "hours", positive=True
        )
    for field in ("response_in_working_hours", "crisis_counts_toward_cap"):
        value = getattr(setting, field)
        if value is not None and not isinstance(value, bool):
            raise InvalidBoundaryError(
                f"The {_FIELD_LABELS[field]} must be true or false, not '{value}'."
            )


def check_working_hours(hours: WorkingHours) -> None:
    """Raise ``InvalidBoundaryError`` for a weekday, interval or date that makes no sense."""
    _check_date(hours.effective_from)
    if not isinstance(hours.days, Mapping):
        raise InvalidBoundaryError("Working hours must map weekdays (0 = Monday) to intervals.")
    for weekday in hours.days:
        if not isinstance(weekday, int) or isinstance(weekday, bool) or not 0 <= weekday <= 6:
            raise InvalidBoundaryError(
                f"Weekday {weekday} does not exist; use 0 (Monday) to 6 (Sunday)."
            )
    if not hours.days:
        raise InvalidBoundaryError(
            f"The working hours from {hours.effective_from} give no hours on any day; "
            "enter at least one day's hours, or delete the entry."
        )
    for weekday, intervals in hours.days.items():
        day = WEEKDAY_NAMES[weekday]
        for interval in intervals:
            if not (
                isinstance(interval, tuple | list)
                and len(interval) == 2
                and all(isinstance(moment, time) for moment in interval)
            ):
                raise InvalidBoundaryError(
                    f"{day}'s hours must be pairs of times like 09:00-17:00, not '{interval}'."
                )
            starts, ends = interval
            if ends < starts:
                raise InvalidBoundaryError(
                    f"{day}'s hours {_interval_text((starts, ends))} end before they start; "
                    "enter an end after the start."
                )
            if ends == starts:
                raise InvalidBoundaryError(
                    f"{day}'s hours {_interval_text((starts, ends))} end when they start; "
                    "enter an end after the start."
                )
        for earlier, later in itertools.pairwise(intervals):
            if later[0] < earlier[1]:
                raise InvalidBoundaryError(
                    f"{day}'s hours {_interval_text(earlier)} and {_interval_text(later)} "
                    "overlap; merge them or end one before the other starts."
                )


# --- names to ids ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Therapist:
    therapist_id: int
    name: str
    practice: str
    time_zone: str


def _named_scope(
    scope: Scope | None, alias: str, *, clients: bool = False
) -> tuple[str, dict[str, object]]:
    """``scope.where(alias)`` (``client_where`` for ``clients``) with named parameters, for
    this module's ``$name`` queries."""
    if scope is None:
        return "TRUE", {}
    sql, values = scope.client_where(alias) if clients else scope.where(alias)
    named: dict[str, object] = {}
    for number, value in enumerate(values):
        sql = sql.replace("?", f"$scope_{number}", 1)
        named[f"scope_{number}"] = value
    return sql, named


def _client_column(scope: Scope | None) -> str:
    """How a client is named: the label, or the pseudonymous key for supervisors."""
    return (scope or LOCAL).client_name("c")


def _find_therapist(
    cursor: duckdb.DuckDBPyConnection,
    therapist: str,
    practice: str | None,
    scope: Scope | None = None,
) -> _Therapist:
    """The one therapist of that name (in that practice, when given), or a clear error.

    With a ``scope``, therapists outside it are unknown (readers); writers look up
    without one and then ask the scope for permission, so a refusal says so.
    """
    in_scope, scope_params = _named_scope(scope, "t")
    rows = cursor.execute(
        f"""
        SELECT t.therapist_id, t.name, p.name, t.time_zone
        FROM therapists AS t JOIN practices AS p ON p.practice_id = t.practice_id
        WHERE t.name = $therapist
          AND (CAST($practice AS VARCHAR) IS NULL OR p.name = $practice)
          AND {in_scope}
        ORDER BY p.name
        """,  # noqa: S608 - the scope condition is fixed text with parameters
        {
            "therapist": therapist.strip(),
            "practice": practice.strip() if practice else None,
            **scope_params,
        },
    ).fetchall()
    if len(rows) == 1:
        return _Therapist(*rows[0])
    if rows:
        practices = " and ".join(str(row[2]) for row in rows)
        raise InvalidBoundaryError(
            f"There are therapists named '{therapist}' at {practices}; name the practice too."
        )
    if practice:
        known = cursor.execute(
            f"""
            SELECT count(*) FROM practices AS p
            WHERE p.name = $practice AND (
                CAST($scoped AS BOOLEAN) IS NOT TRUE OR EXISTS (
                    SELECT 1 FROM therapists AS t
                    WHERE t.practice_id = p.practice_id AND {in_scope}
                )
            )
            """,  # noqa: S608 - the scope condition is fixed text with parameters
            {"practice": practice.strip(), "scoped": scope is not None, **scope_params},
        )
        row = known.fetchone()
        if not row or row[0] == 0:
            raise InvalidBoundaryError(
                f"Unknown practice '{practice}'; check the spelling or import its contacts first."
            )
        raise InvalidBoundaryError(
            f"Unknown therapist '{therapist}' at {practice}; check the spelling or import "
            "their contacts first."
        )
    raise InvalidBoundaryError(
        f"Unknown therapist '{therapist}'; check the spelling or import their contacts first."
    )


def _find_client(
    cursor: duckdb.DuckDBPyConnection,
    therapist: _Therapist,
    client: str,
    scope: Scope | None = None,
) -> int:
    """The id of a client the therapist sees (listed as theirs, or with contacts with them).

    With a ``scope``, only its clients are found, by label, or by client key for viewers
    who see keys instead of labels.
    """
    in_scope, scope_params = _named_scope(scope, "c", clients=True)
    row = cursor.execute(
        f"""
        SELECT c.client_id,
               c.therapist_id = $therapist_id OR EXISTS (
                   SELECT 1 FROM contacts AS k
                   WHERE k.client_id = c.client_id AND k.therapist_id = $therapist_id
               )
        FROM clients AS c JOIN therapists AS t ON t.practice_id = c.practice_id
        WHERE t.therapist_id = $therapist_id AND {_client_column(scope)} = $label
          AND {in_scope}
        """,  # noqa: S608 - column and scope condition are fixed text
        {"therapist_id": therapist.therapist_id, "label": client.strip(), **scope_params},
    ).fetchone()
    if row is None:
        raise InvalidBoundaryError(
            f"Unknown client '{client}' of {therapist.name} at {therapist.practice}; "
            "check the spelling."
        )
    if not row[1]:
        raise InvalidBoundaryError(
            f"'{client}' is not a client of {therapist.name} at {therapist.practice}; "
            "check the therapist."
        )
    return int(row[0])


# --- reading stored settings -----------------------------------------------------------

_SETTINGS_SQL = """
SELECT t.name AS therapist, p.name AS practice, {client} AS client, b.effective_from,
       b.weekly_cap_minutes, b.category_caps, b.allowed_channels, b.channel_categories,
       b.response_target_hours, b.response_in_working_hours, b.crisis_counts_toward_cap
FROM boundaries AS b
JOIN therapists AS t ON t.therapist_id = b.therapist_id
JOIN practices AS p ON p.practice_id = t.practice_id
LEFT JOIN clients AS c ON c.client_id = b.client_id
WHERE ({where}) AND {in_scope}
ORDER BY p.name, t.name, {client} NULLS FIRST, b.effective_from
"""


def _settings_where(
    where: str,
    params: Mapping[str, object],
    cursor: duckdb.DuckDBPyConnection,
    scope: Scope | None = None,
) -> list[BoundarySetting]:
    """Stored settings matching ``where`` (and inside ``scope``, when given)."""
    in_scope, scope_params = _named_scope(scope, "t")
    sql = _SETTINGS_SQL.format(where=where, in_scope=in_scope, client=_client_column(scope))
    rows = cursor.execute(sql, {**params, **scope_params}).fetchall()
    return [_setting_from_stored(row) for row in rows]


def _setting_from_stored(row: Sequence[Any]) -> BoundarySetting:
    (therapist, practice, client, effective_from, cap, caps, channels, carried) = row[:8]
    return BoundarySetting(
        therapist=therapist,
        practice=practice,
        client=client,
        effective_from=effective_from,
        weekly_cap_minutes=cap,
        category_caps=None if caps is None else dict(caps),
        allowed_channels=None if channels is None else tuple(channels),
        channel_categories=(
            None if carried is None else {key: tuple(value) for key, value in carried.items()}
        ),
        response_target_hours=row[8],
        response_in_working_hours=row[9],
        crisis_counts_toward_cap=row[10],
    )


def _stored_setting(
    cursor: duckdb.DuckDBPyConnection,
    therapist_id: int,
    client_id: int | None,
    effective_from: date,
) -> BoundarySetting | None:
    found = _settings_where(
        "b.therapist_id = $therapist_id AND b.client_id IS NOT DISTINCT FROM $client_id "
        "AND b.effective_from = $effective_from",
        {"therapist_id": therapist_id, "client_id": client_id, "effective_from": effective_from},
        cursor,
    )
    return found[0] if found else None


def stored_settings(
    db: Database, scope: Scope, therapist: str | None = None, *, practice: str | None = None
) -> list[BoundarySetting]:
    """Every stored setting the viewer may see (of one therapist, when named), defaults
    before overrides; clients named by key for viewers who see no labels."""
    with db.cursor() as cursor:
        if therapist is None:
            if practice is None:
                return _settings_where("TRUE", {}, cursor, scope)
            return _settings_where("p.name = $practice", {"practice": practice}, cursor, scope)
        found = _find_therapist(cursor, therapist, practice, scope)
        return _settings_where(
            "b.therapist_id = $therapist_id", {"therapist_id": found.therapist_id}, cursor, scope
        )


def _stored_hours(
    cursor: duckdb.DuckDBPyConnection,
    where: str,
    params: Mapping[str, object],
    scope: Scope | None = None,
) -> list[tuple[str, str, WorkingHours]]:
    """(practice, therapist, week) for each dated week of working hours, oldest first."""
    in_scope, scope_params = _named_scope(scope, "t")
    rows = cursor.execute(
        f"""
        SELECT p.name, t.name, w.effective_from, w.weekday, w.starts, w.ends
        FROM working_hours AS w
        JOIN therapists AS t ON t.therapist_id = w.therapist_id
        JOIN practices AS p ON p.practice_id = t.practice_id
        WHERE ({where}) AND {in_scope}
        ORDER BY p.name, t.name, w.effective_from, w.weekday, w.starts
        """,  # noqa: S608 - the WHERE text is fixed by callers in this module
        {**params, **scope_params},
    ).fetchall()
    weeks: dict[tuple[str, str, date], dict[int, list[Interval]]] = {}
    for practice, therapist, effective_from, weekday, starts, ends in rows:
        days = weeks.setdefault((practice, therapist, effective_from), {})
        days.setdefault(weekday, []).append((starts, ends))
    return [
        (practice, therapist, WorkingHours(effective_from=effective_from, days=days))
        for (practice, therapist, effective_from), days in weeks.items()
    ]


def working_hours_of(
    db: Database, scope: Scope, therapist: str, *, practice: str | None = None
) -> list[WorkingHours]:
    """One therapist's dated working weeks, oldest first (unknown outside the scope)."""
    return [hours for _, _, hours in stored_working_hours(db, scope, therapist, practice=practice)]


def working_hours_in_force(
    db: Database, scope: Scope, therapist: str, on: date, *, practice: str | None = None
) -> WorkingHours | None:
    """The therapist's working week in force on ``on`` (None before any is set)."""
    earlier = [
        hours
        for hours in working_hours_of(db, scope, therapist, practice=practice)
        if hours.effective_from <= on
    ]
    return earlier[-1] if earlier else None


def settings_in_force(
    db: Database,
    scope: Scope,
    therapist: str,
    client: str | None,
    on: date,
    *,
    practice: str | None = None,
) -> BoundarySetting:
    """The agreement in force for one client (or the default) on one day, fields merged.

    Each field of the client's latest override on or before ``on`` wins when set; the rest
    come from the therapist's latest default on or before ``on``. ``effective_from`` is the
    later of the two rows' dates, or ``on`` itself when nothing is in force (all fields None).
    """
    with db.cursor() as cursor:
        found = _find_therapist(cursor, therapist, practice, scope)
        client_id = None if client is None else _find_client(cursor, found, client, scope)
        levels = [None] if client_id is None else [None, client_id]
        in_force = []
        for level in levels:
            rows = _settings_where(
                "b.therapist_id = $therapist_id AND b.client_id IS NOT DISTINCT FROM $client_id "
                "AND b.effective_from = (SELECT max(effective_from) FROM boundaries "
                "WHERE therapist_id = $therapist_id "
                "AND client_id IS NOT DISTINCT FROM $client_id AND effective_from <= $on)",
                {"therapist_id": found.therapist_id, "client_id": level, "on": on},
                cursor,
                scope,
            )
            in_force.extend(rows)
    merged: dict[str, object] = dict.fromkeys(SETTING_FIELDS)
    for row in in_force:  # the default first, so the override's set fields win
        for field in SETTING_FIELDS:
            value = getattr(row, field)
            if value is not None:
                merged[field] = value
    return BoundarySetting(
        therapist=found.name,
        practice=found.practice,
        client=None if client is None else client.strip(),
        effective_from=max((row.effective_from for row in in_force), default=on),
        **merged,  # type: ignore[arg-type]
    )


# --- history -----------------------------------------------------------------------------


def _setting_json(setting: BoundarySetting | None) -> str | None:
    if setting is None:
        return None
    record: dict[str, object] = {
        "practice": setting.practice,
        "therapist": setting.therapist,
        "client": setting.client,
        "effective_from": setting.effective_from.isoformat(),
    }
    for field in SETTING_FIELDS:
        value = getattr(setting, field)
        if field == "channel_categories" and value is not None:
            value = {channel: list(carried) for channel, carried in value.items()}
        elif isinstance(value, tuple):
            value = list(value)
        record[field] = value
    return json.dumps(record, ensure_ascii=False)


def _hours_json(therapist: _Therapist, hours: WorkingHours | None) -> str | None:
    if hours is None:
        return None
    return json.dumps(
        {
            "practice": therapist.practice,
            "therapist": therapist.name,
            "effective_from": hours.effective_from.isoformat(),
            **{
                WEEKDAY_KEYS[weekday]: [_interval_text(interval) for interval in intervals]
                for weekday, intervals in hours.days.items()
            },
        },
        ensure_ascii=False,
    )


def _record_change(
    cursor: duckdb.DuckDBPyConnection,
    changed_by: str,
    therapist_id: int,
    client_id: int | None,
    what: str,
    before: str | None,
    after: str | None,
) -> None:
    cursor.execute(
        """
        INSERT INTO boundary_changes
            (changed_by, therapist_id, client_id, what, before_value, after_value)
        VALUES (?, ?, ?, ?, ?, ?)
        """,
        [changed_by.strip(), therapist_id, client_id, what, before, after],
    )


_CHANGE_LOG_SQL = """
SELECT h.change_id, h.changed_at, h.changed_by, p.name AS practice,
       t.name AS therapist, {client} AS client, h.what,
       {before} AS before, {after} AS after
FROM boundary_changes AS h
LEFT JOIN therapists AS t ON t.therapist_id = h.therapist_id
LEFT JOIN practices AS p ON p.practice_id = t.practice_id
LEFT JOIN clients AS c ON c.client_id = h.client_id
WHERE {in_scope}
ORDER BY h.change_id DESC
LIMIT $limit
"""

# The stored before/after JSON names the client by label; viewers who see keys get the
# key in its place (a JSON merge patch on the "client" field).
_KEYED_JSON = "json_merge_patch({column}, json_object('client', c.client_key))"


def change_log(db: Database, scope: Scope, limit: int = 200) -> pd.DataFrame:
    """The latest changes to boundaries, working hours and time zones the viewer may see,
    newest first.

    Columns: change_id, changed_at (UTC), changed_by, practice, therapist, client (None
    unless the change concerns one client; its key for viewers who see no labels), what,
    and before / after as JSON text (None for an addition / a deletion).
    """
    in_scope, scope_params = _named_scope(scope, "t")
    if scope.shows_labels:
        columns = {"before": "h.before_value", "after": "h.after_value"}
    else:
        columns = {
            name: _KEYED_JSON.format(column=f"h.{name}_value") for name in ("before", "after")
        }
    sql = _CHANGE_LOG_SQL.format(client=_client_column(scope), in_scope=in_scope, **columns)
    with db.cursor() as cursor:
        frame = cursor.execute(sql, {"limit": limit, **scope_params}).df()
    # Missing text stays None (not NaN), as in the other frames of this module.
    text = ["changed_by", "practice", "therapist", "client", "what", "before", "after"]
    frame[text] = frame[text].astype(object).where(frame[text].notna(), None)
    return frame


# --- writing settings ------------------------------------------------------------------

_INSERT_SETTING_SQL = """
INSERT INTO boundaries (
    therapist_id, client_id, effective_from, weekly_cap_minutes, category_caps,
    allowed_channels, channel_categories, response_target_hours, response_in_working_hours,
    crisis_counts_toward_cap
)
VALUES (
    $therapist_id, $client_id, $effective_from, $weekly_cap_minutes,
    CASE WHEN $has_caps THEN map(CAST($cap_keys AS VARCHAR[]), CAST($cap_minutes AS DOUBLE[])) END,
    CAST($allowed_channels AS VARCHAR[]),
    CASE WHEN $has_carried
         THEN map(CAST($carried_keys AS VARCHAR[]), CAST($carried_categories AS VARCHAR[][])) END,
    $response_target_hours, $response_in_working_hours, $crisis_counts_toward_cap
)
"""


def _store_setting(
    cursor: duckdb.DuckDBPyConnection,
    setting: BoundarySetting,
    changed_by: str,
    scope: Scope = LOCAL,
) -> bool:
    """Replace the row of the setting's scope and date; True when anything changed.

    Refuses (``PermissionDeniedError``) a viewer who may not edit this therapist's limits.
    """
    therapist = _find_therapist(cursor, setting.therapist, setting.practice)
    scope.require_boundary_edit(therapist.therapist_id)
    client_id = None if setting.client is None else _find_client(cursor, therapist, setting.client)
    stored = BoundarySetting(
        therapist=therapist.name,
        practice=therapist.practice,
        client=None if setting.client is None else setting.client.strip(),
        effective_from=setting.effective_from,
        **{field: getattr(setting, field) for field in SETTING_FIELDS},
    )
    before = _stored_setting(cursor, therapist.therapist_id, client_id, setting.effective_from)
    if before == stored:
        return False
    row_key = {
        "therapist_id": therapist.therapist_id,
        "client_id": client_id,
        "effective_from": setting.effective_from,
    }
    # UNIQUE treats NULL client ids as distinct, so a same-date default is replaced by hand.
    cursor.execute(
        "DELETE FROM boundaries WHERE therapist_id = $therapist_id "
        "AND client_id IS NOT DISTINCT FROM $client_id AND effective_from = $effective_from",
        row_key,
    )
    caps = stored.category_caps
    carried = stored.channel_categories
    cursor.execute(
        _INSERT_SETTING_SQL,
        {
            **row_key,
            "weekly_cap_minutes": stored.weekly_cap_minutes,
            "has_caps": caps is not None,
            "cap_keys": list(caps or {}),
            "cap_minutes": list((caps or {}).values()),
            "allowed_channels": (
                None if stored.allowed_channels is None else list(stored.allowed_channels)
            ),
            "has_carried": carried is not None,
            "carried_keys": list(carried or {}),
            "carried_categories": [list(value) for value in (carried or {}).values()],
            "response_target_hours": stored.response_target_hours,
            "response_in_working_hours": stored.response_in_working_hours,
            "crisis_counts_toward_cap": stored.crisis_counts_toward_cap,
        },
    )
    kind = "default" if client_id is None else "override"
    action = "added" if before is None else "changed"
    _record_change(
        cursor,
        changed_by,
        therapist.therapist_id,
        client_id,
        f"{kind} from {setting.effective_from} {action}",
        _setting_json(before),
        _setting_json(stored),
    )
    return True


def _audit_edit(
    cursor: duckdb.DuckDBPyConnection, scope: Scope, what: str, therapist: str, practice: str
) -> None:
    """One audit entry for a boundary edit: what changed and whose (never a client label)."""
    audit.record(cursor, scope, "boundary_edit", f"{what} for {therapist} at {practice}")


def save_setting(
    db: Database, setting: BoundarySetting, changed_by: str, *, scope: Scope = LOCAL
) -> None:
    """Store one setting, replacing the one of the same scope and date, with its history.

    Invalid input raises ``InvalidBoundaryError`` and stores nothing; saving a setting
    identical to the stored one changes nothing and records nothing. A viewer who may not
    edit the therapist's boundaries gets ``PermissionDeniedError``.
    """
    check_setting(setting)
    _check_changed_by(changed_by)
    with db.transaction() as cursor:
        if _store_setting(cursor, setting, changed_by, scope):
            kind = "default" if setting.client is None else "client override"
            what = f"{kind} from {setting.effective_from} saved"
            _audit_edit(cursor, scope, what, setting.therapist, str(setting.practice))


def delete_setting(
    db: Database,
    therapist: str,
    client: str | None,
    effective_from: date,
    changed_by: str,
    *,
    practice: str | None = None,
    scope: Scope = LOCAL,
) -> None:
    """Remove the setting of one scope and date (the default when ``client`` is None)."""
    _check_changed_by(changed_by)
    with db.transaction() as cursor:
        found = _find_therapist(cursor, therapist, practice)
        scope.require_boundary_edit(found.therapist_id)
        client_id = None if client is None else _find_client(cursor, found, client)
        before = _stored_setting(cursor, found.therapist_id, client_id, effective_from)
        if before is None:
            level = "default" if client is None else f"override for {client}"
            raise InvalidBoundaryError(
                f"{found.name} has no {level} from {effective_from} to delete."
            )
        cursor.execute(
            "DELETE FROM boundaries WHERE therapist_id = ? "
            "AND client_id IS NOT DISTINCT FROM ? AND effective_from = ?",
            [found.therapist_id, client_id, effective_from],
        )
        kind = "default" if client_id is None else "override"
        _record_change(
            cursor,
            changed_by,
            found.therapist_id,
            client_id,
            f"{kind} from {effective_from} deleted",
            _setting_json(before),
            None,
        )
        _audit_edit(
            cursor, scope, f"{kind} from {effective_from} deleted", found.name, found.practice
        )


# --- writing working hours -------------------------------------------------------------


def _store_working_hours(
    cursor: duckdb.DuckDBPyConnection, therapist: _Therapist, hours: WorkingHours, changed_by: str
) -> bool:
    """Replace the therapist's week of that date; True when anything changed."""
    stored = _stored_hours(
        cursor,
        "w.therapist_id = $therapist_id AND w.effective_from = $effective_from",
        {"therapist_id": therapist.therapist_id, "effective_from": hours.effective_from},
    )
    before = stored[0][2] if stored else None
    if before == hours:
        return False
    cursor.execute(
        "DELETE FROM working_hours WHERE therapist_id = ? AND effective_from = ?",
        [therapist.therapist_id, hours.effective_from],
    )
    rows = [
        (weekday, starts, ends)
        for weekday, intervals in hours.days.items()
        for starts, ends in intervals
    ]
    cursor.execute(
        """
        INSERT INTO working_hours (therapist_id, effective_from, weekday, starts, ends)
        SELECT $therapist_id, $effective_from, unnest($weekdays), unnest(CAST($starts AS TIME[])),
               unnest(CAST($ends AS TIME[]))
        """,
        {
            "therapist_id": therapist.therapist_id,
            "effective_from": hours.effective_from,
            "weekdays": [weekday for weekday, _, _ in rows],
            "starts": [starts for _, starts, _ in rows],
            "ends": [ends for _, _, ends in rows],
        },
    )
    action = "added" if before is None else "changed"
    _record_change(
        cursor,
        changed_by,
        therapist.therapist_id,
        None,
        f"working hours from {hours.effective_from} {action}",
        _hours_json(therapist, before),
        _hours_json(therapist, hours),
    )
    return True


def save_working_hours(
    db: Database,
    therapist: str,
    hours: WorkingHours,
    changed_by: str,
    *,
    practice: str | None = None,
    scope: Scope = LOCAL,
) -> None:
    """Store a therapist's working week from its date, replacing that date's week, with history."""
    check_working_hours(hours)
    _check_changed_by(changed_by)
    with db.transaction() as cursor:
        found = _find_therapist(cursor, therapist, practice)
        scope.require_boundary_edit(found.therapist_id)
        if _store_working_hours(cursor, found, hours, changed_by):
            what = f"working hours from {hours.effective_from} saved"
            _audit_edit(cursor, scope, what, found.name, found.practice)


def delete_working_hours(
    db: Database,
    therapist: str,
    effective_from: date,
    changed_by: str,
    *,
    practice: str | None = None,
    scope: Scope = LOCAL,
) -> None:
    """Remove a therapist's working week of one date (the one before it applies again)."""
    _check_changed_by(changed_by)
    with db.transaction() as cursor:
        found = _find_therapist(cursor, therapist, practice)
        scope.require_boundary_edit(found.therapist_id)
        stored = _stored_hours(
            cursor,
            "w.therapist_id = $therapist_id AND w.effective_from = $effective_from",
            {"therapist_id": found.therapist_id, "effective_from": effective_from},
        )
        if not stored:
            raise InvalidBoundaryError(
                f"{found.name} has no working hours from {effective_from} to delete."
            )
        cursor.execute(
            "DELETE FROM working_hours WHERE therapist_id = ? AND effective_from = ?",
            [found.therapist_id, effective_from],
        )
        _record_change(
            cursor,
            changed_by,
            found.therapist_id,
            None,
            f"working hours from {effective_from} deleted",
            _hours_json(found, stored[0][2]),
            None,
        )
        what = f"working hours from {effective_from} deleted"
        _audit_edit(cursor, scope, what, found.name, found.practice)


# --- time zone -------------------------------------------------------------------------


def set_time_zone(
    db: Database,
    therapist: str,
    zone: str,
    changed_by: str,
    *,
    practice: str | None = None,
    scope: Scope = LOCAL,
) -> int:
    """Set a therapist's IANA time zone and recompute their contacts' local times in SQL.

    Instants (``started_at``) are kept and wall-clock times follow the new zone; contacts
    imported with a date only (``time_known`` false) keep their local date. Returns the
    number of contacts whose local time was recomputed. The name is matched without regard
    to case and stored as DuckDB spells it.
    """
    _check_changed_by(changed_by)
    with db.transaction() as cursor:
        found = _find_therapist(cursor, therapist, practice)
        scope.require_boundary_edit(found.therapist_id)
        row = cursor.execute(
            "SELECT name FROM pg_timezone_names() WHERE lower(name) = lower(trim($zone)) "
            "ORDER BY name = trim($zone) DESC, name LIMIT 1",
            {"zone": zone},
        ).fetchone()
        if row is None:
            raise InvalidBoundaryError(
                f"Unknown time zone '{zone}'; use an IANA name such as America/New_York "
                "or Europe/Berlin."
            )
        canonical = str(row[0])
        if canonical == found.time_zone:
            return 0
        cursor.execute(
            "UPDATE therapists SET time_zone = ? WHERE therapist_id = ?",
            [canonical, found.therapist_id],
        )
        updated = cursor.execute(
            "UPDATE contacts SET local_started_at = timezone($zone, started_at) "
            "WHERE therapist_id = $therapist_id AND coalesce(time_known, true)",
            {"zone": canonical, "therapist_id": found.therapist_id},
        ).fetchone()
        _record_change(
            cursor,
            changed_by,
            found.therapist_id,
            None,
            "time zone changed",
            json.dumps(
                {"practice": found.practice, "therapist": found.name, "time_zone": found.time_zone}
            ),
            json.dumps(
                {"practice": found.practice, "therapist": found.name, "time_zone": canonical}
            ),
        )
        _audit_edit(cursor, scope, f"time zone set to {canonical}", found.name, found.practice)
    return int(updated[0]) if updated else 0


# --- readable frames and descriptions ----------------------------------------------------


def format_category_caps(caps: Mapping[str, float] | None) -> str | None:
    """``{'support': 45.0}`` -> ``"support=45"`` (the CSV and frame encoding)."""
    if caps is None:
        return None
    return "; ".join(f"{key}={number_text(value)}" for key, value in caps.items()) or _NONE


def format_channels(channels: Sequence[str] | None) -> str | None:
    """``('phone', 'text')`` -> ``"phone, text"``."""
    if channels is None:
        return None
    return ", ".join(channels) or _NONE


def format_channel_categories(carried: Mapping[str, Sequence[str]] | None) -> str | None:
    """``{'text': ('scheduling', 'reminder')}`` -> ``"text=scheduling, reminder"``."""
    if carried is None:
        return None
    return (
        "; ".join(f"{channel}={', '.join(items) or _NONE}" for channel, items in carried.items())
        or _NONE
    )


def format_day_hours(intervals: Sequence[Interval]) -> str:
    """``[(09:00, 12:00), (13:00, 17:00)]`` -> ``"09:00-12:00, 13:00-17:00"`` ("" = day off)."""
    return ", ".join(_interval_text(interval) for interval in intervals)


def list_settings(
    db: Database, scope: Scope, therapist: str | None = None, *, practice: str | None = None
) -> pd.DataFrame:
    """Stored settings the viewer may see, one readable row each (maps and lists encoded
    as in CSV files); clients by key for viewers who see no labels.

    Columns: practice, therapist, client (None for the default), effective_from and the
    setting fields; None is "inherit" (overrides) or "not set" (defaults). A row edited in
    a table goes back through ``setting_from_row``.
    """
    rows = [
        {
            "practice": setting.practice,
            "therapist": setting.therapist,
            "client": setting.client,
            "effective_from": setting.effective_from,
            "weekly_cap_minutes": setting.weekly_cap_minutes,
            "category_caps": format_category_caps(setting.category_caps),
            "allowed_channels": format_channels(setting.allowed_channels),
            "channel_categories": format_channel_categories(setting.channel_categories),
            "response_target_hours": setting.response_target_hours,
            "response_in_working_hours": setting.response_in_working_hours,
            "crisis_counts_toward_cap": setting.crisis_counts_toward_cap,
        }
        for setting in stored_settings(db, scope, therapist, practice=practice)
    ]
    columns = ["practice", "therapist", "client", "effective_from", *SETTING_FIELDS]
    # Built as objects so None stays None (inherit) rather than becoming NaN in text columns.
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    return frame.astype({"weekly_cap_minutes": float, "response_target_hours": float})


def stored_working_hours(
    db: Database, scope: Scope, therapist: str | None = None, *, practice: str | None = None
) -> list[tuple[str, str, WorkingHours]]:
    """(practice, therapist, week) per stored working week the viewer may see (of one
    therapist), oldest first."""
    with db.cursor() as cursor:
        if therapist is not None:
            found = _find_therapist(cursor, therapist, practice, scope)
            return _stored_hours(
                cursor,
                "w.therapist_id = $therapist_id",
                {"therapist_id": found.therapist_id},
                scope,
            )
        if practice is not None:
            return _stored_hours(cursor, "p.name = $practice", {"practice": practice}, scope)
        return _stored_hours(cursor, "TRUE", {}, scope)


def list_working_hours(
    db: Database, scope: Scope, therapist: str | None = None, *, practice: str | None = None
) -> pd.DataFrame:
    """Stored working weeks the viewer may see, one row per therapist and date, a column
    per weekday.

    Columns: practice, therapist, effective_from, mon ... sun, each day's intervals as
    ``"09:00-12:00, 13:00-17:00"`` ("" for a day off). ``working_hours_from_row`` reads a
    row back.
    """
    stored = stored_working_hours(db, scope, therapist, practice=practice)
    rows = [
        {
            "practice": practice_name,
            "therapist": therapist_name,
            "effective_from": hours.effective_from,
            **{
                key: format_day_hours(hours.days.get(weekday, []))
                for weekday, key in enumerate(WEEKDAY_KEYS)
            },
        }
        for practice_name, therapist_name, hours in stored
    ]
    return pd.DataFrame(rows, columns=["practice", "therapist", "effective_from", *WEEKDAY_KEYS])


def describe_setting(setting: BoundarySetting) -> str:
    """The set fields in words, e.g. "60 min a week; text carries scheduling, reminder"."""
    parts: list[str] = []
    if setting.weekly_cap_minutes is not None:
        parts.append(f"{number_text(setting.weekly_cap_minutes)} min a week")
    if setting.category_caps is not None:
        caps = ", ".join(
            f"{key} {number_text(value)} min" for key, value in setting.category_caps.items()
        )
        parts.append(f"category caps {caps or 'none'}")
    if setting.allowed_channels is not None:
        parts.append(f"channels {', '.join(setting.allowed_channels) or 'none'}")
    if setting.channel_categories is not None:
        if not setting.channel_categories:
            parts.append("any channel carries any category")
        for channel, carried in setting.channel_categories.items():
            parts.append(f"{channel} carries {', '.join(carried) or 'nothing'}")
    if setting.response_target_hours is not None:
        mode = {True: " working", False: " calendar", None: ""}[setting.response_in_working_hours]
        parts.append(f"replies within {number_text(setting.response_target_hours)}{mode} hours")
    elif setting.response_in_working_hours is not None:
        hours = "working" if setting.response_in_working_hours else "calendar"
        parts.append(f"response times in {hours} hours")
    if setting.crisis_counts_toward_cap is not None:
        parts.append(
            "crisis counts toward caps"
            if setting.crisis_counts_toward_cap
            else "crisis not counted toward caps"
        )
    if not parts:
        return "nothing set" if setting.client is None else "inherits everything"
    return "; ".join(parts)


def describe_working_hours(hours: WorkingHours) -> str:
    """The week in words, consecutive equal days joined: "Mon-Thu 08:00-18:00; Fri 08:00-13:00"."""
    groups: list[tuple[int, int, str]] = []
    for weekday in range(7):
        text = format_day_hours(hours.days.get(weekday, []))
        if groups and groups[-1][2] == text and groups[-1][1] == weekday - 1:
            groups[-1] = (groups[-1][0], weekday, text)
        else:
            groups.append((weekday, weekday, text))
    described = []
    for first, last, text in groups:
        if not text:
            continue
        days = WEEKDAY_NAMES[first][:3]
        if last > first:
            days += f"-{WEEKDAY_NAMES[last][:3]}"
        described.append(f"{days} {text}")
    return "; ".join(described) or "no working hours"


# --- reading cells (files and edited frames) ---------------------------------------------


def _empty(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _parse_number(value: object, field: str, unit: str) -> float | None:
    if _empty(value):
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_):
        return float(value)
    if isinstance(value, str):
        with suppress(ValueError):
            return float(value.strip())
    raise InvalidBoundaryError(
        f"The {_FIELD_LABELS.get(field, field)} must be a number of {unit}, not '{value}'."
    )


def _parse_bool(value: object, field: str) -> bool | None:
    if _empty(value):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidBoundaryError(f"The {_FIELD_LABELS[field]} must be true or false, not '{value}'.")


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
    if _empty(value):
        raise InvalidBoundaryError("A setting needs the date from which it applies.")
    raise InvalidBoundaryError(f"The effective date must be a date like 2026-03-02, not '{value}'.")


def _parse_list(value: object, field: str) -> tuple[str, ...] | None:
    """A list of keys from a list, or from text ``"a, b"``; ``"none"`` is the empty list."""
    if _empty(value):
        return None
    if isinstance(value, str):
        if value.strip().lower() == _NONE:
            return ()
        return tuple(item.strip() for item in value.split(",") if item.strip())
    if isinstance(value, list | tuple | np.ndarray) and all(isinstance(i, str) for i in value):
        return tuple(str(item).strip() for item in value)
    raise InvalidBoundaryError(
        f"The {_FIELD_LABELS.get(field, field)} must be a list of names like phone, email, "
        f"not '{value}'."
    )


def _map_entries(value: str, field: str, example: str) -> Iterator[tuple[str, str]]:
    """``"a=1; b=2"`` -> (a, 1), (b, 2); nothing for ``"none"``."""
    if value.strip().lower() == _NONE:
        return
    for entry in value.split(";"):
        if not entry.strip():
            continue
        key, equals, item = entry.partition("=")
        if not equals or not key.strip():
            raise InvalidBoundaryError(
                f"The {_FIELD_LABELS[field]} must read like {example}, not '{value.strip()}'."
            )
        yield key.strip(), item.strip()


def _parse_caps(value: object) -> dict[str, float] | None:
    if _empty(value):
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
    if _empty(value):
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
        parsed = () if _empty(categories) else _parse_list(categories, f"{channel} categories")
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
    if _empty(value):
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
        therapist="" if _empty(therapist) else str(therapist).strip(),
        practice="" if _empty(practice) else str(practice).strip(),
        client=None if _empty(client) else str(client).strip(),
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


def working_hours_from_row(row: Mapping[str, object]) -> WorkingHours:
    """A working week from one row of ``list_working_hours`` or of a CSV file."""
    return WorkingHours(
        effective_from=_parse_date(row.get("effective_from")),
        days={
            weekday: parse_day_hours(row.get(key), weekday)
            for weekday, key in enumerate(WEEKDAY_KEYS)
        },
    )


# --- files ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _HoursEntry:
    practice: str
    therapist: str
    hours: WorkingHours


@dataclass(frozen=True)
class _Entry:
    """One entry of a settings file and where it came from (for messages)."""

    kind: str  # "Row", "Setting" or "Working hours entry"
    number: int
    file: str
    item: BoundarySetting | _HoursEntry

    @property
    def place(self) -> str:
        """Where the entry is, as a message starts: "Row 3 of policy.csv"."""
        return _place(self.kind, self.number, self.file)


def _place(kind: str, number: int, file: str) -> str:
    return f"{kind} {number} {'of' if kind == 'Row' else 'in'} {file}"


_PLURALS = {"Row": "Rows", "Setting": "Settings", "Working hours entry": "Working hours entries"}


def _at(place: str, error: InvalidBoundaryError) -> InvalidBoundaryError:
    return InvalidBoundaryError(f"{place}: {error}")


def _file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".csv"):
        raise BoundaryFileError(
            f"{path.name} is neither a .toml nor a .csv file; boundary settings are exchanged "
            "as TOML or CSV."
        )
    return suffix[1:]


def _all_entries(db: Database, scope: Scope) -> tuple[list[BoundarySetting], list[_HoursEntry]]:
    with db.cursor() as cursor:
        settings = _settings_where("TRUE", {}, cursor, scope)
        hours = [_HoursEntry(*stored) for stored in _stored_hours(cursor, "TRUE", {}, scope)]
    return settings, hours


def export_settings(db: Database, scope: Scope, path: Path | str) -> int:
    """Write every setting and working week the viewer may see to ``path`` (.toml or
    .csv); return the count. (Not audited here: the Boundaries page prepares its download
    on every run; callers record the exports people actually take.)"""
    path = Path(path)
    kind = _file_format(path)
    settings, hours = _all_entries(db, scope)
    if kind == "toml":
        path.write_text(_toml_text(settings, hours), encoding="utf-8")
    else:
        # With a byte-order mark, so spreadsheet programs read names like "Weber" or "Müller"
        # as UTF-8; the loader accepts files with or without one.
        path.write_text(_csv_text(settings, hours), encoding="utf-8-sig", newline="")
    return len(settings) + len(hours)


def load_settings(db: Database, path: Path | str, changed_by: str, *, scope: Scope = LOCAL) -> int:
    """Read a settings file (.toml or .csv) and store every entry, all or nothing.

    Everything is checked before anything is stored; an error names the row (CSV) or
    entry (TOML). Entries replace stored ones of the same scope and date; identical ones
    record no change. An entry for a therapist the viewer may not edit refuses the whole
    file (``PermissionDeniedError``). Returns the number of entries in the file.
    """
    path = Path(path)
    kind = _file_format(path)
    _check_changed_by(changed_by)
    if not path.is_file():
        raise BoundaryFileError(f"{path} does not exist or is not a file.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise BoundaryFileError(f"{path.name} is not UTF-8 text; save it as UTF-8.") from None
    entries = _toml_entries(text, path.name) if kind == "toml" else _csv_entries(text, path.name)
    seen: dict[tuple[str, str, str | None, date, str], _Entry] = {}
    for entry in entries:
        item = entry.item
        try:
            if isinstance(item, BoundarySetting):
                check_setting(item)
                key = (item.practice, item.therapist, item.client, item.effective_from, "setting")
            else:
                _check_name(item.therapist, "therapist")
                _check_name(item.practice, "practice")
                check_working_hours(item.hours)
                key = (item.practice, item.therapist, None, item.hours.effective_from, "hours")
        except InvalidBoundaryError as error:
            raise _at(entry.place, error) from None
        if key in seen:
            first = seen[key]
            what = (
                "working hours"
                if key[4] == "hours"
                else ("default" if key[2] is None else f"override for {key[2]}")
            )
            raise InvalidBoundaryError(
                f"{_PLURALS[entry.kind]} {first.number} and {entry.number} "
                f"{'of' if entry.kind == 'Row' else 'in'} {entry.file} both give {key[1]}'s "
                f"{what} from {key[3]}; keep one."
            )
        seen[key] = entry
    with db.transaction() as cursor:
        changed = 0
        for entry in entries:
            item = entry.item
            try:
                if isinstance(item, BoundarySetting):
                    changed += _store_setting(cursor, item, changed_by, scope)
                else:
                    therapist = _find_therapist(cursor, item.therapist, item.practice)
                    scope.require_boundary_edit(therapist.therapist_id)
                    changed += _store_working_hours(cursor, therapist, item.hours, changed_by)
            except InvalidBoundaryError as error:
                raise _at(entry.place, error) from None
        if changed:
            whose = sorted(
                {f"{entry.item.therapist} at {entry.item.practice}" for entry in entries}
            )
            detail = f"{changed} of {len(entries)} entries loaded from {path.name} for "
            audit.record(cursor, scope, "boundary_edit", detail + "; ".join(whose))
    return len(entries)


# TOML


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float | int):
        return number_text(float(value))
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        # Keys are the domain's channel and category keys: always valid bare keys.
        return (
            "{ " + ", ".join(f"{key} = {_toml_value(item)}" for key, item in value.items()) + " }"
            if value
            else "{}"
        )
    raise TypeError(f"no TOML form for {value!r}")


def _toml_text(settings: list[BoundarySetting], hours: list[_HoursEntry]) -> str:
    lines = [
        "# Contact Load boundary settings. A field left out inherits the therapist's default",
        "# (client entries) or is not set (defaults); see analytics/policy/boundaries.py.",
    ]
    for setting in settings:
        lines += ["", "[[setting]]"]
        lines.append(f"practice = {toml_string(setting.practice)}")
        lines.append(f"therapist = {toml_string(setting.therapist)}")
        if setting.client is not None:
            lines.append(f"client = {toml_string(setting.client)}")
        lines.append(f"effective_from = {setting.effective_from.isoformat()}")
        for field in SETTING_FIELDS:
            value = getattr(setting, field)
            if value is not None:
                lines.append(f"{field} = {_toml_value(value)}")
    for entry in hours:
        lines += ["", "[[working_hours]]"]
        lines.append(f"practice = {toml_string(entry.practice)}")
        lines.append(f"therapist = {toml_string(entry.therapist)}")
        lines.append(f"effective_from = {entry.hours.effective_from.isoformat()}")
        for weekday, intervals in entry.hours.days.items():
            texts = [_interval_text(interval) for interval in intervals]
            lines.append(f"{WEEKDAY_KEYS[weekday]} = {_toml_value(texts)}")
    return "\n".join(lines) + "\n"


_SETTING_KEYS = ("practice", "therapist", "client", "effective_from", *SETTING_FIELDS)
_HOURS_KEYS = ("practice", "therapist", "effective_from", *WEEKDAY_KEYS)


def _toml_entries(text: str, name: str) -> list[_Entry]:
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise BoundaryFileError(f"{name} is not valid TOML ({error}).") from None
    unknown = sorted(set(document) - {"setting", "working_hours"})
    if unknown:
        raise BoundaryFileError(
            f"{name} has an unknown section '{unknown[0]}'; use [[setting]] and "
            "[[working_hours]] tables."
        )
    entries: list[_Entry] = []
    for section, allowed, kind in (
        ("setting", _SETTING_KEYS, "Setting"),
        ("working_hours", _HOURS_KEYS, "Working hours entry"),
    ):
        tables = document.get(section, [])
        if not isinstance(tables, list):
            raise BoundaryFileError(
                f"{name} has [{section}] where [[{section}]] (a list of tables) is expected."
            )
        for number, table in enumerate(tables, start=1):
            place = _place(kind, number, name)
            if not isinstance(table, dict):
                raise BoundaryFileError(f"{place} is not a table of fields.")
            extra = sorted(set(table) - set(allowed))
            if extra:
                raise InvalidBoundaryError(
                    f"{place}: Unknown field '{extra[0]}'; use {', '.join(allowed)}."
                )
            try:
                if section == "setting":
                    entries.append(_Entry(kind, number, name, _setting_from_cells(table)))
                else:
                    entries.append(_Entry(kind, number, name, _hours_from_cells(table)))
            except InvalidBoundaryError as error:
                raise _at(place, error) from None
    return entries


def _setting_from_cells(cells: Mapping[str, object]) -> BoundarySetting:
    for key in ("practice", "therapist"):
        if not isinstance(cells.get(key), str) or not str(cells.get(key)).strip():
            raise InvalidBoundaryError(f"A setting needs the {key}'s name.")
    return setting_from_row(cells)


def _hours_from_cells(cells: Mapping[str, object]) -> _HoursEntry:
    for key in ("practice", "therapist"):
        if not isinstance(cells.get(key), str) or not str(cells.get(key)).strip():
            raise InvalidBoundaryError(f"Working hours need the {key}'s name.")
    return _HoursEntry(
        practice=str(cells["practice"]).strip(),
        therapist=str(cells["therapist"]).strip(),
        hours=working_hours_from_row(cells),
    )


# CSV


def _csv_text(settings: list[BoundarySetting], hours: list[_HoursEntry]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, restval="")
    writer.writeheader()
    for setting in settings:
        cap = setting.weekly_cap_minutes
        target = setting.response_target_hours
        writer.writerow(
            {
                "kind": "setting",
                "practice": setting.practice,
                "therapist": setting.therapist,
                "client": setting.client or "",
                "effective_from": setting.effective_from.isoformat(),
                "weekly_cap_minutes": "" if cap is None else number_text(cap),
                "category_caps": format_category_caps(setting.category_caps) or "",
                "allowed_channels": format_channels(setting.allowed_channels) or "",
                "channel_categories": format_channel_categories(setting.channel_categories) or "",
                "response_target_hours": "" if target is None else number_text(target),
                "response_in_working_hours": _bool_text(setting.response_in_working_hours),
                "crisis_counts_toward_cap": _bool_text(setting.crisis_counts_toward_cap),
            }
        )
    for entry in hours:
        writer.writerow(
            {
                "kind": "working_hours",
                "practice": entry.practice,
                "therapist": entry.therapist,
                "effective_from": entry.hours.effective_from.isoformat(),
                **{
                    WEEKDAY_KEYS[weekday]: format_day_hours(intervals)
                    for weekday, intervals in entry.hours.days.items()
                },
            }
        )
    return buffer.getvalue()


def _bool_text(value: bool | None) -> str:
    return "" if value is None else ("true" if value else "false")


def _csv_entries(text: str, name: str) -> list[_Entry]:
    # csv.reader rather than DictReader: it yields blank lines too, so numbers stay the row
    # numbers a spreadsheet shows (header = row 1).
    records = csv.reader(io.StringIO(text, newline=""))
    header = [column.strip() for column in next(records, [])]
    if not any(header):
        raise BoundaryFileError(f"{name} is empty; export settings to see the expected columns.")
    unknown = [column for column in header if column not in CSV_COLUMNS]
    if unknown:
        raise BoundaryFileError(
            f"{name} has an unknown column '{unknown[0]}'; the columns are "
            f"{', '.join(CSV_COLUMNS)}."
        )
    missing = [
        column for column in ("practice", "therapist", "effective_from") if column not in header
    ]
    if missing:
        raise BoundaryFileError(f"{name} has no '{missing[0]}' column.")
    entries: list[_Entry] = []
    for number, record in enumerate(records, start=2):
        if not any(value.strip() for value in record):
            continue
        if len(record) > len(header):
            raise BoundaryFileError(f"Row {number} of {name} has more cells than the header.")
        cells = dict(zip(header, record, strict=False))
        place = _place("Row", number, name)
        kind = (cells.get("kind") or "setting").strip().lower()
        try:
            if kind == "setting":
                filled = [key for key in WEEKDAY_KEYS if not _empty(cells.get(key))]
                if filled:
                    raise InvalidBoundaryError(
                        f"A setting row gives working hours ({filled[0]}); put them in a "
                        "working_hours row."
                    )
                entries.append(_Entry("Row", number, name, _setting_from_cells(cells)))
            elif kind == "working_hours":
                filled = [key for key in ("client", *SETTING_FIELDS) if not _empty(cells.get(key))]
                if filled:
                    raise InvalidBoundaryError(
                        f"A working_hours row gives {filled[0]}, which belongs in a setting row."
                    )
                entries.append(_Entry("Row", number, name, _hours_from_cells(cells)))
            else:
                raise InvalidBoundaryError(
                    f"Unknown kind '{cells.get('kind')}'; use setting or working_hours."
                )
        except InvalidBoundaryError as error:
            raise _at(place, error) from None
    return entries


# --- demo ------------------------------------------------------------------------------


def _monday_on_or_before(day: date) -> date:
    return day - timedelta(days=day.weekday())


def demo_boundaries(db: Database, changed_by: str = "demo", *, scope: Scope = LOCAL) -> int:
    """Give every demo therapist a plausible policy and a few clients overrides.

    Defaults vary per therapist (weekly cap 60 to 120 minutes per client, text for
    scheduling and reminders only, replies within 24 working hours for most, crisis not
    counted, working hours 09-17, 08-18 or split shifts); the heaviest clients get
    overrides, one of them a cap lowered halfway through the year, so a first run shows
    compliance, breaches and alerts. Touches only the boundary tables; running it again
    changes nothing. Returns the number of settings and working weeks stored. Only a
    viewer who may import (local mode, admins) may seed them.
    """
    scope.require_import()
    demo_names = [(practice, name) for practice, staff in PRACTICES.items() for name, _ in staff]
    with db.cursor() as cursor:
        therapists = cursor.execute(
            """
            SELECT p.name, t.name
            FROM therapists AS t JOIN practices AS p ON p.practice_id = t.practice_id
            WHERE list_contains($names, p.name || chr(31) || t.name)
              AND EXISTS (SELECT 1 FROM contacts AS c WHERE c.therapist_id = t.therapist_id)
            """,
            {"names": [f"{practice}\x1f{name}" for practice, name in demo_names]},
        ).fetchall()
        period = cursor.execute(
            "SELECT CAST(min(local_started_at) AS DATE), CAST(max(local_started_at) AS DATE) "
            "FROM contacts"
        ).fetchone()
        if not therapists or period is None or period[0] is None:
            return 0
        # One policy date for everyone (the Monday the data starts), one change halfway.
        start = _monday_on_or_before(period[0])
        halfway = _monday_on_or_before(period[0] + (period[1] - period[0]) / 2)
        # Each therapist's two heaviest clients with contacts on both sides of the halfway
        # date (a few rows; the work over contacts is all here in SQL).
        heavy = cursor.execute(
            """
            WITH per_client AS (
                SELECT therapist_id, client_id, sum(minutes) AS minutes
                FROM contacts
                GROUP BY ALL
                HAVING min(local_started_at) < $halfway AND max(local_started_at) >= $halfway
            ),
            ranked AS (
                SELECT *, row_number() OVER (
                    PARTITION BY therapist_id ORDER BY minutes DESC, client_id
                ) AS rank
                FROM per_client
            )
            SELECT p.name, t.name, cl.label, r.rank
            FROM ranked AS r
            JOIN therapists AS t ON t.therapist_id = r.therapist_id
            JOIN practices AS p ON p.practice_id = t.practice_id
            JOIN clients AS cl ON cl.client_id = r.client_id
            WHERE r.rank <= 2
            """,
            {"halfway": halfway},
        ).fetchall()
    present = set(therapists)
    heaviest = {(practice, name, rank): label for practice, name, label, rank in heavy}
    settings: list[BoundarySetting] = []
    weeks: list[_HoursEntry] = []
    nine_to_five = {weekday: [(time(9), time(17))] for weekday in range(5)}
    eight_to_six = {weekday: [(time(8), time(18))] for weekday in range(5)}
    split_shift = {weekday: [(time(8), time(12)), (time(13), time(18))] for weekday in range(4)}
    split_shift[4] = [(time(8), time(13))]
    for number, (practice, name) in enumerate(demo_names):
        if (practice, name) not in present:
            continue
        calendar_replies = number % 4 == 3
        settings.append(
            BoundarySetting(
                therapist=name,
                practice=practice,
                client=None,
                effective_from=start,
                weekly_cap_minutes=(60.0, 90.0, 120.0, 75.0)[number % 4],
                category_caps={"support": 30.0} if number % 3 == 2 else None,
                allowed_channels=("phone", "email", "text", "portal", "video"),
                channel_categories={"text": ("scheduling", "reminder")},
                response_target_hours=48.0 if calendar_replies else 24.0,
                response_in_working_hours=not calendar_replies,
                crisis_counts_toward_cap=False,
            )
        )
        week = (nine_to_five, eight_to_six, split_shift)[number % 3]
        weeks.append(_HoursEntry(practice, name, WorkingHours(start, week)))
        if number == 1:  # one therapist starts taking Fridays off halfway through
            shorter = {weekday: hours for weekday, hours in week.items() if weekday != 4}
            weeks.append(_HoursEntry(practice, name, WorkingHours(halfway, shorter)))
        top = heaviest.get((practice, name, 1))
        if top and number % 2 == 0:
            # Agreed extra support for the heaviest client, tapered halfway through.
            settings.append(BoundarySetting(name, practice, top, start, weekly_cap_minutes=180.0))
            if number % 4 == 0:
                settings.append(
                    BoundarySetting(name, practice, top, halfway, weekly_cap_minutes=90.0)
                )
        second = heaviest.get((practice, name, 2))
        if second and number % 3 == 0:
            # Texts may also carry check-ins for this client; no phone.
            settings.append(
                BoundarySetting(
                    name,
                    practice,
                    second,
                    start,
                    allowed_channels=("email", "text", "portal", "video"),
                    channel_categories={"text": ("scheduling", "reminder", "check_in")},
                )
            )
    for setting in settings:
        check_setting(setting)
    for entry in weeks:
        check_working_hours(entry.hours)
    with db.transaction() as cursor:
        changed = 0
        for setting in settings:
            changed += _store_setting(cursor, setting, changed_by, scope)
        for entry in weeks:
            found = _find_therapist(cursor, entry.therapist, entry.practice)
            changed += _store_working_hours(cursor, found, entry.hours, changed_by)
        if changed:
            audit.record(cursor, scope, "boundary_edit", f"{changed} demo boundary entries")
    return len(settings) + len(weeks)
