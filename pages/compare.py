"""Compare: therapists or practices side by side on fair, normalised measures.

Every figure comes from ``analytics.measures.compare`` with small groups already suppressed; the
page only picks the grouping and the measure to plot, and explains both.
"""

import streamlit as st

from analytics.measures.compare import MEASURES, with_hidden_words
from analytics.storage.settings import get_setting
from ui import charts
from ui.comparison import comparison_table, header, styled_table
from ui.components import csv_download, page_start
from ui.figures import series_picker, show_chart
from ui.state import database, measure

filters, totals = page_start("Compare therapists and practices")
k = int(get_setting(database(), "min_group_clients"))  # installation-wide, not data

by = st.segmented_control(
    "Compare",
    options=["therapist", "practice"],
    format_func=lambda option: {"therapist": "Therapists", "practice": "Practices"}[option],
    default="therapist",
    key="compare_by",
)
by = by or "therapist"
table = measure("comparison", filters, by)
if table.empty:
    st.info(
        "Nothing to compare in your view: no contacts or sessions match these filters.",
        icon=":material/filter_alt_off:",
    )
    st.stop()

groups = table[~table["is_total"]]
hidden = int(groups["suppressed"].sum())
st.subheader(f"{len(groups)} {by}{'s' if len(groups) != 1 else ''} side by side")
st.dataframe(
    styled_table(comparison_table(table, by), table),
    hide_index=True,
    key="compare_table",
    height=(len(table) + 1) * 35 + 3,  # every row visible, the total included
)
st.caption(
    f"Groups with fewer than {k} active clients are suppressed"
    + (f": {hidden} of {len(groups)} hidden here." if hidden else "; none is hidden here.")
    + " The last row covers all of them together."
)
csv_download(
    with_hidden_words(table).drop(columns=["group_id"]), f"compare-by-{by}.csv", key="compare_csv"
)
if hidden == len(groups):
    st.info(
        f"Every {by} is hidden: each has fewer than {k} active clients in this period, or "
        "would give a hidden one away through a total or the months. Widen the period or "
        "compare practices instead.",
        icon=":material/visibility_off:",
    )

chosen = st.selectbox(
    "Measure to plot",
    options=list(MEASURES),
    format_func=header,
    key="compare_measure",
)
left, right = st.columns(2)
values = measure("compare_distribution", filters)
show_chart(
    charts.therapist_distribution(values, chosen),
    key="compare_distribution_chart",
    container=left,
)
if groups["suppressed"].all():
    right.info("No percentile ranks: every group is hidden.", icon=":material/visibility_off:")
else:
    show_chart(
        charts.percentile_ranks(table, by, chosen), key="compare_rank_chart", container=right
    )

trend = measure("compare_trend", filters, by)
lines = series_picker(
    f"Lines to draw ({by}s and the total)",
    list(dict.fromkeys(trend["group"])),
    charts.default_groups(trend, chosen.column),
    key="compare_trend_lines",
)
show_chart(charts.comparison_trend(trend, chosen, totals.period, lines), key="compare_trend_chart")
st.caption(
    f"A month in which a group had fewer than {k} active clients is a gap in its line, and "
    "so is a month that would give a hidden figure away when added up with the other "
    "months or set against a practice or the total."
)
csv_download(
    with_hidden_words(trend).drop(columns=["group_id"]),
    f"compare-by-{by}-per-month.csv",
    key="compare_trend_csv",
    label="Download monthly figures (CSV)",
)

with st.expander("How the figures are normalised, and why some are hidden"):
    st.markdown(
        f"""
- **Minutes per active client per week**: contact minutes ÷ active clients (any contact or
  session in the period) ÷ weeks in the period (days ÷ 7), so caseload and period length
  do not decide who looks busiest.
- **Minutes per 8 scheduled session hours**: contact minutes ÷ hours of sessions attended,
  late-cancelled or missed × 8 (a clinical day); empty where no sessions are known.
- **Shares** are of all contact minutes: after hours (outside each therapist's own working
  hours in force that day, in their time zone), crisis, and the busiest 10 % of clients.
- **Response time**: median hours from a client's message to the therapist's next contact,
  in the unit each agreement names. **Client-weeks within cap**: weeks with contact and an
  agreed weekly cap whose minutes stayed at or under it.
- **Percentile rank**: 100 × (rank − 1) ÷ (groups shown − 1), ranking minutes per active
  client per week from the lowest; ties share their average rank.
- **Suppression**: loads of fewer than {k} clients can identify people, so (as US federal
  cell-size policy does for health data) such a group shows no figure at all, only the
  reason. Hidden cells are decided once for everything on this page and in its downloads,
  for therapists, practices, the totals and every month together: where a sum you can see
  (a practice's therapists, the practices' total, a period's months) would give a hidden
  figure away, another cell is hidden too, so no hidden figure can be worked out by adding
  or subtracting shown ones. No client appears here.
"""
    )
