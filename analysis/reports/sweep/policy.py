"""The "Policies" section of a policy sweep (one with `mix` rows: a data_loop or oracle
vendor, analysis.engine.outcomes): how the adaptive vendor moved its channel mix by
quarter, what it believed each channel returned at its first and last adjustment, and,
where `run.py dataloop` measured them (its truth file: analysis.studies.dataloop.truth),
the true returns next to the beliefs.

`check_truth` refuses a `--truth` the section cannot use (a missing file, one without the
truth columns, a sweep with no adaptive vendor to compare it with) before anything runs.
"""

from __future__ import annotations

import html
import math
from pathlib import Path

import pandas as pd

from analysis.render.html import fig_to_img, html_table
from analysis.reports.sweep.data import MAX_VARIANTS_SHOWN, SweepData, variant_order
from analysis.reports.sweep.figures import fig_policy_mix
from analysis.stats import compare
from analysis.studies.dataloop.truth import PER, TRUTH_FILE, find_truth, truth_at
from sim.scenario import ScenarioError

#: believed and true returns are shown per this much spend (as in `run.py dataloop`)
RETURN_PER = PER


def policy_vendor(d: SweepData, vendor: str | None) -> str | None:
    """The vendor whose policy the report follows: --vendor, else the strategy axis's
    vendor, else the first vendor in the `mix` table (None: no mix rows)."""
    if d.mix is None or d.mix.empty:
        return None
    have = list(dict.fromkeys(d.mix["vendor"].astype(str)))
    if vendor is not None:
        return vendor if vendor in have else None
    for a in d.info.get("axes", []):
        if a.get("kind") == "strategy" and a.get("vendor") in have:
            return a["vendor"]
    return have[0]


def check_truth(d: SweepData, vendor: str | None, truth: Path | None) -> None:
    """Refuse a `--truth` file the report cannot use, in one line: missing, lacking the
    truth columns, or given for a sweep (or a --vendor) with no adaptive policy whose
    beliefs it would stand next to."""
    if truth is None:
        return
    find_truth(d.path, truth)  # TruthError: missing or not a truth file
    if d.mix is None or d.mix.empty:
        raise ScenarioError(
            str(truth),
            "--truth",
            "this sweep is not a policy sweep (no vendor in it has a data_loop or oracle "
            "policy, so it has no beliefs to set true returns next to); leave out --truth",
        )
    if policy_vendor(d, vendor) is None:
        have = ", ".join(dict.fromkeys(d.mix["vendor"].astype(str)))
        raise ScenarioError(
            str(truth),
            "--truth",
            f"vendor {vendor} has no adaptive policy in this sweep (those that do: {have}); "
            "leave out --truth or pick one of them with --vendor",
        )


# ------------------------------------------------------------------ tables
def policy_mix_table(mix: pd.DataFrame, vendor: str) -> pd.DataFrame:
    """Per variant, quarter and channel: the vendor's mean share of its channel spend over
    replications, with n and a 95% t half-width; channels it never spends on left out."""
    m = mix[mix["vendor"] == vendor]
    used = m.groupby("channel", observed=True)["spend"].sum()
    m = m[m["channel"].isin(used[used > 0].index)]
    g = m.groupby(["variant_id", "variant", "quarter", "channel"], observed=True)["share"]
    out = g.agg(n="count", mean_share="mean", sd="std").reset_index()
    out["half_width"] = compare.t_half_width(out["sd"].to_numpy(), out["n"].to_numpy())
    out.insert(0, "vendor", vendor)
    return out.drop(columns="sd").sort_values(["variant_id", "quarter", "channel"], kind="stable")


def cadence_of(d: SweepData, variant: str, vendor: str) -> int | None:
    """A variant's adjustment cadence (weeks) for `vendor`, from its axis values."""
    runs = d.runs[d.runs["variant"] == variant]
    if runs.empty:
        return None
    r = runs.iloc[0]
    for a in d.info.get("axes", []):
        col = a.get("column", f"p:{a['name']}")
        if col not in runs:
            continue
        if f"vendors.{vendor}.data_loop.cadence_weeks" in a.get("paths", []):
            return int(float(r[col]))
        if a.get("kind") == "strategy" and a.get("vendor") == vendor:
            loop = (d.info.get("strategies", {}).get(str(r[col])) or {}).get("data_loop") or {}
            if "cadence_weeks" in loop:
                return int(loop["cadence_weeks"])
    fixed = d.info.get("set", {}).get(f"vendors.{vendor}.data_loop.cadence_weeks")
    return int(fixed) if fixed is not None else None


def belief_table(d: SweepData, vendor: str, truth: pd.DataFrame | None) -> pd.DataFrame:
    """Per variant and channel: the vendor's mean believed return at its first and last
    adjustment (per RETURN_PER spent) with 95% t intervals over replications, the mean
    share after the last adjustment, and the true return at those weeks when known."""
    b = d.beliefs
    b = b[(b["vendor"] == vendor) & b["believed_return"].notna()]
    if b.empty:
        return pd.DataFrame()
    wk = b.groupby("run_id")["week"]
    rows = []
    for which, mask in (
        ("first", b["week"] == wk.transform("min")),
        ("last", b["week"] == wk.transform("max")),
    ):
        g = b[mask].groupby(["variant_id", "variant", "channel"], observed=True)
        agg = g.agg(
            week=("week", "median"),
            n=("believed_return", "count"),
            mean=("believed_return", "mean"),
            sd=("believed_return", "std"),
            share_after=("share_after", "mean"),
        ).reset_index()
        agg["adjustment"] = which
        rows.append(agg)
    out = pd.concat(rows, ignore_index=True)
    half = compare.t_half_width(out["sd"].to_numpy(), out["n"].to_numpy())
    out["believed"] = out["mean"] * RETURN_PER
    out["ci_low"] = (out["mean"] - half) * RETURN_PER
    out["ci_high"] = (out["mean"] + half) * RETURN_PER
    out["week"] = out["week"].astype(int)
    cols = ["variant", "adjustment", "week", "channel", "n", "believed", "ci_low", "ci_high"]
    if truth is not None:
        t_rows = []
        for r in out.itertuples():
            tr = truth_at(truth, cadence_of(d, r.variant, vendor), int(r.week), r.channel)
            t_rows.append(
                [tr[k] * RETURN_PER if tr else math.nan for k in ("true_return", "low", "high")]
            )
        out[["true", "true_low", "true_high"]] = pd.DataFrame(t_rows, index=out.index)
        cols += ["true", "true_low", "true_high"]
    out["order"] = out["adjustment"].map({"first": 0, "last": 1})
    out = out.sort_values(["variant_id", "order", "channel"], kind="stable")
    return out[[*cols, "share_after"]].reset_index(drop=True)


# ------------------------------------------------------------------ the section
def policy_section(
    d: SweepData, vendor: str | None, truth: Path | None = None
) -> tuple[str, dict[str, pd.DataFrame]]:
    """The "Policies" section of a policy sweep as HTML and its tables; ("", {}) when the
    sweep (or the --vendor) has no adaptive policy."""
    focal = policy_vendor(d, vendor)
    if focal is None:
        return "", {}
    order = [v for v in variant_order(d) if v in set(d.mix["variant"].astype(str))]
    shown = order[:MAX_VARIANTS_SHOWN]
    pm = policy_mix_table(d.mix, focal)
    tables = {"policy_mix": pm}
    esc = html.escape
    parts = [
        '<h2 id="policies">Policies: how adaptive vendors moved their mix</h2>',
        f'<p class="note">{esc(focal)}\'s share of its channel spend per 13-week quarter, '
        "mean over replications, one panel per variant (a static variant keeps its plan: "
        "the reference). An oracle variant run as a plain sweep has no planner and keeps "
        "its plan. Every share with its 95% interval is in policy_mix.csv.</p>",
        fig_to_img(fig_policy_mix(pm, shown), f"{focal}: channel mix by quarter per variant"),
    ]
    if len(order) > len(shown):
        parts.append(f'<p class="note">Showing {len(shown)} of {len(order):,} variants.</p>')
    truth_df, truth_file = find_truth(d.path, truth)
    bt = (
        belief_table(d, focal, truth_df)
        if d.beliefs is not None and not d.beliefs.empty
        else pd.DataFrame()
    )
    parts.append(
        f"<h3>What {esc(focal)} believed each channel returned (per {RETURN_PER:,.0f} spent)</h3>"
    )
    if bt.empty:
        parts.append(
            '<p class="note">No data-loop adjustment in these runs (no data_loop vendor, '
            "or the runs end before its first adjustment).</p>"
        )
    else:
        tables["policy_beliefs"] = bt
        parts.append(
            '<p class="note">Believed return: the objective its own tracking credits to the '
            "channel over its window, per spend, at its first and last adjustment (week: "
            "the median over runs); mean with 95% t interval over replications; "
            "share_after: the channel's mean share after that adjustment.</p>"
        )
        show = bt[bt["variant"].isin(shown)]
        parts.append(html_table(show, percent=["share_after"]))
    parts.append(_truth_note(truth_df, truth_file))
    if truth_df is not None:
        tables["policy_truth"] = truth_df
    return "\n".join(parts), tables


def _truth_note(truth: pd.DataFrame | None, truth_file: Path | None) -> str:
    """Where the true returns come from, or how to get them."""
    if truth is None:
        return (
            '<p class="note">True returns are not in a sweep: <code>run.py dataloop FILE '
            "--out DIR</code> measures them (the oracle's counterfactual runs); put its "
            f"{TRUTH_FILE} in the sweep folder or pass <code>--truth FILE</code> to show "
            "them next to the beliefs.</p>"
        )
    return (
        f'<p class="note">True returns (true, true_low, true_high: 95% interval) from '
        f"{html.escape(str(truth_file))}, measured by <code>run.py dataloop</code> with the "
        "oracle's counterfactual runs, at the latest truth week up to each adjustment "
        "(the oracle of the same cadence where there is one). They come from that "
        "study's scenario: they match this sweep only if it ran the same file.</p>"
    )
