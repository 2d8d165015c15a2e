"""The peeling trajectories of a discovery: coverage against density of every box PRIM
passed through, one panel per reported box, the chosen box circled."""

from __future__ import annotations

from typing import Any

import pandas as pd
from matplotlib.ticker import MaxNLocator

from analysis.render.html import fig_to_img, pyplot


def trajectory_figure(boxes: list[dict[str, Any]]) -> str:
    """Coverage vs density along each box's peeling trajectory (the boxes as the
    discovery's JSON holds them), the chosen box marked."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(boxes), figsize=(6.2 * len(boxes), 4.6), dpi=100, squeeze=False)
    for ax, b in zip(axes[0], boxes, strict=True):
        t = pd.DataFrame(b["trajectory"])
        sc = ax.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap="viridis", s=22)
        ax.plot(t["coverage"], t["density"], color="#999", lw=0.6, zorder=0)
        ax.scatter(
            [b["coverage"]],
            [b["density"]],
            s=180,
            facecolors="none",
            edgecolors="#d62728",
            lw=2,
            label=f"chosen: coverage {b['coverage']:.2f}, density {b['density']:.2f}",
        )
        ax.set_xlabel("coverage (share of all cases of interest inside the box)")
        ax.set_ylabel("density (share of the box's cases of interest)")
        ax.set_title(f"box {b['box']}: peeling trajectory")
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        bar = fig.colorbar(sc, ax=ax, label="restricted dimensions")
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False, fontsize=8)
    fig.tight_layout()
    return fig_to_img(fig, "PRIM peeling trajectory: coverage vs density")
