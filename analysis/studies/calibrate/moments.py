"""What a calibration run measures: every target's moment on the tables of ONE finished
run, computed inside the worker so each run sends back a few rows, never its tables.

`run_moments(tables, targets)` measures every target on a run's tables (sim.tables:
buyers, journeys, touches) and returns long rows (target, stat, value, note): stat
"value" is the moment, "n" the observations behind it, and some measures add descriptive
stats (p10, p90). A target whose table column is absent (an older model, a scenario
without accounts) or that has no observations in the run gives value NaN and says why in
`note`: "not measurable". `calibration_plan(targets)` is what each run of a calibration
computes (analysis.engine.experiment.RunPlan): its `moments` table.

A few measures (PAIRED_MEASURES: the elasticities of elasticity_moments.py) need more than
the run's tables: the same scenario run again with the same seed and a vendor's spend
changed. `run_moments(tables, targets, rerun)` gives them `rerun`, a PairedRuns of the
run (`moments_table` builds it from the finished model's scenario and the run's seed;
its reruns are kept, so the targets of one run share them); without one they are not
measurable ("needs paired runs").
"""

from __future__ import annotations

import math
from functools import partial
from typing import TYPE_CHECKING, Any

import pandas as pd

from analysis.engine.experiment import RunPlan, Table
from analysis.studies.calibrate.elasticity_moments import PAIRED_MEASURES, PairedRuns
from analysis.studies.calibrate.market_moments import MARKET_MEASURES
from analysis.studies.calibrate.measuring import (
    Moment,
    NotMeasurable,
    _closed,
    _need,
    _rate,
)
from analysis.studies.calibrate.targets import Target, Targets
from analysis.studies.calibrate.vendor_moments import VENDOR_MEASURES
from sim.channels import CHANNELS, IDC_TOP_THREE, Stage

if TYPE_CHECKING:
    from analysis.engine.design import RunSpec


def idc_top_three(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """The margin by which the stage's consultations rank the IDC top three first, in
    order: min(s1 - s2, s2 - s3, s3 - s4) over consultation shares, where s1..s3 are the
    IDC sources in IDC order and s4 the most consulted other source (social-selling
    contacts and quotes are the sales team's, not sources; as in
    tests/sim/test_calibration.py). Positive: the ranking holds."""
    t = _need(tables.get("touches"), "touches", "stage", "channel", "social_selling", "quote")
    t = t[~t["social_selling"].astype(bool) & ~t["quote"].astype(bool)]
    t = t[t["stage"] == target.stage]
    if t.empty:
        raise NotMeasurable(f"no consultations in the {target.stage} stage")
    shares = t["channel"].astype(str).value_counts(normalize=True)
    top = IDC_TOP_THREE[Stage[target.stage.upper()]]
    s = [float(shares.get(c, 0.0)) for c in top]
    others = shares.drop([c for c in top if c in shares.index])
    s4 = float(others.max()) if len(others) else 0.0
    margin = min(s[0] - s[1], s[1] - s[2], s[2] - s4)
    return Moment(margin, len(t), extra=tuple(zip(top, s, strict=True)) + (("best_other", s4),))


def social_use(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """Among buyers who took part in a closed journey (the journey's buyer, or a member
    with a touch in it), the share who consulted at least one social source (a channel
    with the social flag in sim.channels) in a closed journey: an outcome, not the input
    flag `uses_social`. `seniority` restricts the buyers (empty: all)."""
    j = _need(tables.get("journeys"), "journeys", "journey_id", "buyer_id", "outcome")
    t = _need(tables.get("touches"), "touches", "journey_id", "buyer_id", "channel")
    closed = _closed(j)
    t = t[t["journey_id"].isin(closed["journey_id"])]
    people = set(closed["buyer_id"].tolist()) | set(t["buyer_id"].tolist())
    if target.seniority:
        b = _need(tables.get("buyers"), "buyers", "buyer_id", "seniority")
        keep = set(b.loc[b["seniority"].isin(target.seniority), "buyer_id"].tolist())
        people &= keep
    social_channels = [c.name for c in CHANNELS if c.social]
    consult = t
    if "social_selling" in t.columns and "quote" in t.columns:
        consult = t[~t["social_selling"].astype(bool) & ~t["quote"].astype(bool)]
    users = set(consult.loc[consult["channel"].isin(social_channels), "buyer_id"].tolist())
    return _rate(len(users & people), len(people), "buyers in closed journeys")


def research_before_sales(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """The `quantile` (median) of research_share_at_first_sales_contact over all
    purchases that had a sales contact (the share of purchases with one is
    sales_contact_share); p10 and p90 as extras."""
    j = _need(
        tables.get("journeys"), "journeys", "outcome", "research_share_at_first_sales_contact"
    )
    share = j.loc[j["outcome"] == "purchase", "research_share_at_first_sales_contact"]
    share = share.dropna().astype(float)
    if share.empty:
        raise NotMeasurable("no purchase with a sales contact")
    q = share.quantile([target.quantile, 0.1, 0.9]).tolist()
    return Moment(float(q[0]), len(share), extra=(("p10", float(q[1])), ("p90", float(q[2]))))


def sales_contact_share(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """The share of purchases with a sales contact (a research share at the first contact)."""
    j = _need(
        tables.get("journeys"), "journeys", "outcome", "research_share_at_first_sales_contact"
    )
    share = j.loc[j["outcome"] == "purchase", "research_share_at_first_sales_contact"]
    return _rate(int(share.notna().sum()), len(share), "purchases")


def no_decision_share(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """The share of closed journeys (purchase or no decision) that end in no decision."""
    j = _need(tables.get("journeys"), "journeys", "outcome")
    closed = _closed(j)
    return _rate(int((closed["outcome"] == "no_decision").sum()), len(closed), "closed journeys")


def consensus(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """The purchase rate of closed journeys whose buying group's size is in
    `group_sizes` (one journeys row per group journey)."""
    j = _need(tables.get("journeys"), "journeys", "outcome", "group_size")
    closed = _closed(j)
    closed = closed[closed["group_size"].isin(target.group_sizes)]
    sizes = ", ".join(str(s) for s in target.group_sizes)
    hits = int((closed["outcome"] == "purchase").sum())
    return _rate(hits, len(closed), f"closed journeys of buying groups of size {sizes}")


def journey_weeks(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """The `quantile` (median) of end_week - start_week over closed journeys of accounts
    of `size_class` (journeys still open at the horizon are not counted)."""
    j = _need(tables.get("journeys"), "journeys", "outcome", "start_week", "end_week", "size_class")
    closed = _closed(j)
    closed = closed[closed["size_class"] == target.size_class]
    if closed.empty:
        raise NotMeasurable(f"no closed journeys of {target.size_class} accounts")
    weeks = (closed["end_week"].astype(float) - closed["start_week"].astype(float)).dropna()
    return Moment(float(weeks.quantile(target.quantile)), len(weeks))


MEASURE_FUNCTIONS = {
    "idc_top_three": idc_top_three,
    "social_use": social_use,
    "research_before_sales": research_before_sales,
    "sales_contact_share": sales_contact_share,
    "no_decision_share": no_decision_share,
    "consensus": consensus,
    "journey_weeks": journey_weeks,
    **MARKET_MEASURES,
    **VENDOR_MEASURES,
    **PAIRED_MEASURES,
}


def measure(
    tables: dict[str, pd.DataFrame], target: Target, rerun: PairedRuns | None = None
) -> Moment:
    """One target on one run's tables (and, for a paired measure, the run's reruns);
    NaN with a note when it cannot be measured."""
    try:
        if target.measure in PAIRED_MEASURES:
            return PAIRED_MEASURES[target.measure](tables, target, rerun)
        return MEASURE_FUNCTIONS[target.measure](tables, target)
    except NotMeasurable as exc:
        return Moment(math.nan, 0, note=f"not measurable: {exc}")


def run_moments(
    tables: dict[str, pd.DataFrame], targets: Targets, rerun: PairedRuns | None = None
) -> pd.DataFrame:
    """Every target on one run's tables, as long rows: target, stat ("value", "n" and
    extras), value, note (on the "value" row). `rerun`: the run's paired runs, for the
    PAIRED_MEASURES (None: they are not measurable)."""
    rows: list[tuple[str, str, float, str]] = []
    for t in targets.targets:
        m = measure(tables, t, rerun)
        rows.append((t.name, "value", m.value, m.note))
        rows.append((t.name, "n", float(m.n), ""))
        rows += [(t.name, k, float(v), "") for k, v in m.extra]
    df = pd.DataFrame(rows, columns=["target", "stat", "value", "note"])
    for c in ("target", "stat", "note"):
        df[c] = df[c].astype("string")
    df["value"] = df["value"].astype(float)
    return df


def moments_table(
    model: Any, spec: RunSpec, targets: Targets, paired_from: int = 0
) -> pd.DataFrame:
    """What a calibration run writes: its targets' moments, computed in the worker from
    the finished model's tables (and, when a target needs them, its paired runs: the
    model's scenario rerun with the run's seed).

    `paired_from`: a held-out target (not fitted) whose measure needs paired runs is
    measured only in runs of replication >= paired_from (a calibration's validation
    runs); in the others it is "not measured at fit points". Its paired runs cost two
    runs per vendor each, and a fit never uses it."""
    if spec.replication < paired_from:
        kept = tuple(t for t in targets.targets if t.fitted or t.measure not in PAIRED_MEASURES)
        if len(kept) < len(targets.targets):
            return _skipping_paired(model, spec, targets, kept)
    rerun = paired_runs(model, spec, targets)
    if rerun is None:  # no target needs paired runs: the call of a single-run file
        return run_moments(model.tables(), targets)
    return run_moments(model.tables(), targets, rerun)


def _skipping_paired(
    model: Any, spec: RunSpec, targets: Targets, kept: tuple[Target, ...]
) -> pd.DataFrame:
    """The moments of `kept`, and a not-measured row for each held-out paired target."""
    from dataclasses import replace

    df = moments_table(model, spec, replace(targets, targets=kept))
    skipped = [t.name for t in targets.targets if t not in kept]
    rows = pd.DataFrame({"target": skipped, "stat": ["value"] * len(skipped),
                         "value": [math.nan] * len(skipped),
                         "note": ["not measurable: held out, measured in validation runs only"]
                         * len(skipped)})  # fmt: skip
    for c in ("target", "stat", "note"):
        rows[c] = rows[c].astype("string")
    return pd.concat([df, rows], ignore_index=True)


def paired_runs(model: Any, spec: RunSpec, targets: Targets) -> PairedRuns | None:
    """The run's PairedRuns when a target needs them and the model is the simulator
    (a plan's own `simulate` model has no scenario to rerun: None)."""
    from sim.scenario import Scenario

    scenario = getattr(model, "spec", None)
    if not isinstance(scenario, Scenario):
        return None
    if not any(t.measure in PAIRED_MEASURES for t in targets.targets):
        return None
    return PairedRuns(scenario, spec.seed)


#: the measures that read the touches table (the others need no touch records, which
#: makes a run cheaper)
TOUCH_MEASURES = frozenset(
    {"idc_top_three", "social_use", "win_rate", "cycle_weeks", "vendor_no_decision"}
)


def calibration_plan(targets: Targets, paired_from: int = 0) -> RunPlan:
    """Each run yields the `moments` table (a few rows per run), recording touches only
    when a target's measure reads them; `paired_from`: see moments_table."""
    touches = any(t.measure in TOUCH_MEASURES for t in targets.targets)
    compute = partial(moments_table, targets=targets, paired_from=paired_from)
    table = Table("moments", compute, touches=touches)
    return RunPlan(tables=(table,))
