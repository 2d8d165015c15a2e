"""Decision: at the end of the final stage the buyer chooses among the vendors it
considers (multinomial logit on preference, fit and price) or makes no decision (the
status quo). A purchase is a Conversion worth the buyer's budget times the vendor's
price (docs/model.md, decision)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.arrays import rows_of
from sim.channels import Stage
from sim.processes.base import ClosedJourneys, Process, Week
from sim.state import ORIGIN_MARKETING

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel
    from sim.state import BuyerState


def logit_choice(utility: np.ndarray, status_quo: float, u: np.ndarray) -> np.ndarray:
    """Multinomial logit over vendors plus the outside option; -1 means no decision."""
    full = np.concatenate([np.full((utility.shape[0], 1), status_quo), utility], axis=1)
    full -= full.max(1, keepdims=True)
    p = np.exp(full)
    cdf = np.cumsum(p, 1) / p.sum(1, keepdims=True)
    pick = np.minimum((u[:, None] >= cdf).sum(1), utility.shape[1])
    return pick - 1


class Decision(Process):
    """The deciders choose; vendors book conversions, revenue, originated customers and
    referral rewards; buyers rest `engage_weeks`; journeys close. Draws a (deciders, 2)
    block of "decision" uniforms: column 0 the choice, column 1 the satisfaction that
    the word-of-mouth process reads. Who decides depends on research only, never on a
    vendor: a fixed shape."""

    name = "decision"
    streams = ("decision",)

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        rows = week.deciders
        if not rows.size:
            return
        u = self.stream(model, "decision").random((rows.size, 2))
        state, market, c = model.buyers, model.market, model.spec.choice
        buyers = week.active[rows]
        utility = (
            c.preference_weight * rows_of(state.preference, buyers)
            + rows_of(state.fit, buyers)
            - c.price_weight * (market.price[None, :] - 1.0)
        )
        if c.switching_cost > 0:  # a renewal keeps the incumbent unless switching pays
            inc = state.incumbent[buyers]
            rows = np.flatnonzero(inc >= 0)
            utility[rows, inc[rows]] += c.switching_cost
        can_buy = rows_of(state.considered, buyers)
        if model.spec.sales.quotes_required:  # a purchase needs a quote (or self-serve)
            can_buy = can_buy & (rows_of(state.quoted, buyers) | market.self_serve[None, :])
        utility = np.where(can_buy, utility, -np.inf)
        choice = logit_choice(utility, c.status_quo, u[:, 0])
        bought = choice >= 0
        b_rows, vs = buyers[bought], choice[bought]
        deal = np.zeros(buyers.size)
        deal[bought] = state.budget[b_rows] * market.price[vs]
        week.purchases = (b_rows, vs, u[bought, 1])
        conv = np.zeros(market.n, dtype=np.int64)
        rev = np.zeros(market.n)
        np.add.at(conv, vs, 1)
        np.add.at(rev, vs, deal[bought])
        originated = state.origin[b_rows, vs] == ORIGIN_MARKETING
        referred = state.referred[b_rows, vs]
        np.add.at(market.originated, vs[originated], 1)
        np.add.at(market.originated_revenue, vs[originated], deal[bought][originated])
        # rewards are paid for the market's referred conversions (each stands for `scale`)
        reward = market.referral_reward[vs[referred]] * model.market_scale
        np.add.at(market.referral_payouts, vs[referred], reward)
        market.conversions += conv
        market.revenue += rev
        week.conversions, week.revenue = conv, rev
        state.stage[buyers] = np.where(bought, Stage.BOUGHT, Stage.NO_DECISION).astype(np.int8)
        state.rest_until[buyers] = week.number + model.spec.buyers.engage_weeks
        state.rest_ends.add(state.rest_until[buyers], buyers)
        week.closed = close_journeys(state, buyers, bought, vs, deal, originated, referred, week)


def close_journeys(
    state: BuyerState,
    buyers: np.ndarray,
    bought: np.ndarray,
    vs: np.ndarray,
    deal: np.ndarray,
    originated: np.ndarray,
    referred: np.ndarray,
    week: Week,
) -> ClosedJourneys:
    """The record of the journeys that end now; the buyers no longer have one open."""
    vendor = np.full(buyers.size, -1, dtype=np.int64)
    vendor[bought] = vs
    orig = np.zeros(buyers.size, dtype=bool)
    orig[bought] = originated
    ref = np.zeros(buyers.size, dtype=bool)
    ref[bought] = referred
    closed = ClosedJourneys(
        journey_id=state.journey[buyers].copy(),
        buyer_id=buyers.copy(),
        start_week=state.journey_start[buyers].copy(),
        end_week=np.full(buyers.size, week.number),
        outcome=np.where(bought, 1, 0).astype(np.int8),
        vendor=vendor,
        deal_value=deal,
        share_at_contact=state.share_at_contact[buyers].copy(),
        originated=orig,
        referred=ref,
    )
    state.journey[buyers] = -1
    return closed
