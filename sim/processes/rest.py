"""End of rest: after a purchase (engage: rate, review, recommend) or a no-decision, a
buying group rests `buyers.engage_weeks` and is then idle again, open to a new need
(repeat purchases; docs/model.md, rest)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sim.channels import Stage
from sim.processes.base import Process, Week
from sim.processes.needs import draw_need_weeks

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel


class EndOfRest(Process):
    """Accounts whose rest ends this week become idle (all their members); their next
    need's week is drawn (one "need" uniform per account) and filed in the calendar."""

    name = "rest"
    streams = ("need",)

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        accounts = model.accounts
        done = accounts.rest_ends.due(week.number)
        members = done if accounts.singletons else accounts.members(done)[0]
        model.buyers.stage[members] = Stage.IDLE
        accounts.next_need[done] = draw_need_weeks(
            accounts, done, week.number, self.stream(model, "need")
        )
        accounts.needs.add(accounts.next_need[done], done)


class InMarket(Process):
    """Who researches this week: the buyers in a research stage once needs have arrived.
    Every later rule of the week works on this list (no draws)."""

    name = "in_market"

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        week.active = model.buyers.in_market()
