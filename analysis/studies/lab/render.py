"""The attribution lab shown: a terminal table with bars (`format_lab`), a figure
(`lab_figure`) and an HTML section (`lab_html_section`, also a part of the batch report
when the lab is saved into a sweep folder)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.render.html import fig_to_img, html_table, pyplot
from analysis.render.terminal import format_table, percent
from analysis.stats.credit import METHODS, UNATTRIBUTED


def format_lab(table: pd.DataFrame) -> str:
    """The lab's table and a bar per channel (last touch vs truth) for the terminal."""
    a = table.attrs
    headers = ["channel", "spend/wk", *(METHODS.values()), "true lift (95% CI)", "true share"]
    headers.append("incr. ROI (95% CI)")
    rows = []
    for r in table.itertuples():
        if math.isnan(r.true_lift):
            truth, share = "not bought", "-"
        else:
            truth = f"{r.true_lift:,.1f} [{r.true_lift_low:,.1f}, {r.true_lift_high:,.1f}]"
            share = percent(r.true_share)
        roi = "-"
        if not math.isnan(r.incremental_roi):
            lo, hi = r.incremental_roi_low, r.incremental_roi_high
            roi = f"{r.incremental_roi:,.2f} [{lo:,.2f}, {hi:,.2f}]"
        rows.append(
            [
                r.channel,
                f"{r.weekly_spend:,.0f}" if r.weekly_spend else "-",
                *(percent(getattr(r, f"{m}_share")) for m in METHODS),
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
        bars.append(f"  {r.channel.ljust(width)}  {'#' * round(40 * lt):<40} {percent(lt)}")
        if not math.isnan(r.true_share):
            bars.append(f"  {''.ljust(width)}  {'=' * round(40 * tr):<40} {percent(r.true_share)}")
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
