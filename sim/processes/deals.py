"""Deal value and scope (docs/model.md §16a): what a purchase is worth, and how a bigger
deal brings a bigger group and a longer journey.

A vendor that states its average contract value (`contract_value`) sells a deal worth

    contract_value x size_factor[class] / mean size factor x scope,

the mean size factor taken over the scenario's accounts (so a stated contract value is
the average over accounts, before who buys shifts it). The scope of a journey is set when
its need arises: (group size / the class's mean group size) ** deals.group_elasticity x
a mean-one log-normal (sigma deals.spread), so within a size class a bigger group buys a
bigger deal (Gartner: larger purchases involve more people, docs/sources.md §10.1); the
research the journey needs grows as scope ** deals.effort_elasticity, so bigger deals
also take longer. A vendor without a contract value sells at the lead's budget x its
price index, as in v2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.processes.base import Process, Week
from sim.scenario import SIZE_CLASSES

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel


def size_factors(model: BuyerJourneyModel, account: np.ndarray) -> np.ndarray:
    """The deal factor of each of `account` by its size class, normalised to mean 1 over
    the scenario's size shares (one-person accounts: 1)."""
    if model.accounts.singletons:
        return np.ones(account.size)
    factor = np.array(model.spec.deals.size_factor.as_tuple())
    shares = np.array(model.spec.accounts.size_shares.as_tuple())
    factor = factor / float(shares @ factor / shares.sum())
    return factor[model.accounts.size_class[account].astype(np.int64)]


def deal_values(model: BuyerJourneyModel, leads: np.ndarray, vendors: np.ndarray) -> np.ndarray:
    """What each purchase (its group's lead, the vendor bought) is worth."""
    state, market = model.buyers, model.market
    value = state.budget[leads] * market.price[vendors]
    acv = market.contract_value[vendors]
    stated = np.flatnonzero(~np.isnan(acv))
    if stated.size:
        account = state.account[leads[stated]]
        scale = size_factors(model, account) * model.accounts.scope[account]
        value[stated] = acv[stated] * scale
    return value


class DealScope(Process):
    """New journeys get their deal scope, and their research grows with it. Draws one
    "deal" normal per new journey (a shape set by need arrivals). Off, with no stream,
    unless some vendor states a contract_value."""

    name = "deal_scope"
    streams: tuple[str, ...] = ()  # ("deal",) once bound to a model where it is on

    def bind(self, model: BuyerJourneyModel) -> None:
        self.on = any(v.contract_value is not None for v in model.spec.vendors)
        if not self.on:
            return
        self.streams = ("deal",)
        if "deal" not in model.streams:  # spawned as add_process would have
            model.streams["deal"] = model.rng.spawn(1)[0]
        accounts = model.accounts
        if accounts.singletons:
            self.relative_size = np.ones(accounts.n)
        else:
            mean = np.zeros(len(SIZE_CLASSES))
            for c in range(len(SIZE_CLASSES)):
                sizes = accounts.size[accounts.size_class == c]
                mean[c] = sizes.mean() if sizes.size else 1.0
            self.relative_size = accounts.size / mean[accounts.size_class.astype(np.int64)]

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        members = week.started
        if not self.on or not members.size:
            return
        state, accounts, d = model.buyers, model.accounts, model.spec.deals
        account = state.account[members]
        head = np.flatnonzero(np.r_[True, account[1:] != account[:-1]])
        new = account[head]
        accounts.sync(new, state.journey[members[head]])
        z = self.stream(model, "deal").standard_normal(new.size)
        noise = np.exp(d.spread * z - d.spread**2 / 2)
        scope = self.relative_size[new] ** d.group_elasticity * noise
        accounts.scope[new] = scope
        group = np.cumsum(np.r_[False, account[1:] != account[:-1]])
        state.effort_scale[members] *= scope[group] ** d.effort_elasticity
