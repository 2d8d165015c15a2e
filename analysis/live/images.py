"""The charts as the page shows them: PNG bytes by chart name, each chart built once per
model (kept in `model.charts`) and re-rendered for the model's current week."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from analysis.live.charts import (
    Chart,
    FunnelChart,
    GroupsChart,
    LoopChart,
    SourceUseChart,
    VendorsChart,
)
from analysis.live.graph_chart import GraphChart
from analysis.live.style import COLOUR_BY

if TYPE_CHECKING:
    from analysis.live.state import VizModel


CHARTS: dict[str, type[Chart]] = {
    "graph": GraphChart,
    "funnel": FunnelChart,
    "vendors": VendorsChart,
    "sources": SourceUseChart,
    "groups": GroupsChart,
}


def chart_png(
    model: VizModel, name: str, highlight: int | None = None, colour_by: str = COLOUR_BY[0]
) -> bytes:
    """The PNG of chart `name` for the model's current week (`highlight`: a buyer to
    mark on the graph, with its buying group; `colour_by`: what the graph's dots show)."""
    chart = model.charts.get(name)
    if chart is None:
        chart = model.charts.setdefault(name, CHARTS[name](model))
    return chart.png(model, highlight, colour_by)


def loop_png(model: VizModel, vendor: int, truth: pd.DataFrame | None = None) -> bytes:
    """The PNG of data-loop vendor `vendor`'s chart (`LoopChart`) for the model's
    current week, with `truth` (a truth table; None: believed returns only)."""
    name = f"loop:{vendor}"
    chart = model.charts.get(name)
    if chart is None:
        chart = model.charts.setdefault(name, LoopChart(model, vendor))
    chart.truth = truth
    return chart.png(model)
