"""A vendor's own funnel as measures (issue 19, item 6): what a marketing team knows of
its own deals, so it can fit the model to its funnel. Each takes `vendor = NAME` and is
computed on one run's tables like the measures of moments.py:

    win_rate            won / quoted: of the closed journeys where the vendor quoted, the
                        share it won
    deal_size           mean deal value of the vendor's purchases (the market's currency)
    cycle_weeks         `quantile` (median) of end_week - start_week over the closed
                        journeys where the vendor quoted
    vendor_no_decision  of the closed journeys where the vendor quoted, the share that
                        ended in no decision
    sourced_share       of the vendor's purchases, the share marketing originated (the
                        vendor first entered the journey through a paid touch)

"Quoted" reads the touches table's quotes, so only journeys that started at week 0 or
later count there (one under way after a spin-up may have had its quotes before the
recorders started); a self-serve vendor (no quotes) has no
win rate, cycle or no-decision share: not measurable. A vendor the scenario does not
have is not measurable either (the note names the vendor).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from analysis.studies.calibrate.measuring import Moment, NotMeasurable, _closed, _need

if TYPE_CHECKING:
    from analysis.studies.calibrate.targets import Target


def _purchases(tables: dict[str, pd.DataFrame], target: Target, *columns: str) -> pd.Series:
    j = _need(tables.get("journeys"), "journeys", "outcome", "vendor", *columns)
    if "vendors" in tables and target.vendor not in set(tables["vendors"]["vendor"].astype(str)):
        raise NotMeasurable(f"the scenario has no vendor named {target.vendor!r}")
    return j[(j["outcome"] == "purchase") & (j["vendor"] == target.vendor)]


def _quoted(tables: dict[str, pd.DataFrame], target: Target) -> pd.DataFrame:
    """The closed journeys, started from week 0 on, in which the vendor quoted."""
    j = _need(tables.get("journeys"), "journeys", "journey_id", "outcome", "vendor", "start_week")
    j = _closed(j[j["start_week"] >= 0])
    t = _need(tables.get("touches"), "touches", "journey_id", "vendor", "quote")
    ids = t.loc[t["quote"].astype(bool) & (t["vendor"] == target.vendor), "journey_id"]
    quoted = j[j["journey_id"].isin(set(ids.tolist()))]
    if quoted.empty:
        raise NotMeasurable(f"no closed journey where {target.vendor} quoted")
    return quoted


def win_rate(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    quoted = _quoted(tables, target)
    won = int((quoted["vendor"] == target.vendor).sum())
    return Moment(won / len(quoted), len(quoted))


def deal_size(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    value = _purchases(tables, target, "deal_value")["deal_value"].dropna().astype(float)
    if value.empty:
        raise NotMeasurable(f"no purchase from {target.vendor}")
    return Moment(float(value.mean()), len(value))


def cycle_weeks(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    quoted = _quoted(tables, target)
    weeks = (quoted["end_week"].astype(float) - quoted["start_week"].astype(float)).dropna()
    return Moment(float(weeks.quantile(target.quantile)), len(weeks))


def vendor_no_decision(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    quoted = _quoted(tables, target)
    none = int((quoted["outcome"] == "no_decision").sum())
    return Moment(none / len(quoted), len(quoted))


def sourced_share(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    flags = _purchases(tables, target, "marketing_originated")["marketing_originated"]
    if flags.empty:
        raise NotMeasurable(f"no purchase from {target.vendor}")
    return Moment(float(flags.astype(bool).mean()), len(flags))


VENDOR_MEASURES = {
    "win_rate": win_rate,
    "deal_size": deal_size,
    "cycle_weeks": cycle_weeks,
    "vendor_no_decision": vendor_no_decision,
    "sourced_share": sourced_share,
}
