"""Small pieces several pages draw the same way: empty states, downloads, period captions."""

import pandas as pd
import streamlit as st

from analytics.filters import Period
from ui.state import filter_choices


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


def period_caption(period: Period | None) -> None:
    """A caption naming the period the figures cover."""
    if period is not None:
        st.caption(
            f"{period.start:%d %b %Y} – {period.end:%d %b %Y} · {period.days} days · "
            "dates and hours in each therapist's own time zone"
        )


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
