"""Units on every number: minutes and hours, shares, changes."""

import math
from collections.abc import Callable
from typing import Any

import pandas as pd
from pandas.io.formats.style import Styler

OVER_CAP_RED = "#B2182B"
"""The one colour of use over an agreed cap (or over a flag threshold), wherever it is drawn."""


def minutes_text(minutes: float | None) -> str:
    """``"1,234 min (20.6 h)"`` for large values, ``"42 min"`` below an hour."""
    if minutes is None or (isinstance(minutes, float) and math.isnan(minutes)):
        return "–"
    if minutes >= 60:
        return f"{minutes:,.0f} min ({minutes / 60:,.1f} h)"
    return f"{minutes:,.1f} min" if minutes % 1 else f"{minutes:,.0f} min"


def hours_text(minutes: float | None) -> str:
    """Hours with one decimal, e.g. ``"20.6 h"``."""
    if minutes is None:
        return "–"
    return f"{minutes / 60:,.1f} h"


def share_text(share: float | None) -> str:
    """A 0..1 share as a percentage, e.g. ``"23.4 %"``."""
    if share is None:
        return "–"
    return f"{share * 100:.1f} %"


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
    return f"{count} week{'s' if count != 1 else ''} ⚠"


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
    return styled.format(formats or {})
