"""The optimiser's loop with pluggable evaluations: a synthetic objective with a known
optimum, resume from the study on disk, the parametrisation and the final paired
comparison's intervals (checked against scipy), the file's one-line errors, the trial
log's safety, one execution context for a whole optimisation, and its report section."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy import stats

from analysis.studies.optimize import candidates, optimizer, search, section
from analysis.studies.optimize.candidates import candidate_from_params, equal_split, params_of
from analysis.studies.optimize.evaluators import FunctionEvaluator
from analysis.studies.optimize.optimizer import optimize
from analysis.studies.optimize.spec import load_spec
from sim.filekinds import WrongKind
from sim.scenario import ScenarioError
from tests import builders
from tests.conftest import SCENARIOS

TARGET = {"industry_media": 0.2, "search": 0.5, "microblogs": 0.0, "sales_reps": 0.3}


def spec(**kw):
    s = load_spec(SCENARIOS / "optimize_one_channel.toml")
    fields = {
        "trials": 48,
        "replications": 3,
        "top_replications": 3,
        "final_replications": 10,
        "min_share": 0.02,
    }
    fields.update(kw)
    return replace(s, **fields)


def synthetic(mix, budget, seed):
    """A known optimum at TARGET (value 1000), with noise shared by every candidate of a
    replication (common random numbers) plus a little of its own."""
    rng = np.random.default_rng(seed)
    miss = sum((mix.get(c, 0.0) - t) ** 2 for c, t in TARGET.items())
    own = np.random.default_rng([seed, int(1e6 * mix.get("search", 0))]).normal(0, 1)
    return 1000.0 - 2000.0 * miss + rng.normal(0, 50) + own


def test_a_synthetic_objective_is_maximised_within_tolerance(tmp_path):
    s = spec()
    ev = FunctionEvaluator(s, synthetic)
    res = optimize(s, tmp_path, evaluator=ev, progress=False, curves=False)
    got = res.recommended.shares()
    for c, t in TARGET.items():
        assert got.get(c, 0.0) == pytest.approx(t, abs=0.1), (c, got)
    assert sum(got.values()) == pytest.approx(1.0)
    assert len(res.trials) == 48


def test_rerun_asks_nothing_new_and_a_killed_batch_is_told(tmp_path):
    s = spec(trials=16)
    ev = FunctionEvaluator(s, synthetic)
    first = optimize(s, tmp_path, evaluator=ev, progress=False, curves=False)
    assert first.asked == 16
    ev2 = FunctionEvaluator(s, synthetic)
    again = optimize(s, tmp_path, evaluator=ev2, progress=False, curves=False)
    assert again.asked == 0 and [t.number for t in again.trials] == [t.number for t in first.trials]
    assert again.recommended == first.recommended
    # a run killed after asking: the asked trials are evaluated and told, then 8 more asked
    study, _pending, n = search.open_study(s, tmp_path)
    search.log_trials(
        tmp_path,
        s,
        [{"number": n, "state": "asked", "params": study.ask(candidates.distributions(s)).params}],
    )
    more = optimize(
        replace(s, trials=24),
        tmp_path,
        evaluator=ev2,
        progress=False,
        curves=False,
    )
    assert len(more.trials) == 24 and more.asked == 7


def test_the_final_comparison_is_paired_with_t_intervals_and_holm(tmp_path):
    s = spec(trials=8)
    res = optimize(
        s, tmp_path, evaluator=FunctionEvaluator(s, synthetic), progress=False, curves=False
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
    corner = candidate_from_params(
        {f"logit:{c}": (5.0 if c == "search" else -5.0) for c in s.channels}, s
    )
    assert corner.shares() == {"search": 1.0}
    eq = candidate_from_params({f"logit:{c}": 0.0 for c in s.channels}, s)
    assert eq == equal_split(s)
    back = candidate_from_params(params_of(TARGET, s), s)
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
        ('name = ""', "optimize.name"),
        ("replications = 2.5", "optimize.replications"),
        ("budget_range = [5000.0, 2000.0]", "optimize.budget_range"),
        ("curve = [0.5, 2.0]", "optimize.curve"),
        ("min_share = 0.5", "optimize.min_share"),
    ],
)
def test_bad_files_are_one_line_errors(tmp_path, text, field):
    f = tmp_path / "o.toml"
    f.write_text(
        f'[optimize]\nscenario = "{SCENARIOS / "attribution_null_channel.toml"}"\n{text}\n'
    )
    with pytest.raises(ScenarioError) as exc:
        load_spec(f)
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
    assert not math.isnan(candidates.LOGIT_BOUND)


def test_a_file_of_another_kind_is_named_for_what_it_is():
    with pytest.raises(WrongKind) as exc:
        load_spec(SCENARIOS / "sweep_channel_mix.toml")
    assert "this is a sweep file; not an optimisation file" in str(exc.value)
    assert "optimize takes an optimisation file" in str(exc.value.for_command("optimize"))


def test_the_trial_log_is_written_whole_and_a_cut_line_is_left_out(tmp_path):
    s = spec(trials=4)
    search.log_trials(tmp_path, s, [{"number": 0, "state": "asked", "params": {"a": 1.0}}])
    first = (tmp_path / search.STUDY_FILE).read_bytes()
    with open(tmp_path / search.STUDY_FILE, "ab") as fh:  # a kill in the middle of a line
        fh.write(b'{"study": "')
    search.log_trials(tmp_path, s, [{"number": 0, "state": "complete", "value": 2.5}])
    text = (tmp_path / search.STUDY_FILE).read_text()
    assert text.startswith(first.decode()) and text.endswith("\n")
    assert [json.loads(line)["state"] for line in text.splitlines()] == ["asked", "complete"]
    assert search.read_log(tmp_path, s) == ({0: {"a": 1.0}}, {0: 2.5})
    assert [p.name for p in tmp_path.iterdir()] == [search.STUDY_FILE]


def test_one_execution_context_and_one_pool_serve_the_whole_optimisation(tmp_path, monkeypatch):
    from analysis.engine import executors

    f = builders.write(tmp_path, builders.optimize_study(trials=4, buyers=200, weeks=13))
    s = replace(load_spec(f), batch=2)
    contexts, pools = [], []
    opened = executors.open_executor

    class Counted(optimizer.ExecutionContext):
        def __init__(self, *args, **kw):
            super().__init__(*args, **kw)
            contexts.append(self)

    def counted(*args, **kw):
        pools.append(args)
        return opened(*args, **kw)

    monkeypatch.setattr(optimizer, "ExecutionContext", Counted)
    monkeypatch.setattr(executors, "open_executor", counted)
    res = optimize(s, tmp_path / "out", workers=2, progress=False, curves=False)
    assert len(res.trials) == 4 and res.ran > 0
    assert len(contexts) == 1 and len(pools) == 1  # two batches, top-k, final: one pool
    again = optimize(s, tmp_path / "out", workers=2, progress=False, curves=False)
    assert (again.asked, again.ran) == (0, 0) and again.already > 0  # top-k, final: on disk
    assert again.recommended == res.recommended and len(pools) == 1  # nothing to run: no pool


def test_the_report_section_shows_the_vendors_answer(tmp_path):
    from analysis.studies.optimize.report import headline, write_outputs

    s = spec(trials=6)
    res = optimize(s, tmp_path, evaluator=FunctionEvaluator(s, synthetic), progress=False,
                   curves=False)  # fmt: skip
    write_outputs(res, tmp_path)
    sec = section.SECTION
    assert (sec.kind, sec.marker, sec.by_vendor, sec.order) == ("optimisation", "optimize.json",
                                                                True, 2)  # fmt: skip
    page = sec.render(tmp_path, s.vendor)
    assert f"Mix optimisation: {s.vendor}" in page and headline(res).split(":")[0] in page
    assert sec.render(tmp_path, "Somebody else") is None
    assert sec.render(tmp_path / "nothing here", None) is None
