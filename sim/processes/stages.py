"""Stage progress: enough research moves a buyer to the next stage; a buying group
decides in the week its last member finishes the final stage (docs/model.md, stages).
A stage is finished when the buyer's progress covers the cumulative stage efforts,
scaled by the research its journey needs. Members who finish first wait in the final
stage (and keep consulting sources) until the slowest is done: group coordination."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.channels import Stage
from sim.processes.base import Process, Week

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel


class StageProgress(Process):
    """Sets each in-market buyer's stage from its progress; `week.deciders` are the rows
    (into `week.active`) of the members of groups whose every member finished the final
    stage (ascending, so each group's rows are adjacent, lead first). No draws."""

    name = "stages"

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        active = week.active
        if not active.size:
            return
        state, accounts = model.buyers, model.accounts
        done = state.progress[active] / state.effort_scale[active]
        reached = np.searchsorted(np.cumsum(model.stage_effort), done, side="right")
        state.stage[active] = np.minimum(reached + 1, Stage.FINAL).astype(np.int8)
        finished = reached >= 3
        if accounts.singletons:
            week.deciders = np.flatnonzero(finished)
            return
        account = state.account[active]
        n_done = np.bincount(account[finished], minlength=accounts.n)
        week.deciders = np.flatnonzero(n_done[account] == accounts.size[account])
