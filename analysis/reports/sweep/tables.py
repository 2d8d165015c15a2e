"""The report's tables, computed from a sweep (no HTML here): the set-up, the scorecard,
the stage funnel, source use next to the IDC ranking, win share over weeks, the paired
comparisons and the quick sensitivity screen of a sampled sweep.

Each is a DataFrame the page shows and `<stem>_tables/<name>.csv` holds with full
precision; the text cells ('mean ± half-width') are formatted here so the page and the
CSV say the same.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.reports.sweep.data import SweepData
from analysis.stats import compare
from sim.channels import CHANNEL_NAMES, IDC_TOP_THREE, RESEARCH_STAGES

FUNNEL = (
    ("reached_early", "early stage"),
    ("reached_middle", "middle stage"),
    ("reached_final", "final stage"),
    ("decided", "decided"),
    ("purchases", "purchased"),
)
#: the funnel's columns: the stages reached, then the journeys that ended otherwise
FUNNEL_COLUMNS = (*(c for c, _ in FUNNEL), "no_decisions", "open")
STAGES = ("early", "middle", "final")
#: metrics shown as percentages
SHARES = ("win_share", "originated_share")


# ------------------------------------------------------------------ the set-up
def _axis_text(a: dict) -> str:
    """One axis of sweep.json as the set-up names it."""
    if a.get("kind") == "range":
        scale = ", log scale" if a.get("log") else ""
        return f"{a['name']}: {a['low']} to {a['high']}{scale} ({', '.join(a['paths'])})"
    if a.get("kind") == "strategy":
        return f"{a['name']}: strategies of {a['vendor']}: {', '.join(a['values'])}"
    vals = ", ".join(str(v) for v in a.get("values", []))
    return f"{a['name']}: {vals} ({', '.join(a.get('paths', []))})"


def setup_table(d: SweepData, vendor: str | None = None) -> pd.DataFrame:
    """The question and set-up as (item, value) rows (with --vendor, only that vendor is
    named)."""
    info = d.info
    axes = [_axis_text(a) for a in info.get("axes", [])]
    seeds = info.get("seeds", [])
    shown_seeds = ", ".join(map(str, seeds[:10])) + (
        f", ... ({len(seeds)} seeds)" if len(seeds) > 10 else ""
    )
    rows = [
        ("sweep", info.get("name", d.path.name.removeprefix("sweep="))),
        ("question", info.get("description", "") or "-"),
        ("base scenario", f"{info.get('scenario', '?')} ({info.get('scenario_name', '?')})"),
        ("fixed changes", "; ".join(f"{k} = {v}" for k, v in info.get("set", {}).items()) or "-"),
        ("axes", " | ".join(axes) or "-"),
        (
            "sampler",
            f"{info.get('sampler')} ({info.get('samples')} points)"
            if info.get("sampler")
            else "grid",
        ),
        ("variants", f"{d.runs_all['variant_id'].nunique():,}"),
        ("replications", str(info.get("replications", d.runs_all["replication"].nunique()))),
        ("base seed", str(info.get("seed", "-"))),
        ("replication seeds (same for every variant)", shown_seeds or "-"),
        ("runs", f"{len(d.runs_all):,} ({len(d.runs):,} ok, {d.failed:,} failed and left out)"),
        (
            "vendors",
            f"{vendor} (this report; --vendor filters every section and table)"
            if vendor
            else ", ".join(info.get("vendors", sorted(d.vendors["vendor"].unique()))),
        ),
    ]
    post = info.get("posterior")
    if isinstance(post, dict):
        rows.append(
            (
                "posterior (one draw per replication, the same for every variant)",
                f"{post.get('file')} (parameters {', '.join(post.get('parameters', []))}; "
                f"{post.get('particles')} particles; sha256 {str(post.get('sha256'))[:12]})",
            )
        )
    return pd.DataFrame(rows, columns=["item", "value"])


# ------------------------------------------------------------------ numbers as text
def fmt_metric(metric: str, x: float) -> str:
    """One value of a vendor metric as the report shows it (%, k, M, 2 decimals for ROI)."""
    if x is None or math.isnan(x):
        return "-"
    if metric in SHARES:
        return f"{100 * x:.1f}%"
    if metric == "roi":
        return f"{x:,.2f}"
    if metric in ("revenue", "marketing_spend", "cost_per_acquisition"):
        if abs(x) >= 1e6:
            return f"{x / 1e6:,.2f}M"
        if abs(x) >= 1e3:
            return f"{x / 1e3:,.1f}k"
        return f"{x:,.0f}"
    return f"{x:,.1f}"


def mean_pm(metric: str, mean: float, half: float) -> str:
    """'mean ± half-width' as shown in the report (the test recomputes this string)."""
    m = fmt_metric(metric, mean)
    if half is None or math.isnan(half):
        return m
    if metric in SHARES:
        return f"{m} ± {100 * half:.1f}"
    return f"{m} ± {fmt_metric(metric, half)}"


# ------------------------------------------------------------------ scorecard and funnel
def vendor_summary(d: SweepData) -> pd.DataFrame:
    """Mean, 95% t interval and n of every vendor metric per variant and vendor."""
    return compare.summarize(
        d.vendors, ["variant_id", "variant", "vendor"], list(compare.VENDOR_METRICS)
    )


def scorecard(summary: pd.DataFrame) -> pd.DataFrame:
    """The long summary (mean, CI per metric) as a readable wide table of 'mean ± hw'."""
    s = summary.copy()
    s["text"] = [
        mean_pm(m, a, h) for m, a, h in zip(s["metric"], s["mean"], s["half_width"], strict=True)
    ]
    wide = s.pivot_table(
        index=["variant_id", "variant", "vendor"], columns="metric", values="text", aggfunc="first"
    )
    wide = wide.reindex(columns=list(compare.VENDOR_METRICS)).rename(columns=compare.VENDOR_METRICS)
    n = s.groupby(["variant_id", "variant", "vendor"])["n"].max().rename("runs")
    return wide.join(n).reset_index().drop(columns="variant_id")


def funnel_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean journeys reaching each stage per variant, with 95% CI."""
    cols = list(FUNNEL_COLUMNS)
    frame = runs[["variant_id", "variant", *cols]].astype({c: float for c in cols})
    return compare.summarize(frame, ["variant_id", "variant"], cols)


def funnel_wide(funnel: pd.DataFrame, variants: list[str]) -> pd.DataFrame:
    """The funnel of `variants` as one row per variant of 'mean ± half-width' texts."""
    fshow = funnel[funnel["variant"].isin(variants)].copy()
    fshow["value"] = [
        f"{m:,.1f} ± {h:,.1f}" if not math.isnan(h) else f"{m:,.1f}"
        for m, h in zip(fshow["mean"], fshow["half_width"], strict=True)
    ]
    fw = fshow.pivot_table(
        index=["variant_id", "variant"], columns="metric", values="value", aggfunc="first"
    )
    return fw.reindex(columns=list(FUNNEL_COLUMNS)).reset_index().drop(columns="variant_id")


# ------------------------------------------------------------------ sources and weeks
def source_use_shares(source_use: pd.DataFrame) -> pd.DataFrame:
    """Share of each stage's consultations per channel, over all ok runs (stage x channel)."""
    tot = (
        source_use.groupby(["stage", "channel"], observed=True)["touches"].sum().unstack("channel")
    )
    tot = tot.reindex(index=list(STAGES), columns=list(CHANNEL_NAMES)).fillna(0)
    return tot.div(tot.sum(axis=1).replace(0, np.nan), axis=0)


def source_use_long(shares: pd.DataFrame) -> pd.DataFrame:
    """The shares as (stage, channel, share) rows: the source_use table's CSV."""
    return shares.reset_index().melt(id_vars="stage", var_name="channel", value_name="share")


def idc_table(shares: pd.DataFrame) -> pd.DataFrame:
    """The model's top three sources per stage next to the IDC ranking (docs/sources.md §1)."""
    rows = []
    for st in RESEARCH_STAGES:
        label = st.label
        top = shares.loc[label].sort_values(ascending=False).index[:3].tolist()
        idc = list(IDC_TOP_THREE[st])
        rows.append(
            {
                "stage": label,
                "IDC top three": " > ".join(idc),
                "simulated top three": " > ".join(top),
                "same order": top == idc,
            }
        )
    return pd.DataFrame(rows)


def win_share_weeks(weekly_vendors: pd.DataFrame) -> pd.DataFrame:
    """Cumulative win share per variant, week and vendor: mean over replications of each
    vendor's conversions so far divided by all vendors' conversions so far."""
    w = weekly_vendors.sort_values(["run_id", "vendor", "week"], kind="stable")
    w = w.assign(cum=w.groupby(["run_id", "vendor"], observed=True)["conversions"].cumsum())
    total = w.groupby(["run_id", "week"], observed=True)["cum"].transform("sum")
    w = w.assign(share=w["cum"] / total.where(total > 0))
    return (
        w.groupby(["variant_id", "variant", "week", "vendor"], observed=True)["share"]
        .mean()
        .reset_index(name="cumulative_win_share")
    )


# ------------------------------------------------------------------ comparisons
#: the comparisons' columns the page shows (comparisons.csv holds them all)
COMPARISON_COLUMNS = (
    "vendor",
    "variant",
    "metric",
    "n_pairs",
    "diff",
    "ci_low",
    "ci_high",
    "p_value",
    "p_holm",
    "verdict",
)


def comparisons_table(d: SweepData, reference: str) -> pd.DataFrame:
    """Every variant against `reference`, paired by replication, for every vendor metric
    (Holm's adjustment within each vendor and metric)."""
    return pd.concat(
        [
            compare.paired_differences(d.vendors, reference, m, holm_by=["vendor"])
            for m in compare.VENDOR_METRICS
        ],
        ignore_index=True,
    )


# ------------------------------------------------------------------ sensitivity screen
def range_axes(info: dict) -> list[dict]:
    """The range axes of a sampled sweep (none: a grid sweep)."""
    return [a for a in info.get("axes", []) if a.get("kind") == "range"]


def sensitivity_frame(d: SweepData, focal: str) -> tuple[pd.DataFrame, list[str]]:
    """Per ok run: the axes' parameters, all purchases and `focal`'s conversions, and the
    parameter columns."""
    params = [a.get("column", f"p:{a['name']}") for a in d.info.get("axes", [])]
    params = [p for p in params if p in d.runs.columns]
    fv = d.vendors.loc[d.vendors["vendor"] == focal, ["run_id", "conversions"]]
    frame = d.runs[["run_id", *params, "purchases"]].merge(fv, on="run_id")
    frame["purchases"] = frame["purchases"].astype(float)
    frame["conversions"] = frame["conversions"].astype(float)
    return frame, params


def sensitivity_table(frame: pd.DataFrame, params: list[str], focal: str) -> pd.DataFrame:
    """The quick screen (eta² of binned means, Spearman's rho) of `focal`'s conversions
    and of all purchases."""
    return pd.concat(
        [
            compare.sensitivity(frame, params, "conversions").assign(
                outcome=f"{focal} conversions"
            ),
            compare.sensitivity(frame, params, "purchases").assign(outcome="all purchases"),
        ],
        ignore_index=True,
    )
