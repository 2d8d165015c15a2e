"""Need arrival: a buying need arises at an account at random, with a weekly hazard (by
seniority for one-person accounts, by size class for companies), and starts a journey in
the early stage for every member of its buying group (docs/model.md, needs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.channels import Stage
from sim.processes.base import Process, Week
from sim.state import MEMBER_SPREAD

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel
    from sim.state import AccountState


def draw_need_weeks(
    accounts: AccountState, which: np.ndarray, week: int, rng: np.random.Generator
) -> np.ndarray:
    """The week an idle account's next need arrives. A constant weekly hazard p gives a
    geometric waiting time, so one draw per idle spell replaces one draw per week.

    Draws one uniform per account from `rng` (the "need" stream)."""
    rate = accounts.need_rate[which]
    wait = np.full(which.size, np.iinfo(np.int64).max // 4, dtype=np.int64)
    u = rng.random(which.size)
    has = rate > 0
    # inverse CDF of the geometric distribution (trials until the first success)
    wait[has] = np.ceil(np.log1p(-u[has]) / np.log1p(-rate[has])).astype(np.int64)
    return week + np.maximum(wait, 1) - 1


def file_first_needs(model: BuyerJourneyModel) -> None:
    """At set-up every account is idle: file each under the week its first need arrives."""
    accounts = model.accounts
    every = np.arange(accounts.n)
    accounts.next_need[:] = draw_need_weeks(accounts, every, 0, model.streams["need"])
    accounts.needs.add(accounts.next_need, every)


class NeedArrival(Process):
    """Accounts whose need arrives this week start a journey: each member of the buying
    group researches from the early stage, the incumbent vendor in mind. Draws one "need"
    uniform per new journey (its complexity) and, for groups of several people, one per
    member (how much research that member needs: MEMBER_SPREAD around the group's)."""

    name = "needs"
    streams = ("need",)

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        state, accounts = model.buyers, model.accounts
        new = accounts.needs.due(week.number)
        # a need filed for an account whom another rule already brought to market is absorbed
        new = new[state.stage[accounts.start[new]] == Stage.IDLE]
        if not new.size:
            return
        rng = self.stream(model, "need")
        u = rng.random(new.size)
        if accounts.singletons:
            members, group, effort = new, None, 1.0
            u_member = u
        else:
            members, group = accounts.members(new)
            effort = accounts.effort[new][group]
            # the group's complexity and each member's own need for research, one log-normal
            z_member = rng.standard_normal(members.size)
            u_member = u[group]
            effort = effort * np.exp(MEMBER_SPREAD * z_member)
        state.start_journey(
            members, week.number, u_member, model.spec.choice.incumbent_bonus, group, effort
        )
        week.started = members
