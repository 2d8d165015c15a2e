"""Input checks: the population's social-media use and social roles are drawn with the
probabilities the scenario gives (per seniority level for social use), so the draws
reproduce their inputs within sampling error. The rates here are made distinct on
purpose (not the published figures the baseline carries), so a rate applied to the
wrong seniority level, or a role never drawn, shows.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

from sim.model import BuyerJourneyModel
from sim.scenario import SENIORITIES

SEEDS = (11, 22, 33)
#: a distinct share of social-media users per seniority level, individual .. c_level
SOCIAL_USE = dict(zip(SENIORITIES, (0.1, 0.3, 0.5, 0.7, 0.9), strict=True))
ROLES = {"spectator": 0.9, "joiner": 0.5, "critic": 0.2}
#: how many standard errors a drawn share may be from its input
SIGMAS = 5


def within_sampling_error(drawn: pd.Series, p: float) -> bool:
    """Whether the share of True in `drawn` is within SIGMAS standard errors of `p`."""
    se = math.sqrt(p * (1 - p) / len(drawn))
    return abs(drawn.mean() - p) <= SIGMAS * se


@pytest.fixture(scope="module")
def scenario(baseline):
    changes = {f"buyers.social_use.{level}": p for level, p in SOCIAL_USE.items()}
    changes.update({f"buyers.{role}": p for role, p in ROLES.items()})
    return baseline.with_changes(changes)


@pytest.fixture(scope="module")
def buyers(scenario) -> pd.DataFrame:
    """The drawn buyers of three seeds, pooled."""
    return pd.concat(
        BuyerJourneyModel(scenario, seed=s, record_touches=False).tables()["buyers"] for s in SEEDS
    )


def test_social_use_is_drawn_at_each_seniority_levels_own_rate(buyers) -> None:
    for level, p in SOCIAL_USE.items():
        drawn = buyers.loc[buyers["seniority"] == level, "uses_social"]
        assert within_sampling_error(drawn, p), (level, drawn.mean(), p)


def test_pooled_social_use_is_the_rates_weighted_by_the_seniority_shares(scenario, buyers) -> None:
    shares = dict(zip(SENIORITIES, scenario.buyers.seniority_shares.as_tuple(), strict=True))
    expected = sum(shares[level] * p for level, p in SOCIAL_USE.items())
    assert within_sampling_error(buyers["uses_social"], expected)


def test_social_users_are_more_senior_with_bigger_budgets(buyers) -> None:
    """Social use and budgets both rise with seniority, so social users are more senior
    and have bigger budgets on average (IDC's finding, reproduced from the inputs)."""
    rank = buyers["seniority"].map({level: i for i, level in enumerate(SENIORITIES)})
    social = buyers["uses_social"]
    assert rank[social].mean() > rank[~social].mean()
    assert buyers.loc[social, "budget"].mean() > buyers.loc[~social, "budget"].mean()


@pytest.mark.parametrize("role", sorted(ROLES))
def test_social_roles_are_drawn_at_their_rates(buyers, role: str) -> None:
    assert within_sampling_error(buyers[role], ROLES[role]), (role, buyers[role].mean())


def test_the_shipped_baseline_carries_its_calibration_fit(baseline) -> None:
    """A consistency check between two shipped files, not calibration: the baseline's free
    parameters are the values `run.py calibrate` fitted (docs/calibration/baseline/
    fit.json, whose fit.md shows every target inside its tolerance). It fails when one is
    edited without the other: a changed default must come from a new fit."""
    import json

    from tests.conftest import ROOT

    fit = json.loads((ROOT / "docs" / "calibration" / "baseline" / "fit.json").read_text())
    assert set(fit["fitted"]) == set(baseline.calibration.free)
    for path, value in fit["fitted"].items():
        node = baseline
        for part in path.split("."):
            node = getattr(node, part)
        assert node == pytest.approx(value, rel=1e-9), path
