"""Installed base: at week 0 a share of the buyers are already a vendor's customers
(`installed_base` per vendor), satisfied with chance equal to its quality, and they talk
about it like any customer; a renewal keeps the incumbent unless the buyer switches,
which costs `choice.switching_cost` in utility (docs/model.md §17a)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.processes.base import Process, Week
from sim.processes.word_of_mouth import advocacy, update_neighbour_sums

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel


class InstalledBase(Process):
    """A set-up rule: when it joins the model it makes the week-0 customers. Draws two
    "installed_base" uniforms per buyer (which vendor, satisfied or not), only when some
    vendor has an installed base. Nothing happens in the weeks after."""

    name = "installed_base"
    streams = ("installed_base",)

    def bind(self, model: BuyerJourneyModel) -> None:
        shares = np.array([v.installed_base for v in model.spec.vendors])
        if not shares.any() or model.week > 0:
            return
        state, market = model.buyers, model.market
        u = self.stream(model, "installed_base").random((state.n, 2))
        vendor = np.searchsorted(np.cumsum(shares), u[:, 0], side="right")
        buyers = np.flatnonzero(vendor < market.n)
        vendors = vendor[buyers]
        satisfied = u[buyers, 1] < market.quality[vendors]
        old_opinion = state.opinion[buyers].copy()
        old_customer = state.incumbent[buyers].copy()
        state.incumbent[buyers] = vendors
        strength = np.where(
            satisfied, state.span[buyers] * advocacy(model)[vendors], -state.span[buyers]
        )
        state.opinion[buyers, vendors] = strength
        update_neighbour_sums(state, model.adjacency, buyers, old_opinion, old_customer)
        crit = state.critic[buyers]
        np.add.at(market.reviews, (np.where(satisfied[crit], 0, 1), vendors[crit]), 1)

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        """Nothing each week: renewals are decisions (sim/processes/decision.py)."""
