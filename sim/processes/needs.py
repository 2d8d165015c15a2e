"""Need arrival: a buying need arrives at random, with a weekly hazard that rises with
seniority, and starts a journey in the early stage (docs/model.md, needs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.channels import Stage
from sim.processes.base import Process, Week

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel
    from sim.state import BuyerState


def draw_need_weeks(
    state: BuyerState, buyers: np.ndarray, week: int, rng: np.random.Generator
) -> np.ndarray:
    """The week an idle buyer's next need arrives. A constant weekly hazard p gives a
    geometric waiting time, so one draw per idle spell replaces one draw per week.

    Draws one uniform per buyer from `rng` (the "need" stream)."""
    rate = state.need_rate[buyers]
    wait = np.full(buyers.size, np.iinfo(np.int64).max // 4, dtype=np.int64)
    u = rng.random(buyers.size)
    has = rate > 0
    # inverse CDF of the geometric distribution (trials until the first success)
    wait[has] = np.ceil(np.log1p(-u[has]) / np.log1p(-rate[has])).astype(np.int64)
    return week + np.maximum(wait, 1) - 1


def file_first_needs(model: BuyerJourneyModel) -> None:
    """At set-up every buyer is idle: file each under the week its first need arrives."""
    state = model.buyers
    everyone = np.arange(state.n)
    state.next_need[:] = draw_need_weeks(state, everyone, 0, model.streams["need"])
    state.needs.add(state.next_need, everyone)


class NeedArrival(Process):
    """Buyers whose need arrives this week start a journey (early stage, the incumbent
    vendor in mind). Draws one "need" uniform per new journey (its complexity)."""

    name = "needs"
    streams = ("need",)

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        state = model.buyers
        new = state.needs.due(week.number)
        # a need filed for a buyer whom another rule already brought to market is absorbed
        new = new[state.stage[new] == Stage.IDLE]
        if not new.size:
            return
        u = self.stream(model, "need").random(new.size)
        state.start_journey(new, week.number, u, model.spec.choice.incumbent_bonus)
        week.started = new
