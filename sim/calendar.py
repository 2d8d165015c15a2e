"""A calendar of buyers due for something in a given week.

Buyers rest a known number of weeks after deciding, and the week their next need
arrives is drawn when they become idle; filing them under that week means a step only
touches the buyers due now, instead of scanning every buyer every week.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

#: Entries further ahead than this wait in one unsorted pool and are filed week by week
#: only when they come within reach: most need arrivals lie beyond a run's horizon.
LOOKAHEAD = 64


class Calendar:
    """Buyer indices filed by week; `due(week)` hands them back in ascending order."""

    def __init__(self) -> None:
        self._weeks: defaultdict[int, list[np.ndarray]] = defaultdict(list)
        self._far_weeks: list[np.ndarray] = []
        self._far_buyers: list[np.ndarray] = []
        self._filed_until = LOOKAHEAD  # weeks below this are filed individually

    def add(self, weeks: np.ndarray, buyers: np.ndarray) -> None:
        """File each buyer under its week."""
        near = weeks < self._filed_until
        if not near.all():
            self._far_weeks.append(weeks[~near])
            self._far_buyers.append(buyers[~near])
            weeks, buyers = weeks[near], buyers[near]
        self._file(weeks, buyers)

    def _file(self, weeks: np.ndarray, buyers: np.ndarray) -> None:
        if not buyers.size:
            return
        order = np.argsort(weeks, kind="stable")
        weeks, buyers = weeks[order], buyers[order]
        starts = np.flatnonzero(np.r_[True, weeks[1:] != weeks[:-1]])
        for start, end in zip(starts, np.r_[starts[1:], weeks.size], strict=True):
            self._weeks[int(weeks[start])].append(buyers[start:end])

    def due(self, week: int) -> np.ndarray:
        """The buyers filed under `week` (ascending), removed from the calendar."""
        if week >= self._filed_until:
            self._refile(week + LOOKAHEAD)
        parts = self._weeks.pop(week, None)
        if not parts:
            return np.zeros(0, dtype=np.int64)
        return np.sort(np.concatenate(parts))

    def _refile(self, until: int) -> None:
        """Move the far entries that are now within reach into their weeks."""
        self._filed_until = until
        if not self._far_weeks:
            return
        weeks = np.concatenate(self._far_weeks)
        buyers = np.concatenate(self._far_buyers)
        near = weeks < until
        self._far_weeks, self._far_buyers = [weeks[~near]], [buyers[~near]]
        self._file(weeks[near], buyers[near])

    def shift(self, by: int) -> None:
        """Count every filed week `by` weeks earlier (the end of the spin-up becomes
        week 0): what is due in week w is due in week w - by."""
        self._weeks = defaultdict(list, {w - by: parts for w, parts in self._weeks.items()})
        self._far_weeks = [w - by for w in self._far_weeks]
        self._filed_until -= by
