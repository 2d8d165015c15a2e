"""Sweeps: sweep files validated once, expanded into a run table with common random
numbers, run by interchangeable executors with identical results, resumed without
duplicates, and a failing run recorded as a row."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from analysis.engine.context import run_experiment
from analysis.engine.design import load_sweep_file
from analysis.engine.experiment import Table, execute_run
from analysis.engine.outcomes import sweep_plan
from analysis.engine.parts import remove_incomplete
from analysis.engine.results import load_sweep, query
from analysis.studies.sweep.study import run_sweep, sweep_experiment
from sim.scenario import ScenarioError
from tests.builders import failing_sweep, grid_sweep, sampled_sweep, sweep_head
from tests.conftest import SCENARIOS, assert_one_line_error

#: 2 strategies x 2 sampled status-quo values x 3 replications: 12 runs of 300 buyers
SMALL = sampled_sweep("small", replications=3, buyers=300, weeks=15, samples=2)
FAILING = failing_sweep()


def write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    """Rows independent of timing and chunking: sorted, without elapsed_s."""
    keys = [c for c in ("run_id", "vendor", "stage", "channel", "week") if c in df]
    out = df.drop(columns=["elapsed_s"], errors="ignore").sort_values(keys)
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- design
def test_grid_times_samples_times_replications(tmp_path: Path) -> None:
    sweep = load_sweep_file(write(tmp_path, SMALL))
    runs = sweep.expand()
    assert sweep.name == "small"
    assert len(sweep.variants()) == 2 * 2
    assert len(runs) == 4 * 3
    assert len({r.run_id for r in runs}) == len(runs)
    for v in sweep.variants():
        assert 1.0 <= v.params["status_quo"] <= 2.5
        assert v.changes["buyers.count"] == 300


def test_replication_r_has_the_same_seed_in_every_variant(tmp_path: Path) -> None:
    runs = load_sweep_file(write(tmp_path, SMALL)).expand()
    by_rep: dict[int, set[int]] = {}
    for r in runs:
        by_rep.setdefault(r.replication, set()).add(r.seed)
    assert all(len(seeds) == 1 for seeds in by_rep.values())
    assert len({next(iter(s)) for s in by_rep.values()}) == 3


def test_run_ids_are_deterministic_and_do_not_depend_on_the_file_location(
    tmp_path: Path,
) -> None:
    a = load_sweep_file(write(tmp_path, SMALL, "a.toml")).expand()
    (tmp_path / "sub").mkdir()
    b = load_sweep_file(write(tmp_path / "sub", SMALL, "b.toml")).expand()
    assert [r.run_id for r in a] == [r.run_id for r in b]
    more = sampled_sweep("small", replications=5, buyers=300, weeks=15, samples=2)
    more = load_sweep_file(write(tmp_path, more))
    assert {r.run_id for r in a} <= {r.run_id for r in more.expand()}


def test_sobol_and_integer_ranges(tmp_path: Path) -> None:
    text = sampled_sweep("small", samples=4).replace(
        "samples = 4", 'samples = 4\nsampler = "sobol"'
    )
    text = text.replace(
        'status_quo = { path = "choice.status_quo", low = 1.0, high = 2.5 }',
        'cpw = { path = "buyers.consultations_per_week", low = 1, high = 4 }',
    )
    sweep = load_sweep_file(write(tmp_path, text))
    values = [v.params["cpw"] for v in sweep.variants()]
    assert all(isinstance(x, int) and 1 <= x <= 4 for x in values)
    assert len(sweep.variants()) == 2 * 4


def test_a_strategy_axis_swaps_whole_strategies_at_equal_budget(tmp_path: Path) -> None:
    sweep = load_sweep_file(write(tmp_path, grid_sweep()))
    budget = {v.name: v.weekly_budget for v in sweep.scenario.vendors}["CommunityFirst"]
    assert list(dict.fromkeys(v.params["mix"] for v in sweep.variants())) == ["forums", "analysts"]
    for v in sweep.variants():
        sc = sweep.scenario.with_changes(v.changes)
        vendor = next(x for x in sc.vendors if x.name == "CommunityFirst")
        assert vendor.weekly_budget == budget  # the strategy sets the mix only
        assert vendor.channel_mix == sweep.strategies[v.params["mix"]]["channel_mix"]


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("sweep_*.toml")), ids=lambda p: p.stem)
def test_each_example_sweep_loads_and_its_first_run_works(path: Path) -> None:
    sweep = load_sweep_file(path)
    assert sweep.run_count() == len(sweep.expand())  # what `validate` prints, unsampled
    spec = sweep.expand()[0]
    quick = sweep.scenario.with_changes({"buyers.count": 300, "weeks": 5})
    row, tables = execute_run(quick, spec, sweep_plan(weekly_tables=True))
    assert row["status"] == "ok", row["error"]
    assert set(tables) == {"vendors", "source_use", "weekly", "weekly_vendors"}


# --------------------------------------------------------------------------- bad files
BAD = [
    (sweep_head("bogus = 1"), "sweep.bogus", "unknown key"),
    (sweep_head(scenario="nope.toml"), "sweep.scenario", "not found"),
    (sweep_head("replications = 0"), "sweep.replications", ">= 1"),
    (sweep_head(name="a b"), "sweep.name", "letters"),
    (sweep_head("[axes]\n'buyers.count' = []"), "axes.buyers.count", "non-empty"),
    (sweep_head("[axes]\n'buyers.cuont' = [1]"), "axes.buyers.cuont", "unknown field"),
    (sweep_head("[axes]\n'vendors.Nope.price' = [1.0]"), "axes.vendors.Nope.price", "no vendor"),
    (sweep_head("[axes]\n'buyers.count' = [-5]"), "axes.buyers.count", ">="),
    (
        sweep_head("samples = 4\n[axes]\nq = {path = 'choice.status_quo', low = 3, high = 2}"),
        "axes.q",
        "low must be below",
    ),
    (
        sweep_head("[axes]\nq = {path = 'choice.status_quo', low = 2, high = 3}"),
        "sweep.samples",
        ">= 1",
    ),
    (sweep_head("sampler = 'grid'"), "sweep.sampler", "lhs"),
    (
        sweep_head("[axes]\nm = {vendor = 'Nope', strategies = ['a']}"),
        "axes.m.vendor",
        "AnalystLed",
    ),
    (
        sweep_head("[axes]\nm = {vendor = 'AnalystLed', strategies = ['a']}"),
        "axes.m.strategies",
        "unknown strategy",
    ),
    (
        sweep_head("[strategies.a]\nchanel_mix = {search = 1.0}"),
        "strategies.a.chanel_mix",
        "unknown key",
    ),
    (sweep_head("[sweep.set]\nweeks = 0"), "sweep.set.weeks", ">="),
    (sweep_head().replace("[sweep]", "[sweep"), "", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "field", "words"), BAD)
def test_bad_sweep_files_raise_one_clear_line(
    tmp_path: Path, text: str, field: str, words: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as err:
        load_sweep_file(path)
    assert_one_line_error(err.value, path, field, words)


# --------------------------------------------------------------------------- running
@pytest.fixture(scope="module")
def small_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """The small sweep run once in-process: the reference rows."""
    tmp = tmp_path_factory.mktemp("ref")
    sweep = load_sweep_file(write(tmp, SMALL))
    outcome = run_sweep(sweep, tmp / "out", workers=1, weekly=True, progress=False)
    assert outcome.ran == 12 and outcome.failed == 0
    return {t: load_sweep(tmp / "out", t) for t in ("runs", "vendors", "source_use", "weekly")}


def test_results_have_the_agreed_columns(small_runs: dict[str, pd.DataFrame], baseline) -> None:
    runs = small_runs["runs"]
    assert list(runs.columns[:9]) == [
        "sweep",
        "run_id",
        "variant",
        "variant_id",
        "replication",
        "seed",
        "status",
        "error",
        "elapsed_s",
    ]
    assert {"p:mix", "p:status_quo", "journeys", "purchases"} <= set(runs)
    assert (runs["status"] == "ok").all() and len(runs) == 12
    vendors = small_runs["vendors"]
    n_vendors = len(baseline.vendors)
    assert len(vendors) == 12 * n_vendors
    assert (vendors.groupby("run_id")["vendor"].nunique() == n_vendors).all()
    assert len(small_runs["weekly"]) == 12 * 15


def test_results_are_identical_with_two_workers(
    tmp_path: Path, small_runs: dict[str, pd.DataFrame]
) -> None:
    sweep = load_sweep_file(write(tmp_path, SMALL))
    run_sweep(sweep, tmp_path / "out", workers=2, weekly=True, progress=False)
    for table, ref in small_runs.items():
        pd.testing.assert_frame_equal(
            comparable(load_sweep(tmp_path / "out", table)), comparable(ref)
        )


def test_results_are_identical_on_a_dask_local_cluster(
    tmp_path: Path, small_runs: dict[str, pd.DataFrame]
) -> None:
    pytest.importorskip("distributed")
    sweep = load_sweep_file(write(tmp_path, SMALL))
    outcome = run_sweep(sweep, tmp_path / "out", workers=2, dask="local", progress=False)
    assert outcome.ran == 12
    for table in ("runs", "vendors", "source_use"):
        pd.testing.assert_frame_equal(
            comparable(load_sweep(tmp_path / "out", table)), comparable(small_runs[table])
        )


def test_a_rerun_runs_only_what_is_missing(
    tmp_path: Path, small_runs: dict[str, pd.DataFrame]
) -> None:
    sweep = load_sweep_file(write(tmp_path, SMALL))
    out = tmp_path / "out"
    run_sweep(sweep, out, workers=1, weekly=True, progress=False, chunk_size=2)
    sdir = out / "sweep=small"
    # a chunk killed half-way: its runs part is gone, other tables and a temp file remain
    victim = sorted((sdir / "table=runs").glob("part-*.parquet"))[0]
    victim.unlink()
    (sdir / "table=vendors" / ".part-x.parquet.123.tmp").write_bytes(b"half")
    again = run_sweep(sweep, out, workers=1, weekly=True, progress=False, chunk_size=3)
    assert (again.already, again.ran) == (10, 2)
    for table, ref in small_runs.items():
        pd.testing.assert_frame_equal(comparable(load_sweep(out, table)), comparable(ref))
    assert run_sweep(sweep, out, workers=1, progress=False).ran == 0
    assert remove_incomplete(sdir) == 0


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(tmp_path: Path) -> None:
    sweep = load_sweep_file(write(tmp_path, FAILING))
    outcome = run_sweep(sweep, tmp_path / "out", workers=2, progress=False)
    assert (outcome.ran, outcome.failed) == (8, 2)
    runs = load_sweep(tmp_path / "out")
    bad = runs[runs["status"] == "error"]
    assert len(bad) == 2
    assert set(bad["p:buyers.count"]) == {11.0} and set(bad["p:network.k"]) == {11.0}
    assert bad["error"].str.contains("network.k").all()
    assert bad["purchases"].isna().all()
    ok = runs[runs["status"] == "ok"]
    assert ok["error"].isna().all() and len(ok) == 6
    vendors = load_sweep(tmp_path / "out", "vendors")
    assert set(vendors["run_id"]) == set(ok["run_id"])
    # failed runs are kept on a rerun, and run again with retry_failed
    assert run_sweep(sweep, tmp_path / "out", workers=1, progress=False).ran == 0
    retried = run_sweep(sweep, tmp_path / "out", workers=1, progress=False, retry_failed=True)
    assert (retried.ran, retried.failed) == (2, 2)
    assert len(load_sweep(tmp_path / "out")) == 8


# --------------------------------------------------------------------------- a new outcome
def journey_outcomes(model, _spec) -> pd.DataFrame:
    """A new outcome table in one function: journeys per outcome in the run."""
    journeys = model.tables()["journeys"]
    counts = journeys["outcome"].astype(str).value_counts().sort_index()
    return pd.DataFrame({"outcome": counts.index, "journeys": counts.to_numpy()})


def test_a_new_outcome_table_is_one_function(tmp_path: Path) -> None:
    sweep = load_sweep_file(write(tmp_path, SMALL))
    exp = sweep_experiment(sweep)
    plan = replace(exp.plan, tables=(*exp.plan.tables, Table("outcomes", journey_outcomes)))
    out = tmp_path / "out" / "sweep=small"
    outcome = run_experiment(replace(exp, plan=plan), out, workers=1, progress=False)
    assert (outcome.ran, outcome.failed) == (12, 0)
    table = load_sweep(tmp_path / "out", "outcomes")
    runs = load_sweep(tmp_path / "out", "runs")
    assert set(table["run_id"]) == set(runs["run_id"])
    assert list(table.columns[:5]) == ["sweep", "run_id", "variant", "variant_id", "replication"]
    # every journey has one outcome: the counts add up to the funnel's journeys
    per_run = table.groupby("run_id")["journeys"].sum()
    assert per_run.to_dict() == runs.set_index("run_id")["journeys"].astype(int).to_dict()
    assert len(query("SELECT * FROM outcomes", tmp_path / "out")) == len(table)
