"""Contact Load's library: storage, measures and demo data for between-session contact.

Never imports streamlit: the dashboard pages and the ``contactload`` CLI are two thin faces
of what lives here.
"""

__version__ = "0.1.0"
