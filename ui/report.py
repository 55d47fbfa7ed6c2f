"""The supervision report's download button: the HTML file for the sidebar's filters.

The report runs a dozen measures, so it is built only when someone clicks: Streamlit calls
the data callable then, on a thread of its own, and the page does not rerun
(``on_click="ignore"``). Each download is recorded in the audit log.
"""

import streamlit as st

from analytics.access.filters import ContactFilter
from analytics.output.report import report_detail, report_file_name, supervision_report
from analytics.storage.audit import record
from ui.state import database


def report_download(filters: ContactFilter) -> None:
    """A button that downloads the supervision report for ``filters``."""
    db = database()
    file_name = report_file_name(filters)

    def build() -> bytes:
        document = supervision_report(db, filters).encode("utf-8")
        record(db, filters.scope, "report", report_detail(filters, file_name))
        return document

    st.download_button(
        "Download supervision report",
        data=build,
        file_name=file_name,
        mime="text/html",
        on_click="ignore",
        key="supervision_report_download",
        icon=":material/summarize:",
        help="One self-contained HTML file for these filters: totals, breakdowns, weekly "
        "load, boundary compliance and alerts, comparisons with small groups hidden. Opens "
        "offline; print it to PDF from the browser.",
    )
