"""`run.py check` as a user runs it: the JSON list and its keys, the table with a row per
target, exit code 0 when every measurable target passes and 1 when one fails, and one
line with exit code 2 for a missing targets file or a file of the wrong kind.

Small: the baseline shrunk to 300 buyers over 26 weeks, 2 replications, one process.
"""

from __future__ import annotations

import json
from pathlib import Path

from analysis.studies.calibrate.targets import load_targets
from tests.builders import SCENARIOS, check_targets, write

from .cli import cli
from .faults import assert_one_line_error

TINY = ("scenarios/baseline.toml", "--buyers", "300", "--weeks", "26", "--reps", "2",
        "--workers", "1")  # fmt: skip
KEYS = {"name", "measure", "simulated", "ci_low", "ci_high", "goal", "passed"}


def test_json_lists_every_target_and_a_failing_one_exits_1(tmp_path: Path) -> None:
    targets = write(tmp_path, check_targets(), "targets.toml")
    r = cli("check", *TINY, "--targets", str(targets), "--json")
    assert r.returncode == 1, r.stderr
    assert r.stderr == ""  # no progress bar with --json
    rows = json.loads(r.stdout)
    assert [x["name"] for x in rows] == ["wide", "impossible", "huge_groups"]
    assert all(KEYS <= set(x) for x in rows)
    assert [x["passed"] for x in rows] == [True, False, None]
    assert rows[2]["simulated"] is None and rows[1]["goal"] == {"value": 2.0, "tolerance": 0.01}


def test_the_table_has_a_row_per_target_and_passing_exits_0(tmp_path: Path) -> None:
    targets = write(tmp_path, check_targets(impossible=False), "targets.toml")
    r = cli("check", *TINY, "--targets", str(targets), "--quiet")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    for name in ("wide", "easy", "huge_groups"):
        assert len([x for x in lines if x.startswith(name + " ")]) == 1
    (huge,) = [x for x in lines if x.startswith("huge_groups ")]
    assert "not measurable in this scenario" in huge
    assert "2 of 2 measurable targets pass; 1 not measurable" in r.stdout


def test_the_shipped_targets_are_the_default() -> None:
    r = cli("check", *TINY, "--json")
    assert r.returncode in (0, 1), r.stderr
    shipped = load_targets(SCENARIOS / "targets.toml").names()
    assert tuple(x["name"] for x in json.loads(r.stdout)) == shipped


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    assert_one_line_error(
        cli("check", *TINY, "--targets", str(missing)), str(missing), "file not found"
    )
    assert_one_line_error(
        cli("check", "scenarios/sweep_channel_mix.toml"),
        "scenarios/sweep_channel_mix.toml",
        "this is a sweep file; check takes a scenario file",
    )
    assert_one_line_error(cli("check", *TINY, "--reps", "1"), "--reps must be 2-10000")
