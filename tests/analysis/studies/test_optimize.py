"""The optimiser's loop with pluggable evaluations: a synthetic objective with a known
optimum, resume from the study on disk, the parametrisation and the final paired
comparison's intervals (checked against scipy)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from analysis.studies.optimize import study as opt
from sim.scenario import ScenarioError
from tests.conftest import SCENARIOS

TARGET = {"industry_media": 0.2, "search": 0.5, "microblogs": 0.0, "sales_reps": 0.3}


def spec(**kw):
    s = opt.load_spec(SCENARIOS / "optimize_one_channel.toml")
    fields = {
        "trials": 48,
        "replications": 3,
        "top_replications": 3,
        "final_replications": 10,
        "min_share": 0.02,
    }
    fields.update(kw)
    return opt.Spec(**{**s.__dict__, **fields})


def synthetic(mix, budget, seed):
    """A known optimum at TARGET (value 1000), with noise shared by every candidate of a
    replication (common random numbers) plus a little of its own."""
    rng = np.random.default_rng(seed)
    miss = sum((mix.get(c, 0.0) - t) ** 2 for c, t in TARGET.items())
    own = np.random.default_rng([seed, int(1e6 * mix.get("search", 0))]).normal(0, 1)
    return 1000.0 - 2000.0 * miss + rng.normal(0, 50) + own


def test_a_synthetic_objective_is_maximised_within_tolerance(tmp_path):
    s = spec()
    ev = opt.FunctionEvaluator(s, synthetic)
    res = opt.optimize(s, tmp_path, evaluator=ev, progress=False, curves=False)
    got = res.recommended.shares()
    for c, t in TARGET.items():
        assert got.get(c, 0.0) == pytest.approx(t, abs=0.1), (c, got)
    assert sum(got.values()) == pytest.approx(1.0)
    assert len(res.trials) == 48


def test_rerun_asks_nothing_new_and_a_killed_batch_is_told(tmp_path):
    s = spec(trials=16)
    ev = opt.FunctionEvaluator(s, synthetic)
    first = opt.optimize(s, tmp_path, evaluator=ev, progress=False, curves=False)
    assert first.asked == 16
    ev2 = opt.FunctionEvaluator(s, synthetic)
    again = opt.optimize(s, tmp_path, evaluator=ev2, progress=False, curves=False)
    assert again.asked == 0 and [t.number for t in again.trials] == [t.number for t in first.trials]
    assert again.recommended == first.recommended
    # a run killed after asking: the asked trials are evaluated and told, then 8 more asked
    study, _pending, n = opt.open_study(s, tmp_path)
    opt.log_trials(
        tmp_path,
        s,
        [{"number": n, "state": "asked", "params": study.ask(opt.distributions(s)).params}],
    )
    more = opt.optimize(
        opt.Spec(**{**s.__dict__, "trials": 24}),
        tmp_path,
        evaluator=ev2,
        progress=False,
        curves=False,
    )
    assert len(more.trials) == 24 and more.asked == 7


def test_the_final_comparison_is_paired_with_t_intervals_and_holm(tmp_path):
    s = spec(trials=8)
    res = opt.optimize(
        s, tmp_path, evaluator=opt.FunctionEvaluator(s, synthetic), progress=False, curves=False
    )
    f = res.final
    assert set(f.variant) == {"recommended", "current", "equal split"}
    assert (f.groupby("variant")["replication"].apply(sorted).map(tuple).nunique()) == 1
    first = s.replications + s.top_replications
    assert sorted(f.replication.unique()) == list(range(first, first + s.final_replications))
    w = f.pivot(index="replication", columns="variant", values="conversions")
    pvals = []
    for r in res.comparison.itertuples():
        d = w[r.variant] - w[r.reference]
        lo, hi = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
        assert (r.ci_low, r.ci_high) == pytest.approx((lo, hi))
        assert r.p_value == pytest.approx(stats.ttest_rel(w[r.variant], w[r.reference]).pvalue)
        pvals.append(r.p_value)
    order = np.argsort(pvals)
    m = len(pvals)
    adj = np.maximum.accumulate([min(1, (m - i) * pvals[j]) for i, j in enumerate(order)])
    assert res.comparison.p_holm.to_numpy()[order] == pytest.approx(adj)
    assert (
        "wins" in res.comparison.plain.iloc[1]
        or "no clear difference" in res.comparison.plain.iloc[1]
    )


def test_softmax_parametrisation_reaches_corners_and_rounds():
    s = spec()
    corner = opt.candidate_from_params(
        {f"logit:{c}": (5.0 if c == "search" else -5.0) for c in s.channels}, s
    )
    assert corner.shares() == {"search": 1.0}
    eq = opt.candidate_from_params({f"logit:{c}": 0.0 for c in s.channels}, s)
    assert eq == opt.equal_split(s)
    back = opt.candidate_from_params(opt.params_of(TARGET, s), s)
    assert back.shares() == pytest.approx({k: v for k, v in TARGET.items() if v})


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('vendor = "Nobody"', "optimize.vendor"),
        ('objective = "fame"', "optimize.objective"),
        ('channels = ["search", "fax"]', "optimize.channels"),
        ("budget = -5.0", "optimize.budget"),
        ("trials = 0", "optimize.trials"),
        ("colour = 1", "optimize.colour"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, text, field):
    f = tmp_path / "o.toml"
    f.write_text(
        f'[optimize]\nscenario = "{SCENARIOS / "attribution_null_channel.toml"}"\n{text}\n'
    )
    with pytest.raises(ScenarioError) as exc:
        opt.load_spec(f)
    assert exc.value.field == field and "\n" not in str(exc.value)


def test_plain_words_never_say_wins_zero():
    from analysis.stats.compare import plain_sentence

    assert plain_sentence("A", "B", "conversions", 77.2, 11.4, 143.0, "clear") == (
        "A wins 77 more conversions than B (95% CI 11 to 143)"
    )
    assert plain_sentence("A", "B", "conversions", -77.2, -143.0, -11.4, "clear") == (
        "B wins 77 more conversions than A (95% CI 11 to 143)"
    )
    text = plain_sentence("A", "B", "conversions", 0.2, -6.0, 6.4, "unclear")
    assert text.startswith("no clear difference") and "wins" not in text
    assert not math.isnan(opt.LOGIT_BOUND)
