"""What each run of a DATA-loop study records: the focal vendor's numbers in its `runs`
row (the oracle's planning runs and the study's runs alike), and, for the study's runs,
the vendors table, the focal vendor's spend mix per quarter and what a data-loop vendor
believed at each adjustment.

The functions reach worker processes by pickling (module-level functions and partials of
them, as analysis.engine.experiment asks).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from analysis.engine.design import RunSpec
from analysis.engine.experiment import RunPlan, Table
from analysis.studies.dataloop.spec import Study
from sim import metrics
from sim.tables import vendors_table

#: a quarter, for the mix table
QUARTER = 13
#: the focal vendor's numbers in each run's `runs` row
FOCAL_COLUMNS = {
    "conversions": "Int64",
    "revenue": "Float64",
    "originated": "Int64",
    "paid_spend": "Float64",
    "marketing_spend": "Float64",
    "roi": "Float64",
}


def focal_row(model: Any, _spec: RunSpec, index: int) -> dict[str, Any]:
    """The focal vendor's numbers in a run's `runs` row."""
    m = model.market
    spend = float(m.marketing_spend()[index])
    scale = model.market_scale
    return {
        "conversions": int(m.conversions[index]),
        "revenue": float(m.revenue[index] * scale),
        "originated": int(m.originated[index]),
        "paid_spend": float(m.spent[index].sum() + m.social_selling_spent[index]),
        "marketing_spend": spend,
        "roi": float(np.asarray(metrics.roi(m.originated_revenue[index] * scale, spend))),
    }


def mix_rows(model: Any, _spec: RunSpec, vendor: str) -> pd.DataFrame:
    """The focal vendor's spend per quarter and line (channel or social selling)."""
    spend = model.tables()["spend"]
    s = spend[spend["vendor"] == vendor]
    out = (
        s.assign(quarter=(s["week"] // QUARTER).astype("int64"))
        .groupby(["quarter", "line"], as_index=False, observed=True)["spend"]
        .sum()
    )
    out["line"] = out["line"].astype("string")
    return out


def belief_rows(model: Any, _spec: RunSpec, vendor: str) -> pd.DataFrame:
    """The focal vendor's `beliefs` rows (what it believed each channel returned at
    each adjustment); none when the run has no such table."""
    t = model.tables().get("beliefs")
    cols = ["week", "channel", "believed_return", "share_before", "share_after"]
    if t is None or not len(t):
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    b = t[t["vendor"] == vendor][cols].copy()
    b["channel"] = b["channel"].astype("string")
    return b.reset_index(drop=True)


def vendor_rows(model: Any, _spec: RunSpec) -> pd.DataFrame:
    """Every vendor's row of the run (sim.tables.vendors_table)."""
    return vendors_table(model)


def focal_plan(scenario_vendors: list[str], vendor: str) -> RunPlan:
    """What a planning run records: the focal vendor's numbers only."""
    index = scenario_vendors.index(vendor)
    return RunPlan(columns=FOCAL_COLUMNS, summarize=partial(focal_row, index=index))


def study_plan(study: Study) -> RunPlan:
    """What a study run records: the focal vendor's numbers, the vendors table, the mix
    per quarter, and (data-loop variants only) the beliefs."""
    index = study.scenario.vendor_names().index(study.vendor)
    loops = frozenset(i for i, v in enumerate(study.variants) if v.policy == "data_loop")
    tables = [
        Table("vendors", vendor_rows),
        Table("mix", partial(mix_rows, vendor=study.vendor)),
        Table("beliefs", partial(belief_rows, vendor=study.vendor), variants=loops),
    ]
    return RunPlan(
        tables=tuple(tables), columns=FOCAL_COLUMNS, summarize=partial(focal_row, index=index)
    )
