"""Social selling: a vendor's salespeople reach in-market joiners through their networks
(a referred salesperson), more likely the more of the buyer's contacts are the vendor's
customers; at most once per vendor and journey (docs/model.md, social selling).

Weekly chance: reach(spend) x (1 - exp(-customers among contacts)), with
reach(spend) = SOCIAL_SELLING_REACH x (1 - exp(-spend / SOCIAL_SELLING_HALF_SATURATION)).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.arrays import add_at
from sim.channels import SALES_REPS
from sim.processes.base import Contacts, Process, Week
from sim.processes.research import mark_contacted, record_sales_contact
from sim.state import ORIGIN_SOCIAL_SELLING

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel

#: Weekly social-selling spend at which a vendor reaches 1 - 1/e of its possible contacts.
#: Illustrative (docs/model.md, constants).
SOCIAL_SELLING_HALF_SATURATION = 5_000.0
#: Weekly chance that a buyer with a customer of the vendor among their contacts is reached
#: by that vendor's referred salesperson, at saturating social-selling spend. Illustrative.
SOCIAL_SELLING_REACH = 0.15
#: A salesperson met through a shared contact is trusted more than a cold call. Illustrative.
REFERRED_SALES_TRUST = 2.0


def social_selling_reach(spend: np.ndarray, audience: float = 1.0) -> np.ndarray:
    """Each vendor's weekly reach at its social-selling spend (saturating), for a market of
    `audience` x REFERENCE_AUDIENCE buyers (a larger market needs more salespeople)."""
    half = SOCIAL_SELLING_HALF_SATURATION * audience
    return SOCIAL_SELLING_REACH * (1.0 - np.exp(-spend / half))


class SocialSelling(Process):
    """Draws one "social_selling" uniform per (in-market joiner, vendor), whatever the
    vendors spend, then decides with each vendor's reach."""

    name = "social_selling"
    streams = ("social_selling",)

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        if not week.active.size:
            return
        state = model.buyers
        joiner = state.joiner[week.active]
        active = week.active[joiner]
        u = self.stream(model, "social_selling").random((active.size, model.market.n))
        reach = social_selling_reach(model.market.social_selling, model.audience)
        if not reach.any():
            return
        # a salesperson only gets a meeting once the buyer has done enough research
        ready = week.research_share[joiner] >= model.spec.sales.social_selling_min_readiness
        # p <= reach: test that first, the exact chance only for the few candidates
        rows, vs = np.nonzero((u < reach[None, :]) & ready[:, None])
        buyers = active[rows]
        customers = state.neighbour_customers[buyers, vs]
        p = reach[vs] * (1.0 - np.exp(-customers))
        keep = (u[rows, vs] < p) & ~state.social_sold[buyers, vs]
        buyers, vs = buyers[keep], vs[keep]
        if not buyers.size:
            return
        stage_row = state.stage[buyers].astype(np.int64) - 1
        g = model.channels.credibility[stage_row, SALES_REPS] * REFERRED_SALES_TRUST
        add_at(state.preference, buyers, vs, g)
        state.social_sold[buyers, vs] = True
        state.enter(buyers, vs, ORIGIN_SOCIAL_SELLING)
        total = model.stage_effort.sum() * state.effort_scale[buyers]
        record_sales_contact(state, buyers, state.progress[buyers] / total)
        mark_contacted(model, buyers, vs)
        week.contacts = Contacts(buyers, state.journey[buyers], stage_row, vs, g)
