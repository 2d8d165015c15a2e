"""The fit: the objective at a parameter point, measured through the engine, and the
Nelder-Mead search over the free parameters' box.

At a parameter point, R replications run (the same seeds at every point: common random
numbers, so the objective is a deterministic function of the point) and every target's
moment is averaged over them; the objective is the sum of miss**2 (Target.miss) over the
fitted targets (Target.fitted: kind = "emergent" and use = "fit") that the start point
measures (`active`); a target that becomes unmeasurable at a later point costs
UNMEASURED_PENALTY. Input checks (kind = "input_check": the outcome equals an input by
construction) and held-out targets (use = "validate") are measured at every point and in
the validation runs, and reported, but never enter the objective.

Every run goes through ONE execution context for the whole calibration (one pool or Dask
cluster, one progress bar, the folder locked from the first point to the validation) and
the study's PointEvaluator: each point is a variant whose label and id derive from its
values (`point_label`, `point_id`), its runs' ids hash the set-up's design, the point and
the seed, and all runs live in one folder (DIR/table=runs, DIR/table=moments), so a
calibration run again with the same folder replays the same search from the stored runs.

    result = calibrate(setup, "results/cal", workers=4)
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from analysis.engine.context import ExecutionContext
from analysis.engine.design import RunSpec
from analysis.engine.evaluate import Point, PointEvaluator
from analysis.engine.folders import check_out_dir
from analysis.errors import Stopped
from analysis.stats.compare import t_half_width
from analysis.studies.calibrate.moments import calibration_plan
from analysis.studies.calibrate.spec import Setup
from sim.errors import ScenarioError
from sim.scenario import Scenario

#: what a target that the start point measured costs at a point where it has no data
UNMEASURED_PENALTY = 25.0
#: the side of the start simplex, as a share of each parameter's range
SIMPLEX_STEP = 0.25


# ----------------------------------------------------------------------------- points
def point_label(values: dict[str, float | int]) -> str:
    """A point's variant label: path=value,... (values as rounded)."""
    return ",".join(
        f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
    )


def point_id(values: dict[str, float | int]) -> int:
    """A point's variant id, derived from its values (the same point, the same id)."""
    text = json.dumps(values, sort_keys=True)
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


@dataclass
class TargetStats:
    """One target at one point: mean over the runs with data, sd, runs with data, the
    95% half-width, extras' means, and why it is not measurable (if so)."""

    mean: float
    sd: float
    runs: int
    half_width: float
    note: str = ""
    extras: dict[str, float] = field(default_factory=dict)

    @property
    def measurable(self) -> bool:
        return self.runs > 0


@dataclass
class Evaluation:
    """One evaluated point (or the validation): values, runs, per-target stats, objective."""

    index: int
    values: dict[str, float | int]
    run_ids: list[str]
    stats: dict[str, TargetStats]
    objective: float = math.nan


class BudgetSpent(Exception):
    """The evaluation budget (--max-evals) is spent."""


# ----------------------------------------------------------------------------- evaluating
class FitEvaluator:
    """The objective at parameter points: runs each point's replications through the
    study's PointEvaluator, checks they all ran, reads their moments back and keeps the
    history of evaluated points (a point seen before costs nothing)."""

    def __init__(self, setup: Setup, points: PointEvaluator) -> None:
        self.setup, self.points = setup, points
        self.already = 0
        self.history: list[Evaluation] = []
        self.cache: dict[str, Evaluation] = {}
        self.active: tuple[str, ...] | None = None

    @property
    def ran(self) -> int:
        """Runs run by this calibration (not found on disk)."""
        return self.points.ran

    # -- running
    def run(self, values: dict[str, float | int], seeds: list[int], first: int) -> list[str]:
        """Run the point's replications on `seeds` (numbered from `first`) that the folder
        does not hold yet; returns their run ids. Raises Stopped when the engine stops or
        one of them failed."""
        point = Point(point_label(values), point_id(values), values, values)
        specs = self.points.specs(point, seeds, first)
        outcome = self.points.run(specs)
        self.already += len(specs) - outcome.ran
        self._check_ran(specs)
        self.points.ctx.advance(len(specs))
        return [s.run_id for s in specs]

    def _check_ran(self, specs: list[RunSpec]) -> None:
        check_ran(self.points, specs)

    # -- summarising
    def _moments(
        self, run_ids: list[str]
    ) -> tuple[dict[str, dict[tuple[str, str], float]], dict[str, dict[str, str]]]:
        """Each run's moments {(target, stat): value} (in the order the run wrote them)
        and its notes {target: why not measurable}."""
        table = self.points.table("moments", run_ids)
        moments: dict[str, dict[tuple[str, str], float]] = {r: {} for r in run_ids}
        notes: dict[str, dict[str, str]] = {}
        if not len(table):
            return moments, notes
        cols = (table[c].tolist() for c in ("run_id", "target", "stat", "value", "note"))
        for rid, tg, st, v, note in zip(*cols, strict=True):
            moments.setdefault(rid, {})[(tg, st)] = float(v)
            if st == "value" and isinstance(note, str) and note:
                notes.setdefault(rid, {})[tg] = note
        return moments, notes

    def stats(self, run_ids: list[str]) -> dict[str, TargetStats]:
        """Each target's mean, sd and 95% half-width over the runs with data."""
        moments, notes = self._moments(run_ids)
        out = {}
        for t in self.setup.targets.targets:
            vals = np.array([moments[r].get((t.name, "value"), math.nan) for r in run_ids])
            ok = ~np.isnan(vals)
            n = int(ok.sum())
            mean = float(vals[ok].mean()) if n else math.nan
            sd = float(vals[ok].std(ddof=1)) if n >= 2 else math.nan
            hw = float(t_half_width(np.array([sd]), np.array([n]))[0]) if n >= 2 else math.nan
            note = ""
            if not n:
                found = [notes.get(r, {}).get(t.name, "") for r in run_ids]
                note = next((x for x in found if x), "not measurable")
            out[t.name] = TargetStats(mean, sd, n, hw, note, _extras(moments, run_ids, t.name))
        return out

    def objective(self, stats: dict[str, TargetStats]) -> float:
        """Sum of miss**2 over the active targets: the fitted ones (Target.fitted) that
        the start point measured. Input checks and use = "validate" targets never count."""
        by_name = {t.name: t for t in self.setup.targets.targets}
        if self.active is None:
            self.active = tuple(n for n, s in stats.items() if s.measurable and by_name[n].fitted)
        total = 0.0
        for name in self.active:
            s = stats[name]
            total += by_name[name].miss(s.mean) ** 2 if s.measurable else UNMEASURED_PENALTY
        return total

    def evaluate(self, values: dict[str, float | int]) -> Evaluation:
        """The objective at a point over the fit's replications (cached by point).

        Raises:
            BudgetSpent: a new point once --max-evals points are evaluated.
        """
        key = point_label(values)
        if key in self.cache:
            return self.cache[key]
        if len(self.history) >= self.setup.max_evals:
            raise BudgetSpent
        ids = self.run(values, self.setup.fit_seeds(), 0)
        stats = self.stats(ids)
        ev = Evaluation(len(self.history), values, ids, stats, self.objective(stats))
        self.history.append(ev)
        self.cache[key] = ev
        best = min(e.objective for e in self.history)
        self.points.ctx.note(f"evals={len(self.history)}, best={best:.4g}")
        return ev

    def validate(self, values: dict[str, float | int]) -> Evaluation:
        """The point over V fresh replications (seeds never used by the fit)."""
        ids = self.run(values, self.setup.validation_seeds(), self.setup.replications)
        stats = self.stats(ids)
        return Evaluation(-1, values, ids, stats, self.objective(stats))


def check_ran(points: PointEvaluator, specs: list[RunSpec]) -> None:
    """Stop at the first run that failed or is not on disk, naming it (the SMM fit and
    the ABC both check every batch of runs this way)."""
    rows = points.runs([s.run_id for s in specs])
    status: dict[str, tuple[str, str]] = {}
    if len(rows):
        for rid, st, err in zip(rows["run_id"], rows["status"], rows["error"], strict=True):
            status[rid] = (st, err if isinstance(err, str) else "")
    failed = [s for s in specs if status.get(s.run_id, ("", ""))[0] != "ok"]
    if failed:
        status_, error = status.get(failed[0].run_id, ("missing", "not on disk"))
        raise Stopped(
            f"run {failed[0].run_id} ({failed[0].variant}, seed {failed[0].seed}) "
            f"{'failed: ' + error if status_ == 'error' else 'is ' + status_}; "
            f"see {points.out}/table=runs (rerun with --retry-failed to run it again)",
            1,
        )


def _extras(
    moments: dict[str, dict[tuple[str, str], float]], run_ids: list[str], target: str
) -> dict[str, float]:
    """The mean over the runs of each descriptive stat of `target` ("n", p10, ...), in
    the order the runs wrote them."""
    extras: dict[str, float] = {}
    stats = {st: 0 for r in run_ids for (tg, st) in moments[r] if tg == target}
    for st in [x for x in stats if x != "value"]:
        xs = [moments[r].get((target, st), math.nan) for r in run_ids]
        xs = [x for x in xs if not math.isnan(x)]
        extras[st] = float(np.mean(xs)) if xs else math.nan
    return extras


# ----------------------------------------------------------------------------- the search
@dataclass
class Result:
    """A finished calibration."""

    setup: Setup
    history: list[Evaluation]
    best: Evaluation
    validation: Evaluation
    active: tuple[str, ...]
    stop_reason: str
    ran: int
    already: int
    elapsed_s: float
    original: Scenario | None = None

    @property
    def fitted(self) -> dict[str, float | int]:
        return dict(self.best.values)


def search(ev: Any) -> str:
    """Nelder-Mead over [0, 1]^d from the start point; returns why it stopped.

    `ev` is a FitEvaluator (or anything with its `setup` and `evaluate`)."""
    free = ev.setup.free
    d = len(free)
    x0 = np.array([p.unit(p.start) for p in free])
    simplex = [x0]
    for i in range(d):
        x = x0.copy()
        x[i] = x[i] + SIMPLEX_STEP if x[i] + SIMPLEX_STEP <= 1 else x[i] - SIMPLEX_STEP
        simplex.append(x)

    def f(u: np.ndarray) -> float:
        values = {p.path: p.value(x) for p, x in zip(free, u, strict=True)}
        return ev.evaluate(values).objective

    try:
        res = minimize(
            f,
            x0,
            method="Nelder-Mead",
            bounds=[(0.0, 1.0)] * d,
            options={
                "initial_simplex": np.array(simplex),
                "xatol": 1e-3,
                "fatol": 1e-3,
                "maxfev": 20 * ev.setup.max_evals,  # cache hits are free; BudgetSpent stops
                "adaptive": d > 2,
            },
        )
    except BudgetSpent:
        return f"evaluation budget spent (--max-evals {ev.setup.max_evals})"
    if res.success:
        return "converged (simplex within 0.001 of the range and 0.001 of the objective)"
    return f"stopped by the optimizer: {res.message}"


def calibrate(
    setup: Setup,
    out: str | Path,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = True,
    retry_failed: bool = False,
    original: Scenario | None = None,
) -> Result:
    """Fit, validate and return the Result (nothing is written but the runs and
    DIR/calibration.json; see analysis.studies.calibrate.report.write_outputs).

    Raises:
        Stopped: the engine stopped or a run failed.
        ScenarioError: no target is fitted (every one an input check or held out), or no
            fitted target is measurable at the start point.
    """
    out = check_out_dir(out)
    if not any(t.fitted for t in setup.targets.targets):
        raise _nothing_fitted(setup)
    started = time.perf_counter()
    total = setup.max_evals * setup.replications + setup.validation
    with ExecutionContext(
        workers, dask, progress, desc="calibrate", unit="run", total=total, count_runs=False
    ) as ctx:
        points = PointEvaluator(
            ctx,
            out,
            setup.scenario,
            calibration_plan(setup.targets, paired_from=setup.replications),
            params=tuple((p.path, True) for p in setup.free),
            design=setup.design_hash,
            name="calibrate",
            info=setup.describe(),
            info_file="calibration.json",
            retry_failed=retry_failed,
        )
        ev = FitEvaluator(setup, points)
        ev.evaluate({p.path: p.value(p.unit(p.start)) for p in setup.free})
        if not ev.active:
            raise _nothing_measurable(setup, ev.history[0])
        reason = search(ev) if len(ev.history) < setup.max_evals else "evaluation budget spent"
        best = min(ev.history, key=lambda e: (e.objective, e.index))
        validation = ev.validate(best.values)
    return Result(
        setup=setup,
        history=ev.history,
        best=best,
        validation=validation,
        active=ev.active or (),
        stop_reason=reason,
        ran=ev.ran,
        already=ev.already,
        elapsed_s=time.perf_counter() - started,
        original=original,
    )


def _nothing_fitted(setup: Setup) -> ScenarioError:
    return ScenarioError(
        setup.targets.source,
        "targets",
        'no target is fitted: every one is an input check (kind = "input_check") or held '
        'out (use = "validate"); give at least one target kind = "emergent" and '
        'use = "fit"',
    )


def _nothing_measurable(setup: Setup, start: Evaluation) -> ScenarioError:
    first = next(t for t in setup.targets.targets if t.fitted)
    return ScenarioError(
        setup.targets.source,
        "targets",
        "none of the fitted targets is measurable in this scenario at its start point "
        f"(e.g. {first.name}: {start.stats[first.name].note}); "
        "give targets the scenario's tables can measure",
    )
