"""The attribution lab: what measured attribution says a channel did, against what it did.

Measured credit (analysis.stats.credit: first touch, last touch, linear, position-based,
self-report) is compared with the ground truth: a channel's incremental conversions, the
vendor's conversions lost when its spend in that channel is set to zero
(`without_channel_spend`). Social-selling contacts are their own line (their spend is
separate from the channel mix). Unpaid sources (peer recommendations, referrals passed on
in professional networks) get measured credit but cannot be switched off by spend.

The lab is an experiment of the engine (analysis.engine.experiment): variants = the baseline plus one
counterfactual per paid line of the vendor (`counterfactuals`), replications seeded with
SeedSequence like sweeps; replication r uses the same seed in every variant (common random
numbers), so each difference baseline - counterfactual is paired and caused by the
removed spend alone. Each run writes its `runs` row (with the vendor's conversions) and,
for the baseline, its measured credit (`credit` table) as chunked Parquet; a rerun into
the same folder runs only what is missing, on a process pool or Dask, and a run that
raises is a failure row. `summarize_lab` computes the table from the stored rows.

All shares are of the vendor's mean conversions in the baseline runs.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.engine.design import RunSpec, Variant, expand_runs, replication_seeds, scenario_hash
from analysis.engine.experiment import Experiment, Outcome, RunPlan, Table, run_experiment
from analysis.engine.parts import load_table
from analysis.render.html import fig_to_img, html_page, html_table, pyplot
from analysis.stats.compare import t_half_width
from analysis.stats.credit import METHODS, SOCIAL_SELLING, UNATTRIBUTED, measured_credit
from sim.channels import CHANNEL_NAMES
from sim.scenario import Scenario, ScenarioError

BASELINE = "baseline"


# ------------------------------------------------------------------ the design
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


# ------------------------------------------------------------------ running
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


def run_lab(
    scenario: Scenario,
    vendor: str,
    reps: int,
    out: str | Path | None = None,
    workers: int = 1,
    dask: str | None = None,
    retry_failed: bool = False,
    progress: bool = False,
) -> LabResult:
    """Run the runs of the lab that `out` does not hold yet, then read all of them back.

    `out`: the lab's runs folder (chunked Parquet, resumable); None runs into a temporary
    folder removed afterwards. Returns the LabResult with its summary table filled in
    (empty if the runs were interrupted before all finished).
    """
    check_lab(scenario, vendor, reps)
    exp = lab_experiment(scenario, vendor, reps)
    spend = {k: s for k, (_, s) in counterfactuals(scenario, vendor).items()}
    if out is None:
        with tempfile.TemporaryDirectory(prefix="attribution-") as tmp:
            return run_lab(scenario, vendor, reps, tmp, workers, dask, retry_failed, progress)
    info = {
        "scenario": scenario.name,
        "scenario_hash": scenario_hash(scenario),
        "vendor": vendor,
        "replications": reps,
        "seed": scenario.seed,
        "seeds": replication_seeds(scenario.seed, reps),
        "spend": spend,
        "variants": [v.label for v in lab_variants(scenario, vendor)],
    }
    outcome = run_experiment(
        exp, out, workers, dask, retry_failed, progress, info=info, info_file="lab.json"
    )
    lab = read_lab(exp, out, spend)
    lab.outcome = outcome
    if outcome.complete:
        lab.table = summarize_lab(lab)
    return lab


def read_lab(exp: Experiment, out: str | Path, spend: dict[str, float]) -> LabResult:
    """The lab's stored rows (this experiment's run ids only, ok runs only)."""
    ids = {s.run_id for s in exp.runs}
    runs = load_table(out, "runs", ids)
    failed = int((runs["status"] != "ok").sum()) if len(runs) else 0
    ok = runs[runs["status"] == "ok"] if len(runs) else runs
    conversions = pd.DataFrame(
        {
            "counterfactual": ok.get("variant", pd.Series(dtype="string")).astype(str),
            "replication": ok.get("replication", pd.Series(dtype=int)).astype(int),
            "conversions": ok.get("conversions", pd.Series(dtype=int)).astype(int),
            "revenue": ok.get("revenue", pd.Series(dtype=float)).astype(float),
            "paid_spend": ok.get("paid_spend", pd.Series(dtype=float)).astype(float),
        }
    ).reset_index(drop=True)
    credit = load_table(out, "credit", set(ok.get("run_id", ())))
    measured = credit[["replication", "channel", *METHODS]] if len(credit) else credit
    seeds = [s.seed for s in exp.runs if s.variant_id == 0]  # replication order
    return LabResult(
        scenario=exp.scenario.name,
        vendor=str(exp.runs[0].params["vendor"]),
        reps=len(seeds),
        seeds=seeds,
        spend=spend,
        measured=measured,
        conversions=conversions,
        failed=failed,
    )


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


# ------------------------------------------------------------------ output
def _pct(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def format_lab(table: pd.DataFrame) -> str:
    """The lab's table and a bar per channel (last touch vs truth) for the terminal."""
    from analysis.render.terminal import format_table

    a = table.attrs
    headers = ["channel", "spend/wk", *(METHODS.values()), "true lift (95% CI)", "true share"]
    headers.append("incr. ROI (95% CI)")
    rows = []
    for r in table.itertuples():
        if math.isnan(r.true_lift):
            truth, share = "not bought", "-"
        else:
            truth = f"{r.true_lift:,.1f} [{r.true_lift_low:,.1f}, {r.true_lift_high:,.1f}]"
            share = _pct(r.true_share)
        roi = "-"
        if not math.isnan(r.incremental_roi):
            lo, hi = r.incremental_roi_low, r.incremental_roi_high
            roi = f"{r.incremental_roi:,.2f} [{lo:,.2f}, {hi:,.2f}]"
        rows.append(
            [
                r.channel,
                f"{r.weekly_spend:,.0f}" if r.weekly_spend else "-",
                *(_pct(getattr(r, f"{m}_share")) for m in METHODS),
                truth,
                share,
                roi,
            ]
        )
    head = (
        f"attribution of {a.get('vendor')}'s conversions in {a.get('scenario')} "
        f"({a.get('reps')} paired replications, {a.get('mean_conversions', 0):,.1f} "
        "conversions per run)"
    )
    bars = ["", "measured (last touch, #) vs true incremental share (=):"]
    width = max(len(c) for c in table["channel"])
    for r in table.itertuples():
        lt = r.last_touch_share
        tr = 0.0 if math.isnan(r.true_share) else max(r.true_share, 0.0)
        bars.append(f"  {r.channel.ljust(width)}  {'#' * round(40 * lt):<40} {_pct(lt)}")
        if not math.isnan(r.true_share):
            bars.append(f"  {''.ljust(width)}  {'=' * round(40 * tr):<40} {_pct(r.true_share)}")
    return "\n".join([head, "", format_table(headers, rows), *bars])


def lab_figure(table: pd.DataFrame):
    """Per channel: measured share by each rule (bars) and the true incremental share
    with its 95% CI (black dot and whiskers). Returns a matplotlib Figure."""
    plt = pyplot()
    t = table[table["channel"] != UNATTRIBUTED].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(t) + 1.5), dpi=80)
    y = np.arange(len(t))
    h = 0.8 / (len(METHODS) + 1)
    for i, (m, label) in enumerate(METHODS.items()):
        ax.barh(y - 0.4 + (i + 0.5) * h, t[f"{m}_share"], height=h, label=label)
    ty = y - 0.4 + (len(METHODS) + 0.5) * h
    ok = t["true_share"].notna().to_numpy()
    err = np.vstack(
        [t["true_share"] - t["true_share_low"], t["true_share_high"] - t["true_share"]]
    )[:, ok]
    ax.errorbar(
        t["true_share"][ok], ty[ok], xerr=err, fmt="o", color="black", label="true incremental"
    )
    ax.set_yticks(y, t["channel"])
    ax.invert_yaxis()
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel("share of the vendor's conversions")
    ax.set_title(f"{t.attrs.get('vendor', '')}: measured attribution vs true incremental share")
    # the legend right of the axes: it never hides a bar or a true-lift marker
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    fig.set_figwidth(10)
    fig.tight_layout()
    return fig


def lab_html_section(table: pd.DataFrame) -> str:
    """The lab as an HTML section (table and figure) for the batch report."""
    a = table.attrs
    cols = {"channel": "channel", "weekly_spend": "spend/wk"}
    cols.update({f"{m}_share": label for m, label in METHODS.items()})
    cols.update(
        {
            "true_lift": "true lift",
            "true_lift_low": "lift CI low",
            "true_lift_high": "lift CI high",
            "true_share": "true share",
            "incremental_roi": "incremental ROI",
            "incremental_roi_low": "ROI CI low",
            "incremental_roi_high": "ROI CI high",
        }
    )
    shown = table[list(cols)].rename(columns=cols)
    pct = [*(label for label in METHODS.values()), "true share"]
    return (
        f"<h3>Attribution lab: {a.get('vendor')} in {a.get('scenario')}</h3>"
        f"<p>{a.get('reps')} paired replications (common random numbers), "
        f"{a.get('mean_conversions', 0):,.1f} conversions per run. Measured shares split "
        "each conversion over the touches naming the vendor; the true lift is the "
        "conversions lost when the channel's spend is set to zero, with a 95% t interval "
        "over paired replications. Incremental ROI = (revenue the channel adds - what it "
        "costs) / what it costs, from the same paired runs. 'not bought' channels have no "
        "spend to remove.</p>"
        + html_table(shown, percent=pct)
        + fig_to_img(lab_figure(table), "measured vs true incremental share per channel")
    )


def write_lab(table: pd.DataFrame, out: Path) -> list[Path]:
    """Write the lab as a self-contained HTML page plus CSV and Parquet next to it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    csv = out.with_suffix(".csv")
    pq = out.with_suffix(".parquet")
    table.to_csv(csv, index=False)
    frame = table.copy()
    frame.attrs = {}
    frame.to_parquet(pq, index=False)
    out.write_text(
        html_page(f"Attribution lab: {table.attrs.get('vendor')}", lab_html_section(table)),
        encoding="utf-8",
    )
    return [out, csv, pq]


def save_lab(lab: LabResult, results: Path) -> Path:
    """Save the lab's table into a sweep results folder (`report` includes it)."""
    dest = results / "attribution" / f"{lab.scenario}__{lab.vendor}.parquet"
    dest.parent.mkdir(parents=True, exist_ok=True)
    frame = lab.table.copy()
    frame["vendor"] = lab.vendor
    frame["scenario"] = lab.scenario
    frame["reps"] = lab.reps
    frame["mean_conversions"] = lab.table.attrs["mean_conversions"]
    frame.attrs = {}
    frame.to_parquet(dest, index=False)
    return dest
