"""Streamlit glue for the charts of ``ui.charts``: draw a figure, or the sentence saying why
there is none, and let the user pick the series of a busy chart."""

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

from ui.charts import MAX_SERIES, Chart, NothingToDraw


def show_chart(chart: Chart, key: str, container: Any = st) -> None:
    """The figure, or (nothing to draw) its sentence in a note of the same place."""
    if isinstance(chart, NothingToDraw):
        container.info(chart.sentence, icon=":material/info:")
    else:
        container.plotly_chart(chart, key=key)


def series_picker(
    label: str,
    options: Sequence[str],
    default: Sequence[str],
    key: str,
    format_func: Callable[[str], str] = str,
    limit: int = MAX_SERIES,
) -> list[str]:
    """The series to draw: all of them when they are few, else a selector of at most
    ``limit`` (``MAX_SERIES`` unless the chart draws another series beside them), the
    default ones chosen first."""
    if len(options) <= limit:
        return list(options)
    chosen = st.multiselect(
        label,
        options=list(options),
        default=[option for option in default if option in options][:limit],
        format_func=format_func,
        max_selections=limit,
        key=key,
        help=f"A chart stays readable with up to {MAX_SERIES} series; pick the ones to compare.",
    )
    return list(chosen)
