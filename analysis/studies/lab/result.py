"""The attribution lab's result: per replication the baseline's measured credit and the
conversions of the baseline and of each counterfactual, and the table they give.

`summarize_lab` makes the table: per channel the measured share by each credit rule
(analysis.stats.credit: first touch, last touch, linear, position-based, self-report)
next to the true incremental share with its paired 95% interval, and the incremental
ROI. All shares are of the vendor's mean conversions in the baseline runs. Unpaid sources
(peer recommendations, referrals passed on in professional networks) get measured credit
but cannot be switched off by spend.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from analysis.engine.experiment import Outcome
from analysis.stats.compare import t_half_width
from analysis.stats.credit import METHODS, SOCIAL_SELLING, UNATTRIBUTED
from analysis.studies.lab.spec import BASELINE
from sim.channels import CHANNEL_NAMES
from sim.scenario import ScenarioError


@dataclass
class LabResult:
    """The results of an attribution lab read back from its runs: per replication, the
    baseline's measured credit and the conversions of the baseline and of each
    counterfactual (ok runs only), and the summary table."""

    scenario: str
    vendor: str
    reps: int
    seeds: list[int]
    spend: dict[str, float]  # weekly spend per counterfactual line
    measured: pd.DataFrame  # replication, channel, method columns
    conversions: pd.DataFrame  # replication, counterfactual ("baseline" or line), conversions
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    outcome: Outcome | None = None
    failed: int = 0


def summarize_lab(lab: LabResult, level: float = 0.95) -> pd.DataFrame:
    """One row per channel: measured share by each rule and the true incremental share.

    Measured share = mean credited conversions over the baseline runs / mean baseline
    conversions. True lift = mean over replications of (baseline - counterfactual)
    conversions, with a paired t confidence interval over the replications where both
    runs finished; true share = lift / mean baseline conversions.
    """
    conv = lab.conversions.pivot(
        index="replication", columns="counterfactual", values="conversions"
    )
    if BASELINE not in conv:
        raise ScenarioError(lab.scenario, "runs", "no baseline run finished; see the runs table")
    base = conv[BASELINE].dropna()
    mean_base = float(base.mean())
    credit = lab.measured.groupby("channel")[list(METHODS)].sum().div(len(base))
    channels = [c for c in (*CHANNEL_NAMES, SOCIAL_SELLING) if c in credit.index or c in lab.spend]
    if UNATTRIBUTED in credit.index:
        channels.append(UNATTRIBUTED)
    credit = credit.reindex(channels).fillna(0.0)
    out = pd.DataFrame(index=pd.Index(channels, name="channel"))
    out["weekly_spend"] = [lab.spend.get(c, 0.0) for c in channels]
    denom = mean_base if mean_base > 0 else math.nan
    for m in METHODS:
        out[f"{m}_share"] = credit[m] / denom
    lift = pd.DataFrame(
        {c: conv[BASELINE] - conv[c] if c in conv else math.nan for c in lab.spend},
        index=conv.index,
        columns=list(lab.spend),
    )
    mean_lift = lift.mean()
    half = pd.Series(
        t_half_width(lift.std(ddof=1).to_numpy(), lift.count().to_numpy(), level),
        index=lift.columns,
    )
    out["true_lift"] = mean_lift.reindex(channels)
    out["true_lift_low"] = (mean_lift - half).reindex(channels)
    out["true_lift_high"] = (mean_lift + half).reindex(channels)
    out["true_share"] = out["true_lift"] / denom
    out["true_share_low"] = out["true_lift_low"] / denom
    out["true_share_high"] = out["true_lift_high"] / denom
    out = out.join(incremental_roi(lab, level).reindex(channels))
    out.attrs.update(
        vendor=lab.vendor, reps=len(base), mean_conversions=mean_base, scenario=lab.scenario
    )
    return out.reset_index()


def incremental_roi(lab: LabResult, level: float = 0.95) -> pd.DataFrame:
    """Per paid line: the incremental ROI the counterfactual runs measure,

        (revenue the line adds - what it costs) / what it costs,

    with revenue added = baseline - counterfactual revenue (paired by replication, all of
    the vendor's revenue, whatever the origin) and cost = baseline - counterfactual paid
    spend over the run. The 95% interval is that of the added revenue."""
    cols = ["incremental_revenue", "incremental_cost", "incremental_roi"]
    cols += ["incremental_roi_low", "incremental_roi_high"]
    rows = {}
    for value in ("revenue", "paid_spend"):
        rows[value] = lab.conversions.pivot(
            index="replication", columns="counterfactual", values=value
        )
    rev, cost = rows["revenue"], rows["paid_spend"]
    out = pd.DataFrame(index=pd.Index(list(lab.spend), name="channel"), columns=cols, dtype=float)
    for line in lab.spend:
        if line not in rev or BASELINE not in rev:
            continue
        added = (rev[BASELINE] - rev[line]).dropna()
        spent = float((cost[BASELINE] - cost[line]).mean())
        if added.empty or spent <= 0:
            continue
        half = float(t_half_width(added.std(ddof=1), added.count(), level))
        mean = float(added.mean())
        roi = [(x - spent) / spent for x in (mean, mean - half, mean + half)]
        out.loc[line] = [mean, spent, *roi]
    return out
