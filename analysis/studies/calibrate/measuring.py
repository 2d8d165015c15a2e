"""The pieces every measure shares: a Moment (one target measured on one run), the
NotMeasurable signal, and the checks that a run's table has the columns a measure needs."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Moment:
    """One target measured on one run: the value (NaN: not measurable, `note` says why),
    the number of observations behind it, and descriptive extras (e.g. p10, p90)."""

    value: float
    n: int = 0
    note: str = ""
    extra: tuple[tuple[str, float], ...] = ()


class NotMeasurable(Exception):
    """The run's tables cannot give this target (a missing column, no observations)."""


def _need(df: pd.DataFrame | None, table: str, *columns: str) -> pd.DataFrame:
    if df is None:
        raise NotMeasurable(f"no {table} table")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise NotMeasurable(f"the {table} table has no {', '.join(missing)} column")
    return df


def _closed(journeys: pd.DataFrame) -> pd.DataFrame:
    return journeys[journeys["outcome"].isin(["purchase", "no_decision"])]


def _rate(hits: int, n: int, what: str) -> Moment:
    if n == 0:
        raise NotMeasurable(f"no {what}")
    return Moment(hits / n, n)
