"""The batch report of a sweep: one self-contained HTML file, plus a CSV per table.

`build_report(DIR, OUT)` reads a sweep folder (analysis.results) and writes the page;
`python run.py report` (analysis/report.py) is its command line.

The page opens offline: figures are PNGs embedded as data: URIs, the style sheet is
inline, and nothing refers to a server. Next to it, `<stem>_tables/<table>.csv` holds
every table of the report with full-precision numbers.

Contents: the question and set-up (base scenario, fixed changes, axes, replications,
seeds); per variant and vendor the scorecard (conversions, win share, revenue, spend, ROI,
cost per acquisition, break-even volume, marketing-originated share) as means with 95%
t intervals over replications; paired comparisons against a reference variant (common
random numbers: replication r of every variant used the same seed) with a paired t-test
and a verdict per pair; figures (conversions by variant with CI bars, the stage funnel,
source use by stage next to the IDC ranking, win share over weeks); for sampled sweeps,
each parameter's effect (binned means) and a sensitivity ranking; and any attribution
labs saved into the folder (`run.py attribution ... --save DIR`).

Only runs with status "ok" enter the statistics; the set-up says how many failed.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis import compare
from analysis.html import fig_to_img, html_page, html_table, pyplot
from sim.channels import CHANNEL_NAMES, IDC_TOP_THREE, RESEARCH_STAGES
from sim.scenario import ScenarioError

FUNNEL = (
    ("reached_early", "early stage"),
    ("reached_middle", "middle stage"),
    ("reached_final", "final stage"),
    ("decided", "decided"),
    ("purchases", "purchased"),
)
#: at most this many variants get bars, lines and pairwise comparisons in the page
MAX_VARIANTS_SHOWN = 25
STAGES = ("early", "middle", "final")


# ------------------------------------------------------------------ loading
@dataclass
class SweepData:
    """A sweep's tables (ok runs only) and its set-up."""

    path: Path
    info: dict[str, Any]
    runs_all: pd.DataFrame
    runs: pd.DataFrame
    vendors: pd.DataFrame
    source_use: pd.DataFrame | None
    weekly_vendors: pd.DataFrame | None
    attribution: list[pd.DataFrame] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return int((self.runs_all["status"] != "ok").sum())


def load(path: Path, sweep: str | None = None) -> SweepData:
    """Read one sweep's tables from a results folder; input errors as ScenarioError."""
    from analysis.results import load_sweep, sweep_dirs, sweep_info

    src = str(path)
    if not path.is_dir():
        raise ScenarioError(src, "DIR", "no such folder; give the --out folder of `run.py sweep`")
    dirs = sweep_dirs(path)
    if sweep is not None:
        dirs = [d for d in dirs if d.name == f"sweep={sweep}"]
        if not dirs:
            found = ", ".join(d.name.removeprefix("sweep=") for d in sweep_dirs(path)) or "none"
            raise ScenarioError(src, "--sweep", f"no sweep named {sweep!r}; found: {found}")
    if not dirs:
        raise ScenarioError(
            src,
            "DIR",
            "no sweep results here (expected sweep=<name>/table=runs/*.parquet); "
            "run `python run.py sweep FILE --out DIR` first",
        )
    if len(dirs) > 1:
        names = ", ".join(d.name.removeprefix("sweep=") for d in dirs)
        raise ScenarioError(src, "--sweep", f"this folder holds several sweeps ({names}); pick one")
    sdir = dirs[0]
    check_sound(sdir)
    try:
        runs_all = load_sweep(sdir, "runs")
        info = sweep_info(sdir)
    except FileNotFoundError as exc:
        raise ScenarioError(src, "DIR", f"incomplete sweep results: {exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:  # a broken sweep.json
        raise ScenarioError(
            str(sdir / "sweep.json"),
            "",
            f"damaged ({type(exc).__name__}: {' '.join(str(exc).split())[:100]}); run the "
            "same `run.py sweep` command again to rewrite it",
        ) from None
    if not isinstance(info, dict):
        raise ScenarioError(
            str(sdir / "sweep.json"),
            "",
            "damaged (not a JSON object); run the same `run.py sweep` command again to rewrite it",
        )

    def optional(table: str) -> pd.DataFrame | None:
        try:
            return load_sweep(sdir, table, duplicates="quiet")
        except FileNotFoundError:
            return None

    ok_ids = set(runs_all.loc[runs_all["status"] == "ok", "run_id"])
    runs = runs_all[runs_all["status"] == "ok"].reset_index(drop=True)
    if runs.empty:
        raise ScenarioError(src, "DIR", f"all {len(runs_all)} runs failed; see the runs table")
    tables = {}
    for t in ("vendors", "source_use", "weekly_vendors"):
        df = optional(t)
        tables[t] = None if df is None else df[df["run_id"].isin(ok_ids)].reset_index(drop=True)
    if tables["vendors"] is None:
        raise ScenarioError(src, "DIR", "no vendors table in the sweep results")
    attribution = [pd.read_parquet(f) for f in sorted(path.glob("attribution/*.parquet"))]
    attribution += [pd.read_parquet(f) for f in sorted(sdir.glob("attribution/*.parquet"))]
    return SweepData(
        sdir,
        info,
        runs_all,
        runs,
        tables["vendors"],
        tables["source_use"],
        tables["weekly_vendors"],
        attribution,
    )


def check_sound(sdir: Path) -> None:
    """Refuse a sweep folder with a damaged part file: one line naming it (exit code 2).

    The report never proceeds without a damaged file (its runs would silently be left
    out); a resume of the sweep sets it aside and reruns its runs.
    """
    from analysis.engine import inspect_parts

    damaged, _duplicates = inspect_parts(sdir)  # duplicates: counted once by load_sweep
    if damaged:
        d = damaged[0]
        more = f" (and {len(damaged) - 1} more damaged chunks)" if len(damaged) > 1 else ""
        raise ScenarioError(
            str(d.file),
            "",
            f"damaged result file: {d.why}{more}; run the same `run.py sweep` command "
            "again: it moves damaged files to quarantine/ and reruns their runs",
        )


# ------------------------------------------------------------------ tables
def setup_table(d: SweepData) -> pd.DataFrame:
    """The question and set-up as (item, value) rows."""
    info = d.info
    axes = []
    for a in info.get("axes", []):
        if a.get("kind") == "range":
            scale = ", log scale" if a.get("log") else ""
            axes.append(f"{a['name']}: {a['low']} to {a['high']}{scale} ({', '.join(a['paths'])})")
        elif a.get("kind") == "strategy":
            axes.append(f"{a['name']}: strategies of {a['vendor']}: {', '.join(a['values'])}")
        else:
            vals = ", ".join(str(v) for v in a.get("values", []))
            axes.append(f"{a['name']}: {vals} ({', '.join(a.get('paths', []))})")
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
        ("vendors", ", ".join(info.get("vendors", sorted(d.vendors["vendor"].unique())))),
    ]
    return pd.DataFrame(rows, columns=["item", "value"])


def _fmt_metric(metric: str, x: float) -> str:
    if x is None or math.isnan(x):
        return "-"
    if metric in ("win_share", "originated_share"):
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
    m = _fmt_metric(metric, mean)
    if half is None or math.isnan(half):
        return m
    if metric in ("win_share", "originated_share"):
        return f"{m} ± {100 * half:.1f}"
    return f"{m} ± {_fmt_metric(metric, half)}"


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
    cols = [c for c, _ in FUNNEL] + ["no_decisions", "open"]
    frame = runs[["variant_id", "variant", *cols]].astype({c: float for c in cols})
    return compare.summarize(frame, ["variant_id", "variant"], cols)


def source_use_shares(source_use: pd.DataFrame) -> pd.DataFrame:
    """Share of each stage's consultations per channel, over all ok runs (stage x channel)."""
    tot = (
        source_use.groupby(["stage", "channel"], observed=True)["touches"].sum().unstack("channel")
    )
    tot = tot.reindex(index=list(STAGES), columns=list(CHANNEL_NAMES)).fillna(0)
    return tot.div(tot.sum(axis=1).replace(0, np.nan), axis=0)


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


# ------------------------------------------------------------------ figures
def fig_conversions(summary: pd.DataFrame, variants: list[str]):
    """Mean conversions per variant and vendor with 95% CI bars."""
    plt = pyplot()
    s = summary[(summary["metric"] == "conversions") & summary["variant"].isin(variants)]
    vendors = list(dict.fromkeys(s["vendor"]))
    fig, ax = plt.subplots(
        figsize=(max(6, 0.6 * len(variants) * max(1, len(vendors)) / 2 + 3), 3.6), dpi=80
    )
    x = np.arange(len(variants))
    w = 0.8 / max(len(vendors), 1)
    for i, v in enumerate(vendors):
        sv = s[s["vendor"] == v].set_index("variant").reindex(variants)
        ax.bar(
            x - 0.4 + (i + 0.5) * w,
            sv["mean"],
            w,
            yerr=sv["half_width"].fillna(0),
            capsize=3,
            label=v,
        )
    ax.set_xticks(
        x,
        variants,
        rotation=20 if len(variants) > 3 else 0,
        ha="right" if len(variants) > 3 else "center",
        fontsize=8,
    )
    ax.set_ylabel("conversions per run")
    ax.set_title("Conversions by variant (mean, 95% CI)")
    ax.legend(fontsize=7, ncols=min(4, len(vendors)))
    fig.tight_layout()
    return fig


def fig_funnel(funnel: pd.DataFrame, variants: list[str]):
    """The stage funnel: mean journeys reaching each stage, one line per variant."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.4), dpi=80)
    keys = [c for c, _ in FUNNEL]
    for v in variants:
        f = (
            funnel[(funnel["variant"] == v) & funnel["metric"].isin(keys)]
            .set_index("metric")
            .reindex(keys)
        )
        ax.errorbar(
            range(len(keys)),
            f["mean"],
            yerr=f["half_width"].fillna(0),
            marker="o",
            capsize=3,
            label=v,
        )
    ax.set_xticks(range(len(keys)), [label for _, label in FUNNEL])
    ax.set_ylabel("journeys per run")
    ax.set_title("Stage funnel (mean, 95% CI)")
    if len(variants) <= 10:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def fig_source_use(shares: pd.DataFrame):
    """Heatmap: share of each stage's consultations per channel."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 2.8), dpi=80)
    im = ax.imshow(shares.to_numpy(), aspect="auto", cmap="Blues", vmin=0)
    ax.set_yticks(range(len(shares.index)), shares.index)
    ax.set_xticks(
        range(len(shares.columns)),
        [c.replace("_", " ") for c in shares.columns],
        rotation=35,
        ha="right",
        fontsize=8,
    )
    for (i, j), v in np.ndenumerate(shares.to_numpy()):
        if not np.isnan(v):
            ax.text(
                j,
                i,
                f"{100 * v:.0f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if v > 0.2 else "black",
            )
    fig.colorbar(im, ax=ax, label="share of stage's consultations")
    ax.set_title("Source use by stage (%)")
    fig.tight_layout()
    return fig


def _panels(n: int):
    """A figure with n small panels, three to a row, sharing the y axis."""
    cols = min(3, n)
    rows = math.ceil(n / cols)
    return pyplot().subplots(
        rows, cols, figsize=(3.6 * cols, 2.6 * rows), dpi=80, squeeze=False, sharey=True
    )


def fig_win_share(ws: pd.DataFrame, variants: list[str]):
    """Cumulative win share over weeks, one panel per variant."""
    fig, axes = _panels(len(variants))
    n = len(variants)
    for ax, v in zip(axes.ravel(), variants, strict=False):
        sub = ws[ws["variant"] == v].pivot_table(
            index="week", columns="vendor", values="cumulative_win_share"
        )
        for vendor in sub.columns:
            ax.plot(sub.index, sub[vendor], label=vendor)
        ax.set_title(v, fontsize=8)
        ax.set_xlabel("week", fontsize=8)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    axes[0, 0].set_ylabel("cumulative win share")
    axes[0, 0].legend(fontsize=6)
    fig.tight_layout()
    return fig


def fig_parameter_effects(frame: pd.DataFrame, params: list[str], outcome: str, label: str):
    """Binned means (10 quantile bins, with all runs as dots) of the outcome per parameter."""
    fig, axes = _panels(len(params))
    n = len(params)
    for ax, p in zip(axes.ravel(), params, strict=False):
        x = frame[p]
        if pd.api.types.is_numeric_dtype(x):
            ax.scatter(x, frame[outcome], s=4, alpha=0.25, color="grey")
            b = compare.binned_means(x, frame[outcome])
            ax.plot(b["x"], b["mean"], marker="o", color="C3")
        else:
            b = compare.binned_means(x, frame[outcome])
            ax.bar(b["bin"], b["mean"], color="C0")
            ax.tick_params(axis="x", labelrotation=30, labelsize=7)
        ax.set_title(p.removeprefix("p:"), fontsize=9)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    axes[0, 0].set_ylabel(label, fontsize=8)
    fig.suptitle(f"Parameter effects on {label} (runs and binned means)", fontsize=10)
    fig.tight_layout()
    return fig


def fig_sensitivity(sens: pd.DataFrame, label: str):
    """Horizontal bars of the first-order index (eta^2) per parameter."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 0.4 * len(sens) + 1.2), dpi=80)
    ax.barh([p.removeprefix("p:") for p in sens["parameter"]], sens["eta_squared"], color="C2")
    ax.invert_yaxis()
    ax.set_xlabel("first-order index (correlation ratio, eta²)")
    ax.set_title(f"Sensitivity of {label}", fontsize=10)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------ the report
def variant_order(d: SweepData) -> list[str]:
    """Variant labels in variant_id order (ok runs)."""
    v = d.runs[["variant_id", "variant"]].drop_duplicates().sort_values("variant_id")
    return v["variant"].tolist()


def check_choices(d: SweepData, reference: str | None, vendor: str | None) -> None:
    """Input errors for --reference and --vendor."""
    src = str(d.path)
    variants = variant_order(d)
    if reference is not None and reference not in variants:
        raise ScenarioError(
            src,
            "--reference",
            f"no variant {reference!r}; variants: {', '.join(variants[:10])}"
            + (" ..." if len(variants) > 10 else ""),
        )
    names = list(dict.fromkeys(d.vendors["vendor"]))
    if vendor is not None and vendor not in names:
        raise ScenarioError(
            src, "--vendor", f"no vendor named {vendor!r}; vendors: {', '.join(names)}"
        )


@dataclass
class Report:
    """What `build_report` wrote and computed."""

    html_path: Path
    tables: dict[str, pd.DataFrame]
    csv_paths: list[Path]
    elapsed_s: float


def focal_vendor(info: dict[str, Any], vendors: pd.DataFrame) -> str:
    """The vendor a strategy axis changes, else the first vendor."""
    for a in info.get("axes", []):
        if a.get("kind") == "strategy" and a.get("vendor") in set(vendors["vendor"]):
            return a["vendor"]
    names = info.get("vendors") or list(dict.fromkeys(vendors["vendor"]))
    return names[0]


def build_report(
    path: Path,
    out: Path,
    reference: str | None = None,
    vendor: str | None = None,
    sweep: str | None = None,
    progress: Callable[[str], None] | None = None,
    data: SweepData | None = None,
) -> Report:
    """Read a sweep folder and write the HTML report and its CSV tables.

    Args:
        path: the results folder of `run.py sweep --out` (or one sweep=<name> folder).
        out: the HTML file to write; tables go to `<stem>_tables/` next to it.
        reference: the variant other variants are compared with (default: the first).
        vendor: the vendor whose conversions the sensitivity analysis explains
            (default: the vendor a strategy axis changes, else the first vendor).
        sweep: which sweep, when the folder holds several.
        progress: called with a step name as each step starts.
        data: the sweep already read with `load` (else it is read from `path`).
    """
    started = time.perf_counter()
    step = progress or (lambda _name: None)
    step("reading results")
    d = data if data is not None else load(Path(path), sweep)
    check_choices(d, reference, vendor)
    variants_order = variant_order(d)
    reference = reference or variants_order[0]
    focal = vendor or focal_vendor(d.info, d.vendors)
    shown = variants_order[:MAX_VARIANTS_SHOWN]
    if reference not in shown:
        shown = [reference, *shown[:-1]]
    tables: dict[str, pd.DataFrame] = {}
    parts: list[str] = []

    step("statistics")
    tables["setup"] = setup_table(d)
    summary = compare.summarize(
        d.vendors, ["variant_id", "variant", "vendor"], list(compare.VENDOR_METRICS)
    )
    tables["vendor_summary"] = summary
    reps = int(d.runs["replication"].nunique())
    comparisons = None
    if len(variants_order) > 1 and reps > 1:
        comparisons = pd.concat(
            [compare.paired_differences(d.vendors, reference, m) for m in compare.VENDOR_METRICS],
            ignore_index=True,
        )
        tables["comparisons"] = comparisons
    funnel = funnel_table(d.runs)
    tables["funnel"] = funnel

    name = d.info.get("name", "")
    parts.append(f"<h1>Sweep report: {html.escape(str(name))}</h1>")
    if d.info.get("description"):
        parts.append(f"<p><b>Question:</b> {html.escape(d.info['description'])}</p>")
    parts.append("<h2>Set-up</h2>" + html_table(tables["setup"]))
    parts.append(
        '<p class="note">Common random numbers: replication r of every variant ran with the '
        "same seed, so variants are compared pair by pair within a replication. Intervals "
        "are 95% Student-t intervals of the mean over replications (runs with an undefined "
        "value, e.g. ROI without spend, are left out of that metric's n).</p>"
    )

    step("figures: conversions")
    parts.append("<h2>Scorecard per variant and vendor (mean ± 95% CI half-width)</h2>")
    sc = scorecard(summary[summary["variant"].isin(shown)])
    parts.append(html_table(sc))
    if len(variants_order) > len(shown):
        parts.append(
            f'<p class="note">Showing {len(shown)} of {len(variants_order):,} variants; '
            "every variant is in vendor_summary.csv.</p>"
        )
    parts.append(fig_to_img(fig_conversions(summary, shown), "conversions by variant with 95% CI"))

    if comparisons is not None:
        parts.append(f"<h2>Paired comparisons against {html.escape(reference)}</h2>")
        parts.append(
            '<p class="note">Mean of the within-replication differences (variant − reference), '
            "its 95% t interval and a paired t-test (scipy ttest_rel equivalent). "
            "<b>clear</b>: p &lt; 0.05 after Holm's adjustment over all pairs of the metric; "
            "<b>unclear</b>: the difference may be noise. All metrics are in comparisons.csv.</p>"
        )
        parts.append(f"<p>{html.escape(compare.pairing_summary(comparisons))}</p>")
        conv = comparisons[
            (comparisons["metric"] == "conversions") & comparisons["variant"].isin(shown)
        ]
        items = "".join(
            f"<li><b>{html.escape(r.vendor)}</b>: {html.escape(r.sentence.rsplit('; ', 1)[0])}; "
            f'<span class="{r.verdict.replace(" ", "-")}">{html.escape(r.verdict)}</span> '
            f'<span class="small">(p = {r.p_value:.3g}, Holm {r.p_holm:.3g}, {r.n_pairs} pairs)</span></li>'
            for r in conv.itertuples()
        )
        parts.append(f"<ul>{items}</ul>")
        keep = comparisons[
            comparisons["metric"].isin(["conversions", "revenue", "roi"])
            & comparisons["variant"].isin(shown)
        ]
        show = keep[
            [
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
            ]
        ]
        parts.append(html_table(show))
    elif len(variants_order) > 1:
        parts.append("<h2>Paired comparisons</h2><p>Needs at least 2 replications per variant.</p>")

    step("figures: funnel and sources")
    parts.append("<h2>Stage funnel</h2>")
    fshow = funnel[funnel["variant"].isin(shown)].copy()
    fshow["value"] = [
        f"{m:,.1f} ± {h:,.1f}" if not math.isnan(h) else f"{m:,.1f}"
        for m, h in zip(fshow["mean"], fshow["half_width"], strict=True)
    ]
    fw = fshow.pivot_table(
        index=["variant_id", "variant"], columns="metric", values="value", aggfunc="first"
    )
    fw = (
        fw.reindex(columns=[c for c, _ in FUNNEL] + ["no_decisions", "open"])
        .reset_index()
        .drop(columns="variant_id")
    )
    parts.append(html_table(fw))
    parts.append(fig_to_img(fig_funnel(funnel, shown[:10]), "stage funnel"))

    if d.source_use is not None and not d.source_use.empty:
        shares = source_use_shares(d.source_use)
        tables["source_use"] = shares.reset_index().melt(
            id_vars="stage", var_name="channel", value_name="share"
        )
        idc = idc_table(shares)
        tables["idc_ranking"] = idc
        parts.append("<h2>Source use by stage vs the IDC ranking</h2>")
        parts.append(
            '<div class="row"><div>'
            + fig_to_img(fig_source_use(shares), "source use by stage heatmap")
            + "</div><div>"
            + html_table(idc)
            + '<p class="note">IDC Social Buying Study (2014), docs/sources.md §1; all ok runs pooled.</p></div></div>'
        )

    if d.weekly_vendors is not None and not d.weekly_vendors.empty:
        step("figures: win share over weeks")
        ws = win_share_weeks(d.weekly_vendors)
        tables["win_share_weeks"] = ws
        parts.append("<h2>Win share over weeks</h2>")
        parts.append(
            '<p class="note">Cumulative win share: each vendor\'s conversions so far over all '
            "conversions so far, mean over replications.</p>"
        )
        parts.append(fig_to_img(fig_win_share(ws, shown[:6]), "cumulative win share over weeks"))
    else:
        parts.append(
            '<h2>Win share over weeks</h2><p class="note">Not available: the sweep was run '
            "without weekly tables (use --weekly or weekly = true).</p>"
        )

    ranges = [a for a in d.info.get("axes", []) if a.get("kind") == "range"]
    if ranges:
        step("sensitivity")
        params = [a.get("column", f"p:{a['name']}") for a in d.info.get("axes", [])]
        params = [p for p in params if p in d.runs.columns]
        fv = d.vendors.loc[d.vendors["vendor"] == focal, ["run_id", "conversions"]]
        frame = d.runs[["run_id", *params, "purchases"]].merge(fv, on="run_id")
        frame["purchases"] = frame["purchases"].astype(float)
        frame["conversions"] = frame["conversions"].astype(float)
        sens = pd.concat(
            [
                compare.sensitivity(frame, params, "conversions").assign(
                    outcome=f"{focal} conversions"
                ),
                compare.sensitivity(frame, params, "purchases").assign(outcome="all purchases"),
            ],
            ignore_index=True,
        )
        tables["sensitivity"] = sens
        parts.append("<h2>Parameter effects and sensitivity</h2>")
        parts.append(
            '<p class="note">Over all ok runs. Sensitivity index: the correlation ratio eta² of '
            "binned means (10 quantile bins) — the share of the outcome's variance a parameter "
            "explains on its own (a first-order index, no interactions); Spearman's rank "
            "correlation gives the direction.</p>"
        )
        parts.append(
            fig_to_img(
                fig_parameter_effects(frame, params, "conversions", f"{focal} conversions"),
                "parameter effects",
            )
        )
        s1 = sens[sens["outcome"] == f"{focal} conversions"]
        parts.append(
            '<div class="row"><div>'
            + fig_to_img(fig_sensitivity(s1, f"{focal} conversions"), "sensitivity ranking")
            + "</div><div>"
            + html_table(
                sens[["outcome", "rank", "parameter", "eta_squared", "spearman_rho", "spearman_p"]]
            )
            + "</div></div>"
        )

    if d.attribution:
        step("attribution")
        from analysis.lab import lab_html_section

        parts.append("<h2>Attribution lab</h2>")
        frames = []
        for t in d.attribution:
            t = t.copy()
            meta = {
                k: t[k].iloc[0]
                for k in ("vendor", "scenario", "reps", "mean_conversions")
                if k in t
            }
            body = t.drop(columns=[k for k in meta if k in t])
            body.attrs.update(meta)
            parts.append(lab_html_section(body))
            frames.append(t)
        tables["attribution"] = pd.concat(frames, ignore_index=True)

    step("writing")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tdir = out.with_name(f"{out.stem}_tables")
    tdir.mkdir(exist_ok=True)
    csvs = []
    for tname, df in tables.items():
        p = tdir / f"{tname}.csv"
        df.to_csv(p, index=False)
        csvs.append(p)
    links = ", ".join(
        f'<a href="{html.escape(tdir.name)}/{html.escape(p.name)}">{html.escape(p.name)}</a>'
        for p in csvs
    )
    elapsed = time.perf_counter() - started
    parts.append(
        f'<h2>Data</h2><p class="note">Every table of this report as CSV: {links}. '
        f"Generated from {html.escape(str(d.path))} in {elapsed:.1f} s.</p>"
    )
    out.write_text(html_page(f"Sweep report: {name}", "\n".join(parts)), encoding="utf-8")
    return Report(out, tables, csvs, time.perf_counter() - started)
