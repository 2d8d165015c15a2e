"""Answers across plausible markets (`--posterior FILE`): replication r draws one
parameter set from a posterior, the same for every strategy (pairing holds: two identical
strategies differ by exactly 0 in every replication, while replications draw different
sets); a strategy's explicit setting wins over the draw; run ids change only with a
posterior; a bad posterior file is one line with exit code 2; and the summary's verdict
(the probability the leader leads, its Jeffreys interval, the replications a stable
verdict needs, which drawn parameter the answer depends on) checked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.engine.design import (
    Variant,
    expand_runs,
    load_sweep_file,
    replication_seeds,
    run_id,
    scenario_hash,
)
from analysis.engine.results import load_sweep
from analysis.reports.sweep.data import check_posterior, load
from analysis.stats.verdict import (
    best_shares,
    depends_most,
    jeffreys_interval,
    leads,
    replications_for_stable,
)
from analysis.studies.across.draws import load_draws
from analysis.studies.calibrate.posterior import write_posterior
from analysis.studies.optimize.spec import load_spec
from analysis.studies.summary.study import format_replicated, run_replicated, verdict
from analysis.studies.sweep.study import check_same_posterior, run_sweep, with_posterior
from sim.errors import ScenarioError
from sim.scenario.priors import Prior
from tests import builders
from tests.builders import SCENARIOS
from tests.e2e.cli import cli

PRIORS = (
    Prior(name="status_quo", path="choice.status_quo", dist="uniform", low=0.5, high=3.0,
          source="test"),
    Prior(name="cred", scales=("channels.*.credibility",), cap=1.0, dist="lognormal",
          median=1.0, sigma=0.3, source="test"),
)  # fmt: skip

#: two strategies with the same settings: any difference between them is not pairing's
TWINS = f"""
[sweep]
name = "twins"
scenario = "{SCENARIOS / "baseline.toml"}"
replications = 3
seed = 13

[sweep.set]
"buyers.count" = 1500
weeks = 52
"market.spin_up_weeks" = 0

[axes]
mix = {{ vendor = "CommunityFirst", strategies = ["a", "b"] }}

[strategies.a]
channel_mix = {{ topic_communities = 0.7, vendor_content = 0.3 }}

[strategies.b]
channel_mix = {{ topic_communities = 0.7, vendor_content = 0.3 }}
"""


def posterior_file(tmp_path, n: int = 40, priors=PRIORS, name: str = "post.parquet"):
    """A posterior of `n` equally weighted particles spread over the priors' ranges."""
    rng = np.random.default_rng(1)
    draws = pd.DataFrame({"status_quo": rng.uniform(0.5, 3.0, n), "cred": rng.lognormal(0, 0.3, n)})
    return write_posterior(tmp_path / name, draws, np.ones(n), priors, {"scenario": "test"})


# ----------------------------------------------------------------------------- pairing
@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    """The twins sweep run across a posterior: (its folder, the runs and vendors tables)."""
    tmp = tmp_path_factory.mktemp("twins")
    sweep = with_posterior(load_sweep_file(builders.write(tmp, TWINS)), posterior_file(tmp))
    outcome = run_sweep(sweep, tmp / "out", workers=1, progress=False)
    assert outcome.ran == 6 and outcome.failed == 0
    sdir = outcome.out_dir
    return sweep, tmp / "out", load_sweep(sdir, "runs"), load_sweep(sdir, "vendors")


def test_two_identical_strategies_differ_by_exactly_zero_in_every_replication(twins) -> None:
    _sweep, _out, runs, vendors = twins
    wide = vendors.pivot_table(
        index=["replication", "vendor"], columns="variant", values="conversions"
    )
    a, b = wide["mix=a"], wide["mix=b"]
    assert (a - b).abs().max() == 0  # every vendor, every replication
    assert a.groupby("replication").sum().nunique() > 1  # the replications do differ
    drawn = runs.drop_duplicates("replication").set_index("replication")
    assert drawn["post:status_quo"].nunique() == 3  # each replication drew another set
    assert drawn["post:cred"].nunique() == 3


def test_a_replication_draws_the_same_set_for_every_variant(twins) -> None:
    sweep, _out, runs, _vendors = twins
    cols = ["post:status_quo", "post:cred"]
    per_rep = runs.groupby("replication")[cols].nunique()
    assert (per_rep == 1).all().all()  # one set per replication, whatever the variant
    for r, g in runs.groupby("replication"):
        values, _ = sweep.draws.at(int(r))
        assert g["post:status_quo"].iloc[0] == values["status_quo"]
    specs = sweep.expand()
    assert all(abs(s.changes["choice.status_quo"] - s.drawn["status_quo"]) < 1e-5 for s in specs)


def test_the_strategy_wins_and_run_ids_change_only_with_a_posterior(tmp_path, baseline) -> None:
    draws = load_draws(posterior_file(tmp_path), baseline, 7)
    own = Variant(1, "own", {}, {"choice.status_quo": 9.0})
    plain = Variant(0, "plain", {}, {})
    seeds = replication_seeds(7, 2)
    h = scenario_hash(baseline)
    without = expand_runs(h, [plain, own], seeds)
    assert [s.run_id for s in without] == [
        run_id(h, v.changes, v.params, seed) for seed in seeds for v in (plain, own)
    ]  # ids as before posteriors existed
    assert all(s.drawn == {} for s in without)
    across = expand_runs(h, [plain, own], seeds, draws)
    assert {s.run_id for s in across}.isdisjoint(s.run_id for s in without)
    plain0, own0 = across[0], across[1]
    assert own0.changes["choice.status_quo"] == 9.0  # the strategy's explicit setting
    assert plain0.changes["choice.status_quo"] != 9.0  # the draw elsewhere
    assert own0.drawn == plain0.drawn  # recorded all the same
    assert (
        own0.changes["channels.search.credibility"] == plain0.changes["channels.search.credibility"]
    )


# ----------------------------------------------------------------------------- the summary
def test_a_summary_across_a_posterior_says_so_and_names_what_it_depends_on(
    tmp_path, baseline
) -> None:
    sc = baseline.with_changes({"buyers.count": 1500, "weeks": 52, "market.spin_up_weeks": 0})
    path = posterior_file(tmp_path)
    draws = load_draws(path, sc, sc.seed)
    rep = run_replicated(sc, reps=4, workers=1, progress=False, draws=draws)
    for r, g in rep.runs.groupby("replication"):
        assert g["post:cred"].iloc[0] == draws.at(int(r))[0]["cred"]
    text = format_replicated(rep)
    first = text.splitlines()[0]
    assert first.startswith(f"answers across 4 posterior draws of {path}: parameter uncertainty")
    assert "probability best (share of replications" in text
    assert "the answer depends most on" in text
    v = verdict(rep.vendors)
    assert 0 <= v.lead.low <= v.lead.share <= v.lead.high <= 1
    assert "separated" not in text


# ----------------------------------------------------------------------------- verdicts
def test_the_probability_the_leader_leads_and_its_jeffreys_interval() -> None:
    d = np.array([5.0, -2.0, 3.0, 0.0, 4.0, 1.0, -1.0, 6.0])  # leader - runner-up
    lead = leads(d)
    assert lead.wins == 5.5 and lead.n == 8  # 5 leads, one tie counted half
    assert 0 <= lead.low <= lead.share <= lead.high <= 1
    assert lead.low == pytest.approx(stats.beta.ppf(0.025, 6.0, 3.0))
    assert lead.high == pytest.approx(stats.beta.ppf(0.975, 6.0, 3.0))
    assert jeffreys_interval(0, 10)[0] == 0.0 and jeffreys_interval(10, 10)[1] == 1.0
    assert leads(np.zeros(6)).share == 0.5  # identical strategies: a coin, not a loss


def test_replications_for_a_stable_verdict_follow_the_stated_formula() -> None:
    d = np.array([12.0, -4.0, 9.0, 1.0, 7.0, -6.0])
    n, mean, sd = d.size, d.mean(), d.std(ddof=1)
    hw = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    assert hw > abs(mean)  # not stable with 6
    need = replications_for_stable(n, hw, mean)
    assert need == math.ceil(n * (hw / abs(mean)) ** 2) and need > n
    assert replications_for_stable(n, 1.0, 10.0) == max(2, math.ceil(n * 0.01))  # stable now
    assert replications_for_stable(n, hw, 0.0) is None
    assert replications_for_stable(1, math.nan, 3.0) is None


def test_probability_best_shares_ties_and_sums_to_one() -> None:
    values = pd.DataFrame({"A": [3, 5, 2, 4], "B": [3, 1, 6, 2], "C": [1, 1, 1, 1]})
    p = best_shares(values)
    assert p.to_dict() == {"A": pytest.approx(2.5 / 4), "B": pytest.approx(1.5 / 4), "C": 0.0}
    assert best_shares(values, lower_is_better=True)["C"] == pytest.approx(3.5 / 4)  # one tie


def test_the_answer_depends_most_on_the_parameter_that_flips_it() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 1, 40)
    noise = rng.uniform(0, 1, 40)
    d = np.where(x >= 0.5, 5.0, -5.0) + rng.normal(0, 1, 40)  # flips at x = 0.5
    dep = depends_most(d, pd.DataFrame({"noise": noise, "x": x, "fixed": np.ones(40)}))
    assert dep.name == "x" and dep.rho > 0.6
    assert dep.split == pytest.approx(np.median(x))
    above = x >= dep.split
    assert dep.share_above == pytest.approx(leads(d[above]).share)
    assert dep.share_below == pytest.approx(leads(d[~above]).share)
    assert dep.share_above > 0.8 and dep.share_below < 0.3
    assert depends_most(np.zeros(40), pd.DataFrame({"x": x})) is None


# ----------------------------------------------------------------------------- bad input
def test_a_posterior_that_does_not_apply_to_the_scenario_is_one_line(tmp_path, baseline) -> None:
    alien = (Prior(name="b", path="vendors.Nobody.weekly_budget", dist="uniform", low=1.0,
                   high=2.0, source="test"),)  # fmt: skip
    rng = np.random.default_rng(0)
    path = write_posterior(tmp_path / "alien.parquet", pd.DataFrame({"b": rng.uniform(1, 2, 5)}),
                           np.ones(5), alien, {})  # fmt: skip
    with pytest.raises(ScenarioError) as exc:
        load_draws(path, baseline, 1)
    assert str(exc.value).startswith(f"{path}: --posterior: does not apply to scenario")
    assert "\n" not in str(exc.value)


@pytest.mark.parametrize("command", ["summary", "sweep", "optimize"])
def test_a_bad_posterior_file_is_one_line_and_exit_code_2(tmp_path, command) -> None:
    bad = tmp_path / "post.parquet"
    bad.write_text("not parquet", encoding="utf-8")
    files = {
        "summary": [],
        "sweep": [str(builders.write(tmp_path, TWINS)), "--out", str(tmp_path / "o")],
        "optimize": [str(builders.write(tmp_path, builders.optimize_study(), "opt.toml")),
                     "--out", str(tmp_path / "o")],
    }  # fmt: skip
    r = cli(command, *files[command], "--posterior", str(bad), "--quiet")
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: --posterior: not a Parquet")
    assert "Traceback" not in r.stderr and not (tmp_path / "o").exists()


def test_a_report_confirms_the_sweeps_posterior_and_refuses_another(twins, tmp_path) -> None:
    sweep, out, _runs, _vendors = twins
    d = load(out)
    assert d.info["posterior"]["parameters"] == ["status_quo", "cred"]
    check_posterior(d, None)
    check_posterior(d, sweep.draws.source)  # the same file: accepted
    other = posterior_file(tmp_path, n=30, name="other.parquet")
    with pytest.raises(ScenarioError, match="ran across another posterior"):
        check_posterior(d, other)
    plain = load_sweep_file(builders.write(tmp_path, TWINS))
    with pytest.raises(ScenarioError, match="holds runs of this sweep under the posterior"):
        check_same_posterior(plain, out)  # no mixing of markets in one sweep folder
    check_same_posterior(sweep, out)


def test_optimize_candidates_share_each_replications_draw(tmp_path) -> None:
    from analysis.engine.evaluate import Point, PointEvaluator

    study = builders.write(tmp_path, builders.optimize_study(), "opt.toml")
    path = posterior_file(tmp_path)
    plain, across = load_spec(study), load_spec(study, posterior=path)
    assert across.study_key != plain.study_key  # optuna's log is per market model
    assert "posterior" in across.describe() and "posterior" not in plain.describe()
    ev = PointEvaluator(None, tmp_path, across.scenario, None, (), "h", draws=across.draws)
    seeds = across.seeds(0, 3)
    x = ev.specs(Point("x", 1, {}, {"vendors.Focal.weekly_budget": 10.0}), seeds)
    y = ev.specs(Point("y", 2, {}, {"vendors.Focal.weekly_budget": 20.0}), seeds)
    assert [s.drawn for s in x] == [s.drawn for s in y]
    assert len({s.drawn["status_quo"] for s in x}) == 3
