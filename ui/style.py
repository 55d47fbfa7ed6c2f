"""The look every page shares, set up once by app.py: the favicon from this folder (a
``:material/...:`` icon would be fetched from a font host) and a few CSS rules.

The rules keep the dashboard usable from the keyboard and on a phone:
- chart toolbars (Plotly's buttons, re-drawn by Streamlit, and the fullscreen button) are
  not drawn, so a keyboard user does not tab through eight buttons per chart;
- on a narrow screen the rows of cards wrap two to a line, so the first chart comes into
  view without scrolling past nine full-width cards.
"""

from pathlib import Path

import streamlit as st

FAVICON = Path(__file__).with_name("favicon.png")
"""The browser tab's icon, served by the dashboard itself."""

CSS = """
<style>
/* Chart toolbars: no tab stops, no buttons over the plot. */
[data-testid="stElementContainer"]:has([data-testid="stPlotlyChart"])
  [data-testid="stElementToolbar"],
[data-testid="stPlotlyChart"] .modebar-container {
  display: none !important;
}
@media (max-width: 640px) {
  /* Below 640 px (where Streamlit stacks columns): cards two to a row, compact,
     instead of one full-width card each. */
  [data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] [data-testid="stMetric"]) {
    flex-direction: row !important;
    flex-wrap: wrap !important;
    gap: 0.5rem !important;
  }
  [data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] [data-testid="stMetric"])
    > [data-testid="stColumn"] {
    width: calc(50% - 0.25rem) !important;
    flex: 1 1 calc(50% - 0.25rem) !important;
    min-width: calc(50% - 0.25rem) !important;
  }
  [data-testid="stMetric"] { padding: 0.4rem 0.6rem !important; }
  /* Labels wrap instead of ending in "…". */
  [data-testid="stMetricLabel"], [data-testid="stMetricLabel"] * {
    white-space: normal !important;
    overflow: visible !important;
  }
  [data-testid="stMetricValue"] { font-size: 1.4rem !important; }
}
</style>
"""


def page_setup() -> None:
    """Title, favicon and wide layout, then the shared CSS; first thing app.py does."""
    st.set_page_config(page_title="Contact Load", page_icon=str(FAVICON), layout="wide")
    st.html(CSS)
