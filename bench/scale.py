"""The dashboard at 100k, 1M and 10M demo contacts: every page cold and warm under AppTest,
the analytics each page calls, the pandas reference, growth and peak memory.

Demo databases are generated once and kept in ``bench/.cache/`` (git-ignored), named by the
contact count and a hash of the code that writes them (demo data, schema, storing), so a
change to that code makes fresh ones and ``make bench`` otherwise skips the generation
(10M contacts take minutes). Each measurement runs in a fresh process: ``bench.pages``
for the pages (its peak memory is the dashboard's), ``bench.reference`` for the pandas
ratio.
"""

import hashlib
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.measure import run_measured

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"
SCALES = tuple(
    int(scale)
    for scale in os.environ.get("CONTACTLOAD_BENCH_SCALES", "100000,1000000,10000000").split(",")
)
END = date(2026, 11, 27)
"""A fixed last day, so every generated database holds the same contacts."""
REFERENCE_SCALES = frozenset(
    int(scale)
    for scale in os.environ.get("CONTACTLOAD_BENCH_REFERENCE", "100000,1000000,10000000").split(",")
)
GENERATING_CODE = (
    "analytics/demo.py",
    "analytics/storage/schema.py",
    "analytics/storage/store.py",
    "analytics/storage/sessions.py",
)

_GENERATE = (
    "import sys\n"
    "from datetime import date\n"
    "from analytics.storage.database import Database\n"
    "from analytics.demo import generate_demo\n"
    "db = Database(sys.argv[1])\n"
    "generate_demo(db, contacts=int(sys.argv[2]), end=date.fromisoformat(sys.argv[3]))\n"
    "db.close()\n"
)


def code_version() -> str:
    """A short hash of the code that decides what a generated database holds."""
    digest = hashlib.sha256()
    for name in GENERATING_CODE:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()[:12]


def prepared_database(contacts: int) -> tuple[Path, float | None]:
    """A demo database of ``contacts`` contacts, and the seconds generating it took (None
    when it came from the cache)."""
    CACHE.mkdir(parents=True, exist_ok=True)
    path = CACHE / f"demo-{contacts}-{code_version()}.duckdb"
    if path.exists():
        return path, None
    for stale in CACHE.glob(f"demo-{contacts}-*.duckdb*"):
        stale.unlink()
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _GENERATE, str(partial), str(contacts), END.isoformat()],
        check=True,
        cwd=ROOT,
    )
    seconds = time.perf_counter() - started
    partial.rename(path)
    return path, seconds


def _json_of(module: str, db_path: Path) -> dict[str, object]:
    """Run ``python -m module DB`` in a fresh process and read the JSON it prints."""
    result = subprocess.run(
        [sys.executable, "-m", module, str(db_path)],
        check=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    figures: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def bench_scale(contacts: int) -> dict[str, object]:
    """Every figure at one scale."""
    path, generated_s = prepared_database(contacts)
    print(f"  {contacts:,} contacts: rendering every page…", flush=True)
    figures: dict[str, object] = {
        "contacts": contacts,
        "generate_s": None if generated_s is None else round(generated_s, 1),
        "db_mb": round(path.stat().st_size / 1e6),
        "render": _json_of("bench.pages", path),
    }
    if contacts == max(SCALES):
        print(f"  {contacts:,} contacts: partitioned Parquet export…", flush=True)
        with tempfile.TemporaryDirectory() as folder:
            figures["parquet"] = bench_parquet(path, Path(folder))
    if contacts in REFERENCE_SCALES:
        print(f"  {contacts:,} contacts: library against pandas…", flush=True)
        figures["reference"] = _json_of("bench.reference", path)
    figures["load_average"] = round(os.getloadavg()[0], 1)
    return figures


_PARQUET_TOTALS = (
    "import duckdb, json, sys, time\n"
    "connection = duckdb.connect()\n"
    "connection.execute('SET enable_progress_bar = false')\n"
    "started = time.perf_counter()\n"
    "row = connection.execute(\n"
    "    'SELECT count(*), sum(minutes), count(DISTINCT client_key) '\n"
    "    'FROM read_parquet(?, hive_partitioning = true)', [sys.argv[1]]\n"
    ").fetchone()\n"
    "seconds = time.perf_counter() - started\n"
    "one = connection.execute(\n"
    "    'SELECT count(*) FROM read_parquet(?, hive_partitioning = true) '\n"
    "    'WHERE practice_id = 1 AND year = 2026 AND month = 3', [sys.argv[1]]\n"
    ").fetchone()\n"
    "print(json.dumps([*row, seconds, one[0]]))\n"
)
"""The Overview's totals in plain DuckDB over the exported files, and one partition read
alone: what a larger engine would run over the same layout."""


def bench_parquet(db_path: Path, folder: Path) -> dict[str, object]:
    """``contactload export --format parquet --partitioned`` of every contact (whole
    process, peak memory), and the totals read back from the files."""
    out = folder / "contacts-parquet"
    contactload = str(Path(sys.executable).parent / "contactload")
    measured = run_measured(
        [contactload, "export", "--db", str(db_path), "--out", str(out), "--format",
         "parquet", "--partitioned"]
    )  # fmt: skip
    files = list(out.rglob("*.parquet"))
    result = subprocess.run(
        [sys.executable, "-c", _PARQUET_TOTALS, str(out / "**" / "*.parquet")],
        check=True,
        capture_output=True,
        text=True,
    )
    last_line = result.stdout.strip().splitlines()[-1]
    contacts, minutes, clients, seconds, one_partition = json.loads(last_line)
    return {
        "export_s": round(measured.seconds, 1),
        "export_peak_mb": round(measured.peak_mb),
        "files": len(files),
        "parquet_mb": round(sum(file.stat().st_size for file in files) / 1e6),
        "contacts": contacts,
        "minutes": minutes,
        "clients": clients,
        "totals_from_parquet_s": round(seconds, 2),
        "one_partition_contacts": one_partition,
    }


def bench_scales() -> dict[str, object]:
    """Every scale, smallest first, and the growth between them."""
    scales: dict[str, object] = {}
    for contacts in sorted(SCALES):
        figures = bench_scale(contacts)
        print(json.dumps(figures, indent=2), flush=True)
        scales[str(contacts)] = figures
    return {"scales": scales, "growth": growth(scales)}


def slowest(render: dict[str, object], kind: str) -> tuple[str, float]:
    """The slowest page of one render (``cold_s`` or ``warm_s``): its title and seconds."""
    pages: dict[str, dict[str, object]] = render["pages"]  # type: ignore[assignment]
    title, seconds = max(
        ((str(page["title"]), float(page[kind])) for page in pages.values()),  # type: ignore[arg-type]
        key=lambda pair: pair[1],
    )
    return title, seconds


def growth(scales: dict[str, object]) -> list[dict[str, object]]:
    """Time against contact count from each scale to the next: ×contacts against ×time for
    the slowest cold page and the overview analytics (linear or better: time grows no
    faster than the count)."""
    steps: list[dict[str, object]] = []
    counts = sorted(int(count) for count in scales)
    for small, large in itertools.pairwise(counts):
        before: dict[str, object] = scales[str(small)]  # type: ignore[assignment]
        after: dict[str, object] = scales[str(large)]  # type: ignore[assignment]
        _, cold_before = slowest(before["render"], "cold_s")  # type: ignore[arg-type]
        _, cold_after = slowest(after["render"], "cold_s")  # type: ignore[arg-type]
        overview_before = before["render"]["pages"]["overview"]["analytics_s"]  # type: ignore[index]
        overview_after = after["render"]["pages"]["overview"]["analytics_s"]  # type: ignore[index]
        steps.append(
            {
                "from": small,
                "to": large,
                "contacts_x": round(large / small, 1),
                "slowest_cold_page_x": round(cold_after / cold_before, 1),
                "overview_analytics_x": round(overview_after / max(overview_before, 1e-3), 1),
            }
        )
    return steps
