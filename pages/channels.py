"""Channels & categories: which channel carries which kind of contact, and how each trends."""

import streamlit as st

from analytics.domain import CATEGORY_LABELS, CHANNEL_LABELS
from ui import charts
from ui.components import csv_download, empty_state, period_caption
from ui.sidebar import current_filter
from ui.state import measure

st.title("Channels & categories")
filters = current_filter()
totals = measure("totals", filters)
if totals.contacts == 0:
    empty_state()
period_caption(totals.period)

pairs = measure("channel_category", filters)
st.plotly_chart(charts.channel_category_heatmap(pairs), key="channel_category_heatmap")

bucket = st.segmented_control(
    "Trend per", options=["week", "month"], default="week", key="trend_bucket"
)
bucket = bucket or "week"
by_channel, by_category = st.tabs(["By channel", "By category"])
with by_channel:
    st.plotly_chart(
        charts.trend_lines(
            measure("trend", filters, "channel", bucket),
            "channel",
            f"Minutes per {bucket} by channel",
        ),
        key="channel_trend_chart",
    )
    channels = measure("summary", filters, "channel")
    st.dataframe(
        channels.assign(label=channels["key"].map(CHANNEL_LABELS)),
        hide_index=True,
        key="channel_table",
        column_order=["label", "minutes", "contacts", "share"],
        column_config={
            "label": "Channel",
            "minutes": st.column_config.NumberColumn("Minutes", format="%.0f min"),
            "share": st.column_config.ProgressColumn(
                "Share of minutes", format="percent", min_value=0.0, max_value=1.0
            ),
        },
    )
with by_category:
    st.plotly_chart(
        charts.trend_lines(
            measure("trend", filters, "category", bucket),
            "category",
            f"Minutes per {bucket} by category",
        ),
        key="category_trend_chart",
    )
    categories = measure("summary", filters, "category")
    st.dataframe(
        categories.assign(label=categories["key"].map(CATEGORY_LABELS)),
        hide_index=True,
        key="category_table",
        column_order=["label", "minutes", "contacts", "share"],
        column_config={
            "label": "Category",
            "minutes": st.column_config.NumberColumn("Minutes", format="%.0f min"),
            "share": st.column_config.ProgressColumn(
                "Share of minutes", format="percent", min_value=0.0, max_value=1.0
            ),
        },
    )
csv_download(pairs, "channel-category.csv", key="channel_category_csv")
