"""The calendar hands back exactly the buyers filed under a week, in ascending order,
however far ahead they were filed."""

from __future__ import annotations

import numpy as np

from sim.calendar import LOOKAHEAD, Calendar


def test_due_returns_what_was_filed_for_each_week_in_order() -> None:
    rng = np.random.default_rng(5)
    cal = Calendar()
    expected: dict[int, list[int]] = {}
    next_buyer = 0
    for week in range(6 * LOOKAHEAD):
        n = int(rng.integers(0, 30))
        weeks = week + rng.geometric(0.02, n) - 1  # some far beyond the look-ahead
        buyers = np.arange(next_buyer, next_buyer + n)
        next_buyer += n
        cal.add(weeks, buyers)
        for w, b in zip(weeks.tolist(), buyers.tolist(), strict=True):
            expected.setdefault(w, []).append(b)
        got = cal.due(week)
        assert got.tolist() == sorted(expected.pop(week, []))
    assert all(w >= 6 * LOOKAHEAD for w in expected)
