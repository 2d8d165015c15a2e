"""`run.py optimize` as a user meets it: the known-answer scenario (only search has any
effect) puts >= 90% of the budget into search, a rerun asks and runs nothing, bad input
(a file of another kind too) is one line with exit code 2, and a full disk while the
answer is written is one line that leaves nothing half-written."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests import builders

from ..conftest import SCENARIOS
from .cli import cli
from .faults import (
    assert_nothing_half_written,
    assert_one_line_error,
    cli_with_file_limit,
    snapshot_bytes,
)

FILE = str(SCENARIOS / "optimize_one_channel.toml")


@pytest.fixture(scope="module")
def optimised(tmp_path_factory):
    out = tmp_path_factory.mktemp("opt") / "one"
    res = cli("optimize", FILE, "--out", str(out), "--workers", "2", "--quiet")
    assert res.returncode == 0, res.stderr
    return res, out


def test_only_the_channel_with_an_effect_gets_the_budget(optimised):
    res, out = optimised
    summary = json.loads((out / "optimize.json").read_text())
    assert summary["recommended"].get("search", 0.0) >= 0.9
    mix = pd.read_csv(out / "optimize.csv").set_index("channel")
    assert mix.loc["search", "recommended share"] >= 0.9
    assert "search" in res.stdout and "expected uplift" in res.stdout
    comp = pd.read_csv(out / "optimize_comparison.csv")
    assert {"recommended", "equal split"} <= set(comp.variant)
    assert (comp.ci_low <= comp["diff"]).all() and (comp["diff"] <= comp.ci_high).all()
    eq = comp[(comp.variant == "recommended") & (comp.reference == "equal split")].iloc[0]
    assert eq.ci_low > 0 and eq.plain.startswith("recommended wins")
    curves = pd.read_csv(out / "optimize_curves.csv")
    assert set(curves.channel) == {"industry_media", "search", "microblogs", "sales_reps"}
    page = (out / "optimize.html").read_text()
    assert "Response curves" in page and "data:image/png;base64," in page


def test_a_rerun_asks_nothing_and_runs_nothing(optimised):
    _res, out = optimised
    parts = sorted((out / "runs" / "table=runs").glob("part-*.parquet"))
    again = cli("optimize", FILE, "--out", str(out), "--workers", "2", "--quiet")
    assert again.returncode == 0, again.stderr
    assert "asked 0 new trials, ran 0 runs" in again.stdout
    assert sorted((out / "runs" / "table=runs").glob("part-*.parquet")) == parts


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("optimize", "/nonexistent.toml", "--out", "/tmp/x"), "nonexistent"),
        (("optimize", FILE, "--out", "/tmp/x", "--trials", "0"), "--trials must be"),
        (
            ("optimize", str(SCENARIOS / "baseline.toml"), "--out", "/tmp/x"),
            "this is a scenario file; optimize takes an optimisation file",
        ),
        (
            ("optimize", str(SCENARIOS / "sweep_channel_mix.toml"), "--out", "/tmp/x"),
            "this is a sweep file; optimize takes an optimisation file",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2(args, message):
    res = cli(*args)
    assert res.returncode == 2, res.stderr
    assert res.stderr.startswith("error: ") and message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_a_full_disk_while_the_answer_is_written_is_one_line_and_nothing_half_written(tmp_path):
    f = builders.write(tmp_path, builders.optimize_study("full"), "opt.toml")
    out = tmp_path / "opt"
    args = ("optimize", str(f), "--out", str(out), "--workers", "2", "--quiet")
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    before = snapshot_bytes(out)
    limit = (out / "optimize.html").stat().st_size // 2  # the page no longer fits
    assert limit > max(len(b) for name, b in before.items() if name != "optimize.html")
    assert_one_line_error(cli_with_file_limit(limit, *args), "cannot write", "optimize.html")
    assert_nothing_half_written(out, before)
