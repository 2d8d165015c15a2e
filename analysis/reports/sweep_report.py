"""The batch report of a sweep: one self-contained HTML file, plus a CSV per table.

`build_report(DIR, OUT)` reads a sweep folder (analysis.engine.results) and writes the page;
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
each parameter's effect (binned means) and a sensitivity ranking; for policy sweeps (the
`mix` and `beliefs` tables, analysis.engine.outcomes) how the adaptive vendor moved its mix and
what it believed each channel returned; and any attribution labs saved into the folder
(`run.py attribution ... --save DIR`).

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

from analysis.render.html import fig_to_img, html_page, html_table, pyplot
from analysis.stats import compare
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
    vendors_all: pd.DataFrame | None = None  # before a --vendor filter
    mix: pd.DataFrame | None = None  # policy sweeps only (analysis.engine.outcomes.mix)
    beliefs: pd.DataFrame | None = None  # policy sweeps only (analysis.engine.outcomes.beliefs)

    @property
    def failed(self) -> int:
        return int((self.runs_all["status"] != "ok").sum())


def load(path: Path, sweep: str | None = None) -> SweepData:
    """Read one sweep's tables from a results folder; input errors as ScenarioError."""
    from analysis.engine.results import load_sweep, sweep_dirs, sweep_info

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
    for t in ("vendors", "source_use", "weekly_vendors", "mix", "beliefs"):
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
        mix=tables["mix"],
        beliefs=tables["beliefs"],
    )


def check_sound(sdir: Path) -> None:
    """Refuse a sweep folder with a damaged part file: one line naming it (exit code 2).

    The report never proceeds without a damaged file (its runs would silently be left
    out); a resume of the sweep sets it aside and reruns its runs.
    """
    from analysis.engine.parts import inspect_parts

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
def setup_table(d: SweepData, vendor: str | None = None) -> pd.DataFrame:
    """The question and set-up as (item, value) rows (with --vendor, only that vendor is
    named)."""
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
        (
            "vendors",
            f"{vendor} (this report; --vendor filters every section and table)"
            if vendor
            else ", ".join(info.get("vendors", sorted(d.vendors["vendor"].unique()))),
        ),
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
def wrap_label(variant: str, width: int = 22) -> str:
    """A variant's full name on several lines (split after commas and '='), never cut."""
    lines, cur = [], ""
    for piece in variant.replace(",", ",\n").split("\n"):
        if len(piece) > width and "=" in piece:
            k, v = piece.split("=", 1)
            piece = f"{k}=\n{v}"
        for part in piece.split("\n"):
            if cur and len(cur) + len(part) > width:
                lines.append(cur)
                cur = part
            else:
                cur += part
            if part.endswith("="):
                continue
        lines.append(cur)
        cur = ""
    return "\n".join(x for x in lines if x)


def outside_legend(fig, ax, n: int) -> None:
    """The legend right of the axes, outside the data area (it never covers data)."""
    if n:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def fig_conversions(summary: pd.DataFrame, variants: list[str]):
    """Mean conversions per variant and vendor with 95% CI bars; the legend outside the
    axes and each tick label the variant's whole name (wrapped, never cut)."""
    plt = pyplot()
    s = summary[(summary["metric"] == "conversions") & summary["variant"].isin(variants)]
    vendors = list(dict.fromkeys(s["vendor"]))
    labels = [wrap_label(v) for v in variants]
    rows = max(x.count("\n") + 1 for x in labels) if labels else 1
    fig, ax = plt.subplots(
        figsize=(max(6, 1.3 * len(variants) + 2.5), 3.2 + 0.16 * rows),
        dpi=80,
        layout="constrained",
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
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel("conversions per run")
    ax.set_title("Conversions by variant (mean, 95% CI)")
    outside_legend(fig, ax, len(vendors))
    return fig


def fig_funnel(funnel: pd.DataFrame, variants: list[str]):
    """The stage funnel: mean journeys reaching each stage, one line per variant."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 3.4), dpi=80, layout="constrained")
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
    outside_legend(fig, ax, len(variants))
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
        ax.set_title(wrap_label(v, 40), fontsize=8)
        ax.set_xlabel("week", fontsize=8)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    axes[0, 0].set_ylabel("cumulative win share")
    handles, names = axes[0, 0].get_legend_handles_labels()
    fig.tight_layout(rect=(0, 0, 0.85, 1))
    fig.legend(handles, names, fontsize=7, loc="upper left", bbox_to_anchor=(0.86, 0.95))
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


# ------------------------------------------------------------------ the answers
#: bootstrap resamples of the replications for the probability of being best
BOOTSTRAP = 2000


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
    for vendor in vendors:
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
        label = pd.Series("", index=vf.index)
        for i, (a, col) in enumerate(zip(choices, choice_cols, strict=True)):
            label = label + ("," if i else "") + f"{a['name']}=" + vf[col].astype(str)
        point = vf[point_cols].astype(str).agg("|".join, axis=1)
        sub = d.vendors[d.vendors["vendor"] == vendor]
        sub = sub.assign(choice=sub["variant"].map(label), point=sub["variant"].map(point))
        per_point = sub.pivot_table(index="point", columns="choice", values=metric, aggfunc="mean")
        per_point = per_point.dropna()
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


def _money(x: Any) -> str:
    try:
        return f"{float(x):,.0f}"
    except (TypeError, ValueError):
        return str(x)


def answers_html(ans: pd.DataFrame, reps: int, width: float | None) -> tuple[str, str]:
    """The answers as HTML, and the one line on replications needed for a stated width."""
    if ans.empty:
        return (
            '<p class="note">No answer to give: every variant is its own group (a sampled '
            "sweep whose choices are not crossed with its points, or a single variant); see "
            "the scorecard and the sensitivity below.</p>",
            "",
        )
    parts = []
    for vendor, g in ans.groupby("vendor", sort=False):
        n_fam = int(g["family_size"].iloc[0])
        items = []
        for r in g.itertuples():
            if getattr(r, "sampled", False):
                items.append(_sampled_item(r, vendor, n_fam))
                continue
            where = []
            if r.budget != "-":
                where.append(f"at equal budget, {_money(r.budget)} a week")
            if r.conditions != "-":
                where.append(f"with {r.conditions}")
            lead = (", ".join(where) + ": ") if where else ""
            cls = "clear" if r.verdict == "clear" else "unclear"
            items.append(
                f"<li>{html.escape(lead.capitalize() if lead else '')}<b>{html.escape(r.best)}</b> "
                f"is best of {r.variants} (mean {html.escape(_fmt_metric(r.metric, r.mean_best))} "
                f"{html.escape(compare.VENDOR_METRICS.get(r.metric, r.metric))}; "
                f"probability of being best {r.p_best:.2f}; best in "
                f"{100 * r.best_share_of_replications:.0f}% of the {r.n_pairs} replications). "
                f'<span class="{cls}">{html.escape(r.plain)}</span> '
                f'<span class="small">(paired over {r.n_pairs} replications; p = {r.p_value:.3g}, '
                f"Holm-adjusted {r.p_holm:.3g} within {html.escape(vendor)}'s {html.escape(compare.VENDOR_METRICS.get(r.metric, r.metric))} family of "
                f"{n_fam} comparison{'s' if n_fam != 1 else ''})</span></li>"
            )
        parts.append(f"<h3>{html.escape(vendor)}</h3><ul>{''.join(items)}</ul>")
    wide = ans.loc[ans["half_width"].idxmax()]
    target = width if width else _round_target(wide.half_width / 2)
    need = compare.replications_for_width(float(wide.half_width), int(wide.n_pairs), target)
    if bool(wide.get("sampled", False)):
        line = (
            f"Sampled points: the widest interval above is "
            f"±{_fmt_metric(wide.metric, wide.half_width)} "
            f"{compare.VENDOR_METRICS.get(wide.metric, wide.metric)} ({wide.vendor}, "
            f"{wide.best} vs {wide.runner_up}, over {wide.n_pairs} points); a sweep of about "
            f"{need:,} sampled points would bring it to ±{target:,.3g} (raise `samples`)."
        )
        return "\n".join(parts), line
    line = (
        f"Replications: the widest interval above is ±{_fmt_metric(wide.metric, wide.half_width)} "
        f"{compare.VENDOR_METRICS.get(wide.metric, wide.metric)} "
        f"({wide.vendor}, {wide.best} vs {wide.runner_up}, {wide.n_pairs} replications); about "
        f"{need:,} replications would bring it to ±{target:,.3g} (rerun the sweep with "
        "replications raised: only the new ones run)."
    )
    return "\n".join(parts), line


def _sampled_item(r: Any, vendor: str, n_fam: int) -> str:
    """One answer of a sampled sweep (sampled_answers_table) as an HTML list item."""
    label = compare.VENDOR_METRICS.get(r.metric, r.metric)
    cls = "clear" if r.verdict == "clear" else "unclear"
    return (
        f"<li>Over {r.points} sampled conditions ({html.escape(r.conditions)}; each "
        f"point's replications averaged): <b>{html.escape(r.best)}</b> is best on average "
        f"of {r.variants} (mean {html.escape(_fmt_metric(r.metric, r.mean_best))} "
        f"{html.escape(label)}; probability of being best {r.p_best:.2f} over a bootstrap "
        f"of the points; best at {100 * r.best_share_of_replications:.0f}% of the points). "
        f'<span class="{cls}">{html.escape(r.plain)}</span> '
        f'<span class="small">(paired by point over {r.n_pairs} points; p = '
        f"{r.p_value:.3g}, Holm-adjusted {r.p_holm:.3g} within {html.escape(vendor)}'s "
        f"{html.escape(label)} family of {n_fam} comparison{'s' if n_fam != 1 else ''}; "
        "where each wins: <code>run.py discover</code>)</span></li>"
    )


def _round_target(x: float) -> float:
    if not x > 0:
        return 1.0
    mag = 10 ** math.floor(math.log10(x))
    return max(mag, round(x / mag) * mag)


def extra_sections(d: SweepData, vendor: str | None) -> list[tuple[str, str]]:
    """Sensitivity (analysis.studies.sensitivity.study), optimisation (analysis.studies.optimize.study) and discovery
    (analysis.studies.discover.study) results stored in the report's folder, its sweep folder or a
    folder right below either, as (kind, HTML) sections; a module that is not there is
    skipped, so the report works without it."""
    import importlib

    roots = [d.path.parent, d.path]
    folders: list[Path] = []
    for r in roots:
        if not r.is_dir():
            continue
        for f in [r, *sorted(x for x in r.iterdir() if x.is_dir())]:
            if not f.name.startswith("table=") and f not in folders:
                folders.append(f)
    hooks = (
        (
            "sensitivity",
            "analysis.studies.sensitivity.study",
            "sensitivity_section",
            "sensitivity.json",
        ),
        ("optimisation", "analysis.studies.optimize.study", "html_section", "optimize.json"),
        ("discovery", "analysis.studies.discover.study", "discovery_section", "discovery.json"),
    )
    names = set(d.info.get("vendors", [])) | set(d.vendors_all["vendor"].unique())
    out = []
    for kind, module, func, marker in hooks:
        found = [f for f in folders if (f / marker).is_file()]
        if not found:
            continue
        try:
            fn = getattr(importlib.import_module(module), func)
        except (ModuleNotFoundError, AttributeError):
            continue
        for f in found:
            try:
                text = fn(f, vendor) if kind == "optimisation" else fn(f)
            except Exception as exc:  # noqa: BLE001 - one section must not sink the report
                text = f'<p class="note">{kind} results in {html.escape(str(f))} could not be read ({html.escape(type(exc).__name__)}).</p>'
            if not text:
                continue
            if vendor is not None and kind != "optimisation":
                mentioned = {n for n in names if n in text}
                if mentioned and vendor not in mentioned:
                    continue  # another vendor's study
            out.append((kind, text))
    return out


# ------------------------------------------------------------------ policy sweeps (issue 11)
#: believed and true returns are shown per this much spend (as in `run.py dataloop`)
RETURN_PER = 100_000.0
#: the file of true returns `run.py dataloop` writes
TRUTH_FILE = "dataloop_truth.csv"


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


def fig_policy_mix(pm: pd.DataFrame, variants: list[str]):
    """The vendor's mean share per channel by quarter: one panel per variant (its full
    name), the legend outside the axes."""
    fig, axes = _panels(len(variants))
    channels = sorted(pm["channel"].astype(str).unique())
    plt = pyplot()
    colors = {c: plt.cm.tab10(i % 10) for i, c in enumerate(channels)}
    for ax, v in zip(axes.ravel(), variants, strict=False):
        sub = pm[pm["variant"] == v].pivot_table(
            index="quarter", columns="channel", values="mean_share", observed=True
        )
        for c in channels:
            if c in sub:
                ax.plot(sub.index + 1, sub[c], marker="o", ms=3, color=colors[c], label=c)
        ax.set_title(wrap_label(v, 40), fontsize=8)
        ax.set_xlabel("quarter (13 weeks)", fontsize=8)
        ax.set_ylim(0, 1)
    for ax in axes.ravel()[len(variants) :]:
        ax.axis("off")
    axes[0, 0].set_ylabel("share of channel spend")
    handles = [plt.Line2D([], [], color=colors[c], marker="o", ms=3, label=c) for c in channels]
    fig.tight_layout(rect=(0, 0, 0.8, 1))
    fig.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(0.81, 0.95))
    return fig


def _cadence_of(d: SweepData, variant: str, vendor: str) -> int | None:
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


def find_truth(d: SweepData, truth: Path | None) -> tuple[pd.DataFrame | None, Path | None]:
    """The true returns of `run.py dataloop` (dataloop_truth.csv): the file given, else one
    in the sweep folder or the results folder above it."""
    candidates = (
        [Path(truth)] if truth is not None else [d.path / TRUTH_FILE, d.path.parent / TRUTH_FILE]
    )
    for f in candidates:
        if f.is_file():
            t = pd.read_csv(f)
            need = {"week", "channel", "true_return", "low", "high"}
            if not need <= set(t.columns):
                raise ScenarioError(
                    str(f),
                    "",
                    f"not a {TRUTH_FILE} of `run.py dataloop` (needs {', '.join(sorted(need))})",
                )
            if "oracle" not in t:
                t["oracle"] = "oracle"
            return t, f
        if truth is not None:
            raise ScenarioError(str(f), "--truth", "no such file")
    return None, None


def _truth_at(truth: pd.DataFrame, cadence: int | None, week: int, channel: str) -> dict | None:
    """The true return of `channel` at the latest truth week <= `week`, from the oracle of
    the same cadence (label `...@<cadence>`) if there is one, else any oracle."""

    def cad(label: str) -> int | None:
        tail = str(label).rsplit("@", 1)
        return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else None

    labels = sorted(truth["oracle"].astype(str).unique(), key=lambda x: cad(x) != cadence)
    for label in labels:
        t = truth[(truth["oracle"].astype(str) == label) & (truth["channel"] == channel)]
        t = t[t["week"] <= week].sort_values("week")
        if len(t):
            return t.iloc[-1].to_dict()
    return None


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
            tr = _truth_at(truth, _cadence_of(d, r.variant, vendor), int(r.week), r.channel)
            t_rows.append(
                [tr[k] * RETURN_PER if tr else math.nan for k in ("true_return", "low", "high")]
            )
        out[["true", "true_low", "true_high"]] = pd.DataFrame(t_rows, index=out.index)
        cols += ["true", "true_low", "true_high"]
    out["order"] = out["adjustment"].map({"first": 0, "last": 1})
    out = out.sort_values(["variant_id", "order", "channel"], kind="stable")
    return out[[*cols, "share_after"]].reset_index(drop=True)


def policy_section(
    d: SweepData, vendor: str | None, truth: Path | None = None
) -> tuple[str, dict[str, pd.DataFrame]]:
    """The "Policies" section of a policy sweep (one with `mix` rows: a data_loop or
    oracle vendor, analysis.engine.outcomes) as HTML and its tables; ("", {}) otherwise."""
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
    truth_df, truth_file = find_truth(d, truth)
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
    if truth_df is None:
        parts.append(
            '<p class="note">True returns are not in a sweep: <code>run.py dataloop FILE '
            "--out DIR</code> measures them (the oracle's counterfactual runs); put its "
            f"{TRUTH_FILE} in the sweep folder or pass <code>--truth FILE</code> to show "
            "them next to the beliefs.</p>"
        )
    else:
        tables["policy_truth"] = truth_df
        parts.append(
            f'<p class="note">True returns (true, true_low, true_high: 95% interval) from '
            f"{esc(str(truth_file))}, measured by <code>run.py dataloop</code> with the "
            "oracle's counterfactual runs, at the latest truth week up to each adjustment "
            "(the oracle of the same cadence where there is one). They come from that "
            "study's scenario: they match this sweep only if it ran the same file.</p>"
        )
    return "\n".join(parts), tables


def filter_vendor(d: SweepData, vendor: str | None) -> SweepData:
    """The sweep's tables restricted to one vendor (`--vendor`: filters everything)."""
    if vendor is None:
        return d

    def keep(df):
        return None if df is None else df[df["vendor"] == vendor].reset_index(drop=True)

    att = [t for t in d.attribution if "vendor" not in t or (t["vendor"] == vendor).all()]
    return SweepData(
        d.path,
        d.info,
        d.runs_all,
        d.runs,
        keep(d.vendors),
        d.source_use,
        keep(d.weekly_vendors),
        att,
        d.vendors if d.vendors_all is None else d.vendors_all,
        keep(d.mix),
        keep(d.beliefs),
    )


def build_report(
    path: Path,
    out: Path,
    reference: str | None = None,
    vendor: str | None = None,
    sweep: str | None = None,
    progress: Callable[[str], None] | None = None,
    data: SweepData | None = None,
    width: float | None = None,
    truth: Path | None = None,
    metric: str = "conversions",
) -> Report:
    """Read a sweep folder and write the HTML report and its CSV tables.

    The page answers first (per vendor the sweep asks about: the best variant, its
    probability of being best, at equal budget, the paired difference to the runner-up),
    then the figures, then the scorecard and the comparisons with a reference.

    Args:
        path: the results folder of `run.py sweep --out` (or one sweep=<name> folder).
        out: the HTML file to write; tables go to `<stem>_tables/` next to it.
        reference: the variant other variants are compared with (default: the first).
        vendor: report on this vendor only (every section and table); also the vendor
            whose conversions the sensitivity explains.
        sweep: which sweep, when the folder holds several.
        progress: called with a step name as each step starts.
        data: the sweep already read with `load` (else it is read from `path`).
        width: the half-width the replications line aims at (default: half the widest).
        truth: a dataloop_truth.csv of `run.py dataloop` to show next to a policy sweep's
            beliefs (default: one in the sweep folder or the folder above it).
        metric: the vendor metric the answers pick the best variant by (compare.
            VENDOR_METRICS; the lowest for cost metrics).
    """
    started = time.perf_counter()
    step = progress or (lambda _name: None)
    step("reading results")
    d = data if data is not None else load(Path(path), sweep)
    check_choices(d, reference, vendor)
    if d.vendors_all is None:
        d.vendors_all = d.vendors
    full_weekly = d.weekly_vendors
    d = filter_vendor(d, vendor)
    variants_order = variant_order(d)
    reference = reference or variants_order[0]
    focal = vendor or focal_vendor(d.info, d.vendors)
    shown = variants_order[:MAX_VARIANTS_SHOWN]
    if reference not in shown:
        shown = [reference, *shown[:-1]]
    tables: dict[str, pd.DataFrame] = {}
    parts: list[str] = []

    step("statistics")
    tables["setup"] = setup_table(d, vendor)
    summary = compare.summarize(
        d.vendors, ["variant_id", "variant", "vendor"], list(compare.VENDOR_METRICS)
    )
    tables["vendor_summary"] = summary
    reps = int(d.runs["replication"].nunique())
    all_vendors = list(dict.fromkeys(d.vendors["vendor"]))
    asked = [vendor] if vendor else asked_vendors(d.info, all_vendors)
    answers = answers_table(d, asked, metric) if reps > 1 else pd.DataFrame()
    if answers.empty:  # a sampled sweep: the best choice over the sampled conditions
        answers = sampled_answers_table(d, asked, metric)
    tables["answers"] = answers
    comparisons = None
    if len(variants_order) > 1 and reps > 1:
        comparisons = pd.concat(
            [
                compare.paired_differences(d.vendors, reference, m, holm_by=["vendor"])
                for m in compare.VENDOR_METRICS
            ],
            ignore_index=True,
        )
        tables["comparisons"] = comparisons
    funnel = funnel_table(d.runs)
    tables["funnel"] = funnel

    name = d.info.get("name", "")
    title = f"Sweep report: {name}" + (f" ({vendor})" if vendor else "")
    parts.append(f"<h1>{html.escape(str(title))}</h1>")
    if d.info.get("description"):
        parts.append(f"<p><b>Question:</b> {html.escape(d.info['description'])}</p>")
    parts.append('<h2 id="answers">Answers</h2>')
    body, reps_line = answers_html(answers, reps, width)
    if not answers.empty and bool(answers["sampled"].any()):
        parts.append(
            f'<p class="note">A sampled sweep: each answer ranks the vendor\'s choices by '
            f"mean {html.escape(compare.VENDOR_METRICS[metric])}"
            + (" (lowest is best)" if metric in compare.LOWER_IS_BETTER else "")
            + " over the sampled market conditions, every choice run at the same points "
            "with the same seeds; each point's replications are averaged first, so the "
            "points are the units of the intervals and of the bootstrap. <b>Multiple "
            "comparisons</b>: one family per vendor and metric, Holm's adjustment within "
            "it. An average over the sampled space says which choice wins more, not where: "
            "scenario discovery (<code>run.py discover</code>) finds the conditions.</p>"
        )
    elif not answers.empty:
        eq = bool(answers["equal_budget"].any())
        parts.append(
            f'<p class="note">Best by mean {html.escape(compare.VENDOR_METRICS[metric])}'
            + (" (lowest is best)" if metric in compare.LOWER_IS_BETTER else "")
            + f" over the {reps} replications; variants are compared "
            + ("<b>at equal budget</b> (within each budget level) and " if eq else "")
            + "under the same other conditions. <b>Probability of being best</b>: the "
            f"share of {BOOTSTRAP:,} bootstrap resamples of the replications (pairs kept "
            "together) in which the variant's mean is highest. <b>Multiple comparisons</b>: "
            "one family per vendor and metric (the vendor's best-vs-runner-up comparisons "
            f"of {html.escape(compare.VENDOR_METRICS[metric])}); Holm's adjustment within it; "
            "a difference is called only when "
            'its Holm-adjusted p &lt; 0.05, otherwise "no clear difference".</p>'
        )
    parts.append(body)
    if reps_line:
        parts.append(f"<p>{html.escape(reps_line)}</p>")
    parts.append(
        '<p class="note">Common random numbers: replication r of every variant ran with the '
        "same seed, so variants are compared pair by pair within a replication. Intervals "
        "are 95% Student-t intervals over replications. Only runs with status ok count: "
        f"{len(d.runs):,} of {len(d.runs_all):,} runs"
        + (f" ({d.failed:,} failed and left out)" if d.failed else "")
        + ". The full set-up is at the end.</p>"
    )

    step("figures: conversions")
    parts.append('<h2 id="figures">Figures</h2>')
    parts.append(fig_to_img(fig_conversions(summary, shown), "conversions by variant with 95% CI"))

    step("figures: funnel and sources")
    parts.append(
        fig_to_img(
            fig_funnel(funnel, shown[:10]), "stage funnel (all vendors: the market's journeys)"
        )
    )
    if d.source_use is not None and not d.source_use.empty:
        shares = source_use_shares(d.source_use)
        tables["source_use"] = shares.reset_index().melt(
            id_vars="stage", var_name="channel", value_name="share"
        )
        idc = idc_table(shares)
        tables["idc_ranking"] = idc
        parts.append("<h3>Source use by stage vs the IDC ranking</h3>")
        parts.append(
            '<div class="row"><div>'
            + fig_to_img(fig_source_use(shares), "source use by stage heatmap")
            + "</div><div>"
            + html_table(idc)
            + '<p class="note">IDC Social Buying Study (2014), docs/sources.md §1; all ok runs pooled.</p></div></div>'
        )
    if full_weekly is not None and not full_weekly.empty:
        step("figures: win share over weeks")
        ws = win_share_weeks(full_weekly)  # shares of all vendors' conversions
        if vendor is not None:
            ws = ws[ws["vendor"] == vendor].reset_index(drop=True)
        tables["win_share_weeks"] = ws
        parts.append("<h3>Win share over weeks</h3>")
        parts.append(
            '<p class="note">Cumulative win share: each vendor\'s conversions so far over all '
            "conversions so far, mean over replications.</p>"
        )
        parts.append(fig_to_img(fig_win_share(ws, shown[:6]), "cumulative win share over weeks"))
    else:
        parts.append(
            '<h3>Win share over weeks</h3><p class="note">Not available: the sweep was run '
            "without weekly tables (use --weekly or weekly = true).</p>"
        )

    step("scorecard")
    parts.append("<h2>Scorecard per variant and vendor (mean ± 95% CI half-width)</h2>")
    sc = scorecard(summary[summary["variant"].isin(shown)])
    parts.append(html_table(sc))
    if len(variants_order) > len(shown):
        parts.append(
            f'<p class="note">Showing {len(shown)} of {len(variants_order):,} variants; '
            "every variant is in vendor_summary.csv.</p>"
        )
    if comparisons is not None:
        parts.append(f"<h2>Paired comparisons against {html.escape(reference)}</h2>")
        parts.append(
            '<p class="note">Mean of the within-replication differences (variant − reference), '
            "its 95% t interval and a paired t-test. Multiple comparisons: one family per "
            "vendor and metric (all variants against the reference); <b>clear</b>: p &lt; "
            "0.05 after Holm's adjustment within that family. All metrics are in "
            "comparisons.csv.</p>"
        )
        parts.append(f"<p>{html.escape(compare.pairing_summary(comparisons))}</p>")
        conv = comparisons[
            (comparisons["metric"] == "conversions") & comparisons["variant"].isin(shown)
        ]
        items = "".join(
            f"<li><b>{html.escape(r.vendor)}</b>: "
            f'<span class="{"clear" if r.verdict == "clear" else "unclear"}">{html.escape(r.plain)}</span> '
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

    parts.append("<h2>Stage funnel</h2>")
    parts.append('<p class="note">All vendors: the market\'s buyer journeys.</p>')
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
        parts.append("<h2>Parameter effects and a quick sensitivity screen</h2>")
        parts.append(
            '<p class="note">A quick screen, not Sobol indices (run.py sensitivity computes those). '
            "Over all ok runs. Screen index: the correlation ratio eta² of "
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

    if d.mix is not None and not d.mix.empty:
        step("policies")
        text, ptables = policy_section(d, vendor, truth)
        if text:
            parts.append(text)
            tables.update(ptables)

    if d.attribution:
        step("attribution")
        from analysis.studies.lab.study import lab_html_section

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

    for kind, text in extra_sections(d, vendor):
        step(kind)
        parts.append(text)

    step("set-up")
    parts.append("<h2>Set-up</h2>" + html_table(tables["setup"]))

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
