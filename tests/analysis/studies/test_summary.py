"""`run.py summary`: a scenario's scorecard over replications, with intervals, and how
many replications would separate the two leading vendors (known answers by hand)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.studies.summary.study import (
    format_replicated,
    run_replicated,
    scorecard,
    separation,
    separation_line,
)


def rows(conv: dict[str, list[float]]) -> pd.DataFrame:
    """A vendors table: one row per (replication, vendor), metrics all equal to conversions."""
    out = []
    for vendor, values in conv.items():
        for r, c in enumerate(values):
            out.append(
                {
                    "replication": r,
                    "vendor": vendor,
                    "conversions": c,
                    "win_share": c / 100,
                    "revenue": c,
                    "marketing_spend": 1.0,
                    "roi": c,
                    "cost_per_acquisition": 1 / c,
                    "originated_share": 0.5,
                }
            )
    return pd.DataFrame(out)


def test_the_gap_is_paired_by_replication() -> None:
    """A and B swing together from run to run; their gap is always 10: separated at once,
    although the two means' own intervals overlap widely."""
    df = rows({"A": [100, 200, 150, 300], "B": [90, 190, 140, 290], "C": [5, 5, 5, 5]})
    sep = separation(df)
    assert (sep.leader, sep.runner_up, sep.n, sep.diff) == ("A", "B", 4, 10.0)
    assert sep.half_width == 0 and sep.separated and sep.needed == 2
    card = scorecard(df).set_index(["vendor", "metric"])
    assert card.loc[("A", "conversions"), "ci_low"] < card.loc[("B", "conversions"), "ci_high"]


def test_replications_needed_solve_the_t_interval_by_hand() -> None:
    d = np.array([30.0, -10.0, 25.0, 5.0])  # gaps A - B per replication
    df = rows({"A": list(100 + d), "B": [100.0] * 4})
    sep = separation(df)
    mean, sd = d.mean(), d.std(ddof=1)
    assert sep.diff == pytest.approx(mean)
    assert sep.half_width == pytest.approx(stats.t.ppf(0.975, 3) * sd / 2)
    assert not sep.separated
    n = sep.needed
    assert stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n) < abs(mean)
    assert stats.t.ppf(0.975, n - 2) * sd / np.sqrt(n - 1) >= abs(mean)
    assert f"about {n} replications would separate them" in separation_line(sep)


def test_a_tie_needs_no_replications_and_one_vendor_has_no_gap() -> None:
    sep = separation(rows({"A": [10, 20, 30], "B": [20, 10, 30]}))
    assert sep.diff == 0 and sep.needed is None
    assert "no difference to separate" in separation_line(sep)
    assert separation(rows({"A": [1, 2]})) is None


def test_a_summary_of_the_baseline_runs_through_the_engine(small) -> None:
    rep = run_replicated(small, reps=3, workers=1, progress=False)
    assert rep.runs.shape[0] == 3 and rep.runs["seed"].nunique() == 3
    assert len(rep.vendors) == 3 * len(small.vendors)
    text = format_replicated(rep)
    assert "3 replications" in text and "±" in text
    again = run_replicated(small, reps=3, workers=1, progress=False)
    pd.testing.assert_frame_equal(
        rep.vendors.drop(columns="run_id"), again.vendors.drop(columns="run_id")
    )
