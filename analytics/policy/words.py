"""Boundary settings and working weeks as readable frames and sentences (and the cell
encodings CSV files share: ``support=45``, ``phone, email``, ``09:00-12:00, 13:00-17:00``)."""

from collections.abc import Mapping, Sequence

import pandas as pd

from analytics.access.scope import Scope
from analytics.output.toml_text import number_text
from analytics.policy.agreements import (
    NONE_TEXT,
    SETTING_FIELDS,
    WEEKDAY_KEYS,
    WEEKDAY_NAMES,
    BoundarySetting,
    Interval,
    WorkingWeek,
    interval_text,
)
from analytics.policy.in_force import stored_settings, stored_working_hours
from analytics.storage.database import Database


def format_category_caps(caps: Mapping[str, float] | None) -> str | None:
    """``{'support': 45.0}`` -> ``"support=45"`` (the CSV and frame encoding)."""
    if caps is None:
        return None
    return "; ".join(f"{key}={number_text(value)}" for key, value in caps.items()) or NONE_TEXT


def format_channels(channels: Sequence[str] | None) -> str | None:
    """``('phone', 'text')`` -> ``"phone, text"``."""
    if channels is None:
        return None
    return ", ".join(channels) or NONE_TEXT


def format_channel_categories(carried: Mapping[str, Sequence[str]] | None) -> str | None:
    """``{'text': ('scheduling', 'reminder')}`` -> ``"text=scheduling, reminder"``."""
    if carried is None:
        return None
    return (
        "; ".join(
            f"{channel}={', '.join(items) or NONE_TEXT}" for channel, items in carried.items()
        )
        or NONE_TEXT
    )


def format_day_hours(intervals: Sequence[Interval]) -> str:
    """``[(09:00, 12:00), (13:00, 17:00)]`` -> ``"09:00-12:00, 13:00-17:00"`` ("" = day off)."""
    return ", ".join(interval_text(interval) for interval in intervals)


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


def describe_working_hours(hours: WorkingWeek) -> str:
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
