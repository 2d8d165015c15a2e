"""Decision: when its last member has finished the final stage, a buying group decides.
Each member picks among the vendors it can buy (considered and quoted; multinomial logit
on preference, fit and price) or the status quo; the group buys the vendor with the most
support (weighted by span of control) if members holding at least `accounts.consensus`
of the group's weight back it, and otherwise ends in no decision: the status quo won, or
the group could not agree (CEB, "The Consensus Sale": docs/sources.md §10). A purchase
is one Conversion worth the lead's budget times the vendor's price (docs/model.md,
decision). A one-person group decides exactly as that buyer's choice."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.arrays import rows_of
from sim.channels import Stage
from sim.processes.base import Ballots, ClosedJourneys, Process, Week
from sim.processes.deals import deal_values
from sim.processes.shortlist import masks, member_utility
from sim.state import ORIGIN_MARKETING, ORIGIN_NONE

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel
    from sim.state import AccountState, BuyerState

#: Why a journey ended without a purchase (the journeys table's no_decision_reason).
REASONS = ("", "status_quo", "no_consensus")
BOUGHT, STATUS_QUO, NO_CONSENSUS = range(3)


def logit_choice(utility: np.ndarray, status_quo: float, u: np.ndarray) -> np.ndarray:
    """Multinomial logit over vendors plus the outside option; -1 means no decision."""
    full = np.concatenate([np.full((utility.shape[0], 1), status_quo), utility], axis=1)
    full -= full.max(1, keepdims=True)
    p = np.exp(full)
    cdf = np.cumsum(p, 1) / p.sum(1, keepdims=True)
    pick = np.minimum((u[:, None] >= cdf).sum(1), utility.shape[1])
    return pick - 1


def consensus(
    choice: np.ndarray,
    weight: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    n_vendors: int,
    threshold: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The groups' decisions from their members' choices (-1: status quo).

    Each group tallies its members' weights per option; the option with the most weight
    wins if it is a vendor backed by at least `threshold` of the group's weight (ties go
    to the status quo, then to the lower vendor index). Returns each group's vendor (-1:
    none) and the reason code (BOUGHT, STATUS_QUO: the status quo had the most support,
    NO_CONSENSUS: a vendor led without enough backing)."""
    options = n_vendors + 1
    votes = np.bincount(
        group * options + choice + 1, weights=weight, minlength=n_groups * options
    ).reshape(n_groups, options)
    top = votes.argmax(1)
    support = votes[np.arange(n_groups), top] / votes.sum(1)
    agreed = (top > 0) & (support >= threshold - 1e-12)
    verdict = np.where(agreed, top - 1, -1)
    reason = np.where(agreed, BOUGHT, np.where(top == 0, STATUS_QUO, NO_CONSENSUS))
    return verdict, reason


def group_index(account: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For members listed group by group: each member's group number (0..G-1) and the
    position of each group's first member (its lead)."""
    head = np.flatnonzero(np.r_[True, account[1:] != account[:-1]])
    group = np.zeros(account.size, dtype=np.int64)
    group[head[1:]] = 1
    return np.cumsum(group), head


class Decision(Process):
    """The deciding groups choose; vendors book conversions, revenue, originated
    customers and referral rewards; groups rest `engage_weeks`; journeys close. Draws a
    (deciding members, 2) block of "decision" uniforms: column 0 the member's choice,
    column 1 its satisfaction that the word-of-mouth process reads. Who decides depends
    on research only, never on a vendor: a fixed shape."""

    name = "decision"
    streams = ("decision",)

    def bind(self, model: BuyerJourneyModel) -> None:
        spec = model.spec.accounts
        self.threshold = 0.0 if spec is None else spec.consensus

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        rows = week.deciders
        if not rows.size:
            return
        u = self.stream(model, "decision").random((rows.size, 2))
        state, market, accounts = model.buyers, model.market, model.accounts
        buyers = week.active[rows]
        choice = member_choices(model, buyers, u[:, 0])
        group, lead_pos = group_index(state.account[buyers])
        n_groups = lead_pos.size
        weight = state.span[buyers]
        week.ballots = Ballots(buyers, choice, weight, group, lead_pos)
        verdict, reason = consensus(choice, weight, group, n_groups, market.n, self.threshold)
        leads = buyers[lead_pos]
        bought = verdict >= 0
        vs = verdict[bought]
        deal = np.zeros(n_groups)
        deal[bought] = deal_values(model, leads[bought], vs)
        account = state.account[leads]
        # a renewal: the group buys from its incumbent (its installed base's vendor)
        renewal = bought & (verdict == state.incumbent[leads])
        member_vendor = verdict[group]
        in_deal = member_vendor >= 0
        week.purchases = (buyers[in_deal], member_vendor[in_deal], u[in_deal, 1])
        originated, referred = deal_origin(state, buyers, group, member_vendor, n_groups)
        if model.spec.referrals.strict:  # renewals are never referrals (§10a)
            referred &= ~renewal
        originated, referred = originated[bought], referred[bought]
        conv = np.zeros(market.n, dtype=np.int64)
        rev = np.zeros(market.n)
        np.add.at(conv, vs, 1)
        np.add.at(rev, vs, deal[bought])
        np.add.at(market.originated, vs[originated], 1)
        np.add.at(market.originated_revenue, vs[originated], deal[bought][originated])
        # rewards are paid for the market's referred conversions (each stands for `scale`)
        reward = market.referral_reward[vs[referred]] * model.market_scale
        np.add.at(market.referral_payouts, vs[referred], reward)
        market.conversions += conv
        market.revenue += rev
        week.conversions, week.revenue = conv, rev
        state.stage[buyers] = np.where(in_deal, Stage.BOUGHT, Stage.NO_DECISION).astype(np.int8)
        accounts.rest_until[account] = week.number + model.spec.buyers.engage_weeks
        accounts.rest_ends.add(accounts.rest_until[account], account)
        week.closed = close_journeys(
            state, accounts, buyers, group, lead_pos, verdict, reason, deal, week
        )
        week.closed.originated[bought] = originated
        week.closed.referred[bought] = referred
        record_consideration(model, week.closed, account, renewal)


def record_consideration(
    model: BuyerJourneyModel, closed: ClosedJourneys, account: np.ndarray, renewal: np.ndarray
) -> None:
    """What the closing journeys considered (market v3): renewal, the day-one list and
    the shortlist (bitmasks) and the preferred vendor at first sales contact."""
    closed.renewal = renewal
    accounts = model.accounts
    if model.spec.consideration.on:
        accounts.sync(account, closed.journey_id)  # a row of an earlier journey: nothing
        closed.day_one_mask = masks(accounts.day_one[account])
        closed.shortlist_mask = masks(accounts.shortlist[account])
        closed.preferred = accounts.preferred[account].copy()
    else:
        closed.day_one_mask = np.zeros(account.size, dtype=np.int64)
        closed.shortlist_mask = np.zeros(account.size, dtype=np.int64)
        closed.preferred = np.full(account.size, -1, dtype=np.int64)


def member_choices(model: BuyerJourneyModel, buyers: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Each deciding member's own pick (vendor index, -1 the status quo): multinomial logit
    on preference, fit and price among the vendors it can buy (considered, and quoted
    unless self-serve when quotes are required; shortlisted when the consideration rules
    are on; in the market), the incumbent helped by the switching cost."""
    state, market = model.buyers, model.market
    utility = member_utility(model, buyers)
    can_buy = rows_of(state.considered, buyers) & market.present[None, :]
    if model.spec.sales.quotes_required:  # a purchase needs a quote (or self-serve)
        can_buy = can_buy & (rows_of(state.quoted, buyers) | market.self_serve[None, :])
    if model.spec.consideration.on:  # only the group's shortlist (§12a)
        can_buy &= rows_of(model.accounts.shortlist, state.account[buyers])
    utility = np.where(can_buy, utility, -np.inf)
    return logit_choice(utility, model.spec.choice.status_quo, u)


def deal_origin(
    state: BuyerState,
    buyers: np.ndarray,
    group: np.ndarray,
    member_vendor: np.ndarray,
    n_groups: int,
) -> tuple[np.ndarray, np.ndarray]:
    """For each group's chosen vendor: marketing-originated (how the vendor first entered
    the journey of the first member, lead first, who had it in mind) and referred (some
    member's contact recommended it). False for groups that did not buy."""
    buys = np.flatnonzero(member_vendor >= 0)
    origin = np.full(buyers.size, ORIGIN_NONE, dtype=np.int8)
    origin[buys] = state.origin[buyers[buys], member_vendor[buys]]
    known = np.flatnonzero(origin != ORIGIN_NONE)
    g = group[known]
    first = known[np.flatnonzero(np.r_[True, g[1:] != g[:-1]])] if known.size else known
    originated = np.zeros(n_groups, dtype=bool)
    originated[group[first]] = origin[first] == ORIGIN_MARKETING
    referred = np.zeros(n_groups, dtype=bool)
    ref = buys[state.referred[buyers[buys], member_vendor[buys]]]
    referred[group[ref]] = True
    return originated, referred


def close_journeys(
    state: BuyerState,
    accounts: AccountState,
    buyers: np.ndarray,
    group: np.ndarray,
    lead_pos: np.ndarray,
    verdict: np.ndarray,
    reason: np.ndarray,
    deal: np.ndarray,
    week: Week,
) -> ClosedJourneys:
    """The record of the group journeys that end now (one per group, named by its lead);
    the members no longer have a journey open. The research share at the first sales
    contact is the lowest any member had when it met sales."""
    leads = buyers[lead_pos]
    account = state.account[leads]
    n_groups = lead_pos.size
    closed = ClosedJourneys(
        journey_id=state.journey[leads].copy(),
        buyer_id=leads.copy(),
        start_week=state.journey_start[leads].copy(),
        end_week=np.full(n_groups, week.number),
        outcome=np.where(verdict >= 0, 1, 0).astype(np.int8),
        vendor=verdict.astype(np.int64),
        deal_value=deal,
        share_at_contact=np.fmin.reduceat(state.share_at_contact[buyers], lead_pos),
        originated=np.zeros(n_groups, dtype=bool),
        referred=np.zeros(n_groups, dtype=bool),
        account_id=account,
        group_size=accounts.size[account],
        size_class=accounts.size_class[account].copy(),
        reason=reason.astype(np.int8),
    )
    state.journey[buyers] = -1
    return closed
