"""Recorders: what a run keeps of its weeks, registered with the model (in the spirit of
Mesa's DataCollector), and the tables built from them.

After every week the model hands each registered recorder the `Week` the processes
filled (`record`); at the end of the run it calls `finish`; `model.tables()` asks each
recorder for its `table`. A run that registers no touch log pays nothing for touches.
A user adds an output by registering a recorder (README, "Add your own output"):

    class Purchases(Recorder):
        name = "purchases"
        def start(self, model): self.rows = []
        def record(self, model, week):
            self.rows.append(int(week.conversions.sum()))
        def table(self, model):
            import pandas as pd
            return pd.DataFrame({"week": range(len(self.rows)), "purchases": self.rows})

    model = BuyerJourneyModel(scenario, recorders=[*default_recorders(), Purchases()])
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from sim.channels import CHANNEL_NAMES, Stage
from sim.processes.base import ClosedJourneys, Week

if TYPE_CHECKING:
    import pandas as pd

    from sim.model import BuyerJourneyModel


class Recorder:
    """Base of all recorders: a `name` (its table's name) and four hooks."""

    name: ClassVar[str] = "recorder"
    #: True if the recorder needs the touches (makes the processes name referral vendors).
    wants_touches: ClassVar[bool] = False

    def start(self, model: BuyerJourneyModel) -> None:
        """Called once when the recorder joins a model, before the first week."""

    def record(self, model: BuyerJourneyModel, week: Week) -> None:
        """Called after every week with what the week's processes produced."""

    def finish(self, model: BuyerJourneyModel) -> None:
        """Called when the run reaches its horizon (flush what is buffered)."""

    def table(self, model: BuyerJourneyModel) -> pd.DataFrame | None:
        """The recorder's tidy table (None: it has none, or it streamed it elsewhere)."""
        return None


class JourneyLog(Recorder):
    """Every journey that ended (purchase or no decision); the table adds open ones."""

    name = "journeys"

    def start(self, model: BuyerJourneyModel) -> None:
        self.closed: list[ClosedJourneys] = []

    def record(self, model: BuyerJourneyModel, week: Week) -> None:
        if week.closed is not None:
            self.closed.append(week.closed)

    def column(self, key: str) -> np.ndarray:
        """One field of all closed journeys, in the order they closed."""
        parts = [getattr(c, key) for c in self.closed]
        return np.concatenate(parts) if parts else np.zeros(0)

    def table(self, model: BuyerJourneyModel) -> pd.DataFrame:
        from sim.tables import journeys_table

        return journeys_table(model)


class TouchLog(Recorder):
    """Every Touch: each consultation (naming the vendor it showed, if any) and each
    social-selling contact, kept as weekly blocks of arrays.

    Args:
        sink: if given, called with the touch table of every `flush_weeks` weeks (and of
            the last weeks at the end) instead of keeping them: memory does not grow
            with the touches of a long or large run (run.py streams them to Parquet).
        flush_weeks: weeks per chunk handed to `sink`.
    """

    name = "touches"
    wants_touches = True

    def __init__(
        self, sink: Callable[[pd.DataFrame], None] | None = None, flush_weeks: int = 8
    ) -> None:
        self.sink = sink
        self.flush_weeks = flush_weeks

    def start(self, model: BuyerJourneyModel) -> None:
        self.blocks: list[dict[str, Any]] = []
        self.weeks_buffered = 0

    def record(self, model: BuyerJourneyModel, week: Week) -> None:
        c = week.consultations
        if c is not None:
            self.blocks.append(_block(c.journey, c.buyer, c.stage_row, c.channel, c.vendor, c.gain))
            self.blocks[-1]["week"] = week.number
        for s, social in ((week.contacts, True), (week.quotes, False)):
            if s is None:
                continue
            channel = np.full(s.buyer.size, CHANNEL_NAMES.index("sales_reps"), dtype=np.int8)
            block = _block(s.journey, s.buyer, s.stage_row, channel, s.vendor, s.gain)
            block["week"], block["social_selling"] = week.number, social
            block["quote"] = not social
            self.blocks.append(block)
        self.weeks_buffered += 1
        if self.sink is not None and self.weeks_buffered >= self.flush_weeks:
            self.flush(model)

    def flush(self, model: BuyerJourneyModel) -> None:
        """Hand the buffered weeks to the sink and forget them."""
        if self.sink is None:
            return
        if self.blocks:
            self.sink(self.table_of(model, self.blocks))
        self.blocks, self.weeks_buffered = [], 0

    def finish(self, model: BuyerJourneyModel) -> None:
        self.flush(model)

    def table_of(self, model: BuyerJourneyModel, blocks: list[dict[str, Any]]) -> pd.DataFrame:
        from sim.tables import touches_table

        return touches_table(model, blocks)

    def table(self, model: BuyerJourneyModel) -> pd.DataFrame | None:
        if self.sink is not None:
            self.flush(model)
            return None
        return self.table_of(model, self.blocks)

    def of_buyer(self, model: BuyerJourneyModel, buyer: int) -> pd.DataFrame:
        """The touches of one buyer's open journey (kept blocks only)."""
        journey = int(model.buyers.journey[buyer])
        blocks = [
            {
                k: (v[b["journey"] == journey] if isinstance(v, np.ndarray) else v)
                for k, v in b.items()
            }
            for b in self.blocks
        ]
        return self.table_of(model, [b for b in blocks if b["buyer"].size])


def _block(journey, buyer, stage_row, channel, vendor, gain) -> dict[str, Any]:
    return {
        "journey": journey,
        "buyer": buyer,
        "stage": stage_row.astype(np.int8),
        "channel": channel.astype(np.int8),
        "vendor": vendor.astype(np.int16),
        "gain": gain,
        "social_selling": False,
        "quote": False,
    }


class WeeklyCounters(Recorder):
    """Buyers in each stage at the week's end and conversions per vendor, week by week,
    collected by Mesa's DataCollector (model reporters; +2% step time at 100,000 buyers,
    benchmarks/results/core.md)."""

    name = "weekly"

    def start(self, model: BuyerJourneyModel) -> None:
        from mesa import DataCollector

        self.last_conversions = np.zeros(model.market.n, dtype=np.int64)
        reporters: dict[str, Any] = {s.label: partial(_stage_count, stage=int(s)) for s in Stage}
        for i, name in enumerate(model.vendor_names):
            reporters[f"conversions_{name}"] = partial(_week_conversions, vendor=i)
        self.collector = DataCollector(model_reporters=reporters)
        self.vendor_columns = [f"conversions_{name}" for name in model.vendor_names]
        self.weeks_done = 0  # weeks whose every column is collected (readers use this many)

    def record(self, model: BuyerJourneyModel, week: Week) -> None:
        self.last_conversions = week.conversions
        self.collector.collect(model)
        self.weeks_done += 1

    def _rows(self, columns: list[str]) -> list[np.ndarray]:
        """The complete weeks of `columns`, one array per week (safe to read while another
        thread steps the model: a week being collected is left out)."""
        n = self.weeks_done
        cols = [self.collector.model_vars[c][:n] for c in columns]
        return [np.array(row, dtype=np.int64) for row in zip(*cols, strict=True)]

    @property
    def stages(self) -> list[np.ndarray]:
        """Buyers per Stage at the end of each complete week so far."""
        return self._rows([s.label for s in Stage])

    @property
    def conversions(self) -> list[np.ndarray]:
        """Conversions per vendor in each complete week so far."""
        return self._rows(self.vendor_columns)

    def table(self, model: BuyerJourneyModel) -> pd.DataFrame:
        from sim.tables import weekly_table

        return weekly_table(model)

    def arrays(self, n_vendors: int) -> tuple[np.ndarray, np.ndarray]:
        """(weeks, stages) counts and (weeks, vendors) conversions as int64 arrays."""
        mv, weeks = self.collector.model_vars, self.weeks_done
        stages = np.array([mv[s.label][:weeks] for s in Stage], dtype=np.int64)
        stages = stages.T.reshape(weeks, len(Stage))
        conv = np.array([mv[c][:weeks] for c in self.vendor_columns], dtype=np.int64).T
        return stages, conv.reshape(weeks, n_vendors)


def _stage_count(model: BuyerJourneyModel, stage: int) -> int:
    """DataCollector reporter: buyers in `stage` now."""
    return int(np.count_nonzero(model.buyers.stage == stage))


def _week_conversions(model: BuyerJourneyModel, vendor: int) -> int:
    """DataCollector reporter: `vendor`'s conversions this week."""
    return int(model.recorder("weekly").last_conversions[vendor])


class SourceUse(Recorder):
    """Consultations per research stage and channel: this week's and all weeks'."""

    name = "source_use"

    def start(self, model: BuyerJourneyModel) -> None:
        c = len(model.channels.reach)
        self.total = np.zeros((3, c), dtype=np.int64)
        self.week = np.zeros((3, c), dtype=np.int64)

    def record(self, model: BuyerJourneyModel, week: Week) -> None:
        self.week = week.source_use if week.source_use is not None else np.zeros_like(self.week)
        self.total += self.week

    def table(self, model: BuyerJourneyModel) -> pd.DataFrame:
        from sim.tables import source_use_table

        return source_use_table(model)


class SpendLog(Recorder):
    """What each vendor spent, week by week and channel by channel (plans may change)."""

    name = "spend"

    def start(self, model: BuyerJourneyModel) -> None:
        self.channels: list[np.ndarray] = []
        self.social: list[np.ndarray] = []

    def record(self, model: BuyerJourneyModel, week: Week) -> None:
        self.channels.append(model.market.spend.copy())
        self.social.append(model.market.social_selling.copy())

    def table(self, model: BuyerJourneyModel) -> pd.DataFrame:
        from sim.tables import spend_table

        return spend_table(model)


class ObservedLog(Recorder):
    """What the data-loop vendors observed (docs/model.md §5a, sim/tracking.py): one row
    per observation. No table when no vendor tracks."""

    name = "observed"

    def start(self, model: BuyerJourneyModel) -> None:
        self.parts: list = []  # every week's Observations parts (sim/tracking.py)

    def record(self, model: BuyerJourneyModel, week: Week) -> None:
        obs = week.extra.get("observed")
        if obs is not None:
            self.parts.extend(obs.parts)

    def table(self, model: BuyerJourneyModel) -> pd.DataFrame | None:
        if getattr(model, "tracking", None) is None:
            return None
        from sim.tables import observed_table

        return observed_table(model, self.parts)


class BeliefsLog(Recorder):
    """What each data-loop vendor believed each channel returned at each adjustment, and
    how it moved its shares (kept by the vendors' DataLoopPolicy). No table when no
    vendor's policy is data_loop."""

    name = "beliefs"

    def table(self, model: BuyerJourneyModel) -> pd.DataFrame | None:
        if not any(v.policy == "data_loop" for v in model.spec.vendors):
            return None
        from sim.tables import beliefs_table

        return beliefs_table(model)


def default_recorders(record_touches: bool = True) -> list[Recorder]:
    """The recorders every run registers (the touch log only if touches are wanted;
    observed and beliefs add tables only when a vendor tracks)."""
    recorders: list[Recorder] = [
        JourneyLog(),
        WeeklyCounters(),
        SourceUse(),
        SpendLog(),
        ObservedLog(),
        BeliefsLog(),
    ]
    if record_touches:
        recorders.insert(1, TouchLog())
    return recorders
