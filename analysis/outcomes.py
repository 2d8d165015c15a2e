"""What a sweep run yields: the standard long tables and the funnel row, as a RunPlan.

Each table is one function `(model, spec) -> DataFrame` of a finished run; the engine
keys its rows with the run (run_id, variant, variant_id, replication). A new outcome
table is one more such function plus a `Table(...)` entry in `sweep_plan` (or in any
experiment's own plan); the engine, the resume bookkeeping and `results.load_sweep`
need no change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from analysis.engine import RunPlan, Table

if TYPE_CHECKING:
    import pandas as pd

    from analysis.design import RunSpec

#: the funnel counts in every sweep `runs` row (sim.tables.funnel)
FUNNEL_COLUMNS = (
    "journeys",
    "reached_early",
    "reached_middle",
    "reached_final",
    "decided",
    "purchases",
    "no_decisions",
    "open",
)


def funnel_row(model: Any, _spec: RunSpec) -> dict[str, int]:
    """The run's stage funnel: journeys reaching each stage, decided, purchases, open."""
    from sim.tables import funnel

    return funnel(model)


def vendors(model: Any, _spec: RunSpec) -> pd.DataFrame:
    """One row per vendor: conversions, win share, revenue, spend, ROI, ..."""
    from sim.tables import vendors_table

    return vendors_table(model)


def source_use(model: Any, _spec: RunSpec) -> pd.DataFrame:
    """One row per stage x channel: consultations."""
    from sim.tables import source_use_table

    return source_use_table(model)


def weekly(model: Any, _spec: RunSpec) -> pd.DataFrame:
    """One row per week: the market's weekly counts (per-vendor conversions are in
    `weekly_vendors`)."""
    from sim.tables import weekly_table

    wk = weekly_table(model)
    return wk.drop(columns=[c for c in wk.columns if c.startswith("conversions_")])


def weekly_vendors(model: Any, _spec: RunSpec) -> pd.DataFrame:
    """One row per week x vendor: that week's conversions."""
    from sim.tables import weekly_table

    wk = weekly_table(model)
    conv = [c for c in wk.columns if c.startswith("conversions_")]
    long = wk.melt(id_vars="week", value_vars=conv, var_name="vendor", value_name="conversions")
    long["vendor"] = long["vendor"].str.removeprefix("conversions_").astype("string")
    return long.sort_values(["week", "vendor"], kind="stable").reset_index(drop=True)


def sweep_plan(weekly_tables: bool = False) -> RunPlan:
    """What each run of a sweep computes: the vendors and source_use tables (and the
    weekly tables when asked), and the funnel in its `runs` row."""
    tables = [Table("vendors", vendors, with_seed=True), Table("source_use", source_use)]
    if weekly_tables:
        tables += [Table("weekly", weekly), Table("weekly_vendors", weekly_vendors)]
    return RunPlan(
        tables=tuple(tables),
        columns=dict.fromkeys(FUNNEL_COLUMNS, "Int64"),
        summarize=funnel_row,
    )
