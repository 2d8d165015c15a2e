"""Running a check: the scenario's replications through one execution context, each
measured inside its worker with the calibration's moments, then every target's mean and
95% t-interval over them.

The pieces are the calibration's: the runs are one point (the scenario as it is) of the
engine's PointEvaluator with the calibration's plan (analysis.studies.calibrate.moments:
`calibration_plan`, each run sends back its targets' moments, never its tables), the seeds
and run ids of its Setup, and the statistics of its FitEvaluator (`stats`: the mean over
the replications that measured a target, its sd and the Student-t half-width,
analysis.stats.compare.t_half_width). The runs go to a temporary folder that is removed
afterwards: a check keeps nothing.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.engine.context import ExecutionContext
from analysis.engine.evaluate import Point, PointEvaluator
from analysis.errors import Stopped
from analysis.studies.calibrate.fit import FitEvaluator
from analysis.studies.calibrate.moments import calibration_plan
from analysis.studies.check import DEFAULT_REPS
from analysis.studies.check.result import CheckResult, Row
from analysis.studies.check.spec import Spec, make_spec

if TYPE_CHECKING:
    from analysis.studies.calibrate.targets import Targets
    from sim.scenario import Scenario


def check(
    scenario: Scenario | str | Path,
    targets: Targets | str | Path,
    reps: int = DEFAULT_REPS,
    context: ExecutionContext | None = None,
    *,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = True,
) -> CheckResult:
    """Every target of `targets` measured on `reps` replications of `scenario` (each a
    loaded object or a file's path).

    `context`: the execution context to run in (its pool, cluster and progress bar); None
    opens one of its own with `workers`, `dask` and `progress`.

    Raises:
        ScenarioError: a file that cannot be used (a file of another kind: WrongKind).
        UsageError: fewer than two replications.
        Stopped: the runs were interrupted, the pool broke, or a run failed (one line:
            nothing is kept).
    """
    spec = make_spec(scenario, targets, reps)
    if context is None:
        with ExecutionContext(workers, dask, progress, desc="check", count_runs=True) as ctx:
            return run_spec(spec, ctx)
    return run_spec(spec, context)


def run_spec(spec: Spec, ctx: ExecutionContext) -> CheckResult:
    """Run the spec's replications in `ctx` into a temporary folder and read their
    moments back into one row per target."""
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="check-") as tmp:
        points = PointEvaluator(
            ctx,
            Path(tmp),
            spec.scenario,
            calibration_plan(spec.targets),
            params=(),
            design=spec.setup.design_hash,
            name="check",
        )
        runs = points.specs(Point(spec.scenario.name, 0, {}, {}), spec.seeds())
        try:
            points.run(runs)
        except Stopped as exc:
            raise Stopped(_kept_nothing(str(exc)), exc.code) from None
        ids = [r.run_id for r in runs]
        _check_ran(points, ids)
        stats = FitEvaluator(spec.setup, points).stats(ids)
    rows = [Row.of(t, stats[t.name], spec.reps) for t in spec.targets.targets]
    return CheckResult(
        spec.scenario,
        spec.targets,
        spec.seeds(),
        rows,
        elapsed_s=time.perf_counter() - started,
        ran=points.ran,
    )


def _kept_nothing(line: str) -> str:
    """The engine's stop line without its offer to resume: a check keeps no runs."""
    return re.sub(r": \d+ of \d+ runs are saved in .*$", "", line) + (
        ": a check keeps no runs, nothing was written"
    )


def _check_ran(points: PointEvaluator, ids: list[str]) -> None:
    """Stop at the first replication that failed (or is missing), naming it."""
    rows = points.runs(ids)
    status = dict(zip(rows["run_id"], rows["status"], strict=True))
    errors = dict(zip(rows["run_id"], rows["error"], strict=True))
    for i, rid in enumerate(ids):
        if status.get(rid) != "ok":
            why = errors.get(rid) if status.get(rid) == "error" else "did not run"
            raise Stopped(f"replication {i} of the check failed: {why}; nothing was written", 1)
