"""`run.py summary` (and bare `run.py`): a scenario's vendor scorecard over replications,
with 95% intervals, instead of one run that may be mostly noise.

The replications go through the experiment engine (SeedSequence seeds, worker processes
or Dask) into a temporary folder; the scorecard is read back from the stored rows. Because
every vendor of replication r lives in the same run, the gap between the two leading
vendors is a paired difference, and its spread says how many replications would
separate them.

Only light modules are imported at module level: run.py builds this parser for --help.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from analysis.errors import stopped_message

if TYPE_CHECKING:
    import pandas as pd

    from analysis.engine.experiment import Experiment
    from sim.scenario import Scenario

#: replications of `run.py summary` (and bare `run.py`) unless --reps says otherwise
DEFAULT_REPS = 10
#: the scorecard's metrics: column of the vendors table -> (header, format)
SCORECARD = {
    "conversions": ("conversions", "count"),
    "win_share": ("win share", "pct"),
    "revenue": ("revenue", "money"),
    "marketing_spend": ("mkt spend", "money"),
    "roi": ("ROI", "ratio"),
    "cost_per_acquisition": ("cost/acq.", "money"),
    "originated_share": ("mkt-originated", "pct"),
}


def replicate_experiment(scenario: Scenario, reps: int) -> Experiment:
    """The scenario alone, `reps` times, seeded from its seed like a sweep's replications."""
    from analysis.engine.design import Variant, expand_runs, replication_seeds, scenario_hash
    from analysis.engine.experiment import Experiment
    from analysis.engine.outcomes import sweep_plan

    variant = Variant(0, scenario.name, {}, {})
    seeds = replication_seeds(scenario.seed, reps)
    return Experiment(
        name=f"{scenario.name} x {reps}",
        scenario=scenario,
        runs=tuple(expand_runs(scenario_hash(scenario), [variant], seeds)),
        plan=sweep_plan(),
    )


@dataclass
class Replicated:
    """What the replications produced: the vendors rows and the runs rows (ok runs)."""

    scenario: Scenario
    vendors: pd.DataFrame
    runs: pd.DataFrame
    elapsed_s: float


def run_replicated(
    scenario: Scenario,
    reps: int,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = True,
) -> Replicated:
    """Run the replications in a temporary folder and read their rows back."""
    from analysis.engine.context import run_experiment
    from analysis.engine.parts import load_table

    exp = replicate_experiment(scenario, reps)
    with tempfile.TemporaryDirectory(prefix="summary-") as tmp:
        outcome = run_experiment(exp, tmp, workers, dask, progress=progress)
        stopped = stopped_message(outcome)
        if stopped is not None:
            raise KeyboardInterrupt if outcome.interrupted else RuntimeError(stopped[0])
        runs = load_table(tmp, "runs")
        vendors = load_table(tmp, "vendors")
    ok = set(runs.loc[runs["status"] == "ok", "run_id"])
    return Replicated(
        scenario=scenario,
        vendors=vendors[vendors["run_id"].isin(ok)].reset_index(drop=True),
        runs=runs[runs["run_id"].isin(ok)].reset_index(drop=True),
        elapsed_s=outcome.elapsed_s + outcome.startup_s,
    )


def scorecard(vendors: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per vendor and metric: n, mean and the t-interval half-width, vendors in the
    scenario's order."""
    from analysis.stats.compare import summarize

    return summarize(vendors, by=["vendor"], metrics=list(SCORECARD), level=level)


@dataclass(frozen=True)
class Separation:
    """The two leading vendors by mean conversions and their paired difference."""

    leader: str
    runner_up: str
    n: int
    diff: float
    half_width: float
    needed: int | None  # paired replications for a 95% interval that excludes 0

    @property
    def separated(self) -> bool:
        """Whether the 95% interval of the difference already excludes zero."""
        return self.n >= 2 and abs(self.diff) > self.half_width


def separation(vendors: pd.DataFrame, level: float = 0.95) -> Separation | None:
    """The paired gap between the two vendors with the most conversions on average.

    Differences are taken within a replication (both vendors competed in the same run).
    `needed` solves n = (t(n-1) * sd / |mean|)^2 for the smallest n >= 2: how many
    replications would give a 95% interval that excludes zero if the mean and spread
    stayed as measured (None when the mean gap is 0)."""
    import numpy as np

    from analysis.stats.compare import t_half_width

    wide = vendors.pivot(index="replication", columns="vendor", values="conversions")
    if wide.shape[1] < 2:
        return None
    top = wide.mean().sort_values(ascending=False, kind="stable").index[:2]
    d = (wide[top[0]] - wide[top[1]]).to_numpy(dtype=float)
    n, mean = d.size, float(d.mean())
    sd = float(d.std(ddof=1)) if n >= 2 else float("nan")
    half = float(t_half_width(np.array([sd]), np.array([n]), level)[0])
    needed = None
    if mean != 0 and n >= 2:
        if sd == 0:
            needed = 2
        else:
            needed = next(
                (
                    m
                    for m in range(2, 100_000)
                    if t_half_width(np.array([sd]), np.array([m]), level)[0] < abs(mean)
                ),
                None,
            )
    return Separation(str(top[0]), str(top[1]), n, mean, half, needed)


def _fmt(x: float, kind: str) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if kind == "pct":
        return f"{100 * x:.1f}%"
    if kind == "ratio":
        return f"{x:,.2f}"
    if kind == "count":
        return f"{x:,.0f}"
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if abs(x) >= div:
            return f"{x / div:,.1f}{unit}"
    return f"{x:,.0f}"


def format_scorecard(card: pd.DataFrame, order: list[str]) -> str:
    """The vendor table with `mean ± half-width` cells (95% t-interval)."""
    from analysis.render.terminal import format_table

    cell = {(r.vendor, r.metric): r for r in card.itertuples()}
    rows = []
    for vendor in order:
        row = [vendor]
        for metric, (_header, kind) in SCORECARD.items():
            r = cell[(vendor, metric)]
            hw = "" if math.isnan(r.half_width) else f" ± {_fmt(r.half_width, kind)}"
            row.append(_fmt(r.mean, kind) + hw)
        rows.append(row)
    return format_table(["vendor", *(h for h, _ in SCORECARD.values())], rows)


def separation_line(sep: Separation | None) -> str:
    """One sentence on whether the replications separate the two leading vendors."""
    if sep is None:
        return "one vendor: nothing to separate"
    gap = f"{sep.leader} leads {sep.runner_up} by {sep.diff:,.1f} conversions"
    ci = f"(95% CI ± {sep.half_width:,.1f}, {sep.n} paired replications)"
    if sep.separated:
        return f"{gap} {ci}: separated."
    if sep.needed is None:
        return f"{gap} {ci}: no difference to separate."
    return f"{gap} {ci}: not separated; about {sep.needed} replications would separate them."


def format_replicated(rep: Replicated) -> str:
    """The whole summary: header, scorecard with intervals, separation, mean funnel."""
    from analysis.engine.outcomes import FUNNEL_COLUMNS
    from analysis.render.terminal import funnel_summary, horizon

    sc, n = rep.scenario, rep.runs.shape[0]
    weeks = horizon(sc.weeks, sc.market.spin_up_weeks)
    head = (
        f"{sc.name}: {sc.buyers.count:,} buyers, {len(sc.vendors)} vendors, {weeks}, "
        f"{n} replications (seeds from {sc.seed})  ({rep.elapsed_s:.1f} s)"
    )
    lines = [head]
    if sc.description:
        lines.append(sc.description)
    card = scorecard(rep.vendors)
    lines += ["", "means ± 95% interval over the replications:", ""]
    lines.append(format_scorecard(card, list(sc.vendor_names())))
    lines += ["", separation_line(separation(rep.vendors)), ""]
    funnel = {c: int(round(rep.runs[c].astype(float).mean())) for c in FUNNEL_COLUMNS}
    lines.append(funnel_summary(funnel).replace("journeys", "mean/run", 1))
    return "\n".join(lines)


# ------------------------------------------------------------------------ command line
