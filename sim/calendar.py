"""A calendar of buyers due for something in a given week.

Buyers rest a known number of weeks after deciding, and the week their next need
arrives is drawn when they become idle; filing them under that week means a step only
touches the buyers due now, instead of scanning every buyer every week.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np


class Calendar:
    """Buyer indices filed by week; `due(week)` hands them back in ascending order."""

    def __init__(self) -> None:
        self._weeks: defaultdict[int, list[np.ndarray]] = defaultdict(list)

    def add(self, weeks: np.ndarray, buyers: np.ndarray) -> None:
        """File each buyer under its week."""
        if not buyers.size:
            return
        order = np.argsort(weeks, kind="stable")
        weeks, buyers = weeks[order], buyers[order]
        starts = np.flatnonzero(np.r_[True, weeks[1:] != weeks[:-1]])
        for start, end in zip(starts, np.r_[starts[1:], weeks.size], strict=True):
            self._weeks[int(weeks[start])].append(buyers[start:end])

    def due(self, week: int) -> np.ndarray:
        """The buyers filed under `week` (ascending), removed from the calendar."""
        parts = self._weeks.pop(week, None)
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.sort(np.concatenate(parts))
