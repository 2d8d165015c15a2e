"""What a DATA-loop study found: its result (`StudyResult`) and the tables made from it.

    tables = summarize_study(res)   # summary, vs_reference, cost, mix, truth, beliefs, cadence

- summary: per variant and metric, the mean and its 95% interval over the replications;
- vs_reference: paired differences of each variant from the reference (the first static);
- cost: the cost of mis-measurement, the oracle of the same cadence minus each variant;
- mix: the focal vendor's share of spend per line, quarter by quarter;
- truth: each oracle's true return per channel at each adjustment (dataloop_truth.csv);
- beliefs: what each data-loop variant believed at its first adjustment, next to the truth;
- cadence: per data-loop variant, the budget moved per adjustment and the moves that went
  the wrong way against the truth.

The truth lookups are analysis.studies.dataloop.truth's, the same the sweep report and the
live view use.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis.stats.compare import paired_differences, summarize, t_half_width
from analysis.studies.dataloop.spec import Study
from analysis.studies.dataloop.truth import returns_at, truth_at

#: the focal vendor's metrics the tables compare, and their names on screen
METRICS = {
    "conversions": "conversions",
    "roi": "ROI",
    "originated": "mkt-originated customers",
}


@dataclass
class StudyResult:
    """A study's runs and what its oracles planned, with the tables made from them."""

    study: Study
    runs: pd.DataFrame  # ok runs: variant, replication, focal columns
    vendors: pd.DataFrame
    mix: pd.DataFrame
    beliefs: pd.DataFrame
    truth: dict[str, pd.DataFrame]  # oracle variant label -> planner's truth table
    schedules: dict[str, list[dict[str, Any]]]
    ran: int = 0
    already: int = 0
    elapsed_s: float = 0.0
    failed: int = 0
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def truth_table(res: StudyResult) -> pd.DataFrame | None:
    """Every oracle's truth table in one, labelled by oracle (None: no oracle)."""
    frames = [t.assign(oracle=label) for label, t in res.truth.items()]
    return pd.concat(frames, ignore_index=True) if frames else None


def summarize_study(res: StudyResult, level: float = 0.95) -> dict[str, pd.DataFrame]:
    """The study's tables (see the module doc); none when no run finished."""
    runs = res.runs.copy()
    runs["variant"] = runs["variant"].astype(str)
    for m in METRICS:
        runs[m] = runs[m].astype(float)
    out: dict[str, pd.DataFrame] = {}
    if not len(runs):
        return out
    order = [v.label for v in res.study.variants]
    summ = summarize(runs, ["variant"], list(METRICS), level)
    summ["order"] = summ["variant"].map(order.index)
    out["summary"] = summ.sort_values(["order", "metric"], kind="stable").drop(columns="order")
    diffs = [
        paired_differences(runs, res.study.reference, m, group=(), level=level) for m in METRICS
    ]
    out["vs_reference"] = pd.concat(diffs, ignore_index=True)
    out["cost"] = cost_table(res.study, runs, level)
    if len(res.mix):
        out["mix"] = mix_table(res.mix, order)
    truth = truth_table(res)
    if truth is not None:
        out["truth"] = truth
    if len(res.beliefs):
        b = res.beliefs.copy()
        b["variant"] = b["variant"].astype(str)
        out["beliefs"] = beliefs_table(res.study, b, truth, level)
        out["cadence"] = cadence_table(res, b)
    return out


def cost_table(study: Study, runs: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """The cost of mis-measurement: per non-oracle variant and metric, the oracle of the
    same cadence (else the first oracle) minus the variant, paired."""
    rows = []
    oracles = [v for v in study.variants if v.policy == "oracle"]
    for v in study.variants:
        if v.policy == "oracle" or not oracles:
            continue
        o = next((x for x in oracles if x.cadence == v.cadence), oracles[0])
        pair = runs[runs["variant"].isin([v.label, o.label])]
        for m in METRICS:
            d = paired_differences(pair, v.label, m, group=(), level=level)
            for r in d.itertuples():
                rows.append(
                    {
                        "variant": v.label,
                        "oracle": o.label,
                        "metric": m,
                        "n_pairs": r.n_pairs,
                        "cost": r.diff,
                        "ci_low": r.ci_low,
                        "ci_high": r.ci_high,
                        "verdict": r.verdict,
                        "unpaired_half_width": r.unpaired_half_width,
                        "half_width": r.half_width,
                    }
                )
    return pd.DataFrame(rows)


def mix_table(mix: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """The focal vendor's mean share of spend per variant, quarter and line."""
    mix = mix.copy()
    mix["variant"] = mix["variant"].astype(str)
    tot = mix.groupby(["variant", "replication", "quarter"])["spend"].transform("sum")
    mix["share"] = np.where(tot > 0, mix["spend"] / tot, 0.0)
    m = mix.groupby(["variant", "quarter", "line"], as_index=False)["share"].mean()
    m["order"] = m["variant"].map(order.index)
    return m.sort_values(["order", "quarter", "line"]).drop(columns="order")


def beliefs_table(
    study: Study, beliefs: pd.DataFrame, truth: pd.DataFrame | None, level: float = 0.95
) -> pd.DataFrame:
    """Per data-loop variant and channel at its first adjustment: the believed return
    (mean and interval over the replications) next to the true one at that week."""
    by_label = {v.label: v for v in study.variants}
    first = beliefs[beliefs["week"] == beliefs.groupby("variant")["week"].transform("min")]
    rows = []
    for (label, ch), g in first.groupby(["variant", "channel"], sort=False):
        vals = g["believed_return"].astype(float)
        half = float(t_half_width(np.array([vals.std(ddof=1)]), np.array([vals.count()]), level)[0])
        week = int(g["week"].iloc[0])
        tr = truth_at(truth, by_label[label].cadence, week, ch) if truth is not None else None
        rows.append(
            {
                "variant": label,
                "week": week,
                "channel": ch,
                "believed": float(vals.mean()),
                "believed_low": float(vals.mean()) - half,
                "believed_high": float(vals.mean()) + half,
                "true": tr["true_return"] if tr else math.nan,
                "true_low": tr["low"] if tr else math.nan,
                "true_high": tr["high"] if tr else math.nan,
            }
        )
    return pd.DataFrame(rows)


def cadence_table(res: StudyResult, beliefs: pd.DataFrame) -> pd.DataFrame:
    """Per data-loop variant: adjustments that moved budget, the budget moved per
    adjustment (mean and sd over runs and adjustments), and the share of moves that went
    the wrong way against the truth (the channel that gained has a lower true return than
    the one that lost, truth from the oracle at that week)."""
    rows = []
    by_label = {v.label: v for v in res.study.variants}
    truth = truth_table(res)
    for label, g in beliefs.groupby("variant", sort=False):
        v = by_label[label]
        moved, wrong, judged = [], 0, 0
        for (_rep, week), a in g.groupby(["replication", "week"]):
            delta = (a["share_after"] - a["share_before"]).astype(float).to_numpy()
            amount = float(np.abs(delta).sum() / 2)
            moved.append(amount)
            if amount <= 1e-9:
                continue
            gain = str(a["channel"].iloc[int(delta.argmax())])
            loss = str(a["channel"].iloc[int(delta.argmin())])
            true = returns_at(truth, v.cadence, int(week)) if truth is not None else {}
            if gain in true and loss in true:
                judged += 1
                wrong += true[gain] < true[loss]
        moved_a = np.array(moved)
        rows.append(
            {
                "variant": label,
                "cadence": v.cadence or 0,
                "adjustments": len(moved_a),
                "moves": int((moved_a > 1e-9).sum()),
                "moved_mean": float(moved_a.mean()) if len(moved_a) else math.nan,
                "moved_sd": float(moved_a.std(ddof=1)) if len(moved_a) > 1 else math.nan,
                "wrong_way": wrong / judged if judged else math.nan,
                "judged": judged,
            }
        )
    return pd.DataFrame(rows)
