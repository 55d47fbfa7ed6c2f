"""The Compare page's table as people read it: units in the headers, reasons in hidden cells.

Plain pandas, no Streamlit: the figures come from ``analytics.measures.compare`` already normalised
and suppressed; this only turns them into text.
"""

import pandas as pd
from pandas.io.formats.style import Styler

from analytics.measures.compare import MEASURES, ComparedMeasure

_COUNT_HEADERS = {
    "clients": "Active clients",
    "minutes": "Minutes (min)",
    "scheduled_hours": "Scheduled session hours (h)",
}


_SHORT_REASONS = {
    "suppressed so a hidden group cannot be worked out from the total": (
        "the total would reveal a hidden group"
    ),
    "suppressed so a hidden figure cannot be worked out by adding up months": (
        "the months would reveal a hidden figure"
    ),
    "suppressed so a hidden figure cannot be worked out from the others": (
        "other figures would reveal a hidden one"
    ),
}
"""Cell-sized wording of the library's reasons (the CSV keeps the full sentence)."""


def hidden_text(reason: str) -> str:
    """What a suppressed cell says: "suppressed: fewer than 11 clients"."""
    return f"suppressed: {_SHORT_REASONS.get(reason, reason)}"


def header(measure: ComparedMeasure) -> str:
    """A column header with its unit, e.g. "After-hours share (%)"."""
    return f"{measure.label} ({measure.unit})"


def _text(value: object, measure: ComparedMeasure | None, column: str) -> str:
    if value is None or value != value:  # None, or NaN from an empty cell
        return "–"
    number = float(value)  # type: ignore[arg-type]
    if measure is not None and measure.kind == "share":
        return f"{number * 100:.1f} %"
    if column == "clients":
        return f"{number:,.0f}"
    if column == "minutes":
        return f"{number:,.0f} min"
    if column == "percentile_rank":
        return f"{number:.0f}"
    unit = "h" if column == "scheduled_hours" or (measure and measure.kind == "hours") else "min"
    return f"{number:,.1f} {unit}"


def comparison_table(table: pd.DataFrame, by: str) -> pd.DataFrame:
    """One text row per group and the total; a suppressed row says "suppressed: why"."""
    shown = pd.DataFrame({by.capitalize(): table["group"]})
    if by == "therapist":
        shown["Practice"] = table["practice"].fillna("")
    columns: list[tuple[str, str, ComparedMeasure | None]] = [
        *((column, title, None) for column, title in _COUNT_HEADERS.items()),
        *((measure.column, header(measure), measure) for measure in MEASURES),
        ("percentile_rank", "Percentile rank (0-100)", None),
    ]
    for column, title, measure in columns:
        shown[title] = [
            hidden_text(reason) if suppressed else _text(value, measure, column)
            for value, suppressed, reason in zip(  # one row per group: a handful
                table[column], table["suppressed"], table["suppressed_reason"], strict=True
            )
        ]
    shown.loc[table["is_total"].to_numpy(dtype=bool), "Percentile rank (0-100)"] = ""
    return shown


def styled_table(shown: pd.DataFrame, table: pd.DataFrame) -> Styler:
    """``comparison_table`` with the total row in bold and hidden cells greyed out."""
    totals = table["is_total"].to_numpy(dtype=bool)
    hidden = table["suppressed"].to_numpy(dtype=bool)

    def row_style(row: pd.Series) -> list[str]:
        position = shown.index.get_loc(row.name)
        style = "font-weight: bold" if totals[position] else ""
        if hidden[position]:
            style = "color: #8a8a8a; font-style: italic"
        return [style] * len(row)

    return shown.style.apply(row_style, axis=1)
