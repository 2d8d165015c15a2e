"""The batch report's policy section (issue 11, item 5): a tiny policy sweep (the
strategies of scenarios/data_loop.toml on a small market) yields `mix` and `beliefs`
tables and a report with the mix figure and the believed-returns table; a plain sweep
yields neither table and no such section."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from analysis.engine.design import RunSpec, load_sweep_file
from analysis.engine.outcomes import is_policy_run
from analysis.engine.parts import inspect_parts
from analysis.reports.sweep.build import build_report
from analysis.reports.sweep.data import load
from analysis.studies.sweep.study import run_sweep
from sim.scenario import ScenarioError
from tests.conftest import SCENARIOS

SECTION = "Policies: how adaptive vendors moved their mix"


def tiny_policy_file(root: Path) -> Path:
    """scenarios/data_loop.toml on 300 buyers over 40 weeks, 2 replications, adjusting
    every 8 weeks from week 8. The cadence sits in each strategy's data_loop table: a
    grid axis on `vendors.Focal.data_loop.cadence_weeks` next to a strategy that sets the
    whole data_loop table does not apply in a plain sweep (sim.scenario._set_dotted)."""
    text = (SCENARIOS / "data_loop.toml").read_text(encoding="utf-8")
    swaps = {
        'scenario = "baseline.toml"': f'scenario = "{SCENARIOS / "baseline.toml"}"',
        "replications = 10": "replications = 2",
        '"buyers.count" = 4000': '"buyers.count" = 300',
        "weeks = 104": "weeks = 40",
        "baseline_weeks = 26": "baseline_weeks = 8, cadence_weeks = 8",
        "window_weeks = 26": "window_weeks = 8",
    }
    for old, new in swaps.items():
        assert old in text, old
        text = text.replace(old, new)
    text = "\n".join(line for line in text.splitlines() if not line.startswith("cadence ="))
    f = root / "data_loop_tiny.toml"
    f.write_text(text, encoding="utf-8")
    return f


PLAIN = f"""
[sweep]
name = "plain"
scenario = "{SCENARIOS / "baseline.toml"}"
replications = 2
seed = 3

[sweep.set]
"buyers.count" = 300
weeks = 20

[axes]
"vendors.SearchHeavy.weekly_budget" = [5000.0, 60000.0]
"""


@pytest.fixture(scope="module")
def policy_sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("policy")
    sweep = load_sweep_file(tiny_policy_file(root))
    out = run_sweep(sweep, root / "res", workers=1, progress=False, chunk_size=2)
    assert out.failed == 0
    return root, root / "res" / "sweep=data_loop"


@pytest.fixture(scope="module")
def plain_sweep(tmp_path_factory):
    root = tmp_path_factory.mktemp("plain")
    (root / "plain.toml").write_text(PLAIN, encoding="utf-8")
    out = run_sweep(load_sweep_file(root / "plain.toml"), root / "res", workers=1, progress=False)
    assert out.failed == 0
    return root, root / "res" / "sweep=plain"


def section_of(page: str) -> str:
    start = page.index('<h2 id="policies">')
    end = page.find("<h2", start + 5)
    return page[start:end]


def test_policy_runs_are_told_from_plain_runs():
    def spec(changes):
        return RunSpec("r", "v", 0, 0, 1, {}, changes)

    assert is_policy_run(spec({"vendors.Focal.policy": "data_loop"}))
    assert is_policy_run(spec({"vendors.Focal.policy": "static", "vendors.Focal.x": 1}))
    assert is_policy_run(spec({"vendors.Focal.data_loop.cadence_weeks": 52}))
    assert not is_policy_run(spec({"vendors.Focal.weekly_budget": 5.0, "weeks": 10}))


def test_policy_sweep_writes_mix_and_beliefs(policy_sweep):
    _root, sdir = policy_sweep
    mix = pd.read_parquet(sdir / "table=mix")
    beliefs = pd.read_parquet(sdir / "table=beliefs")
    assert {"vendor", "quarter", "channel", "share", "spend", "policy"} <= set(mix.columns)
    assert set(mix["vendor"]) == {"Focal"}
    assert set(mix["variant"]) == {
        f"policy={s}" for s in ("static", "codes", "survey", "reverse", "perfect", "oracle")
    }
    sums = mix.groupby(["run_id", "quarter"])["share"].sum()
    assert sums.round(9).eq(1.0).all()
    static = mix[mix["variant"] == "policy=static"]
    assert static.groupby("channel")["share"].nunique().eq(1).all()  # a fixed plan
    codes = mix[(mix["variant"] == "policy=codes") & (mix["channel"] == "search")]
    assert codes["share"].max() > codes["share"].min()  # the codes loop moved its mix
    assert list(beliefs.columns[-6:]) == [
        "vendor",
        "week",
        "channel",
        "believed_return",
        "share_before",
        "share_after",
    ]
    assert set(beliefs["variant"]) == {
        f"policy={s}" for s in ("codes", "survey", "reverse", "perfect")
    }
    # chunks of static and oracle runs hold an empty beliefs part; the resume check
    # counts them sound and a rerun runs nothing
    damaged, dupes = inspect_parts(sdir)
    assert damaged == [] and dupes == []
    again = run_sweep(
        load_sweep_file(_root / "data_loop_tiny.toml"),
        _root / "res",
        workers=1,
        progress=False,
        chunk_size=2,
    )
    assert again.ran == 0


def test_policy_report_section(policy_sweep, tmp_path):
    _root, sdir = policy_sweep
    rep = build_report(sdir.parent, tmp_path / "r.html")
    page = rep.html_path.read_text(encoding="utf-8")
    assert SECTION in page
    sec = section_of(page)
    assert sec.count("<img") == 1 and "channel mix by quarter" in sec
    assert "<table>" in sec and "believed" in sec and ">first<" in sec and ">last<" in sec
    assert "run.py dataloop FILE" in sec  # true returns are not in a sweep
    assert {"policy_mix", "policy_beliefs"} <= set(rep.tables)
    pb = rep.tables["policy_beliefs"]
    assert set(pb["variant"]) == {f"policy={s}" for s in ("codes", "survey", "reverse", "perfect")}
    assert (pb["ci_low"] <= pb["believed"]).all() and (pb["believed"] <= pb["ci_high"]).all()
    assert (tmp_path / "r_tables" / "policy_mix.csv").is_file()
    # answers come first, the policy section after the figures
    assert page.index('id="answers"') < page.index('id="figures"') < page.index(SECTION)


def test_policy_report_shows_truth_next_to_beliefs(policy_sweep, tmp_path):
    _root, sdir = policy_sweep
    truth = tmp_path / "dataloop_truth.csv"
    truth.write_text(
        "oracle,week,channel,share,true_return,low,high,share_after\n"
        "oracle,8,search,0.25,2e-5,1e-5,3e-5,0.3\n",
        encoding="utf-8",
    )
    rep = build_report(sdir.parent, tmp_path / "r.html", truth=truth)
    pb = rep.tables["policy_beliefs"]
    search = pb[pb["channel"] == "search"]
    assert search["true"].round(6).eq(2.0).all()  # per 100,000 spent; later weeks take week 8
    assert pb.loc[pb["channel"] != "search", "true"].isna().all()
    sec = section_of(rep.html_path.read_text(encoding="utf-8"))
    assert "true_low" in sec and "run.py dataloop" in sec
    with pytest.raises(Exception, match="no such file"):
        build_report(sdir.parent, tmp_path / "x.html", truth=tmp_path / "missing.csv")
    # the same from the command line: run.py report DIR --truth FILE
    import run

    out = tmp_path / "cli.html"
    args = ["report", str(sdir.parent), "--out", str(out), "--truth", str(truth), "--quiet"]
    assert run.main(args) == 0
    assert "true_low" in section_of(out.read_text(encoding="utf-8"))


def test_policy_section_follows_vendor_filter(policy_sweep, tmp_path):
    _root, sdir = policy_sweep
    rep = build_report(sdir.parent, tmp_path / "f.html", vendor="Focal")
    assert SECTION in rep.html_path.read_text(encoding="utf-8")
    d = load(sdir.parent)
    other = next(v for v in d.vendors["vendor"].unique() if v != "Focal")
    rep = build_report(sdir.parent, tmp_path / "o.html", vendor=other, data=d)
    assert SECTION not in rep.html_path.read_text(encoding="utf-8")
    assert "policy_mix" not in rep.tables


def test_truth_for_a_vendor_without_a_policy_is_refused(policy_sweep, tmp_path):
    _root, sdir = policy_sweep
    truth = tmp_path / "dataloop_truth.csv"
    truth.write_text("oracle,week,channel,true_return\noracle,8,search,2e-5\n")
    d = load(sdir.parent)
    other = next(v for v in d.vendors["vendor"].unique() if v != "Focal")
    with pytest.raises(ScenarioError, match=f"vendor {other} has no adaptive policy") as err:
        build_report(sdir.parent, tmp_path / "o.html", vendor=other, data=d, truth=truth)
    assert err.value.field == "--truth" and "Focal" in str(err.value)


def test_plain_sweep_has_no_policy_tables_or_section(plain_sweep, tmp_path):
    _root, sdir = plain_sweep
    tables = {p.name for p in sdir.glob("table=*")}
    assert tables == {"table=runs", "table=vendors", "table=source_use"}
    rep = build_report(sdir.parent, tmp_path / "p.html")
    page = rep.html_path.read_text(encoding="utf-8")
    assert SECTION not in page and not re.search(r"policy_(mix|beliefs)", page)
