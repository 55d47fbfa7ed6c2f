"""Time on the charts of ``ui.charts``: weeks and months, their axes, and partial buckets.

A weekly axis has a tick on the Monday each bar is drawn at, a monthly one on the 1st, both
named with day, month and year only (never a clock time), at most ``MAX_TICKS`` of them.
A week or month only partly inside the chosen period is *partial*: its bars are hatched and
lighter, its points open, its hover text says how many of its days are in the period, and
the legend says what the marks mean. Plain Plotly, no Streamlit.
"""

import math
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from typing import Any, Literal

import pandas as pd
import plotly.graph_objects as go

from analytics.access.filters import Period

Bucket = Literal["week", "month"]

MAX_TICKS = 12
"""Date labels on a time axis at most; beyond that every second (third...) bucket is named."""

PARTIAL_OPACITY = 0.6
"""How much lighter a partial week's or month's bar is drawn."""

PARTIAL_PATTERN = "/"
"""The hatching of a partial week's or month's bar."""

WEEK_HOVER = "week of %{x|%-d %b %Y}"
"""A week in hover texts, named by its Monday as the tick below it is: "week of 9 Nov 2026"."""

MONTH_HOVER = "%{x|%b %Y}"
"""A month in hover texts: "Nov 2026"."""


def day_of(value: Any) -> date:
    """A date from a date, a datetime, a Timestamp or an ISO string."""
    return pd.Timestamp(value).date()


def bucket_end(start: date, bucket: Bucket) -> date:
    """The last day of the week (Sunday) or month that begins on ``start``."""
    if bucket == "week":
        return start + timedelta(days=6)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return following - timedelta(days=1)


def days_inside(start: date, bucket: Bucket, period: Period | None) -> tuple[int, int]:
    """(days of the bucket inside ``period``, days of the bucket): equal for a whole one."""
    end = bucket_end(start, bucket)
    length = (end - start).days + 1
    if period is None:
        return length, length
    inside = (min(end, period.end) - max(start, period.start)).days + 1
    return max(inside, 0), length


def is_partial(start: Any, bucket: Bucket, period: Period | None) -> bool:
    """Whether some days of the bucket starting on ``start`` lie outside ``period``."""
    inside, length = days_inside(day_of(start), bucket, period)
    return inside < length


def partial_note(start: Any, bucket: Bucket, period: Period | None) -> str:
    """``" (partial week: 5 of 7 days in the period)"``, or nothing for a whole bucket."""
    inside, length = days_inside(day_of(start), bucket, period)
    if inside >= length:
        return ""
    return f" (partial {bucket}: {inside} of {length} days in the period)"


def notes(starts: Iterable[Any], bucket: Bucket, period: Period | None) -> list[str]:
    """``partial_note`` of every bucket in ``starts``."""
    return [partial_note(start, bucket, period) for start in starts]


def any_partial(starts: Iterable[Any], bucket: Bucket, period: Period | None) -> bool:
    """Whether any bucket in ``starts`` is partial."""
    return any(is_partial(start, bucket, period) for start in starts)


def time_ticks(starts: Iterable[Any], bucket: Bucket) -> tuple[list[str], list[str]]:
    """Tick values (ISO dates of Mondays or 1sts) and their labels, at most ``MAX_TICKS``.

    A label is "9 Nov" (weeks) or "Nov" (months), with the year under the first label and
    wherever the year changes: never a clock time.
    """
    days = sorted({day_of(start) for start in starts})
    step = max(1, math.ceil(len(days) / MAX_TICKS))
    values, labels = [], []
    previous_year: int | None = None
    for day in days[::step]:
        label = f"{day.day} {day:%b}" if bucket == "week" else f"{day:%b}"
        if day.year != previous_year:
            label += f"<br>{day.year}"
            previous_year = day.year
        values.append(day.isoformat())
        labels.append(label)
    return values, labels


def time_axis(starts: Iterable[Any], bucket: Bucket, title: str) -> dict[str, Any]:
    """Layout for a weekly or monthly x axis: ticks on each bucket's first day, no clock."""
    days = [day_of(start) for start in starts]
    values, labels = time_ticks(days, bucket)
    axis: dict[str, Any] = {
        "title": {"text": title},
        "type": "date",
        "tickmode": "array",
        "tickvals": values,
        "ticktext": labels,
        "hoverformat": "%-d %b %Y" if bucket == "week" else "%b %Y",
    }
    if days:
        # Half a bucket either side, so one bucket alone is not zoomed in to milliseconds.
        margin = timedelta(days=4 if bucket == "week" else 16)
        axis["range"] = [(min(days) - margin).isoformat(), (max(days) + margin).isoformat()]
    return axis


def partial_legend(figure: go.Figure, bucket: Bucket, *, bars: bool) -> None:
    """A legend entry saying what the hatched bars (or open markers) are."""
    words = f"partial {bucket}: only its days in the period"
    if bars:
        figure.add_trace(
            go.Bar(
                x=[None],
                y=[None],
                name=f"Hatched: {words}",
                marker={"color": "#BBBBBB", "pattern": {"shape": PARTIAL_PATTERN}},
                hoverinfo="skip",
            )
        )
    else:
        figure.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=f"Open marker: {words}",
                marker={"color": "white", "size": 9, "line": {"color": "#555555", "width": 2}},
                hoverinfo="skip",
            )
        )


def _pick(values: Any, indices: list[int]) -> list[Any]:
    items = list(values)
    return [items[index] for index in indices]


def add_bars(
    figure: go.Figure,
    x: Sequence[Any],
    y: Sequence[Any],
    partial: Sequence[bool],
    *,
    name: str,
    colour: str | Sequence[str],
    hovertemplate: str,
    customdata: Sequence[Any] | None = None,
) -> None:
    """One bar series under one legend entry: whole buckets plain, partial ones hatched and
    lighter (a trace of their own, so the legend's swatch shows the plain colour)."""
    for hatched in (False, True):
        indices = [index for index, flag in enumerate(partial) if bool(flag) == hatched]
        if not indices:
            continue
        colours = colour if isinstance(colour, str) else _pick(colour, indices)
        figure.add_trace(
            go.Bar(
                x=_pick(x, indices),
                y=_pick(y, indices),
                name=name,
                legendgroup=name,
                showlegend=not hatched or all(partial),
                marker={
                    "color": colours,
                    "pattern": {"shape": PARTIAL_PATTERN if hatched else ""},
                    "opacity": PARTIAL_OPACITY if hatched else 1.0,
                },
                customdata=None if customdata is None else _pick(customdata, indices),
                hovertemplate=hovertemplate,
            )
        )


def open_points(
    figure: go.Figure, x: Sequence[Any], y: Sequence[Any], partial: Sequence[bool], **trace: Any
) -> None:
    """Open markers over the partial buckets of the line just added (same legend group)."""
    indices = [index for index, flag in enumerate(partial) if flag]
    if not indices:
        return
    colour = trace.pop("colour")
    figure.add_trace(
        go.Scatter(
            x=_pick(x, indices),
            y=_pick(y, indices),
            mode="markers",
            marker={"color": "white", "size": 8, "line": {"color": colour, "width": 2}},
            showlegend=False,
            hoverinfo="skip",
            **trace,
        )
    )


def round_step(maximum: float, ticks: int = 5) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about ``ticks`` ticks."""
    if not maximum or maximum <= 0 or math.isnan(maximum):
        return 1.0
    raw = maximum / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    return float(next(m * magnitude for m in (1, 2, 5, 10) if raw <= m * magnitude))


def round_axis(maximum: float) -> dict[str, Any]:
    """A y axis from zero with round ticks (for secondary axes, whose grid is not drawn)."""
    step = round_step(maximum)
    return {
        "range": [0, step * max(1, math.ceil(maximum / step))],
        "tick0": 0,
        "dtick": step,
        "tickformat": ",.0f" if step >= 1 else ",.1f",
        "showgrid": False,
    }


def add_line(
    figure: go.Figure,
    x: Sequence[Any],
    y: Sequence[Any],
    partial: Sequence[bool],
    *,
    name: str,
    colour: str,
    hovertemplate: str,
    customdata: Sequence[Any] | None = None,
    dash: str | None = None,
    **trace: Any,
) -> None:
    """One line with a marker per bucket, the partial buckets' markers open."""
    figure.add_trace(
        go.Scatter(
            x=list(x),
            y=list(y),
            mode="lines+markers",
            name=name,
            legendgroup=name,
            line={"color": colour, **({"dash": dash} if dash else {})},
            marker={"color": colour, "size": 7},
            customdata=None if customdata is None else list(customdata),
            hovertemplate=hovertemplate,
            **trace,
        )
    )
    open_points(figure, x, y, partial, colour=colour, legendgroup=name, **trace)
