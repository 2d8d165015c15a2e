"""The DATA loop in the live view: a study file opened as the scenario it runs, a
data-loop vendor's mix and adjustments, its believed returns next to a truth file's."""

from __future__ import annotations

import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from analysis.live.loop import (
    LoopSetup,
    adjustment_weeks,
    load_truth,
    load_view_scenario,
    mix_over_weeks,
    model_truth,
    planned_adjustments,
    returns_table,
    truth_path,
)
from analysis.live.state import VizModel
from analysis.studies.dataloop.truth import TRUTH_FILE
from sim.channels import CHANNEL_NAMES
from sim.scenario import ScenarioError
from tests import builders

from .driver import BUYERS
from .scenarios import study_file


def beliefs_frame(rows) -> pd.DataFrame:
    cols = ["vendor", "week", "channel", "believed_return", "share_before", "share_after"]
    return pd.DataFrame(rows, columns=cols)


def test_mix_over_weeks_is_each_weeks_share_of_the_vendors_channel_spend():
    c = len(CHANNEL_NAMES)
    week0 = np.zeros((2, c))
    week0[1, :2] = (300.0, 100.0)
    week1 = np.zeros((2, c))
    week1[1, :2] = (100.0, 300.0)
    week1[0, 3] = 50.0
    mix = mix_over_weeks([week0, week1, np.zeros((2, c))], 1)
    assert mix.shape == (3, c)
    np.testing.assert_allclose(mix[0, :2], (0.75, 0.25))
    np.testing.assert_allclose(mix[1, :2], (0.25, 0.75))
    assert mix[2].sum() == 0  # no spend: no shares, no division by zero
    assert mix_over_weeks([], 0).shape == (0, c)


def test_adjustment_weeks_done_and_planned():
    b = beliefs_frame(
        [
            ("A", 13, "search", 1e-5, 0.5, 0.4),
            ("A", 13, "microblogs", 2e-5, 0.5, 0.6),
            ("A", 26, "search", 1e-5, 0.4, 0.3),
            ("B", 52, "search", 1e-5, 1.0, 1.0),
        ]
    )
    assert adjustment_weeks(b, "A") == [13, 26]
    assert adjustment_weeks(b, "C") == []
    assert adjustment_weeks(beliefs_frame([]), "A") == []
    assert planned_adjustments(26, 13, 104) == [26, 39, 52, 65, 78, 91]
    assert planned_adjustments(200, 13, 104) == []


def test_returns_table_puts_the_latest_beliefs_next_to_the_matching_truth():
    b = beliefs_frame(
        [
            ("A", 26, "search", 1e-5, 0.5, 0.4),
            ("A", 26, "microblogs", 4e-5, 0.5, 0.6),
            ("A", 39, "search", 2e-5, 0.4, 0.3),
            ("A", 39, "microblogs", np.nan, 0.6, 0.7),
            ("B", 39, "search", 9e-5, 1.0, 1.0),
        ]
    )
    truth = pd.DataFrame(
        {
            "week": [26, 26, 39, 39, 52, 26],
            "channel": ["search", "microblogs", "search", "microblogs", "search", "search"],
            "true_return": [3e-5, 1e-5, 3.5e-5, 0.5e-5, 9.9, 7.7],
            "low": [2e-5, 0.0, 3e-5, 0.0, 9.0, 7.0],
            "high": [4e-5, 2e-5, 4e-5, 1e-5, 10.0, 8.0],
            "oracle": ["oracle@13"] * 5 + ["oracle@52"],
        }
    )
    t = returns_table(b, "A", truth, cadence=13).set_index("channel")
    assert list(t.index) == ["search", "microblogs"] and set(t["week"]) == {39}
    assert t.loc["search", "believed_return"] == 2e-5
    assert np.isnan(t.loc["microblogs", "believed_return"])  # no spend: no belief
    # the oracle of the same cadence, at its latest week at or before the adjustment
    assert t.loc["search", "true_return"] == 3.5e-5 and t.loc["search", "truth_week"] == 39
    assert (t.loc["search", "true_low"], t.loc["search", "true_high"]) == (3e-5, 4e-5)
    assert set(t["oracle"]) == {"oracle@13"}
    assert returns_table(b, "A", truth, cadence=52).loc[0, "true_return"] == 7.7
    # no truth: believed only, the true columns empty (nothing is made up)
    alone = returns_table(b, "A")
    assert alone["true_return"].isna().all() and alone["truth_week"].isna().all()
    # a truth that starts after the adjustment: no truth for it
    late = truth.assign(week=truth["week"] + 100)
    assert returns_table(b, "A", late, 13)["true_return"].isna().all()
    assert len(returns_table(b, "C", truth)) == 0


def truth_frame(true_return: float = 3e-5) -> pd.DataFrame:
    """A truth table as `run.py dataloop` writes it (one row)."""
    return pd.DataFrame(
        {
            "week": [26],
            "channel": ["search"],
            "share": [0.25],
            "true_return": [true_return],
            "low": [2e-5],
            "high": [4e-5],
            "oracle": ["oracle@13"],
        }
    )


def test_a_truth_file_is_read_by_the_studys_reader_and_a_bad_one_is_its_one_line(tmp_path):
    good = tmp_path / TRUTH_FILE
    truth_frame().to_csv(good, index=False)
    t = load_truth(good)
    assert t.problem == "" and t.table.loc[0, "true_return"] == 3e-5
    bad = tmp_path / "bad.csv"
    bad.write_text("week,channel\n26,search\n")
    t = load_truth(bad)
    assert t.table is None and "true_return" in t.problem
    assert t.problem.startswith(f"{bad}: ") and "\n" not in t.problem  # TruthError's line
    t = load_truth(tmp_path / "missing.csv")
    assert t.table is None and t.problem == f"{tmp_path / 'missing.csv'}: no such file"


def test_a_models_truth_file_is_typed_in_or_found_next_to_its_scenario_and_read_once(tmp_path):
    good = tmp_path / TRUTH_FILE
    truth_frame().to_csv(good, index=False)
    scenario = str(tmp_path / "s.toml")
    assert truth_path(scenario, "") == str(good)
    assert truth_path(scenario, " other.csv ") == "other.csv"
    assert truth_path(str(tmp_path / "sub" / "s.toml"), None) is None
    model = SimpleNamespace(scenario_file=scenario, truths={})  # what model_truth reads
    first = model_truth(model, "")
    assert first.path == str(good) and first.table is not None
    assert model_truth(model, None) is first  # read once per file version
    truth_frame(true_return=5e-5).to_csv(good, index=False)
    os.utime(good, ns=(0, 0))  # another version, whatever the clock's resolution
    again = model_truth(model, "")
    assert again is not first and again.table.loc[0, "true_return"] == 5e-5
    missing = model_truth(model, str(tmp_path / "no.csv"))
    assert missing.table is None and missing.problem.endswith("no.csv: no such file")
    assert model_truth(SimpleNamespace(scenario_file=str(tmp_path / "x" / "s.toml")), "") is None


def test_a_study_file_runs_its_base_scenario_with_a_chosen_policy_variant(tmp_path):
    path = study_file(tmp_path)
    scenario, (labels, chosen) = load_view_scenario(path)
    assert labels == (
        "static",
        "codes@13",
        "codes@52",
        "survey@13",
        "survey@52",
        "reverse@13",
        "reverse@52",
    )  # the oracle's are left out: their plan comes from run.py dataloop
    focal = next(v for v in scenario.vendors if v.name == "Focal")
    assert chosen == "codes@13"  # the first data-loop one
    assert focal.policy == "data_loop" and focal.loop.tracking.method == "forward"
    scenario, (_, chosen) = load_view_scenario(path, "survey@52")
    focal = next(v for v in scenario.vendors if v.name == "Focal")
    assert chosen == "survey@52" and focal.loop.cadence_weeks == 52
    assert focal.loop.tracking.method == "point_of_sale"
    scenario, (_, chosen) = load_view_scenario(path, "static")
    assert next(v for v in scenario.vendors if v.name == "Focal").policy == "static"
    scenario, (_, chosen) = load_view_scenario(path, "no such variant")
    assert chosen == "codes@13"
    m = VizModel(path, BUYERS, loop=LoopSetup("reverse@13"))
    assert m.study_variant == "reverse@13" and list(m.loops) == [m.vendor_names.index("Focal")]


def test_a_study_file_the_view_cannot_run_is_one_line(tmp_path):
    """Only oracle variants: nothing the view can run (one line, no traceback); a bad
    study file is the study reader's one line."""
    text = builders.dataloop_study().replace(
        'strategies = ["static", "oracle"]', 'strategies = ["oracle"]'
    )
    only_oracle = builders.write(tmp_path, text, "oracle.toml")
    with pytest.raises(ScenarioError, match="no static or data_loop variant") as err:
        load_view_scenario(only_oracle)
    assert "\n" not in str(err.value)
    broken = builders.write(
        tmp_path, builders.dataloop_policies_study().replace("[axes]", "[axis]")
    )
    with pytest.raises(ScenarioError) as err:
        load_view_scenario(broken)
    assert str(err.value).startswith(str(broken)) and "\n" not in str(err.value)
