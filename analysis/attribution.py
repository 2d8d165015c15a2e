"""The attribution lab: what measured attribution says a channel did, against what it did.

    python run.py attribution scenarios/attribution_null_channel.toml --vendor Focal --reps 10

Measured attribution splits each of a vendor's conversions over the touches that named the
vendor in the buyer's journey (sim's Touch table), by five rules a marketing team uses:

- first touch: all credit to the first touch;
- last touch: all credit to the last touch before the purchase;
- linear: equal credit to every touch;
- position-based (40/20/40): 40% first, 40% last, 20% shared by the touches between
  (one touch gets 100%, two get 50/50);
- point-of-sale self-report: the buyer names the touch that most raised their preference
  for the vendor (the largest `gain`); a buyer whose touches raised nothing names none.

Conversions with no touch naming the vendor (an incumbent's repeat purchase, say) stay
unattributed. The ground truth is the channel's incremental conversions: the vendor's
conversions lost when its spend in that channel is set to zero (`without_channel_spend`),
from paired counterfactual runs with the same seed (common random numbers), so the
difference is caused by the removed spend and nothing else. Social-selling contacts are
their own line (`social_selling`): their spend is separate from the channel mix. Unpaid
sources (peer recommendations, referrals passed on in professional networks) get measured
credit but cannot be switched off by spend.

All shares are of the vendor's mean conversions in the baseline runs.
"""

from __future__ import annotations

import argparse
import math
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.cli import int_arg, load_with_overrides
from analysis.compare import t_half_width
from sim.channels import CHANNEL_NAMES
from sim.scenario import Scenario, ScenarioError

METHODS: dict[str, str] = {
    "first_touch": "first touch",
    "last_touch": "last touch",
    "linear": "linear",
    "position_based": "position-based 40/20/40",
    "self_report": "self-report",
}
SOCIAL_SELLING = "social_selling"
UNATTRIBUTED = "(no touch)"


# ------------------------------------------------------------------ measured
def vendor_touch_paths(
    journeys: pd.DataFrame, touches: pd.DataFrame, vendor: str
) -> tuple[pd.DataFrame, int]:
    """The touches naming `vendor` in the journeys it won, in time order, and the number
    of those conversions. Social-selling contacts are labelled `social_selling`.

    Returns (paths, conversions): paths has columns journey_id, channel, gain, pos, n."""
    won = journeys.loc[
        (journeys["outcome"] == "purchase") & (journeys["vendor"] == vendor), "journey_id"
    ]
    t = touches.loc[
        (touches["vendor"] == vendor) & touches["journey_id"].isin(won),
        ["journey_id", "week", "channel", "gain", "social_selling"],
    ].copy()
    t["order"] = np.arange(len(t))  # table order breaks ties within a week
    t = t.sort_values(["journey_id", "week", "order"], kind="stable")
    t["channel"] = np.where(
        t["social_selling"].to_numpy(bool), SOCIAL_SELLING, t["channel"].astype(str)
    )
    g = t.groupby("journey_id", sort=False)
    t["pos"] = g.cumcount().to_numpy()
    t["n"] = g["week"].transform("size").to_numpy()
    return t[["journey_id", "channel", "gain", "pos", "n"]].reset_index(drop=True), len(won)


def credit_weights(paths: pd.DataFrame) -> pd.DataFrame:
    """Each touch's credit under every rule (each journey's credits sum to 1 per rule,
    except self-report when no touch raised the preference)."""
    pos, n = paths["pos"].to_numpy(), paths["n"].to_numpy()
    first, last = pos == 0, pos == n - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        middle = np.where(n > 2, 0.2 / (n - 2), 0.0)
    position = np.where(n == 1, 1.0, np.where(n == 2, 0.5, np.where(first | last, 0.4, middle)))
    out = pd.DataFrame(
        {
            "journey_id": paths["journey_id"].to_numpy(),
            "channel": paths["channel"].to_numpy(),
            "first_touch": first.astype(float),
            "last_touch": last.astype(float),
            "linear": 1.0 / n,
            "position_based": position,
        }
    )
    # self-report: the touch with the largest preference gain (first one on ties)
    named = np.zeros(len(paths))
    if len(paths):
        gain = paths["gain"].to_numpy(float)
        best = paths.assign(_g=gain).groupby("journey_id", sort=False)["_g"].idxmax()
        best = best[gain[best.to_numpy()] > 0]
        named[best.to_numpy()] = 1.0
    out["self_report"] = named
    return out


def measured_credit(journeys: pd.DataFrame, touches: pd.DataFrame, vendor: str) -> pd.DataFrame:
    """Conversions credited to each channel by each rule for one run.

    Returns a wide table: index channel (plus UNATTRIBUTED), one column per rule, and the
    run's conversions for the vendor in `.attrs["conversions"]`."""
    paths, conversions = vendor_touch_paths(journeys, touches, vendor)
    w = credit_weights(paths)
    credit = w.groupby("channel")[list(METHODS)].sum()
    credit.loc[UNATTRIBUTED] = conversions - credit.sum()
    credit.attrs["conversions"] = conversions
    return credit


# ------------------------------------------------------------------ the lab
@dataclass
class LabResult:
    """The raw results of an attribution lab: per replication, the baseline's measured
    credit and the conversions of the baseline and of each counterfactual."""

    scenario: str
    vendor: str
    reps: int
    seeds: list[int]
    spend: dict[str, float]  # weekly spend per counterfactual line
    measured: pd.DataFrame  # replication, channel, method columns
    conversions: pd.DataFrame  # replication, counterfactual ("baseline" or line), conversions
    table: pd.DataFrame = field(default_factory=pd.DataFrame)


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


def _run(task: tuple[str, int, str, Scenario, str, bool]) -> tuple[str, int, int, pd.DataFrame]:
    """One run of the lab (picklable for worker processes)."""
    from sim.model import BuyerJourneyModel

    line, rep, _seed, scenario, vendor, measure = task
    model = BuyerJourneyModel(scenario, seed=_seed, record_touches=measure)
    model.run()
    conv = int(model.conversions[scenario.vendor_names().index(vendor)])
    credit = pd.DataFrame()
    if measure:
        t = model.tables()
        credit = measured_credit(t["journeys"], t["touches"], vendor)
    return line, rep, conv, credit


def run_lab(
    scenario: Scenario,
    vendor: str,
    reps: int,
    workers: int = 1,
    progress=None,
) -> LabResult:
    """Run the baseline and every counterfactual `reps` times with seeds scenario.seed + r.

    `progress()` is called after each run. Returns the raw LabResult with its summary
    table filled in (see `summarize_lab`)."""
    if vendor not in scenario.vendor_names():
        raise ScenarioError(
            scenario.source,
            "--vendor",
            f"no vendor named {vendor!r}; vendors: {', '.join(scenario.vendor_names())}",
        )
    if reps < 1:
        raise ScenarioError(scenario.source, "--reps", f"must be at least 1, found {reps}")
    cfs = counterfactuals(scenario, vendor)
    seeds = [scenario.seed + r for r in range(reps)]
    tasks = [("baseline", r, s, scenario, vendor, True) for r, s in enumerate(seeds)]
    for line, (sc, _spend) in cfs.items():
        tasks += [(line, r, s, sc, vendor, False) for r, s in enumerate(seeds)]
    results = []
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            for res in pool.map(_run, tasks):
                results.append(res)
                if progress:
                    progress()
    else:
        for task in tasks:
            results.append(_run(task))
            if progress:
                progress()
    conv = pd.DataFrame(
        [(line, rep, c) for line, rep, c, _ in results],
        columns=["counterfactual", "replication", "conversions"],
    )
    measured = pd.concat(
        [
            credit.rename_axis("channel").reset_index().assign(replication=rep)
            for line, rep, _, credit in results
            if line == "baseline"
        ],
        ignore_index=True,
    )
    lab = LabResult(
        scenario=scenario.name,
        vendor=vendor,
        reps=reps,
        seeds=seeds,
        spend={k: s for k, (_, s) in cfs.items()},
        measured=measured,
        conversions=conv,
    )
    lab.table = summarize_lab(lab)
    return lab


def summarize_lab(lab: LabResult, level: float = 0.95) -> pd.DataFrame:
    """One row per channel: measured share by each rule and the true incremental share.

    Measured share = mean credited conversions / mean baseline conversions. True lift =
    mean over replications of (baseline - counterfactual) conversions, with a paired t
    confidence interval; true share = lift / mean baseline conversions.
    """
    conv = lab.conversions.pivot(
        index="replication", columns="counterfactual", values="conversions"
    )
    base = conv["baseline"]
    mean_base = float(base.mean())
    reps = len(base)
    credit = (
        lab.measured.groupby("channel")[list(METHODS)].sum().div(reps)  # mean over reps
    )
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
        {c: base - conv[c] for c in lab.spend}, index=conv.index, columns=list(lab.spend)
    )
    mean_lift = lift.mean()
    half = pd.Series(
        t_half_width(lift.std(ddof=1).to_numpy(), np.full(len(lift.columns), reps), level),
        index=lift.columns,
    )
    out["true_lift"] = mean_lift.reindex(channels)
    out["true_lift_low"] = (mean_lift - half).reindex(channels)
    out["true_lift_high"] = (mean_lift + half).reindex(channels)
    out["true_share"] = out["true_lift"] / denom
    out["true_share_low"] = out["true_lift_low"] / denom
    out["true_share_high"] = out["true_lift_high"] / denom
    out.attrs.update(
        vendor=lab.vendor, reps=reps, mean_conversions=mean_base, scenario=lab.scenario
    )
    return out.reset_index()


# ------------------------------------------------------------------ output
def _pct(x: float) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def format_lab(table: pd.DataFrame) -> str:
    """The lab's table and a bar per channel (last touch vs truth) for the terminal."""
    from analysis.summary import format_table

    a = table.attrs
    headers = ["channel", "spend/wk", *(METHODS.values()), "true lift (95% CI)", "true share"]
    rows = []
    for r in table.itertuples():
        if math.isnan(r.true_lift):
            truth, share = "not bought", "-"
        else:
            truth = f"{r.true_lift:,.1f} [{r.true_lift_low:,.1f}, {r.true_lift_high:,.1f}]"
            share = _pct(r.true_share)
        rows.append(
            [
                r.channel,
                f"{r.weekly_spend:,.0f}" if r.weekly_spend else "-",
                *(_pct(getattr(r, f"{m}_share")) for m in METHODS),
                truth,
                share,
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def lab_html_section(table: pd.DataFrame) -> str:
    """The lab as an HTML section (table and figure) for the batch report."""
    from analysis.report import fig_to_img, html_table

    a = table.attrs
    cols = {"channel": "channel", "weekly_spend": "spend/wk"}
    cols.update({f"{m}_share": label for m, label in METHODS.items()})
    cols.update(
        {
            "true_lift": "true lift",
            "true_lift_low": "lift CI low",
            "true_lift_high": "lift CI high",
            "true_share": "true share",
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
        "over paired replications. 'not bought' channels have no spend to remove.</p>"
        + html_table(shown, percent=pct)
        + fig_to_img(lab_figure(table), "measured vs true incremental share per channel")
    )


def write_lab(table: pd.DataFrame, out: Path) -> list[Path]:
    """Write the lab as a self-contained HTML page plus CSV and Parquet next to it."""
    from analysis.report import html_page

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


# ------------------------------------------------------------------ command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `run.py attribution`."""
    parser.add_argument("scenario", help="scenario TOML file")
    parser.add_argument("--vendor", help="vendor whose conversions to attribute (default: first)")
    parser.add_argument(
        "--reps", type=int_arg("--reps"), default=10, help="paired replications (default 10)"
    )
    parser.add_argument(
        "--workers", type=int_arg("--workers"), default=1, help="worker processes (default 1)"
    )
    parser.add_argument("--buyers", type=int_arg("--buyers"), help="override the number of buyers")
    parser.add_argument("--weeks", type=int_arg("--weeks"), help="override the horizon")
    parser.add_argument(
        "--out", type=Path, help="write an HTML page (plus .csv and .parquet) to this path"
    )
    parser.add_argument(
        "--save",
        type=Path,
        help="save the lab's table into a sweep results folder; `report` then includes it",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def command(args: argparse.Namespace) -> int:
    """Run the attribution lab and print (and optionally write) its table and figure."""
    from tqdm import tqdm

    path = Path(args.scenario)
    scenario = load_with_overrides(path, args.buyers, args.weeks)
    vendor = args.vendor or scenario.vendor_names()[0]
    if vendor not in scenario.vendor_names():
        raise ScenarioError(
            str(path),
            "--vendor",
            f"no vendor named {vendor!r}; vendors: {', '.join(scenario.vendor_names())}",
        )
    total = args.reps * (1 + len(counterfactuals(scenario, vendor)))
    with tqdm(
        total=total,
        desc="attribution runs",
        unit="run",
        file=sys.stderr,
        disable=args.quiet,
        leave=False,
    ) as bar:
        lab = run_lab(scenario, vendor, args.reps, args.workers, progress=lambda: bar.update(1))
    print(format_lab(lab.table))
    if args.out is not None:
        written = write_lab(lab.table, args.out)
        print(f"\nwrote {', '.join(str(p) for p in written)}")
    if args.save is not None:
        dest = args.save / "attribution" / f"{scenario.name}__{vendor}.parquet"
        dest.parent.mkdir(parents=True, exist_ok=True)
        frame = lab.table.copy()
        frame["vendor"] = vendor
        frame["scenario"] = scenario.name
        frame["reps"] = lab.reps
        frame["mean_conversions"] = lab.table.attrs["mean_conversions"]
        frame.attrs = {}
        frame.to_parquet(dest, index=False)
        print(f"saved {dest}")
    return 0
