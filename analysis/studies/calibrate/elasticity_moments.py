"""Elasticities from paired runs: how much a vendor's conversions move when its spend
moves. Unlike the other measures, an elasticity cannot be read off one run's tables: the
run is repeated twice more with the SAME scenario and seed (common random numbers), once
with the vendor's spend multiplied by 1 + step and once by 1 - step, all else fixed:

    advertising_elasticity  the spend perturbed is the vendor's paid media: every channel
                            of its mix except sales_reps, in every period of its schedule
                            (its sales_reps spend and social selling stay as they are)
    selling_elasticity      the spend perturbed is its sales effort: the sales_reps
                            channel plus social_selling, in every period (its media stay)

    elasticity = (C+ - C-) / (C0 * 2 * step)

the arc (central-difference) elasticity at the scenario's spend, where C0, C+ and C- are
the vendor's conversions in the run as it is and in the two perturbed runs. `vendor =
NAME` measures that vendor; without it the value is the mean over the vendors that have
that kind of spend (each vendor's own pair of runs, so a vendor's elasticity is its own
spend's, the others' spend fixed), with each vendor's value as an extra. `step` (default
0.10, i.e. +-10%) is in (0, 0.5].

Conversions (C) are ALL the vendor's purchases closed in the recorded weeks, renewals
included: the published elasticities are of sales (brand sales or market share, repeat
buyers included), and in the model a renewal is a purchase the vendor can lose (the
incumbent competes with a switching advantage, docs/model.md §17a), so marketing acts on
it too. The elasticity of new-customer purchases alone (renewals left out), which is what
an acquisition team would quote, is the extra `new_customers`.

Horizon: the perturbed spend holds from the first week of the spin-up (the spin-up plays
the plan's first weeks, sim/spinup.py) to the end of the run, and brand memories and
installed bases carry it forward. So the measure is a cumulative response over the
recorded horizon (104 weeks in the baseline) to a sustained change of spend: closer to
the meta-analyses' long-term elasticity (Sethuraman, Tellis & Briesch 2011: 0.24) than
to their short-term or current-period ones (0.12; Henningsen, Heuke & Clement 2011:
0.09); docs/sources.md §13.

Cost: every vendor measured needs two more runs of the scenario (a mean over four
vendors: eight). The paired runs are kept per run (`PairedRuns`), so several elasticity
targets of one targets file share them; they record no touches.

Not measurable: no paired runs available (`measure` called on tables alone), a vendor the
scenario does not have, a vendor without that kind of spend (its elasticity is not
defined: nothing to perturb), or no conversion of the vendor in the run as it is.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from analysis.studies.calibrate.measuring import Moment, NotMeasurable, _need
from sim.channels import SALES_REPS
from sim.scenario.fields import budget_and_mix

if TYPE_CHECKING:
    import pandas as pd

    from analysis.studies.calibrate.targets import Target
    from sim.scenario import Scenario
    from sim.scenario.vendors import VendorSpec

#: what each kind of spend is, in notes
SPEND_TEXT = {"media": "paid-media", "selling": "sales-effort (sales_reps, social selling)"}


# ----------------------------------------------------------------------------- the runs
class PairedRuns:
    """The reruns of ONE run: `runs(changes)` is the tables of the run's scenario with
    `changes` (Scenario.with_changes) and the run's seed, run once per distinct changes
    (kept, so every target of the run shares them). Touches are not recorded."""

    def __init__(self, scenario: Scenario, seed: int) -> None:
        self.scenario = scenario
        self.seed = int(seed)
        self._tables: dict[str, dict[str, pd.DataFrame]] = {}

    def __call__(self, changes: dict[str, Any]) -> dict[str, pd.DataFrame]:
        key = json.dumps(changes, sort_keys=True, default=repr)
        if key not in self._tables:
            from sim.model import BuyerJourneyModel

            sc = self.scenario.with_changes(changes)
            model = BuyerJourneyModel(sc, seed=self.seed, record_touches=False).run()
            self._tables[key] = model.tables()
        return self._tables[key]

    @property
    def runs(self) -> int:
        """How many reruns were made."""
        return len(self._tables)


# ----------------------------------------------------------------------------- the spend
def _scaled(spend: tuple[float, ...], social: float, kind: str, factor: float):
    """One period's spend with the `kind` part multiplied by `factor`."""
    if kind == "media":
        return tuple(x if c == SALES_REPS else x * factor for c, x in enumerate(spend)), social
    return tuple(x * factor if c == SALES_REPS else x for c, x in enumerate(spend)), (
        social * factor
    )


def has_spend(vendor: VendorSpec, kind: str) -> bool:
    """Whether the vendor spends anything of `kind` ("media" or "selling") in some period."""
    for _, spend, social in vendor.spend_periods():
        if kind == "media" and any(x > 0 for c, x in enumerate(spend) if c != SALES_REPS):
            return True
        if kind == "selling" and (spend[SALES_REPS] > 0 or social > 0):
            return True
    return False


def spend_changes(scenario: Scenario, vendor: str, kind: str, factor: float) -> dict[str, Any]:
    """The `Scenario.with_changes` changes that multiply `vendor`'s spend of `kind` by
    `factor` in every period and keep every other spend (like
    Scenario.without_channel_spend): "media" scales each channel but sales_reps; "selling"
    scales sales_reps and social_selling. Each period's budget and mix are restated from
    its spend per channel (budget_and_mix), and every plan of a schedule is written in
    full, so no plan inherits an unscaled value."""
    v = next(x for x in scenario.vendors if x.name == vendor)
    periods = v.spend_periods()
    spend, social = _scaled(periods[0][1], periods[0][2], kind, factor)
    budget, mix = budget_and_mix(spend)
    at = f"vendors.{vendor}"
    changes: dict[str, Any] = {
        f"{at}.weekly_budget": budget,
        f"{at}.channel_mix": mix,
        f"{at}.normalize": False,
        f"{at}.social_selling": social,
    }
    if v.schedule:
        plans = []
        for plan, (_, s, ss) in zip(v.schedule, periods[1:], strict=True):
            s2, ss2 = _scaled(s, ss, kind, factor)
            b2, m2 = budget_and_mix(s2)
            dumped = plan.model_dump()
            plans.append({**dumped, "weekly_budget": b2, "channel_mix": m2, "normalize": False})
            if kind == "selling":
                plans[-1]["social_selling"] = ss2
        changes[f"{at}.schedule"] = plans
    return changes


# ----------------------------------------------------------------------------- counting
def conversions(tables: dict[str, pd.DataFrame], vendor: str) -> tuple[int, int]:
    """(all purchases, new-customer purchases) of `vendor` in the run's journeys (new:
    not a renewal; -1 when the journeys table has no renewal column)."""
    j = _need(tables.get("journeys"), "journeys", "outcome", "vendor")
    won = j[(j["outcome"] == "purchase") & (j["vendor"] == vendor)]
    new = int((~won["renewal"].astype(bool)).sum()) if "renewal" in won.columns else -1
    return len(won), new


def _arc(plus: int, minus: int, base: int, step: float) -> float:
    return (plus - minus) / (base * 2 * step)


def _one(
    tables: dict[str, pd.DataFrame], rerun: PairedRuns, name: str, kind: str, step: float
) -> tuple[float, tuple[tuple[str, float], ...], int] | None:
    """One vendor's elasticity, its extras and C0; None when it had no conversion."""
    c0, n0 = conversions(tables, name)
    if c0 == 0:
        return None
    cp, np_ = conversions(rerun(spend_changes(rerun.scenario, name, kind, 1 + step)), name)
    cm, nm = conversions(rerun(spend_changes(rerun.scenario, name, kind, 1 - step)), name)
    extra: tuple[tuple[str, float], ...] = (
        ("conversions", float(c0)),
        ("conversions_plus", float(cp)),
        ("conversions_minus", float(cm)),
    )
    if n0 > 0:
        extra += (("new_customers", _arc(np_, nm, n0, step)),)
    return _arc(cp, cm, c0, step), extra, c0


def elasticity(
    tables: dict[str, pd.DataFrame], target: Target, rerun: PairedRuns | None, kind: str
) -> Moment:
    """The `kind` elasticity of target.vendor (None: the mean over the vendors with that
    spend); see the module doc."""
    if rerun is None:
        raise NotMeasurable("needs paired runs (the run's scenario and seed)")
    step = 0.10 if target.step is None else float(target.step)
    what = SPEND_TEXT[kind]
    vendors = {v.name: v for v in rerun.scenario.vendors}
    if target.vendor is not None:
        v = vendors.get(target.vendor)
        if v is None:
            raise NotMeasurable(f"the scenario has no vendor named {target.vendor!r}")
        if not has_spend(v, kind):
            raise NotMeasurable(f"{target.vendor} has no {what} spend to perturb")
        got = _one(tables, rerun, target.vendor, kind, step)
        if got is None:
            raise NotMeasurable(f"no purchase from {target.vendor}")
        value, extra, c0 = got
        return Moment(value, c0, extra=extra)
    names = [name for name, v in vendors.items() if has_spend(v, kind)]
    if not names:
        raise NotMeasurable(f"no vendor has {what} spend to perturb")
    each = {name: _one(tables, rerun, name, kind, step) for name in names}
    each = {name: got for name, got in each.items() if got is not None}
    if not each:
        raise NotMeasurable(f"no purchase from the vendors with {what} spend")
    values = [got[0] for got in each.values()]
    n = sum(got[2] for got in each.values())
    extra = tuple((name, got[0]) for name, got in each.items())
    new = [dict(got[1]).get("new_customers") for got in each.values()]
    if all(x is not None for x in new):
        extra += (("new_customers", sum(new) / len(new)),)
    return Moment(sum(values) / len(values), n, extra=extra)


def advertising_elasticity(
    tables: dict[str, pd.DataFrame], target: Target, rerun: PairedRuns | None = None
) -> Moment:
    """% change of the vendor's conversions per % change of its paid-media spend."""
    return elasticity(tables, target, rerun, "media")


def selling_elasticity(
    tables: dict[str, pd.DataFrame], target: Target, rerun: PairedRuns | None = None
) -> Moment:
    """% change of the vendor's conversions per % change of its sales effort."""
    return elasticity(tables, target, rerun, "selling")


#: the measures that need paired runs: called with (tables, target, rerun)
PAIRED_MEASURES = {
    "advertising_elasticity": advertising_elasticity,
    "selling_elasticity": selling_elasticity,
}
