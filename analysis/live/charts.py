"""The live view's charts: each one Figure per model, built on first use and updated in
place each frame (building axes, ticks and legends each frame costs 5-10x more).

`Chart` is the contract (build once, update per frame, blit the changing artists);
here are the stage funnel, the vendors over weeks, this week's source use, the buying
groups and a data-loop vendor's chart. The referral graph is in graph_chart.py; the
PNGs by name, cached per model, in images.py.
"""

from __future__ import annotations

import io
import threading
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import PIL.Image
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from analysis.live.groups import closed_column, purchase_rate_by_size, reasons_by_week
from analysis.live.loop import (
    RETURN_PER,
    adjustment_weeks,
    loop_beliefs,
    mix_over_weeks,
    planned_adjustments,
    returns_table,
)
from analysis.live.style import (
    COLOUR_BY,
    DPI,
    REASON_LINES,
    STAGE_COLOURS,
    TRUE_COLOUR,
    channel_colour,
    channel_label,
    short_label,
    stage_label,
    vendor_colour,
)
from sim.channels import CHANNEL_NAMES, CHANNELS, IDC_TOP_THREE, RESEARCH_STAGES, Stage

if TYPE_CHECKING:
    from analysis.live.state import VizModel

#: The groups chart draws shares of closed journeys once this many have closed.
MIN_CLOSED = 10


def nice_max(x: float) -> float:
    """An axis top at or above x that changes in steps, not every week."""
    if x <= 0:
        return 1.0
    mag = 10 ** np.floor(np.log10(x))
    for f in (1, 1.5, 2, 3, 4, 5, 6, 8, 10):
        if f * mag >= x:
            return float(f * mag)
    return float(10 * mag)


def agg_figure(width: float, height: float) -> Figure:
    """A `width` x `height` inch figure at the view's DPI, on its own Agg canvas (no
    pyplot: nothing global, safe across sessions and threads)."""
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


class Chart:
    """A figure kept for the life of one model, updated in place each frame.

    Blitting: the static parts (axes, ticks, labels, legend, the graph's edges) are drawn
    once and kept as a pixel buffer; a frame restores it and draws only the artists that
    change (`self.animated`). `update` returns True when the static part changed too
    (an axis limit moved), which costs one full draw.
    """

    def __init__(self, model: VizModel) -> None:
        self.lock = threading.Lock()
        self.animated: list = []
        self.highlight: int | None = None  # a buyer to mark (the graph uses it)
        self.colour_by = COLOUR_BY[0]  # what the graph's dots show
        self.top = 0.0  # the y axis top of a chart that grows (`rescale`)
        self.fig = self.build(model)
        for artist in self.animated:
            artist.set_animated(True)
        self.background = None

    def build(self, model: VizModel) -> Figure:  # pragma: no cover - abstract
        raise NotImplementedError

    def update(self, model: VizModel) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def rescale(self, ax: Axes, top: float) -> bool:
        """Set `ax`'s y axis to 0..`top` if the top moved; True then (the static part
        is drawn again)."""
        if top == self.top:
            return False
        self.top = top
        ax.set_ylim(0, top)
        return True

    def png(
        self, model: VizModel, highlight: int | None = None, colour_by: str = COLOUR_BY[0]
    ) -> bytes:
        """The chart for the model's current state as PNG bytes; `highlight` marks a
        buyer and its buying group, `colour_by` (one of COLOUR_BY) colours the dots (on
        the graph)."""
        with self.lock:
            self.highlight = highlight
            self.colour_by = colour_by
            canvas = self.fig.canvas
            if self.update(model) or self.background is None:
                canvas.draw()
                self.background = canvas.copy_from_bbox(self.fig.bbox)
            else:
                canvas.restore_region(self.background)
            for artist in self.animated:
                self.fig.draw_artist(artist)
            rgba = np.asarray(canvas.buffer_rgba())
            buf = io.BytesIO()
            PIL.Image.fromarray(rgba[..., :3]).save(buf, format="png", compress_level=1)
            return buf.getvalue()


class FunnelChart(Chart):
    """Buyers in each stage at the end of each week (idle buyers in the title)."""

    STAGES = tuple(s for s in Stage if s != Stage.IDLE)

    def build(self, model: VizModel) -> Figure:
        fig = agg_figure(6, 3.3)
        ax = fig.add_subplot()
        fig.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.14)
        self.lines = {
            s: ax.plot([], [], color=STAGE_COLOURS[s], label=stage_label(s))[0] for s in self.STAGES
        }
        ax.set_title("Stage funnel: buyers per stage (idle not shown)", fontsize=10)
        ax.set_xlabel("week", fontsize=8)
        ax.set_xlim(0, max(model.horizon, 1))
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="upper left", frameon=False, ncol=3)
        self.ax = ax
        self.animated = list(self.lines.values())
        return fig

    def update(self, model: VizModel) -> bool:
        # one read of the series: the play loop may finish a week meanwhile
        counts = np.array(model.recorder("weekly").stages, dtype=np.int64).reshape(-1, len(Stage))
        weeks = np.arange(1, len(counts) + 1)
        for s, line in self.lines.items():
            line.set_data(weeks, counts[:, s])
        top = nice_max(1.25 * float(counts[:, 1:].max()) if len(weeks) else 1.0)
        return self.rescale(self.ax, top)


class VendorsChart(Chart):
    """Conversions (cumulative) and win share per vendor over weeks."""

    def build(self, model: VizModel) -> Figure:
        fig = agg_figure(6, 3.3)
        ax1, ax2 = fig.subplots(1, 2)
        fig.subplots_adjust(left=0.1, right=0.98, top=0.9, bottom=0.14, wspace=0.25)
        self.conv = [
            ax1.plot([], [], color=vendor_colour(i), label=name)[0]
            for i, name in enumerate(model.vendor_names)
        ]
        self.share = [ax2.plot([], [], color=vendor_colour(i))[0] for i in range(model.n_vendors)]
        ax1.set_title("Conversions (cumulative)", fontsize=10)
        ax2.set_title("Win share", fontsize=10)
        ax2.set_ylim(0, 1)
        for ax in (ax1, ax2):
            ax.set_xlim(0, max(model.horizon, 1))
            ax.set_xlabel("week", fontsize=8)
            ax.tick_params(labelsize=7)
        ax1.legend(fontsize=7, loc="upper left", frameon=False)
        self.ax1 = ax1
        self.animated = self.conv + self.share
        return fig

    def update(self, model: VizModel) -> bool:
        conv = np.array(model.recorder("weekly").conversions, dtype=float)
        conv = conv.reshape(-1, model.n_vendors)  # one read: see FunnelChart.update
        weeks = np.arange(1, len(conv) + 1)
        cum = np.cumsum(conv, axis=0)
        total = cum.sum(1, keepdims=True)
        share = np.divide(cum, total, out=np.full_like(cum, np.nan), where=total > 0)
        for i in range(model.n_vendors):
            self.conv[i].set_data(weeks, cum[:, i])
            self.share[i].set_data(weeks, share[:, i])
        top = nice_max(1.4 * float(cum.max()) if cum.size else 1.0)
        return self.rescale(self.ax1, top)


class SourceUseChart(Chart):
    """This week's consultations per research stage and source, as shares of the stage."""

    def build(self, model: VizModel) -> Figure:
        fig = agg_figure(6, 3.0)
        ax = fig.add_subplot()
        fig.subplots_adjust(left=0.12, right=0.99, top=0.9, bottom=0.3)
        self.image = ax.imshow(
            np.zeros((3, len(CHANNELS))), cmap="Blues", vmin=0, vmax=0.45, aspect="auto"
        )
        ax.set_yticks(range(3), [s.label for s in RESEARCH_STAGES], fontsize=8)
        ax.set_xticks(range(len(CHANNELS)), [short_label(c.label) for c in CHANNELS], rotation=35)
        for t in ax.get_xticklabels():
            t.set_horizontalalignment("right")
        ax.tick_params(axis="x", labelsize=7)
        self.cells = [
            [ax.text(c, r, "", ha="center", va="center", fontsize=7) for c in range(len(CHANNELS))]
            for r in range(3)
        ]
        marks = []  # IDC's top three, drawn over the (animated) heat map every frame
        for r, stage in enumerate(RESEARCH_STAGES):
            for rank, name in enumerate(IDC_TOP_THREE[stage]):
                c = CHANNEL_NAMES.index(name)
                marks.append(
                    ax.add_patch(
                        Rectangle(
                            (c - 0.46, r - 0.46), 0.92, 0.92, fill=False, ec="#d62728", lw=1.5
                        )
                    )
                )
                marks.append(
                    ax.text(
                        c + 0.42,
                        r - 0.42,
                        str(rank + 1),
                        color="#d62728",
                        fontsize=6,
                        ha="right",
                        va="top",
                    )
                )
        ax.set_title("Share of each stage's consultations this week (red: IDC top 3)", fontsize=10)
        self.animated = [self.image, *marks, *(t for row in self.cells for t in row)]
        return fig

    def update(self, model: VizModel) -> bool:
        use = np.asarray(model.recorder("source_use").week, dtype=float)
        rows = use.sum(1, keepdims=True)
        share = np.divide(use, rows, out=np.zeros_like(use), where=rows > 0)
        self.image.set_data(share)
        for r in range(3):
            for c in range(len(CHANNELS)):
                cell = self.cells[r][c]
                cell.set_text(f"{share[r, c]:.0%}" if use[r, c] else "")
                cell.set_color("white" if share[r, c] > 0.25 else "black")
        return False


class GroupsChart(Chart):
    """Buying groups, from the journeys recorder: the share of group journeys closed so
    far that ended in no decision, by reason, week by week (and the counts), and the
    share that ended in a purchase, by group size. Both axes are fixed (shares), so a
    frame only redraws the lines, bars and counts."""

    def build(self, model: VizModel) -> Figure:
        fig = agg_figure(6, 3.0)
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": (1.25, 1)})
        fig.subplots_adjust(left=0.09, right=0.98, top=0.8, bottom=0.16, wspace=0.28)
        self.lines = [
            ax1.plot([], [], color=colour, label=label)[0] for _, label, colour in REASON_LINES
        ]
        ax1.set_title(
            "No decision, by reason: share of group\njourneys closed (at line ends: how many)",
            fontsize=9,
        )
        ax1.set_xlim(0, max(model.horizon, 1))
        ax1.set_xlabel("week", fontsize=8)
        ax1.legend(fontsize=7, loc="upper right", frameon=False)
        self.ends = [  # each reason's count so far, at its line's end
            ax1.text(0, 0, "", color=colour, fontsize=7, va="center", clip_on=False)
            for _, _, colour in REASON_LINES
        ]
        self.max_size = int(model.accounts.size.max()) if model.accounts.n else 1
        sizes = np.arange(1, self.max_size + 1)
        self.bars = list(ax2.bar(sizes, np.zeros(sizes.size), color=STAGE_COLOURS[Stage.BOUGHT]))
        self.counts = (
            [ax2.text(x, 0.0, "", ha="center", va="bottom", fontsize=6) for x in sizes]
            if sizes.size <= 16
            else []
        )
        percent = ([0, 0.25, 0.5, 0.75, 1.0], ["0", "25%", "50%", "75%", "100%"])
        ax1.set_ylim(0, 1.0)
        ax2.set_ylim(0, 1.1)
        ax2.set_xlim(0.4, self.max_size + 0.6)
        ax2.set_xticks(sizes if sizes.size <= 16 else sizes[::2])
        ax2.set_xlabel("group size (above a bar: journeys)", fontsize=8)
        ax2.set_title("Purchase rate\nby group size", fontsize=9)
        for ax in (ax1, ax2):
            ax.set_yticks(*percent)
            ax.tick_params(labelsize=7)
        if model.accounts.singletons:
            fig.suptitle("One-person buying groups (no accounts in this scenario)", fontsize=9)
        else:
            fig.suptitle(
                f"Buying groups: {model.accounts.n:,} accounts; a vendor needs "
                f"{model.spec.accounts.consensus:.0%} of a group's weight",
                fontsize=9,
            )
        self.animated = [*self.lines, *self.ends, *self.bars, *self.counts]
        return fig

    def update(self, model: VizModel) -> bool:
        weeks = model.week  # first: a week the play loop adds meanwhile is left out
        closed = list(model.recorder("journeys").closed)  # one snapshot: see FunnelChart
        reasons = np.cumsum(reasons_by_week(closed, weeks), axis=0)
        end = closed_column(closed, "end_week").astype(np.int64)
        total = np.cumsum(np.bincount(end[end < weeks], minlength=weeks)[:weeks])
        # shares from the MIN_CLOSED-th closed journey on (the first few say little)
        share = np.divide(
            reasons,
            total[:, None],
            out=np.full(reasons.shape, np.nan),
            where=total[:, None] >= MIN_CLOSED,
        )
        x = np.arange(1, weeks + 1)
        so_far = reasons[-1] if weeks else np.zeros(len(REASON_LINES), dtype=np.int64)
        for k, line in enumerate(self.lines):
            line.set_data(x, share[:, k])
            end = self.ends[k]
            if weeks and np.isfinite(share[-1, k]):
                end.set_position((weeks + 1.5, share[-1, k]))
                end.set_text(f"{so_far[k]:,}")
            else:
                end.set_text("")
        n, rate = purchase_rate_by_size(closed, self.max_size)
        for size, bar in enumerate(self.bars, start=1):
            bar.set_height(0.0 if np.isnan(rate[size]) else rate[size])
        for size, text in enumerate(self.counts, start=1):
            text.set_text(f"{n[size]:,}" if n[size] else "")
            text.set_y(0.0 if np.isnan(rate[size]) else rate[size])
        return False


class LoopChart(Chart):
    """One data-loop vendor: its channel mix (share of its channel budget) week by week,
    its adjustment weeks marked (solid: done; dotted: to come), and, per channel of its
    mix, the return it believed at its latest adjustment next to the true return from a
    truth file (`truth`, a `returns_table`'s input; none: believed only)."""

    def __init__(self, model: VizModel, vendor: int) -> None:
        self.vendor = vendor
        self.truth: pd.DataFrame | None = None  # the truth table to show (set before each frame)
        super().__init__(model)

    def build(self, model: VizModel) -> Figure:
        policy = model.loops[self.vendor]
        loop = policy.loop
        self.mix = [int(c) for c in policy.mix]
        self.name = model.vendor_names[self.vendor]
        self.cadence = int(loop.cadence_weeks)
        fig = agg_figure(6, 3.3)
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": (1.3, 1)})
        fig.subplots_adjust(left=0.08, right=0.98, top=0.84, bottom=0.27, wspace=0.3)
        horizon = max(model.horizon, 1)
        planned = planned_adjustments(loop.baseline_weeks, loop.cadence_weeks, model.horizon)
        if planned:  # to come: dotted (drawn once); done: solid, drawn over them
            ax1.vlines(np.array(planned) + 1, 0, 1, colors="#bdbdbd", linestyles=":", lw=0.8)
        self.marks = ax1.add_collection(LineCollection([], colors="black", linewidths=1.0))
        self.lines = [
            ax1.plot(
                [], [], color=channel_colour(c), lw=1.4, label=channel_label(CHANNEL_NAMES[c])
            )[0]
            for c in self.mix
        ]
        ax1.set_xlim(0, horizon)
        ax1.set_ylim(0, 1.32)  # the legend sits above the 100% line
        ax1.set_yticks([0, 0.25, 0.5, 0.75, 1.0], ["0", "25%", "50%", "75%", "100%"])
        ax1.set_xlabel("week (lines: adjustments)", fontsize=8)
        ax1.set_title("Channel mix (share of budget)", fontsize=9)
        ax1.legend(fontsize=6, loc="upper left", frameon=False, ncol=2, borderaxespad=0.2)
        x = np.arange(len(self.mix))
        self.believed = list(
            ax2.bar(x - 0.2, np.zeros(x.size), 0.4, color=vendor_colour(self.vendor))
        )
        self.true = list(ax2.bar(x + 0.2, np.zeros(x.size), 0.4, color=TRUE_COLOUR))
        self.ci = ax2.add_collection(LineCollection([], colors="black", linewidths=0.8))
        ax2.axhline(0, color="black", lw=0.5)
        ax2.set_xticks(x, [channel_label(CHANNEL_NAMES[c]) for c in self.mix], rotation=30)
        for t in ax2.get_xticklabels():
            t.set_horizontalalignment("right")
            t.set_fontsize(6)
        ax2.set_xlim(-0.6, max(len(self.mix), 1) - 0.4)
        ax2.legend(
            handles=[
                Rectangle((0, 0), 1, 1, color=vendor_colour(self.vendor), label="believed"),
                Rectangle((0, 0), 1, 1, color=TRUE_COLOUR, label="true"),
            ],
            fontsize=6,
            loc="upper right",
            frameon=False,
        )
        for ax in (ax1, ax2):
            ax.tick_params(labelsize=7)
        self.ax2 = ax2
        self.first = (loop.baseline_weeks + 1) if planned else None
        self.shown: tuple | None = None  # what the bars show (redrawn when it changes)
        fig.suptitle(f"DATA loop: {self.name}", fontsize=10)
        self.animated = [*self.lines, self.marks]
        return fig

    def update(self, model: VizModel) -> bool:
        weeks = model.week  # first: a week the play loop adds meanwhile is left out
        log = model.recorder("spend")
        mix = mix_over_weeks(log.channels[:weeks], self.vendor)
        x = np.arange(1, len(mix) + 1)
        for c, line in zip(self.mix, self.lines, strict=True):
            line.set_data(x, mix[:, c])
        beliefs = loop_beliefs(model)
        done = [w for w in adjustment_weeks(beliefs, self.name) if w < weeks]
        self.marks.set_segments([[(w + 1, 0.0), (w + 1, 1.0)] for w in done])
        key = (tuple(done), id(self.truth))
        if key == self.shown:
            return False
        self.shown = key
        table = returns_table(beliefs, self.name, self.truth, self.cadence)
        by = {r.channel: r for r in table.itertuples()}
        values, segs = [0.0], []
        for k, c in enumerate(self.mix):
            r = by.get(CHANNEL_NAMES[c])
            b = RETURN_PER * r.believed_return if r is not None else np.nan
            t = RETURN_PER * r.true_return if r is not None else np.nan
            self.believed[k].set_height(0.0 if np.isnan(b) else b)
            self.true[k].set_height(0.0 if np.isnan(t) else t)
            values += [v for v in (b, t) if np.isfinite(v)]
            if r is not None and np.isfinite(r.true_low) and np.isfinite(r.true_high):
                lo, hi = RETURN_PER * r.true_low, RETURN_PER * r.true_high
                segs.append([(k + 0.2, lo), (k + 0.2, hi)])
                values += [lo, hi]
        self.ci.set_segments(segs)
        top = nice_max(1.15 * max(values))
        low = min(values)
        self.ax2.set_ylim(-nice_max(-1.15 * low) if low < 0 else 0.0, top)
        if done:
            title = f"Return per {RETURN_PER:,.0f} spent,\nbelieved at week {done[-1] + 1}"
            if not table["true_return"].notna().any():
                title += " (no truth)"
        elif self.first is not None:
            title = f"Return per {RETURN_PER:,.0f} spent:\nfirst adjustment at week {self.first}"
        else:
            title = "No adjustment within the horizon"
        self.ax2.set_title(title, fontsize=9)
        return True
