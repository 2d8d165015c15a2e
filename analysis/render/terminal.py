"""Readable terminal summaries of one run: the vendor scorecard and the stage funnel."""

from __future__ import annotations

import math

import pandas as pd


def horizon(weeks: int, spin_up_weeks: int) -> str:
    """The recorded weeks, and the spin-up before them when there is one (docs/model.md
    §1a): "104 weeks (after a 52-week spin-up, discarded)"."""
    text = f"{weeks} weeks"
    return f"{text} (after a {spin_up_weeks}-week spin-up, discarded)" if spin_up_weeks else text


def _money(x: float) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    for unit, div in (("M", 1e6), ("k", 1e3)):
        if abs(x) >= div:
            return f"{x / div:,.1f}{unit}"
    return f"{x:,.0f}"


def percent(x: float) -> str:
    """A share as a percentage with one decimal ('-' for missing)."""
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _num(x: float, digits: int = 1) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:,.{digits}f}"


def format_table(headers: list[str], rows: list[list[str]], right: set[int] | None = None) -> str:
    """A plain-text table with aligned columns (first column left, numbers right)."""
    right = right if right is not None else set(range(1, len(headers)))
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            str(c).rjust(w) if i in right else str(c).ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def vendor_summary(vendors: pd.DataFrame) -> str:
    """The vendor table: conversions, win share, revenue, spend, ROI, CAC, BEV, originated."""
    headers = [
        "vendor",
        "conversions",
        "win share",
        "revenue",
        "mkt spend",
        "ROI",
        "cost/acq.",
        "break-even",
        "mkt-originated",
    ]
    rows = [
        [
            r.vendor,
            f"{r.conversions:,}",
            percent(r.win_share),
            _money(r.revenue),
            _money(r.marketing_spend),
            _num(r.roi, 2),
            _money(r.cost_per_acquisition),
            _num(r.break_even_volume, 0),
            percent(r.originated_share),
        ]
        for r in vendors.itertuples()
    ]
    return format_table(headers, rows)


def funnel_summary(funnel: dict[str, int]) -> str:
    """The stage funnel with conversion rates between steps."""
    steps = [
        ("needs (early stage)", "reached_early"),
        ("middle stage", "reached_middle"),
        ("final stage", "reached_final"),
        ("decided", "decided"),
        ("purchased", "purchases"),
    ]
    top = max(funnel["reached_early"], 1)
    rows = []
    for label, key in steps:
        n = funnel[key]
        bar = "#" * round(30 * n / top)
        rows.append([label, f"{n:,}", percent(n / top), bar])
    rows.append(
        ["no decision", f"{funnel['no_decisions']:,}", percent(funnel["no_decisions"] / top), ""]
    )
    rows.append(["still open", f"{funnel['open']:,}", percent(funnel["open"] / top), ""])
    return format_table(["stage funnel", "journeys", "of all", ""], rows, right={1, 2})
