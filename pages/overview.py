"""Overview: headline figures against the previous period, weekly load, channel mix, hours."""

import streamlit as st

from analytics.metrics import DEFAULT_WORKING_HOURS
from ui import charts
from ui.components import empty_state, period_caption
from ui.format import change_text, minutes_text, share_text
from ui.report import report_download
from ui.sidebar import current_filter
from ui.state import measure

st.title("Between-session load")
filters = current_filter()
headline = measure("headline", filters)
now, before = headline.current, headline.previous
if now.contacts == 0:
    empty_state()
period_caption(now.period)
report_download(filters)

concentration = measure("concentration", filters)
per_client_week = now.minutes_per_active_client_week
columns = [*st.columns(3), *st.columns(3)]
columns[0].metric(
    "Time between sessions",
    f"{now.hours:,.1f} h",
    delta=change_text(now.hours, before.hours if before else None, " h"),
    delta_color="off",
    help="All contact minutes in the period, in hours; the change is against the "
    "previous period of the same length.",
    border=True,
)
columns[1].metric(
    "Contacts",
    f"{now.contacts:,}",
    delta=change_text(now.contacts, before.contacts if before else None, decimals=0),
    delta_color="off",
    border=True,
)
columns[2].metric(
    "Active clients",
    f"{now.active_clients:,}",
    delta=change_text(now.active_clients, before.active_clients if before else None, decimals=0),
    delta_color="off",
    help="Clients with at least one contact in the period.",
    border=True,
)
columns[3].metric(
    "Per active client per week",
    minutes_text(per_client_week),
    delta=change_text(
        per_client_week, before.minutes_per_active_client_week if before else None, " min"
    ),
    delta_color="off",
    help="Minutes ÷ active clients ÷ weeks in the period: the caseload-fair rate.",
    border=True,
)
columns[4].metric(
    "After hours",
    share_text(measure("compliance_summary", filters).after_hours_share),
    help="Share of minutes outside each therapist's working hours in force that day (set on "
    f"the Boundaries page; {DEFAULT_WORKING_HOURS.describe()} where none are set)."
    + (
        f" {minutes_text(now.untimed_minutes)} have a date but no time of day and are left out."
        if now.untimed_minutes
        else ""
    ),
    border=True,
)
columns[5].metric(
    f"Top {concentration.top_fraction:.0%} of clients",
    share_text(concentration.top_minutes_share),
    help=f"Share of minutes taken by the busiest {concentration.top_clients} of "
    f"{concentration.clients} clients.",
    border=True,
)

st.plotly_chart(
    charts.weekly_minutes(
        measure("trend", filters, "category"), caps=measure("weekly_cap_totals", filters)
    ),
    key="weekly_chart",
)
left, right = st.columns([2, 3])
left.plotly_chart(
    charts.mix(measure("summary", filters, "channel"), "channel", "Channel mix (minutes)"),
    key="channel_mix_chart",
)
right.plotly_chart(
    charts.load_heatmap(measure("load_grid", filters), measure("working_windows", filters)),
    key="load_heatmap",
)
st.caption(
    f"Crisis contacts: {minutes_text(now.crisis_minutes)} "
    f"({share_text(now.crisis_minutes / now.minutes if now.minutes else None)} of minutes)."
)
