"""Honest verdicts over paired replications: how likely the leader leads, how sure that
is, how many replications would make it stable, which strategy is best how often, and
(across a posterior) which drawn parameter the answer hangs on.

    d = leader - runner_up                     # one paired difference per replication
    lead = leads(d)                            # share of replications the leader leads
    lo, hi = jeffreys_interval(lead.wins, lead.n)
    replications_for_stable(n, half_width, diff)   # ceil(n * (hw / |diff|)^2)
    best_shares(values)                        # per column: share of rows it is best in
    depends_most(d, drawn)                     # the drawn parameter d hangs on most

Ties count half: a replication where the two are equal is half a lead (two identical
strategies lead each other with probability 0.5, not 0). The interval of a share is
Jeffreys' (the Beta(k + 1/2, n - k + 1/2) posterior's central 95%, with the bound at 0
or 1 when k is 0 or n): it stays inside [0, 1] and keeps its coverage near 0 and 1,
where the Wald interval fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class Lead:
    """How often the leader leads: `wins` (ties count half) of `n` replications."""

    wins: float
    n: int
    low: float
    high: float

    @property
    def share(self) -> float:
        return self.wins / self.n if self.n else math.nan


def jeffreys_interval(wins: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """Jeffreys' interval of a share of `wins` in `n` (wins may be fractional: ties
    count half). The lower bound is 0 when wins == 0 and the upper 1 when wins == n."""
    if n <= 0:
        return math.nan, math.nan
    a, b = wins + 0.5, n - wins + 0.5
    tail = (1.0 - level) / 2.0
    low = 0.0 if wins <= 0 else float(stats.beta.ppf(tail, a, b))
    high = 1.0 if wins >= n else float(stats.beta.ppf(1.0 - tail, a, b))
    return low, high


def leads(d: np.ndarray, level: float = 0.95) -> Lead:
    """The share of replications in which the paired difference `d` (leader minus
    runner-up) is positive, ties counting half, with its Jeffreys interval."""
    d = np.asarray(d, float)
    d = d[~np.isnan(d)]
    wins = float((d > 0).sum() + 0.5 * (d == 0).sum())
    low, high = jeffreys_interval(wins, d.size, level)
    return Lead(wins, int(d.size), low, high)


def replications_for_stable(n: int, half_width: float, diff: float) -> int | None:
    """The replications at which the paired difference's 95% half-width would fall below
    the observed difference, if the spread stayed as measured: ceil(n * (hw / |diff|)^2)
    (the half-width shrinks as 1/sqrt(n); the t quantile's change is left out). None
    when there is no difference (diff 0) or no half-width (fewer than 2 replications)."""
    if n < 2 or not math.isfinite(half_width) or not math.isfinite(diff) or diff == 0:
        return None
    return max(2, math.ceil(n * (half_width / abs(diff)) ** 2))


def stable(half_width: float, diff: float) -> bool:
    """Whether the verdict is stable now: the 95% half-width is below |diff|."""
    return math.isfinite(half_width) and abs(diff) > half_width


def best_shares(values: pd.DataFrame, lower_is_better: bool = False) -> pd.Series:
    """Per column (a strategy or vendor), the share of rows (replications) in which it
    is best, ties shared equally; rows with a missing value are left out. Sums to 1."""
    x = values.dropna().to_numpy(float)
    if not x.size:
        return pd.Series(np.nan, index=values.columns)
    if lower_is_better:
        x = -x
    top = x == x.max(axis=1, keepdims=True)
    share = (top / top.sum(axis=1, keepdims=True)).mean(axis=0)
    return pd.Series(share, index=values.columns)


@dataclass(frozen=True)
class Dependence:
    """The drawn parameter a paired difference hangs on most, and the split at its
    median: the leader's lead share (ties half) at or above the split and below it."""

    name: str
    rho: float
    split: float
    share_above: float
    n_above: int
    share_below: float
    n_below: int
    strict: bool = False  # "above" is > split (else >= split)


def depends_most(d: np.ndarray, drawn: pd.DataFrame) -> Dependence | None:
    """The column of `drawn` (one row per replication: its drawn parameter values) whose
    values correlate most with the paired differences `d` (Spearman, by |rho|), and the
    leader's lead share on either side of that parameter's median. None when no
    parameter varies, or the difference does not."""
    d = np.asarray(d, float)
    if d.size < 3 or np.nanstd(d) == 0:
        return None
    best: tuple[float, str] | None = None
    for name in drawn.columns:
        x = drawn[name].to_numpy(float)
        if np.unique(x[~np.isnan(x)]).size < 2:
            continue
        rho = float(stats.spearmanr(x, d, nan_policy="omit").statistic)
        if math.isfinite(rho) and (best is None or abs(rho) > abs(best[0])):
            best = (rho, name)
    if best is None:
        return None
    rho, name = best
    x = drawn[name].to_numpy(float)
    split = float(np.nanmedian(x))
    above, strict = x >= split, False
    if above.all():  # many draws at the median: split just above it instead
        above, strict = x > split, True
    if not above.any() or above.all():
        return None
    up, down = leads(d[above]), leads(d[~above])
    return Dependence(name, rho, split, up.share, up.n, down.share, down.n, strict)
