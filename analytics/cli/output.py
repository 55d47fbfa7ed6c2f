"""The one way a command prints what it found: rows as a table, JSON or CSV.

JSON is always ``json.dumps(..., indent=2)`` of the command's own rows (dates and other
values JSON lacks written as text); CSV has the rows' keys as its header; a table is the
text the command composes (a data frame, or lines), or one sentence when there is nothing
to show. Clients are named as the dashboard names them: labels, or with ``--keys`` the
pseudonymous keys (JSON rows carry both).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from analytics.cli.context import Context

Text = Callable[[], "str | pd.DataFrame"]
"""What a table shows, composed only when a table is asked for."""


def print_json(document: Any, *, flush: bool = False) -> None:
    """A JSON document (rows, or a report object), indented."""
    print(json.dumps(document, indent=2, default=str), flush=flush)


def print_csv(rows: Sequence[dict[str, Any]]) -> None:
    """Rows as CSV with their keys as the header (nothing at all for no rows)."""
    if rows:
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def emit(ctx: Context, rows: Sequence[dict[str, Any]], text: Text, *, empty: str) -> None:
    """``rows`` in the format the command was asked for: JSON, CSV, or ``text()`` as a
    table (a data frame is printed without its index), or ``empty`` when there are none."""
    if ctx.output == "json":
        print_json(list(rows))
    elif ctx.output == "csv":
        print_csv(rows)
    elif not rows:
        print(empty)
    else:
        shown = text()
        print(shown if isinstance(shown, str) else shown.to_string(index=False))


def shown_client(frame: pd.DataFrame, keys: bool) -> pd.Series:
    """The client column a table shows: labels as the dashboard names clients (keys for
    viewers who see no labels), or the pseudonymous keys with ``--keys``."""
    return frame["client_key"] if keys else frame["client"]


def plain(value: Any) -> Any:
    """A JSON- and CSV-friendly value: ISO dates, floats, None for NULL or NaN."""
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value


def plain_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A data frame's rows as JSON- and CSV-friendly dicts."""
    return [
        {str(column): plain(value) for column, value in record.items()}
        for record in frame.to_dict("records")  # the output's own rows
    ]
