"""When each staged row started and ended and how long it lasted, as SQL over its cells.

Split from ``pipeline``: the choice between one date-time column, a date with a time of
day, an end time or date and a duration cell (and which staged column holds each field)
is a question of its own, answered here as SQL expressions the pipeline's parse step
puts together.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from analytics.importing.parsing import (
    DateOrder,
    date_sql,
    datetime_sql,
    detect_decimal_comma,
    detect_duration_unit,
    duration_minutes_sql,
    instant_sql,
    time_sql,
)
from analytics.importing.presets import Layout, MappingError, whole_number_unit
from analytics.importing.reader import TextTable


def _columns(table: TextTable, layout: Layout, field_name: str) -> list[str]:
    """The staged columns (c1, c2, ...) ``field_name`` comes from (two for a joined name)."""
    return [f"c{table.header.index(header) + 1}" for header in layout.sources(field_name)]


def _column(table: TextTable, layout: Layout, field_name: str) -> str | None:
    """The one staged column holding ``field_name``, or None."""
    columns = _columns(table, layout, field_name)
    return columns[0] if columns else None


def _header(layout: Layout, field_name: str) -> str | None:
    """How error reports name the column(s) of a field."""
    return " + ".join(layout.sources(field_name)) or None


@dataclass(frozen=True)
class _Start:
    """SQL for the start of a contact: cells parsed once (``cells``, a select list over the
    staged row), then the local wall-clock TIMESTAMP (``local``, over those cells) and the
    instant (``instant``, over ``local`` as ``ls`` and the row's ``time_zone``)."""

    cells: str
    local: str
    instant: str
    time_known: str = "false"
    bad_time: str = "false"


def _start_sql(
    layout: Layout, col: Callable[[str], str | None], date_column: str, order: DateOrder
) -> _Start:
    """When each contact started: one date-time column (wall clock or an instant with its
    zone), or a date with an optional time of day."""
    started_at = col("started_at")
    if started_at:
        return _Start(
            cells=f"{datetime_sql(started_at, order)} AS started, "
            f"{instant_sql(started_at)} AS start_instant",
            local="coalesce(started, timezone(time_zone, start_instant))",
            instant="coalesce(start_instant, timezone(time_zone, ls))",
            time_known="ls IS NOT NULL",
        )
    start_time = col("start_time")
    if start_time and layout.has_time_of_day:
        return _Start(
            cells=f"{date_sql(date_column, order)} AS parsed_day, "
            f"{_clock_sql(start_time, order)} AS parsed_time, {start_time} AS start_cell",
            local="parsed_day + coalesce(parsed_time, TIME '00:00')",
            instant="timezone(time_zone, ls)",
            time_known="parsed_time IS NOT NULL",
            # An empty start time means "not recorded"; text that is not a time is an error.
            bad_time="(start_cell IS NOT NULL AND parsed_time IS NULL)",
        )
    return _Start(
        cells=f"{date_sql(date_column, order)} AS parsed_day",
        local="CAST(parsed_day AS TIMESTAMP)",
        instant="timezone(time_zone, ls)",
    )


def _clock_sql(column: str, order: DateOrder) -> str:
    """SQL for the time of day in a start or end time column: a time (``14:30``), or the
    time of a date-time (``2026-04-13 14:30``, as some Kimai versions write From and To)."""
    return f"coalesce({time_sql(column)}, CAST({datetime_sql(column, order)} AS TIME))"


def _end_sql(layout: Layout, col: Callable[[str], str | None], order: DateOrder) -> str | None:
    """SQL for the instant each contact ended, if the file says (None if not): one
    date-time column, or an end time on the end date (else the start's date; an end before
    the start ran past midnight). Over the staged cells, ``ls``, ``time_zone``; one
    expression, so where a duration is given it is worked out only for empty ones."""
    ended_at = col("ended_at")
    if ended_at:
        local = datetime_sql(ended_at, order)
        return f"coalesce({instant_sql(ended_at)}, timezone(time_zone, {local}))"
    end_time = col("end_time")
    if end_time and (col("start_time") or col("started_at")):
        end_date = col("end_date")
        day = (
            f"coalesce({date_sql(end_date, order)}, CAST(ls AS DATE))"
            if end_date
            else "CAST(ls AS DATE)"
        )
        # The end is read once and named by a lambda: it is used twice.
        wall = (
            f"list_transform([{day} + {_clock_sql(end_time, order)}], lambda end_clock: "
            "CASE WHEN end_clock < ls THEN end_clock + INTERVAL 1 DAY ELSE end_clock END)[1]"
        )
        return f"timezone(time_zone, {wall})"
    return None


def _minutes_sql(
    cursor: duckdb.DuckDBPyConnection,
    table: TextTable,
    layout: Layout,
    col: Callable[[str], str | None],
    end_at: str | None,
) -> str:
    """SQL for each contact's minutes: its duration cell, or the time from start to end
    (also where the duration cell is empty, as in Kimai's running or hand-fixed entries)."""
    has_end = end_at is not None
    span = f"CASE WHEN time_known THEN epoch({end_at} - start_at) / 60 END"
    duration = col("duration")
    duration_name = _column(table, layout, "duration")
    if duration and duration_name:
        unit = layout.duration_unit or detect_duration_unit(
            cursor, "raw_rows", duration_name, whole_numbers=whole_number_unit(layout)
        )
        # A clock duration (1:30:00) has no decimals to read.
        comma = unit != "clock" and detect_decimal_comma(cursor, "raw_rows", duration_name)
        given = duration_minutes_sql(duration, unit, comma)
        return f"CASE WHEN {duration} IS NULL THEN {span} ELSE {given} END" if has_end else given
    if has_end:
        return span
    raise MappingError("No column gives the contact's length; map duration, or start and end.")
