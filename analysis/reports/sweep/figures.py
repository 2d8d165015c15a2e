"""Every figure of the batch report (matplotlib, Agg backend; the page embeds each as a
PNG): conversions by variant, the stage funnel, source use by stage, win share over
weeks, parameter effects and the sensitivity ranking of a sampled sweep, and a policy
sweep's channel mix by quarter.

Legends stand outside the axes (they never cover data) and a variant's name is wrapped,
never cut.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.render.html import pyplot
from analysis.reports.sweep.tables import FUNNEL
from analysis.stats import compare


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
