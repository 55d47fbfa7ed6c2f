"""Boundaries: the agreed limits on one side, how the load measures up on the other."""

import tempfile
from datetime import date
from functools import partial
from pathlib import Path

import streamlit as st

from analytics.access.scope import Scope, os_account
from analytics.domain import CATEGORIES, CATEGORY_LABELS, CHANNEL_LABELS, CHANNELS
from analytics.errors import ContactLoadError
from analytics.measures import glance
from analytics.policy import agreements, boundary_edits, cells, files, in_force, words, writes
from analytics.storage.database import Database
from ui.components import audited, csv_download, page_start
from ui.format import MINUTES_COLUMN, in_words, minutes_text, share_text
from ui.state import database, filter_choices, measure

BREACH_COLUMNS = ["week", "client", "therapist", "counted_minutes", "cap_minutes", "over_by"]
POLICY_COLUMNS = [
    "local_started_at", "client", "therapist", "channel", "category", "minutes", "reason"
]  # fmt: skip


def policy_file_bytes(db: Database, scope: Scope, suffix: str) -> bytes:
    """Every boundary setting in ``scope`` as a .toml or .csv policy file."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"boundaries{suffix}"
        files.export_settings(db, scope, path)
        return path.read_bytes()


filters, totals = page_start("Boundaries")
st.caption(
    "What each therapist agreed with clients (weekly time, channels, replies, working hours) "
    "beside what happened. A client's own agreement overrides the therapist's default field "
    "by field; each week is judged by the agreement in force then."
)
choices = filter_choices(filters.scope)


PREFILLED_KEY = "boundary_prefilled_for"
PENDING_KEY = "boundary_pending"
SAVED_KEY = "boundary_saved"
DEFAULT_DAY_HOURS = "09:00-17:00"


def prefill_form(therapist: str, practice: str, client: str | None, today: date) -> None:
    """Fill the forms with what is in force today for this therapist (or client) whenever
    the choice changes, so a save never carries over another therapist's values."""
    chosen = (therapist, practice, client)
    if st.session_state.get(PREFILLED_KEY) == chosen:
        return
    st.session_state[PREFILLED_KEY] = chosen
    st.session_state.pop(PENDING_KEY, None)
    own = boundary_edits.own_setting_in_force(
        database(), filters.scope, therapist, client, today, practice=practice
    )
    state = st.session_state
    state["boundary_from"] = today
    state["boundary_cap"] = own.weekly_cap_minutes if own else None
    state["boundary_channels"] = list(own.allowed_channels or ()) if own else []
    carried = (own.channel_categories or {}) if own else {}
    state["boundary_text_categories"] = list(carried.get("text", ()))
    state["boundary_response"] = own.response_target_hours if own else None
    state["boundary_response_mode"] = (
        "calendar hours" if own and own.response_in_working_hours is False else "working hours"
    )
    state["boundary_crisis"] = bool(own and own.crisis_counts_toward_cap)
    week = in_force.working_hours_in_force(
        database(), filters.scope, therapist, today, practice=practice
    )
    state["hours_from"] = today
    for weekday, key in enumerate(agreements.WEEKDAY_KEYS):
        if week is not None:
            state[f"hours_{key}"] = words.format_day_hours(week.days.get(weekday, []))
        else:
            state[f"hours_{key}"] = "" if key in ("sat", "sun") else DEFAULT_DAY_HOURS


def save_boundary(
    proposed: agreements.BoundarySetting, preview: boundary_edits.ChangePreview
) -> None:
    """Store the agreement and say what it changed."""
    try:
        writes.save_setting(database(), proposed, changed_by=changed_by, scope=filters.scope)
    except ContactLoadError as error:
        st.error(str(error), icon=":material/error:")
        return
    st.session_state.pop(PREFILLED_KEY, None)
    st.session_state[SAVED_KEY] = " ".join(
        ["Saved. The figures beside it now use this agreement.", *preview.sentences()]
    )
    st.rerun()


# Changes are signed by the signed-in identity in team mode, the OS account in local mode.
changed_by = os_account() if filters.scope.role == "local" else filters.scope.identity
settings_side, results_side = st.columns([2, 3], gap="large")

with results_side:
    st.subheader("How the load measures up")
    summary = measure("compliance_summary", filters)
    row_one = st.columns(3)
    row_one[0].metric(
        "Clients over their cap",
        f"{summary.clients_over_cap} of {summary.clients_with_cap}",
        help="Clients with at least one week over the agreed weekly cap.",
        border=True,
    )
    row_one[1].metric("Weeks over cap", f"{summary.breach_weeks:,}", border=True)
    row_one[2].metric(
        "Out-of-policy contacts",
        f"{summary.out_of_policy_contacts:,}",
        help="Contacts on a channel not agreed, or carrying a category the channel may not.",
        border=True,
    )
    row_two = st.columns(3)
    row_two[0].metric(
        "After hours",
        share_text(summary.after_hours_share),
        help="Share of minutes outside each therapist's working hours in force that day.",
        border=True,
    )
    median = summary.response_median_hours
    row_two[1].metric(
        "Median reply time",
        "–" if median is None else f"{median:,.1f} h",
        help="From a client-initiated contact to the next therapist-initiated one, in the "
        "unit each agreement names (working or calendar hours).",
        border=True,
    )
    row_two[2].metric(
        "Replies within target",
        share_text(summary.response_share_within_target),
        border=True,
    )
    breaches, policy, alerts = st.tabs(["Weeks over cap", "Out of policy", "Drift alerts"])
    with breaches:
        over = measure("weeks_over_cap", filters)
        if over.empty:
            st.success("No week went over an agreed cap in this period.")
        else:
            st.dataframe(
                over,
                hide_index=True,
                key="breach_table",
                column_order=[
                    "week",
                    "client",
                    "therapist",
                    "counted_minutes",
                    "cap_minutes",
                    "over_by",
                ],
                column_config={
                    "week": st.column_config.DateColumn("Week of"),
                    "client": "Client",
                    "therapist": "Therapist",
                    "counted_minutes": st.column_config.NumberColumn(
                        "Minutes", format=MINUTES_COLUMN
                    ),
                    "cap_minutes": st.column_config.NumberColumn("Cap", format=MINUTES_COLUMN),
                    "over_by": st.column_config.NumberColumn("Over by", format=MINUTES_COLUMN),
                },
            )
            csv_download(over, "weeks-over-cap.csv", key="breaches_csv")
    with policy:
        outside = measure("out_of_policy_labelled", filters)
        if outside.empty:
            st.success("Every contact used a channel and a purpose that was agreed.")
        else:
            st.dataframe(
                in_words(outside, headers=False),
                hide_index=True,
                key="policy_table",
                column_order=[
                    "local_started_at",
                    "client",
                    "therapist",
                    "channel",
                    "category",
                    "minutes",
                    "reason",
                ],
                column_config={
                    "local_started_at": st.column_config.DatetimeColumn(
                        "Local time", format="D MMM YYYY, HH:mm"
                    ),
                    "client": "Client",
                    "therapist": "Therapist",
                    "channel": "Channel",
                    "category": "Category",
                    "minutes": st.column_config.NumberColumn("Minutes", format=MINUTES_COLUMN),
                    "reason": "Why",
                },
            )
            csv_download(measure("out_of_policy", filters), "out-of-policy.csv", key="policy_csv")
    with alerts:
        digest = measure("alert_digest", filters)
        if digest.recent.empty:
            st.success("No week of the last four rose well above its own recent level.")
        else:
            st.caption(
                "Weeks where a therapist's or client's minutes rose more than 50 % above the "
                "median of their previous 8 weeks (at least 30 minutes), in the last four "
                f"weeks from {digest.since:%d %b %Y}; largest rise in minutes first."
            )
            for alert in digest.recent.itertuples(index=False):
                text, dismiss = st.columns([5, 1], vertical_alignment="center")
                rise = (
                    f"{alert.rise_pct:+.0f} %"
                    if alert.rise_pct == alert.rise_pct  # NaN: a usual level of 0
                    else "from quiet weeks"
                )
                text.markdown(
                    f"**{alert.who}** ({alert.level}; {alert.therapist}), week of "
                    f"{alert.week:%d %b %Y}: {minutes_text(alert.minutes)}, usually "
                    f"{minutes_text(alert.baseline_median)} ({rise})"
                )
                may_dismiss = filters.scope.may_edit_boundaries(int(alert.therapist_id))
                if may_dismiss and dismiss.button("Dismiss", key=f"dismiss_{alert.alert_key}"):
                    try:
                        glance.dismiss_alert(database(), filters.scope, alert.alert_key, changed_by)
                        st.rerun()
                    except ContactLoadError as error:
                        st.error(str(error), icon=":material/error:")
        older = f"{digest.older:,} older alert{'s' if digest.older != 1 else ''} in the period"
        dismissed = f"{digest.dismissed:,} dismissed" if digest.dismissed else "none dismissed"
        st.caption(f"{older}; {dismissed}. The CSV holds every alert of the period.")
        csv_download(
            measure("drift_alerts_labelled", filters), "drift-alerts.csv", key="alerts_csv"
        )

with settings_side:
    st.subheader("Agreed limits")
    today = date.today()
    therapists = choices.therapists
    # The editor follows the sidebar: with therapists (or practices) chosen there, only those.
    if filters.therapist_ids:
        therapists = therapists[therapists["therapist_id"].isin(filters.therapist_ids)]
    elif filters.practice_ids:
        therapists = therapists[therapists["practice_id"].isin(filters.practice_ids)]
    options = list(zip(therapists["name"], therapists["practice"], strict=True))
    if options and st.session_state.get("boundary_therapist") not in options:
        # Set, not dropped: the browser is told the new choice and shows it.
        st.session_state["boundary_therapist"] = options[0]
    chosen = st.selectbox(
        "Therapist",
        options,
        format_func=lambda pair: f"{pair[0]} ({pair[1]})",
        key="boundary_therapist",
        help="Follows the therapists chosen in the sidebar.",
    )
    if chosen is None:
        st.stop()
    therapist, practice = chosen
    chosen_ids = therapists[
        (therapists["name"] == therapist) & (therapists["practice"] == practice)
    ]["therapist_id"]
    may_edit = any(filters.scope.may_edit_boundaries(int(tid)) for tid in chosen_ids)
    current = boundary_edits.settings_in_words(
        database(), filters.scope, therapist, practice=practice
    )
    if current.empty:
        st.info(
            "No boundaries agreed yet for this therapist"
            + ("; set a default below." if may_edit else ".")
        )
    else:
        st.dataframe(
            current,
            hide_index=True,
            key="settings_table",
            column_config={
                "client": st.column_config.TextColumn("For"),
                "effective_from": st.column_config.DateColumn("From"),
                "weekly_cap_minutes": "Weekly cap",
                "category_caps": "Category caps (min)",
                "allowed_channels": "Channels",
                "channel_categories": "Channel may carry",
                "response_target_hours": "Reply within",
                "response_in_working_hours": "In working hours",
                "crisis_counts_toward_cap": "Crisis counts",
            },
        )
        csv_download(
            words.list_settings(database(), filters.scope, therapist, practice=practice),
            "boundaries.csv",
            key="settings_csv",
            words=False,  # the file "Load boundaries from a file" reads back: codes stay
        )
    week = in_force.working_hours_in_force(
        database(), filters.scope, therapist, today, practice=practice
    )
    st.caption(
        "Working hours now: "
        + (words.describe_working_hours(week) if week else "not set (Mon-Fri 08:00-18:00)")
    )

    own_clients = choices.clients[choices.clients["therapist_id"].isin(chosen_ids)]
    if not may_edit:
        # The library refuses the change anyway; say so instead of offering forms that fail.
        st.info(
            f"Signed in as {filters.scope.identity} ({filters.scope.role}): only an admin or "
            f"{therapist} can change these boundaries.",
            icon=":material/lock:",
        )
    else:
        st.markdown("**Set a boundary**")
        client_labels = ["", *own_clients["label"].tolist()]
        if st.session_state.get("boundary_client") not in client_labels:
            st.session_state["boundary_client"] = ""
        client = st.selectbox(
            "For",
            client_labels,
            format_func=lambda label: label or "All clients (the therapist's default)",
            key="boundary_client",
        )
        prefill_form(therapist, practice, client or None, today)
        agreed = in_force.settings_in_force(
            database(), filters.scope, therapist, client or None, today, practice=practice
        )
        st.caption(
            "In force today: "
            + (words.describe_setting(agreed) or "nothing agreed (no limits)")
            + ("" if not client else "; empty fields are inherited from the therapist's default")
        )
        with st.form("boundary_form"):
            effective_from = st.date_input("In force from", key="boundary_from")
            cap = st.number_input(
                "Weekly cap per client (minutes)", step=5.0, key="boundary_cap",
                help="Leave empty to inherit (a client) or to set no cap (the default).",
            )  # fmt: skip
            allowed = st.multiselect(
                "Channels agreed",
                list(CHANNELS),
                format_func=CHANNEL_LABELS.__getitem__,
                key="boundary_channels",
                help="Leave empty to inherit or allow every channel.",
            )
            texts = st.multiselect(
                "Texts may carry",
                list(CATEGORIES),
                format_func=CATEGORY_LABELS.__getitem__,
                key="boundary_text_categories",
                help="Leave empty to let texts carry anything (or inherit).",
            )
            target = st.number_input("Reply within (hours)", step=1.0, key="boundary_response")
            mode = st.radio(
                "Count reply time in",
                ["working hours", "calendar hours"],
                horizontal=True,
                key="boundary_response_mode",
            )
            crisis = st.checkbox("Crisis contacts count toward the cap", key="boundary_crisis")
            if st.form_submit_button("Save boundary", key="boundary_save"):
                proposed = agreements.BoundarySetting(
                    therapist=therapist,
                    practice=practice,
                    client=client or None,
                    effective_from=effective_from,
                    weekly_cap_minutes=cap,
                    allowed_channels=tuple(allowed) or None,
                    channel_categories={"text": tuple(texts)} if texts else None,
                    response_target_hours=target,
                    response_in_working_hours=None if target is None else mode == "working hours",
                    crisis_counts_toward_cap=crisis or None,
                )
                try:
                    preview = boundary_edits.preview_setting(
                        database(), proposed, scope=filters.scope, today=today
                    )
                    if preview.past_dated:
                        # Weeks already judged change: ask first (below the form).
                        st.session_state[PENDING_KEY] = (proposed, preview)
                    else:
                        save_boundary(proposed, preview)
                except ContactLoadError as error:
                    st.error(str(error), icon=":material/error:")
        pending = st.session_state.get(PENDING_KEY)
        if pending is not None:
            proposed, preview = pending
            with st.container(border=True, key="boundary_confirmation"):
                st.warning(
                    f"This change is dated {proposed.effective_from}, before today. "
                    + " ".join(preview.sentences()),
                    icon=":material/history:",
                )
                confirm, cancel = st.columns(2)
                if confirm.button("Rewrite the past and save", key="boundary_confirm"):
                    st.session_state.pop(PENDING_KEY, None)
                    save_boundary(proposed, preview)
                if cancel.button("Cancel", key="boundary_cancel"):
                    st.session_state.pop(PENDING_KEY, None)
                    st.rerun()
        if SAVED_KEY in st.session_state:
            st.success(st.session_state.pop(SAVED_KEY), icon=":material/check:")

        with st.form("hours_form"):
            st.markdown(
                "**Working hours** (local time, e.g. `09:00-12:00, 13:00-17:00`; empty = day off)"
            )
            hours_from = st.date_input("In force from", key="hours_from")
            days = {}
            for key, name in zip(agreements.WEEKDAY_KEYS, agreements.WEEKDAY_NAMES, strict=True):
                days[key] = st.text_input(name, key=f"hours_{key}")
            if st.form_submit_button("Save working hours", key="hours_save"):
                try:
                    writes.save_working_hours(
                        database(),
                        therapist,
                        cells.working_hours_from_row({"effective_from": hours_from, **days}),
                        changed_by=changed_by,
                        practice=practice,
                        scope=filters.scope,
                    )
                    st.session_state.pop(PREFILLED_KEY, None)  # show what is now in force
                    st.success("Working hours saved.")
                    st.rerun()
                except ContactLoadError as error:
                    st.error(str(error), icon=":material/error:")

    with st.expander("Share a policy (TOML or CSV)"):
        for suffix, mime in ((".toml", "application/toml"), (".csv", "text/csv")):
            st.download_button(
                f"Download all boundaries as {suffix[1:].upper()}",
                # written when clicked, and recorded in the audit log then
                data=audited(
                    partial(policy_file_bytes, database(), filters.scope, suffix),
                    f"boundaries{suffix}",
                    "every boundary setting in view",
                ),
                file_name=f"boundaries{suffix}",
                mime=mime,
                key=f"export_{suffix[1:]}",
                icon=":material/download:",
                on_click="ignore",
            )
        if may_edit:  # loading writes: not for viewers who only read
            policy_file = st.file_uploader(
                "Load boundaries from a file", type=["toml", "csv"], key="boundary_file"
            )
            if policy_file is not None and st.button("Load these boundaries", key="boundary_load"):
                with tempfile.TemporaryDirectory() as folder:
                    path = Path(folder) / policy_file.name
                    path.write_bytes(policy_file.getvalue())
                    try:
                        count = files.load_settings(
                            database(), path, changed_by, scope=filters.scope
                        )
                        st.success(f"{count} entries loaded.")
                    except ContactLoadError as error:
                        st.error(str(error), icon=":material/error:")

    with st.expander("History of changes"):
        changes = boundary_edits.change_log_in_words(database(), filters.scope)
        st.dataframe(in_words(changes), hide_index=True, key="change_log")
        csv_download(changes, "boundary-changes.csv", key="change_log_csv")

st.caption(
    f"Totals in this period: {minutes_text(totals.minutes)} over {totals.contacts:,} contacts."
)
