"""Boundary agreements: the model of what a therapist and client agreed, and its checks.

A setting is one agreement in force from its ``effective_from`` date until the next one of
the same scope: a therapist's default (``client`` None) or one client's override. Fields
left None inherit: a client override takes each None field from the therapist's default in
force on the same day, and a None field of a default means "no limit set". A working week
belongs to the therapist and is dated the same way. ``check_setting`` and
``check_working_hours`` name the first thing that cannot be stored, in one sentence.
"""

import itertools
import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

import numpy as np

from analytics.domain import CATEGORIES, CHANNELS
from analytics.errors import ContactLoadError
from analytics.output.toml_text import number_text

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

FIELD_LABELS = {
    "effective_from": "effective date",
    "weekly_cap_minutes": "weekly cap",
    "category_caps": "category caps",
    "allowed_channels": "allowed channels",
    "channel_categories": "channel categories",
    "response_target_hours": "response target",
    "response_in_working_hours": "response_in_working_hours field",
    "crisis_counts_toward_cap": "crisis_counts_toward_cap field",
}
NONE_TEXT = "none"


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
class WorkingWeek:
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


def interval_text(interval: Interval) -> str:
    return f"{_time_text(interval[0])}-{_time_text(interval[1])}"


def _check_number(value: object, field: str, unit: str, *, positive: bool = False) -> None:
    """A finite number of ``unit``; zero or more, or above zero when ``positive``."""
    label = FIELD_LABELS.get(field, field)
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


def check_name(value: object, what: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise InvalidBoundaryError(f"A setting needs the {what}'s name.")


def check_changed_by(changed_by: object) -> None:
    if not isinstance(changed_by, str) or not changed_by.strip():
        raise InvalidBoundaryError("A change needs the name of the person making it.")


def check_setting(setting: BoundarySetting) -> None:
    """Raise ``InvalidBoundaryError`` naming the first field that cannot be stored, and why."""
    check_name(setting.therapist, "therapist")
    check_name(setting.practice, "practice")
    if setting.client is not None:
        check_name(setting.client, "client")
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
                f"The {FIELD_LABELS[field]} must be true or false, not '{value}'."
            )


def check_working_hours(hours: WorkingWeek) -> None:
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
                    f"{day}'s hours {interval_text((starts, ends))} end before they start; "
                    "enter an end after the start."
                )
            if ends == starts:
                raise InvalidBoundaryError(
                    f"{day}'s hours {interval_text((starts, ends))} end when they start; "
                    "enter an end after the start."
                )
        for earlier, later in itertools.pairwise(intervals):
            if later[0] < earlier[1]:
                raise InvalidBoundaryError(
                    f"{day}'s hours {interval_text(earlier)} and {interval_text(later)} "
                    "overlap; merge them or end one before the other starts."
                )
