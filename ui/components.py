"""Small pieces several pages draw the same way: empty states, downloads, period captions.

Every download is recorded in the audit log when its file is made, that is when someone
clicks (Streamlit runs the data callable then, on a thread of its own): who (the viewer
when the button was drawn), which file and how many rows.
"""

from collections.abc import Callable
from datetime import date

import pandas as pd
import streamlit as st

from analytics.access.filters import ContactFilter, Period
from analytics.importing.person_names import INVISIBLE, shown_name
from analytics.measures.metrics import Totals
from analytics.output.exports import export_bytes, table_to_csv, table_to_xlsx
from analytics.output.wording import in_words
from analytics.storage import audit
from analytics.storage.care import backup_archive
from ui.sidebar import current_filter
from ui.state import database, filter_choices, measure
from ui.viewer import current_viewer_scope


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
        # Texts have no duration: say how their minutes were estimated wherever shown.
        note = measure("phone_text_minutes", current_filter())
        if note:
            st.caption(f"Minutes include {note}.")


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

SHOWN_ROWS = 2_000
"""Rows a long table shows on screen. Every row of a table travels to the browser on every
rerun: 118,513 billing episodes (1M contacts) made a rerun of the Billing page take 3.9 s
instead of 0.3 s (README, Performance). The downloads beside the table hold every row."""


def shown_rows(frame: pd.DataFrame, noun: str) -> pd.DataFrame:
    """The first ``SHOWN_ROWS`` rows of ``frame``, with a caption when some are left out;
    invisible characters in names are written out (downloads keep names as stored)."""
    if len(frame) <= SHOWN_ROWS:
        return _visible_names(frame)
    st.caption(
        f"Showing the first {SHOWN_ROWS:,} of {len(frame):,} {noun}; the CSV and XLSX "
        "downloads hold all of them."
    )
    return _visible_names(frame.head(SHOWN_ROWS))


_NAME_COLUMNS = ("label", "client", "therapist", "practice")


def _visible_names(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with invisible characters in its name columns written out (a copy only
    when some name holds one)."""
    names = [
        column
        for column in _NAME_COLUMNS
        if column in frame and pd.api.types.is_string_dtype(frame[column])
    ]
    hidden = [column for column in names if frame[column].str.contains(INVISIBLE, na=False).any()]
    if not hidden:
        return frame
    frame = frame.copy()
    for column in hidden:
        frame[column] = frame[column].map(
            lambda name: shown_name(name) if isinstance(name, str) else name
        )
    return frame


def audited(build: Callable[[], bytes], file_name: str, detail: str) -> Callable[[], bytes]:
    """``build`` as a download button's data callable that records the download in the
    audit log (an ``export`` by the current viewer) once the file is made.

    The entry goes on a cursor of its own, not a transaction: a download changes no
    figure, so it must not expire everyone's cached measures. If it cannot be written the
    file is not handed out.
    """
    db, scope = database(), current_viewer_scope()  # drawn in the viewer's session, run on click

    def data() -> bytes:
        content = build()
        with db.cursor() as cursor:
            audit.record(cursor, scope, "export", f"{file_name}: {detail}")
        return content

    return data


def csv_download(
    frame: pd.DataFrame, file_name: str, key: str, label: str = "Download CSV", words: bool = True
) -> None:
    """Download buttons for a table, CSV and XLSX side by side.

    Headers and stored codes are in words (analytics.output.wording.in_words), unless ``words``
    is False: a file meant to be loaded back (boundaries.csv) keeps its codes. Both are safe to
    open in a spreadsheet: text that a spreadsheet would evaluate as a formula is prefixed
    with ``'`` and XLSX cells are values (analytics.output.exports). The name stays
    ``csv_download`` because every page already calls it. The files are written only when
    a button is clicked: writing an XLSX of a large table on every rerun cost seconds
    (README, Performance).
    """
    stem = file_name.removesuffix(".csv")
    rows = f"{len(frame):,} rows of the page's table"
    # A page's table downloads as people read it: headers and codes in words (the
    # machine-readable file is the contacts export below, keys as the CLI writes them).
    if words:
        frame = in_words(frame)
    with st.container(horizontal=True, gap="small"):
        st.download_button(
            label,
            data=audited(lambda: table_to_csv(frame), f"{stem}.csv", rows),
            file_name=f"{stem}.csv",
            mime="text/csv",
            key=key,
            icon=":material/download:",
            on_click="ignore",
        )
        st.download_button(
            label.replace("CSV", "XLSX") if "CSV" in label else "Download XLSX",
            data=audited(lambda: table_to_xlsx(frame), f"{stem}.xlsx", rows),
            file_name=f"{stem}.xlsx",
            mime=XLSX_MIME,
            key=f"{key}_xlsx",
            icon=":material/table_view:",
            on_click="ignore",
        )


def contacts_download(filters: ContactFilter) -> None:
    """Buttons that export every contact under ``filters`` (one row each, derived fields,
    no free text), written only when clicked, so each click is one audited export."""
    db = database()
    with st.container(horizontal=True, gap="small"):
        st.download_button(
            "Export contacts (CSV)",
            data=lambda: export_bytes(db, filters, "csv"),
            file_name="contacts.csv",
            mime="text/csv",
            key="contacts_export_csv",
            icon=":material/download:",
            on_click="ignore",
        )
        st.download_button(
            "Export contacts (XLSX)",
            data=lambda: export_bytes(db, filters, "xlsx"),
            file_name="contacts.xlsx",
            mime=XLSX_MIME,
            key="contacts_export_xlsx",
            icon=":material/table_view:",
            on_click="ignore",
        )


def backup_download(filters: ContactFilter) -> None:
    """A button that makes a consistent backup of the whole database when clicked (the
    running server makes it, so the dashboard need not stop), as a ZIP of the database and
    its pseudonym secret; ``contactload restore FILE.zip`` puts it back."""
    if not filters.scope.may_import:
        return
    db = database()
    st.download_button(
        "Download a backup",
        data=lambda: backup_archive(db, filters.scope),
        file_name=f"contactload-backup-{date.today():%Y-%m-%d}.zip",
        mime="application/zip",
        key="backup_download",
        icon=":material/backup:",
        on_click="ignore",
        help="The whole database at one moment, with the secret that keeps client keys "
        "stable; restore it with `contactload restore FILE.zip`.",
    )
