"""The buyer-journey model core: scenarios in, tidy tables out.

from sim import BuyerJourneyModel, load_scenario
model = BuyerJourneyModel(load_scenario("scenarios/baseline.toml"), seed=7).run()
tables = model.tables()   # buyers, journeys, touches, weekly, source_use, spend, vendors

`BuyerJourneyModel` is imported on first use: importing `sim` (or `sim.scenario`, to
validate a file) does not import Mesa, pandas or matplotlib.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.scenario import Scenario, ScenarioError, load_scenario

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel

__all__ = ["BuyerJourneyModel", "Scenario", "ScenarioError", "load_scenario"]


def __getattr__(name: str) -> Any:
    if name == "BuyerJourneyModel":
        from sim.model import BuyerJourneyModel

        return BuyerJourneyModel
    raise AttributeError(f"module 'sim' has no attribute {name!r}")
