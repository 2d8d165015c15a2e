"""The answers a sweep gives, computed (the page's words are analysis.reports.sweep.page).

Per vendor the sweep asks about (the vendors its axes change): the best variant by a
vendor metric, its probability of being best, and its paired difference to the runner-up
with Holm's adjustment within the vendor's family of comparisons.

- grid sweeps (`answers_table`): within each group of variants that differ only in the
  vendor's choices, at one budget (equal budget wherever a budget axis exists) and one set
  of other conditions; the replications are the paired units;
- sampled sweeps (`sampled_answers_table`): the vendor's choices crossed with the sampled
  points, best on average over the points; the points are the paired units.

A sweep run across a posterior (`run.py sweep --posterior`) ran replication r of every
variant under one drawn parameter set (the runs' `post:<name>` columns), so the
replications carry parameter uncertainty and a grid answer also names the drawn
parameter its best-vs-runner-up difference depends on most (`depends_on`, Spearman, and
the best's lead share either side of that parameter's median: analysis.stats.verdict).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from analysis.reports.sweep.data import SweepData, drawn_columns
from analysis.stats import compare
from analysis.stats.verdict import depends_most

#: bootstrap resamples of the replications for the probability of being best
BOOTSTRAP = 2000


def answers(d: SweepData, vendors: list[str], metric: str = "conversions") -> pd.DataFrame:
    """The answers of a grid sweep with replications, else those of a sampled sweep (the
    best choice over the sampled conditions); empty when there is nothing to answer."""
    reps = int(d.runs["replication"].nunique())
    out = answers_table(d, vendors, metric) if reps > 1 else pd.DataFrame()
    if out.empty:
        out = sampled_answers_table(d, vendors, metric)
    return out


# ------------------------------------------------------------------ whose choices
def _budget_path(vendor: str) -> str:
    return f"vendors.{vendor}.weekly_budget"


def vendor_choices(info: dict[str, Any], vendor: str) -> tuple[list[dict], list[dict]]:
    """The axes that change `vendor` (its choices) and, of them, those that set its
    weekly budget (a grid axis on the path, or a strategy axis whose strategies set it)."""
    choices, budgets = [], []
    strategies = info.get("strategies", {}) or {}
    for a in info.get("axes", []):
        if a.get("kind") == "range":
            continue
        if a.get("kind") == "strategy":
            if a.get("vendor") != vendor:
                continue
            choices.append(a)
            if any("weekly_budget" in strategies.get(v, {}) for v in a.get("values", [])):
                budgets.append(a)
        elif any(p.startswith(f"vendors.{vendor}.") for p in a.get("paths", [])):
            choices.append(a)
            if _budget_path(vendor) in a.get("paths", []):
                budgets.append(a)
    return choices, budgets


def asked_vendors(info: dict[str, Any], vendors: list[str]) -> list[str]:
    """The vendors the sweep asks about: those an axis changes (all, if none does)."""
    asked = [v for v in vendors if vendor_choices(info, v)[0]]
    return asked or list(vendors)


def _variant_frame(d: SweepData) -> pd.DataFrame:
    cols = [c for c in d.runs.columns if c.startswith("p:")]
    return (
        d.runs[["variant_id", "variant", *cols]].drop_duplicates("variant_id").set_index("variant")
    )


def variant_budget(info: dict[str, Any], vf: pd.DataFrame, vendor: str, budget_axes: list[dict]):
    """Each variant's weekly budget for `vendor` (None where no axis sets it)."""
    strategies = info.get("strategies", {}) or {}
    out = pd.Series([None] * len(vf), index=vf.index, dtype=object)
    for a in budget_axes:
        col = a.get("column", f"p:{a['name']}")
        if col not in vf:
            continue
        if a.get("kind") == "strategy":
            vals = vf[col].map(lambda x: strategies.get(str(x), {}).get("weekly_budget"))
        else:
            vals = vf[col]
        out = out.where(out.notna(), vals)
    return out


# ------------------------------------------------------------------ grid sweeps
def _groups(info: dict[str, Any], vf: pd.DataFrame, vendor: str) -> tuple[pd.DataFrame, bool]:
    """Per variant, the keys of its group (budget and the other axes' values), and
    whether the groups compare at equal budget."""
    choices, budgets = vendor_choices(info, vendor)
    axes = [a for a in info.get("axes", []) if a.get("kind") != "range"]
    if not choices:
        choices = axes
    names = {a["name"] for a in choices}
    others = [a for a in axes if a["name"] not in names]
    budget = variant_budget(info, vf, vendor, budgets)
    equal_budget = (
        bool(budgets)
        and len(budgets) < len(choices)
        or (bool(budgets) and budget.nunique() > 0 and len(choices) > len(budgets))
    )
    if budgets and not equal_budget:
        budget = pd.Series([None] * len(vf), index=vf.index, dtype=object)
    keys = pd.DataFrame(index=vf.index)
    keys["budget"] = budget.astype(object).where(budget.notna(), "-")
    for a in others:
        col = a.get("column", f"p:{a['name']}")
        keys[a["name"]] = vf[col].astype(str) if col in vf else "-"
    return keys, equal_budget


def answers_table(d: SweepData, vendors: list[str], metric: str = "conversions") -> pd.DataFrame:
    """For each vendor asked about, within each group of variants that differ only in that
    vendor's choices at one budget (equal budget wherever a budget axis exists) and one
    set of other conditions: the best variant by mean `metric`, its probability of being
    best (a bootstrap over replications: the share of BOOTSTRAP resamples of the paired
    replications in which its mean is highest; also the share of replications in which it
    did best), and the paired difference to the runner-up with its 95% t interval and
    Holm's adjustment over the vendor's comparisons of this metric (one family). For a
    metric where less is better (compare.LOWER_IS_BETTER) the best is the lowest."""
    info = d.info
    vf = _variant_frame(d)
    if any(a.get("kind") == "range" for a in info.get("axes", [])) or len(vf) < 2:
        return pd.DataFrame()
    rows = []
    rng = np.random.default_rng(0)
    drawn = _drawn_by_replication(d)
    for vendor in vendors:
        keys, equal_budget = _groups(info, vf, vendor)
        sub = d.vendors[d.vendors["vendor"] == vendor]
        wide = sub.pivot_table(
            index="replication", columns="variant", values=metric, aggfunc="first"
        )
        for key, g in keys.groupby(list(keys.columns), sort=False, dropna=False):
            members = [v for v in g.index if v in wide.columns]
            if len(members) < 2:
                continue
            w = wide[members].dropna()
            if len(w) < 2:
                continue
            stats = _best_and_runner_up(
                w.to_numpy(float), members, w.index.to_numpy(), vendor, metric, rng
            )
            if drawn is not None:
                stats.update(_dependence(w, stats["best"], stats["runner_up"], metric, drawn))
            key = key if isinstance(key, tuple) else (key,)
            cond = dict(zip(keys.columns, key, strict=True))
            rows.append(
                {
                    "vendor": vendor,
                    "metric": metric,
                    "budget": cond.pop("budget"),
                    "conditions": ", ".join(f"{k}={v}" for k, v in cond.items()) or "-",
                    "equal_budget": equal_budget,
                    "variants": len(members),
                    **stats,
                }
            )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["sampled"] = False
    out["points"] = 0
    return _holm_and_words(out, metric)


def _drawn_by_replication(d: SweepData) -> pd.DataFrame | None:
    """The drawn parameter values per replication (one row per replication, one column
    per parameter), None for a sweep run without a posterior."""
    cols = drawn_columns(d)
    if not cols:
        return None
    per = d.runs.drop_duplicates("replication").set_index("replication")[cols]
    return per.rename(columns={c: c.removeprefix("post:") for c in cols})


def _dependence(
    w: pd.DataFrame, best: str, runner: str, metric: str, drawn: pd.DataFrame
) -> dict[str, Any]:
    """The drawn parameter the best-vs-runner-up difference depends on most (empty
    cells when none does)."""
    diff = w[best] - w[runner]
    if metric in compare.LOWER_IS_BETTER:
        diff = -diff
    dep = depends_most(diff.to_numpy(float), drawn.reindex(diff.index))
    if dep is None:
        return {"depends_on": "-", "depends_rho": np.nan, "depends_split": np.nan,
                "depends_strict": False, "best_share_above": np.nan,
                "best_share_below": np.nan}  # fmt: skip
    return {
        "depends_on": dep.name,
        "depends_rho": dep.rho,
        "depends_split": dep.split,
        "depends_strict": dep.strict,  # above is > split (else >= split)
        "best_share_above": dep.share_above,
        "best_share_below": dep.share_below,
    }


# ------------------------------------------------------------------ sampled sweeps
def sampled_answers_table(
    d: SweepData, vendors: list[str], metric: str = "conversions"
) -> pd.DataFrame:
    """For a sampled sweep (range axes: the uncertainties) in which a vendor's choices
    are crossed with the sampled points: per vendor, the choice best on average over the
    sampled conditions by `metric` (each point's replications averaged first: the points
    are the independent units), its probability of being best (the share of BOOTSTRAP
    resamples of the points in which its mean is highest), the share of points at which
    it did best, and the difference to the runner-up paired by point with its 95% t
    interval (Holm within the vendor's family). Empty when no vendor's choices are
    crossed with at least two points. Where each choice wins: `run.py discover`."""
    info = d.info
    axes = info.get("axes", [])
    if not any(a.get("kind") == "range" for a in axes):
        return pd.DataFrame()
    vf = _variant_frame(d)
    rng = np.random.default_rng(0)
    rows = []
    for vendor in vendors:
        choices, _budgets = vendor_choices(info, vendor)
        if not choices:
            continue
        names = {a["name"] for a in choices}
        choice_cols = [a.get("column", f"p:{a['name']}") for a in choices]
        point_axes = [a for a in axes if a["name"] not in names]
        point_cols = [a.get("column", f"p:{a['name']}") for a in point_axes]
        if not point_cols or any(c not in vf for c in choice_cols + point_cols):
            continue
        per_point = _per_point(d, vf, vendor, metric, choices, choice_cols, point_cols)
        if per_point.shape[1] < 2 or len(per_point) < 2:
            continue
        members = list(per_point.columns)
        stats = _best_and_runner_up(
            per_point.to_numpy(float), members, np.arange(len(per_point)), vendor, metric, rng
        )
        rows.append(
            {
                "vendor": vendor,
                "metric": metric,
                "budget": "-",
                "conditions": ", ".join(a["name"] for a in point_axes),
                "equal_budget": False,
                "variants": len(members),
                **stats,
                "sampled": True,
                "points": len(per_point),
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    return _holm_and_words(out, metric)


def _per_point(
    d: SweepData,
    vf: pd.DataFrame,
    vendor: str,
    metric: str,
    choices: list[dict],
    choice_cols: list[str],
    point_cols: list[str],
) -> pd.DataFrame:
    """The vendor's mean `metric` per sampled point (rows) and choice (columns, labelled
    "axis=value,..."), points where a choice is missing left out."""
    label = pd.Series("", index=vf.index)
    for i, (a, col) in enumerate(zip(choices, choice_cols, strict=True)):
        label = label + ("," if i else "") + f"{a['name']}=" + vf[col].astype(str)
    point = vf[point_cols].astype(str).agg("|".join, axis=1)
    sub = d.vendors[d.vendors["vendor"] == vendor]
    sub = sub.assign(choice=sub["variant"].map(label), point=sub["variant"].map(point))
    per_point = sub.pivot_table(index="point", columns="choice", values=metric, aggfunc="mean")
    return per_point.dropna()


# ------------------------------------------------------------------ best, runner-up, Holm
def _best_and_runner_up(
    values: np.ndarray,
    members: list[str],
    pairs: np.ndarray,
    vendor: str,
    metric: str,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """The best of `members` by mean `metric` (columns of `values`, one row per paired
    unit: a replication, or a sampled point; the lowest for a cost metric), the share of
    BOOTSTRAP resamples of the units in which it is best and the share of units in which
    it did best (ties shared), and its paired difference to the runner-up."""
    x = -values if metric in compare.LOWER_IS_BETTER else values
    order = np.argsort(-x.mean(axis=0), kind="stable")
    best, runner = members[order[0]], members[order[1]]
    boot = x[rng.integers(0, len(x), size=(BOOTSTRAP, len(x)))].mean(axis=1)
    top = boot == boot.max(axis=1, keepdims=True)
    wins = x == x.max(axis=1, keepdims=True)
    frame = pd.DataFrame(
        {
            "variant": np.repeat([best, runner], len(x)),
            "replication": np.tile(pairs, 2),
            "vendor": vendor,
            metric: np.concatenate([values[:, order[0]], values[:, order[1]]]),
        }
    )
    pdiff = compare.paired_differences(frame, runner, metric).iloc[0]
    return {
        "best": best,
        "p_best": float((top / top.sum(axis=1, keepdims=True))[:, order[0]].mean()),
        "best_share_of_replications": float(
            (wins / wins.sum(axis=1, keepdims=True))[:, order[0]].mean()
        ),
        "runner_up": runner,
        "mean_best": float(values[:, order[0]].mean()),
        "mean_runner_up": float(values[:, order[1]].mean()),
        "n_pairs": int(pdiff.n_pairs),
        "diff": float(pdiff["diff"]),
        "half_width": float(pdiff.half_width),
        "ci_low": float(pdiff.ci_low),
        "ci_high": float(pdiff.ci_high),
        "p_value": float(pdiff.p_value),
    }


def _holm_and_words(out: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Holm's adjustment within each vendor's family of this metric, the verdicts and
    the plain sentences of an answers table."""
    out["family_size"] = out.groupby(["vendor", "metric"])["p_value"].transform("size")
    out["p_holm"] = np.nan
    for _, idx in out.groupby(["vendor", "metric"]).groups.items():
        out.loc[idx, "p_holm"] = compare.holm(out.loc[idx, "p_value"].to_numpy(float))
    out["verdict"] = [
        compare.verdict(p, dv, n)
        for p, dv, n in zip(out["p_holm"], out["diff"], out["n_pairs"], strict=True)
    ]
    out["plain"] = [
        compare.plain_sentence(r.best, r.runner_up, metric, r.diff, r.ci_low, r.ci_high, r.verdict)
        for r in out.itertuples()
    ]
    return out
