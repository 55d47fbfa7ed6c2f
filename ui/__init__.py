"""Streamlit glue shared by the pages: the cached database, the sidebar filters, charts.

Pages stay thin by importing from here; the numbers themselves come from ``analytics``.
"""
