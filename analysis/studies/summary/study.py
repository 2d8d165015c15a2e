"""`run.py summary` (and bare `run.py`): a scenario's vendor scorecard over replications,
with 95% intervals, instead of one run that may be mostly noise.

The replications go through the experiment engine (SeedSequence seeds, worker processes
or Dask) into a temporary folder; the scorecard is read back from the stored rows. Because
every vendor of replication r lives in the same run, the gap between the two leading
vendors is a paired difference. The verdict is not a yes/no "separated": it is the
probability that the leader leads (the share of replications it leads in, ties half,
with Jeffreys' 95% interval), the paired difference with its 95% interval, and the
replications at which the difference's half-width would fall below the difference (a
stable verdict); then the probability that each vendor is best.

With a posterior (`--posterior FILE`), replication r runs under the r-th parameter set
drawn from it (the same for every vendor: they share the run), the first line says so,
and a last line names the drawn parameter the leader's lead depends on most.

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

    from analysis.engine.design import Draws
    from analysis.engine.experiment import Experiment
    from analysis.stats.verdict import Lead
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


def replicate_experiment(scenario: Scenario, reps: int, draws: Draws | None = None) -> Experiment:
    """The scenario alone, `reps` times, seeded from its seed like a sweep's replications
    (with `draws`, replication r also under the r-th parameter set drawn from a
    posterior: analysis.studies.across.draws.load_draws)."""
    from analysis.engine.design import Variant, expand_runs, replication_seeds, scenario_hash
    from analysis.engine.experiment import Experiment
    from analysis.engine.outcomes import sweep_plan

    variant = Variant(0, scenario.name, {}, {})
    seeds = replication_seeds(scenario.seed, reps)
    return Experiment(
        name=f"{scenario.name} x {reps}",
        scenario=scenario,
        runs=tuple(expand_runs(scenario_hash(scenario), [variant], seeds, draws)),
        plan=sweep_plan(),
    )


@dataclass
class Replicated:
    """What the replications produced: the vendors rows and the runs rows (ok runs;
    with a posterior, its drawn values are the runs' `post:<name>` columns)."""

    scenario: Scenario
    vendors: pd.DataFrame
    runs: pd.DataFrame
    elapsed_s: float
    draws: Draws | None = None


def run_replicated(
    scenario: Scenario,
    reps: int,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = True,
    draws: Draws | None = None,
) -> Replicated:
    """Run the replications in a temporary folder and read their rows back (`draws`: a
    posterior's parameter sets, one per replication)."""
    from analysis.engine.context import run_experiment
    from analysis.engine.parts import load_table

    exp = replicate_experiment(scenario, reps, draws)
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
        draws=draws,
    )


def scorecard(vendors: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per vendor and metric: n, mean and the t-interval half-width, vendors in the
    scenario's order."""
    from analysis.stats.compare import summarize

    return summarize(vendors, by=["vendor"], metrics=list(SCORECARD), level=level)


@dataclass(frozen=True)
class Verdict:
    """The two leading vendors by mean conversions, their paired difference and how
    sure the lead is (analysis.stats.verdict)."""

    leader: str
    runner_up: str
    n: int
    diff: float
    half_width: float
    lead: Lead  # the share of replications the leader leads (ties half), Jeffreys 95%
    needed: int | None  # replications for a stable verdict: ceil(n * (hw / |diff|)^2)
    d: tuple[float, ...] = ()  # the paired differences, by replication
    replications: tuple[int, ...] = ()

    @property
    def stable(self) -> bool:
        """Whether the 95% half-width of the difference is already below |diff|."""
        from analysis.stats.verdict import stable

        return self.n >= 2 and stable(self.half_width, self.diff)


def verdict(vendors: pd.DataFrame, level: float = 0.95) -> Verdict | None:
    """The paired gap between the two vendors with the most conversions on average.

    Differences are taken within a replication (both vendors competed in the same run,
    and with a posterior under the same drawn parameters). The probability that the
    leader leads is the share of replications in which it has more conversions than the
    runner-up (ties half), with Jeffreys' 95% interval; `needed` is the replications at
    which the difference's 95% half-width would fall below the observed difference:
    ceil(n * (hw / |diff|)^2) (None when the mean gap is 0 or n < 2)."""
    import numpy as np

    from analysis.stats.compare import t_half_width
    from analysis.stats.verdict import leads, replications_for_stable

    wide = vendors.pivot(index="replication", columns="vendor", values="conversions")
    if wide.shape[1] < 2:
        return None
    top = wide.mean().sort_values(ascending=False, kind="stable").index[:2]
    pair = (wide[top[0]] - wide[top[1]]).dropna()
    d = pair.to_numpy(dtype=float)
    n, mean = d.size, float(d.mean())
    sd = float(d.std(ddof=1)) if n >= 2 else float("nan")
    half = float(t_half_width(np.array([sd]), np.array([n]), level)[0])
    return Verdict(
        str(top[0]),
        str(top[1]),
        n,
        mean,
        half,
        leads(d, level),
        replications_for_stable(n, half, mean),
        tuple(float(x) for x in d),
        tuple(int(r) for r in pair.index),
    )


def best_probabilities(vendors: pd.DataFrame, metric: str = "conversions") -> pd.Series:
    """Per vendor, the share of replications in which it has the most `metric` (ties
    shared), highest first."""
    from analysis.stats.verdict import best_shares

    wide = vendors.pivot(index="replication", columns="vendor", values=metric)
    return best_shares(wide).sort_values(ascending=False, kind="stable")


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


def verdict_lines(v: Verdict | None) -> list[str]:
    """The verdict: the paired difference with its 95% interval, the probability that
    the leader leads with its interval, and the replications a stable verdict needs."""
    if v is None:
        return ["one vendor: nothing to compare"]
    gap = f"{v.leader} leads {v.runner_up} by {v.diff:,.1f} conversions"
    ci = f"(95% CI ± {v.half_width:,.1f}, {v.n} paired replications)"
    if v.n < 2:
        ci = f"({v.n} replication: no interval)"
    lead = v.lead
    wins = f"{lead.wins:g}" if lead.wins != int(lead.wins) else f"{int(lead.wins)}"
    lines = [
        f"{gap} {ci}.",
        f"probability {v.leader} leads {v.runner_up}: {lead.share:.2f} (leads in {wins} of {lead.n} "
        f"paired replications, ties half; 95% Jeffreys interval {lead.low:.2f}-{lead.high:.2f})",
    ]
    if v.n < 2:
        lines.append("stable verdict: needs at least 2 replications for an interval")
    elif v.needed is None:
        lines.append("stable verdict: no difference to call (the two leaders tie on average)")
    elif v.stable:
        lines.append(
            f"stable verdict: stable now (95% half-width {v.half_width:,.1f} is below the "
            f"difference {abs(v.diff):,.1f})"
        )
    else:
        lines.append(
            f"stable verdict: not yet; about {v.needed:,} replications would bring the 95% "
            f"half-width ({v.half_width:,.1f} now) below the difference ({abs(v.diff):,.1f})"
        )
    return lines


def best_line(probs: pd.Series) -> str:
    """The probability that each vendor is best: its share of replications won."""
    cells = ", ".join(f"{vendor} {p:.2f}" for vendor, p in probs.items())
    return (
        f"probability best (share of replications with the most conversions, ties shared): {cells}"
    )


def posterior_line(rep: Replicated) -> str | None:
    """The first line of a summary across a posterior (None without one)."""
    if rep.draws is None:
        return None
    cols = [c for c in rep.runs.columns if c.startswith("post:")]
    sets = len(rep.runs[cols].drop_duplicates()) if cols else 0
    return (
        f"answers across {len(rep.runs)} posterior draws of {rep.draws.source}: parameter "
        f"uncertainty included ({sets} distinct parameter sets of "
        f"{', '.join(rep.draws.names)})"
    )


def depends_line(rep: Replicated, v: Verdict | None) -> str | None:
    """With a posterior: the drawn parameter the leader's lead depends on most (Spearman
    with the paired difference) and the leader's lead share either side of its median."""
    import numpy as np

    from analysis.stats.verdict import depends_most

    if rep.draws is None or v is None:
        return None
    cols = {f"post:{n}": n for n in rep.draws.names if f"post:{n}" in rep.runs.columns}
    drawn = rep.runs.set_index("replication")[list(cols)].rename(columns=cols)
    drawn = drawn.reindex(list(v.replications))
    dep = depends_most(np.array(v.d), drawn)
    if dep is None:
        return "the answer depends most on: no drawn parameter (the lead or the draws do not vary)"
    op, below = (">", "at or below") if dep.strict else (">=", "below")
    return (
        f"the answer depends most on {dep.name} (Spearman {dep.rho:+.2f} with {v.leader} - "
        f"{v.runner_up}): {v.leader} leads in {100 * dep.share_above:.0f}% of the "
        f"{dep.n_above} draws with {dep.name} {op} {dep.split:.3g}, "
        f"{100 * dep.share_below:.0f}% of the {dep.n_below} {below}"
    )


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
    first = posterior_line(rep)
    lines = [first, head] if first else [head]
    if sc.description:
        lines.append(sc.description)
    card = scorecard(rep.vendors)
    lines += ["", "means ± 95% interval over the replications:", ""]
    lines.append(format_scorecard(card, list(sc.vendor_names())))
    v = verdict(rep.vendors)
    lines += ["", *verdict_lines(v)]
    if v is not None:
        lines.append(best_line(best_probabilities(rep.vendors)))
    depends = depends_line(rep, v)
    if depends:
        lines.append(depends)
    lines.append("")
    funnel = {c: int(round(rep.runs[c].astype(float).mean())) for c in FUNNEL_COLUMNS}
    lines.append(funnel_summary(funnel).replace("journeys", "mean/run", 1))
    return "\n".join(lines)


# ------------------------------------------------------------------------ command line
