"""The optimisation's figures: response curves per channel, and the objective by trial."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from analysis.render.html import pyplot

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from analysis.studies.optimize.optimizer import Result


def curves_figure(result: Result) -> Figure:
    """Conversions (95% CI) against each channel's weekly spend, the recommended spend
    dotted; one panel per channel, sharing the y axis."""
    plt = pyplot()
    cur = result.curves
    chans = list(dict.fromkeys(cur["channel"]))
    cols = min(3, len(chans))
    rows = math.ceil(len(chans) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.6 * cols, 2.6 * rows), dpi=80, squeeze=False, sharey=True
    )
    rec = result.recommended
    for ax, ch in zip(axes.ravel(), chans, strict=False):
        g = cur[cur["channel"] == ch]
        ax.errorbar(
            g["weekly_spend"] / 1e3,
            g["conversions"],
            yerr=g["conversions_half_width"].fillna(0),
            marker="o",
            capsize=3,
        )
        here = rec.shares().get(ch, 0.0) * rec.budget / 1e3
        ax.axvline(here, color="C3", ls=":", lw=1)
        ax.set_title(ch, fontsize=9)
        ax.set_xlabel("weekly spend (k)", fontsize=8)
    for ax in axes.ravel()[len(chans) :]:
        ax.axis("off")
    axes[0, 0].set_ylabel("conversions per run", fontsize=8)
    fig.suptitle("Response curves (others fixed; dotted: recommended spend)", fontsize=10)
    fig.tight_layout()
    return fig


def trials_figure(result: Result) -> Figure:
    """Each trial's search mean and the best so far, by trial number."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3), dpi=80)
    xs = [t.number for t in result.trials]
    ys = [t.score for t in result.trials]
    ax.plot(xs, ys, "o", ms=3, color="grey", label="trial (search mean)")
    best, run = [], -math.inf
    for y in ys:
        run = max(run, y)
        best.append(run)
    ax.plot(xs, best, color="C0", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(result.spec.objective)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig
