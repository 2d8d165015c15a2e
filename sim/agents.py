"""Buyer and Vendor: the Mesa agents users and the live view look at.

The weekly step never loops over agents: buyer state lives in the model's arrays and a
Buyer reads its own row (its `row` is its node on the referral graph). This keeps one
step over thousands of buyers in vectorised numpy while `model.agents` still holds one
agent per buyer for inspection and visualisation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
from mesa.discrete_space import FixedAgent

from sim.channels import Stage
from sim.scenario import SENIORITIES

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel


class Buyer(FixedAgent):
    """A B2B buyer on one node of the referral graph; a view of the model's arrays."""

    model: BuyerJourneyModel

    def __init__(self, model: BuyerJourneyModel, row: int) -> None:
        super().__init__(model)
        self.row = int(row)

    @property
    def stage(self) -> Stage:
        """Where the buyer is now: idle, early, middle, final, bought or no decision."""
        return Stage(int(self.model.stage[self.row]))

    @property
    def seniority(self) -> str:
        """individual, manager, director, vp or c_level."""
        return SENIORITIES[int(self.model.seniority[self.row])]

    @property
    def uses_social(self) -> bool:
        """True if this buyer uses social media to make purchase decisions."""
        return bool(self.model.uses_social[self.row])

    @property
    def budget(self) -> float:
        """Deal budget (currency); a purchase is worth budget x the vendor's price index."""
        return float(self.model.budget[self.row])

    @property
    def preference(self) -> dict[str, float]:
        """Current preference for each vendor in this journey."""
        return dict(
            zip(self.model.vendor_names, self.model.preference[self.row].tolist(), strict=True)
        )

    @property
    def vendor(self) -> str | None:
        """The vendor this buyer last bought from, if any."""
        v = int(self.model.incumbent[self.row])
        return None if v < 0 else self.model.vendor_names[v]


class Vendor(mesa.Agent):
    """A vendor competing for buyers; its strategy comes from the scenario."""

    model: BuyerJourneyModel

    def __init__(self, model: BuyerJourneyModel, index: int) -> None:
        super().__init__(model)
        self.index = int(index)
        self.strategy = model.spec.vendors[self.index]

    @property
    def name(self) -> str:
        """The vendor's name in the scenario."""
        return self.strategy.name

    @property
    def conversions(self) -> int:
        """Purchases won so far."""
        return int(self.model.conversions[self.index])

    @property
    def revenue(self) -> float:
        """Deal value won so far."""
        return float(self.model.revenue[self.index])

    @property
    def spend(self) -> float:
        """Marketing spend so far (channels, social selling, referral rewards)."""
        return float(self.model.marketing_spend()[self.index])
