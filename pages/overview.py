"""Overview: headline figures against the previous period, load per session hour, weekly
load, channel mix, hours."""

import streamlit as st

from analytics.metrics import DEFAULT_WORKING_HOURS
from ui import charts
from ui.components import contacts_download, csv_download, empty_state, period_caption
from ui.format import NO_SESSIONS, change_text, minutes_text, per_session_text, share_text
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
    share_text(measure("after_hours_share", filters)),
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

sessions = measure("session_totals", filters)
earlier = now.period.previous() if now.period else None
sessions_before = (
    measure("session_totals", filters.with_period(earlier.start, earlier.end)) if earlier else None
)
scheduled = (
    f"{sessions.scheduled_hours:,.1f} scheduled session hours (attended, late-cancelled and "
    "no-show sessions; timely cancellations freed the hour and are left out)"
)
session_columns = st.columns(3)
session_columns[0].metric(
    "Minutes per session hour",
    per_session_text(sessions.per_session_hour),
    delta=change_text(
        sessions.per_session_hour,
        sessions_before.per_session_hour if sessions_before else None,
        " min",
    ),
    delta_color="off",
    help=f"Contact minutes ÷ {scheduled}; the change is against the previous period of the "
    "same length.",
    border=True,
)
session_columns[1].metric(
    "Minutes per 8 session hours",
    per_session_text(sessions.per_8_session_hours, decimals=0),
    help="Contact minutes per 8 scheduled session hours, a caseload-fair way to compare "
    f"therapists: the rate per session hour × 8, over {scheduled}.",
    border=True,
)
session_columns[2].metric(
    "Between-session share",
    share_text(sessions.between_session_share) if sessions.sessions else NO_SESSIONS,
    help="Contact minutes ÷ (contact minutes + attended session minutes): how much of the "
    f"time spent with clients happens between sessions ({sessions.attended_hours:,.1f} "
    "attended session hours).",
    border=True,
)
if sessions.sessions:
    counts = sessions.sessions_by_status
    st.caption(
        f"Sessions: {counts['attended']:,} attended, {counts['late_cancelled']:,} "
        f"late-cancelled, {counts['no_show']:,} no-show, {counts['cancelled']:,} cancelled in "
        f"time · {sessions.scheduled_hours:,.1f} scheduled h, "
        f"{sessions.attended_hours:,.1f} attended h."
    )

st.plotly_chart(
    charts.weekly_minutes(
        measure("trend", filters, "category"), caps=measure("weekly_cap_totals", filters)
    ),
    key="weekly_chart",
)
if sessions.sessions:
    st.plotly_chart(
        charts.weekly_session_load(measure("weekly_session_load", filters)),
        key="session_load_chart",
    )
    with st.expander("Load per session hour by therapist"):
        by_therapist = measure("session_load_by", filters, "therapist")
        st.dataframe(
            by_therapist,
            key="session_load_table",
            hide_index=True,
            column_order=[
                "key",
                "contact_minutes",
                "scheduled_hours",
                "attended_hours",
                "per_session_hour",
                "per_8_session_hours",
                "between_session_share",
            ],
            column_config={
                "key": st.column_config.TextColumn("Therapist"),
                "contact_minutes": st.column_config.NumberColumn(
                    "Contact minutes", format="%.0f min"
                ),
                "scheduled_hours": st.column_config.NumberColumn(
                    "Scheduled session hours", format="%.1f h"
                ),
                "attended_hours": st.column_config.NumberColumn(
                    "Attended session hours", format="%.1f h"
                ),
                "per_session_hour": st.column_config.NumberColumn(
                    "Per session hour", help="Empty: no scheduled sessions", format="%.1f min"
                ),
                "per_8_session_hours": st.column_config.NumberColumn(
                    "Per 8 session hours", format="%.0f min"
                ),
                "between_session_share": st.column_config.NumberColumn(
                    "Between-session share", format="percent"
                ),
            },
        )
        csv_download(by_therapist, "load-per-session-hour.csv", key="session_load_csv")
else:
    st.info(
        "No sessions match these filters, so load per session hour cannot be shown. Import "
        "a calendar or a sessions file on the Import page, or widen the filters.",
        icon=":material/event_busy:",
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
contacts_download(filters)
