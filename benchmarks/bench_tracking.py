"""What a data-loop vendor (docs/model.md §5a) adds to a run's time. Not a test: run it
and read the figures.

    .venv/bin/python benchmarks/bench_tracking.py [--buyers 5000 20000 100000] [--repeats 5] [--weeks 104]

For each market size and setting (all vendors static; one vendor on the DATA loop with
forward, point-of-sale or perfect tracking; all four vendors on the loop) it runs
`model.run()` (record_touches=False, as sweeps do) with `repeats` seeds, each setting
right after the static run of the same seed, and prints the median wall time, the time
inside the tracking process and the overhead: the median over seeds of (run / static run
of that seed) - 1. The tracking process is timed around its `run`, so that figure is not
blurred by other load on the machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.model import BuyerJourneyModel  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402

BASELINE = ROOT / "scenarios" / "baseline.toml"
TAGS = ["search", "vendor_content", "industry_media", "sales_reps"]


def settings(names: list[str]) -> dict[str, dict]:
    def loop(vendor: str, method: str) -> dict:
        return {
            f"vendors.{vendor}.policy": "data_loop",
            f"vendors.{vendor}.data_loop": {
                "tracking": {"method": method, "attribution": "linear", "taggable": TAGS}
            },
        }

    out: dict[str, dict] = {"static": {}}
    for method in ("forward", "point_of_sale", "perfect"):
        out[f"one vendor, {method}"] = loop(names[1], method)
    out["all vendors, forward"] = {k: v for n in names for k, v in loop(n, "forward").items()}
    return out


def timed(scenario, seed: int) -> tuple[float, float]:
    model = BuyerJourneyModel(scenario, seed=seed, record_touches=False)
    inside = [0.0]
    for p in model.processes:
        if p.name.startswith("tracking"):
            run = p.run

            def clocked(m, w, run=run):
                t = time.perf_counter()
                run(m, w)
                inside[0] += time.perf_counter() - t

            p.run = clocked
    t = time.perf_counter()
    model.run()
    return time.perf_counter() - t, inside[0]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--buyers", type=int, nargs="+", default=[5_000, 20_000, 100_000])
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    base = load_scenario(BASELINE)
    print("| buyers | setting | run (s, median) | tracking processes (s) | overhead (median) |")
    print("|---|---|---|---|---|")
    for n in args.buyers:
        sc = base.with_changes({"buyers.count": n, "weeks": args.weeks})
        cases = settings(list(sc.vendor_names()))
        scenarios = {k: sc.with_changes(v) if v else sc for k, v in cases.items()}
        # seed by seed, every setting right after its static run: the overhead is the
        # median of paired ratios, so drifts in the machine's speed cancel
        walls: dict[str, list[float]] = {k: [] for k in cases}
        inside: dict[str, list[float]] = {k: [] for k in cases}
        for seed in range(1, args.repeats + 1):
            for name, s in scenarios.items():
                w, i = timed(s, seed)
                walls[name].append(w)
                inside[name].append(i)
        for name in cases:
            ratios = [w / s for w, s in zip(walls[name], walls["static"], strict=True)]
            over = "" if name == "static" else f"{(statistics.median(ratios) - 1) * 100:+.1f}%"
            wall, ins = statistics.median(walls[name]), statistics.median(inside[name])
            print(f"| {n:,} | {name} | {wall:.2f} | {ins:.3f} | {over} |", flush=True)


if __name__ == "__main__":
    main()
