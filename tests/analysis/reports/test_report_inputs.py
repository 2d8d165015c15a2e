"""Input errors of the batch report (issue 17, item 6), each one line: a sweep whose runs
are not all stored says how many are missing and which command runs the rest; a
--width that is no positive number and a --truth that cannot be used are refused, not
ignored."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from analysis.reports.sweep.build import build_report, check_request
from analysis.reports.sweep.data import load
from sim.scenario import ScenarioError
from tests.analysis.reports.fake_sweep import make_sweep


def _edit_info(root: Path, **changes) -> None:
    info_file = root / "sweep=demo" / "sweep.json"
    info = json.loads(info_file.read_text())
    info.update(changes)
    info_file.write_text(json.dumps(info))


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """2 variants x 6 replications, all stored (one failed)."""
    return make_sweep(tmp_path_factory.mktemp("inputs"))


# ------------------------------------------------------------------ an incomplete sweep
def test_an_incomplete_sweep_says_how_many_runs_are_missing_and_how_to_resume(tmp_path):
    root = make_sweep(tmp_path)
    _edit_info(root, runs=14, source="sweeps/demo.toml", weekly=True)  # 2 never stored
    with pytest.raises(ScenarioError) as err:
        load(root)
    msg = str(err.value)
    assert "incomplete sweep: 2 of 14 runs are missing" in msg and "\n" not in msg
    assert f"run `python run.py sweep sweeps/demo.toml --out {root} --weekly` again" in msg
    assert not (tmp_path / "r.html").exists()


def test_a_failed_run_is_stored_not_missing(tmp_path):
    root = make_sweep(tmp_path)  # one of its 12 runs failed
    _edit_info(root, runs=12)
    assert load(root).failed == 1


def test_runs_of_an_earlier_design_do_not_fill_the_gaps(tmp_path):
    """Replication 0 of the folder ran with another seed than the design now names."""
    root = make_sweep(tmp_path)
    info = json.loads((root / "sweep=demo" / "sweep.json").read_text())
    _edit_info(root, runs=12, seeds=[1, *info["seeds"][1:]])
    with pytest.raises(ScenarioError, match="2 of 12 runs are missing"):
        load(root)


def test_a_sweep_json_that_does_not_count_its_runs_is_taken_as_it_is(sweep):
    assert "runs" not in json.loads((sweep / "sweep=demo" / "sweep.json").read_text())
    assert len(load(sweep).runs_all) == 12


# ------------------------------------------------------------------ --width
@pytest.mark.parametrize("width", [math.nan, 0.0, -1.0, math.inf])
def test_a_width_that_is_no_positive_number_is_refused(sweep, tmp_path, width):
    with pytest.raises(ScenarioError) as err:
        build_report(sweep, tmp_path / "r.html", width=width)
    assert err.value.field == "--width" and "positive number" in str(err.value)
    assert not (tmp_path / "r.html").exists()


def test_a_positive_width_sets_the_replications_line(sweep, tmp_path):
    page = build_report(sweep, tmp_path / "r.html", width=1.0).html_path.read_text()
    assert "would bring it to ±1 " in page


# ------------------------------------------------------------------ --truth
TRUTH = "oracle,week,channel,true_return,low,high\noracle,8,search,2e-5,1e-5,3e-5\n"


def test_a_missing_truth_file_is_refused(sweep, tmp_path):
    with pytest.raises(ScenarioError, match="no such file") as err:
        check_request(load(sweep), truth=tmp_path / "missing.csv")
    assert err.value.field == "--truth"


def test_a_truth_file_without_the_truth_columns_is_refused(sweep, tmp_path):
    f = tmp_path / "other.csv"
    f.write_text("week,channel,share\n8,search,0.2\n")
    with pytest.raises(ScenarioError, match="lacks column.*true_return"):
        check_request(load(sweep), truth=f)


def test_a_truth_for_a_sweep_that_is_no_policy_sweep_is_refused(sweep, tmp_path):
    f = tmp_path / "dataloop_truth.csv"
    f.write_text(TRUTH)
    with pytest.raises(ScenarioError, match="not a policy sweep") as err:
        build_report(sweep, tmp_path / "r.html", truth=f)
    assert err.value.field == "--truth" and "\n" not in str(err.value)
    assert not (tmp_path / "r.html").exists()
