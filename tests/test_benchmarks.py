"""Every benchmark answers --help: it says what it measures and runs nothing (before,
`bench_core.py --help` ran the whole benchmark and rewrote its results file)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = sorted((ROOT / "benchmarks").glob("bench_*.py"))


def results_state() -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in (ROOT / "benchmarks" / "results").iterdir()}


def test_there_are_benchmarks_to_check() -> None:
    assert len(BENCHMARKS) >= 5


@pytest.mark.parametrize("bench", BENCHMARKS, ids=lambda p: p.name)
def test_a_benchmark_answers_help_and_runs_nothing(bench: Path) -> None:
    before = results_state()
    proc = subprocess.run(
        [sys.executable, str(bench), "--help"],
        capture_output=True,
        text=True,
        timeout=120,  # a guard against a benchmark that starts running
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage:"), proc.stdout[:300]
    assert results_state() == before
