"""Organic discovery: vendors are also found without paid media (organic search results,
earned media, review sites), more so with higher quality, better reviews and a larger
installed base, so a good product with no budget still gets found (docs/model.md §9a).

A consultation of a channel that showed no paid vendor shows one organically with chance
`organic.reach[channel]`; which vendor, in proportion to its visibility

    exp(quality_weight x (quality - 0.5)) x exp(review_weight x review score)
        x (1 + base_weight x share of buyers who are its customers).

An organic exposure works like a paid one (preference + the channel's credibility, the
vendor enters the consideration set) but is not a marketing touch: a customer it brings
is not marketing-originated. Off unless the scenario gives `[organic] reach`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.arrays import add_at
from sim.channels import CHANNEL_NAMES
from sim.processes.base import Process, Week
from sim.processes.referrals import review_scores
from sim.processes.research import pick_exposed_vendor
from sim.sampling import DiscreteSampler
from sim.state import ORIGIN_ORGANIC

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel


def visibility(model: BuyerJourneyModel) -> np.ndarray:
    """Each vendor's organic visibility (relative weights, V,)."""
    o, market, state = model.spec.organic, model.market, model.buyers
    customers = np.bincount(state.incumbent[state.incumbent >= 0], minlength=market.n)
    return (
        np.exp(o.quality_weight * (market.quality - 0.5))
        * np.exp(o.review_weight * review_scores(market.reviews, model.market_scale))
        * (1.0 + o.base_weight * customers / state.n)
        * market.present  # a vendor not (or no longer) in the market is not found
    )


class OrganicDiscovery(Process):
    """Draws one "organic" uniform per consultation of the week (whatever was shown, so
    the shape never depends on a strategy); consultations that showed no paid vendor may
    show one organically."""

    name = "organic"
    streams = ("organic",)

    def bind(self, model: BuyerJourneyModel) -> None:
        reach = model.spec.organic.reach
        self.reach = np.array([reach.get(c, 0.0) for c in CHANNEL_NAMES])
        self.on = bool(self.reach.any())

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        c = week.consultations
        if not self.on or c is None:
            return
        u = self.stream(model, "organic").random(c.buyer.size)
        vis = visibility(model)
        if not vis.any():
            return
        cdf = self.reach[:, None] * np.cumsum(vis / vis.sum())[None, :]  # (C, V)
        vendor = pick_exposed_vendor(u, c.channel, DiscreteSampler(cdf))
        hit = np.flatnonzero((vendor >= 0) & (c.vendor < 0))
        g = model.channels.credibility[c.stage_row[hit], c.channel[hit]]
        add_at(model.buyers.preference, c.buyer[hit], vendor[hit], g)
        c.vendor[hit], c.gain[hit] = vendor[hit], g
        seen = hit[g > 0]
        model.buyers.enter(c.buyer[seen], vendor[seen], ORIGIN_ORGANIC)
