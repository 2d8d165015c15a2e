"""Calibration throughput: runs per minute of `run.py calibrate --method abc` at the
baseline's size, against the plain sweep's runs per minute on the same machine.

    .venv/bin/python benchmarks/bench_abc.py               # ~6 minutes on 2 cores
    .venv/bin/python benchmarks/bench_abc.py --population 60 --generations 3

Both commands run in a fresh interpreter with the same workers (one per core), into
fresh folders, on the shipped baseline (5,000 buyers, 104 weeks after a 52-week spin-up):

- abc: `run.py calibrate scenarios/baseline.toml --targets scenarios/targets.toml
  --method abc --population P --generations G --ppc 0`; its runs are counted in its
  folder (table=runs);
- sweep: `run.py sweep` of a one-variant grid over the baseline with as many
  replications as the ABC ran, i.e. the same number of runs of the same size.

Goal: the ABC's runs per minute within 10% of the sweep's (the ABC's own overhead: pyabc's
bookkeeping between batches, batches that end with fewer runs than workers, reading each
batch's moments back). Writes benchmarks/results/abc.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "abc.md"


def timed(args: list[str]) -> float:
    """Wall seconds of `python run.py ARGS` in a fresh interpreter (it must succeed)."""
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, str(ROOT / "run.py"), *args], cwd=ROOT,
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"run.py {' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - started


def runs_in(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.read_metadata(f).num_rows for f in (folder / "table=runs").glob("part-*.parquet"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=100)
    parser.add_argument("--generations", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        abc_s = timed(["calibrate", "scenarios/baseline.toml", "--targets", "scenarios/targets.toml",
                       "--method", "abc", "--population", str(args.population), "--generations",
                       str(args.generations), "--ppc", "0", "--out", str(tmp / "abc"), "--quiet"])  # fmt: skip
        n = runs_in(tmp / "abc")
        sweep = tmp / "sweep.toml"
        sweep.write_text(
            f'[sweep]\nname = "throughput"\nscenario = "{ROOT / "scenarios" / "baseline.toml"}"\n'
            f"replications = {n}\n"
            '[axes]\n"choice.status_quo" = [1.51866]\n'
        )
        sweep_s = timed(["sweep", str(sweep), "--out", str(tmp / "sweep"), "--quiet"])
        m = runs_in(tmp / "sweep")
    abc_rate, sweep_rate = 60 * n / abc_s, 60 * m / sweep_s
    ratio = abc_rate / sweep_rate
    lines = [
        "# Calibration throughput: ABC vs a plain sweep",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {time.strftime('%Y-%m-%d')}.",
        "",
        "| command | runs | wall s | runs per minute |",
        "|---|---|---|---|",
        f"| calibrate --method abc (population {args.population}, {args.generations} generations) "
        f"| {n} | {abc_s:.1f} | {abc_rate:.1f} |",
        f"| sweep (one variant, {m} replications) | {m} | {sweep_s:.1f} | {sweep_rate:.1f} |",
        "",
        f"ABC / sweep: {ratio:.2f} (goal: at least 0.90).",
        "",
    ]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
