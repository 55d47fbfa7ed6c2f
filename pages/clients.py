"""Clients: who takes the time, how concentrated it is, and one client's timeline."""

from dataclasses import replace

import streamlit as st

from ui import charts
from ui.components import csv_download, page_start
from ui.format import minutes_text, share_text
from ui.state import measure

filters, totals = page_start("Clients")

table = measure("clients_against_caps", filters)
st.subheader(f"{len(table):,} clients with contact")
st.dataframe(
    table,
    key="client_table",
    hide_index=True,
    column_order=[
        "label",
        "client_key",
        "therapist",
        "minutes",
        "contacts",
        "share",
        "minutes_per_contact",
        "latest_use_share",
        "breach_weeks",
        "last_contact",
        "weekly_minutes",
    ],
    column_config={
        "label": st.column_config.TextColumn("Client"),
        "client_key": st.column_config.TextColumn("Key", help="Pseudonymous client key"),
        "therapist": st.column_config.TextColumn("Therapist"),
        "minutes": st.column_config.NumberColumn("Minutes", format="%.0f min"),
        "contacts": st.column_config.NumberColumn("Contacts", format="%d"),
        "share": st.column_config.ProgressColumn(
            "Share of minutes", format="percent", min_value=0.0, max_value=1.0
        ),
        "minutes_per_contact": st.column_config.NumberColumn("Per contact", format="%.1f min"),
        "latest_use_share": st.column_config.ProgressColumn(
            "Last week vs cap",
            help="Minutes counted toward the agreed weekly cap in the period's last week, "
            "as a share of the cap (over 100 % is a breach; crisis is counted apart unless "
            "agreed otherwise). Empty: no cap agreed.",
            format="percent",
            min_value=0.0,
            max_value=1.0,
        ),
        "breach_weeks": st.column_config.NumberColumn(
            "Weeks over cap", help="Weeks in the period over the agreed cap", format="%d ⚠"
        ),
        "last_contact": st.column_config.DateColumn("Last contact"),
        "weekly_minutes": st.column_config.AreaChartColumn(
            "Minutes per week", help="Weekly minutes across the period (trend)"
        ),
    },
)
csv_download(table.drop(columns=["weekly_minutes"]), "clients.csv", key="clients_csv")
over = int((table["breach_weeks"] > 0).sum())
if over:
    st.caption(
        f"⚠ {over} of {len(table)} clients went over their agreed weekly cap at least once in "
        "this period; see the Boundaries page for the weeks and the agreements."
    )

concentration = measure("concentration", filters)
st.plotly_chart(
    charts.pareto_curve(measure("pareto", filters), concentration.top_fraction), key="pareto_chart"
)
st.caption(
    f"The busiest {concentration.top_clients} of {concentration.clients} clients "
    f"({concentration.top_fraction:.0%}) take {share_text(concentration.top_minutes_share)} "
    "of the minutes."
)

st.subheader("One client's timeline")
labels = dict(zip(table["client_key"], table["label"], strict=True))
chosen = st.selectbox(
    "Client",
    options=list(labels),
    format_func=lambda key: f"{labels[key]} · {key}",
    key="client_drilldown",
)
if chosen:
    timeline = measure("client_timeline", filters, chosen)
    st.metric(
        "This client's time",
        minutes_text(float(timeline["minutes"].sum())),
        help="Sum of the minutes shown in the timeline below.",
    )
    st.plotly_chart(charts.client_timeline(timeline), key="client_timeline_chart")
    weeks = measure("weekly_caps", replace(filters, client_keys=(chosen,)))
    if not weeks.empty:
        st.plotly_chart(charts.weekly_against_cap(weeks), key="client_cap_chart")
    st.dataframe(
        timeline.drop(columns=["started_at"]),
        hide_index=True,
        key="client_timeline_table",
        column_config={
            "local_started_at": st.column_config.DatetimeColumn(
                "Local time", format="D MMM YYYY, HH:mm"
            ),
            "minutes": st.column_config.NumberColumn("Minutes", format="%.0f min"),
        },
    )
    csv_download(timeline, f"client-{chosen}.csv", key="client_timeline_csv")
