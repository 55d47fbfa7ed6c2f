"""Contact Load dashboard: set up, settle who is looking, draw the shared sidebar filters,
navigate to a page.

Run with ``make run`` (or ``python -m ui.serve -- --db PATH [--roles ROLES.toml]``). In team
mode (a roles file given) nobody gets past ``settle_viewer_scope`` without signing in and having
a role; they see only the pages their role may use.
"""

import streamlit as st

from analytics.errors import ContactLoadError
from ui.auth import settle_viewer_scope
from ui.navigation import visible_pages
from ui.sidebar import draw_filters
from ui.state import database
from ui.style import page_setup

page_setup()

try:
    database()
except ContactLoadError as error:
    st.error(str(error), icon=":material/error:")
    st.stop()
scope = settle_viewer_scope()
navigation = st.navigation(
    [
        st.Page(
            page.path, title=page.title, icon=page.icon, url_path=page.url_path, default=index == 0
        )
        for index, page in enumerate(visible_pages(scope))
    ]
)
try:
    draw_filters()
    navigation.run()
except ContactLoadError as error:
    # Whatever a page did not explain itself (a database damaged while the server runs,
    # say) is one sentence, never a traceback.
    st.error(str(error), icon=":material/error:")
