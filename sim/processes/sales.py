"""The sales pipeline: a purchase needs a quote from the vendor's sales team (unless the
vendor is self-serve). A buyer who has done the research share at which it talks to sales
(Forrester: 65-90%, docs/sources.md §4) asks the vendors it considers for quotes; each
vendor's team answers with chance `sales.quote_response` a week (1: within the week, the
default, with no draws at all). The first quote is the buyer's first sales contact unless
a rep met it before (docs/model.md §13a)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.arrays import rows_of
from sim.processes.base import Contacts, Process, Week
from sim.processes.research import mark_contacted, record_sales_contact

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel


class SalesPipeline(Process):
    """With quote_response < 1, draws one "sales" uniform per (in-market buyer ready for
    sales, vendor) each week: who is ready depends on research only, so the shape never
    depends on a strategy."""

    name = "sales"
    streams = ("sales",)

    def bind(self, model: BuyerJourneyModel) -> None:
        self.on = model.spec.sales.quotes_required

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        if not self.on or not week.active.size:
            return
        state = model.buyers
        share = week.research_share
        ready = week.sales_ready
        if ready is None:
            ready = share >= state.sales_readiness[week.active]
        buyers, share = week.active[ready], share[ready]
        asked = rows_of(state.considered, buyers) & ~rows_of(state.quoted, buyers)
        if not model.market.present.all():
            asked &= model.market.present[None, :]
        if model.spec.consideration.on:  # only the group's shortlist is asked (§12a)
            asked &= rows_of(model.accounts.shortlist, state.account[buyers])
        response = model.spec.sales.quote_response
        if response < 1.0:
            asked &= self.stream(model, "sales").random((buyers.size, model.market.n)) < response
        rows, vs = np.nonzero(asked)
        if not rows.size:
            return
        quoted = buyers[rows]
        state.quoted[quoted, vs] = True
        record_sales_contact(state, quoted, share[rows])
        mark_contacted(model, quoted, vs)
        stage_row = state.stage[quoted].astype(np.int64) - 1
        week.quotes = Contacts(quoted, state.journey[quoted], stage_row, vs, np.zeros(quoted.size))
