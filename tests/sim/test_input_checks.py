"""Input checks, not calibration: the population's social-media use and social roles
are drawn with probabilities set from the published figures (docs/sources.md §2, §3), so
these tests only confirm that the draws reproduce their inputs within sampling error
(three seeds pooled, tolerances stated). They would catch a wiring bug (a rate applied to
the wrong seniority, a role never drawn), not a modelling error.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sim.model import BuyerJourneyModel

from ..conftest import ROOT

SEEDS = (11, 22, 33)


@pytest.fixture(scope="module")
def buyers(baseline) -> list[pd.DataFrame]:
    return [
        BuyerJourneyModel(baseline, seed=s, record_touches=False).tables()["buyers"] for s in SEEDS
    ]


def test_input_check_three_quarters_of_buyers_use_social_media(buyers) -> None:
    """IDC: 75% of all B2B buyers (+/- 3 points) and 84% of VP / C-level (+/- 4)."""
    pooled = pd.concat(buyers)
    assert pooled["uses_social"].mean() == pytest.approx(0.75, abs=0.03)
    senior = pooled[pooled["seniority"].isin(["vp", "c_level"])]
    assert senior["uses_social"].mean() == pytest.approx(0.84, abs=0.04)
    for b in buyers:  # and in each run separately
        assert b["uses_social"].mean() == pytest.approx(0.75, abs=0.03)


def test_input_check_social_users_are_more_senior_with_bigger_budgets(buyers) -> None:
    """IDC: buyers who use social networks for buying are more senior, with bigger budgets."""
    b = pd.concat(buyers)
    rank = b["seniority"].map({"individual": 0, "manager": 1, "director": 2, "vp": 3, "c_level": 4})
    assert rank[b["uses_social"]].mean() > rank[~b["uses_social"]].mean()
    assert b.loc[b["uses_social"], "budget"].mean() > b.loc[~b["uses_social"], "budget"].mean()


def test_input_check_social_roles_follow_forrester_technographics(buyers) -> None:
    """Forrester 2013: 98% spectators, 79% joiners, 75% critics (+/- 2 points)."""
    b = pd.concat(buyers)
    assert b["spectator"].mean() == pytest.approx(0.98, abs=0.02)
    assert b["joiner"].mean() == pytest.approx(0.79, abs=0.02)
    assert b["critic"].mean() == pytest.approx(0.75, abs=0.02)


def test_input_check_the_baseline_carries_its_calibration_fit(baseline) -> None:
    """Input check, not calibration: the shipped baseline's free parameters are the values
    `run.py calibrate` fitted (docs/calibration/baseline/fit.json, whose fit.md shows every
    target inside its tolerance). A changed default must come from a new fit."""
    import json

    fit = json.loads((ROOT / "docs" / "calibration" / "baseline" / "fit.json").read_text())
    assert set(fit["fitted"]) == set(baseline.calibration.free)
    for path, value in fit["fitted"].items():
        node = baseline
        for part in path.split("."):
            node = getattr(node, part)
        assert node == pytest.approx(value, rel=1e-9), path
