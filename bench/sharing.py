"""What sharing the database file costs: the dashboard lets go of it between renders so
commands in other processes can use it (analytics.storage.sharing).

Two measurements on a copy of a demo database (``CONTACTLOAD_BENCH_SHARING_SCALE``
contacts, 100,000 by default):

- **Renders** (``python -m bench.sharing render DB PAGE``, one fresh process): the slowest
  page under AppTest, cold (every cached result cleared, as after a write) and warm (a
  rerun), each with the connection held from the render before and with it released
  before the render (what a render after the dashboard went idle pays), alternated, median
  of ``CONTACTLOAD_BENCH_RUNS`` runs; and the time one reopening of the file takes.
- **A command waiting**: while another process renders the same page over and over with
  every cache cleared (a busy dashboard, releasing as the real one does), a write from
  another process (open the file, commit; the time it waits for its turn is its time over
  the same write alone), and a whole ``contactload import`` of a small Toggl file.
"""

import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCALE = int(os.environ.get("CONTACTLOAD_BENCH_SHARING_SCALE", "100000"))
RUNS = int(os.environ.get("CONTACTLOAD_BENCH_RUNS", "3"))
IMPORT_ROWS = 200
CONTACTLOAD = str(Path(sys.executable).parent / "contactload")


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def render_costs(db_path: Path, url_path: str, runs: int) -> dict[str, object]:
    """Cold and warm seconds of one page with the connection held and released (medians of
    ``runs`` alternated runs), and the seconds one reopening of the file takes."""
    os.environ["CONTACTLOAD_DB"] = str(db_path)
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    import ui.state
    from ui.navigation import PAGES

    page = next(spec for spec in PAGES if spec.url_path == url_path)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
    app.run()
    app.switch_page(page.path).run()
    db = ui.state.database()
    db.release_when_idle(None)  # this bench decides when the file is let go
    times: dict[str, list[float]] = {
        f"{kind}_{mode}_s": [] for kind in ("cold", "warm") for mode in ("held", "released")
    }
    reopen: list[float] = []
    for _ in range(runs):
        for mode in ("held", "released"):
            for kind in ("cold", "warm"):
                if kind == "cold":
                    st.cache_data.clear()
                if mode == "released":
                    assert db.release()
                else:
                    db.data_version()  # opens the file if it was let go
                started = time.perf_counter()
                app.run()
                times[f"{kind}_{mode}_s"].append(time.perf_counter() - started)
                if app.exception:
                    raise SystemExit(f"{page.title}: {[e.message for e in app.exception]}")
        db.release()
        started = time.perf_counter()
        db.data_version()
        reopen.append(time.perf_counter() - started)
    figures: dict[str, object] = {key: _median(values) for key, values in times.items()}
    figures["reopen_s"] = _median(reopen)
    figures["page"] = page.title
    return figures


def keep_busy(db_path: Path, url_path: str) -> None:
    """Render one page with every cache cleared, again and again, as a busy dashboard
    (releasing the file as the real one does); says ``ready`` after the first render."""
    os.environ["CONTACTLOAD_DB"] = str(db_path)
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from ui.navigation import PAGES

    page = next(spec for spec in PAGES if spec.url_path == url_path)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
    app.run()
    app.switch_page(page.path).run()
    print("ready", flush=True)
    renders = 0
    while True:
        st.cache_data.clear()
        app.run()
        renders += 1
        sys.stderr.write(f"{renders}\n")


def write_toggl(path: Path, rows: int) -> None:
    """A small Toggl Track detailed report (UTF-8 with BOM, as Toggl writes)."""
    header = [
        "User", "Email", "Client", "Project", "Task", "Description", "Billable",
        "Start date", "Start time", "End date", "End time", "Duration", "Tags",
    ]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for i in range(rows):
            day = f"2026-03-{1 + i % 28:02d}"
            minutes = 1 + i % 45
            writer.writerow(
                [
                    "Bench Therapist", "bench@example.org", f"Bench client {i % 20}",
                    "Between sessions", "", "", "No", day, f"{8 + i % 10:02d}:{i % 60:02d}:00",
                    day, f"{8 + i % 10:02d}:{i % 60:02d}:00", f"00:{minutes:02d}:00", "phone",
                ]
            )  # fmt: skip


def _import_seconds(db_path: Path, upload: Path) -> tuple[float, bool]:
    """Wall seconds of one ``contactload import``, and whether it said it waits."""
    started = time.perf_counter()
    result = subprocess.run(
        [CONTACTLOAD, "import", str(upload), "--db", str(db_path), "--time-zone", "UTC"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"contactload import failed while sharing: {result.stderr.strip()}")
    return seconds, "Waiting for" in result.stderr


_WRITE = (
    "import sys, time\n"
    "from analytics.storage.database import Database\n"
    "started = time.perf_counter()\n"
    "db = Database(sys.argv[1])\n"
    "with db.transaction() as cursor:\n"
    '    cursor.execute("SELECT count(*) FROM contacts")\n'
    "print(time.perf_counter() - started)\n"
)
"""A command's write at its smallest, timed from asking for the file to its commit (the
Python start-up and imports before it excluded): what waiting for the turn adds shows
without an import's own seconds around it."""


def _write_seconds(db_path: Path) -> float:
    """Seconds from opening the file to a committed write, in a process of its own."""
    result = subprocess.run(
        [sys.executable, "-c", _WRITE, str(db_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def write_wait(db_path: Path, url_path: str, runs: int) -> dict[str, object]:
    """A write's seconds from asking for the file to its commit, and a small import's,
    alone and while the page renders without pause."""
    upload = db_path.with_name("bench-sharing.csv")
    write_toggl(upload, IMPORT_ROWS)
    _import_seconds(db_path, upload)  # stores the rows: every measured run finds duplicates
    alone = [_import_seconds(db_path, upload)[0] for _ in range(runs)]
    write_alone = [_write_seconds(db_path) for _ in range(runs * 2)]
    busy = subprocess.Popen(
        [sys.executable, "-m", "bench.sharing", "busy", str(db_path), url_path],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert busy.stdout is not None
        if busy.stdout.readline().strip() != "ready":
            raise SystemExit(f"the busy dashboard did not start: {busy.stderr.read()}")  # type: ignore[union-attr]
        shared = [_import_seconds(db_path, upload) for _ in range(runs)]
        write_shared = [_write_seconds(db_path) for _ in range(runs * 2)]
    finally:
        busy.kill()
        _, rendered = busy.communicate(timeout=30)
    waits = [max(0.0, seconds - statistics.median(write_alone)) for seconds in write_shared]
    return {
        "rows": IMPORT_ROWS,
        "alone_s": _median(alone),
        "shared_s": _median([seconds for seconds, _ in shared]),
        "said_waiting": sum(said for _, said in shared),
        "write_alone_s": _median(write_alone),
        "write_shared_s": _median(write_shared),
        "writes": len(write_shared),
        "wait_s": _median(waits),
        "max_wait_s": round(max(waits), 3),
        "renders_meanwhile": max((int(n) for n in rendered.split() if n.isdigit()), default=0),
    }


def slowest_page(scaled: dict[str, Any] | None) -> str:
    """The url path of the slowest cold page at this scale in the last ``scale`` run."""
    pages = ((scaled or {}).get(str(SCALE)) or {}).get("render", {}).get("pages")
    if not pages:
        return "compare"
    return str(max(pages, key=lambda path: pages[path]["cold_s"]))


def bench_sharing(folder: Path, scaled: dict[str, Any] | None) -> dict[str, object]:
    """Every sharing figure, on a copy of the demo database at ``SCALE`` contacts."""
    from bench.scale import prepared_database

    source, _ = prepared_database(SCALE)
    db_path = folder / "sharing.duckdb"
    shutil.copyfile(source, db_path)
    url_path = slowest_page(scaled)
    rendered = subprocess.run(
        [sys.executable, "-m", "bench.sharing", "render", str(db_path), url_path, str(RUNS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, object] = {
        "contacts": SCALE,
        "runs": RUNS,
        "date": time.strftime("%Y-%m-%d"),
        "load_average": round(os.getloadavg()[0], 1),
        **json.loads(rendered.stdout.strip().splitlines()[-1]),
    }
    figures["write"] = write_wait(db_path, url_path, RUNS)
    return figures


if __name__ == "__main__":
    if sys.argv[1] == "render":
        print(json.dumps(render_costs(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))))
    elif sys.argv[1] == "busy":
        keep_busy(Path(sys.argv[2]), sys.argv[3])
