"""Installed base: at week 0 a share of the accounts are already a vendor's customers
(`installed_base` per vendor; every member of the account), satisfied with chance equal
to its quality, and they talk
about it like any customer; a renewal keeps the incumbent unless the buyer switches,
which costs `choice.switching_cost` in utility (docs/model.md §17a)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.processes.base import Process, Week
from sim.processes.word_of_mouth import become_customers

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel


class InstalledBase(Process):
    """A set-up rule: when it joins the model it makes the week-0 customers. Draws two
    "installed_base" uniforms per account (which vendor, satisfied or not), only when some
    vendor has an installed base. Nothing happens in the weeks after."""

    name = "installed_base"
    streams = ("installed_base",)

    def bind(self, model: BuyerJourneyModel) -> None:
        shares = np.array([v.installed_base for v in model.spec.vendors])
        if not shares.any() or model.week > 0:
            return
        accounts, market = model.accounts, model.market
        u = self.stream(model, "installed_base").random((accounts.n, 2))
        vendor = np.searchsorted(np.cumsum(shares), u[:, 0], side="right")
        customers = np.flatnonzero(vendor < market.n)
        buyers, group = accounts.members(customers)
        vendors = vendor[customers][group]
        satisfied = u[customers, 1][group] < market.quality[vendors]
        become_customers(model, buyers, vendors, satisfied)

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        """Nothing each week: renewals are decisions (sim/processes/decision.py)."""
