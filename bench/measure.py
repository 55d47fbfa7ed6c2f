"""Whole-process timing with the process's own peak memory."""

import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
