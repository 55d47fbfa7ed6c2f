"""Billing: client-initiated work that meets the digital and telephone assessment codes.

An estimate under the rules in the table below (DOMAIN.md; CPT 98970-98972, 98966-98968),
with the fee schedule the practice enters, the exclusions and their reasons.
"""

import streamlit as st

from analytics.errors import ContactLoadError
from analytics.measures import billing
from analytics.policy import billing_rules
from ui import charts
from ui.components import csv_download, page_start, shown_rows
from ui.figures import show_chart
from ui.format import COUNT_COLUMN, MINUTES_COLUMN, hours_text, minutes_text
from ui.state import database, measure

EPISODE_COLUMNS = [
    "client", "therapist", "family", "code", "start", "end", "minutes", "contacts", "band",
    "status", "reason", "fee", "currency",
]  # fmt: skip
EPISODE_CONFIG = {
    "client": st.column_config.TextColumn("Client"),
    "family": st.column_config.TextColumn("Kind", help="online: 7-day period; telephone: a call"),
    "start": st.column_config.DatetimeColumn("Starts (local)", format="D MMM YYYY, HH:mm"),
    "end": st.column_config.DatetimeColumn("Ends (local)", format="D MMM YYYY, HH:mm"),
    "minutes": st.column_config.NumberColumn("Minutes", format=MINUTES_COLUMN),
    "contacts": st.column_config.NumberColumn("Contacts", format=COUNT_COLUMN),
    "fee": st.column_config.NumberColumn("Estimated fee", format="%.2f"),
}


def value_text(value: float | None, currency: str | None) -> str:
    """An amount with its currency, or a pointer to the fee schedule when none is entered."""
    return "no fees yet" if value is None else f"{value:,.2f} {currency or ''}".strip()


filters, totals = page_start("Billing")
st.warning(billing.DISCLAIMER, icon=":material/info:")
st.caption(
    "Client-initiated online work (secure portal by default) adds up over 7 calendar days: "
    "the first qualifying contact's date and the six after it, whatever the time of day; "
    "each client-initiated call stands alone. Scheduling and "
    "reminders never count. An attended session shortly before (or after) excludes the "
    "work; where no session data can tell, the episode shows as unknown. The sidebar's "
    "channel and category filters do not apply here: the rules choose them."
)

summary: billing.BillingSummary = measure("billing_summary", filters)
cards = st.columns(4)
cards[0].metric(
    "Qualifying episodes",
    f"{summary.qualifying:,} of {summary.episodes:,}",
    help="Online periods and calls that reach a code with no exclusion known.",
    border=True,
)
cards[1].metric(
    "Qualifying time",
    hours_text(summary.qualifying_minutes / 60),
    help=f"{minutes_text(summary.qualifying_minutes)} in qualifying episodes.",
    border=True,
)
cards[2].metric(
    "Estimated value",
    value_text(summary.estimated_value, summary.currency),
    help="Qualifying episodes at their code's fee from the schedule below."
    + (
        f" No fee entered for {', '.join(summary.codes_without_fee)}."
        if summary.codes_without_fee
        else ""
    ),
    border=True,
)
cards[3].metric(
    "Excluded · unknown",
    f"{summary.excluded:,} · {summary.unknown:,}",
    help="Excluded: an attended session in the rule's window. Unknown: no stored session "
    "data can tell.",
    border=True,
)

unknown: billing.UnknownDirection = measure("billing_unknown_direction", filters)
if unknown.sentence():
    # The real cause when a time tracker's export finds nothing: no direction, not no work.
    st.warning(unknown.sentence(), icon=":material/call_split:")
elif summary.episodes == 0:
    st.info(
        "No client-initiated work in this period matches the billing rules. Widen the "
        "period, or check the rules' channels and categories below.",
        icon=":material/search_off:",
    )

episodes_tab, excluded_tab, months_tab, rules_tab, fees_tab = st.tabs(
    ["Episodes", "Excluded and why", "Month by month", "Rules", "Fee schedule"]
)

with episodes_tab:
    per_client = measure("billing_client_months", filters)
    if not per_client.empty:
        st.markdown("**Per client and month**")
        st.dataframe(
            shown_rows(per_client, "client-months"),
            hide_index=True,
            key="billing_client_months",
            # Value columns only once a fee is entered (else they would read "None").
            column_order=[
                column
                for column in per_client.columns
                if summary.estimated_value is not None or column != "estimated_value"
            ],
            column_config={
                "client": st.column_config.TextColumn("Client"),
                "client_key": st.column_config.TextColumn("Key", help="Pseudonymous client key"),
                "month": st.column_config.TextColumn("Month"),
                "episodes": st.column_config.NumberColumn("Episodes", format=COUNT_COLUMN),
                "qualifying_episodes": st.column_config.NumberColumn(
                    "Qualifying", format=COUNT_COLUMN
                ),
                "qualifying_minutes": st.column_config.NumberColumn(
                    "Qualifying time", format=MINUTES_COLUMN
                ),
                "estimated_value": st.column_config.NumberColumn("Estimated value", format="%.2f"),
                "excluded_episodes": st.column_config.NumberColumn("Excluded", format=COUNT_COLUMN),
            },
        )
        csv_download(per_client, "billing-per-client-month.csv", key="billing_client_csv")
    found = measure("billing_episodes", filters)
    if not found.empty:
        st.markdown("**Every episode**")
        shown = shown_rows(found, "episodes")
        st.dataframe(
            shown,
            hide_index=True,
            key="billing_episodes",
            column_order=[
                column
                for column in EPISODE_COLUMNS
                if summary.estimated_value is not None or column not in ("fee", "currency")
            ],
            column_config=EPISODE_CONFIG,
        )
        csv_download(found, "billing-episodes.csv", key="billing_episodes_csv")
        # Labels built column-wise once: a per-option lookup into the frame cost seconds.
        episode_labels = (
            shown["client"].astype(str)
            + " · "
            + shown["family"].astype(str)
            + " · "
            + shown["start"].dt.strftime("%d %b %Y %H:%M")
            + " · "
            + shown["band"].astype(str)
        ).tolist()
        chosen = st.selectbox(
            "The contacts behind an episode",
            range(len(shown)),
            format_func=episode_labels.__getitem__,
            key="billing_episode_pick",
        )
        if chosen is not None:
            picked = shown.iloc[chosen]
            behind = measure(
                "billing_episode_contacts",
                filters,
                picked["family"],
                picked["client_key"],
                picked["start"].to_pydatetime(),
            )
            st.dataframe(
                behind,
                hide_index=True,
                key="billing_episode_contacts",
                column_config={
                    "local_started_at": st.column_config.DatetimeColumn(
                        "Local time", format="D MMM YYYY, HH:mm"
                    ),
                    "minutes": st.column_config.NumberColumn("Minutes", format=MINUTES_COLUMN),
                },
            )

with excluded_tab:
    left_out = measure("billing_episodes", filters, ("excluded", "unknown"))
    if left_out.empty:
        st.success("No episode reaching a band was excluded or left unknown in this period.")
    else:
        st.caption(
            f"{len(left_out):,} episodes excluded by a related session, or unknown because "
            "no stored session data can tell."
        )
        st.dataframe(
            shown_rows(left_out, "episodes"),
            hide_index=True,
            key="billing_excluded",
            column_order=["client", "family", "code", "start", "minutes", "status", "reason"],
            column_config=EPISODE_CONFIG,
        )
        csv_download(left_out, "billing-excluded.csv", key="billing_excluded_csv")

with months_tab:
    months = measure("billing_months", filters)
    if months.empty:
        st.info("Nothing to show month by month in this period.", icon=":material/inbox:")
    else:
        show_chart(charts.billing_months(months, totals.period), key="billing_months_chart")
        st.dataframe(
            months,
            hide_index=True,
            key="billing_months_table",
            column_config={
                "month": st.column_config.TextColumn("Month"),
                "qualifying_episodes": st.column_config.NumberColumn(
                    "Qualifying", format=COUNT_COLUMN
                ),
                "qualifying_minutes": st.column_config.NumberColumn(
                    "Qualifying, unbilled", format=MINUTES_COLUMN
                ),
                "estimated_value": st.column_config.NumberColumn("Estimated value", format="%.2f"),
                "excluded_minutes": st.column_config.NumberColumn(
                    "Excluded", format=MINUTES_COLUMN
                ),
                "unknown_minutes": st.column_config.NumberColumn("Unknown", format=MINUTES_COLUMN),
                "below_threshold_minutes": st.column_config.NumberColumn(
                    "Below 5 min", format=MINUTES_COLUMN
                ),
            },
        )
        csv_download(months, "billing-months.csv", key="billing_months_csv")

with rules_tab:
    st.caption(
        "One row per code. Codes of one kind share channels, direction, categories, window "
        "and exclusions; their bands follow on whole minutes. Lists are comma-separated "
        "(channels: Phone, Email, Text / messaging, Portal, Video, Other). Changes are "
        "checked and "
        "recorded in the audit log."
    )
    rules = billing_rules.billing_rules(database(), filters.scope, as_text=True)
    edited_rules = st.data_editor(
        rules,
        hide_index=True,
        num_rows="dynamic",
        key="billing_rules_editor",
        column_config={
            "code": st.column_config.TextColumn("Code", required=True),
            "description": st.column_config.TextColumn("Description"),
            "channels": st.column_config.TextColumn(
                "Channels",
                help="Comma-separated: Phone, Email, Text / messaging, Portal, Video, Other",
            ),
            "counting_categories": st.column_config.TextColumn(
                "Counts", help="Categories that count toward the band (comma-separated)"
            ),
            "excluded_categories": st.column_config.TextColumn(
                "Never counts", help="Scheduling and reminders always belong here"
            ),
            "family": st.column_config.SelectboxColumn(
                "Kind", options=["online", "telephone"], required=True
            ),
            "direction": st.column_config.SelectboxColumn(
                "Started by",
                options=["client", "client_or_unknown"],
                format_func=lambda code: (
                    "Client or unknown" if code == "client_or_unknown" else "Client"
                ),
                required=True,
            ),
            "min_minutes": st.column_config.NumberColumn("From", format=MINUTES_COLUMN),
            "max_minutes": st.column_config.NumberColumn(
                "To", format=MINUTES_COLUMN, help="Empty: no upper end"
            ),
            "window_days": st.column_config.NumberColumn(
                "Window", format="%d days", help="Online only; empty for telephone"
            ),
            "prior_session_days": st.column_config.NumberColumn("Session before", format="%d days"),
            "session_after_hours": st.column_config.NumberColumn(
                "Session after",
                format="%d h",
                help="Telephone: a session this many hours after the call excludes it. "
                "Online: a visit on any date of the period absorbs it.",
            ),
            "active": st.column_config.CheckboxColumn("Active"),
        },
    )
    if st.button("Save rules", key="billing_rules_save", icon=":material/save:"):
        try:
            stored = billing_rules.save_rules(database(), filters.scope, edited_rules)
            st.success(f"Saved {stored} billing rules; the figures above now use them.")
            st.rerun()
        except ContactLoadError as error:
            st.error(str(error), icon=":material/error:")

with fees_tab:
    st.caption(
        "The fee you expect per code, in one currency; qualifying episodes are valued at "
        "it. Leave a fee empty to leave that code unvalued."
    )
    fees = billing_rules.fee_schedule(database(), filters.scope)
    edited_fees = st.data_editor(
        fees,
        hide_index=True,
        key="billing_fees_editor",
        disabled=["code", "description"],
        column_config={
            "code": st.column_config.TextColumn("Code"),
            "description": st.column_config.TextColumn("Description"),
            "fee": st.column_config.NumberColumn("Fee", min_value=0.0, format="%.2f"),
            "currency": st.column_config.TextColumn("Currency", help="e.g. USD", max_chars=3),
        },
    )
    if st.button("Save fees", key="billing_fees_save", icon=":material/save:"):
        try:
            stored = billing_rules.save_fees(database(), filters.scope, edited_fees)
            st.success(f"Saved {stored} fees.")
            st.rerun()
        except ContactLoadError as error:
            st.error(str(error), icon=":material/error:")
    csv_download(fees, "billing-fees.csv", key="billing_fees_csv")
