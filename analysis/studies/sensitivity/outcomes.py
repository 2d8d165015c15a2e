"""What a study can measure of a run: the outcome names (METRIC.VENDOR, the market's
funnel, shares derived from it), the check of a name against a scenario's vendors, and
the outcomes of finished runs, one column each.

Scenario discovery (analysis.studies.discover) reads the same outcomes from a sweep's
tables. `outcome_problem` serves `run.py validate`, so pandas is imported only by the
functions that build tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from analysis.engine.outcomes import FUNNEL_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

    from analysis.engine.design import RunSpec

#: vendor metrics an outcome can name as METRIC.VENDOR (sim.tables.vendors_table)
VENDOR_METRICS = (
    "conversions",
    "market_conversions",
    "win_share",
    "revenue",
    "marketing_spend",
    "roi",
    "originated_revenue",
    "revenue_per_marketing_dollar",
    "cost_per_acquisition",
    "break_even_volume",
    "originated_share",
)
#: market outcomes (sim.tables.funnel)
FUNNEL = FUNNEL_COLUMNS
#: shares derived from the funnel: name -> (numerator, denominator)
SHARES = {
    "no_decision_share": ("no_decisions", "decided"),
    "purchase_share": ("purchases", "decided"),
}
OUTCOME_HELP = (
    f"METRIC.VENDOR with METRIC one of {', '.join(VENDOR_METRICS)}; or a market outcome: "
    f"{', '.join(FUNNEL + tuple(SHARES))}"
)


def outcome_problem(name: str, vendors: tuple[str, ...]) -> str | None:
    """Why `name` is not an outcome of a scenario with these vendors (None if it is)."""
    if name in FUNNEL or name in SHARES:
        return None
    metric, dot, vendor = name.partition(".")
    if not dot:
        return f"unknown outcome {name!r}; use {OUTCOME_HELP}"
    if metric not in VENDOR_METRICS:
        return f"unknown metric {metric!r} in {name!r}; metrics: {', '.join(VENDOR_METRICS)}"
    if vendor not in vendors:
        return f"no vendor {vendor!r} in {name!r}; vendors: {', '.join(vendors)}"
    return None


def wide_outcomes(runs: pd.DataFrame, vendors: pd.DataFrame) -> pd.DataFrame:
    """Every outcome a run has, one column each (METRIC.VENDOR, the funnel, the shares),
    indexed by run_id: from a `runs` table (funnel columns) and a `vendors` table."""
    import numpy as np
    import pandas as pd

    out = runs.set_index("run_id")[[c for c in FUNNEL if c in runs]].astype(float)
    for share, (num, den) in SHARES.items():
        if num in out and den in out:
            with np.errstate(divide="ignore", invalid="ignore"):
                out[share] = out[num] / out[den].where(out[den] > 0)
    if len(vendors):
        metrics = [m for m in VENDOR_METRICS if m in vendors]
        wide = vendors.pivot_table(
            index="run_id", columns="vendor", values=metrics, aggfunc="first"
        )
        wide.columns = [f"{m}.{v}" for m, v in wide.columns]
        out = out.join(wide.astype(float), how="left")
    out.index = pd.Index(out.index.astype(str), name="run_id")
    return out


def outcome_row(model: Any, spec: RunSpec, names: tuple[str, ...]) -> dict[str, float | None]:
    """The study's outcomes of one finished run, as `o:<name>` columns (in the worker)."""
    import pandas as pd

    from sim.tables import funnel, vendors_table

    runs = pd.DataFrame([{"run_id": spec.run_id, **funnel(model)}])
    vendors = vendors_table(model).assign(run_id=spec.run_id)
    wide = wide_outcomes(runs, vendors).iloc[0]
    return {f"o:{n}": finite(wide.get(n)) for n in names}


def returned_outcomes(
    values: Mapping[str, float], spec: RunSpec, names: tuple[str, ...]
) -> dict[str, float | None]:
    """The `o:<name>` columns of a run whose `simulate` function returned {outcome: value}
    (in the worker). An outcome it did not return fails the run (a runs row with the error)."""
    missing = [n for n in names if n not in values]
    if missing:
        raise KeyError(f"the model function returned no {', '.join(map(repr, missing))}")
    return {f"o:{n}": finite(values[n]) for n in names}


def finite(x: Any) -> float | None:
    """`x` as a float, or None when it is missing, not a number or not finite."""
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None
