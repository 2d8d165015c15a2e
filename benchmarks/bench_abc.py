"""Calibration throughput: runs per minute of `run.py calibrate --method abc` at the
baseline's size, against the plain sweep's runs per minute on the same machine.

    .venv/bin/python benchmarks/bench_abc.py               # ~8 minutes on 2 cores
    .venv/bin/python benchmarks/bench_abc.py --population 20 --acceptance 0.05

Both commands run in a fresh interpreter with the same workers (one per core), into
fresh folders, on the shipped baseline (5,000 buyers, 104 weeks after a 52-week spin-up):

- abc: `run.py calibrate scenarios/baseline.toml --targets scenarios/targets.toml
  --method abc --population P --acceptance A --ppc 0` (rejection ABC: P / A prior
  draws); its runs are counted in its folder (table=runs);
- sweep: `run.py sweep` of a one-variant grid over the baseline with as many
  replications as the ABC ran, i.e. the same number of runs of the same size.

The two commands' runs differ in cost (ABC's are prior draws: a low need rate makes a
short run), so beside runs per minute the figure that compares them is the pool's
**utilisation**: the runs' own compute (the sum of each run's elapsed time, from the runs
table) over workers x wall time. Goal: the ABC's utilisation within 10% of the sweep's
(the ABC's own overhead: starting a thread per particle, pyabc's bookkeeping, reading the
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


def runs_in(folder: Path) -> tuple[int, float]:
    """The runs a folder holds and the sum of their own elapsed seconds."""
    import pandas as pd

    parts = sorted(folder.rglob("table=runs/part-*.parquet"))  # a sweep writes DIR/NAME/
    runs = pd.concat([pd.read_parquet(f, columns=["run_id", "elapsed_s"]) for f in parts])
    return len(runs), float(runs["elapsed_s"].sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--population", type=int, default=30)
    parser.add_argument("--acceptance", type=float, default=0.05)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        abc_s = timed(["calibrate", "scenarios/baseline.toml", "--targets", "scenarios/targets.toml",
                       "--method", "abc", "--population", str(args.population), "--acceptance",
                       str(args.acceptance), "--ppc", "0", "--out", str(tmp / "abc"), "--quiet"])  # fmt: skip
        n, abc_compute = runs_in(tmp / "abc")
        sweep = tmp / "sweep.toml"
        sweep.write_text(
            f'[sweep]\nname = "throughput"\nscenario = "{ROOT / "scenarios" / "baseline.toml"}"\n'
            f"replications = {n}\n"
            '[axes]\n"choice.status_quo" = [1.51866]\n'
        )
        sweep_s = timed(["sweep", str(sweep), "--out", str(tmp / "sweep"), "--quiet"])
        m, sweep_compute = runs_in(tmp / "sweep")
    workers = os.cpu_count() or 1
    abc_rate, sweep_rate = 60 * n / abc_s, 60 * m / sweep_s
    abc_use, sweep_use = abc_compute / (workers * abc_s), sweep_compute / (workers * sweep_s)
    ratio = abc_use / sweep_use
    lines = [
        "# Calibration throughput: ABC vs a plain sweep",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {time.strftime('%Y-%m-%d')}.",
        "",
        "| command | runs | wall s | runs per minute | runs' own compute s | utilisation |",
        "|---|---|---|---|---|---|",
        f"| calibrate --method abc (rejection, population {args.population}, acceptance "
        f"{args.acceptance:g}) | {n} | {abc_s:.1f} | {abc_rate:.1f} | {abc_compute:.0f} | "
        f"{abc_use:.0%} |",
        f"| sweep (one variant, {m} replications) | {m} | {sweep_s:.1f} | {sweep_rate:.1f} | "
        f"{sweep_compute:.0f} | {sweep_use:.0%} |",
        "",
        f"Utilisation, ABC / sweep: {ratio:.2f} (goal: at least 0.90). Utilisation = the runs'"
        f" own compute / ({workers} workers x wall time), start-up included.",
        "",
    ]
    OUT.write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
