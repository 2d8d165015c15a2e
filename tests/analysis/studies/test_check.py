"""`run.py check` as a Python API: every target's mean over the replications with its 95%
t-interval (known answer: the same runs measured by hand), the calibration's verdict, and
targets the scenario cannot measure as nulls, never failures.

Small: the baseline's market shrunk to 300 buyers over 26 weeks, 3 replications, in-process.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from analysis.engine.context import ExecutionContext
from analysis.engine.design import replication_seeds
from analysis.errors import UsageError
from analysis.studies.calibrate.moments import measure
from analysis.studies.calibrate.targets import Target, load_targets
from analysis.studies.check.report import format_check, json_text
from analysis.studies.check.result import CheckResult, goal_of
from analysis.studies.check.run import check
from analysis.studies.check.spec import make_spec
from sim.filekinds import WrongKind
from sim.model import BuyerJourneyModel
from sim.scenario import Scenario
from tests.builders import check_targets, write
from tests.conftest import SCENARIOS

REPS = 3
KEYS = {"name", "measure", "simulated", "ci_low", "ci_high", "goal", "passed"}


@pytest.fixture(scope="module")
def tiny(baseline: Scenario) -> Scenario:
    return baseline.with_changes({"buyers.count": 300, "weeks": 26})


@pytest.fixture(scope="module")
def checked(tiny: Scenario, tmp_path_factory) -> CheckResult:
    targets = write(tmp_path_factory.mktemp("check"), check_targets(), "targets.toml")
    with ExecutionContext(workers=1, progress=False, desc="check") as ctx:
        return check(tiny, load_targets(targets), REPS, ctx)


def test_the_mean_and_interval_are_the_t_interval_of_the_runs_measured_by_hand(
    checked: CheckResult, tiny: Scenario
) -> None:
    wide = checked.rows[0]
    seeds = replication_seeds(tiny.seed, REPS)  # the calibration's fit seeds
    assert checked.seeds == seeds
    values = np.array(
        [measure(BuyerJourneyModel(tiny, seed=s).run().tables(), wide.target).value for s in seeds]
    )
    half = stats.t.ppf(0.975, REPS - 1) * values.std(ddof=1) / math.sqrt(REPS)
    assert wide.simulated == pytest.approx(values.mean())
    assert (wide.ci_low, wide.ci_high) == pytest.approx(
        (values.mean() - half, values.mean() + half)
    )
    assert wide.ci_low < wide.simulated < wide.ci_high
    assert (wide.runs, wide.reps, wide.note) == (REPS, REPS, "")


def test_a_trivially_wide_goal_passes_and_an_impossible_one_fails(checked: CheckResult) -> None:
    wide, impossible, _ = checked.rows
    assert (wide.name, wide.passed) == ("wide", True)
    assert (impossible.name, impossible.passed) == ("impossible", False)
    assert impossible.ci_low <= impossible.simulated <= impossible.ci_high
    assert [r.name for r in checked.failed] == ["impossible"]
    assert checked.exit_code == 1


def test_a_target_the_scenario_cannot_measure_is_null_and_no_failure(
    checked: CheckResult,
) -> None:
    huge = checked.rows[2]
    assert (huge.name, huge.measurable, huge.passed, huge.runs) == ("huge_groups", False, None, 0)
    assert math.isnan(huge.simulated) and math.isnan(huge.ci_low)
    assert "not measurable" in huge.note and "500" in huge.note
    assert [r.name for r in checked.unmeasurable] == ["huge_groups"]
    # without the failing target, the check passes: the unmeasurable one does not count
    rest = CheckResult(checked.scenario, checked.targets, checked.seeds, [checked.rows[0], huge])
    assert rest.exit_code == 0 and not rest.failed


def test_the_json_has_every_key_and_null_for_what_was_not_measured(
    checked: CheckResult,
) -> None:
    rows = json.loads(json_text(checked))  # strict JSON: NaN would not be written
    assert [r["name"] for r in rows] == ["wide", "impossible", "huge_groups"]
    assert all(KEYS <= set(r) for r in rows)
    wide, impossible, huge = rows
    assert wide["goal"] == {"band": [-1.0, 2.0], "tolerance": 0.01}
    assert impossible["goal"] == {"value": 2.0, "tolerance": 0.01}
    assert (wide["passed"], impossible["passed"], huge["passed"]) == (True, False, None)
    assert wide["ci_low"] <= wide["simulated"] <= wide["ci_high"]
    assert (huge["simulated"], huge["ci_low"], huge["ci_high"]) == (None, None, None)
    assert "not measurable" in huge["note"] and wide["note"] is None


def test_the_text_has_a_row_per_target_and_the_tally(checked: CheckResult) -> None:
    text = format_check(checked)
    lines = text.splitlines()
    for name, verdict in (("wide", "pass"), ("impossible", "FAIL"), ("huge_groups", "not meas")):
        (line,) = [x for x in lines if x.startswith(name + " ")]
        assert verdict in line
    assert "1 of 2 measurable targets pass; 1 fail (impossible); 1 not measurable" in text
    assert "3 replications" in text and all(x == x.rstrip() for x in lines)


@pytest.mark.parametrize(
    ("low", "high", "goal"),
    [
        (0.6, 0.6, {"value": 0.6}),
        (0.4, 0.6, {"band": [0.4, 0.6]}),
        (0.8, math.inf, {"at_least": 0.8}),
        (-math.inf, 0.2, {"at_most": 0.2}),
    ],
)
def test_the_goal_is_written_as_the_targets_file_states_it(
    low: float, high: float, goal: dict
) -> None:
    t = Target("x", "no_decision_share", "w", "s", 0.05, low, high)
    assert goal_of(t) == {**goal, "tolerance": 0.05}


def test_bad_input_is_refused_before_anything_runs(tmp_path, tiny: Scenario) -> None:
    targets = write(tmp_path, check_targets(), "targets.toml")
    with pytest.raises(UsageError, match="at least 2 replications"):
        make_spec(tiny, targets, 1)
    with pytest.raises(WrongKind):
        make_spec(SCENARIOS / "sweep_channel_mix.toml", targets, 2)
    with pytest.raises(WrongKind):
        make_spec(tiny, SCENARIOS / "baseline.toml", 2)
    spec = make_spec(SCENARIOS / "baseline.toml", targets, 2)  # paths are loaded
    assert spec.scenario.name == "baseline" and spec.targets.names()[0] == "wide"
