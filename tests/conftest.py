"""Shared fixtures: the shipped scenarios and cached baseline runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.model import BuyerJourneyModel
from sim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


@pytest.fixture(scope="session")
def baseline() -> Scenario:
    """The shipped baseline scenario (5,000 buyers, 104 weeks)."""
    return load_scenario(SCENARIOS / "baseline.toml")


@pytest.fixture(scope="session")
def small(baseline: Scenario) -> Scenario:
    """The baseline's market shrunk to 800 buyers over 40 weeks, for fast rule tests."""
    return baseline.with_changes({"buyers.count": 800, "weeks": 40})


@pytest.fixture(scope="session")
def baseline_tables(baseline: Scenario) -> dict:
    """Tables of one baseline run with its default seed."""
    return BuyerJourneyModel(baseline).run().tables()
