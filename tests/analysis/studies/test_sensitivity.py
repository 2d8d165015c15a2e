"""Sensitivity indices. Known answer: the Ishigami function, run as the model of a study
through the same path as `run.py sensitivity` (run_study -> one execution context ->
the point evaluator -> the engine's worker processes -> chunked Parquet -> the runs read
back -> SALib), reproduces its analytic Sobol' indices and its exact Morris statistics,
and a rerun in the same folder runs nothing twice. Also: the SALib pipeline alone, the
sensitivity file validated line by line, and a tiny simulator study, resumable, whose
outcomes are those of the model run directly with the same seed."""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.engine.design import Variant, expand_runs, replication_seeds, scenario_hash
from analysis.engine.experiment import worker_modules
from analysis.engine.parts import load_table, part_files
from analysis.errors import Stopped
from analysis.studies.sensitivity.indices import analyse
from analysis.studies.sensitivity.outcomes import wide_outcomes
from analysis.studies.sensitivity.report import sensitivity_section, write_outputs
from analysis.studies.sensitivity.run import run_study, study_evaluator, study_specs
from analysis.studies.sensitivity.section import SECTION
from analysis.studies.sensitivity.spec import Parameter, Study, load_study
from sim.filekinds import WrongKind
from sim.scenario import Scenario, ScenarioError
from tests import builders
from tests.analysis.studies.ishigami import (
    ISHIGAMI,
    NAMES,
    ishigami,
    ishigami_indices,
    ishigami_model,
    morris_grid_values,
)
from tests.conftest import SCENARIOS, assert_one_line_error

#: largest absolute error allowed on each Sobol' index (S1 and ST) against the analytic value
SOBOL_TOL = 0.05
#: Sobol' base samples: N x (3 + 2) = 5,120 runs (max error ~0.02 over seeds 1, 2, 3, 7)
SOBOL_N = 1024
#: Morris trajectories: N x (3 + 1) = 800 runs
MORRIS_N = 200
#: largest absolute error allowed on Morris mu* and sigma against their exact grid values
#: (their standard errors at 200 trajectories are ~0.45)
MORRIS_TOL = 1.0
#: The engine forks its workers when this process runs one Python thread
#: (analysis.engine.executors._start_method), but numpy (OpenBLAS) and pyarrow hold native
#: threads, which Python 3.12 counts when it can read /proc/self/stat: it then warns at
#: each fork, in any engine test with worker processes (whether the warning shows is
#: chance). Not this test's subject; left to the engine's owners.
FORK_WARNING = "ignore:This process .* is multi-threaded, use of fork:DeprecationWarning"


def test_ishigami_analytic_values():
    s1, st = ishigami_indices()
    assert np.allclose(s1, [0.314, 0.442, 0.0], atol=1e-3)
    assert np.allclose(st, [0.558, 0.442, 0.244], atol=1e-3)


def test_morris_grid_values_of_ishigami():
    """On 4 levels x steps -pi -> pi/3 or -pi/3 -> pi (delta = 2/3): x2's effects are all
    +-7 * 0.75 / (2/3), x1's all positive, x3's +-12.5 (where sin x1 != 0) or 0."""
    g = morris_grid_values(4)
    assert g["x1"]["mu_star"] == pytest.approx(7.704, abs=1e-3) and g["x1"]["mu"] == pytest.approx(
        7.704, abs=1e-3
    )
    assert g["x2"]["mu_star"] == pytest.approx(7.875, abs=1e-9) and g["x2"]["mu"] == pytest.approx(
        0, abs=1e-9
    )
    assert g["x3"]["mu_star"] == pytest.approx(6.249, abs=1e-3) and g["x3"]["mu"] == pytest.approx(
        0, abs=1e-9
    )
    assert g["x3"]["sigma"] == pytest.approx(8.837, abs=1e-3)


def test_salib_pipeline_alone_recovers_ishigami_sobol_indices():
    """sample -> evaluate (the function on the whole array, no engine) -> analyze."""
    an = analyse(ISHIGAMI, ishigami, ["f"], "sobol", samples=1024, seed=7, resamples=300)
    df = an.indices.set_index("parameter")
    s1, st = ishigami_indices()
    assert len(an.x) == 1024 * (3 + 2)
    assert np.allclose(df["S1"], s1, atol=0.05), df
    assert np.allclose(df["ST"], st, atol=0.05), df
    # the bootstrap intervals are there, positive and cover the truth (at this N)
    assert (df["S1_conf"] > 0).all() and (df["ST_conf"] > 0).all()
    assert (abs(df["S1"] - s1) <= df["S1_conf"] + 0.01).all()
    assert (abs(df["ST"] - st) <= df["ST_conf"] + 0.01).all()


#: runs per part file of the known-answer studies (few, large chunks: fast)
CHUNK = 256


# ----------------------------------------------------------------------------- known answer
def ishigami_study(scenario: Scenario, method: str, samples: int) -> Study:
    """A study whose model is the Ishigami function (`simulate`): parameters x1, x2, x3 on
    [-pi, pi] (plain names, read by the function), outcomes f and pid (the process that
    ran the run). The scenario only enters the run ids: nothing is applied to it."""
    return Study(
        name=f"ishigami-{method}",
        source="tests/analysis/studies/ishigami.py",
        scenario_path="(not used: the Ishigami function is the model)",
        scenario=scenario,
        fixed={},
        parameters=tuple(Parameter(n, -math.pi, math.pi) for n in NAMES),
        outcomes=("f", "pid"),
        method=method,
        samples=samples,
        levels=4,
        replications=1,
        seed=7,
        resamples=300,
        simulate=ishigami_model,
    )


def indices_of_f(an) -> pd.DataFrame:
    """The indices of the outcome f of an Analysis, one row per parameter."""
    return an.indices.query("outcome == 'f'").set_index("parameter")


def check_engine_path(res, out: Path) -> None:
    """The runs went through worker processes into chunked Parquet (several part files),
    and what was read back is the function at the sampled points."""
    an = res.analysis
    runs = load_table(out, "runs")
    assert len(runs) == len(an.x) and runs["run_id"].is_unique
    assert (runs["status"] == "ok").all()
    assert len(part_files(out, "runs")) > 1
    assert os.getpid() not in set(runs["o:pid"].astype(int))  # not in this process
    # the engine's values differ from the function's only by the points' 8 significant digits
    assert np.allclose(an.y[:, 0], ishigami(an.x)[:, 0], rtol=0, atol=1e-5)


def study_runs(study: Study, x: np.ndarray, out: Path):
    """The point evaluator of a study and the runs of the points x (nothing runs)."""
    ev = study_evaluator(study, None, out)
    return ev, study_specs(ev, study, x)


def test_run_ids_are_the_design_scheme(baseline, tmp_path):
    """A point's runs have the ids the engine's design gives a variant (so a folder written
    before the point evaluator resumes): hashing the function's name, replication by
    replication, every point on the same seeds."""
    st = replace(ishigami_study(baseline, "sobol", 2), replications=2)
    x = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]])
    _, specs = study_runs(st, x, tmp_path)
    values = [{n: float(f"{v:.8g}") for n, v in zip(NAMES, row, strict=True)} for row in x]
    variants = [Variant(i, f"point={i}", {"point": i, **v}, v) for i, v in enumerate(values)]
    design = f"{scenario_hash(baseline)}+tests.analysis.studies.ishigami:ishigami_model"
    assert specs == expand_runs(design, variants, replication_seeds(7, 2))


def test_ishigami_study_plan_runs_the_function(baseline, tmp_path):
    ev, specs = study_runs(ishigami_study(baseline, "sobol", 2), np.zeros((2, 3)), tmp_path)
    assert ev.plan.simulate is ishigami_model
    assert specs[0].changes == {"x1": 0.0, "x2": 0.0, "x3": 0.0}
    assert "tests.analysis.studies.ishigami" in worker_modules(ev.plan)  # preloaded in workers


@pytest.mark.filterwarnings(FORK_WARNING)
def test_engine_recovers_ishigami_sobol_indices_and_resumes(tmp_path, baseline):
    st = ishigami_study(baseline, "sobol", SOBOL_N)
    out = tmp_path / "sobol"
    res = run_study(st, out, workers=2, progress=False, chunk_size=CHUNK)
    assert res.ran == st.points() == SOBOL_N * 5 and res.already == 0
    check_engine_path(res, out)
    df = indices_of_f(res.analysis)
    s1, st1 = ishigami_indices()
    assert np.abs(df["S1"] - s1).max() <= SOBOL_TOL, df
    assert np.abs(df["ST"] - st1).max() <= SOBOL_TOL, df
    # the bootstrap intervals are positive and cover the truth (within 0.01)
    assert (df["S1_conf"] > 0).all() and (df["ST_conf"] > 0).all()
    assert (abs(df["S1"] - s1) <= df["S1_conf"] + 0.01).all(), df
    assert (abs(df["ST"] - st1) <= df["ST_conf"] + 0.01).all(), df
    # the same indices as the function evaluated directly on the same points
    direct = indices_of_f(analyse(ISHIGAMI, ishigami, ["f"], "sobol", SOBOL_N, 7, resamples=300))
    assert np.allclose(df[["S1", "ST"]], direct[["S1", "ST"]], atol=1e-6)

    # run again in the same folder: nothing runs twice, the indices are identical
    again = run_study(st, out, workers=2, progress=False, chunk_size=CHUNK)
    assert again.ran == 0 and again.already == st.points()
    pd.testing.assert_frame_equal(again.analysis.indices, res.analysis.indices)
    # a chunk lost (its runs part gone): only its runs run again
    lost = part_files(out, "runs")[3]
    chunk = len(pd.read_parquet(lost))
    lost.unlink()
    third = run_study(st, out, workers=2, progress=False, chunk_size=CHUNK)
    assert third.ran == chunk and third.already == st.points() - chunk
    assert load_table(out, "runs")["run_id"].is_unique
    pd.testing.assert_frame_equal(indices_of_f(third.analysis), df)  # pid differs: a new worker


@pytest.mark.filterwarnings(FORK_WARNING)
def test_engine_gives_ishigami_morris_statistics(tmp_path, baseline):
    """Morris on 4 levels, exact values on the grid (morris_grid_values): mu* 7.70, 7.875,
    6.25 for x1, x2, x3. All three are influential (none is screened out, although x3's
    first-order index is 0) and x3's mu* is the smallest; x1 acts monotonically (mu =
    mu*: every effect positive), x2 non-monotonically (mu ~ 0), x3 only through its
    interaction with x1 (mu ~ 0, sigma 8.84 > mu*)."""
    st = ishigami_study(baseline, "morris", MORRIS_N)
    out = tmp_path / "morris"
    res = run_study(st, out, workers=2, progress=False, chunk_size=CHUNK)
    assert res.ran == st.points() == MORRIS_N * 4
    check_engine_path(res, out)
    df = indices_of_f(res.analysis)
    exact = pd.DataFrame(morris_grid_values(4)).T
    assert np.abs(df["mu_star"] - exact["mu_star"]).max() <= MORRIS_TOL, df
    assert np.abs(df["sigma"] - exact["sigma"]).max() <= MORRIS_TOL, df
    assert df["mu_star"].idxmin() == "x3"
    assert df["mu_star"].min() > 0.6 * df["mu_star"].max()
    assert df.loc["x1", "mu"] == pytest.approx(df.loc["x1", "mu_star"])
    assert df.loc["x2", "mu_star"] == pytest.approx(exact.loc["x2", "mu_star"], abs=1e-5)
    assert abs(df.loc["x2", "mu"]) < 0.25 * df.loc["x2", "mu_star"]
    assert abs(df.loc["x3", "mu"]) < 0.25 * df.loc["x3", "mu_star"]
    assert df.loc["x3", "sigma"] > df.loc["x3", "mu_star"]
    assert (df["mu_star_conf"] >= 0).all()


def missing_outcome(base: Scenario, spec) -> dict[str, float]:
    return {"f": 1.0}  # no "pid"


def test_a_model_function_that_misses_an_outcome_fails_its_runs(tmp_path, baseline):
    st = replace(ishigami_study(baseline, "sobol", 2), simulate=missing_outcome)
    with pytest.raises(Stopped, match="10 of 10 runs failed .*KeyError.*no 'pid'"):
        run_study(st, tmp_path / "out", workers=1, progress=False)


def test_a_constant_outcome_has_zero_indices():
    an = analyse(ISHIGAMI, lambda x: np.ones((len(x), 1)), ["c"], "sobol", samples=64, seed=1)
    assert (an.indices[["S1", "ST"]] == 0).all().all()


# ----------------------------------------------------------------------------- the file
def study_file(tmp_path: Path, body: str, head: str = "") -> Path:
    f = tmp_path / "study.toml"
    f.write_text(
        f"""
[sensitivity]
name = "tiny"
scenario = "{SCENARIOS / "baseline.toml"}"
samples = 2
seed = 3
resamples = 20
outcomes = ["conversions.CommunityFirst", "no_decision_share"]
{head}
[sensitivity.set]
"buyers.count" = 500
weeks = 30
{body}
""",
        encoding="utf-8",
    )
    return f


PARAMS = """
[parameters]
"choice.status_quo" = [1.2, 2.2]
"buyers.consultations_per_week" = [1, 4]
"""


def test_the_shipped_file_loads():
    st = load_study(SCENARIOS / "sensitivity_baseline.toml")
    assert st.method == "sobol" and len(st.parameters) == 5 and len(st.outcomes) == 3
    assert st.points() == 64 * 7
    assert load_study(SCENARIOS / "sensitivity_baseline.toml", "morris", 10).points() == 60


def test_an_integer_field_gets_whole_numbers(tmp_path):
    st = load_study(study_file(tmp_path, PARAMS))
    assert [p.integer for p in st.parameters] == [False, True]
    _, specs = study_runs(st, np.array([[1.5, 2.4], [2.0, 3.6]]), tmp_path)
    assert specs[0].changes == {"choice.status_quo": 1.5, "buyers.consultations_per_week": 2}
    assert specs[1].changes["buyers.consultations_per_week"] == 4
    assert len({r.run_id for r in specs}) == 2


@pytest.mark.parametrize(
    ("head", "body", "field", "fragment"),
    [
        (
            "",
            '[parameters]\n"choice.status_quo" = [2.0, 1.0]',
            "parameters.choice.status_quo",
            "low must be below high",
        ),
        (
            "",
            '[parameters]\n"choice.status_quo" = "wide"',
            "parameters.choice.status_quo",
            "[low, high]",
        ),
        (
            "",
            '[parameters]\n"choice.nope" = [0.0, 1.0]',
            "parameters.choice.nope",
            "not a number of the scenario",
        ),
        ("", '[parameters]\n"buyers.count" = [100, 300]', "parameters.buyers.count", "also fixed"),
        ("", "", "parameters", "at least one parameter"),
        ('method = "fast"', PARAMS, "sensitivity.method", '"sobol" or "morris"'),
        ("levels = 3", PARAMS, "sensitivity.levels", "even"),
        ("colour = 1", PARAMS, "sensitivity.colour", "unknown key"),
    ],
)
def test_bad_files_are_one_line(tmp_path, head, body, field, fragment):
    f = study_file(tmp_path, body, head)
    with pytest.raises(ScenarioError) as err:
        load_study(f)
    assert_one_line_error(err.value, f, field, fragment)


def test_bad_outcomes_and_samples(tmp_path):
    f = study_file(tmp_path, PARAMS)
    text = f.read_text().replace('"no_decision_share"', '"conversions.Nobody"')
    f.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_study(f)
    assert_one_line_error(err.value, f, "sensitivity.outcomes", "no vendor 'Nobody'")
    f.write_text(text.replace("conversions.Nobody", "happiness"))
    with pytest.raises(ScenarioError) as err:
        load_study(f)
    assert_one_line_error(err.value, f, "sensitivity.outcomes", "unknown outcome 'happiness'")
    f.write_text(
        text.replace("samples = 2", "samples = 12").replace("conversions.Nobody", "purchases")
    )
    with pytest.raises(ScenarioError) as err:
        load_study(f)
    assert_one_line_error(err.value, f, "sensitivity.samples", "use 8 or 16")


def test_wide_outcomes():
    runs = pd.DataFrame({"run_id": ["a", "b"], "decided": [10, 0], "no_decisions": [4, 0]})
    vendors = pd.DataFrame(
        {"run_id": ["a", "a", "b", "b"], "vendor": ["X", "Y"] * 2, "conversions": [1, 2, 3, 4]}
    )
    w = wide_outcomes(runs, vendors)
    assert w.loc["a", "no_decision_share"] == pytest.approx(0.4)
    assert math.isnan(w.loc["b", "no_decision_share"])
    assert w.loc["b", "conversions.Y"] == 4


# ----------------------------------------------------------------------------- the engine
def test_engine_study_matches_the_model_and_resumes(tmp_path):
    from analysis.engine.design import replication_seed
    from sim.model import BuyerJourneyModel
    from sim.tables import funnel, vendors_table

    st = load_study(study_file(tmp_path, PARAMS))
    out = tmp_path / "out"
    res = run_study(st, out, workers=1, progress=False)
    assert res.ran == st.points() == 8 and res.already == 0
    an = res.analysis
    assert an.y.shape == (8, 2) and np.isfinite(an.y).all()
    # point 0 run directly with the study's seed gives the same outcomes
    x0 = {p.path: p.value(v) for p, v in zip(st.parameters, an.x[0], strict=True)}
    model = BuyerJourneyModel(st.scenario.with_changes(x0), seed=replication_seed(st.seed, 0))
    model.run()
    conv = vendors_table(model).set_index("vendor").loc["CommunityFirst", "conversions"]
    f = funnel(model)
    assert an.y[0, 0] == conv
    assert an.y[0, 1] == pytest.approx(f["no_decisions"] / f["decided"])
    written = write_outputs(res, out)
    assert {p.name for p in written} == {
        "indices.csv",
        "points.csv",
        "sensitivity.json",
        "sensitivity.html",
    }
    assert "<img" in (out / "sensitivity.html").read_text()
    section = sensitivity_section(out)
    assert section.startswith('<section id="sensitivity">') and "no_decision_share" in section
    assert sensitivity_section(tmp_path) == ""
    again = run_study(st, out, workers=1, progress=False)
    assert again.ran == 0 and again.already == 8
    assert np.array_equal(again.analysis.y, an.y)


def test_a_file_of_another_kind_is_named(tmp_path):
    f = builders.write(tmp_path, builders.grid_sweep("other"), "sweep.toml")
    with pytest.raises(WrongKind) as err:
        load_study(f)
    assert "this is a sweep file; not a sensitivity file" in str(err.value)


def test_the_report_section(tmp_path):
    """The batch report's section of a study folder: the page's body under a heading."""
    assert (SECTION.kind, SECTION.marker, SECTION.order) == ("sensitivity", "sensitivity.json", 1)
    assert SECTION.render(tmp_path, None) == ""
