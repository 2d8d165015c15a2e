"""Where the referral graph's buyers are drawn: a fast force layout computed once per
graph, its edges drawn once into a background image, a session's cache of layouts (so a
Reset with the same set-up reuses one), and the buyer under a click on the image.

Nothing is kept at module level: each browser session has its own `LayoutCache`.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

from analysis.live.style import DPI, GRAPH_PX, LEGEND_PX

#: A click picks the nearest buyer within this distance (layout units: 0.04 = 19 px).
PICK_RADIUS = 0.04
#: Layout: links between colleagues (one account) attract this many times as strongly
#: as other links, so a buying group sits together on the graph.
COLLEAGUE_PULL = 8.0


@dataclass(frozen=True)
class GraphLayout:
    """Node positions in [0, 1]^2 and the edges drawn once as a background image."""

    pos: np.ndarray  # (n, 2)
    background: np.ndarray  # (GRAPH_PX, GRAPH_PX, 4) uint8

    def nearest(self, x: float, y: float, radius: float = PICK_RADIUS) -> int | None:
        """The node nearest to (x, y) in layout units, if one lies within `radius`."""
        if not len(self.pos):
            return None
        d2 = ((self.pos - (x, y)) ** 2).sum(1)
        row = int(np.argmin(d2))
        return row if d2[row] <= radius * radius else None


def graph_key(n: int, edges: np.ndarray, account: np.ndarray | None = None) -> tuple[int, int, str]:
    """A content key of a graph: node count, edge count and a hash of the edge array
    (and of each node's account, when accounts shape the layout).

    Two models with the same set-up draw equal graphs (as new objects), so Reset finds
    the layout by what the graph is, not by which object holds it."""
    e = np.ascontiguousarray(edges, dtype=np.int64)
    h = hashlib.blake2b(e.tobytes(), digest_size=16)
    if account is not None:
        h.update(np.ascontiguousarray(account, dtype=np.int64).tobytes())
    return n, len(e), h.hexdigest()


class LayoutCache:
    """The graph layouts of one browser session, by graph content (`graph_key`).

    The page makes one per session and hands it to every model it builds (a fixed model
    parameter, like the strategies), so Reset with the same set-up reuses the layout
    while nothing is shared between sessions or kept at module level. It keeps the
    `size` layouts used last; `computed` counts the layouts it had to compute.
    """

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.computed = 0
        self._layouts: OrderedDict[tuple[int, int, str], GraphLayout] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._layouts)

    def get(self, n: int, edges: np.ndarray, account: np.ndarray | None = None) -> GraphLayout:
        """The layout of the graph with `n` nodes and `edges` (and each node's
        `account`, None without accounts), computed on first use."""
        key = graph_key(n, edges, account)
        with self._lock:
            layout = self._layouts.get(key)
            if layout is None:
                layout = graph_layout(n, edges, account)
                self.computed += 1
                self._layouts[key] = layout
                while len(self._layouts) > self.size:
                    self._layouts.popitem(last=False)
            self._layouts.move_to_end(key)
            return layout


def force_layout(
    n: int,
    edges: np.ndarray,
    iterations: int = 60,
    seed: int = 0,
    account: np.ndarray | None = None,
) -> np.ndarray:
    """A fast Fruchterman-Reingold layout of `n` nodes and (E, 2) `edges`: exact attraction
    along edges, repulsion from a random sample of nodes each iteration (O(n) per
    iteration instead of O(n^2)).

    `account` (each node's account; None: no accounts) pulls a buying group together:
    links between colleagues attract COLLEAGUE_PULL times as strongly, and colleagues
    also repel each other exactly (so a group is a tight cluster, not one dot)."""
    rng = np.random.default_rng(seed)
    pos = (rng.random((n, 2)) - 0.5).astype(np.float32)  # float32: half the memory traffic
    if n < 2:
        return (pos + 0.5).astype(float)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    i, j = edges[:, 0], edges[:, 1]
    k = 1.0 / np.sqrt(n)
    if account is not None:
        same = account[i] == account[j]
        pull = np.where(same, COLLEAGUE_PULL, 1.0).astype(np.float32)
        push = np.where(same, k * k, 0.0).astype(np.float32)
    # repulsion from a sample: 40 others up to 2,000 buyers, fewer (down to 15) beyond,
    # which keeps a 10,000-buyer layout near 0.7 s with the same look
    sample = min(n - 1, max(15, min(40, 80_000 // n)))
    temperature = 0.1
    for _ in range(iterations):
        disp = np.zeros_like(pos)
        if edges.size:
            d = pos[i] - pos[j]
            if account is None:
                dist = np.sqrt((d**2).sum(1)) + 1e-9
                f = (dist / k)[:, None] * d
            else:
                d2 = (d**2).sum(1) + 1e-9
                f = (pull * np.sqrt(d2) / k - push / d2)[:, None] * d
            for axis in (0, 1):  # bincount: a scatter-add far faster than np.add.at
                disp[:, axis] += np.bincount(j, f[:, axis], n) - np.bincount(i, f[:, axis], n)
        others = rng.integers(0, n, (n, sample))
        dr = pos[:, None, :] - pos[others]
        rep = (k * k / ((dr**2).sum(2) + 1e-9))[:, :, None] * dr
        disp += rep.sum(1) * (n / sample)
        length = np.sqrt((disp**2).sum(1)) + 1e-9
        pos += disp / length[:, None] * np.minimum(length, temperature)[:, None]
        temperature *= 0.95
    lo, hi = pos.min(0), pos.max(0)
    return (0.03 + 0.94 * (pos - lo) / np.where(hi > lo, hi - lo, 1.0)).astype(float)


def _edge_background(
    n: int, edges: np.ndarray, pos: np.ndarray, account: np.ndarray | None = None
) -> np.ndarray:
    fig = Figure(figsize=(GRAPH_PX / DPI, GRAPH_PX / DPI), dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    width = 0.4 if n <= 3000 else 0.2
    alpha = 0.35 if n <= 3000 else 0.15
    if edges.size:
        inside = (
            account[edges[:, 0]] == account[edges[:, 1]]
            if account is not None
            else np.zeros(len(edges), dtype=bool)
        )
        segs = np.stack([pos[edges[:, 0]], pos[edges[:, 1]]], axis=1)
        ax.add_collection(
            LineCollection(segs[~inside], colors="#9a9a9a", linewidths=width, alpha=alpha)
        )
        if inside.any():  # colleagues: darker, so an account reads as one group
            ax.add_collection(
                LineCollection(segs[inside], colors="#525252", linewidths=0.6, alpha=0.6)
            )
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def graph_layout(n: int, edges: np.ndarray, account: np.ndarray | None = None) -> GraphLayout:
    """The layout of a graph of `n` nodes and (E, 2) `edges`, each node's `account`
    pulling buying groups together (None: no accounts); always computed: a session's
    `LayoutCache` keeps layouts for Reset."""
    pos = force_layout(n, edges, iterations=60 if n <= 5000 else 40, account=account)
    return GraphLayout(pos=pos, background=_edge_background(n, edges, pos, account))


def buyer_at(layout: GraphLayout, fx: float, fy: float) -> int | None:
    """The buyer under a click on the graph image.

    (fx, fy) is the click as fractions of the image's width and height from its top-left
    corner, whatever size the browser shows it at. The plot area is the image's left
    GRAPH_PX pixels (layout x 0..1 left to right, y 1..0 top to bottom); a click on the
    legend or far from every buyer picks nobody."""
    x = fx * (GRAPH_PX + LEGEND_PX) / GRAPH_PX
    y = 1.0 - fy
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        return None
    return layout.nearest(x, y)
