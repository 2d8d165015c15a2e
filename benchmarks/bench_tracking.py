"""What a data-loop vendor (docs/model.md §5a) adds to a run's time. Not a test: run it
and read the figures.

    .venv/bin/python benchmarks/bench_tracking.py [--buyers 20000 100000] [--weeks 104]

For each market size and setting (all vendors static; one vendor on the DATA loop with
forward, point-of-sale or perfect tracking; all four vendors on the loop) it runs
`model.run()` (record_touches=False, as sweeps do) `repeats` times with different seeds
and prints the median wall time, the time inside the two tracking processes and the
overhead against the static run. The tracking processes are timed around their `run`,
so that figure is not blurred by other load on the machine.
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
    ap.add_argument("--buyers", type=int, nargs="+", default=[20_000, 100_000])
    ap.add_argument("--weeks", type=int, default=104)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    base = load_scenario(BASELINE)
    print("| buyers | setting | run (s, median) | tracking processes (s) | overhead |")
    print("|---|---|---|---|---|")
    for n in args.buyers:
        sc = base.with_changes({"buyers.count": n, "weeks": args.weeks})
        static = None
        for name, changes in settings(list(sc.vendor_names())).items():
            s = sc.with_changes(changes) if changes else sc
            runs = [timed(s, seed) for seed in range(1, args.repeats + 1)]
            wall = statistics.median(r[0] for r in runs)
            inside = statistics.median(r[1] for r in runs)
            static = wall if static is None else static
            over = "" if name == "static" else f"{(wall / static - 1) * 100:+.1f}%"
            print(f"| {n:,} | {name} | {wall:.2f} | {inside:.2f} | {over} |", flush=True)


if __name__ == "__main__":
    main()
