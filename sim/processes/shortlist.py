"""The day-one list and the shortlist (docs/model.md §12a; on with [consideration] on).

Buying groups do not research every vendor: 80-90% of B2B buyers have a list of vendors
before they research, and about 90% buy from it (Bain & Company with Google, 2019);
78% shortlist only three vendors (Wynter); the vendor preferred before the first sales
contact wins about 8 times in 10 (6sense). docs/sources.md §12.

Day-one list. When a need arises, the group's day-one list is every vendor that some
member remembers: its preference at the start of the journey (brand memory built while
out of market, the incumbent's bonus) plus what its contacts say of it
(tanh(contacts' opinions / 2), as a referral weighs it) reaches `consideration.recall`;
the incumbent is always on it. Every member starts the journey considering the list. A
journey started by another rule (a user's process) starts with an empty list.

Shortlist. Research adds vendors (exposures, referrals, social selling). In the week the
group's first member is ready to talk to sales, the group scores each vendor some member
considers by the members' utilities (preference, fit, price, the incumbent's switching
cost; span-weighted, as the consensus weighs votes) and keeps its best `k`, k drawn then
from `consideration.shortlist_shares` (at most the vendors considered).
The members then consider only the shortlist, and only shortlisted vendors are asked for
quotes and can be bought. The best-scoring vendor is the group's preferred vendor at
first sales contact.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.arrays import rows_of
from sim.processes.base import Process, Week

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel


def member_utility(model: BuyerJourneyModel, buyers: np.ndarray) -> np.ndarray:
    """Each buyer's utility of each vendor (n, V), before the choice's noise and before
    masking what it cannot buy: preference, fit, price, the incumbent's switching cost."""
    state, market, c = model.buyers, model.market, model.spec.choice
    utility = (
        c.preference_weight * rows_of(state.preference, buyers)
        + rows_of(state.fit, buyers)
        - c.price_weight * (market.price[None, :] - 1.0)
    )
    if c.switching_cost > 0:  # a renewal keeps the incumbent unless switching pays
        inc = state.incumbent[buyers]
        has = np.flatnonzero(inc >= 0)
        utility[has, inc[has]] += c.switching_cost
    return utility


def masks(flags: np.ndarray) -> np.ndarray:
    """Each row of a (G, V) bool array as a bitmask (bit v: vendor v; V <= 62)."""
    v = flags.shape[1]
    if v > 62:
        return np.full(flags.shape[0], -1, dtype=np.int64)
    return flags.astype(np.int64) @ (np.int64(1) << np.arange(v, dtype=np.int64))


class DayOneList(Process):
    """New journeys start from the group's day-one list. No draws. Off unless
    [consideration] on."""

    name = "day_one_list"

    def bind(self, model: BuyerJourneyModel) -> None:
        self.on = model.spec.consideration.on

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        members = week.started
        if not self.on or not members.size:
            return
        state, accounts, market = model.buyers, model.accounts, model.market
        account = state.account[members]  # ascending: members come group by group
        head = np.flatnonzero(np.r_[True, account[1:] != account[:-1]])
        new = account[head]
        accounts.sync(new, state.journey[members[head]])
        group = np.cumsum(np.r_[False, account[1:] != account[:-1]])  # each member's group
        heard = np.tanh(np.maximum(rows_of(state.neighbour_opinion, members), 0.0) / 2.0)
        salient = rows_of(state.preference, members) + model.spec.choice.referral_weight * heard
        remembered = salient >= model.spec.consideration.recall
        inc = state.incumbent[members]
        has = np.flatnonzero(inc >= 0)
        remembered[has, inc[has]] = True
        # members come group by group: reduce each group's contiguous rows
        listed = np.logical_or.reduceat(remembered, head, axis=0) & market.present[None, :]
        accounts.day_one[new] = listed
        state.considered[members] |= listed[group]


class Shortlist(Process):
    """Groups whose first member is ready for sales this week make their shortlist and
    name their preferred vendor. Draws one "shortlist" uniform per group shortlisting
    this week (how many vendors it keeps): who gets ready depends on research only,
    never on a strategy. Off (and no stream) unless [consideration] on."""

    name = "shortlist"
    streams: tuple[str, ...] = ()  # ("shortlist",) once bound to a model where it is on

    def bind(self, model: BuyerJourneyModel) -> None:
        self.on = model.spec.consideration.on
        if not self.on:
            return
        self.streams = ("shortlist",)
        if "shortlist" not in model.streams:  # spawned as add_process would have
            model.streams["shortlist"] = model.rng.spawn(1)[0]
        shares = np.asarray(model.spec.consideration.shortlist_shares, dtype=float)
        self.cdf = np.cumsum(shares / shares.sum())

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        if not self.on or not week.active.size:
            return
        state, accounts, market = model.buyers, model.accounts, model.market
        ready = week.research_share >= state.sales_readiness[week.active]
        week.sales_ready = ready  # the sales pipeline reads it too
        rows = week.active[ready]  # ascending: rows are account by account
        account = state.account[rows]
        # groups with no shortlist for their open journey yet
        due = (accounts.journey_of[account] != state.journey[rows]) | ~accounts.shortlisted[account]
        rows, account = rows[due], account[due]
        if not account.size:
            return
        head = np.flatnonzero(np.r_[True, account[1:] != account[:-1]])
        new = account[head]
        accounts.sync(new, state.journey[rows[head]])
        u = self.stream(model, "shortlist").random(new.size)
        size = np.minimum(np.searchsorted(self.cdf, u, side="right") + 1, self.cdf.size)
        members, group = accounts.members(new)
        first = np.r_[0, np.cumsum(accounts.size[new])[:-1]]  # each group's first member
        considered = np.logical_or.reduceat(rows_of(state.considered, members), first, axis=0)
        considered &= market.present[None, :]
        weighted = member_utility(model, members) * state.span[members][:, None]
        score = np.where(considered, np.add.reduceat(weighted, first, axis=0), -np.inf)
        rank = np.argsort(np.argsort(-score, axis=1, kind="stable"), axis=1, kind="stable")
        keep = considered & (rank < size[:, None])
        accounts.shortlist[new] = keep
        accounts.shortlisted[new] = True
        accounts.preferred[new] = np.where(considered.any(1), np.argmax(score, axis=1), -1)
        state.considered[members] = keep[group]
