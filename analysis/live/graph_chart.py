"""The referral graph as a chart: buyers as dots on the session's layout (its edges the
background image), coloured by stage, by their group's stage or by their account's
size class; purchases as diamonds in the vendor's colour; the picked buyer and its
buying group ringed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from matplotlib.colors import to_rgba_array
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from analysis.live.charts import Chart, agg_figure
from analysis.live.groups import group_stage
from analysis.live.style import (
    COLOUR_BY,
    DPI,
    GRAPH_PX,
    LEGEND_PX,
    SINGLE_COLOUR,
    SIZE_COLOURS,
    STAGE_COLOURS,
    stage_label,
    vendor_colour,
    words,
)
from sim.channels import Stage
from sim.scenario import SIZE_CLASSES

if TYPE_CHECKING:
    from analysis.live.state import VizModel


class GraphChart(Chart):
    """The referral graph: buyers coloured by stage (or by their group's stage, or their
    account's size class: `colour_by`); a buyer in the post-purchase stage is a larger
    diamond in the colour of the vendor bought from, and any earlier customer keeps a
    ring in its vendor's colour (it recommends or warns against that vendor). The
    picked buyer has a black ring, the other members of its buying group a thin one."""

    def build(self, model: VizModel) -> Figure:
        lay = model.layout
        side = GRAPH_PX / DPI
        legend_w = LEGEND_PX / DPI
        fig = agg_figure(side + legend_w, side)
        ax = fig.add_axes((0, 0, side / (side + legend_w), 1))
        ax.set_axis_off()
        ax.imshow(lay.background, extent=(0, 1, 0, 1), interpolation="nearest", aspect="auto")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        n = model.n_buyers
        self.size = float(np.clip(9000.0 / n, 1.0, 16.0))
        self.stage_lut = np.array([STAGE_COLOURS[s] for s in Stage])
        self.vendor_lut = np.array([vendor_colour(i) for i in range(model.n_vendors)])
        # ring colours: index -1 (never bought) is transparent
        self.ring_lut = to_rgba_array([*self.vendor_lut, "none"])
        empty = np.zeros((0, 2))
        self.ring_width = min(1.0, self.size / 8)
        self.plain = ax.scatter(empty[:, 0], empty[:, 1], s=self.size, linewidths=0)
        self.bought = ax.scatter(
            empty[:, 0],
            empty[:, 1],
            s=self.size * 2.5,
            marker="D",
            linewidths=0.3,
            edgecolors="black",
        )
        accounts = model.accounts
        self.singletons = accounts.singletons
        self.start = accounts.start
        self.account = model.buyers.account
        size_lut = to_rgba_array([SIZE_COLOURS[c] for c in SIZE_CLASSES] + [SINGLE_COLOUR])
        self.size_rgba = size_lut[accounts.size_class[self.account]]  # -1: one-person
        stages = [
            Line2D([], [], ls="", marker="o", color=STAGE_COLOURS[s], label=stage_label(s))
            for s in Stage
            if s != Stage.BOUGHT
        ]
        sizes = [
            Line2D([], [], ls="", marker="o", color=SIZE_COLOURS[c], label=words(c))
            for c in SIZE_CLASSES
        ]
        vendors = [
            Line2D(
                [], [], ls="", marker="D", color=vendor_colour(i), mec="black", mew=0.3, label=name
            )
            for i, name in enumerate(model.vendor_names)
        ]
        note = "(diamond: just bought\nfrom vendor; ring:\nits customer)"
        titles = {
            COLOUR_BY[0]: ("stage\n" + note, stages),
            COLOUR_BY[1]: ("group stage (its\nfurthest member)\n" + note, stages),
            COLOUR_BY[2]: ("account size\n" + note, sizes),
        }
        self.legends = {
            mode: fig.legend(
                handles=handles + vendors,
                loc="center right",
                fontsize=8,
                frameon=False,
                handletextpad=0.2,
                title=title,
                title_fontsize=8,
                alignment="left",
            )
            for mode, (title, handles) in titles.items()
        }
        self.mode = COLOUR_BY[0]
        for mode, legend in self.legends.items():
            legend.set_visible(mode == self.mode)
        # the other members of the picked buyer's buying group: a thin black ring
        self.group = ax.scatter(
            empty[:, 0],
            empty[:, 1],
            s=max(30.0, 3 * self.size),
            facecolors="none",
            edgecolors="black",
            linewidths=0.8,
        )
        # the buyer whose journey card is open: a black ring (set by `highlight`)
        self.picked = ax.scatter(
            empty[:, 0],
            empty[:, 1],
            s=max(60.0, 6 * self.size),
            facecolors="none",
            edgecolors="black",
            linewidths=1.5,
        )
        self.animated = [self.plain, self.bought, self.group, self.picked]
        return fig

    def update(self, model: VizModel) -> bool:
        pos = model.layout.pos
        stage = model.buyers.stage
        incumbent = model.buyers.incumbent
        mode = (
            COLOUR_BY[0] if self.singletons or self.colour_by not in COLOUR_BY else self.colour_by
        )
        changed = mode != self.mode
        if changed:  # another legend: the static part is drawn again
            self.mode = mode
            for m, legend in self.legends.items():
                legend.set_visible(m == mode)
        bought = stage == Stage.BOUGHT
        plain = np.flatnonzero(~bought)
        self.plain.set_offsets(pos[plain])
        if mode == COLOUR_BY[1]:
            self.plain.set_facecolor(self.stage_lut[group_stage(stage, self.start)[plain]])
        elif mode == COLOUR_BY[2]:
            self.plain.set_facecolor(self.size_rgba[plain])
        else:
            self.plain.set_facecolor(self.stage_lut[stage[plain]])
        customer = incumbent[plain]
        self.plain.set_edgecolor(self.ring_lut[customer])
        self.plain.set_linewidth(np.where(customer >= 0, self.ring_width, 0.0))
        rows = np.flatnonzero(bought)
        self.bought.set_offsets(pos[rows] if rows.size else np.zeros((0, 2)))
        self.bought.set_facecolor(self.vendor_lut[incumbent[rows]] if rows.size else [])
        picked = self.highlight
        if picked is not None and picked < len(pos):
            self.picked.set_offsets(pos[[picked]])
            a = int(self.account[picked])
            members = np.arange(self.start[a], self.start[a + 1])
            self.group.set_offsets(pos[members[members != picked]])
        else:
            self.picked.set_offsets(np.zeros((0, 2)))
            self.group.set_offsets(np.zeros((0, 2)))
        return changed
