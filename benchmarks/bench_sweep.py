"""Sweep speed: runs per minute on 1 and 2 workers, Dask LocalCluster overhead, peak driver
memory of a 2,000-run sweep, and our sweep vs `mesa.batch_run` on the same runs.

    .venv/bin/python benchmarks/bench_sweep.py            # ~3-5 minutes on 2 cores
    .venv/bin/python benchmarks/bench_sweep.py --quick    # smaller, for a smoke test

Writes benchmarks/results/sweep.md. Every timing is the best of `--repeats` wall-clock
measurements of a fresh sweep into an empty folder, including pool or cluster start-up.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import mesa  # noqa: E402
from mesa import DataCollector  # noqa: E402

from analysis.engine.design import load_sweep_file  # noqa: E402
from analysis.studies.sweep.study import run_sweep  # noqa: E402
from sim.model import BuyerJourneyModel  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

BASELINE = ROOT / "scenarios" / "baseline.toml"
OUT = ROOT / "benchmarks" / "results" / "sweep.md"

SWEEP = """
[sweep]
name = "{name}"
scenario = "{base}"
replications = {reps}
seed = 42
[sweep.set]
{fixed}
[axes]
"vendors.SearchHeavy.weekly_budget" = [20000.0, 40000.0]
"""


def sweep_file(folder: Path, name: str, runs: int, fixed: str = "") -> Path:
    """A two-variant sweep of the baseline with `runs` runs in all."""
    path = folder / f"{name}.toml"
    text = SWEEP.format(name=name, base=BASELINE, reps=runs // 2, fixed=fixed)
    path.write_text(text, encoding="utf-8")
    return path


STARTUP: dict[str, float] = {}


def timed_sweep(path: Path, workers: int, dask: str | None = None, repeats: int = 2) -> float:
    """Best wall-clock seconds of a fresh sweep (start-up included); the start-up time of
    that best run is kept in STARTUP[dask or workers]."""
    best = float("inf")
    sweep = load_sweep_file(path)
    for _ in range(repeats):
        out = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
        try:
            started = time.perf_counter()
            outcome = run_sweep(sweep, out, workers=workers, dask=dask, progress=False)
            seconds = time.perf_counter() - started
            if seconds < best:
                best = seconds
                STARTUP[str(dask or workers)] = outcome.startup_s
            assert outcome.ran == len(sweep.expand()) and outcome.failed == 0
        finally:
            shutil.rmtree(out, ignore_errors=True)
    return best


MEMORY_SCRIPT = """
import resource, sys, time
sys.path.insert(0, {root!r})
from analysis.engine.design import load_sweep_file
from analysis.studies.sweep.study import run_sweep
sweep = load_sweep_file({path!r})
t = time.perf_counter()
o = run_sweep(sweep, {out!r}, workers=2, progress=False)
assert o.ran == len(sweep.expand()), o
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(int(hwm) / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
      time.perf_counter() - t)
"""


def driver_peak_mb(path: Path) -> tuple[float, float]:
    """Peak RSS (MB) of a fresh driver process running the sweep, and its seconds."""
    out = tempfile.mkdtemp(prefix="bench-mem-")
    try:
        code = MEMORY_SCRIPT.format(root=str(ROOT), path=str(path), out=out)
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        hwm, _maxrss, seconds = (float(x) for x in r.stdout.split())
        return hwm, seconds
    finally:
        shutil.rmtree(out, ignore_errors=True)


# ---------------------------------------------------------------- mesa.batch_run adapter
def total_conversions(model: BuyerJourneyModel) -> int:
    """Model reporter (module level, so the model stays picklable)."""
    return int(model.conversions.sum())


class BatchRunModel(BuyerJourneyModel):
    """The baseline model with the constructor `mesa.batch_run` expects: keyword
    parameters in, a `datacollector` that records the end of the run."""

    def __init__(self, search_budget: float = 30000.0, seed: int | None = None) -> None:
        scenario = load_scenario(BASELINE).with_changes(
            {"vendors.SearchHeavy.weekly_budget": search_budget}
        )
        super().__init__(scenario, seed=seed, record_touches=False)
        self.datacollector = DataCollector(model_reporters={"conversions": total_conversions})

    def step(self) -> None:
        super().step()
        if not self.running:
            self.datacollector.collect(self)


def timed_batch_run(runs: int, seeds: list[int], repeats: int) -> float:
    """Best wall-clock seconds of `mesa.batch_run` on the same runs, 2 processes."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        results = mesa.batch_run(
            BatchRunModel,
            parameters={"search_budget": [20000.0, 40000.0]},
            rng=seeds,
            number_processes=2,
            max_steps=200,
            data_collection_period=-1,
            display_progress=False,
        )
        best = min(best, time.perf_counter() - started)
        assert len(results) == runs, len(results)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=80, help="baseline runs per measurement")
    parser.add_argument("--memory-runs", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="20 runs, 200-run memory test")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.memory_runs, args.repeats = 20, 200, 1
    runs = args.runs
    tmp = Path(tempfile.mkdtemp(prefix="bench-files-"))
    lines = []

    def say(text: str) -> None:
        print(text, flush=True)
        lines.append(text)

    load_before = os.getloadavg()[0]
    try:
        base = sweep_file(tmp, "speed", runs)
        t1 = timed_sweep(base, 1, repeats=args.repeats)
        t2 = timed_sweep(base, 2, repeats=args.repeats)
        td = timed_sweep(base, 2, dask="local", repeats=args.repeats)
        seeds = load_sweep_file(base).seeds()
        tb = timed_batch_run(runs, seeds, args.repeats)
        tiny = 'weeks = 10\n"buyers.count" = 200\n"network.k" = 6'
        small_mem = max(200, args.memory_runs // 10)
        mem_small, _ = driver_peak_mb(sweep_file(tmp, "mem_small", small_mem, tiny))
        mem_big, mem_s = driver_peak_mb(sweep_file(tmp, "mem_big", args.memory_runs, tiny))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    load_after = os.getloadavg()[0]
    per_min = lambda t: runs / t * 60  # noqa: E731
    say("# Sweep benchmark")
    say("")
    say(
        f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}, mesa {mesa.__version__}. "
        f"Date: {time.strftime('%Y-%m-%d')}. Best of {args.repeats}; wall clock of a fresh "
        "sweep into an empty folder, pool / cluster start-up included. The machine is shared, "
        "so figures move by ~10-20% between sessions; a 2-worker speed-up needs two idle "
        f"cores (1-minute load average when this started: {load_before:.1f}, at the end: "
        f"{load_after:.1f})."
    )
    say("")
    say(
        f"Workload: the baseline (5,000 buyers x 104 weeks), {runs} runs "
        "(2 variants x replications), all tables written as Parquet."
    )
    say("")
    say("| measurement | seconds | runs/min | ratio | goal |")
    say("|---|---:|---:|---:|---|")
    say(f"| 1 worker (in-process) | {t1:.1f} | {per_min(t1):,.0f} | 1.00 | |")
    say(
        f"| 2 workers (process pool) | {t2:.1f} | {per_min(t2):,.0f} | "
        f"{t1 / t2:.2f}x of 1 worker | >= 1.8x |"
    )
    say(
        f"| Dask LocalCluster, 2 workers | {td:.1f} | {per_min(td):,.0f} | "
        f"{(td / t2 - 1) * 100:+.0f}% time vs pool | <= +10% |"
    )
    sd, sp = STARTUP["local"], STARTUP["2"]
    say(
        f"| Dask LocalCluster, without cluster start ({sd:.1f} s) | {td - sd:.1f} | "
        f"{runs / (td - sd) * 60:,.0f} | {((td - sd) / (t2 - sp) - 1) * 100:+.0f}% time vs pool "
        f"(pool start {sp:.2f} s) | |"
    )
    say(
        f"| mesa.batch_run, 2 processes | {tb:.1f} | {per_min(tb):,.0f} | "
        f"ours is {tb / t2:.2f}x as fast | |"
    )
    say("")
    say(
        f"Peak driver memory (VmHWM of the driver process; workers are separate processes), "
        f"tiny runs (200 buyers x 10 weeks), 2 workers: {small_mem:,} runs: "
        f"{mem_small:.0f} MB; {args.memory_runs:,} runs: {mem_big:.0f} MB "
        f"({mem_s:.0f} s). Goal: flat, under 300 MB."
    )
    say("")
    say(
        "mesa.batch_run runs the same model (a thin Model subclass taking keyword "
        "parameters, one end-of-run reporter) with the same seeds and keeps results in "
        "memory; our sweep also writes every table to Parquet."
    )
    if not args.quick:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"\nwrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
