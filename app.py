"""Contact Load dashboard: set up, draw the shared sidebar filters, navigate to a page.

Run with ``make run`` (or ``streamlit run app.py -- --db PATH``).
"""

import streamlit as st

from analytics.errors import ContactLoadError
from ui.navigation import PAGES
from ui.sidebar import draw_filters
from ui.state import database

st.set_page_config(page_title="Contact Load", page_icon=":material/schedule:", layout="wide")

navigation = st.navigation(
    [
        st.Page(
            page.path, title=page.title, icon=page.icon, url_path=page.url_path, default=index == 0
        )
        for index, page in enumerate(PAGES)
    ]
)
try:
    database()
except ContactLoadError as error:
    st.error(str(error), icon=":material/error:")
    st.stop()
draw_filters()
navigation.run()
