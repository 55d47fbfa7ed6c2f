"""Small pieces several pages draw the same way: empty states, downloads, period captions."""

import pandas as pd
import streamlit as st

from analytics.filters import ContactFilter, Period
from analytics.importing.phone_log import text_minutes_note
from analytics.metrics import Totals
from ui.sidebar import current_filter
from ui.state import filter_choices, measure


def empty_state() -> None:
    """Tell the user why nothing shows and what to do about it, then stop the page."""
    if filter_choices().first_day is None:
        st.info(
            "No contacts stored yet. Add demo data with `contactload demo` (or start with "
            "`make run`, which does it for an empty database).",
            icon=":material/inbox:",
        )
    else:
        st.info(
            "No contacts match these filters. Widen the period or clear a filter in the sidebar.",
            icon=":material/filter_alt_off:",
        )
    st.stop()


def page_start(title: str) -> tuple[ContactFilter, Totals]:
    """Title, the sidebar's filter and its totals; an empty state (and stop) if no contacts."""
    st.title(title)
    filters = current_filter()
    totals: Totals = measure("totals", filters)
    if totals.contacts == 0:
        empty_state()
    period_caption(totals.period)
    return filters, totals


def period_caption(period: Period | None) -> None:
    """A caption naming the period the figures cover."""
    if period is not None:
        st.caption(
            f"{period.start:%d %b %Y} – {period.end:%d %b %Y} · {period.days} days · "
            "dates and hours in each therapist's own time zone"
        )
        # Texts have no duration: say what each one counts wherever their minutes are shown.
        note = text_minutes_note(measure("phone_text_minutes", current_filter()))
        if note:
            st.caption(f"Minutes include {note}.")


def csv_download(
    frame: pd.DataFrame, file_name: str, key: str, label: str = "Download CSV"
) -> None:
    """A download button for a table, as UTF-8 CSV."""
    st.download_button(
        label,
        data=frame.to_csv(index=False).encode("utf-8"),
        file_name=file_name,
        mime="text/csv",
        key=key,
        icon=":material/download:",
    )
