"""Billing episode detection over a million demo contacts, against a bare DuckDB baseline.

The baseline is the simplest query over the same contacts (minutes per client, a plain
GROUP BY): what any per-client figure costs at least. Detection is timed twice: inside
DuckDB with only the verdict counts coming back (``billing.summary``: chaining the 7-day
periods, the session exclusions, the bands), and as the full list of episodes in a data
frame (``billing.episodes``, what the page and the CLI show). All run in this process on
the same open database, alternately, so machine load hits each alike; each figure is the
median of ``RUNS``. Detection's CPU seconds (all DuckDB threads) and the machine's load
average are kept too: on a shared machine wall time says more about the neighbours.
"""

import os
import statistics
import time
from pathlib import Path

from analytics.access.filters import ContactFilter
from analytics.measures import billing
from analytics.storage.database import Database
from bench.scale import prepared_database

CONTACTS = int(os.environ.get("CONTACTLOAD_BENCH_BILLING_CONTACTS", "1000000"))
RUNS = int(os.environ.get("CONTACTLOAD_BENCH_RUNS", "3"))

BASELINE_SQL = "SELECT client_id, sum(minutes) AS minutes FROM contacts GROUP BY client_id"


def bench_billing(folder: Path) -> dict[str, object]:
    """Seconds for ``billing.episodes`` over ``CONTACTS`` demo contacts (with their
    sessions, the same cached database ``bench.scale`` uses), and its ratio to the bare
    GROUP BY. ``folder`` is unused: the database lives in the bench cache."""
    path, generated_s = prepared_database(CONTACTS)
    db = Database(path)
    try:
        (sessions,) = db.row("SELECT count(*) FROM sessions", [])
        bare_runs: list[float] = []
        detect_runs: list[float] = []
        detect_cpu: list[float] = []
        list_runs: list[float] = []
        episodes = qualifying = 0
        for _ in range(RUNS):
            started = time.perf_counter()
            db.frame(BASELINE_SQL, [])
            bare_runs.append(time.perf_counter() - started)
            started, cpu = time.perf_counter(), time.process_time()
            verdicts = billing.summary(db, ContactFilter())
            detect_runs.append(time.perf_counter() - started)
            detect_cpu.append(time.process_time() - cpu)
            started = time.perf_counter()
            episodes = len(billing.episodes(db, ContactFilter()))
            list_runs.append(time.perf_counter() - started)
            qualifying = verdicts.qualifying
    finally:
        db.close()
    bare = statistics.median(bare_runs)
    detect = statistics.median(detect_runs)
    listed = statistics.median(list_runs)
    return {
        "contacts": CONTACTS,
        "sessions": int(sessions),
        "episodes": episodes,
        "qualifying": qualifying,
        "runs": RUNS,
        "generate_s": None if generated_s is None else round(generated_s, 1),
        "bare_runs_s": [round(run, 3) for run in bare_runs],
        "detect_runs_s": [round(run, 3) for run in detect_runs],
        "list_runs_s": [round(run, 3) for run in list_runs],
        "bare_group_by_s": round(bare, 3),
        "detect_s": round(detect, 2),
        "ratio": round(detect / bare, 1),
        "detect_cpu_s": round(statistics.median(detect_cpu), 2),
        "load_average": round(os.getloadavg()[0], 1),
        "list_s": round(listed, 2),
        "target_s": 5.0,
    }
