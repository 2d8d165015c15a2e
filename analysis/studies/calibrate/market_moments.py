"""Market v3's measures (docs/model.md §10a, §12a; issue 18): who gets considered, who
gets the credit, how much of the market is buying. Each is computed on one run's tables
like the measures of moments.py, and is an outcome of the model, not an input read back:

    day_one_share        share of purchases whose vendor was on the group's day-one list
    shortlist_size       mean number of vendors the groups shortlisted
    first_favourite_wins share of purchases won by the vendor preferred at first contact
    referred_share       share of NEW-customer purchases that were referred (renewals
                         reported apart, as the extra renewals_referred)
    in_market_share      share of accounts in market in a quarter (an open journey in some
                         week of it), averaged over the run's whole quarters
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from analysis.studies.calibrate.measuring import Moment, NotMeasurable, _closed, _need

if TYPE_CHECKING:
    from analysis.studies.calibrate.targets import Target

#: weeks in a quarter
QUARTER = 13


def _purchases(tables: dict[str, pd.DataFrame], *columns: str) -> pd.DataFrame:
    j = _need(tables.get("journeys"), "journeys", "outcome", *columns)
    return j[j["outcome"] == "purchase"]


def _share(flags: pd.Series, what: str) -> Moment:
    flags = flags.dropna()
    if flags.empty:
        raise NotMeasurable(f"no {what} (is [consideration] on?)")
    return Moment(float(flags.astype(bool).mean()), len(flags))


def day_one_share(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """Share of purchases whose vendor was on the group's day-one list."""
    return _share(_purchases(tables, "on_day_one_list")["on_day_one_list"], "listed purchases")


def first_favourite_wins(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """Share of purchases won by the vendor the group preferred at first sales contact."""
    p = _purchases(tables, "first_favourite_won")
    return _share(p["first_favourite_won"], "purchases with a preferred vendor")


def shortlist_size(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """Mean number of vendors on the shortlists of closed journeys that made one."""
    j = _closed(_need(tables.get("journeys"), "journeys", "outcome", "shortlist"))
    lists = j["shortlist"].dropna()
    if lists.empty:
        raise NotMeasurable("no shortlists (is [consideration] on?)")
    sizes = lists.astype(str).str.count(";") + 1
    return Moment(float(sizes.mean()), len(sizes))


def referred_share(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """Share of new-customer purchases (not renewals) that were referred; the renewals'
    referred share is reported apart (extra renewals_referred, NaN without renewals)."""
    p = _purchases(tables, "referred", "renewal")
    renewal = p["renewal"].astype(bool)
    new = p.loc[~renewal, "referred"].astype(bool)
    if new.empty:
        raise NotMeasurable("no purchases by new customers")
    renewed = p.loc[renewal, "referred"].astype(bool)
    extra = (
        ("renewals_referred", float(renewed.mean()) if len(renewed) else float("nan")),
        ("renewals", float(len(renewed))),
    )
    return Moment(float(new.mean()), len(new), extra=extra)


def in_market_share(tables: dict[str, pd.DataFrame], target: Target) -> Moment:
    """Share of accounts with an open journey in some week of a quarter, averaged over
    the run's whole quarters (weeks 0-12, 13-25, ...; journeys still open at the horizon
    last to it; one started before week 0, in the spin-up, counts from week 0)."""
    j = _need(tables.get("journeys"), "journeys", "account_id", "start_week", "end_week")
    b = _need(tables.get("buyers"), "buyers", "account_id")
    weeks = len(_need(tables.get("weekly"), "weekly", "week"))
    quarters = weeks // QUARTER
    if quarters == 0:
        raise NotMeasurable(f"a run of {weeks} weeks has no whole quarter")
    accounts = int(b["account_id"].nunique())
    start = j["start_week"].to_numpy(dtype=float)
    end = j["end_week"].astype("Float64").fillna(weeks - 1).to_numpy(dtype=float)
    account = j["account_id"].to_numpy()
    shares = []
    for q in range(quarters):
        lo, hi = q * QUARTER, (q + 1) * QUARTER - 1
        overlap = (start <= hi) & (end >= lo)
        shares.append(np.unique(account[overlap]).size / accounts)
    return Moment(float(np.mean(shares)), accounts * quarters)


MARKET_MEASURES = {
    "day_one_share": day_one_share,
    "shortlist_size": shortlist_size,
    "first_favourite_wins": first_favourite_wins,
    "referred_share": referred_share,
    "in_market_share": in_market_share,
}
