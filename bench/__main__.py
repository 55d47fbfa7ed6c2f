"""``make bench``: measure, side by side in one run, and write the figures down.

Every timing is a ratio against a bare DuckDB baseline measured in the same run on the same
machine, so the figures mean something on any hardware. Results go to
``bench/results.json``, ``bench/RESULTS.md`` and the README's performance section.
"""

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from bench.billing import bench_billing

ROOT = Path(__file__).resolve().parent.parent
RESULTS_JSON = ROOT / "bench" / "results.json"
RESULTS_MD = ROOT / "bench" / "RESULTS.md"
README = ROOT / "README.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
IMPORT_ROWS = int(os.environ.get("CONTACTLOAD_BENCH_ROWS", "1000000"))
RUNS = int(os.environ.get("CONTACTLOAD_BENCH_RUNS", "3"))
"""Each whole-process timing is the median of this many runs."""

TOGGL_SQL = """
COPY (
    SELECT 'Therapist ' || (i % 12) AS "User",
           'therapist' || (i % 12) || '@example.org' AS "Email",
           'Client ' || (hash(i) % 5000) AS "Client",
           'Between sessions' AS "Project",
           ['Scheduling', 'Reminder', 'Check-in', 'Support call', 'Homework review',
            'Crisis call', 'Portal message'][1 + (i % 7)] AS "Task",
           'Note ' || i AS "Description",
           'No' AS "Billable",
           strftime(DATE '2026-01-01' + CAST(i % 365 AS INTEGER), '%Y-%m-%d') AS "Start date",
           printf('%02d:%02d:00', 8 + (i % 10), i % 60) AS "Start time",
           strftime(DATE '2026-01-01' + CAST(i % 365 AS INTEGER), '%Y-%m-%d') AS "End date",
           printf('%02d:%02d:00', 8 + (i % 10), (i % 60)) AS "End time",
           printf('00:%02d:%02d', 1 + (i % 45), i % 60) AS "Duration",
           ['phone', 'email', 'text, follow-up', 'portal'][1 + (i % 4)] AS "Tags",
           '0.00' AS "Amount (EUR)"
    FROM range(?) AS r(i)
) TO '{path}' (HEADER, DELIMITER ',')
"""


@dataclass
class Measured:
    """One whole-process measurement."""

    seconds: float
    peak_mb: float


_MEASURE = (
    "import resource, subprocess, sys\n"
    "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def run_measured(command: list[str]) -> Measured:
    """Run a command to completion: wall time, and its own peak resident memory.

    A small wrapper process runs the command so that the peak it reports belongs to this
    command alone (``RUSAGE_CHILDREN`` of the wrapper).
    """
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    return Measured(seconds=seconds, peak_mb=int(result.stdout.strip()) / 1024)


def median_of(runs: list[Measured]) -> Measured:
    """The median time of several runs (and the largest peak memory among them)."""
    times = sorted(run.seconds for run in runs)
    return Measured(seconds=times[len(times) // 2], peak_mb=max(run.peak_mb for run in runs))


def write_toggl_file(path: Path, rows: int) -> None:
    """A Toggl Track detailed report with ``rows`` entries (UTF-8 with BOM, as Toggl writes)."""
    plain = path.with_suffix(".plain.csv")
    connection = duckdb.connect()
    connection.execute(TOGGL_SQL.format(path=plain), [rows])
    connection.close()
    with open(path, "wb") as out, open(plain, "rb") as source:
        out.write(b"\xef\xbb\xbf")
        while chunk := source.read(1 << 22):
            out.write(chunk)
    plain.unlink()


def bench_import(folder: Path) -> dict[str, object]:
    """Whole-process ``contactload import`` against a bare DuckDB read_csv of the same file."""
    csv_path = folder / "toggl.csv"
    write_toggl_file(csv_path, IMPORT_ROWS)
    contactload = str(Path(sys.executable).parent / "contactload")
    bare_runs, import_runs = [], []
    for run in range(RUNS):
        # Alternate the two so that any drift in the machine's load hits both alike.
        bare_runs.append(
            run_measured(
                [
                    sys.executable,
                    "-c",
                    "import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
                    "c.execute('CREATE TABLE t AS SELECT * FROM read_csv(?)', [sys.argv[2]])",
                    str(folder / f"bare{run}.duckdb"),
                    str(csv_path),
                ]
            )
        )
        import_runs.append(
            run_measured(
                [
                    contactload,
                    "import",
                    str(csv_path),
                    "--db",
                    str(folder / f"import{run}.duckdb"),
                    "--time-zone",
                    "Europe/Berlin",
                ]
            )
        )
    bare = median_of(bare_runs)
    imported = median_of(import_runs)
    return {
        "rows": IMPORT_ROWS,
        "runs": RUNS,
        "bare_runs_s": [round(run.seconds, 2) for run in bare_runs],
        "import_runs_s": [round(run.seconds, 2) for run in import_runs],
        "file_mb": round(csv_path.stat().st_size / 1e6, 1),
        "bare_read_csv_s": round(bare.seconds, 2),
        "import_s": round(imported.seconds, 2),
        "ratio": round(imported.seconds / bare.seconds, 2),
        "import_peak_mb": round(imported.peak_mb),
        "target_ratio": 2.5,
        "target_peak_mb": 1024,
    }


def machine() -> dict[str, object]:
    """Where the figures were measured."""
    memory_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "date": date.today().isoformat(),
        "cores": os.cpu_count(),
        "memory_gb": round(memory_gb, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
    }


def markdown(results: dict[str, dict[str, object]]) -> str:
    """The results as the README's performance section."""
    where = results["machine"]
    lines = [
        f"Measured {where['date']} on {where['cores']} cores and {where['memory_gb']} GB "
        f"(Python {where['python']}, DuckDB {where['duckdb']}) by `make bench`.",
        "",
        "| benchmark | figure | target |",
        "| --- | --- | --- |",
    ]
    imported = results.get("import")
    if imported:
        lines += _import_lines(imported)
    billed = results.get("billing")
    if billed:
        lines += [
            f"| billing episode detection over {billed['contacts']:,} demo contacts and "
            f"{billed['sessions']:,} sessions ({billed['episodes']:,} episodes), in DuckDB, "
            f"median of {billed['runs']} runs | {billed['detect_s']} s = "
            f"**{billed['ratio']}×** a bare `GROUP BY client` ({billed['bare_group_by_s']} s) "
            f"({billed['detect_cpu_s']} CPU s; load average {billed['load_average']}) "
            f"| ≤ {billed['target_s']:g} s |",
            f"| the same, every episode listed as a data frame (page, CLI) | "
            f"{billed['list_s']} s | |",
        ]
    return "\n".join(lines)


def _import_lines(imported: dict[str, object]) -> list[str]:
    """The import rows of the performance table."""
    return [
        f"| import of a {imported['rows']:,}-row Toggl file ({imported['file_mb']} MB), "
        f"whole `contactload import` process, median of {imported['runs']} runs | "
        f"{imported['import_s']} s = **{imported['ratio']}×** a bare DuckDB `read_csv` "
        f"({imported['bare_read_csv_s']} s) | ≤ {imported['target_ratio']}× |",
        f"| peak memory of that import | {imported['import_peak_mb']} MB | "
        f"< {imported['target_peak_mb']} MB |",
    ]


def update_readme(section: str) -> None:
    """Replace the text between the bench markers in README.md."""
    text = README.read_text()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        README.write_text(f"{head}{BEGIN}\n{section}\n{END}{tail}")


BENCHMARKS = ("import", "billing")


def main() -> None:
    """Run every benchmark (or those named: ``python -m bench billing``), print the
    figures, write them down; figures of benchmarks not run are kept from the last run."""
    chosen = [name for name in sys.argv[1:] if name in BENCHMARKS] or list(BENCHMARKS)
    results: dict[str, dict[str, object]] = (
        json.loads(RESULTS_JSON.read_text()) if RESULTS_JSON.exists() else {}
    )
    results["machine"] = machine()
    with tempfile.TemporaryDirectory() as folder:
        if "import" in chosen:
            print(f"import: generating and importing {IMPORT_ROWS:,} rows…", flush=True)
            results["import"] = bench_import(Path(folder))
            print(json.dumps(results["import"], indent=2), flush=True)
        if "billing" in chosen:
            print("billing: generating demo data and detecting episodes…", flush=True)
            results["billing"] = bench_billing(Path(folder))
            print(json.dumps(results["billing"], indent=2), flush=True)
    RESULTS_JSON.write_text(json.dumps(results, indent=2) + "\n")
    section = markdown(results)
    RESULTS_MD.write_text("# Benchmark results\n\n" + section + "\n")
    update_readme(section)
    print(section)


if __name__ == "__main__":
    main()
