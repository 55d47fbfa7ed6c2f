"""Clients: who takes the time, how concentrated it is, who has high contact but few attended
sessions, what follows a missed session, and one client's sessions and contacts."""

from dataclasses import replace

import streamlit as st

from analytics.domain import CATEGORY_LABELS
from ui import charts
from ui.components import csv_download, page_start, shown_rows
from ui.figures import series_picker, show_chart
from ui.format import (
    COUNT_COLUMN,
    MINUTES_COLUMN,
    MINUTES_DECIMAL_COLUMN,
    PERCENT_COLUMN,
    in_words,
    minutes_text,
    per_session_text,
    percent_points,
    red_rows,
    share_text,
    weeks_over_text,
)
from ui.state import measure

filters, totals = page_start("Clients")

table = measure("clients_against_caps", filters)
st.subheader(f"{len(table):,} clients with contact")
shown = percent_points(shown_rows(table, "clients (busiest first)"), "share", "latest_use_share")
st.dataframe(
    red_rows(shown, shown["breach_weeks"] > 0, {"breach_weeks": weeks_over_text}),
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
        "minutes": st.column_config.NumberColumn("Minutes", format=MINUTES_COLUMN),
        "contacts": st.column_config.NumberColumn("Contacts", format=COUNT_COLUMN),
        "share": st.column_config.ProgressColumn(
            "Share of minutes", format=PERCENT_COLUMN, min_value=0.0, max_value=100.0
        ),
        "minutes_per_contact": st.column_config.NumberColumn(
            "Per contact", format=MINUTES_DECIMAL_COLUMN
        ),
        "latest_use_share": st.column_config.ProgressColumn(
            "Last week vs cap",
            help="Minutes counted toward the agreed weekly cap in the period's last week, "
            "as a share of the cap (over 100 % is a breach; crisis is counted apart unless "
            "agreed otherwise). Empty: no cap agreed.",
            format=PERCENT_COLUMN,
            min_value=0.0,
            max_value=100.0,
        ),
        "breach_weeks": st.column_config.Column(
            "Weeks over cap", help="Weeks in the period over the agreed cap (red rows)"
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
show_chart(
    charts.pareto_curve(measure("pareto", filters), concentration.top_fraction), key="pareto_chart"
)
st.caption(
    f"The busiest {concentration.top_clients} of {concentration.clients} clients "
    f"({concentration.top_fraction:.0%}) take {share_text(concentration.top_minutes_share)} "
    "of the minutes."
)

st.subheader("High contact, few attended sessions")
max_attended = st.number_input(
    "Few: at most this many attended sessions per 4 weeks",
    min_value=0.0,
    max_value=20.0,
    value=1.0,
    step=0.5,
    key="low_attendance_max",
    help="A client is flagged when their contact minutes are in the top quarter of all "
    "clients with contact (at or above the 75th percentile) and they attended at most this "
    "many sessions per 4 weeks of the period (1 per 4 weeks is 13 in a year).",
)
attendance = measure("low_attendance_clients", filters, max_attended)
flagged = attendance[attendance["flagged"]]
limit = float(attendance["attended_limit"].iloc[0]) if len(attendance) else 0.0
limit_text = f"{limit:,.1f}".removesuffix(".0")
if measure("session_totals", filters).sessions == 0:
    # without any session every client would look like one who never attends
    st.info(
        "No sessions match these filters, so attendance cannot be judged. Import a calendar "
        "or a sessions file on the Import page, or widen the filters.",
        icon=":material/event_busy:",
    )
elif flagged.empty:
    st.info(
        "No client with high contact (the top quarter of contact minutes) attended "
        f"{limit_text} or fewer sessions in this period.",
        icon=":material/check_circle:",
    )
else:
    st.caption(
        f"{len(flagged):,} of {len(attendance):,} clients are in the top quarter of contact "
        f"minutes and attended {limit_text} or fewer sessions in this period."
    )
    st.dataframe(
        flagged,
        key="low_attendance_table",
        hide_index=True,
        column_order=[
            "label",
            "client_key",
            "therapist",
            "contact_minutes",
            "contacts",
            "attended_sessions",
            "missed_sessions",
            "cancelled_sessions",
            "minutes_per_attended_session",
        ],
        column_config={
            "label": st.column_config.TextColumn("Client"),
            "client_key": st.column_config.TextColumn("Key", help="Pseudonymous client key"),
            "therapist": st.column_config.TextColumn("Therapist"),
            "contacts": st.column_config.NumberColumn("Contacts", format=COUNT_COLUMN),
            "contact_minutes": st.column_config.NumberColumn(
                "Contact minutes", format=MINUTES_COLUMN
            ),
            "attended_sessions": st.column_config.NumberColumn(
                "Attended sessions", format=COUNT_COLUMN
            ),
            "missed_sessions": st.column_config.NumberColumn(
                "Missed sessions", help="Late-cancelled and no-show sessions", format=COUNT_COLUMN
            ),
            "cancelled_sessions": st.column_config.NumberColumn(
                "Cancelled in time (sessions)", format=COUNT_COLUMN
            ),
            "minutes_per_attended_session": st.column_config.NumberColumn(
                "Per attended session",
                help="Contact minutes ÷ attended sessions; empty without an attended session.",
                format=MINUTES_DECIMAL_COLUMN,
            ),
        },
    )
csv_download(
    attendance, "clients-attendance.csv", key="low_attendance_csv", label="Download all clients"
)

after = measure("after_missed_sessions", filters)
setting_days = int(after["days"].iloc[0])
st.subheader("Contacts in the days after a session")
days = int(
    st.number_input(
        "Days after a session",
        min_value=1,
        max_value=30,
        value=setting_days,
        step=1,
        key="after_session_days",
        help=f"This installation looks {setting_days} days ahead by default (the "
        "after_session_days setting); change it here for this view.",
    )
)
if days != setting_days:
    after = measure("after_missed_sessions", filters, days)
if int(after["sessions"].sum()) == 0:
    st.info(
        "No sessions match these filters. Import a calendar or a sessions file on the Import "
        "page to see what follows a cancelled or missed session.",
        icon=":material/event_busy:",
    )
else:
    st.dataframe(
        after,
        key="after_missed_table",
        hide_index=True,
        column_order=[
            "label",
            "sessions",
            "sessions_followed",
            "contacts",
            "minutes",
            "minutes_per_session",
        ],
        column_config={
            "label": st.column_config.TextColumn("Session status"),
            "sessions": st.column_config.NumberColumn("Sessions", format=COUNT_COLUMN),
            "sessions_followed": st.column_config.NumberColumn(
                "Sessions followed by contact", format=COUNT_COLUMN
            ),
            "contacts": st.column_config.NumberColumn("Contacts after", format=COUNT_COLUMN),
            "minutes": st.column_config.NumberColumn("Minutes after", format=MINUTES_COLUMN),
            "minutes_per_session": st.column_config.NumberColumn(
                "Minutes after, per session", format=MINUTES_DECIMAL_COLUMN
            ),
        },
    )
    st.caption(
        f"Each contact counts once, after the same client's latest earlier session, when "
        f"that session began at most {days} local days before it (the days are a setting). "
        "Attended sessions are the baseline to compare with."
    )
    csv_download(after, "contacts-after-sessions.csv", key="after_missed_csv")

st.subheader("One client's timeline")
labels = dict(zip(table["client_key"], table["label"], strict=True))
# The Overview's top clients link here with ?client=KEY: open that client's timeline once.
linked = st.query_params.get("client")
if linked is not None:
    del st.query_params["client"]
    if linked in labels:
        st.session_state["client_drilldown"] = linked
        st.toast(f"{labels[linked]}: timeline below", icon=":material/timeline:")
chosen = st.selectbox(
    "Client",
    options=list(labels),
    format_func=lambda key: f"{labels[key]} · {key}",
    key="client_drilldown",
)
if chosen:
    timeline = measure("client_timeline", filters, chosen)
    sessions = measure("client_sessions", filters, chosen)
    attended = sessions[sessions["status"] == "attended"]
    left, right = st.columns(2)
    left.metric(
        "This client's time",
        minutes_text(float(timeline["minutes"].sum())),
        help="Sum of the contact minutes shown in the timeline below.",
    )
    right.metric(
        "Per attended session",
        per_session_text(float(timeline["minutes"].sum()) / len(attended))
        if len(attended)
        else "—, no attended session",
        help=f"Contact minutes ÷ attended sessions ({len(attended)} of {len(sessions)} "
        "sessions in the period).",
    )
    busiest = charts.busiest(timeline, "category")
    room = charts.MAX_SERIES - (0 if sessions.empty else 1)  # the sessions are one series
    categories_shown = series_picker(
        "Categories to draw",
        busiest,
        busiest,
        key="client_timeline_categories",
        format_func=lambda key: CATEGORY_LABELS.get(key, key),
        limit=room,
    )
    show_chart(
        charts.client_timeline(timeline, sessions, categories_shown), key="client_timeline_chart"
    )
    weeks = measure("weekly_caps_in_period", replace(filters, client_keys=(chosen,)))
    if not weeks.empty:
        show_chart(charts.weekly_against_cap(weeks, totals.period), key="client_cap_chart")
    st.dataframe(
        in_words(timeline.drop(columns=["started_at"])),
        hide_index=True,
        key="client_timeline_table",
        column_config={
            "Local time": st.column_config.DatetimeColumn("Local time", format="D MMM YYYY, HH:mm"),
            "Minutes": st.column_config.NumberColumn("Minutes", format=MINUTES_COLUMN),
        },
    )
    csv_download(timeline, f"client-{chosen}.csv", key="client_timeline_csv")
    if sessions.empty:
        st.caption("No sessions of this client in the period.")
    else:
        st.dataframe(
            sessions.drop(columns=["started_at"]),
            hide_index=True,
            key="client_sessions_table",
            column_config={
                "local_started_at": st.column_config.DatetimeColumn(
                    "Session (local time)", format="D MMM YYYY, HH:mm"
                ),
                "minutes": st.column_config.NumberColumn("Length", format=MINUTES_COLUMN),
                "label": st.column_config.TextColumn("Status"),
                "therapist": st.column_config.TextColumn("Therapist"),
            },
            column_order=["local_started_at", "minutes", "label", "therapist"],
        )
        csv_download(
            sessions,
            f"client-{chosen}-sessions.csv",
            key="client_sessions_csv",
            label="Download sessions",
        )
