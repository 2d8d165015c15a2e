"""Optimiser overhead per evaluation against the time of one run.

    .venv/bin/python benchmarks/bench_optimize.py [--trials 32]

(1) Optuna's part alone: the same search with an evaluation that costs nothing
(FunctionEvaluator), so the wall time is ask + tell + the trial log (DIR/trials.jsonl) + candidate
bookkeeping; per evaluation (one trial). (2) One model run of the 5k-buyer baseline
(the unit the goal is stated in). Goal: (1) < 5% of (2).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    import sys

    sys.path.insert(0, str(ROOT))
    from analysis.studies.optimize.evaluators import FunctionEvaluator
    from analysis.studies.optimize.search import search
    from analysis.studies.optimize.spec import load_spec
    from sim.model import BuyerJourneyModel
    from sim.scenario import load_scenario

    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=32)
    args = ap.parse_args()
    spec = load_spec(ROOT / "scenarios" / "optimize_challenger_mix.toml", args.trials)
    with tempfile.TemporaryDirectory() as tmp:
        ev = FunctionEvaluator(spec, lambda mix, budget, seed: sum(mix.values()))
        t0 = time.perf_counter()
        trials, asked, overhead = search(spec, ev, Path(tmp))
        wall = time.perf_counter() - t0
    per_eval = wall / len(trials)
    base = load_scenario(ROOT / "scenarios" / "baseline.toml")
    runs = []
    for seed in range(3):
        t0 = time.perf_counter()
        BuyerJourneyModel(base, seed=seed).run()
        runs.append(time.perf_counter() - t0)
    run_s = min(runs)
    print(f"trials: {len(trials)} (batch {spec.batch}, {len(spec.channels)} channels)")
    print(f"optimiser overhead per evaluation (ask+tell+trial log): {1e3 * per_eval:.1f} ms")
    print(f"one 5k-buyer baseline run (best of 3): {1e3 * run_s:.0f} ms")
    ratio = per_eval / run_s
    print(
        f"overhead per evaluation / one run: {100 * ratio:.1f}% (goal < 5%: {'met' if ratio < 0.05 else 'NOT met'})"
    )
    print(
        f"an evaluation is {spec.replications} runs: overhead per evaluation / its runs: "
        f"{100 * per_eval / (spec.replications * run_s):.2f}%"
    )


if __name__ == "__main__":
    main()
