"""Plotly figures for the pages, with one colour per category and per channel everywhere.

Plain Plotly, no Streamlit: the same figures can go into a report. The rules every chart
here keeps, so a figure never says more than the data does:

* Every axis names its unit (minutes or hours); a weekly axis has a tick on the Monday of
  each bar (thinned to at most ``chart_time.MAX_TICKS`` labels), a monthly axis on the 1st,
  and neither ever shows a clock time (``ui.chart_time``). Hover texts name the tick's date.
* A week or month only partly inside the chosen period is drawn hatched and lighter (bars)
  or with an open marker (lines), says so in its hover text and in the legend, and holds
  only the days inside the period (the measures in ``analytics`` count only those).
* Hover texts use the user's words with units ("Support · 144 min · week of 9 Nov 2026"),
  built from the display labels of ``analytics.domain`` and ``analytics.measures.session_load``.
* A chart with nothing to draw is a ``NothingToDraw`` carrying the sentence saying why.
* A line chart draws at most ``MAX_SERIES`` series; the pages offer the rest in a selector
  (``ui.figures``, which also draws a figure or its sentence).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Any, TypeAlias

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.access.filters import Period
from analytics.domain import (
    CATEGORIES,
    CATEGORY_COLOURS,
    CATEGORY_LABELS,
    CHANNEL_COLOURS,
    CHANNEL_LABELS,
    CHANNELS,
)
from analytics.measures.compare import ComparedMeasure, ranked_by
from analytics.measures.session_load import STATUS_LABELS
from ui.chart_time import (
    MONTH_HOVER,
    WEEK_HOVER,
    Bucket,
    add_bars,
    add_line,
    any_partial,
    day_of,
    is_partial,
    notes,
    partial_legend,
    round_axis,
    time_axis,
    time_ticks,
)
from ui.format import OVER_CAP_RED

SESSION_STATUS_COLOURS = {
    "attended": "#2F6B9A",
    "late_cancelled": "#F2A541",
    "no_show": "#D62728",
    "cancelled": "#BDBDBD",
}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

UNDER_CAP_BLUE = "#4C78A8"

MAX_SERIES = 5
"""Series a line chart draws at once (a handful stays readable); the rest wait in a selector."""

DIRECTION_WORDS = {
    "client": "started by the client",
    "therapist": "started by the therapist",
    "unknown": "who started it is not known",
}
"""How a contact's direction reads in a hover text."""

# Legends below the plot (in rows), so a phone's narrow screen keeps the plot's width.
_LAYOUT = {
    "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
    "legend_title_text": "",
    "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0},
}


@dataclass(frozen=True)
class NothingToDraw:
    """What a page shows instead of a chart with nothing to draw: one sentence saying why."""

    sentence: str


Chart: TypeAlias = go.Figure | NothingToDraw
"""What every chart function returns."""


def _count_text(count: Any, noun: str) -> str:
    number = int(count)
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


# --- series: which to draw ----------------------------------------------------------------


def busiest(frame: pd.DataFrame, key: str, value: str = "minutes") -> list[str]:
    """Keys of ``frame[key]`` from the largest total ``value`` down (the default selection)."""
    if frame.empty:
        return []
    totals = frame.groupby(key)[value].sum().sort_values(ascending=False, kind="stable")
    return [str(name) for name in totals.index]


def _labelled(frame: pd.DataFrame, by: str) -> tuple[pd.DataFrame, dict[str, str], list[str]]:
    """Add a display-label column for ``by`` and return its colour map and order."""
    labels = CATEGORY_LABELS if by == "category" else CHANNEL_LABELS
    colours = CATEGORY_COLOURS if by == "category" else CHANNEL_COLOURS
    keys = CATEGORIES if by == "category" else CHANNELS
    frame = frame.assign(label=frame["key"].map(labels))
    return (
        frame,
        {labels[key]: colours[key] for key in keys},
        [labels[key] for key in keys],
    )


# --- weekly load --------------------------------------------------------------------------


def weekly_minutes(
    trend: pd.DataFrame,
    by: str = "category",
    caps: pd.DataFrame | None = None,
    period: Period | None = None,
) -> Chart:
    """Stacked bars: minutes per week, split by category (or channel), with the agreed caps.

    ``caps`` (``caps.weekly_cap_totals``) adds the agreed cap when the chart shows one
    client, and otherwise the minutes that went beyond each client's agreed cap. A week only
    partly inside ``period`` is hatched; its bar and its minutes beyond the caps count only
    the days inside the period.
    """
    if trend.empty or not trend["minutes"].sum():
        return NothingToDraw("No contact minutes in this period, so there is no week to draw.")
    labels = CATEGORY_LABELS if by == "category" else CHANNEL_LABELS
    colours = CATEGORY_COLOURS if by == "category" else CHANNEL_COLOURS
    order = CATEGORIES if by == "category" else CHANNELS
    figure = go.Figure()
    for key in (key for key in order if key in set(trend["key"])):
        rows = trend[trend["key"] == key]
        add_bars(
            figure,
            list(rows["period"]),
            list(rows["minutes"]),
            [is_partial(week, "week", period) for week in rows["period"]],
            name=labels[key],
            colour=colours[key],
            customdata=list(
                zip(
                    [_count_text(n, "contact") for n in rows["contacts"]],
                    notes(rows["period"], "week", period),
                    strict=True,
                )
            ),
            hovertemplate=f"{labels[key]} · %{{y:,.0f}} min · {WEEK_HOVER}"
            "<br>%{customdata[0]}%{customdata[1]}<extra></extra>",
        )
    if caps is not None and not caps.empty:
        _add_caps(figure, caps, period)
    if any_partial(trend["period"], "week", period):
        partial_legend(figure, "week", bars=True)
    figure.update_layout(
        title="Minutes per week",
        barmode="stack",
        bargap=0.1,
        xaxis=time_axis(trend["period"], "week", "Week starting (local Monday)"),
        yaxis_title="Minutes",
        legend_traceorder="normal",
        **_LAYOUT,
    )
    return figure


def _cap_line(weeks: pd.Series, cap_minutes: pd.Series) -> go.Scatter:
    """The agreed weekly cap as a dashed step line, the same on every chart that shows it."""
    return go.Scatter(
        x=weeks,
        y=cap_minutes,
        mode="lines",
        line={"color": "#222222", "dash": "dash", "shape": "hv"},
        name="Agreed weekly cap",
        hovertemplate=f"Agreed weekly cap · %{{y:,.0f}} min · {WEEK_HOVER}<extra></extra>",
    )


def _add_caps(figure: go.Figure, caps: pd.DataFrame, period: Period | None) -> None:
    """The agreed cap (one client) or the minutes beyond the caps (many), over the bars."""
    if caps["clients"].max() == 1:
        # One client: their agreed weekly cap, as a line over their bars.
        figure.add_trace(_cap_line(caps["period"], caps["cap_minutes"]))
        over = caps[caps["over_minutes"] > 0]
        if not over.empty:  # weeks over the cap, marked in the over-cap red
            figure.add_trace(
                go.Scatter(
                    x=over["period"],
                    y=over["counted_minutes"],
                    mode="markers",
                    marker={"color": OVER_CAP_RED, "size": 10, "symbol": "triangle-up"},
                    name="Over the cap",
                    customdata=notes(over["period"], "week", period),
                    hovertemplate=f"Over the cap · %{{y:,.0f}} min counted · {WEEK_HOVER}"
                    "%{customdata}<extra></extra>",
                )
            )
    else:
        # Many clients: how many minutes went beyond what was agreed with each.
        add_line(
            figure,
            list(caps["period"]),
            list(caps["over_minutes"]),
            [is_partial(week, "week", period) for week in caps["period"]],
            name="Minutes beyond agreed caps",
            colour=OVER_CAP_RED,
            customdata=notes(caps["period"], "week", period),
            hovertemplate=f"Beyond the agreed caps · %{{y:,.0f}} min · {WEEK_HOVER}"
            "%{customdata}<extra></extra>",
        )


def trend_lines(
    trend: pd.DataFrame,
    by: str,
    title: str,
    bucket: Bucket = "week",
    period: Period | None = None,
    shown: Sequence[str] | None = None,
) -> Chart:
    """One line per category or channel: minutes per week or month.

    ``shown`` (keys) picks the lines, at most ``MAX_SERIES``; by default the busiest.
    """
    if trend.empty or not trend["minutes"].sum():
        return NothingToDraw(f"No contact minutes in this period, so there is no {bucket} to draw.")
    frame, colours, order = _labelled(trend, by)
    picked = list(shown) if shown is not None else busiest(trend, "key")
    picked = [key for key in picked if key in set(trend["key"])][:MAX_SERIES]
    if not picked:
        return NothingToDraw(f"Choose at least one {by} to draw.")
    labels = dict(zip(frame["key"], frame["label"], strict=False))
    when = WEEK_HOVER if bucket == "week" else MONTH_HOVER
    figure = go.Figure()
    for key in sorted(picked, key=lambda key: order.index(labels[key])):
        rows = frame[frame["key"] == key]
        add_line(
            figure,
            list(rows["period"]),
            list(rows["minutes"]),
            [is_partial(start, bucket, period) for start in rows["period"]],
            name=labels[key],
            colour=colours[labels[key]],
            customdata=list(
                zip(
                    [_count_text(n, "contact") for n in rows["contacts"]],
                    notes(rows["period"], bucket, period),
                    strict=True,
                )
            ),
            hovertemplate=f"{labels[key]} · %{{y:,.0f}} min · {when}"
            "<br>%{customdata[0]}%{customdata[1]}<extra></extra>",
        )
    if any_partial(trend["period"], bucket, period):
        partial_legend(figure, bucket, bars=False)
    axis_title = "Week starting (local Monday)" if bucket == "week" else "Month (local)"
    figure.update_layout(
        title=title,
        xaxis=time_axis(trend["period"], bucket, axis_title),
        yaxis_title="Minutes",
        **_LAYOUT,
    )
    return figure


def mix(summary: pd.DataFrame, by: str, title: str) -> Chart:
    """Horizontal bars of minutes per channel or category, largest on top."""
    if summary.empty or not summary["minutes"].sum():
        return NothingToDraw(f"No contact minutes in this period, so no {by} mix to draw.")
    frame, colours, _ = _labelled(summary, by)
    frame = frame.sort_values("minutes")
    figure = go.Figure(
        go.Bar(
            x=frame["minutes"],
            y=frame["label"],
            orientation="h",
            marker_color=[colours[label] for label in frame["label"]],
            text=(frame["share"] * 100).map("{:.0f} %".format),
            customdata=list(
                zip(
                    (frame["minutes"] / 60).round(1),
                    frame["share"] * 100,
                    [_count_text(n, "contact") for n in frame["contacts"]],
                    strict=True,
                )
            ),
            hovertemplate="%{y} · %{x:,.0f} min (%{customdata[0]:,.1f} h) · "
            "%{customdata[1]:.1f} % of minutes<br>%{customdata[2]}<extra></extra>",
        )
    )
    figure.update_layout(title=title, showlegend=False, xaxis_title="Minutes", **_LAYOUT)
    return figure


def load_heatmap(grid: pd.DataFrame, working: list[tuple[int, time, time]] | None = None) -> Chart:
    """Weekday x hour heatmap of minutes, in each therapist's local time.

    ``working`` (weekday, start, end) outlines the working hours, so after-hours load
    stands out as the colour outside the boxes.
    """
    if grid.empty or not grid["minutes"].sum():
        return NothingToDraw(
            "None of these contacts has a time of day, so there is no weekday and hour to draw."
        )
    matrix = grid.pivot(index="weekday", columns="hour", values="minutes").reindex(range(7))
    hours = [f"{int(hour):02d}:00–{(int(hour) + 1) % 24:02d}:00" for hour in matrix.columns]
    figure = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(),
            x=list(matrix.columns),
            y=list(WEEKDAYS),
            colorscale="Blues",
            colorbar={"title": {"text": "minutes"}},
            customdata=[hours] * 7,
            hovertemplate="%{y} %{customdata} · %{z:,.0f} min<extra></extra>",
        )
    )
    for weekday, starts, ends in working or []:
        figure.add_shape(
            type="rect",
            x0=starts.hour + starts.minute / 60 - 0.5,
            x1=ends.hour + ends.minute / 60 - 0.5,
            y0=weekday - 0.5,
            y1=weekday + 0.5,
            line={"color": "#2A6F97", "width": 2},
            fillcolor="rgba(0,0,0,0)",
        )
    figure.update_layout(
        title="When contacts happen (local time, minutes; boxes: working hours)",
        xaxis={
            "title": "Hour of day (therapist's local time)",
            "tickmode": "array",
            "tickvals": list(range(0, 24, 2)),
            "ticktext": [f"{hour:02d}:00" for hour in range(0, 24, 2)],
        },
        yaxis={"autorange": "reversed"},
        **_LAYOUT,
    )
    return figure


def pareto_curve(pareto: pd.DataFrame, top_fraction: float = 0.10) -> Chart:
    """Cumulative share of minutes against share of clients, busiest clients first."""
    if pareto.empty:
        return NothingToDraw("No client has contact minutes in this period, so no curve to draw.")
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=[0, *(pareto["client_share"] * 100)],
            y=[0, *(pareto["minutes_share"] * 100)],
            mode="lines",
            name="Clients, busiest first",
            line={"color": "#2A6F97", "width": 3},
            hovertemplate="The busiest %{x:.0f} % of clients · %{y:.1f} % of the minutes"
            "<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[0, 100],
            y=[0, 100],
            mode="lines",
            name="Equal load",
            line={"color": "#9D9D9D", "dash": "dot"},
            hoverinfo="skip",
        )
    )
    figure.add_vline(x=top_fraction * 100, line_dash="dash", line_color="#E45756")
    figure.update_layout(
        title="Concentration of load (Pareto curve)",
        xaxis_title="Share of clients (%)",
        yaxis_title="Share of minutes (%)",
        **_LAYOUT,
    )
    return figure


# --- one client -----------------------------------------------------------------------------


def client_timeline(
    timeline: pd.DataFrame,
    sessions: pd.DataFrame | None = None,
    shown: Sequence[str] | None = None,
) -> Chart:
    """One client's contacts over time: minutes per contact, coloured by category.

    ``sessions`` (``session_load.client_sessions``) adds the client's sessions as day-wide
    bars of their length (one series, its status in the hover text), so contacts show
    between the sessions. ``shown`` picks the categories drawn (by default the busiest);
    with the sessions, the legend holds at most ``MAX_SERIES`` entries.
    """
    has_sessions = sessions is not None and not sessions.empty
    if timeline.empty and not has_sessions:
        return NothingToDraw("This client has no contacts and no sessions in the period.")
    room = MAX_SERIES - (1 if has_sessions else 0)
    picked = list(shown) if shown is not None else busiest(timeline, "category")
    picked = [key for key in CATEGORIES if key in picked[:room]]
    figure = go.Figure()
    for category in picked:
        rows = timeline[timeline["category"] == category]
        if rows.empty:
            continue
        figure.add_trace(
            go.Scatter(
                x=rows["local_started_at"],
                y=rows["minutes"],
                mode="markers",
                name=CATEGORY_LABELS[category],
                marker={"color": CATEGORY_COLOURS[category], "size": 10, "opacity": 0.8},
                customdata=list(
                    zip(
                        rows["channel"].map(CHANNEL_LABELS),
                        rows["direction"].map(DIRECTION_WORDS),
                        strict=True,
                    )
                ),
                hovertemplate=f"{CATEGORY_LABELS[category]} · %{{y:,.0f}} min · "
                "%{customdata[0]} · %{x|%-d %b %Y, %H:%M}<br>%{customdata[1]}<extra></extra>",
            )
        )
    if has_sessions:
        assert sessions is not None
        known = sessions[sessions["status"].isin(list(STATUS_LABELS))]
        figure.add_trace(
            go.Bar(
                x=known["local_started_at"],
                y=known["minutes"],
                width=24 * 60 * 60 * 1000,  # one day, in milliseconds of the time axis
                marker_color=known["status"].map(SESSION_STATUS_COLOURS),
                opacity=0.45,
                name="Sessions (colour: status)",
                customdata=known["status"].map(STATUS_LABELS),
                hovertemplate="%{customdata} session · %{y:,.0f} min · %{x|%-d %b %Y, %H:%M}"
                "<extra></extra>",
            )
        )
        figure.update_layout(barmode="overlay")
    title = "Sessions and contacts over time" if sessions is not None else "Contacts over time"
    moments = [
        *timeline["local_started_at"],
        *(() if sessions is None else sessions["local_started_at"]),
    ]
    figure.update_layout(
        title=title,
        xaxis={"title": "Local time", "hoverformat": "%-d %b %Y, %H:%M", **_monday_ticks(moments)},
        yaxis_title="Minutes",
        **_LAYOUT,
    )
    return figure


def _monday_ticks(moments: Sequence[Any]) -> dict[str, Any]:
    """Ticks on Mondays for a time axis spanning three weeks or more (plotly's own weekly
    ticks fall on Sundays); a shorter span keeps plotly's ticks, clock times included."""
    days = [day_of(moment) for moment in moments if not pd.isna(moment)]
    if not days or (max(days) - min(days)).days < 21:
        return {}
    first = min(days) - timedelta(days=min(days).weekday())
    mondays = [first + timedelta(days=7 * n) for n in range((max(days) - first).days // 7 + 1)]
    values, labels = time_ticks(mondays, "week")
    return {"tickmode": "array", "tickvals": values, "ticktext": labels}


def weekly_against_cap(weeks: pd.DataFrame, period: Period | None = None) -> Chart:
    """One client's minutes counted toward the cap per week, with the cap as a line.

    ``weeks`` is ``caps.weekly_caps(..., whole_weeks=False)``: a partial week at an
    edge of ``period`` (hatched) counts only its days inside the period, against the full cap.
    """
    if weeks.empty:
        return NothingToDraw("This client has no contact in the period to set against a cap.")
    over_words = [
        f" · over the cap by {over_by:,.0f} min" if over else ""
        for over, over_by in zip(weeks["over"], weeks["over_by"].fillna(0), strict=True)
    ]
    figure = go.Figure()
    add_bars(
        figure,
        list(weeks["week"]),
        list(weeks["counted_minutes"]),
        [is_partial(week, "week", period) for week in weeks["week"]],
        name="Minutes counted toward the cap",
        colour=[OVER_CAP_RED if over else UNDER_CAP_BLUE for over in weeks["over"]],
        customdata=list(zip(over_words, notes(weeks["week"], "week", period), strict=True)),
        hovertemplate=f"%{{y:,.0f}} min counted toward the cap · {WEEK_HOVER}"
        "%{customdata[0]}%{customdata[1]}<extra></extra>",
    )
    if weeks["cap_minutes"].notna().any():
        figure.add_trace(_cap_line(weeks["week"], weeks["cap_minutes"]))
    if any_partial(weeks["week"], "week", period):
        partial_legend(figure, "week", bars=True)
    figure.update_layout(
        title="Weekly use against the agreed cap (red: over)",
        yaxis_title="Minutes",
        xaxis=time_axis(weeks["week"], "week", "Week starting (local Monday)"),
        **_LAYOUT,
    )
    return figure


def weekly_session_load(weeks: pd.DataFrame, period: Period | None = None) -> Chart:
    """Contact minutes per local week (bars) beside scheduled session hours (line)."""
    if weeks.empty or not (weeks["contact_minutes"].sum() or weeks["scheduled_hours"].sum()):
        return NothingToDraw("No contacts and no sessions in this period, so no week to draw.")
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    per_hour = weeks["per_session_hour"].map(
        lambda value: "no sessions" if pd.isna(value) else f"{value:,.1f} min per session hour"
    )
    partial = [is_partial(week, "week", period) for week in weeks["week"]]
    week_notes = notes(weeks["week"], "week", period)
    add_bars(
        figure,
        list(weeks["week"]),
        list(weeks["contact_minutes"]),
        partial,
        name="Contact minutes",
        colour="#72B7B2",
        customdata=list(zip(per_hour, week_notes, strict=True)),
        hovertemplate=f"Contact minutes · %{{y:,.0f}} min · {WEEK_HOVER}"
        "<br>%{customdata[0]}%{customdata[1]}<extra></extra>",
    )
    add_line(
        figure,
        list(weeks["week"]),
        list(weeks["scheduled_hours"]),
        partial,
        name="Scheduled session hours",
        colour="#2F6B9A",
        customdata=week_notes,
        hovertemplate=f"Scheduled sessions · %{{y:,.1f}} h · {WEEK_HOVER}"
        "%{customdata}<extra></extra>",
        yaxis="y2",
    )
    if any(partial):
        partial_legend(figure, "week", bars=True)
    figure.update_layout(
        title="Contact minutes and session hours per week",
        xaxis=time_axis(weeks["week"], "week", "Week starting (local Monday)"),
        **_LAYOUT,
    )
    figure.update_yaxes(title_text="Contact minutes", rangemode="tozero", secondary_y=False)
    figure.update_yaxes(
        title_text="Session hours",
        secondary_y=True,
        **round_axis(float(weeks["scheduled_hours"].max() or 0)),
    )
    return figure


def channel_category_heatmap(pairs: pd.DataFrame) -> Chart:
    """Minutes for every channel x category pair."""
    if pairs.empty or not pairs["minutes"].sum():
        return NothingToDraw("No contact minutes in this period, so no channel and category pair.")
    matrix = (
        pairs.pivot(index="channel", columns="category", values="minutes")
        .reindex(index=list(CHANNELS), columns=list(CATEGORIES))
        .fillna(0)
    )
    figure = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(),
            x=[CATEGORY_LABELS[key] for key in matrix.columns],
            y=[CHANNEL_LABELS[key] for key in matrix.index],
            colorscale="Oranges",
            colorbar={"title": {"text": "minutes"}},
            text=matrix.map(lambda value: f"{value:,.0f}").to_numpy(),
            texttemplate="%{text}",
            hovertemplate="%{y} · %{x} · %{z:,.0f} min<extra></extra>",
        )
    )
    figure.update_layout(
        title="Minutes by channel and category", yaxis={"autorange": "reversed"}, **_LAYOUT
    )
    return figure


# --- comparisons (values of ``measures.compare``; suppressed groups are already left out) ---


def _scaled(measure: ComparedMeasure) -> tuple[float, str]:
    """Shares are drawn as percentages; everything else in its own unit."""
    return (100.0, "%") if measure.kind == "share" else (1.0, measure.unit)


def _value_template(measure: ComparedMeasure, value: str = "y") -> str:
    """A hover template piece for one value of ``measure`` with its unit: "12.3 min"."""
    _, unit = _scaled(measure)
    return f"%{{{value}:,.1f}} {unit}"


def therapist_distribution(values: pd.DataFrame, measure: ComparedMeasure) -> Chart:
    """A box per practice with every therapist as a point: one value per therapist."""
    scale, unit = _scaled(measure)
    frame = values[values["measure"] == measure.column]
    if frame.empty:
        return NothingToDraw(
            f"No therapist has a value for {measure.label.lower()} that can be shown"
            + (" (no sessions are known)." if measure.column.endswith("session_hours") else ".")
        )
    frame = frame.assign(shown=frame["value"] * scale)
    figure = px.box(
        frame,
        x="practice",
        y="shown",
        points="all",
        hover_name="therapist",
        custom_data=["percentile_rank"],
        labels={"practice": "Practice", "shown": f"{measure.label} ({unit})"},
    )
    figure.update_traces(
        marker={"size": 9, "color": "#2A6F97"},
        line={"color": "#2A6F97"},
        hoveron="points",
        hovertemplate="%{hovertext} · "
        + _value_template(measure)
        + " · percentile rank %{customdata[0]:.0f}<extra></extra>",
    )
    figure.update_layout(
        title=f"{measure.label} ({unit}): one point per therapist", showlegend=False, **_LAYOUT
    )
    return figure


def percentile_ranks(table: pd.DataFrame, by: str, measure: ComparedMeasure) -> Chart:
    """Horizontal bars: each shown group's percentile rank (0-100) on the chosen measure."""
    ranks = ranked_by(table, measure)
    if ranks.empty:
        return NothingToDraw(
            f"No {by} has a value for {measure.label.lower()} that can be shown, so there is "
            "nothing to rank."
        )
    scale, _ = _scaled(measure)
    frame = ranks.sort_values("percentile_rank", kind="stable")
    figure = go.Figure(
        go.Bar(
            x=frame["percentile_rank"],
            y=frame["group"],
            orientation="h",
            marker_color="#2A6F97",
            text=frame["percentile_rank"].map(lambda rank: f"{float(rank):.0f}"),
            textposition="outside",
            customdata=frame["value"] * scale,
            hovertemplate="%{y} · percentile rank %{x:.0f} · "
            + _value_template(measure, "customdata")
            + "<extra></extra>",
        )
    )
    figure.update_xaxes(
        range=[0, 112], title_text="Percentile rank (0 = lowest value, 100 = highest)"
    )
    figure.update_layout(title=f"Percentile rank of each {by}: {measure.label.lower()}", **_LAYOUT)
    return figure


def comparison_trend(
    trend: pd.DataFrame,
    measure: ComparedMeasure,
    period: Period | None = None,
    shown: Sequence[str] | None = None,
) -> Chart:
    """One line per group (the total dashed) per local month; hidden months are gaps.

    ``shown`` (group names) picks the lines, at most ``MAX_SERIES``; by default the total
    and the groups with the highest values.
    """
    scale, unit = _scaled(measure)
    frame = trend.assign(
        shown=pd.to_numeric(trend[measure.column], errors="coerce") * scale,
        month_start=pd.to_datetime(trend["month"] + "-01"),
    )
    if frame.empty or frame["shown"].isna().all():
        return NothingToDraw(
            f"No month has a figure for {measure.label.lower()} that can be shown: every "
            "month is hidden (too few clients) or has no value."
        )
    totals = set(frame.loc[frame["is_total"].astype(bool), "group"])
    picked = list(shown) if shown is not None else default_groups(frame, "shown")
    picked = [group for group in picked if group in set(frame["group"])][:MAX_SERIES]
    if not picked:
        return NothingToDraw("Choose at least one group to draw.")
    palette = px.colors.qualitative.Plotly
    figure = go.Figure()
    for index, group in enumerate(picked):
        rows = frame[frame["group"] == group]
        add_line(
            figure,
            list(rows["month_start"]),
            list(rows["shown"]),
            [is_partial(month, "month", period) for month in rows["month_start"]],
            name=group,
            colour="#222222" if group in totals else palette[index % len(palette)],
            dash="dash" if group in totals else None,
            customdata=notes(rows["month_start"], "month", period),
            hovertemplate=f"{group} · {_value_template(measure)} · {MONTH_HOVER}"
            "%{customdata}<extra></extra>",
            connectgaps=False,
        )
    if any_partial(frame["month_start"], "month", period):
        partial_legend(figure, "month", bars=False)
    figure.update_layout(
        title=f"{measure.label} per month ({unit})",
        xaxis=time_axis(frame["month_start"], "month", "Month (local)"),
        yaxis_title=f"{measure.label} ({unit})",
        **_LAYOUT,
    )
    return figure


def default_groups(trend: pd.DataFrame, value: str) -> list[str]:
    """The total first, then the groups shown in the most months (a line, not a lone dot),
    the highest mean ``value`` first among equals: ``MAX_SERIES`` in all."""
    totals = list(dict.fromkeys(trend.loc[trend["is_total"].astype(bool), "group"]))
    groups = trend[~trend["is_total"].astype(bool)]
    numbers = pd.to_numeric(groups[value], errors="coerce").groupby(groups["group"])
    ranked = pd.DataFrame({"months": numbers.count(), "mean": numbers.mean()})
    ranked = ranked.sort_values(["months", "mean"], ascending=False, kind="stable")
    return (totals + [str(name) for name in ranked.index])[:MAX_SERIES]


BILLING_PARTS = (
    ("qualifying_minutes", "Qualifies for a code", "#54A24B"),
    ("unknown_minutes", "Sessions unknown", "#EECA3B"),
    ("excluded_minutes", "Excluded (a related session)", "#9D9D9D"),
    ("below_threshold_minutes", "Below the lowest band", "#D3D3D3"),
)


def billing_months(months: pd.DataFrame, period: Period | None = None) -> Chart:
    """Client-initiated qualifying work per month: the minutes that reach a code (and, as
    far as the data knows, went unbilled) stacked on those left out and why."""
    if months.empty:
        return NothingToDraw("Nothing to show month by month in this period.")
    starts = [date.fromisoformat(f"{month}-01") for month in months["month"]]
    names = [f"{start:%b %Y}" for start in starts]
    partial = [is_partial(start, "month", period) for start in starts]
    figure = go.Figure()
    for column, name, colour in BILLING_PARTS:
        add_bars(
            figure,
            names,
            list(months[column]),
            partial,
            name=name,
            colour=colour,
            customdata=notes(starts, "month", period),
            hovertemplate=f"{name} · %{{y:,.0f}} min · %{{x}}%{{customdata}}<extra></extra>",
        )
    if any(partial):
        partial_legend(figure, "month", bars=True)
    figure.update_layout(
        barmode="stack",
        title="Client-initiated work per month by billing verdict",
        yaxis_title="Minutes",
        xaxis={
            "title": {"text": "Month (local, by episode start)"},
            "type": "category",
            "categoryorder": "array",
            "categoryarray": names,
        },
        legend_traceorder="normal",
        **_LAYOUT,
    )
    return figure
