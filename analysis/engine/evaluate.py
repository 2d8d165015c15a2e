"""The point evaluator: the one way a study asks the model about points of its parameter
space (calibrate's parameter points, optimize's candidate mixes, sensitivity's samples, the
DATA-loop oracle's counterfactual plans).

A `Point` is a variant of the study's base scenario: a label, a variant id, the values
recorded as `p:<name>` columns, and the scenario changes they make. `PointEvaluator.specs`
gives a point's runs on a list of seeds (common random numbers: every point of a study
uses the same seeds); `run` runs those the study's folder does not hold yet, through the
study's execution context, as one experiment that grows with every call (a rerun of the
study finds every run on disk and runs nothing twice); `runs` and `table` read back what
those runs wrote, reading each part file of the folder once.

    with ExecutionContext(workers, dask) as ctx:
        ev = PointEvaluator(ctx, out, scenario, plan, params=(("x", True),), design=h)
        specs = ev.specs(Point("x=1", 1, {"x": 1.0}, {"path.x": 1.0}), seeds)
        ev.run(specs)                     # raises Stopped if the engine stops
        rows = ev.runs([s.run_id for s in specs])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.engine.design import Draws, RunSpec, run_spec

if TYPE_CHECKING:
    import pandas as pd

    from analysis.engine.context import ExecutionContext
    from analysis.engine.experiment import Outcome, RunPlan
    from sim.scenario import Scenario


@dataclass(frozen=True)
class Point:
    """One point of a study: its variant label and id, its recorded values (the runs
    table's `p:<name>` columns) and the scenario changes it makes."""

    label: str
    variant_id: int
    params: Mapping[str, Any]
    changes: Mapping[str, Any]


@dataclass
class PointEvaluator:
    """Runs a study's points into one folder and reads back their runs (see the module doc).

    Args:
        ctx: the study's execution context (pool, cluster, progress, folder locks).
        out: the folder of the study's runs.
        scenario: the base scenario every point changes.
        plan: what each run computes (analysis.engine.experiment.RunPlan).
        params: (name, numeric) of each recorded value, in column order.
        design: the hash that makes the study's run ids (the base scenario's, plus what
            else the runs depend on).
        name: the experiment's name.
        info, info_file: plain data describing the study, written into the folder.
        retry_failed: run again, once, the runs that ended in an error.
        chunk_size: runs per chunk (None: the engine's choice from the pool's size).
        draws: a posterior's parameter sets, one per replication, the same for every
            point (analysis.engine.design.run_spec puts them under the point's changes).
    """

    ctx: ExecutionContext
    out: Path
    scenario: Scenario
    plan: RunPlan
    params: tuple[tuple[str, bool], ...]
    design: str
    name: str = "points"
    info: dict[str, Any] | None = None
    info_file: str = "experiment.json"
    retry_failed: bool = False
    chunk_size: int | None = None
    draws: Draws | None = None
    ran: int = 0
    _runs: dict[str, RunSpec] = field(default_factory=dict)
    _parts: dict[str, dict[str, Any]] = field(default_factory=dict)
    _where: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def specs(self, point: Point, seeds: Iterable[int], first: int = 0) -> list[RunSpec]:
        """The runs of `point` on `seeds`, replications numbered from `first`."""
        params, changes = dict(point.params), dict(point.changes)
        return [
            run_spec(
                self.design,
                point.label,
                point.variant_id,
                first + i,
                seed,
                params,
                changes,
                self.draws,
            )  # fmt: skip
            for i, seed in enumerate(seeds)
        ]

    def run(self, specs: Iterable[RunSpec]) -> Outcome:
        """Run those of `specs` the folder does not hold yet (raises Stopped when the
        engine is interrupted or its pool breaks)."""
        from analysis.engine.experiment import Experiment
        from analysis.errors import raise_if_stopped

        for s in specs:
            self._runs.setdefault(s.run_id, s)
        exp = Experiment(self.name, self.scenario, tuple(self._runs.values()), self.plan,
                         self.params)  # fmt: skip
        outcome = self.ctx.run(
            exp,
            self.out,
            retry_failed=self.retry_failed,
            chunk_size=self.chunk_size,
            info=self.info,
            info_file=self.info_file,
            note_stale=False,
        )
        self.retry_failed = False  # failed runs are dropped once, at the study's start
        self.ran += outcome.ran
        raise_if_stopped(outcome)
        return outcome

    def runs(self, run_ids: Iterable[str]) -> pd.DataFrame:
        """The `runs` rows of `run_ids` that are on disk (status, error, the plan's
        columns), sorted by variant id, replication and run id."""
        return self.table("runs", run_ids)

    def table(self, name: str, run_ids: Iterable[str]) -> pd.DataFrame:
        """The rows of table `name` written by `run_ids`, as analysis.engine.parts.
        load_table reads them (a run stored twice counts once), each part read once."""
        from analysis.engine.parts import combine_parts, part_files

        cache = self._parts.setdefault(name, {})
        where = self._where.setdefault(name, {})  # run id -> the parts holding its rows
        for f in part_files(self.out, name):
            if f.name not in cache:
                import pandas as pd

                cache[f.name] = df = pd.read_parquet(f)
                for rid in df["run_id"].unique().tolist() if "run_id" in df else ():
                    where.setdefault(rid, []).append(f.name)
        wanted = set(run_ids)
        parts = {p for rid in wanted for p in where.get(rid, ())}
        return combine_parts(self.out, name, {p: cache[p] for p in parts}, wanted)
