"""Sensitivity indices: the SALib path (sample -> evaluate -> analyze) reproduces the
Ishigami function's analytic indices, the sensitivity file is validated line by line, and
the engine path runs a tiny model study, resumable, whose outcomes are those of the model
run directly with the same seed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.sensitivity import (
    analyse,
    load_study,
    run_study,
    sensitivity_section,
    study_experiment,
    wide_outcomes,
    write_outputs,
)
from sim.scenario import ScenarioError

from ..conftest import SCENARIOS, assert_one_line_error

ISHIGAMI = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-math.pi, math.pi]] * 3}
A, B = 7.0, 0.1


def ishigami(x: np.ndarray) -> np.ndarray:
    """sin x1 + a sin^2 x2 + b x3^4 sin x1 (a = 7, b = 0.1), one outcome column."""
    y = np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])
    return y[:, None]


def ishigami_indices() -> tuple[list[float], list[float]]:
    """The analytic first-order and total indices (Ishigami and Homma 1990)."""
    v1 = 0.5 * (1 + B * math.pi**4 / 5) ** 2
    v2 = A**2 / 8
    v13 = B**2 * math.pi**8 / 18 - B**2 * math.pi**8 / 50
    var = v1 + v2 + v13
    return [v1 / var, v2 / var, 0.0], [(v1 + v13) / var, v2 / var, v13 / var]


def test_ishigami_analytic_values():
    s1, st = ishigami_indices()
    assert np.allclose(s1, [0.314, 0.442, 0.0], atol=1e-3)
    assert np.allclose(st, [0.558, 0.442, 0.244], atol=1e-3)


def test_sobol_recovers_ishigami_indices():
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


def test_morris_ranks_ishigami_parameters():
    an = analyse(ISHIGAMI, ishigami, ["f"], "morris", samples=100, seed=7, levels=4, resamples=200)
    df = an.indices.set_index("parameter")
    assert len(an.x) == 100 * (3 + 1)
    # x3 acts only through its interaction with x1: the smallest mu*, mu small
    # against mu*, a large sigma
    assert df.loc["x3", "mu_star"] < df.loc["x1", "mu_star"]
    assert df.loc["x3", "mu_star"] < df.loc["x2", "mu_star"]
    assert abs(df.loc["x3", "mu"]) < 0.5 * df.loc["x3", "mu_star"]
    assert df.loc["x3", "sigma"] > df.loc["x3", "mu_star"]
    assert (df["mu_star_conf"] >= 0).all()


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
    exp = study_experiment(st, np.array([[1.5, 2.4], [2.0, 3.6]]))
    assert exp.runs[0].changes == {"choice.status_quo": 1.5, "buyers.consultations_per_week": 2}
    assert exp.runs[1].changes["buyers.consultations_per_week"] == 4
    assert len({r.run_id for r in exp.runs}) == 2


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
    from analysis.design import replication_seed
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
