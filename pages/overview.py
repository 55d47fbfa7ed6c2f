"""Overview: headline figures against the previous period, load per session hour, weekly
load, channel mix, hours."""

import streamlit as st

from analytics.measures.glance import RANKING_COLUMNS, TOP_CLIENTS, flag_threshold_text
from analytics.policy.working_hours import DEFAULT_WORKING_HOURS
from ui import charts
from ui.components import contacts_download, csv_download, empty_state, period_caption
from ui.figures import show_chart
from ui.format import (
    COUNT_COLUMN,
    HOURS_COLUMN,
    MINUTES_COLUMN,
    MINUTES_DECIMAL_COLUMN,
    NO_SESSIONS,
    change_text,
    hours_text,
    minutes_text,
    per_session_text,
    red_rows,
    share_text,
)
from ui.report import report_download
from ui.sidebar import current_filter
from ui.state import database, measure

st.title("Between-session load")
filters = current_filter()
headline = measure("headline", filters)
now, before = headline.current, headline.previous
if now.contacts == 0:
    empty_state()
period_caption(now.period)
report_download(filters)

earlier = now.period.previous() if now.period else None
at_glance = measure("glance", filters)
paid, paid_before = at_glance.current, at_glance.previous
cards = st.columns(3)
cards[0].metric(
    "Time with clients between sessions",
    hours_text(now.hours),
    delta=change_text(now.hours, before.hours if before else None, " h"),
    delta_color="off",
    help="All contact minutes in the period, in hours; every change on this page is "
    "against the previous period of the same length.",
    border=True,
)
cards[1].metric(
    "Billable under the billing rules",
    hours_text(paid.billable_minutes / 60),
    delta=change_text(
        paid.billable_minutes / 60,
        paid_before.billable_minutes / 60 if paid_before else None,
        " h",
    ),
    delta_color="off",
    help="Minutes of episodes that qualify for a code under the rules on the Billing page "
    f"(counted in the period they start in; {share_text(paid.billable_share)} of the time). "
    "An estimate, not billing advice.",
    border=True,
)
cards[2].metric(
    "Unpaid",
    hours_text(paid.unpaid_minutes / 60),
    delta=change_text(
        paid.unpaid_minutes / 60, paid_before.unpaid_minutes / 60 if paid_before else None, " h"
    ),
    delta_color="off",
    help="Time with clients between sessions that no billing code covers: all minutes "
    "minus the billable ones.",
    border=True,
)

# The weekly chart straight after the headline: on a phone it is in view without
# scrolling past the cards below.
show_chart(
    charts.weekly_minutes(
        measure("trend", filters, "category"),
        caps=measure("weekly_cap_totals", filters),
        period=now.period,
    ),
    key="weekly_chart",
)
st.subheader(f"Who took most: the top {TOP_CLIENTS} clients")
top = measure("top_clients", filters)
for client in top.itertuples(index=False):
    name, minutes, share, flag = st.columns([4, 3, 2, 2], vertical_alignment="center")
    name.page_link(
        "pages/clients.py",
        label=f"{client.label} · {client.therapist}",
        icon=":material/timeline:",
        query_params={"client": client.client_key},
        help="Open this client's timeline on the Clients page.",
    )
    minutes.markdown(minutes_text(client.minutes))
    share.markdown(f"{share_text(client.share)} of the time")
    if client.over_cap:
        weeks = "week" if client.breach_weeks == 1 else "weeks"
        flag.markdown(f":red-badge[:material/warning: over cap {client.breach_weeks} {weeks}]")
    else:
        flag.markdown(":gray[within cap or none agreed]")

ranking = measure("therapist_ranking", filters)
if len(ranking) > 1:
    st.subheader("Therapists ranked by load")
    st.caption(
        "Minutes per active client per week, and per 8 scheduled session hours; flagged "
        f"(red) above {flag_threshold_text(database())} (a setting on the Data care page). "
        "No client is named; "
        "therapists with too few clients to show safely are left out."
    )
    st.dataframe(
        red_rows(ranking, ranking["flagged"]),
        key="ranking_table",
        hide_index=True,
        column_order=RANKING_COLUMNS,
        column_config={
            "therapist": st.column_config.TextColumn("Therapist"),
            "practice": st.column_config.TextColumn("Practice"),
            "clients": st.column_config.NumberColumn("Active clients", format=COUNT_COLUMN),
            "minutes_per_client_week": st.column_config.NumberColumn(
                "Per active client per week", format=MINUTES_DECIMAL_COLUMN
            ),
            "minutes_per_8_session_hours": st.column_config.NumberColumn(
                "Per 8 session hours", format=MINUTES_COLUMN
            ),
            "threshold": st.column_config.NumberColumn("Flag above", format=MINUTES_DECIMAL_COLUMN),
            "flagged": st.column_config.CheckboxColumn("Above"),
        },
    )

concentration = measure("concentration", filters)
per_client_week = now.minutes_per_active_client_week
columns = st.columns(5)
columns[0].metric(
    "Contacts",
    f"{now.contacts:,}",
    delta=change_text(now.contacts, before.contacts if before else None, decimals=0),
    delta_color="off",
    border=True,
)
columns[1].metric(
    "Active clients",
    f"{now.active_clients:,}",
    delta=change_text(now.active_clients, before.active_clients if before else None, decimals=0),
    delta_color="off",
    help="Clients with at least one contact in the period.",
    border=True,
)
columns[2].metric(
    "Per active client per week",
    minutes_text(per_client_week),
    delta=change_text(
        per_client_week, before.minutes_per_active_client_week if before else None, " min"
    ),
    delta_color="off",
    help="Minutes ÷ active clients ÷ weeks in the period: the caseload-fair rate.",
    border=True,
)
after_hours_now = measure("after_hours_share", filters)
after_hours_before = (
    measure("after_hours_share", filters.with_period(earlier.start, earlier.end))
    if earlier
    else None
)
columns[3].metric(
    "After hours",
    share_text(after_hours_now),
    delta=change_text(
        None if after_hours_now is None else after_hours_now * 100,
        None if after_hours_before is None else after_hours_before * 100,
        " pts",
    ),
    delta_color="off",
    help="Share of minutes outside each therapist's working hours in force that day (set on "
    f"the Boundaries page; {DEFAULT_WORKING_HOURS.describe()} where none are set)."
    + (
        f" {minutes_text(now.untimed_minutes)} have a date but no time of day and are left out."
        if now.untimed_minutes
        else ""
    ),
    border=True,
)
concentration_before = (
    measure("concentration", filters.with_period(earlier.start, earlier.end)) if earlier else None
)
top_share = concentration.top_minutes_share
top_share_before = concentration_before.top_minutes_share if concentration_before else None
columns[4].metric(
    f"Top {concentration.top_fraction:.0%} of clients",
    share_text(top_share),
    delta=change_text(
        None if top_share is None else top_share * 100,
        None if top_share_before is None else top_share_before * 100,
        " pts",
    ),
    delta_color="off",
    help=f"Share of minutes taken by the busiest {concentration.top_clients} of "
    f"{concentration.clients} clients.",
    border=True,
)

sessions = measure("session_totals", filters)
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

if sessions.sessions:
    show_chart(
        charts.weekly_session_load(measure("weekly_session_load", filters), now.period),
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
                    "Contact minutes", format=MINUTES_COLUMN
                ),
                "scheduled_hours": st.column_config.NumberColumn(
                    "Scheduled session hours", format=HOURS_COLUMN
                ),
                "attended_hours": st.column_config.NumberColumn(
                    "Attended session hours", format=HOURS_COLUMN
                ),
                "per_session_hour": st.column_config.NumberColumn(
                    "Per session hour",
                    help="Empty: no scheduled sessions",
                    format=MINUTES_DECIMAL_COLUMN,
                ),
                "per_8_session_hours": st.column_config.NumberColumn(
                    "Per 8 session hours", format=MINUTES_COLUMN
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
show_chart(
    charts.mix(measure("breakdown", filters, "channel"), "channel", "Channel mix (minutes)"),
    key="channel_mix_chart",
    container=left,
)
show_chart(
    charts.load_heatmap(measure("load_grid", filters), measure("working_windows", filters)),
    key="load_heatmap",
    container=right,
)
st.caption(
    f"Crisis contacts: {minutes_text(now.crisis_minutes)} "
    f"({share_text(now.crisis_minutes / now.minutes if now.minutes else None)} of minutes)."
)
contacts_download(filters)
