"""`python run.py` answers across the shipped baseline's posterior by default, and says so
in its first line; `--posterior none` and other scenario files run one market."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.cli.summary import default_posterior
from analysis.paths import BASELINE, BASELINE_POSTERIOR
from analysis.studies.calibrate.posterior import load_posterior
from sim.scenario import load_scenario


def test_the_baseline_ships_its_posterior_and_it_applies_to_the_baseline():
    assert BASELINE_POSTERIOR.is_file()
    post = load_posterior(BASELINE_POSTERIOR)
    assert len(post.names) >= 10 and post.effective_size > 10
    scenario = load_scenario(BASELINE)
    changes = post.changes(scenario, post.draw(0, scenario.seed))
    assert "network.k" in changes and "choice.status_quo" in changes
    scenario.with_changes(changes)  # every draw's changes are a valid scenario


def test_the_default_summary_uses_the_posterior_only_for_the_baseline():
    assert default_posterior(str(BASELINE), None).resolve() == BASELINE_POSTERIOR
    assert default_posterior("scenarios/baseline.toml", None).resolve() == BASELINE_POSTERIOR
    assert default_posterior(str(BASELINE), Path("none")) is None
    assert default_posterior("scenarios/social_maturity.toml", None) is None
    assert default_posterior(str(BASELINE), Path("x.parquet")) == Path("x.parquet")


@pytest.mark.timeout(300)
def test_bare_run_py_says_in_its_first_line_that_it_answers_across_the_posterior():
    from tests.e2e.cli import cli

    proc = cli("summary", "--reps", "2", "--buyers", "1000", "--weeks", "26", "--quiet")
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert "posterior" in first and "baseline_posterior.parquet" in first
