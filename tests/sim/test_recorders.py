"""Recorders decide what a run keeps: a run without a touch log pays nothing for
touches, a user's recorder adds a table, and a streamed touch log keeps no touches."""

from __future__ import annotations

import pandas as pd

from sim.model import BuyerJourneyModel
from sim.recorders import Recorder, TouchLog, default_recorders


class Purchases(Recorder):
    """The README's example: purchases per week."""

    name = "purchases"

    def start(self, model):
        self.rows = []

    def record(self, model, week):
        self.rows.append(int(week.conversions.sum()))

    def table(self, model):
        return pd.DataFrame({"week": range(len(self.rows)), "purchases": self.rows})


def test_a_users_recorder_adds_its_table(small) -> None:
    model = BuyerJourneyModel(small, seed=1, recorders=[*default_recorders(), Purchases()])
    t = model.run().tables()
    weekly = t["weekly"].filter(like="conversions_").sum(axis=1)
    assert (t["purchases"]["purchases"].to_numpy() == weekly.to_numpy()).all()
    assert t["purchases"]["purchases"].sum() > 0


def test_without_a_touch_log_there_is_no_touch_table(small) -> None:
    t = BuyerJourneyModel(small, seed=1, record_touches=False).run().tables()
    assert "touches" not in t and "journeys" in t


def test_recording_touches_changes_no_outcome(small) -> None:
    a = BuyerJourneyModel(small, seed=2, record_touches=False).run().tables()
    b = BuyerJourneyModel(small, seed=2, record_touches=True).run().tables()
    for name in ("journeys", "weekly", "vendors"):
        pd.testing.assert_frame_equal(a[name], b[name])


def test_a_streamed_touch_log_hands_over_every_touch_in_week_chunks(small) -> None:
    chunks: list[pd.DataFrame] = []
    recs = [r for r in default_recorders(False)] + [TouchLog(sink=chunks.append, flush_weeks=8)]
    model = BuyerJourneyModel(small, seed=3, recorders=recs).run()
    kept = BuyerJourneyModel(small, seed=3).run().tables()["touches"]
    streamed = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(streamed, kept)
    assert len(chunks) == -(-small.weeks // 8)
    assert all(c["week"].max() - c["week"].min() < 8 for c in chunks)
    assert model.recorder("touches").blocks == []
    assert "touches" not in model.tables()


def test_two_recorders_cannot_share_a_name(small) -> None:
    import pytest

    with pytest.raises(ValueError, match="already registered"):
        BuyerJourneyModel(small, recorders=[Purchases(), Purchases()])


def test_weekly_series_read_mid_collection_stay_whole_weeks(small) -> None:
    """The live view reads the weekly series while its play loop steps the model: a week
    whose columns are only partly collected is not shown, so the series always agree."""
    model = BuyerJourneyModel(small, seed=1, record_touches=False)
    for _ in range(3):
        model.step()
    weekly = model.recorder("weekly")
    col = weekly.collector.model_vars
    col["idle"].append(0)  # a fourth week half collected: one column so far
    col["early"].append(0)
    assert len(weekly.stages) == len(weekly.conversions) == 3
    stages, conv = weekly.arrays(model.n_vendors)
    assert stages.shape == (3, 6) and conv.shape == (3, model.n_vendors)
