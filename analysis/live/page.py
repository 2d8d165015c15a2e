"""The live view's page: one model per browser session, SolaraViz around it, the set-up
controls (applied on Reset) and the session's views (panels.py) in the main area.

`Page` is what `solara run analysis/live/app.py` serves (`python run.py viz`). A
session's state (its model, strategy overrides, graph layouts, picked buyer, colouring,
DATA-loop set-up and truth file) is made in `Page` for that session; nothing is kept
at module level.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import solara
from mesa.visualization import SolaraViz

from analysis.live.inputs import initial_buyers, initial_scenario_path
from analysis.live.layout import LayoutCache
from analysis.live.loop import LoopSetup, load_view_scenario
from analysis.live.panels import (
    BuyerView,
    FunnelView,
    GraphView,
    GroupsView,
    LoopControls,
    LoopView,
    SourceUseView,
    StrategyControls,
    VendorsView,
    VendorTableView,
)
from analysis.live.state import Strategies, VizModel
from analysis.live.style import COLOUR_BY
from sim.scenario import Scenario

#: The referral graph kinds the set-up offers (and "file" for a scenario that reads one).
GRAPH_KINDS = ("watts_strogatz", "barabasi_albert", "powerlaw_cluster")


def model_params(
    scenario: Scenario,
    scenario_path: str,
    buyers: int,
    strategies: Strategies,
    layouts: LayoutCache,
    loop: LoopSetup | None = None,
) -> dict[str, Any]:
    """SolaraViz's set-up controls (applied on Reset) and the session's fixed parameters
    (strategy overrides, layout cache), which SolaraViz hands to every model it builds."""
    kinds = list(GRAPH_KINDS) + (["file"] if scenario.network.kind == "file" else [])
    return {
        "scenario_file": {"type": "InputText", "value": scenario_path, "label": "Scenario file"},
        "buyers": {
            "type": "SliderInt",
            "value": buyers,
            "min": 100,
            "max": max(20_000, buyers),
            "step": 100,
            "label": "Buyers (on Reset)",
        },
        "graph": {
            "type": "Select",
            "value": scenario.network.kind,
            "values": kinds,
            "label": "Graph type (on Reset)",
        },
        "seed": {"type": "InputText", "value": str(scenario.seed), "label": "Seed (on Reset)"},
        "strategies": strategies,
        "layouts": layouts,
        "loop": loop if loop is not None else LoopSetup(),
    }


def session_views(
    picked: solara.Reactive[int | None],
    colour_by: solara.Reactive[str],
    loop_vendor: solara.Reactive[str | None] | None = None,
    truth_file: solara.Reactive[str] | None = None,
) -> list[Callable]:
    """The main area's views of one session; the graph and the journey card share the
    session's picked buyer (and the graph its colouring), the DATA-loop panel (empty
    without data-loop vendors, last so it sits beside the vendor table) the chosen
    adaptive vendor and the sidebar's truth file. (SolaraViz calls each view with
    the model only, and wraps a plain function in a new component class on every render,
    so these are components.)"""

    @solara.component
    def ReferralGraphView(model: VizModel):
        return GraphView(model, picked, colour_by)

    @solara.component
    def BuyerJourneyView(model: VizModel):
        return BuyerView(model, picked)

    vendor = loop_vendor if loop_vendor is not None else solara.reactive(None)
    truth = truth_file if truth_file is not None else solara.reactive("")

    @solara.component
    def DataLoopView(model: VizModel):
        return LoopView(model, vendor, truth)

    return [
        ReferralGraphView,
        BuyerJourneyView,
        FunnelView,
        VendorsView,
        GroupsView,
        SourceUseView,
        VendorTableView,
        DataLoopView,
    ]


@solara.component
def Page():
    """One model per browser session, built when the page opens; the session's state
    (strategy overrides, layout cache, picked buyer) lives here, not at module level."""

    def first_model():
        path = initial_scenario_path()
        scenario, _ = load_view_scenario(path)
        strategies = Strategies()
        layouts = LayoutCache()
        loop = LoopSetup()
        buyers = initial_buyers(scenario)
        model = VizModel(
            path, buyers, scenario.network.kind, scenario.seed, strategies, layouts, loop
        )
        params = model_params(scenario, path, buyers, strategies, layouts, loop)
        return model, params, strategies, loop

    initial, params, strategies, loop = solara.use_memo(first_model, [])
    model = solara.use_reactive(initial)
    picked = solara.use_reactive(None)
    colour_by = solara.use_reactive(COLOUR_BY[0])
    loop_vendor = solara.use_reactive(None)
    truth_file = solara.use_reactive("")
    views = solara.use_memo(lambda: session_views(picked, colour_by, loop_vendor, truth_file), [])
    SolaraViz(
        model,
        components=list(views),
        model_params=params,
        name="B2B buyer journeys",
        play_interval=150,
    )
    with solara.Sidebar():
        StrategyControls(model, strategies)
        LoopControls(model, loop, truth_file)


page = Page
