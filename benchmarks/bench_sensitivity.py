"""Sensitivity speed: a 1,000-run Sobol' study on the 5,000-buyer baseline on 2 workers.

    .venv/bin/python benchmarks/bench_sensitivity.py            # ~2-4 minutes on 2 cores
    .venv/bin/python benchmarks/bench_sensitivity.py --quick    # 64 runs, a smoke test

Six parameters, N = 128 base samples: 128 x (6 + 2) = 1,024 runs of the baseline (5,000
buyers x 104 weeks), one replication each, through the experiment engine (process pool,
chunked Parquet) and SALib's Sobol' analysis of three outcomes with 500 bootstrap
resamples. Wall clock of a fresh study into an empty folder, pool start-up included; then
the same command again (resume: nothing runs, only the analysis). Goal: under 10 minutes.
Writes benchmarks/results/sensitivity.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.studies.sensitivity.report import write_outputs  # noqa: E402
from analysis.studies.sensitivity.run import run_study  # noqa: E402
from analysis.studies.sensitivity.spec import load_study  # noqa: E402

OUT = ROOT / "benchmarks" / "results" / "sensitivity.md"
STUDY = """
[sensitivity]
name = "bench"
scenario = "{base}"
method = "sobol"
samples = {samples}
seed = 4000
resamples = 500
outcomes = ["conversions.CommunityFirst", "roi.AnalystLed", "no_decision_share"]
{extra}
[parameters]
"choice.status_quo" = [1.2, 2.2]
"choice.referral_weight" = [0.5, 1.5]
"choice.review_weight" = [0.0, 1.0]
"choice.price_weight" = [1.0, 3.0]
"vendors.CommunityFirst.weekly_budget" = [13000.0, 39000.0]
"vendors.AnalystLed.weekly_budget" = [15000.0, 45000.0]
"""


def _cpu() -> float:
    """User + system CPU seconds of this process and its finished children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="8 base samples of a small market")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    samples = 8 if args.quick else 128
    extra = '[sensitivity.set]\n"buyers.count" = 1000\n' if args.quick else ""
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "bench.toml"
        f.write_text(
            STUDY.format(base=ROOT / "scenarios" / "baseline.toml", samples=samples, extra=extra)
        )
        study = load_study(f)
        out = Path(tmp) / "out"
        cpu0 = _cpu()
        t0 = time.perf_counter()
        res = run_study(study, out, workers=args.workers, progress=True)
        write_outputs(res, out)
        fresh = time.perf_counter() - t0
        cpu = _cpu() - cpu0
        t0 = time.perf_counter()
        again = run_study(study, out, workers=args.workers, progress=False)
        resumed = time.perf_counter() - t0
    runs = res.ran
    rate = runs / fresh * 60
    lines = [
        "# Sensitivity benchmark",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python "
        f"{platform.python_version()}. Date: {time.strftime('%Y-%m-%d')}. 1-minute load "
        f"average when this started: {load:.1f}, at the end: {os.getloadavg()[0]:.1f} (the "
        "machine is shared; figures move by ~10-20% between sessions).",
        "",
        f"Workload: a Sobol' study of 6 parameters, N = {samples} base samples: "
        f"{study.points():,} points x 1 replication = {runs:,} runs of the baseline "
        f"({study.scenario.buyers.count:,} buyers x {study.scenario.weeks} weeks) on "
        f"{args.workers} worker processes, then SALib's Sobol' analysis of 3 outcomes with "
        "500 bootstrap resamples and the HTML page.",
        "",
        "| measurement | seconds | runs/min | goal |",
        "|---|---:|---:|---|",
        f"| fresh study, {runs:,} runs, pool start and analysis included | {fresh:.1f} | "
        f"{rate:,.0f} | < 600 s ({'met' if fresh < 600 else 'NOT met'}) |",
        f"| CPU time of driver and workers / {args.workers} (the wall clock on "
        f"{args.workers} idle cores) | {cpu / args.workers:.1f} | "
        f"{runs / (cpu / args.workers) * 60:,.0f} | < 600 s "
        f"({'met' if cpu / args.workers < 600 else 'NOT met'}) |",
        f"| the same study again (resume: {again.ran} runs run, analysis only) | "
        f"{resumed:.1f} | | |",
        "",
        "The CPU-time line divides the processor time the study used (driver plus worker "
        "processes, from getrusage) by the worker count: what the wall clock would be on "
        "that many otherwise idle cores; on a shared machine the wall clock is longer.",
        "",
    ]
    if not args.quick:
        OUT.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
