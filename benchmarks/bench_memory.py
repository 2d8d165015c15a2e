"""What memory (docs/model.md §11a) costs at 100,000 buyers x 104 weeks. Not a test: run it
and read the figures.

    .venv/bin/python benchmarks/bench_memory.py [--buyers 100000] [--repeats 3]

For each setting (memory off; one half-life; per-channel half-lives; brand building; all
of it) it runs `model.run()` in a fresh process, `repeats` times with different seeds,
and prints the median wall time and the time spent inside the four memory processes
(timed around each process's `run`, so it is not blurred by other load on the machine).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BASELINE = ROOT / "scenarios" / "baseline.toml"
PER_CHANNEL = {
    "search": 2.0,
    "microblogs": 1.0,
    "third_party_experts": 26.0,
    "vendor_content": None,
}
SETTINGS: dict[str, tuple[dict, dict | None]] = {
    "off": ({}, None),
    "half-life 8": ({"memory.half_life_weeks": 8.0}, None),
    "half-life 8, per channel": ({"memory.half_life_weeks": 8.0}, PER_CHANNEL),
    "idle reach 0.1": ({"memory.idle_reach": 0.1}, None),
    "all (8, per channel, 0.1)": (
        {"memory.half_life_weeks": 8.0, "memory.idle_reach": 0.1},
        PER_CHANNEL,
    ),
}


def child(n: int, seed: int, setting: str) -> None:
    """In a fresh process: one run; print wall time and time inside memory processes."""
    from sim.model import BuyerJourneyModel
    from sim.processes import default_processes
    from sim.processes.memory import MemoryState  # noqa: F401  (import cost outside timing)
    from sim.scenario import load_scenario

    changes, half_lives = SETTINGS[setting]
    sc = load_scenario(BASELINE).with_changes({"buyers.count": n, **changes})
    model = BuyerJourneyModel(
        sc, seed=seed, record_touches=False, processes=default_processes(half_lives)
    )
    spent = {"memory": 0.0}
    for p in model.processes:
        if p.name.startswith("memory"):
            inner = p.run

            def timed(m, w, inner=inner):
                t = time.perf_counter()
                inner(m, w)
                spent["memory"] += time.perf_counter() - t

            p.run = timed
    t0 = time.perf_counter()
    model.run()
    run_s = time.perf_counter() - t0
    in_market = int(model.buyers.in_market().size)
    print(json.dumps({"run_s": run_s, "memory_s": spent["memory"], "in_market_end": in_market}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--buyers", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--child", nargs=2, metavar=("SEED", "SETTING"))
    args = ap.parse_args()
    if args.child:
        child(args.buyers, int(args.child[0]), args.child[1])
        return
    rows = {s: [] for s in SETTINGS}
    for r in range(args.repeats):  # interleaved, so slow spells of the machine hit all
        for setting in SETTINGS:
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--buyers",
                    str(args.buyers),
                    "--child",
                    str(r + 1),
                    setting,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            rows[setting].append(json.loads(out.stdout.strip().splitlines()[-1]))
    off = statistics.median(x["run_s"] for x in rows["off"])
    print(f"{args.buyers:,} buyers x 104 weeks, median of {args.repeats} runs (fresh processes)")
    print(f"{'setting':<28} {'run s':>7} {'vs off':>8} {'in memory s':>12} {'share':>7}")
    for setting, xs in rows.items():
        run = statistics.median(x["run_s"] for x in xs)
        mem = statistics.median(x["memory_s"] for x in xs)
        print(
            f"{setting:<28} {run:7.2f} {100 * (run / off - 1):+7.1f}% {mem:12.3f} "
            f"{100 * mem / run:6.1f}%"
        )


if __name__ == "__main__":
    main()
