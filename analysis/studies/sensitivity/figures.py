"""The figure of one outcome's indices: a pair of bars per parameter with their 95%
intervals (Sobol': S1 and ST; Morris: mu* and sigma), as an <img> for the page."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.render.html import fig_to_img, pyplot

#: per method: (column, interval column, label) of the first and the second bar
BARS = {
    "sobol": (("S1", "S1_conf", "first order S1"), ("ST", "ST_conf", "total ST")),
    "morris": (
        ("mu_star", "mu_star_conf", "mu* (mean |effect|)"),
        ("sigma", None, "sigma (interactions / non-linearity)"),
    ),
}


def index_figure(df: pd.DataFrame, method: str, outcome: str) -> str:
    """Bars per parameter with their 95% intervals (S1 and ST, or mu* with sigma)."""
    plt = pyplot()
    names = list(df["parameter"])
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * len(names) + 1.6), dpi=100)
    first, second = BARS[method]
    h = 0.38
    for shift, (col, conf, label), color in ((-1, first, "#4c72b0"), (1, second, "#dd8452")):
        err = df[conf] if conf else None
        ax.barh(y + shift * h / 2, df[col], h, xerr=err, label=label, color=color, capsize=3)
    if method == "sobol":
        ax.set_xlabel("Sobol' index (share of variance), 95% interval")
        ax.axvline(0, color="#888", lw=0.8)
    else:
        ax.set_xlabel("elementary effect (outcome units), mu* with 95% interval")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_title(outcome)
    # the legend goes below the axes: it never covers a bar
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False, fontsize=8)
    fig.tight_layout()
    return fig_to_img(fig, f"{method} indices of {outcome}")
