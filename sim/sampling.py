"""Exact inverse-CDF draws from many small discrete distributions at once.

The weekly step draws a source for every consultation (from one of 12 distributions:
stage x social x sales-ready) and an exposed vendor (from one distribution per channel).
`np.searchsorted` on unsorted keys, or a (draws x K) comparison, costs ~40 ns a draw; a
guide table (Chen & Asau, 1974) answers almost every draw with one lookup and resolves the
few draws that fall in a bin straddling a CDF step exactly, so results are identical to a
plain inverse CDF.
"""

from __future__ import annotations

import numpy as np

BINS = 1024  # a power of two, so u * BINS and b / BINS are exact in floating point


class DiscreteSampler:
    """Inverse CDF for G distributions over K outcomes given as a (G, K) cumulative table.

    `draw(u, group)` returns, per draw, the number of CDF entries <= u: the outcome index,
    or K when u lies beyond the last entry (rows may sum to less than 1: "no outcome").
    """

    def __init__(self, cdfs: np.ndarray) -> None:
        self.cdfs = np.asarray(cdfs, dtype=float)
        g, k = self.cdfs.shape
        self.k = k
        edges = np.arange(BINS + 1) / BINS
        # outcome at a bin's lower edge, and whether a CDF step lies inside the bin
        low = np.stack([np.searchsorted(row, edges[:-1], side="right") for row in self.cdfs])
        high = np.stack([np.searchsorted(row, edges[1:], side="left") for row in self.cdfs])
        # one flat table: the outcome at a bin's lower edge, or -1 where a CDF step lies
        # inside the bin (those draws are resolved exactly with a binary search)
        self.table = np.where(high != low, -1, low).astype(np.int64).ravel()  # (G * BINS,)
        self.flat = (np.arange(g)[:, None] + self.cdfs).ravel()

    def draw(self, u: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Outcome index (0..K) for each uniform u in [0, 1) drawn from row `group`."""
        out = self.table.take(group * BINS + (u * BINS).astype(np.int64))
        hard = np.flatnonzero(out < 0)
        if hard.size:
            g = group[hard]
            out[hard] = np.searchsorted(self.flat, g + u[hard], side="right") - g * self.k
        return out
