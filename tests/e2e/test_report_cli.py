"""`run.py report` and `run.py attribution` as a user meets them: a small real sweep, a
report whose numbers match DuckDB computed independently from the Parquet files, a page
that needs no network, progress on stderr, one-line input errors with exit code 2 (an
incomplete sweep, a bad --width or --truth among them), and a full disk while the page
is written: one line, nothing half-written."""

from __future__ import annotations

import re
import shutil

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from tests import builders

from ..conftest import SCENARIOS
from .cli import cli
from .faults import (
    assert_nothing_half_written,
    assert_one_line_error,
    cli_with_file_limit,
    snapshot_bytes,
)

SWEEP = f"""
[sweep]
name = "report_e2e"
description = "Does a bigger search budget win SearchHeavy more buyers?"
scenario = "{SCENARIOS / "baseline.toml"}"
replications = 5
seed = 5
weekly = true

[sweep.set]
"buyers.count" = 300
weeks = 20

[axes]
"vendors.SearchHeavy.weekly_budget" = [5000.0, 60000.0]
"""
ATTRIBUTION = (
    "attribution",
    str(SCENARIOS / "attribution_null_channel.toml"),
    "--vendor",
    "Focal",
    "--reps",
    "2",
    "--buyers",
    "400",
    "--weeks",
    "26",
)
EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""", re.I
)


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("e2e")
    (d / "sweep.toml").write_text(SWEEP)
    res = cli("sweep", str(d / "sweep.toml"), "--out", str(d / "res"), "--workers", "1", "--quiet")
    assert res.returncode == 0, res.stderr
    return d


@pytest.fixture(scope="module")
def reported(sweep_dir):
    att = cli(
        *ATTRIBUTION,
        "--out",
        str(sweep_dir / "lab" / "attribution.html"),
        "--save",
        str(sweep_dir / "res"),
    )
    assert att.returncode == 0, att.stderr
    out = sweep_dir / "report.html"
    res = cli("report", str(sweep_dir / "res"), "--out", str(out))
    assert res.returncode == 0, res.stderr
    return res, att, out.read_text(encoding="utf-8"), sweep_dir


def test_report_numbers_match_duckdb(reported):
    res, _att, page, d = reported
    files = str(d / "res" / "**" / "table=vendors" / "*.parquet")
    runs = str(d / "res" / "**" / "table=runs" / "*.parquet")
    con = duckdb.connect()
    v = con.execute(
        f"SELECT v.variant, v.vendor, v.replication, v.conversions, v.roi FROM read_parquet('{files}', "
        f"hive_partitioning=true) v JOIN read_parquet('{runs}', hive_partitioning=true) r "
        "USING (run_id) WHERE r.status = 'ok'"
    ).df()
    assert len(v) == 2 * 5 * 4
    csv = pd.read_csv(d / "report_tables" / "vendor_summary.csv")
    for (variant, vendor), g in v.groupby(["variant", "vendor"]):
        x = g["conversions"].to_numpy(float)
        m = x.mean()
        h = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
        row = csv[(csv.variant == variant) & (csv.vendor == vendor) & (csv.metric == "conversions")]
        assert row["mean"].iloc[0] == pytest.approx(m)
        assert row["half_width"].iloc[0] == pytest.approx(h)
        assert f"{m:,.1f} ± {h:,.1f}" in page
    # paired differences of the second budget level against the first, per vendor
    comp = pd.read_csv(d / "report_tables" / "comparisons.csv")
    variants = sorted(v.variant.unique(), key=lambda s: float(s.split("=")[-1]))
    for vendor, g in v.groupby("vendor"):
        w = g.pivot(index="replication", columns="variant", values="conversions")
        diff = w[variants[1]] - w[variants[0]]
        row = comp[(comp.vendor == vendor) & (comp.metric == "conversions")].iloc[0]
        assert row["diff"] == pytest.approx(diff.mean())
        # identical results in every replication: no evidence of a difference, p = 1
        expected = (
            1.0 if (diff == 0).all() else stats.ttest_rel(w[variants[1]], w[variants[0]]).pvalue
        )
        assert row["p_value"] == pytest.approx(expected, nan_ok=True)


def test_report_page_is_offline_and_complete(reported):
    res, _att, page, d = reported
    assert not EXTERNAL.search(page)
    assert "https://" not in page and "http://" not in page
    for heading in (
        "Set-up",
        "Scorecard per variant and vendor",
        "Paired comparisons against",
        "Stage funnel",
        "Source use by stage vs the IDC ranking",
        "Win share over weeks",
        "Attribution lab: Focal",
    ):
        assert heading in page
    assert "report:" in res.stderr  # the progress bar
    assert "wrote" in res.stdout


def test_attribution_cli_prints_table_and_writes_page(reported):
    _res, att, _page, d = reported
    assert "microblogs" in att.stdout and "true lift" in att.stdout
    lab = pd.read_csv(d / "lab" / "attribution.csv").set_index("channel")
    assert lab.loc["microblogs", "true_lift"] == 0
    page = (d / "lab" / "attribution.html").read_text()
    assert not EXTERNAL.search(page) and "data:image/png;base64," in page


def test_attribution_cli_keeps_its_runs_and_a_rerun_runs_nothing(reported):
    _res, att, _page, d = reported
    runs = d / "lab" / "attribution_runs"
    parts = sorted((runs / "table=runs").glob("part-*.parquet"))
    assert parts and (runs / "table=credit").is_dir() and (runs / "lab.json").is_file()
    rows = pd.concat([pd.read_parquet(p) for p in parts])
    assert (rows["status"] == "ok").all() and rows["replication"].nunique() == 2
    # replication r has one seed, whatever the counterfactual (common random numbers)
    assert (rows.groupby("replication")["seed"].nunique() == 1).all()
    again = cli(*ATTRIBUTION, "--out", str(d / "lab" / "attribution.html"), "--quiet")
    assert again.returncode == 0, again.stderr
    assert again.stdout.split("\n\nwrote")[0] == att.stdout.split("\n\nwrote")[0]
    assert sorted((runs / "table=runs").glob("part-*.parquet")) == parts  # nothing new ran


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("report", "/nonexistent/results"), "no such folder"),
        (
            ("attribution", str(SCENARIOS / "attribution_null_channel.toml"), "--vendor", "Nobody"),
            "no vendor named",
        ),
        (
            ("attribution", str(SCENARIOS / "attribution_null_channel.toml"), "--reps", "0"),
            "--reps must be 1-10000",
        ),
    ],
)
def test_input_errors_are_one_line_exit_2(args, message):
    res = cli(*args)
    assert res.returncode == 2
    assert res.stderr.startswith("error: ") and message in res.stderr
    assert len(res.stderr.strip().splitlines()) == 1


def test_unknown_reference_is_an_input_error(sweep_dir):
    res = cli(
        "report", str(sweep_dir / "res"), "--reference", "nope", "--out", str(sweep_dir / "x.html")
    )
    assert res.returncode == 2 and "--reference" in res.stderr and "no variant" in res.stderr


def test_report_answers_first_and_vendor_filters(reported):
    _res, _att, page, d = reported
    assert page.index(">Answers<") < page.index(">Figures<") < page.index(">Scorecard")
    assert "probability of being best" in page and "replications would bring it to" in page
    out = d / "only.html"
    res = cli("report", str(d / "res"), "--out", str(out), "--vendor", "SearchHeavy", "--quiet")
    assert res.returncode == 0, res.stderr
    only = out.read_text()
    assert "CommunityFirst" not in only.split(">Set-up<")[0]
    ans = pd.read_csv(d / "only_tables" / "answers.csv")
    assert set(ans.vendor) == {"SearchHeavy"}


# --------------------------------------------------------------------------- item 6 errors
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A finished tiny grid sweep (4 variants x 2 replications, tests/builders)."""
    d = tmp_path_factory.mktemp("tiny")
    f = builders.write(d, builders.grid_sweep("tiny"), "tiny.toml")
    res = cli("sweep", str(f), "--out", str(d / "res"), "--workers", "1", "--quiet")
    assert res.returncode == 0, res.stderr
    return f, d / "res"


def test_an_incomplete_sweep_is_one_line_with_the_runs_missing_and_the_resume(tiny, tmp_path):
    f, done = tiny
    res = tmp_path / "res"
    shutil.copytree(done, res)
    sdir = res / "sweep=tiny"
    chunk = sorted((sdir / "table=runs").glob("part-*.parquet"))[0].name
    for table in ("runs", "vendors", "source_use"):  # a chunk that was never committed
        (sdir / f"table={table}" / chunk).unlink()
    page = tmp_path / "report.html"
    proc = cli("report", str(res), "--out", str(page), "--quiet")
    line = assert_one_line_error(proc, "incomplete sweep: 2 of 8 runs are missing")
    assert f"run `python run.py sweep {f} --out {res}` again" in line
    assert not page.exists()
    again = cli("sweep", str(f), "--out", str(res), "--workers", "1", "--quiet")
    assert again.returncode == 0 and "6 were already there" in again.stdout, again.stderr
    assert cli("report", str(res), "--out", str(page), "--quiet").returncode == 0
    assert page.is_file()


@pytest.mark.parametrize("width", ["nan", "0", "-2", "inf", "wide"])
def test_a_width_that_is_no_positive_number_is_one_line(tiny, tmp_path, width):
    _f, res = tiny
    out = tmp_path / "r.html"
    proc = cli("report", str(res), "--out", str(out), "--width", width, "--quiet")
    assert_one_line_error(proc, "--width must be a positive number")
    assert not out.exists()


def _truth_files(folder):
    no_columns = folder / "other.csv"
    no_columns.write_text("week,channel,share\n8,search,0.2\n")
    truth = folder / "dataloop_truth.csv"
    truth.write_text("oracle,week,channel,true_return\noracle,8,search,2e-5\n")
    return {
        "missing": (folder / "missing.csv", "no such file"),
        "no columns": (no_columns, "lacks column(s) true_return"),
        "no policy sweep": (truth, "this sweep is not a policy sweep"),
    }


@pytest.mark.parametrize("case", ["missing", "no columns", "no policy sweep"])
def test_a_truth_that_cannot_be_used_is_refused_in_one_line(tiny, tmp_path, case):
    _f, res = tiny
    path, words = _truth_files(tmp_path)[case]
    out = tmp_path / "r.html"
    proc = cli("report", str(res), "--out", str(out), "--truth", str(path), "--quiet")
    line = assert_one_line_error(proc, words, "--truth")
    assert str(path) in line and not out.exists()


# --------------------------------------------------------------------------- a full disk
def test_a_full_disk_while_the_report_is_written_leaves_the_last_report_whole(tiny, tmp_path):
    _f, done = tiny
    res = tmp_path / "res"
    shutil.copytree(done, res)
    args = ("report", str(res), "--out", str(res / "report.html"), "--quiet")
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    before = snapshot_bytes(res)
    tables = {p.name: p.read_bytes() for p in (res / "report_tables").iterdir()}
    limit = (res / "report.html").stat().st_size // 2  # the page no longer fits
    assert limit > max(len(b) for b in tables.values())  # each table would
    assert_one_line_error(cli_with_file_limit(limit, *args), "cannot write", "report.html")
    assert_nothing_half_written(res, before)
    # the tables are written with the page or not at all: the earlier ones stand
    assert {p.name: p.read_bytes() for p in (res / "report_tables").iterdir()} == tables


def test_a_full_disk_while_the_lab_page_is_written_is_one_line(tmp_path):
    out = tmp_path / "lab"
    args = (*ATTRIBUTION, "--out", str(out / "lab.html"), "--quiet")
    first = cli(*args)
    assert first.returncode == 0, first.stderr
    before = snapshot_bytes(out, (".html", ".csv", ".parquet"))
    limit = (out / "lab.html").stat().st_size // 2
    assert limit > max(len(b) for name, b in before.items() if name != "lab.html")
    assert_one_line_error(cli_with_file_limit(limit, *args), "cannot write", "lab.html")
    assert_nothing_half_written(out, before)
