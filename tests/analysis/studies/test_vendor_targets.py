"""A vendor's own funnel as calibration targets (issue 19, item 6; the first step): win
rate, deal size, cycle, the no-decision share of its quoted deals and its marketing-
sourced share, each with `vendor = NAME`, measured on a run's tables and fitted through
the same calibration path as the market's targets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from analysis.engine.scenario_toml import scenario_toml
from analysis.studies.calibrate.fit import calibrate
from analysis.studies.calibrate.moments import measure
from analysis.studies.calibrate.spec import Setup, free_params
from analysis.studies.calibrate.targets import load_targets
from sim.model import BuyerJourneyModel
from sim.scenario import ScenarioError, load_scenario
from tests.builders import write
from tests.conftest import SCENARIOS

VENDOR = "CommunityFirst"


def funnel_targets(vendor: str = VENDOR, win_rate: float = 0.3) -> str:
    """A team's own funnel: every vendor-level measure once (name, measure, what, goal,
    tolerance)."""
    rows = [
        ("win_rate", "win_rate", "won / quoted", f"value = {win_rate}", 0.05),
        ("deal_size", "deal_size", "mean contract value", "band = [100000.0, 300000.0]", 2e4),
        ("cycle", "cycle_weeks", "median weeks of our quoted deals", "band = [17, 39]", 4),
        ("no_decision", "vendor_no_decision", "our quoted deals ending in no decision",
         "value = 0.45", 0.05),
        ("sourced", "sourced_share", "our deals marketing sourced", "at_least = 0.2", 0.05),
    ]  # fmt: skip
    return "".join(
        f'[[targets]]\nname = "{name}"\nmeasure = "{measure}"\nwhat = "{what}"\n{goal}\n'
        f'tolerance = {tolerance}\nvendor = "{vendor}"\nsource = "our CRM"\n\n'
        for name, measure, what, goal, tolerance in rows
    )


@pytest.fixture(scope="module")
def tables():
    sc = load_scenario(SCENARIOS / "baseline.toml").with_changes(
        {"buyers.count": 2000, "weeks": 52, "market.spin_up_weeks": 26}
    )
    return BuyerJourneyModel(sc, seed=4).run().tables()


def test_a_vendor_funnel_file_validates(tmp_path: Path) -> None:
    targets = load_targets(write(tmp_path, funnel_targets(), "funnel.toml"))
    assert [t.measure for t in targets.targets] == [
        "win_rate",
        "deal_size",
        "cycle_weeks",
        "vendor_no_decision",
        "sourced_share",
    ]
    assert {t.vendor for t in targets.targets} == {VENDOR}


def test_a_vendor_measure_without_its_vendor_is_one_line(tmp_path: Path) -> None:
    text = funnel_targets().replace(f'vendor = "{VENDOR}"\n', "", 1)
    path = write(tmp_path, text, "funnel.toml")
    with pytest.raises(ScenarioError) as err:
        load_targets(path)
    assert "\n" not in str(err.value) and "vendor" in str(err.value)


def test_the_measures_follow_the_tables(tables, tmp_path: Path) -> None:
    """Each measure against the same quantity counted another way from the tables."""
    got = {
        t.name: measure(tables, t)
        for t in load_targets(write(tmp_path, funnel_targets(), "f.toml")).targets
    }
    j, touches = tables["journeys"], tables["touches"]
    quoted_ids = set(touches.loc[touches["quote"] & (touches["vendor"] == VENDOR), "journey_id"])
    j = j[j["start_week"] >= 0]  # journeys seen from their start (not under way at week 0)
    closed = j[j["outcome"].isin(["purchase", "no_decision"]) & j["journey_id"].isin(quoted_ids)]
    assert got["win_rate"].n == len(closed) > 50
    won_here = (closed["vendor"] == VENDOR).fillna(False)  # no decision: no vendor
    assert got["win_rate"].value == pytest.approx(won_here.mean())
    assert got["no_decision"].value == pytest.approx((closed["outcome"] == "no_decision").mean())
    # every purchase needs a quote: the vendor's purchases are among its quoted journeys
    won = j[(j["outcome"] == "purchase") & (j["vendor"] == VENDOR)]
    assert set(won["journey_id"]) <= quoted_ids
    v = tables["vendors"].set_index("vendor").loc[VENDOR]  # every purchase of the run
    # the scorecard's originated share and mean deal count the same purchases
    assert got["sourced"].value == pytest.approx(v["originated_share"])
    assert got["deal_size"].value == pytest.approx(v["revenue"] / v["market_conversions"])
    assert 0 < got["cycle"].value < 104


def test_an_unknown_vendor_is_not_measurable(tables, tmp_path: Path) -> None:
    t = load_targets(write(tmp_path, funnel_targets(vendor="Nobody"), "f.toml")).targets[0]
    m = measure(tables, t)
    assert np.isnan(m.value) and "Nobody" in m.note


def test_a_tiny_vendor_fit_runs_end_to_end(tmp_path: Path) -> None:
    """The vendor's own quality, fitted to its win rate (a target the start misses),
    through the calibration path: runs, moments, search, validation."""
    small = load_scenario(SCENARIOS / "baseline.toml").with_changes(
        {
            "buyers.count": 600,
            "weeks": 40,
            "market.spin_up_weeks": 13,
            f"vendors.{VENDOR}.quality": 0.3,
            "calibration.free": {f"vendors.{VENDOR}.quality": [0.3, 1.0]},
        }
    )
    scenario = load_scenario(write(tmp_path, scenario_toml(small), "small.toml"))
    targets = load_targets(write(tmp_path, funnel_targets(win_rate=0.5), "funnel.toml"))
    setup = Setup(scenario, targets, free_params(scenario), 2, 2, 4)
    result = calibrate(setup, tmp_path / "out", workers=1, progress=False, original=scenario)
    assert [p.path for p in setup.free] == [f"vendors.{VENDOR}.quality"]
    assert len(result.history) <= 4 and result.ran == 2 * len(result.history) + 2
    assert 0.3 <= result.fitted[f"vendors.{VENDOR}.quality"] <= 1.0
    assert set(result.validation.stats) == set(targets.names())
    assert result.validation.stats["win_rate"].runs == 2
