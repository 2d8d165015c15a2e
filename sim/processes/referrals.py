"""Referrals and reviews: referral sources ask the buyer's graph neighbours, and topic
communities show critics' public reviews (docs/model.md, referrals and reviews).

Satisfied customers recommend their vendor, dissatisfied ones warn against it: the
preference change is credibility x referral_weight x tanh(sum of contacts' opinions / 2),
and a recommended vendor enters the consideration set. Which recommendations make a
purchase "referred" is the scenario's [referrals] credit (§10a). Spectators (Forrester: 98% of
decision makers read what others post) take in reviews in topic communities: a review
score (positive - negative) / (all + REVIEW_PRIOR) per vendor they consider.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.arrays import add_rows, rows_of
from sim.channels import TOPIC_COMMUNITIES
from sim.processes.base import Process, Week
from sim.state import ORIGIN_REFERRAL

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel

#: Critic reviews needed before a vendor's review score carries half its weight.
#: Illustrative (docs/model.md, constants).
REVIEW_PRIOR = 10.0


def review_scores(reviews: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Each vendor's public review score: (positive - negative) / (all + REVIEW_PRIOR),
    with the sample's review counts scaled to the market (`scale` real buyers each)."""
    r = reviews * scale
    return (r[0] - r[1]) / (r.sum(0) + REVIEW_PRIOR)


class Referrals(Process):
    """What contacts say, for this week's consultations of referral sources. A referral
    consultation that showed no paid vendor names the most recommended one when
    `week.name_referrals` (`week.referral_named`; in the touch log when touches are
    recorded). No draws."""

    name = "referrals"

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        c = week.consultations
        if c is None:
            return
        r_idx = np.flatnonzero(model.channels.referral[c.channel])
        if not r_idx.size:
            return
        state = model.buyers
        sig = rows_of(state.neighbour_opinion, c.buyer[r_idx])
        # contacts who say nothing change nothing: only buyers with a voice among them
        live = sig.any(1)
        r_idx, sig = r_idx[live], sig[live]
        buyers = c.buyer[r_idx]
        weight = model.channels.credibility[c.stage_row[r_idx], c.channel[r_idx]]
        delta = (weight * model.spec.choice.referral_weight)[:, None] * np.tanh(sig / 2.0)
        add_rows(state.preference, buyers, delta)
        pr, pv = np.nonzero(sig > 0)
        state.enter(buyers[pr], pv, ORIGIN_REFERRAL)
        if model.spec.referrals.strict:
            # the v3 credit (§10a): a recommendation from outside the account, before the
            # group first contacted the vendor
            n_vendors = state.outside_opinion.shape[1]
            rb = buyers[pr]
            model.accounts.sync(state.account[rb], state.journey[rb])
            outside = state.outside_opinion.reshape(-1).take(rb * n_vendors + pv) > 0
            contacted = model.accounts.contacted.reshape(-1)
            fresh = ~contacted.take(state.account[rb] * n_vendors + pv)
            keep = outside & fresh
            state.referred[rb[keep], pv[keep]] = True
        else:
            state.referred[buyers[pr], pv] = True
        if not week.name_referrals:
            return  # what follows only names vendors (the touch log, tracking)
        # a consultation that showed no vendor names the most recommended one
        best = np.argmax(sig, axis=1)
        named = np.flatnonzero((c.vendor[r_idx] < 0) & (sig[np.arange(r_idx.size), best] > 0))
        rows, best = r_idx[named], best[named]
        week.referral_named = (rows, best, delta[named, best])
        if week.record_touches:  # the touch table names it
            c.vendor[rows] = best
            c.gain[rows] = week.referral_named[2]


class Reviews(Process):
    """Spectators consulting topic communities take in critics' reviews of the vendors
    they consider. No draws."""

    name = "reviews"

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        c = week.consultations
        if c is None:
            return
        score = review_scores(model.market.reviews, model.market_scale)
        if not score.any():
            return  # no reviews yet (or all balanced): nothing to take in
        state = model.buyers
        tc = np.flatnonzero(c.channel == TOPIC_COMMUNITIES)
        tc = tc[state.spectator[c.buyer[tc]]]
        if not tc.size:
            return
        w = (
            model.channels.credibility[c.stage_row[tc], TOPIC_COMMUNITIES]
            * model.spec.choice.review_weight
        )
        buyers = c.buyer[tc]
        considered = rows_of(state.considered, buyers)
        add_rows(state.preference, buyers, w[:, None] * score[None, :] * considered)
