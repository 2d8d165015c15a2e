"""ABC calibration (`run.py calibrate --method abc`): a known posterior is recovered
through the same engine path as the model, reproducibly."""

from __future__ import annotations

import math
from functools import partial
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis.engine.experiment import RunPlan, Table
from analysis.studies.calibrate.abc import AbcSetup, run_abc
from analysis.studies.calibrate.posterior import load_posterior, weighted_quantiles
from analysis.studies.calibrate.priors import Parameters
from analysis.studies.calibrate.targets import Target, Targets
from sim.scenario import load_scenario

#: the toy's noise and the observation: x ~ N(theta, SIGMA^2), observed x = OBSERVED
SIGMA, OBSERVED = 0.5, 1.0
PATH = "choice.status_quo"  # the scenario field that carries theta (any real field)


def gaussian(_base, spec) -> SimpleNamespace:
    """A known-answer model: one draw of N(theta, SIGMA^2), seeded by the run's seed."""
    theta = float(spec.changes[PATH])
    rng = np.random.default_rng(spec.seed)
    return SimpleNamespace(x=theta + SIGMA * rng.standard_normal())


def gaussian_moments(model, _spec, name: str) -> pd.DataFrame:
    df = pd.DataFrame({"target": [name], "stat": ["value"], "value": [model.x], "note": [""]})
    for c in ("target", "stat", "note"):
        df[c] = df[c].astype("string")
    return df


def toy_setup(**kw) -> AbcSetup:
    """Prior theta ~ U(-5, 5); likelihood N(theta, SIGMA^2); observed 1: the posterior is
    N(1, SIGMA^2) (its truncation at +-5 is 8 sd away)."""
    scenario = load_scenario("scenarios/baseline.toml").with_changes(
        {"calibration.priors": [{"name": "theta", "path": PATH, "dist": "uniform",
                                  "low": -5.0, "high": 5.0, "source": "test"}]}
    )  # fmt: skip
    target = Target("x", "no_decision_share", "toy", "test", tolerance=SIGMA,
                    low=OBSERVED, high=OBSERVED)  # fmt: skip
    table = Table("moments", partial(gaussian_moments, name="x"))
    plan = RunPlan(tables=(table,), simulate=gaussian)
    defaults = dict(population=200, generations=6, min_epsilon=0.1, max_runs=6000,
                    ppc_draws=20, plan=plan, ppc_plan=plan)  # fmt: skip
    return AbcSetup(
        scenario, Targets("toy", (target,)), Parameters.of(scenario), **{**defaults, **kw}
    )


@pytest.mark.timeout(300)
def test_a_known_posterior_is_recovered_through_the_engine(tmp_path):
    result = run_abc(toy_setup(), tmp_path / "abc", workers=1, progress=False)
    post = load_posterior(tmp_path / "abc" / "posterior.parquet")
    theta, w = post.draws["theta"].to_numpy(), post.weights
    mean = float(np.sum(w * theta))
    sd = math.sqrt(float(np.sum(w * (theta - mean) ** 2)))
    # the ABC posterior is N(1, 0.5^2) widened by the final epsilon's uniform kernel
    # (half-width eps x SIGMA, about 0.04: sd grows by under 1%); with 200 particles the
    # mean's sampling sd is about 0.04 and the sd's about 0.03
    assert abs(mean - OBSERVED) < 0.1
    assert 0.42 < sd < 0.6
    q05, q95 = weighted_quantiles(theta, w, (0.05, 0.95))
    assert abs(q05 - (OBSERVED - 1.645 * SIGMA)) < 0.15
    assert abs(q95 - (OBSERVED + 1.645 * SIGMA)) < 0.15
    assert result.generations[-1].epsilon < result.generations[0].epsilon
    assert len(result.predictive) == 20


def test_a_rerun_into_the_same_folder_replays_from_stored_runs(tmp_path):
    setup = toy_setup(population=60, generations=3, min_epsilon=0.5, ppc_draws=5)
    first = run_abc(setup, tmp_path / "abc", workers=1, progress=False)
    again = run_abc(setup, tmp_path / "abc", workers=1, progress=False)
    assert first.ran > 0 and again.ran == 0
    pd.testing.assert_frame_equal(first.posterior.draws, again.posterior.draws)
    assert np.array_equal(first.posterior.weights, again.posterior.weights)


# --------------------------------------------------------------------------- priors
def _with_priors(*priors: dict):
    return load_scenario("scenarios/baseline.toml").with_changes(
        {"calibration.priors": list(priors)}
    )


def test_a_scale_prior_multiplies_every_field_it_names_and_caps_shares():
    scenario = _with_priors(
        {"name": "cred", "scales": ["channels.*.credibility"], "cap": 1.0,
         "dist": "lognormal", "median": 1.0, "sigma": 0.4, "source": "test"},
        {"name": "k", "path": "network.k", "dist": "uniform", "low": 2, "high": 16,
         "source": "test"},
    )  # fmt: skip
    params = Parameters.of(scenario)
    changes = params.changes({"cred": 2.0, "k": 7.6})
    table = scenario.channel_table()
    for c in table:
        assert changes[f"channels.{c.name}.credibility"] == [min(1.0, 2 * x) for x in c.credibility]
    assert changes["network.k"] == 8  # a whole-number field is rounded
    changed = scenario.with_changes(changes)
    assert changed.network.k == 8
    assert changed.channel_table()[0].credibility == tuple(
        min(1.0, 2 * x) for x in table[0].credibility
    )


def test_the_shipped_baseline_has_at_least_ten_priors_each_with_a_source():
    params = Parameters.of(load_scenario("scenarios/baseline.toml"))
    assert len(params.items) >= 10
    assert all(p.prior.source for p in params.items)
    decisive = {"network.k", "choice.status_quo", "accounts.consensus", "memory.half_life_weeks"}
    assert decisive <= {f.path for p in params.items for f in p.fields}


@pytest.mark.parametrize(
    ("prior", "says"),
    [
        ({"name": "x", "path": "choice.status_quo", "dist": "normal", "mean": 1.0,
          "source": "s"}, "needs mean = ... and sd = ..."),
        ({"name": "x", "path": "choice.status_quo", "scales": ["choice.status_quo"],
          "dist": "uniform", "low": 0, "high": 1, "source": "s"}, "exactly one of path"),
        ({"name": "x", "path": "choice.status_quo", "dist": "uniform", "low": 1, "high": 0,
          "source": "s"}, "low < high"),
        ({"name": "x", "path": "choice.status_quo", "dist": "uniform", "low": 0, "high": 1,
          "source": " "}, "where the prior comes from"),
    ],
)  # fmt: skip
def test_a_bad_prior_is_one_line_naming_the_prior(prior, says):
    from sim.errors import ScenarioError

    with pytest.raises(ScenarioError) as exc:
        _with_priors(prior)
    assert says in str(exc.value) and "calibration.priors" in str(exc.value)
    assert "\n" not in str(exc.value)


def test_a_prior_on_a_field_the_scenario_lacks_is_refused_before_anything_runs():
    from sim.errors import ScenarioError

    scenario = _with_priors({"name": "x", "path": "choice.no_such_field", "dist": "uniform",
                             "low": 0, "high": 1, "source": "s"})  # fmt: skip
    with pytest.raises(ScenarioError, match="calibration.priors"):
        Parameters.of(scenario)


# --------------------------------------------------------------------------- the command
def test_abc_on_a_scenario_without_priors_is_one_line_and_exit_2(tmp_path):
    from tests.builders import targets_file, write
    from tests.e2e.cli import cli

    targets = write(tmp_path, targets_file(), "targets.toml")
    scenario = "scenarios/attribution_null_channel.toml"  # a scenario without priors
    proc = cli("calibrate", str(scenario), "--targets", str(targets), "--out",
               str(tmp_path / "out"), "--method", "abc", "--quiet")  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "calibration.priors" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.timeout(300)
def test_rejection_abc_keeps_the_closest_prior_draws_with_equal_weights(tmp_path):
    """One generation: the 100 closest of 2,000 prior draws. Kept: |x - 1| <= about 0.25
    (5% of U(-5, 5) draws), so the posterior is N(1, 0.5^2) widened by a uniform window of
    half-width about 0.25: sd about 0.52."""
    setup = toy_setup(population=100, generations=1, acceptance=0.05, max_runs=2000, ppc_draws=0)
    result = run_abc(setup, tmp_path / "abc", workers=1, progress=False)
    post = result.posterior
    assert len(post.weights) == 100 and np.allclose(post.weights, 0.01)
    assert post.effective_size == pytest.approx(100)
    theta = post.draws["theta"].to_numpy()
    assert abs(theta.mean() - OBSERVED) < 0.12
    assert 0.4 < theta.std() < 0.66
    assert "100 closest of 2000 prior draws" in result.stop_reason
