"""The buyer-journey model core: scenarios in, tidy tables out.

from sim import BuyerJourneyModel, load_scenario
model = BuyerJourneyModel(load_scenario("scenarios/baseline.toml"), seed=7).run()
tables = model.tables()   # buyers, journeys, touches, weekly, vendors (DataFrames)
"""

from sim.model import BuyerJourneyModel
from sim.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["BuyerJourneyModel", "Scenario", "ScenarioError", "load_scenario"]
