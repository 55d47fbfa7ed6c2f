"""Units on every number: minutes and hours, shares, changes; the dashboard's side of
analytics/output/wording.py (which the supervision report shares), re-exported from here."""

import math
from collections.abc import Callable
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

from analytics.output.wording import (
    date_text,
    hours_text,
    in_words,
    minutes_text,
    plural,
    share_text,
)

OVER_CAP_RED = "#B2182B"
"""The one colour of use over an agreed cap (or over a flag threshold), wherever it is drawn."""


PERCENT_COLUMN = "%.1f %%"
"""Shares in table columns as everywhere else ("7.4 %"); the column holds percentage points
(see ``percent_points``), since a progress column's own "percent" writes "7.41%"."""


def percent_points(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """``frame`` with the share ``columns`` (0-1) as percentage points (0-100), for
    ``PERCENT_COLUMN``; the downloads keep the shares."""
    return frame.assign(**{column: frame[column] * 100 for column in columns})


def change_text(
    current: float | None, previous: float | None, unit: str = "", decimals: int = 1
) -> str | None:
    """The change against the previous period for ``st.metric``'s delta.

    None (no delta shown) when either value is unknown or the previous period had
    nothing to compare with: "+100 %" from zero would say nothing useful. No change (as
    shown, after rounding) gets no delta either, so no arrow points anywhere.
    """
    if current is None or previous is None or previous == 0:
        return None
    difference = current - previous
    if round(difference, decimals) == 0:
        return None
    return f"{difference:+,.{decimals}f}{unit} ({difference / previous * 100:+.0f} %)"


MINUTES_COLUMN = "%,.0f min"
"""Table columns of whole minutes (``st.column_config``), e.g. ``"1,234 min"``."""
MINUTES_DECIMAL_COLUMN = "%,.1f min"
"""Table columns of rates in minutes, e.g. ``"1,234.5 min"``."""
HOURS_COLUMN = "%,.1f h"
"""Table columns of hours with one decimal, e.g. ``"20.6 h"``."""
COUNT_COLUMN = "%,d"
"""Table columns of counts, e.g. ``"12,000"``."""

NO_SESSIONS = "—, no sessions"
"""What a rate per session hour shows when the filter holds no scheduled session."""


def per_session_text(minutes: float | None, decimals: int = 1) -> str:
    """Contact minutes per session hour(s), e.g. ``"36.1 min"``, or ``"—, no sessions"``."""
    if minutes is None or (isinstance(minutes, float) and math.isnan(minutes)):
        return NO_SESSIONS
    return f"{minutes:,.{decimals}f} min"


def weeks_over_text(weeks: object) -> str:
    """``"3 weeks ⚠"``, or nothing at all for no week over the cap (no "0 ⚠" noise)."""
    count = 0 if weeks is None or pd.isna(weeks) else int(float(str(weeks)))  # type: ignore[call-overload]
    if count == 0:
        return ""
    return f"{plural(count, 'week')} ⚠"


def red_rows(
    frame: pd.DataFrame,
    flagged: pd.Series,
    formats: dict[Any, str | Callable[[object], str] | None] | None = None,
) -> Styler:
    """``frame`` for ``st.dataframe`` with the ``flagged`` rows in the over-cap red."""
    marked = flagged.astype(bool)
    styled = frame.style.apply(
        lambda row: [f"color: {OVER_CAP_RED}" if marked[row.name] else "" for _ in row], axis=1
    )
    # Dates without a clock time (a Styler shows "2026-11-27 00:00:00" otherwise).
    dates = {
        column: date_text
        for column in frame.columns
        if pd.api.types.is_datetime64_any_dtype(frame[column]) and column not in (formats or {})
    }
    return styled.format({**dates, **(formats or {})})


__all__ = [
    "COUNT_COLUMN",
    "HOURS_COLUMN",
    "MINUTES_COLUMN",
    "MINUTES_DECIMAL_COLUMN",
    "NO_SESSIONS",
    "OVER_CAP_RED",
    "PERCENT_COLUMN",
    "change_text",
    "hours_text",
    "in_words",
    "minutes_text",
    "per_session_text",
    "percent_points",
    "plural",
    "red_rows",
    "share_text",
    "weeks_over_text",
]
