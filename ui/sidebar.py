"""The one filter set, in the sidebar, kept across pages.

The entry script (app.py) draws these widgets on every run before the page itself, so
their values persist while the user moves between pages; pages read the resulting
``ContactFilter`` with ``current_filter()``.
"""

from datetime import date

import streamlit as st

from analytics.access.filters import ContactFilter
from analytics.domain import CATEGORIES, CATEGORY_LABELS, CHANNEL_LABELS, CHANNELS
from analytics.errors import ContactLoadError
from analytics.measures.glance import PRESETS, local_today, preset_period
from analytics.measures.metrics import FilterChoices
from ui.auth import signed_in_panel
from ui.state import filter_choices
from ui.viewer import current_viewer_scope

FILTER_STATE_KEY = "contact_filter"
PRESET_KEY = "period"
"""The period preset's widget key, and its URL parameter (with ``from`` and ``to`` for a
custom period): ``?period=last_month`` opens any page on last month."""
PERIOD_KEY = "filter_period"
URL_KEYS = ("period", "from", "to")


def _preset_today(choices: FilterChoices) -> date:
    """Today in the calendar of the therapists in view (the machine's when they differ)."""
    frame = choices.therapists
    chosen = st.session_state.get("filter_therapists") or []
    if chosen:
        frame = frame[frame["therapist_id"].isin(chosen)]
    return local_today(tuple(frame["time_zone"]))


def _preset_dates(preset: str, choices: FilterChoices) -> tuple[date, date] | None:
    """The dates a preset stands for now ("all": the data's span; "custom": none)."""
    if preset == "all":
        if choices.first_day and choices.last_day:
            return choices.first_day, choices.last_day
        return None
    period = preset_period(preset, _preset_today(choices))
    return None if period is None else (period.start, period.end)


def _dates_from_url() -> tuple[date, date] | None:
    """A custom period's ``from`` and ``to`` from the URL (None when missing or unreadable)."""
    try:
        start = date.fromisoformat(st.query_params.get("from", ""))
        end = date.fromisoformat(st.query_params.get("to", ""))
    except ValueError:
        return None
    return (start, end) if start <= end else None


def _settle_preset(choices: FilterChoices) -> None:
    """Set the preset (from the URL on a session's first run) and the dates it stands for
    before the widgets are drawn."""
    state = st.session_state
    if PRESET_KEY not in state:
        wanted = st.query_params.get(PRESET_KEY, "all")
        custom = _dates_from_url() if wanted == "custom" else None
        state[PRESET_KEY] = wanted if wanted in PRESETS and wanted != "custom" else "all"
        if custom is not None:
            state[PRESET_KEY] = "custom"
            state[PERIOD_KEY] = custom
    dates = _preset_dates(state[PRESET_KEY], choices)
    if dates is not None:  # a preset's dates move with today (and "all" with the data)
        state[PERIOD_KEY] = dates
    elif PERIOD_KEY not in state and choices.first_day and choices.last_day:
        state[PERIOD_KEY] = (choices.first_day, choices.last_day)


def _dates_picked_by_hand() -> None:
    st.session_state[PRESET_KEY] = "custom"


def _period_to_url(preset: str, start: date | None, end: date | None) -> None:
    """Keep the URL saying which period is shown, so a view can be bookmarked and shared."""
    wanted: dict[str, str] = {} if preset == "all" else {"period": preset}
    if preset == "custom" and start and end:
        wanted.update({"from": start.isoformat(), "to": end.isoformat()})
    for key in URL_KEYS:
        if key not in wanted and key in st.query_params:
            del st.query_params[key]
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def _period_widgets(choices: FilterChoices) -> tuple[date | None, date | None]:
    """The preset and the date picker beside it; the chosen period's first and last day."""
    _settle_preset(choices)
    sidebar = st.sidebar
    preset = sidebar.selectbox(
        "Period",
        options=list(PRESETS),
        format_func=PRESETS.__getitem__,
        key=PRESET_KEY,
        help="In the therapist's local calendar; weeks start on Monday. The choice stays "
        "while you move between pages and is kept in the address, for bookmarks.",
    )
    start: date | None = None
    end: date | None = None
    picked_value = st.session_state.get(PERIOD_KEY)
    if picked_value is not None:
        shown = picked_value if isinstance(picked_value, tuple | list) else [picked_value]
        bounds = [day for day in (choices.first_day, choices.last_day, *shown) if day]
        picked = sidebar.date_input(
            "Dates (therapist's local dates)",
            min_value=min(bounds),
            max_value=max(bounds),
            key=PERIOD_KEY,
            on_change=_dates_picked_by_hand,
            help="Contacts are dated in each therapist's own time zone. Picking dates by "
            "hand makes the period Custom.",
        )
        dates = list(picked) if isinstance(picked, tuple | list) else [picked]
        start = dates[0] if dates else None
        end = dates[1] if len(dates) > 1 else start
    _period_to_url(preset, start, end)
    return start, end


def draw_filters() -> ContactFilter:
    """Draw who is signed in and the sidebar filters; remember the filter for the page.

    The filter carries the viewer's scope (settled by ``ui.auth.settle_viewer_scope`` in app.py),
    so every measure a page asks for stays inside it.
    """
    scope = current_viewer_scope()
    signed_in_panel(scope)
    choices = filter_choices(scope)  # scoped in the library, keys for supervisors
    sidebar = st.sidebar
    sidebar.header("Filters")
    start, end = _period_widgets(choices)

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
    return (
        value if isinstance(value, ContactFilter) else ContactFilter(scope=current_viewer_scope())
    )
