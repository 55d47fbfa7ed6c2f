"""Channels & categories: which channel carries which kind of contact, and how each trends."""

import streamlit as st

from analytics.domain import CATEGORY_LABELS, CHANNEL_LABELS
from ui import charts
from ui.components import csv_download, page_start
from ui.figures import series_picker, show_chart
from ui.format import COUNT_COLUMN, MINUTES_COLUMN, PERCENT_COLUMN, percent_points
from ui.state import measure

filters, totals = page_start("Channels & categories")

pairs = measure("channel_category", filters)
show_chart(charts.channel_category_heatmap(pairs), key="channel_category_heatmap")
csv_download(pairs, "channel-category.csv", key="channel_category_csv")

picked_bucket = st.segmented_control(
    "Trend per", options=["week", "month"], default="week", key="trend_bucket"
)
bucket: charts.Bucket = "month" if picked_bucket == "month" else "week"
for tab, by, labels in zip(
    st.tabs(["By channel", "By category"]),
    ("channel", "category"),
    (CHANNEL_LABELS, CATEGORY_LABELS),
    strict=True,
):
    with tab:
        trend = measure("trend", filters, by, bucket)
        busiest = charts.busiest(trend, "key")
        shown = series_picker(
            f"{by.capitalize()} lines to draw",
            busiest,
            busiest,
            key=f"{by}_trend_lines",
            format_func=labels.__getitem__,
        )
        show_chart(
            charts.trend_lines(
                trend, by, f"Minutes per {bucket} by {by}", bucket, totals.period, shown
            ),
            key=f"{by}_trend_chart",
        )
        table = measure("breakdown", filters, by)
        st.dataframe(
            percent_points(table, "share").assign(label=table["key"].map(labels)),
            hide_index=True,
            key=f"{by}_table",
            column_order=["label", "minutes", "contacts", "share"],
            column_config={
                "label": by.capitalize(),
                "minutes": st.column_config.NumberColumn("Minutes", format=MINUTES_COLUMN),
                "contacts": st.column_config.NumberColumn("Contacts", format=COUNT_COLUMN),
                "share": st.column_config.ProgressColumn(
                    "Share of minutes", format=PERCENT_COLUMN, min_value=0.0, max_value=100.0
                ),
            },
        )
        csv_download(table, f"minutes-by-{by}.csv", key=f"{by}_csv")
