"""The week is a list of processes: a new rule is a new process, added without editing
any other (here: a vendor webinar, written in this test file alone)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.channels import CHANNEL_NAMES, Stage
from sim.model import BuyerJourneyModel
from sim.processes import Process, Week, default_processes
from sim.state import ORIGIN_MARKETING

VENDOR_CONTENT = CHANNEL_NAMES.index("vendor_content")


class Webinar(Process):
    """Every `every` weeks a vendor runs a webinar: each idle buyer attends with chance
    `turnout`, which brings its need forward (a journey starts now) with the host in mind.
    Draws one "webinar" uniform per idle buyer in webinar weeks (a fixed shape)."""

    name = "webinar"
    streams = ("webinar",)

    def __init__(self, host: int, every: int = 8, turnout: float = 0.2) -> None:
        self.host, self.every, self.turnout = host, every, turnout

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        if week.number == 0 or week.number % self.every:
            return
        state = model.buyers
        idle = np.flatnonzero(state.stage == Stage.IDLE)
        u = self.stream(model, "webinar").random(idle.size)
        attend = idle[u < self.turnout]
        state.start_journey(attend, week.number, u[u < self.turnout] / self.turnout, 0.0)
        gain = model.channels.credibility[0, VENDOR_CONTENT]
        state.preference[attend, self.host] += gain
        state.enter(attend, np.full(attend.size, self.host), ORIGIN_MARKETING)
        week.extra["webinar_attendees"] = attend


@pytest.fixture(scope="module")
def runs(small):
    plain = BuyerJourneyModel(small, seed=3).run()
    model = BuyerJourneyModel(small, seed=3)
    model.add_process(Webinar(host=1), after="needs")
    return plain, model.run()


def test_a_process_joins_the_week_where_it_is_asked_to(runs) -> None:
    _, model = runs
    names = [p.name for p in model.processes]
    assert names[names.index("needs") + 1] == "webinar"
    assert names.count("webinar") == 1 and len(names) == len(default_processes()) + 1


def test_the_webinar_starts_journeys_in_its_weeks(runs) -> None:
    plain, model = runs
    starts = [m.tables()["journeys"].groupby("start_week").size() for m in (plain, model)]
    weeks = np.arange(8, model.horizon, 8)
    extra = starts[1].reindex(weeks, fill_value=0) - starts[0].reindex(weeks, fill_value=0)
    assert (extra > 20).all()  # ~20% of the idle buyers attend, hundreds of them


def test_the_host_wins_attendees_and_counts_them_as_marketing_originated(runs) -> None:
    plain, model = runs
    assert model.market.originated[1] > plain.market.originated[1]
    assert model.market.conversions[1] > plain.market.conversions[1]


def test_a_new_process_leaves_the_population_and_graph_alone(runs) -> None:
    """Its stream is spawned after the core streams: the buyers drawn are the same."""
    plain, model = runs
    pd.testing.assert_frame_equal(plain.tables()["buyers"], model.tables()["buyers"])
    assert (plain.adjacency != model.adjacency).nnz == 0


def test_a_process_cannot_draw_from_a_stream_it_did_not_declare(small) -> None:
    class Sneaky(Process):
        name = "sneaky"

        def run(self, model, week):
            self.stream(model, "decision").random(3)

    model = BuyerJourneyModel(small, seed=1)
    model.add_process(Sneaky())
    with pytest.raises(RuntimeError, match="without declaring it"):
        model.step()


def test_adding_after_an_unknown_process_names_the_known_ones(small) -> None:
    model = BuyerJourneyModel(small, seed=1)
    with pytest.raises(ValueError, match="research"):
        model.add_process(Webinar(host=0), after="nonsense")
