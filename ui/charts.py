"""Plotly figures for the pages, with one colour per category and per channel everywhere.

Plain Plotly, no Streamlit: the same figures can go into a report. Every axis names its
unit (minutes or hours).
"""

from datetime import time

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analytics.compare import ComparedMeasure
from analytics.domain import (
    CATEGORIES,
    CATEGORY_COLOURS,
    CATEGORY_LABELS,
    CHANNEL_COLOURS,
    CHANNEL_LABELS,
    CHANNELS,
)
from analytics.session_load import STATUS_LABELS
from ui.format import OVER_CAP_RED

SESSION_STATUS_COLOURS = {
    "attended": "#2F6B9A",
    "late_cancelled": "#F2A541",
    "no_show": "#D62728",
    "cancelled": "#BDBDBD",
}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

UNDER_CAP_BLUE = "#4C78A8"

# Legends below the plot (in rows), so a phone's narrow screen keeps the plot's width.
_LAYOUT = {
    "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
    "legend_title_text": "",
    "legend": {"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0},
}


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


def weekly_minutes(
    trend: pd.DataFrame, by: str = "category", caps: pd.DataFrame | None = None
) -> go.Figure:
    """Stacked bars: minutes per week, split by category (or channel), with the agreed caps.

    ``caps`` (``compliance.weekly_cap_totals``) adds the agreed cap when the chart shows one
    client, and otherwise the minutes that went beyond each client's agreed cap.
    """
    frame, colours, order = _labelled(trend, by)
    figure = px.bar(
        frame,
        x="period",
        y="minutes",
        color="label",
        color_discrete_map=colours,
        category_orders={"label": order},
        labels={"period": "Week starting (local Monday)", "minutes": "Minutes", "label": by},
        hover_data={"contacts": True},
    )
    if caps is not None and not caps.empty:
        if caps["clients"].max() == 1:
            # One client: their agreed weekly cap, as a line over their bars.
            figure.add_trace(
                go.Scatter(
                    x=caps["period"],
                    y=caps["cap_minutes"],
                    mode="lines",
                    line={"color": "#222222", "dash": "dash", "shape": "hv"},
                    name="Agreed weekly cap",
                    hovertemplate="%{x|%d %b %Y}: cap %{y:,.0f} minutes<extra></extra>",
                )
            )
            over = caps[caps["over_minutes"] > 0]
            if not over.empty:  # weeks over the cap, marked in the over-cap red
                figure.add_trace(
                    go.Scatter(
                        x=over["period"],
                        y=over["counted_minutes"],
                        mode="markers",
                        marker={"color": OVER_CAP_RED, "size": 10, "symbol": "triangle-up"},
                        name="Over the cap",
                        hovertemplate="%{x|%d %b %Y}: %{y:,.0f} minutes, over the cap"
                        "<extra></extra>",
                    )
                )
        else:
            # Many clients: how many minutes went beyond what was agreed with each.
            figure.add_trace(
                go.Scatter(
                    x=caps["period"],
                    y=caps["over_minutes"],
                    mode="lines+markers",
                    line={"color": OVER_CAP_RED, "width": 2},
                    name="Minutes beyond agreed caps",
                    hovertemplate="%{x|%d %b %Y}: %{y:,.0f} minutes beyond the caps<extra></extra>",
                )
            )
    figure.update_layout(title="Minutes per week", bargap=0.1, **_LAYOUT)
    return figure


def trend_lines(trend: pd.DataFrame, by: str, title: str) -> go.Figure:
    """One line per category or channel: minutes per period."""
    frame, colours, order = _labelled(trend, by)
    figure = px.line(
        frame,
        x="period",
        y="minutes",
        color="label",
        color_discrete_map=colours,
        category_orders={"label": order},
        markers=True,
        labels={"period": "Period starting", "minutes": "Minutes", "label": by},
        hover_data={"contacts": True},
    )
    figure.update_layout(title=title, **_LAYOUT)
    return figure


def mix(summary: pd.DataFrame, by: str, title: str) -> go.Figure:
    """Horizontal bars of minutes per channel or category, largest on top."""
    frame, colours, _ = _labelled(summary, by)
    frame = frame.assign(hours=frame["minutes"] / 60, percent=frame["share"] * 100)
    figure = px.bar(
        frame.sort_values("minutes"),
        x="minutes",
        y="label",
        orientation="h",
        color="label",
        color_discrete_map=colours,
        text=frame.sort_values("minutes")["percent"].map("{:.0f} %".format),
        labels={"minutes": "Minutes", "label": ""},
        hover_data={"contacts": True, "hours": ":.1f", "percent": ":.1f", "label": False},
    )
    figure.update_layout(title=title, showlegend=False, **_LAYOUT)
    return figure


def load_heatmap(
    grid: pd.DataFrame, working: list[tuple[int, time, time]] | None = None
) -> go.Figure:
    """Weekday x hour heatmap of minutes, in each therapist's local time.

    ``working`` (weekday, start, end) outlines the working hours, so after-hours load
    stands out as the colour outside the boxes.
    """
    matrix = grid.pivot(index="weekday", columns="hour", values="minutes").reindex(range(7))
    figure = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(),
            x=list(matrix.columns),
            y=list(WEEKDAYS),
            colorscale="Blues",
            colorbar={"title": {"text": "minutes"}},
            hovertemplate="%{y} %{x}<br>%{z:,.0f} minutes<extra></extra>",
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


def pareto_curve(pareto: pd.DataFrame, top_fraction: float = 0.10) -> go.Figure:
    """Cumulative share of minutes against share of clients, busiest clients first."""
    figure = go.Figure()
    figure.add_trace(
        go.Scatter(
            x=[0, *(pareto["client_share"] * 100)],
            y=[0, *(pareto["minutes_share"] * 100)],
            mode="lines",
            name="Clients, busiest first",
            line={"color": "#2A6F97", "width": 3},
            hovertemplate="%{x:.0f} % of clients: %{y:.1f} % of minutes<extra></extra>",
        )
    )
    figure.add_trace(
        go.Scatter(
            x=[0, 100],
            y=[0, 100],
            mode="lines",
            name="Equal load",
            line={"color": "#9D9D9D", "dash": "dot"},
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


def client_timeline(timeline: pd.DataFrame, sessions: pd.DataFrame | None = None) -> go.Figure:
    """One client's contacts over time: minutes per contact, coloured by category.

    ``sessions`` (``session_load.client_sessions``) adds the client's sessions as day-wide
    bars of their length, coloured by status, so contacts show between the sessions.
    """
    frame = timeline.assign(
        category_label=timeline["category"].map(CATEGORY_LABELS),
        channel_label=timeline["channel"].map(CHANNEL_LABELS),
    )
    figure = px.scatter(
        frame,
        x="local_started_at",
        y="minutes",
        color="category_label",
        symbol="channel_label",
        color_discrete_map={CATEGORY_LABELS[key]: CATEGORY_COLOURS[key] for key in CATEGORIES},
        category_orders={"category_label": [CATEGORY_LABELS[key] for key in CATEGORIES]},
        labels={
            "local_started_at": "Local time",
            "minutes": "Minutes",
            "category_label": "Category",
            "channel_label": "Channel",
        },
        hover_data={"direction": True},
    )
    figure.update_traces(marker={"size": 10, "opacity": 0.8})
    if sessions is not None and not sessions.empty:
        for status, label in STATUS_LABELS.items():
            shown = sessions[sessions["status"] == status]
            if shown.empty:
                continue
            figure.add_trace(
                go.Bar(
                    x=shown["local_started_at"],
                    y=shown["minutes"],
                    width=24 * 60 * 60 * 1000,  # one day, in milliseconds of the time axis
                    marker_color=SESSION_STATUS_COLOURS[status],
                    opacity=0.45,
                    name=f"Session: {label}",
                    hovertemplate=f"{label} session<br>%{{x|%d %b %Y, %H:%M}} local"
                    "<br>%{y:,.0f} minutes<extra></extra>",
                )
            )
        figure.update_layout(barmode="overlay")
    title = "Sessions and contacts over time" if sessions is not None else "Contacts over time"
    figure.update_layout(title=title, **_LAYOUT)
    return figure


def weekly_session_load(weeks: pd.DataFrame) -> go.Figure:
    """Contact minutes per local week (bars) beside scheduled session hours (line)."""
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    per_hour = weeks["per_session_hour"].map(
        lambda value: "no sessions" if pd.isna(value) else f"{value:,.1f} min per session hour"
    )
    figure.add_trace(
        go.Bar(
            x=weeks["week"],
            y=weeks["contact_minutes"],
            name="Contact minutes",
            marker_color="#72B7B2",
            customdata=per_hour,
            hovertemplate="Week of %{x|%d %b %Y}: %{y:,.0f} contact minutes"
            "<br>%{customdata}<extra></extra>",
        ),
        secondary_y=False,
    )
    figure.add_trace(
        go.Scatter(
            x=weeks["week"],
            y=weeks["scheduled_hours"],
            mode="lines+markers",
            name="Scheduled session hours",
            line={"color": "#2F6B9A"},
            marker={"size": 4},
            hovertemplate="Week of %{x|%d %b %Y}: %{y:,.1f} session hours<extra></extra>",
        ),
        secondary_y=True,
    )
    figure.update_layout(title="Contact minutes and session hours per week", **_LAYOUT)
    figure.update_xaxes(title_text="Week starting (local Monday)")
    figure.update_yaxes(title_text="Contact minutes", rangemode="tozero", secondary_y=False)
    figure.update_yaxes(title_text="Session hours", rangemode="tozero", secondary_y=True)
    return figure


def channel_category_heatmap(pairs: pd.DataFrame) -> go.Figure:
    """Minutes for every channel x category pair."""
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
            hovertemplate="%{y} · %{x}<br>%{z:,.0f} minutes<extra></extra>",
        )
    )
    figure.update_layout(
        title="Minutes by channel and category", yaxis={"autorange": "reversed"}, **_LAYOUT
    )
    return figure


def weekly_against_cap(weeks: pd.DataFrame) -> go.Figure:
    """One client's minutes counted toward the cap per week, with the cap as a line."""
    colours = [OVER_CAP_RED if over else UNDER_CAP_BLUE for over in weeks["over"]]
    figure = go.Figure(
        go.Bar(
            x=weeks["week"],
            y=weeks["counted_minutes"],
            marker_color=colours,
            name="Minutes counted toward the cap",
            hovertemplate="%{x|%d %b %Y}: %{y:,.0f} minutes<extra></extra>",
        )
    )
    if weeks["cap_minutes"].notna().any():
        figure.add_trace(
            go.Scatter(
                x=weeks["week"],
                y=weeks["cap_minutes"],
                mode="lines",
                line={"color": "#222222", "dash": "dash", "shape": "hv"},
                name="Agreed weekly cap",
            )
        )
    figure.update_layout(
        title="Weekly use against the agreed cap (red: over)",
        yaxis_title="Minutes",
        xaxis_title="Week starting (local Monday)",
        **_LAYOUT,
    )
    return figure


# --- comparisons (values of ``analytics.compare``; suppressed groups are already left out) ---


def _scaled(measure: ComparedMeasure) -> tuple[float, str]:
    """Shares are drawn as percentages; everything else in its own unit."""
    return (100.0, "%") if measure.kind == "share" else (1.0, measure.unit)


def therapist_distribution(values: pd.DataFrame, measure: ComparedMeasure) -> go.Figure:
    """A box per practice with every therapist as a point: one value per therapist."""
    scale, unit = _scaled(measure)
    frame = values[values["measure"] == measure.column]
    frame = frame.assign(shown=frame["value"] * scale)
    figure = px.box(
        frame,
        x="practice",
        y="shown",
        points="all",
        hover_name="therapist",
        hover_data={"percentile_rank": ":.0f"},
        labels={
            "practice": "Practice",
            "shown": f"{measure.label} ({unit})",
            "percentile_rank": "Percentile rank",
        },
    )
    figure.update_traces(marker={"size": 9, "color": "#2A6F97"}, line={"color": "#2A6F97"})
    figure.update_layout(
        title=f"{measure.label} ({unit}): one point per therapist", showlegend=False, **_LAYOUT
    )
    return figure


def percentile_ranks(table: pd.DataFrame, by: str) -> go.Figure:
    """Horizontal bars: each shown group's percentile rank (0-100) among the groups shown."""
    frame = table[~table["is_total"] & ~table["suppressed"]].sort_values("percentile_rank")
    figure = px.bar(
        frame.assign(rank=frame["percentile_rank"].astype(float)),
        x="rank",
        y="group",
        orientation="h",
        text=frame["percentile_rank"].map(lambda rank: f"{float(rank):.0f}"),
        labels={"rank": "Percentile rank (0 = lightest, 100 = heaviest)", "group": ""},
    )
    figure.update_traces(marker_color="#2A6F97", textposition="outside")
    figure.update_xaxes(range=[0, 112])
    figure.update_layout(
        title=f"Percentile rank of each {by}: minutes per active client per week", **_LAYOUT
    )
    return figure


def comparison_trend(trend: pd.DataFrame, measure: ComparedMeasure) -> go.Figure:
    """One line per group (the total dashed) per local month; hidden months are gaps."""
    scale, unit = _scaled(measure)
    frame = trend.assign(
        shown=trend[measure.column].astype(float) * scale,
        month_start=pd.to_datetime(trend["month"] + "-01"),
    )
    figure = px.line(
        frame,
        x="month_start",
        y="shown",
        color="group",
        markers=True,
        labels={"month_start": "Month (local)", "shown": f"{measure.label} ({unit})", "group": ""},
    )
    totals = set(frame.loc[frame["is_total"].astype(bool), "group"])
    figure.update_traces(connectgaps=False)
    figure.for_each_trace(
        lambda trace: (
            trace.update(line={"dash": "dash", "color": "#222222"})
            if trace.name in totals
            else None
        )
    )
    figure.update_layout(title=f"{measure.label} per month ({unit})", **_LAYOUT)
    return figure


BILLING_PARTS = (
    ("qualifying_minutes", "Qualifies for a code", "#54A24B"),
    ("unknown_minutes", "Sessions unknown", "#EECA3B"),
    ("excluded_minutes", "Excluded (a related session)", "#9D9D9D"),
    ("below_threshold_minutes", "Below the lowest band", "#D3D3D3"),
)


def billing_months(months: pd.DataFrame) -> go.Figure:
    """Client-initiated qualifying work per month: the minutes that reach a code (and, as
    far as the data knows, went unbilled) stacked on those left out and why."""
    figure = go.Figure(
        [
            go.Bar(
                x=months["month"],
                y=months[column],
                name=name,
                marker_color=colour,
                hovertemplate="%{x}: %{y:,.0f} minutes<extra>" + name + "</extra>",
            )
            for column, name, colour in BILLING_PARTS
        ]
    )
    figure.update_layout(
        barmode="stack",
        title="Client-initiated work per month by billing verdict",
        yaxis_title="Minutes",
        xaxis_title="Month (local, by episode start)",
        xaxis_type="category",
        **_LAYOUT,
    )
    return figure
