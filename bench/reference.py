"""The Overview's contact measures two ways in one process: the library (DuckDB, only
aggregated rows come back) and the way a notebook would (every contact, every column, read
into pandas, then grouped there). Alternated ``RUNS`` times so machine load hits both
alike; the pandas time includes reading the contacts, as a notebook must. The two answers
are compared, so the ratio is between equal results. Run as
``python -m bench.reference DB``; prints JSON.
"""

import json
import os
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

from analytics.access.filters import ContactFilter
from analytics.measures import metrics
from analytics.storage.database import Database

RUNS = int(os.environ.get("CONTACTLOAD_BENCH_RUNS", "3"))


def library(db: Database) -> dict[str, float]:
    """The Overview's contact figures as the page asks for them."""
    filters = ContactFilter()
    headline = metrics.headline(db, filters)
    channels = metrics.breakdown(db, filters, "channel")
    weekly = metrics.trend(db, filters, "category")
    top = metrics.concentration(db, filters)
    return {
        "contacts": headline.current.contacts,
        "minutes": headline.current.minutes,
        "active_clients": headline.current.active_clients,
        "after_hours_minutes": headline.current.after_hours_minutes,
        "channels": len(channels),
        "weekly_minutes": float(weekly["minutes"].sum()),
        "top_share": top.top_minutes_share or 0.0,
    }


def notebook(db: Database) -> dict[str, float]:
    """The same figures from a data frame of every contact, as an analyst would write them."""
    # Every column but the import fingerprint (a 128-bit integer numpy cannot hold).
    contacts = db.frame("SELECT * EXCLUDE (fingerprint) FROM contacts", [])
    local = contacts["local_started_at"]
    first, last = local.min().normalize(), local.max().normalize()
    length = last - first + pd.Timedelta(days=1)
    current = contacts[(local >= first) & (local < last + pd.Timedelta(days=1))]
    previous = contacts[(local >= first - length) & (local < first)]
    for frame in (current, previous):
        when = frame["local_started_at"]
        after_hours = frame["time_known"] & (
            (when.dt.day_of_week >= 5) | (when.dt.hour < 8) | (when.dt.hour >= 18)
        )
        figures = {
            "contacts": len(frame),
            "minutes": float(frame["minutes"].sum()),
            "active_clients": frame["client_id"].nunique(),
            "after_hours_minutes": float(frame.loc[after_hours, "minutes"].sum()),
        }
        if frame is current:
            result = figures
    channels = current.groupby("channel")["minutes"].agg(["count", "sum"])
    weeks = current["local_started_at"].dt.to_period("W").dt.start_time
    weekly = current.groupby([weeks, "category"])["minutes"].sum()
    per_client = current.groupby("client_id")["minutes"].sum().sort_values(ascending=False)
    top = per_client.head(-(-len(per_client) // 10)).sum() / per_client.sum()
    return {
        **result,
        "channels": len(channels),
        "weekly_minutes": float(weekly.sum()),
        "top_share": float(top),
    }


def compare(db_path: Path) -> dict[str, object]:
    """Median seconds of each way and their ratio; fails if the answers differ."""
    db = Database(db_path)
    try:
        library_runs: list[float] = []
        notebook_runs: list[float] = []
        for _ in range(RUNS):
            started = time.perf_counter()
            ours = library(db)
            library_runs.append(time.perf_counter() - started)
            started = time.perf_counter()
            theirs = notebook(db)
            notebook_runs.append(time.perf_counter() - started)
    finally:
        db.close()
    for name, value in ours.items():
        if abs(value - theirs[name]) > 1e-6 * max(1.0, abs(value)):
            raise SystemExit(f"{name}: library {value} but pandas {theirs[name]}")
    ours_s, theirs_s = statistics.median(library_runs), statistics.median(notebook_runs)
    return {
        "runs": RUNS,
        "library_runs_s": [round(run, 3) for run in library_runs],
        "pandas_runs_s": [round(run, 3) for run in notebook_runs],
        "library_s": round(ours_s, 3),
        "pandas_s": round(theirs_s, 3),
        "speedup": round(theirs_s / ours_s, 1),
    }


if __name__ == "__main__":
    print(json.dumps(compare(Path(sys.argv[1]))))
