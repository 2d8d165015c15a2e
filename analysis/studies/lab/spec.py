"""The attribution lab's design: the baseline and one counterfactual per paid line of
the vendor, as an engine experiment (analysis.engine.experiment).

A channel's ground truth is its incremental conversions: the vendor's conversions lost
when its spend in that channel is set to zero (`without_channel_spend`). Social-selling
contacts are their own line (their spend is separate from the channel mix). Variants are
the baseline plus one counterfactual per paid line (`counterfactuals`); replications are
seeded with SeedSequence like sweeps, and replication r uses the same seed in every
variant (common random numbers), so each difference baseline - counterfactual is paired
and caused by the removed spend alone. Each run writes its `runs` row (with the vendor's
conversions) and, for the baseline, its measured credit (`credit` table).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import pandas as pd

from analysis.engine.design import RunSpec, Variant, expand_runs, replication_seeds, scenario_hash
from analysis.engine.experiment import Experiment, RunPlan, Table
from analysis.stats.credit import SOCIAL_SELLING, measured_credit
from sim.channels import CHANNEL_NAMES
from sim.scenario import Scenario, ScenarioError

BASELINE = "baseline"


def check_lab(scenario: Scenario, vendor: str, reps: int) -> None:
    """Input errors (one line each): an unknown vendor, fewer than one replication."""
    if vendor not in scenario.vendor_names():
        raise ScenarioError(
            scenario.source,
            "--vendor",
            f"no vendor named {vendor!r}; vendors: {', '.join(scenario.vendor_names())}",
        )
    if reps < 1:
        raise ScenarioError(scenario.source, "--reps", f"must be at least 1, found {reps}")


def counterfactuals(scenario: Scenario, vendor: str) -> dict[str, tuple[Scenario, float]]:
    """For each line the vendor pays for: the scenario without that spend, and the
    weekly spend removed."""
    v = next(x for x in scenario.vendors if x.name == vendor)
    out = {}
    for name, spend in zip(CHANNEL_NAMES, v.spend_by_channel(), strict=True):
        if spend > 0:
            out[name] = (scenario.without_channel_spend(vendor, name), spend)
    if v.social_selling > 0:
        out[SOCIAL_SELLING] = (
            scenario.with_changes({f"vendors.{vendor}.social_selling": 0.0}),
            v.social_selling,
        )
    return out


def vendor_changes(base: Scenario, changed: Scenario, vendor: str) -> dict[str, Any]:
    """The dotted-path changes that turn `base` into `changed`, which may differ only in
    `vendor`'s fields (what a counterfactual does), e.g. {"vendors.Focal.weekly_budget": 0}.
    Variants are changes, so run ids hash them and a rerun finds the same runs."""
    old = next(v for v in base.vendors if v.name == vendor).model_dump()
    new = next(v for v in changed.vendors if v.name == vendor).model_dump()
    changes = {f"vendors.{vendor}.{k}": new[k] for k in new if new[k] != old[k]}
    if base.with_changes(changes) != changed:
        raise ValueError(f"the counterfactual changes more than vendor {vendor!r}")
    return changes


def lab_variants(scenario: Scenario, vendor: str) -> list[Variant]:
    """The baseline (variant 0) and one counterfactual per paid line of the vendor."""
    params = {"counterfactual": BASELINE, "vendor": vendor}
    out = [Variant(0, BASELINE, params, {})]
    for line, (cf, _spend) in counterfactuals(scenario, vendor).items():
        changes = vendor_changes(scenario, cf, vendor)
        out.append(Variant(len(out), line, {**params, "counterfactual": line}, changes))
    return out


def vendor_conversions(model: Any, _spec: RunSpec, index: int) -> dict[str, float]:
    """The `runs` row's summary: the vendor's conversions, revenue and paid spend
    (channels and social selling, without referral rewards) in this run."""
    m = model.market
    return {
        "conversions": int(m.conversions[index]),
        "revenue": float(m.revenue[index]),
        "paid_spend": float(m.spent[index].sum() + m.social_selling_spent[index]),
    }


def credit_rows(model: Any, _spec: RunSpec, vendor: str) -> pd.DataFrame:
    """The run's measured credit: one row per channel (and UNATTRIBUTED), one column per
    rule, in conversions."""
    t = model.tables()
    credit = measured_credit(t["journeys"], t["touches"], vendor)
    return credit.rename_axis("channel").reset_index()


def lab_plan(scenario: Scenario, vendor: str) -> RunPlan:
    """What each lab run computes: the vendor's conversions (every run) and the measured
    credit (baseline runs only: the only ones that record touches)."""
    index = scenario.vendor_names().index(vendor)
    credit = Table(
        "credit", partial(credit_rows, vendor=vendor), touches=True, variants=frozenset({0})
    )
    return RunPlan(
        tables=(credit,),
        columns={"conversions": "Int64", "revenue": "Float64", "paid_spend": "Float64"},
        summarize=partial(vendor_conversions, index=index),
    )


def lab_experiment(scenario: Scenario, vendor: str, reps: int) -> Experiment:
    """The lab as an engine experiment: variants x `reps` replications seeded from the
    scenario's seed (replication_seed(scenario.seed, r), the same in every variant)."""
    variants = lab_variants(scenario, vendor)
    seeds = replication_seeds(scenario.seed, reps)
    return Experiment(
        name=f"attribution {vendor}",
        scenario=scenario,
        runs=tuple(expand_runs(scenario_hash(scenario), variants, seeds)),
        plan=lab_plan(scenario, vendor),
        params=(("counterfactual", False), ("vendor", False)),
    )
