"""The one filter set, in the sidebar, kept across pages.

The entry script (app.py) draws these widgets on every run before the page itself, so
their values persist while the user moves between pages; pages read the resulting
``ContactFilter`` with ``current_filter()``.
"""

from datetime import date

import streamlit as st

from analytics.domain import CATEGORIES, CATEGORY_LABELS, CHANNEL_LABELS, CHANNELS
from analytics.errors import ContactLoadError
from analytics.filters import ContactFilter
from ui.auth import current_scope, signed_in_panel
from ui.state import filter_choices

FILTER_STATE_KEY = "contact_filter"


def draw_filters() -> ContactFilter:
    """Draw who is signed in and the sidebar filters; remember the filter for the page.

    The filter carries the viewer's scope (settled by ``ui.auth.viewer_scope`` in app.py),
    so every measure a page asks for stays inside it.
    """
    scope = current_scope()
    signed_in_panel(scope)
    choices = filter_choices(scope)  # scoped in the library, keys for supervisors
    sidebar = st.sidebar
    sidebar.header("Filters")
    start: date | None = None
    end: date | None = None
    if choices.first_day and choices.last_day:
        picked = sidebar.date_input(
            "Period (therapist's local dates)",
            value=(choices.first_day, choices.last_day),
            min_value=choices.first_day,
            max_value=choices.last_day,
            key="filter_period",
            help="Contacts are dated in each therapist's own time zone.",
        )
        dates = list(picked) if isinstance(picked, tuple | list) else [picked]
        start = dates[0] if dates else None
        end = dates[1] if len(dates) > 1 else start

    practice_names = dict(
        zip(choices.practices["practice_id"], choices.practices["name"], strict=True)
    )
    practices = sidebar.multiselect(
        "Practices",
        options=list(practice_names),
        format_func=lambda practice_id: practice_names[practice_id],
        key="filter_practices",
        placeholder="All practices",
    )
    therapists_frame = choices.therapists
    if practices:
        therapists_frame = therapists_frame[therapists_frame["practice_id"].isin(practices)]
    therapist_names = {
        therapist_id: f"{name} ({zone})"
        for therapist_id, name, zone in zip(
            therapists_frame["therapist_id"],
            therapists_frame["name"],
            therapists_frame["time_zone"],
            strict=True,
        )
    }
    therapists = sidebar.multiselect(
        "Therapists",
        options=list(therapist_names),
        format_func=lambda therapist_id: therapist_names.get(therapist_id, str(therapist_id)),
        key="filter_therapists",
        placeholder="All therapists",
    )
    clients_frame = choices.clients
    if therapists:
        clients_frame = clients_frame[clients_frame["therapist_id"].isin(therapists)]
    elif practices:
        clients_frame = clients_frame[clients_frame["practice_id"].isin(practices)]
    client_labels = dict(zip(clients_frame["client_key"], clients_frame["label"], strict=True))
    clients = sidebar.multiselect(
        "Clients",
        options=list(client_labels),
        format_func=lambda key: client_labels.get(key, key),
        key="filter_clients",
        placeholder="All clients",
    )
    channels = sidebar.multiselect(
        "Channels",
        options=list(CHANNELS),
        format_func=CHANNEL_LABELS.__getitem__,
        key="filter_channels",
        placeholder="All channels",
    )
    categories = sidebar.multiselect(
        "Categories",
        options=list(CATEGORIES),
        format_func=CATEGORY_LABELS.__getitem__,
        key="filter_categories",
        placeholder="All categories",
    )
    try:
        contact_filter = ContactFilter(
            start=start,
            end=end,
            practice_ids=tuple(int(value) for value in practices),
            therapist_ids=tuple(int(value) for value in therapists),
            client_keys=tuple(clients),
            channels=tuple(channels),
            categories=tuple(categories),
            scope=scope,
        )
    except ContactLoadError as error:
        sidebar.error(str(error))
        contact_filter = ContactFilter(scope=scope)
    st.session_state[FILTER_STATE_KEY] = contact_filter
    return contact_filter


def current_filter() -> ContactFilter:
    """The filter the sidebar set on this run (all contacts if it has not run yet)."""
    value = st.session_state.get(FILTER_STATE_KEY)
    return value if isinstance(value, ContactFilter) else ContactFilter(scope=current_scope())
