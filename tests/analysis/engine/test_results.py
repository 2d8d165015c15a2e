"""Sweep results: load_sweep over a folder of sweeps or one sweep, sweep.json, and one
DuckDB query over the hive-partitioned Parquet files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from analysis.engine.design import load_sweep_file
from analysis.engine.results import load_sweep, query, sweep_info
from analysis.studies.sweep.study import run_sweep
from tests import builders


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A results folder holding two sweeps with different axes."""
    tmp = tmp_path_factory.mktemp("results")
    for name, budgets in (("one", (0.0, 30000.0)), ("two", (5000.0,))):
        path = builders.write(tmp, builders.budget_sweep(name, budgets), f"{name}.toml")
        run_sweep(load_sweep_file(path), tmp / "out", workers=1, progress=False)
    return tmp / "out"


def test_load_sweep_reads_all_sweeps_of_a_folder(out: Path) -> None:
    runs = load_sweep(out)
    assert sorted(runs["sweep"].unique()) == ["one", "two"]
    assert len(runs) == 4 + 2
    assert "table" not in runs.columns
    assert list(runs.query("sweep == 'one'")["variant_id"]) == [0, 0, 1, 1]


def test_load_sweep_reads_one_sweep_folder(out: Path) -> None:
    vendors = load_sweep(out / "sweep=one", "vendors")
    assert set(vendors["sweep"]) == {"one"}
    assert len(vendors) == 4 * 4
    zero = vendors[(vendors["variant_id"] == 0) & (vendors["vendor"] == "SearchHeavy")]
    # SearchHeavy spends nothing on channels in variant 0
    assert (zero["marketing_spend"] == 0).all()


def test_missing_table_is_a_clear_error(out: Path) -> None:
    with pytest.raises(FileNotFoundError, match="weekly"):
        load_sweep(out, "weekly")


def test_sweep_info_describes_the_set_up(out: Path) -> None:
    info = sweep_info(out / "sweep=one")
    assert info["name"] == "one"
    assert info["replications"] == 2 and len(info["seeds"]) == 2
    assert [v["variant"] for v in info["variants"]] == [
        "vendors.SearchHeavy.weekly_budget=0",
        "vendors.SearchHeavy.weekly_budget=30000",
    ]
    assert info["axes"][0]["column"] == "p:vendors.SearchHeavy.weekly_budget"
    with pytest.raises(FileNotFoundError, match="expected one"):
        sweep_info(out)


def test_one_duckdb_query_reads_the_folder(out: Path) -> None:
    df = duckdb.sql(
        f"SELECT sweep, count(*) AS n FROM read_parquet('{out}/**/table=vendors/*.parquet', "
        "hive_partitioning=true) GROUP BY sweep ORDER BY sweep"
    ).df()
    assert df.to_dict("list") == {"sweep": ["one", "two"], "n": [16, 8]}
    joined = query(
        "SELECT r.sweep, sum(v.conversions) AS c FROM runs r JOIN vendors v USING (run_id, sweep)"
        " GROUP BY 1 ORDER BY 1",
        out,
    )
    assert list(joined["sweep"]) == ["one", "two"]
