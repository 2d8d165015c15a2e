"""Shared fixtures: the shipped scenarios and cached baseline runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.model import BuyerJourneyModel
from sim.scenario import Scenario, load_scenario
from tests.builders import sampled_sweep  # noqa: F401 - study files come from tests/builders.py

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def assert_one_line_error(error, path: Path, field: str, fragment: str) -> None:
    """A ScenarioError as users see it: one line, starting with the file, naming the field."""
    msg = str(error)
    assert "\n" not in msg
    assert msg.startswith(str(path))
    assert error.field == field
    assert fragment in msg


@pytest.fixture(scope="session")
def baseline() -> Scenario:
    """The shipped baseline scenario (5,000 buyers, 104 weeks)."""
    return load_scenario(SCENARIOS / "baseline.toml")


@pytest.fixture(scope="session")
def v1_format() -> Scenario:
    """The baseline as it was written before accounts existed (tests/data): users' files
    in that format keep loading, with one-person buying groups."""
    return load_scenario(ROOT / "tests" / "data" / "baseline_v1_format.toml")


@pytest.fixture(scope="session")
def small(baseline: Scenario) -> Scenario:
    """The baseline's market shrunk to 800 buyers over 40 weeks, for fast rule tests. It
    starts cold (no spin-up): the rules need no market already running, and a spin-up
    would more than double the cost of every such test."""
    return baseline.with_changes({"buyers.count": 800, "weeks": 40, "market.spin_up_weeks": 0})


@pytest.fixture(scope="session")
def baseline_tables(baseline: Scenario) -> dict:
    """Tables of one baseline run with its default seed."""
    return BuyerJourneyModel(baseline).run().tables()
