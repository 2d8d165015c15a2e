"""Time the batch report on 2,000-run sweeps (target: under 30 s each).

    .venv/bin/python benchmarks/bench_report.py [--out results/bench_report] [--workers 2]

Runs two sweeps once (kept in --out, so a rerun only times the report):
- sampled: 500 Latin-hypercube points x 4 replications = 2,000 runs, weekly tables;
- grid: 20 budget levels x 100 replications = 2,000 runs, weekly tables.
Small markets (300 buyers, 52 weeks) keep the sweeps quick; the report's cost depends on
the number of runs and weeks, not on the market size. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASE = ROOT / "scenarios" / "baseline.toml"

SWEEPS = {
    "sampled": f"""
[sweep]
name = "bench_sampled"
scenario = "{BASE}"
replications = 4
seed = 11
sampler = "lhs"
samples = 500
weekly = true

[sweep.set]
"buyers.count" = 300
weeks = 52

[axes]
status_quo = {{ path = "choice.status_quo", low = 2.5, high = 4.5 }}
referral_weight = {{ path = "choice.referral_weight", low = 0.0, high = 2.0 }}
review_weight = {{ path = "choice.review_weight", low = 0.0, high = 1.0 }}
price_weight = {{ path = "choice.price_weight", low = 0.5, high = 4.0, log = true }}
consultations = {{ path = "buyers.consultations_per_week", low = 1, high = 4 }}
""",
    "grid": f"""
[sweep]
name = "bench_grid"
scenario = "{BASE}"
replications = 100
seed = 12
weekly = true

[sweep.set]
"buyers.count" = 300
weeks = 52

[axes]
"vendors.SearchHeavy.weekly_budget" = [{", ".join(str(1000.0 * (i + 1) * 3) for i in range(20))}]
""",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench_report")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from analysis.reports.sweep.build import build_report

    rows = []
    for kind, text in SWEEPS.items():
        folder = args.out / kind
        folder.mkdir(parents=True, exist_ok=True)
        spec = folder / "sweep.toml"
        spec.write_text(text)
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "run.py"),
                "sweep",
                str(spec),
                "--out",
                str(folder),
                "--workers",
                str(args.workers),
                "--quiet",
            ],
            check=True,
        )
        sweep_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        rep = build_report(folder, folder / "report.html")
        report_s = time.perf_counter() - t0
        size = rep.html_path.stat().st_size / 1e3
        t0 = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "run.py"),
                "report",
                str(folder),
                "--out",
                str(folder / "report_cli.html"),
                "--quiet",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        cli_s = time.perf_counter() - t0
        rows.append((kind, report_s, cli_s, size))
        print(
            f"{kind}: build_report {report_s:.1f} s, `run.py report` {cli_s:.1f} s, "
            f"{size:,.0f} kB (sweep step {sweep_s:.1f} s)"
        )
    print("\n| sweep | runs | build_report (s) | `run.py report` wall (s) | HTML size (kB) |")
    print("|---|---:|---:|---:|---:|")
    for kind, s, c, kb in rows:
        print(f"| {kind} | 2,000 | {s:.1f} | {c:.1f} | {kb:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
