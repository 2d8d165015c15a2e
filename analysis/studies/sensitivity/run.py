"""The model as the evaluation function: every point of a study run on the engine.

    result = run_study(study, "results/sens", workers=2)   # resumable; Result

`run_study` opens one execution context for the whole study (analysis.engine.context: the
pool or Dask cluster, the progress bar counting runs, the folder's lock) and hands SALib
(analysis.studies.sensitivity.indices) an `EngineEvaluation`: each point is a `Point` of
the engine's point evaluator (variant id and label its index, its values the run's
changes), run on `replications` seeds shared by all points (common random numbers), and
its outcome is the mean over those runs of the `o:<outcome>` columns each worker wrote in
its `runs` row. A rerun in the same folder finds every run on disk and runs nothing twice.

The model itself is pluggable: a `Study` with a `simulate` function (module-level, so
worker processes can unpickle it) runs that function instead of the simulator on the same
path (worker processes, chunked Parquet, resume). Its run ids then also hash the
function's name, so its runs and the model's never pass for one another in a folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.engine.context import ExecutionContext
from analysis.engine.design import RunSpec, replication_seeds, scenario_hash
from analysis.engine.evaluate import Point, PointEvaluator
from analysis.engine.experiment import Outcome, RunPlan
from analysis.errors import Stopped
from analysis.studies.sensitivity.indices import Analysis, analyse
from analysis.studies.sensitivity.outcomes import outcome_row, returned_outcomes
from analysis.studies.sensitivity.spec import Study, function_name
from sim.scenario import Scenario


def study_plan(
    outcomes: tuple[str, ...],
    simulate: Callable[[Scenario, RunSpec], Mapping[str, float]] | None = None,
) -> RunPlan:
    """Each run computes the study's outcomes in the worker and writes only its runs row
    (`o:<outcome>` columns): from the finished model, or (with `simulate`, which then is
    the run) from the {outcome: value} the function returned."""
    columns = {f"o:{n}": "Float64" for n in outcomes}
    if simulate is None:
        return RunPlan(tables=(), columns=columns, summarize=partial(outcome_row, names=outcomes))
    return RunPlan(
        tables=(),
        columns=columns,
        summarize=partial(returned_outcomes, names=outcomes),
        simulate=simulate,
    )


def study_design(study: Study) -> str:
    """What the study's run ids hash besides each run's own values: the base scenario
    (and the `simulate` function's name, when the study has one)."""
    base = scenario_hash(study.scenario)
    return base if study.simulate is None else f"{base}+{function_name(study.simulate)}"


def study_evaluator(
    study: Study,
    ctx: ExecutionContext | None,
    out: Path,
    retry_failed: bool = False,
    chunk_size: int | None = None,
) -> PointEvaluator:
    """The point evaluator of a study's runs under `out` (in the context `ctx`)."""
    return PointEvaluator(
        ctx,
        Path(out),
        study.scenario,
        study_plan(study.outcomes, study.simulate),
        params=(("point", True), *((p.path, True) for p in study.parameters)),
        design=study_design(study),
        name=f"sensitivity {study.name}",
        info={**study.describe(), "written": "runs of the study's points"},
        info_file="study.json",
        retry_failed=retry_failed,
        chunk_size=chunk_size,
    )


def study_points(study: Study, x: np.ndarray) -> list[Point]:
    """One point per sampled row: its index as variant id and label, its values (whole
    for an integer field) as the run's changes."""
    points = []
    for i, row in enumerate(x):
        values = {p.path: p.value(v) for p, v in zip(study.parameters, row, strict=True)}
        points.append(Point(f"point={i}", i, {"point": i, **values}, values))
    return points


def study_specs(ev: PointEvaluator, study: Study, x: np.ndarray) -> list[RunSpec]:
    """The runs of every point, replication by replication (a partial run covers all
    points evenly); replication r runs every point on the same seed."""
    points = study_points(study, x)
    seeds = replication_seeds(study.seed, study.replications)
    return [s for r, seed in enumerate(seeds) for p in points for s in ev.specs(p, [seed], r)]


@dataclass
class EngineEvaluation:
    """The model as the evaluation function: runs the points through the study's point
    evaluator (resumable) and returns the mean over replications of each outcome per
    point, read back from the `o:<outcome>` columns of the `runs` parts."""

    study: Study
    evaluator: PointEvaluator
    outcome: Outcome | None = None  # what the engine did (ran, already on disk)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        specs = study_specs(self.evaluator, self.study, x)
        self.outcome = self.evaluator.run(specs)
        runs = self.evaluator.runs(s.run_id for s in specs)
        bad = runs[runs["status"] != "ok"]
        if len(bad):
            raise Stopped(
                f"{len(bad)} of {len(runs)} runs failed (first: {bad['error'].iloc[0]}); the "
                "indices need every point: fix the cause and run the same command again "
                "with --retry-failed",
                1,
            )
        return point_means(runs, self.study.outcomes, len(x))


def point_means(runs: pd.DataFrame, outcomes: tuple[str, ...], points: int) -> np.ndarray:
    """Each point's mean of each outcome over its runs (points x outcomes), from `runs`
    rows sorted by point and replication."""
    cols = [f"o:{n}" for n in outcomes]
    means = runs.groupby("variant_id")[cols].mean().astype(float)
    return means.reindex(range(points)).to_numpy()


@dataclass
class Result:
    """A finished study: the set-up, the analysis and what ran."""

    study: Study
    analysis: Analysis
    ran: int = 0
    already: int = 0
    elapsed_s: float = 0.0


def run_study(
    study: Study,
    out: str | Path,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = True,
    retry_failed: bool = False,
    chunk_size: int | None = None,
) -> Result:
    """Run (or resume) a study on the engine and compute its indices (`chunk_size`: runs
    per part file, None: the engine's choice).

    Raises:
        Stopped: the engine was interrupted or its pool broke, or runs failed (the
            indices need every point).
    """
    started = time.perf_counter()
    desc = f"sensitivity {study.name}"
    with ExecutionContext(workers, dask, progress, desc=desc, count_runs=True) as ctx:
        evaluator = study_evaluator(study, ctx, Path(out), retry_failed, chunk_size)
        ev = EngineEvaluation(study, evaluator)
        an = analyse(
            study.problem,
            ev,
            study.outcomes,
            study.method,
            study.samples,
            study.seed,
            study.levels,
            study.resamples,
        )
    return Result(
        study,
        an,
        ran=ev.outcome.ran if ev.outcome else 0,
        already=ev.outcome.already if ev.outcome else 0,
        elapsed_s=time.perf_counter() - started,
    )
