"""Satisfaction and word of mouth: after a purchase the customer is satisfied with
chance equal to the vendor's quality; its opinion (span of control x advocacy if
satisfied, -span if not) is what it tells its contacts from now on, and critics post a
public review (docs/model.md, satisfaction and word of mouth).

A referral programme makes satisfied customers recommend harder, with diminishing
returns: advocacy = 1 + reward / (reward + 5% of the typical deal x price), from 1 (no
programme) up to 2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.arrays import csr_rows, rows_of
from sim.processes.base import Process, Week

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel
    from sim.state import BuyerState

#: Reward (as a share of the typical deal x price) at which advocacy is halfway to 2.
#: Illustrative (docs/model.md, constants).
REWARD_HALF_SHARE = 0.05


def advocacy(model: BuyerJourneyModel) -> np.ndarray:
    """How hard each vendor's satisfied customers recommend it (1 to 2)."""
    b = model.spec.buyers
    typical_deal = float(np.dot(b.seniority_shares.as_tuple(), b.budget.as_tuple()))
    market = model.market
    scale = REWARD_HALF_SHARE * typical_deal * market.price
    return 1.0 + market.referral_reward / (market.referral_reward + scale)


class WordOfMouth(Process):
    """This week's customers form an opinion; their contacts' sums follow. Uses the
    satisfaction column the decision process drew (no draws of its own)."""

    name = "word_of_mouth"

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        if week.purchases is None:
            return
        buyers, vendors, u = week.purchases
        become_customers(model, buyers, vendors, u < model.market.quality[vendors])


def become_customers(
    model: BuyerJourneyModel, buyers: np.ndarray, vendors: np.ndarray, satisfied: np.ndarray
) -> None:
    """`buyers` are now `vendors`' customers: each forms its opinion (span x advocacy if
    satisfied, -span if not; nothing about other vendors), its contacts' sums follow, and
    critics post a public review."""
    state, market = model.buyers, model.market
    old_opinion = rows_of(state.opinion, buyers)
    old_customer = state.incumbent[buyers].copy()
    state.incumbent[buyers] = vendors
    state.opinion[buyers] = 0.0
    strength = np.where(
        satisfied, state.span[buyers] * advocacy(model)[vendors], -state.span[buyers]
    )
    state.opinion[buyers, vendors] = strength
    update_neighbour_sums(state, model.adjacency, buyers, old_opinion, old_customer)
    crit = state.critic[buyers]
    np.add.at(market.reviews, (np.where(satisfied[crit], 0, 1), vendors[crit]), 1)


def update_neighbour_sums(
    state: BuyerState, adjacency, buyers: np.ndarray, old_opinion, old_customer
) -> None:
    """Keep each buyer's sums over contacts current: only the changed buyers' rows of
    the (symmetric) adjacency are touched, and only the vendor columns that changed
    (the old and the new vendor): a sparse scatter."""
    n_vendors = state.opinion.shape[1]
    had = np.flatnonzero(old_customer >= 0)
    pos = np.concatenate([had, np.arange(buyers.size)])
    col = np.concatenate([old_customer[had], state.incumbent[buyers]])
    d_opinion = np.concatenate(
        [-old_opinion[had, old_customer[had]], state.opinion[buyers, state.incumbent[buyers]]]
    )
    d_customer = np.concatenate([np.full(had.size, -1.0), np.ones(buyers.size)])
    contacts, entry = csr_rows(adjacency, buyers[pos])  # symmetric: their contacts
    cells = contacts * n_vendors + col[entry]
    np.add.at(state.neighbour_opinion.reshape(-1), cells, d_opinion[entry])
    np.add.at(state.neighbour_customers.reshape(-1), cells, d_customer[entry])
    if state.outside_opinion.size:  # the v3 referral credit: what other accounts say
        outside = state.account[contacts] != state.account[buyers[pos]][entry]
        np.add.at(state.outside_opinion.reshape(-1), cells[outside], d_opinion[entry][outside])
