"""Stage progress: enough research moves a buyer to the next stage; those who finish the
final stage decide this week (docs/model.md, stages). A stage is finished when the
journey's progress covers the cumulative stage efforts, scaled by its complexity."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.channels import Stage
from sim.processes.base import Process, Week

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel


class StageProgress(Process):
    """Sets each in-market buyer's stage from its progress; `week.deciders` are the rows
    (into `week.active`) that finished the final stage. No draws."""

    name = "stages"

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        active = week.active
        if not active.size:
            return
        state = model.buyers
        done = state.progress[active] / state.effort_scale[active]
        reached = np.searchsorted(np.cumsum(model.stage_effort), done, side="right")
        state.stage[active] = np.minimum(reached + 1, Stage.FINAL).astype(np.int8)
        week.deciders = np.flatnonzero(reached >= 3)
