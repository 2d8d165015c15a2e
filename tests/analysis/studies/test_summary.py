"""`run.py summary`: a scenario's scorecard over replications, with intervals, and the
verdict on the two leading vendors: the probability the leader leads and how many
replications would make that verdict stable (known answers by hand)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.studies.summary.study import (
    format_replicated,
    run_replicated,
    scorecard,
    verdict,
    verdict_lines,
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
    """A and B swing together from run to run; their gap is always 10: stable at once,
    although the two means' own intervals overlap widely."""
    df = rows({"A": [100, 200, 150, 300], "B": [90, 190, 140, 290], "C": [5, 5, 5, 5]})
    sep = verdict(df)
    assert (sep.leader, sep.runner_up, sep.n, sep.diff) == ("A", "B", 4, 10.0)
    assert sep.half_width == 0 and sep.stable and sep.needed == 2
    assert sep.lead.share == 1.0 and sep.lead.high == 1.0 and 0 < sep.lead.low < 1
    assert "stable now" in "\n".join(verdict_lines(sep))
    card = scorecard(df).set_index(["vendor", "metric"])
    assert card.loc[("A", "conversions"), "ci_low"] < card.loc[("B", "conversions"), "ci_high"]


def test_replications_for_a_stable_verdict_by_hand() -> None:
    d = np.array([30.0, -10.0, 25.0, 5.0])  # gaps A - B per replication
    df = rows({"A": list(100 + d), "B": [100.0] * 4})
    sep = verdict(df)
    mean, sd = d.mean(), d.std(ddof=1)
    hw = stats.t.ppf(0.975, 3) * sd / 2
    assert sep.diff == pytest.approx(mean)
    assert sep.half_width == pytest.approx(hw)
    assert not sep.stable
    assert sep.needed == math.ceil(4 * (hw / abs(mean)) ** 2)
    assert sep.lead.wins == 3 and sep.lead.n == 4  # A leads in 3 of 4
    text = "\n".join(verdict_lines(sep))
    assert f"about {sep.needed:,} replications would bring the 95% half-width" in text
    assert "probability A leads B: 0.75" in text


def test_a_tie_needs_no_replications_and_one_vendor_has_no_gap() -> None:
    sep = verdict(rows({"A": [10, 20, 30], "B": [20, 10, 30]}))
    assert sep.diff == 0 and sep.needed is None
    assert sep.lead.wins == 1.5  # one win each, one tie counted half
    assert "no difference to call" in "\n".join(verdict_lines(sep))
    assert verdict(rows({"A": [1, 2]})) is None


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
