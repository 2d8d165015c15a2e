"""What a sweep run yields: the standard long tables and the funnel row, as a RunPlan.

Each table is one function `(model, spec) -> DataFrame` of a finished run; the engine
keys its rows with the run (run_id, variant, variant_id, replication). A new outcome
table is one more such function plus a `Table(...)` entry in `sweep_plan` (or in any
experiment's own plan); the engine, the resume bookkeeping and `results.load_sweep`
need no change.

Policy sweeps (issue 11): `mix` and `beliefs` are `PolicyTable`s, computed only for runs
whose changes make a vendor adaptive (`policy = "data_loop"` or `"oracle"`, e.g. a strategy
axis over policies) or set a vendor's policy or data_loop settings. A run of any other
sweep computes neither, and its folder has no such table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from analysis.engine.experiment import RunPlan, Table

if TYPE_CHECKING:
    import pandas as pd

    from analysis.engine.design import RunSpec

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


# ----------------------------------------------------------------------------- policies
#: the policies that measure or know, and move their budget (sim.scenario.POLICIES)
ADAPTIVE_POLICIES = ("data_loop", "oracle")
#: weeks per quarter of the `mix` table
QUARTER_WEEKS = 13


def policy_vendors(changes: dict[str, Any]) -> set[str]:
    """The vendors whose policy or data_loop settings a run's changes set (dotted paths
    `vendors.<name>.policy` or `vendors.<name>.data_loop[...]`)."""
    out = set()
    for path in changes:
        parts = path.split(".")
        if len(parts) >= 3 and parts[0] == "vendors" and parts[2] in ("policy", "data_loop"):
            out.add(parts[1])
    return out


def is_policy_run(spec: RunSpec) -> bool:
    """Whether a run is part of a policy sweep: its changes (axes and `[sweep.set]`) set a
    vendor's policy or DATA-loop settings. (A base scenario file whose vendor is already
    adaptive, swept on other axes only, is not detected: set its policy in `[sweep.set]`.)"""
    return bool(policy_vendors(spec.changes))


@dataclass(frozen=True)
class PolicyTable(Table):
    """A table only policy-sweep runs yield (`is_policy_run`): other sweeps pay nothing
    and get no part files for it."""

    def applies(self, spec: RunSpec) -> bool:
        return is_policy_run(spec) and super().applies(spec)


def _mix_vendors(model: Any, spec: RunSpec) -> list[str]:
    """The adaptive vendors of a run, and the vendors whose policy its changes set (a
    policy sweep's static variant keeps its vendor in `mix`, as the reference)."""
    named = policy_vendors(spec.changes)
    return [v.name for v in model.spec.vendors if v.policy in ADAPTIVE_POLICIES or v.name in named]


def mix(model: Any, spec: RunSpec) -> pd.DataFrame:
    """One row per adaptive vendor x quarter (13-week block, from 0) x channel: its spend
    on the channel that quarter and the channel's share of the vendor's channel spend
    (social selling left out). The run's policy vendors (`_mix_vendors`) only."""
    import numpy as np
    import pandas as pd

    from sim.channels import CHANNEL_NAMES

    names = _mix_vendors(model, spec)
    log = model.recorder("spend")
    weeks = len(log.channels)
    rows: dict[str, list] = {"vendor": [], "policy": [], "quarter": [], "channel": []}
    spend_col: list[np.ndarray] = []
    share_col: list[np.ndarray] = []
    if names and weeks:
        spend = np.asarray(log.channels, dtype=float).reshape(weeks, model.market.n, -1)
        quarter = np.arange(weeks) // QUARTER_WEEKS
        nq = int(quarter[-1]) + 1
        policies = {v.name: v.policy for v in model.spec.vendors}
        for name in names:
            i = list(model.vendor_names).index(name)
            per_q = np.zeros((nq, len(CHANNEL_NAMES)))
            np.add.at(per_q, quarter, spend[:, i, :])
            total = per_q.sum(axis=1, keepdims=True)
            share = np.divide(per_q, total, out=np.zeros_like(per_q), where=total > 0)
            rows["vendor"] += [name] * per_q.size
            rows["policy"] += [policies[name]] * per_q.size
            rows["quarter"] += list(np.repeat(np.arange(nq), len(CHANNEL_NAMES)))
            rows["channel"] += list(CHANNEL_NAMES) * nq
            spend_col.append(per_q.ravel())
            share_col.append(share.ravel())
    return pd.DataFrame(
        {
            "vendor": pd.array(rows["vendor"], dtype="string"),
            "policy": pd.array(rows["policy"], dtype="string"),
            "quarter": np.asarray(rows["quarter"], dtype=np.int64),
            "channel": pd.array(rows["channel"], dtype="string"),
            "spend": np.concatenate(spend_col) if spend_col else np.zeros(0),
            "share": np.concatenate(share_col) if share_col else np.zeros(0),
        }
    )


def beliefs(model: Any, _spec: RunSpec) -> pd.DataFrame:
    """The run's `beliefs` table (sim.tables.beliefs_table): per data-loop adjustment and
    channel, the believed return and the shares before and after; no rows (same columns
    and types) when no vendor adjusted."""
    from sim.tables import beliefs_table

    return beliefs_table(model)


def sweep_plan(weekly_tables: bool = False) -> RunPlan:
    """What each run of a sweep computes: the vendors and source_use tables (and the
    weekly tables when asked), the policy tables `mix` and `beliefs` in policy-sweep runs
    only, and the funnel in its `runs` row."""
    tables = [Table("vendors", vendors, with_seed=True), Table("source_use", source_use)]
    if weekly_tables:
        tables += [Table("weekly", weekly), Table("weekly_vendors", weekly_vendors)]
    tables += [PolicyTable("mix", mix), PolicyTable("beliefs", beliefs)]
    return RunPlan(
        tables=tuple(tables),
        columns=dict.fromkeys(FUNNEL_COLUMNS, "Int64"),
        summarize=funnel_row,
    )
