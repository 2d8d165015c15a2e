"""Pure functions that score vendors: conversions, revenue, ROI, CAC, break-even, origin.

They take plain numbers or numpy arrays and return the same shape, so the model's vendor
table, the sweep summaries and the batch report all compute a metric the same way. A
ratio with a zero denominator is NaN (undefined), never an exception.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _ratio(num: ArrayLike, den: ArrayLike) -> np.ndarray | float:
    num, den = np.asarray(num, dtype=float), np.asarray(den, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def win_share(conversions: ArrayLike) -> np.ndarray:
    """Each vendor's share of all conversions (NaN when nobody bought)."""
    c = np.asarray(conversions, dtype=float)
    return np.asarray(_ratio(c, np.full_like(c, c.sum())))


def roi(originated_revenue: ArrayLike, spend: ArrayLike) -> np.ndarray | float:
    """Return on marketing per the seed (docs/sources.md §8): (revenue from customers who
    came through marketing - marketing cost) / marketing cost.

    Only marketing-originated customers count (the vendor first entered their journey
    through a paid marketing touch); referred, socially sold and repeat customers do not.
    Dividing by the cost makes vendors of different size comparable.

    >>> roi(30_000, 10_000)
    2.0
    """
    return _ratio(
        np.asarray(originated_revenue, dtype=float) - np.asarray(spend, dtype=float), spend
    )


def revenue_per_marketing_dollar(revenue: ArrayLike, spend: ArrayLike) -> np.ndarray | float:
    """All revenue won (any origin) per unit of marketing spend: not the seed's ROI, a
    broader ratio kept under its own name."""
    return _ratio(revenue, spend)


def cost_per_acquisition(spend: ArrayLike, conversions: ArrayLike) -> np.ndarray | float:
    """Marketing spend per conversion won."""
    return _ratio(spend, conversions)


def break_even_volume(
    fixed_costs: ArrayLike, revenue_per_unit: ArrayLike, variable_cost_per_unit: ArrayLike
) -> np.ndarray | float:
    """BEV = fixed costs / (revenue per unit - variable cost per unit), docs/sources.md §8.

    >>> round(break_even_volume(5_500, 750, 450), 2)
    18.33
    """
    margin = np.asarray(revenue_per_unit, dtype=float) - np.asarray(
        variable_cost_per_unit, dtype=float
    )
    out = _ratio(fixed_costs, margin)
    return (
        np.where(np.asarray(margin) > 0, out, np.nan)
        if np.ndim(out)
        else (out if margin > 0 else float("nan"))
    )


def originated_share(originated: ArrayLike, conversions: ArrayLike) -> np.ndarray | float:
    """Marketing Originated Customers: share of customers whose journey with the vendor
    began with a marketing touch (not a referral, social selling or being the incumbent)."""
    return _ratio(originated, conversions)


def mean_deal(revenue: ArrayLike, conversions: ArrayLike) -> np.ndarray | float:
    """Average revenue per conversion."""
    return _ratio(revenue, conversions)
