"""End of rest: after a purchase (engage: rate, review, recommend) or a no-decision, a
buyer rests `buyers.engage_weeks` and is then idle again, open to a new need (repeat
purchases; docs/model.md, rest)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.channels import Stage
from sim.processes.base import Process, Week
from sim.processes.needs import draw_need_weeks

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel


class EndOfRest(Process):
    """Buyers whose rest ends this week become idle; their next need's week is drawn
    (one "need" uniform per buyer) and filed in the needs calendar."""

    name = "rest"
    streams = ("need",)

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        state = model.buyers
        done = state.rest_ends.due(week.number)
        state.stage[done] = Stage.IDLE
        state.next_need[done] = draw_need_weeks(
            state, done, week.number, self.stream(model, "need")
        )
        state.needs.add(state.next_need[done], done)


class InMarket(Process):
    """Who researches this week: the buyers in a research stage once needs have arrived.
    Every later rule of the week works on this list (no draws)."""

    name = "in_market"

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        week.active = model.buyers.in_market()
