"""The oracle planner: an oracle vendor's channel mix, planned on the TRUE incremental
return per channel from counterfactual runs.

    plan = plan_oracle(ctx, scenario, "Focal", settings, out, reps)   # OraclePlan

At each adjustment week w (baseline_weeks, then every cadence_weeks), it runs, through the
study's execution context with common random numbers, the scenario with the oracle's
schedule so far and, per channel of its mix, the same with that channel's spend set to
ZERO over [w, w + window_weeks) (the vendor's other channels keep their spend). The
objective's difference (to the end of the horizon, so lagged effects of the window's spend
count) divided by the spend removed is the channel's true incremental return per currency
unit, with a 95% t-interval over the planning replications. Why removal rather than a
small raise: (1) it is the attribution lab's definition of a channel's true effect
(`without_channel_spend`), so both tools agree; (2) what a data-loop vendor measures is an
average return (attributed results / spend), and removal gives the true average return
over the same kind of window, the like-for-like benchmark; (3) a small step changes few
conversions, so its difference drowns in noise at a planning budget of a few replications,
while removing a channel's whole window spend moves enough to rank channels. The cost: in a
saturated channel the average return overstates the marginal one. Then the oracle moves
budget with the data-loop rule (`shift_shares`): at most max_shift of the budget from the
channel with the lowest return (among those above the exploration floor) to the highest,
every channel of the initial mix keeping at least `exploration` of the budget. The plans
are written as the vendor's `schedule`.

The planning replications use their own seeds (replications PLANNING_REPLICATION0 + r of
the scenario's seed), never the study's: the oracle knows each channel's expected return,
not the noise of the runs it is scored on. Every planning run of one oracle lives in one
folder (one growing experiment, through analysis.engine.evaluate.PointEvaluator): a killed
planner run again replays the same adjustments from the stored runs and runs only what is
missing.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.engine.context import ExecutionContext
from analysis.engine.design import replication_seed, scenario_hash
from analysis.engine.evaluate import Point, PointEvaluator
from analysis.errors import Stopped
from analysis.stats.compare import t_half_width
from analysis.studies.dataloop.records import focal_plan
from analysis.studies.dataloop.spec import LoopSettings
from sim.channels import CHANNEL_NAMES
from sim.policies import adjusted_shares
from sim.scenario import Scenario, ScenarioError

#: planning replications are numbered from here (seeds never used by a study)
PLANNING_REPLICATION0 = 10_000
#: the columns of an oracle's truth table (dataloop_truth.csv adds the oracle's label)
TRUTH_COLUMNS = [
    "week",
    "channel",
    "share",
    "true_return",
    "low",
    "high",
    "lift",
    "removed_spend",
    "reps",
    "share_after",
]


# ----------------------------------------------------------------------------- the rule
def shift_shares(
    shares: dict[str, float], returns: dict[str, float], max_shift: float, exploration: float
) -> dict[str, float]:
    """One adjustment, by the data-loop policy's own rule (sim.policies.adjusted_shares,
    so the oracle and the data-loop vendors adjust alike): at most `max_shift` of the
    budget moves from the channels with the lowest return (lowest first, each down to
    `exploration`) to the one with the highest; nothing moves when all returns tie.
    Channels without a return (NaN) stay as they are. Returns the new shares."""
    known = [c for c in CHANNEL_NAMES if c in shares and not math.isnan(returns.get(c, math.nan))]
    if len(known) < 2:
        return dict(shares)
    arr = np.array([shares.get(c, 0.0) for c in CHANNEL_NAMES])
    believed = np.array([returns.get(c, math.nan) for c in CHANNEL_NAMES], dtype=float)
    mix = np.array([CHANNEL_NAMES.index(c) for c in known])
    got = adjusted_shares(arr, believed, np.zeros(len(CHANNEL_NAMES)), mix, max_shift, exploration)
    return {c: float(got[CHANNEL_NAMES.index(c)]) for c in shares}


def adjustment_weeks(settings: LoopSettings, weeks: int) -> list[int]:
    """The weeks a loop adjusts: baseline_weeks, then every cadence_weeks, before the end."""
    start = max(settings.baseline_weeks, 1)
    return list(range(start, weeks, settings.cadence_weeks))


def _clean(shares: dict[str, float]) -> dict[str, float]:
    """Shares rounded (stable run ids) and rescaled to sum to 1, zero shares dropped."""
    kept = {c: s for c, s in shares.items() if s > 1e-12}
    total = sum(kept.values())
    return {c: round(s / total, 12) for c, s in kept.items()}


def _vid(label: str) -> int:
    """A planning point's variant id, from its label."""
    return int(hashlib.sha256(label.encode()).hexdigest()[:12], 16)


# ----------------------------------------------------------------------------- the plan
@dataclass
class OraclePlan:
    """What the planner found: the schedule (plans by week), the true return of each
    channel at each adjustment (`truth`), and what ran."""

    vendor: str
    settings: LoopSettings
    schedule: list[dict[str, Any]]
    truth: pd.DataFrame
    ran: int = 0
    already: int = 0

    def shares_by_week(self) -> list[tuple[int, dict[str, float]]]:
        return [(p["week"], dict(p["channel_mix"])) for p in self.schedule]


@dataclass
class _Planner:
    """One oracle's planning state: its budget, its shares now and its schedule so far."""

    vendor: str
    settings: LoopSettings
    weeks: int
    budget: float
    shares: dict[str, float]
    schedule: list[dict[str, Any]]

    def counterfactuals(self, w: int) -> dict[str, list[dict[str, Any]]]:
        """The schedules run at week w: "base" (the plan so far) and, per channel of the
        mix, the same with the channel's spend removed over the window."""
        end = min(w + self.settings.window_weeks, self.weeks)
        out: dict[str, list[dict[str, Any]]] = {"base": list(self.schedule)}
        for c in [k for k, s in self.shares.items() if s > 0]:
            rest = _clean({k: s for k, s in self.shares.items() if k != c})
            if not rest:
                cut = [{"week": w, "weekly_budget": 0.0}]
            else:
                cut = [
                    {
                        "week": w,
                        "weekly_budget": self.budget * (1 - self.shares[c]),
                        "channel_mix": rest,
                    }
                ]
            if end < self.weeks:
                cut.append(
                    {"week": end, "weekly_budget": self.budget, "channel_mix": dict(self.shares)}
                )
            out[c] = [*self.schedule, *cut]
        return out

    def true_returns(self, w: int, got: pd.DataFrame) -> list[dict[str, Any]]:
        """Each channel's true return at week w from its removal runs, paired by seed."""
        got = got.assign(cf=got["p:counterfactual"].astype(str))
        wide = got.pivot(index="seed", columns="cf", values=self.settings.objective)
        wide = wide.astype(float)
        cost = got.pivot(index="seed", columns="cf", values="paid_spend").astype(float)
        rows = []
        for c in [k for k, s in self.shares.items() if s > 0]:
            diff = wide["base"] - wide[c]
            removed = float((cost["base"] - cost[c]).mean())
            per = diff / removed if removed > 0 else diff * math.nan
            mean = float(per.mean())
            half = float(t_half_width(np.array([per.std(ddof=1)]), np.array([per.count()]))[0])
            rows.append(
                {
                    "week": w,
                    "channel": c,
                    "share": self.shares[c],
                    "true_return": mean,
                    "low": mean - half,
                    "high": mean + half,
                    "lift": float(diff.mean()),
                    "removed_spend": removed,
                    "reps": int(per.count()),
                }
            )
        return rows

    def adjust(self, w: int, rows: list[dict[str, Any]]) -> None:
        """Move budget on the true returns (`shift_shares`), note each channel's share
        after in its row, and add the new plan to the schedule."""
        returns = {r["channel"]: r["true_return"] for r in rows}
        s = self.settings
        new = _clean(shift_shares(self.shares, returns, s.max_shift, s.exploration))
        new = {c: new.get(c, 0.0) for c in self.shares if new.get(c, 0.0) > 0}
        for r in rows:
            r["share_after"] = new.get(r["channel"], 0.0)
        self.shares = {c: new.get(c, 0.0) for c in self.shares}
        plan = {"week": w, "weekly_budget": self.budget, "channel_mix": _clean(self.shares)}
        self.schedule.append(plan)


def plan_oracle(
    ctx: ExecutionContext,
    scenario: Scenario,
    vendor: str,
    settings: LoopSettings,
    out: str | Path,
    reps: int,
    label: str = "oracle",
) -> OraclePlan:
    """Plan an oracle vendor's channel mix adjustment by adjustment (see the module doc).

    `scenario` is the market with the vendor as it starts (its weekly_budget and
    channel_mix; a schedule of its own is replaced). Runs go to `out` (resumable), in the
    study's execution context `ctx`. Raises Stopped when the engine stops or a planning
    run fails.
    """
    v = next(x for x in scenario.vendors if x.name == vendor)
    budget = float(v.weekly_budget)
    mix = {c: float(s) for c, s in v.channel_mix.items() if s > 0}
    if budget <= 0 or not mix:
        raise ScenarioError(
            scenario.source, f"vendors.{vendor}", "an oracle vendor needs a weekly_budget and mix"
        )
    path = f"vendors.{vendor}.schedule"
    base = scenario.with_changes({path: []})
    shash = scenario_hash(base)
    seeds = [replication_seed(base.seed, PLANNING_REPLICATION0 + r) for r in range(reps)]
    ev = PointEvaluator(
        ctx,
        Path(out),
        base,
        focal_plan(base.vendor_names(), vendor),
        params=(("vendor", False), ("week", True), ("counterfactual", False)),
        design=shash,
        name=label,
        info_file="oracle.json",
    )
    planner = _Planner(vendor, settings, base.weeks, budget, _clean(mix), [])
    rows: list[dict[str, Any]] = []
    already = 0
    for w in adjustment_weeks(settings, base.weeks):
        specs = []
        for name, sched in planner.counterfactuals(w).items():
            point = Point(
                f"w{w}:{name}",
                _vid(f"w{w}:{name}"),
                {"vendor": vendor, "week": w, "counterfactual": name},
                {path: sched},
            )
            specs += ev.specs(point, seeds, first=PLANNING_REPLICATION0)
        ev.info = {
            "vendor": vendor,
            "scenario": base.name,
            "scenario_hash": shash,
            "settings": settings.model_dump(),
            "planning_seeds": seeds,
            "schedule_so_far": planner.schedule,
        }
        already += len(specs) - ev.run(specs).ran
        got = ev.runs(s.run_id for s in specs)
        bad = got[got["status"] != "ok"]
        if len(bad) or len(got) < len(specs):
            why = bad["error"].iloc[0] if len(bad) else "missing runs"
            raise Stopped(f"{label}: a planning run at week {w} failed: {why}", 1)
        found = planner.true_returns(w, got)
        planner.adjust(w, found)
        rows += found
    truth = pd.DataFrame(rows, columns=TRUTH_COLUMNS)
    truth.attrs["objective"] = settings.objective
    return OraclePlan(vendor, settings, planner.schedule, truth, ev.ran, already)
