"""The DATA-loop study's figures: the focal vendor's channel mix quarter by quarter, and
the believed against the true return per channel at the first adjustment."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from analysis.render.html import pyplot
from analysis.studies.dataloop.summary import StudyResult
from analysis.studies.dataloop.truth import PER


def mix_figure(res: StudyResult) -> Figure:
    """Per variant: the focal vendor's channel mix quarter by quarter (stacked shares)."""
    plt = pyplot()
    mix = res.tables["mix"]
    labels = list(dict.fromkeys(mix["variant"]))
    lines_ = sorted(set(mix["line"]))
    cols = min(3, len(labels))
    rows = math.ceil(len(labels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3 * rows), dpi=80, squeeze=False)
    colors = {c: plt.cm.tab10(i % 10) for i, c in enumerate(lines_)}
    for ax, label in zip(axes.flat, labels, strict=False):
        m = mix[mix["variant"] == label].pivot(index="quarter", columns="line", values="share")
        m = m.reindex(columns=lines_).fillna(0.0)
        ax.stackplot(m.index + 1, m.T.to_numpy(), labels=lines_, colors=[colors[c] for c in lines_])
        ax.set_title(label, fontsize=9)
        ax.set_ylim(0, 1)
        ax.set_xlabel("quarter")
    for ax in list(axes.flat)[len(labels) :]:
        ax.axis("off")
    axes.flat[0].set_ylabel("share of spend")
    fig.legend(
        *axes.flat[0].get_legend_handles_labels(),
        loc="lower center",
        ncol=min(len(lines_), 5),
        fontsize=7,
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def returns_figure(res: StudyResult) -> Figure:
    """Believed (each data-loop variant) vs true (the oracle) return per channel at the
    first adjustment, with 95% intervals."""
    plt = pyplot()
    truth = res.tables["truth"]
    first = truth[truth["week"] == truth.groupby("oracle")["week"].transform("min")]
    first = first[first["oracle"] == first["oracle"].iloc[0]]
    channels = list(first["channel"])
    b = res.tables.get("beliefs")
    series = [
        (
            "truth (" + first["oracle"].iloc[0] + ")",
            first.set_index("channel"),
            "true_return",
            "low",
            "high",
        )
    ]
    if b is not None and len(b):
        for label, g in b.groupby("variant", sort=False):
            series.append(
                (label, g.set_index("channel"), "believed", "believed_low", "believed_high")
            )
    fig, ax = plt.subplots(figsize=(8, 0.6 * len(channels) * max(1, len(series) / 2) + 1.5), dpi=80)
    y = np.arange(len(channels))
    h = 0.8 / len(series)
    for i, (label, df, mid, lo, hi) in enumerate(series):
        df = df.reindex(channels)
        yy = y - 0.4 + (i + 0.5) * h
        err = np.vstack([df[mid] - df[lo], df[hi] - df[mid]]) * PER
        ax.barh(yy, df[mid] * PER, height=h, label=label, xerr=np.nan_to_num(err), capsize=2)
    ax.set_yticks(y, channels)
    ax.invert_yaxis()
    ax.axvline(0, color="grey", lw=0.8)
    ax.set_xlabel(f"return per {PER:,.0f} spent ({truth.attrs.get('objective', 'objective')})")
    ax.set_title(f"{res.study.vendor}: believed vs true return per channel (first adjustment)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
