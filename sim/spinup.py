"""The spin-up: a market already running at week 0 (docs/model.md §1a).

A run that starts with every account idle has no journeys under way, no groups resting
after a decision and no brand memories: its first quarter converts a fraction of the
steady rate while spend is booked from week 0. With `[market] spin_up_weeks` S > 0 the
model first plays S weeks, each vendor following its plan's first S weeks (week j of
the spin-up plays the plan of week j) without measuring or adjusting, then discards
everything they produced: spend, conversions, revenue, rewards and every recorded row
(the recorders start after it). What carries over is the market's state: journeys under
way (their start weeks count back from 0, so they are negative), groups resting, brand
memories, opinions, installed bases grown or lost, reviews. The clock is then rebased so
that the first recorded week is week 0.

A vendor entering at enter_week E (E >= 0) is absent throughout the spin-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel


def spin_up(model: BuyerJourneyModel, weeks: int) -> None:
    """Play `weeks` weeks unrecorded, then make the next week week 0."""
    if weeks <= 0:
        return
    model.spinning = True
    model.spin_up_weeks = weeks
    for j in range(weeks):
        model.week = j
        model.play_week()
    model.spinning = False
    rebase(model, weeks)


def rebase(model: BuyerJourneyModel, weeks: int) -> None:
    """Count every stored week `weeks` earlier and forget the spin-up's totals."""
    model.week = 0
    model.buyers.journey_start -= weeks
    model.accounts.shift_weeks(weeks)
    memory = getattr(model, "memory_state", None)
    if memory is not None and memory.brand_week.size:
        memory.brand_week -= weeks
    model.market.clear_totals()
