"""`python run.py calibrate`: fit a scenario's free parameters to published targets.

    python run.py calibrate scenarios/baseline.toml --targets scenarios/targets.toml \\
        --out results/cal [--free choice.status_quo=1:5] [--replications 10] \\
        [--validation 20] [--max-evals 40] [--buyers N] [--weeks N] [--workers N] \\
        [--dask local | --dask tcp://host:8786]

Simulated method of moments (SMM). The free parameters are the scenario's
`[calibration] free = { "dotted.path" = [low, high], ... }` (or `--free PATH=LOW:HIGH`,
which replaces them). The targets are a targets file (analysis.studies.calibrate.targets). At a parameter
point, R replications run and every target's moment is averaged over them; the objective
is the sum over targets of miss**2, the miss of a point target being (mean - value) /
tolerance and that of a band (mean's distance outside the band) / tolerance, 0 inside
(Target.miss). Targets the start point cannot measure (a column the model does not write,
no buying groups of six in a scenario without accounts) are left out of the fit and
reported as not measurable; a target that becomes unmeasurable at a later point costs 25
(five tolerances).

Common random numbers: every point runs the same R replication seeds
(analysis.engine.design.replication_seed(scenario seed, r)), so two points differ only by their
parameters and the objective is a deterministic function of them: re-evaluating a point
gives the same value, and differences between nearby points are not swamped by
seed-to-seed noise.

The search: scipy.optimize.minimize with Nelder-Mead on the box normalised to [0, 1]^d
(bounds given to scipy), starting at the scenario's own values with a simplex of a quarter
of each range. Why Nelder-Mead: calibrations free a handful of parameters; the objective
has no gradient (it is a simulation) and, even with common random numbers, is only
piecewise smooth (a parameter step flips discrete events), which defeats finite-difference
methods; Nelder-Mead needs one or two evaluations per step where Powell's line searches
need many more per direction; and a well-kept library does the search. Its weakness: it
finds a local minimum, so the report shows the whole trajectory. `--max-evals` caps the
distinct points evaluated (points are rounded to 6 significant digits; a point seen
before costs nothing).

Everything runs through the experiment engine (analysis.engine.experiment): each point is a variant
whose label and id derive from its parameter values, its runs' ids hash the scenario, the
targets, the point and the seed, and all runs of a calibration live in one folder
(DIR/table=runs, DIR/table=moments). A killed calibration run again with the same --out
replays the same search (the same points in the same order, since the objective is
deterministic) from the stored runs and runs only what is missing. Each run computes its
moments inside the worker (analysis.studies.calibrate.targets.run_moments) and writes a few rows, never its
tables.

At the best point, V fresh replications (seeds R..R+V-1, never used by the fit) give each
target's mean with a 95% t-interval: the validation the report shows. Written to DIR:
calibrated.toml (the scenario file with the fitted values, loadable by load_scenario),
fit.md and fit.html (targets vs simulation, parameters, objective trajectory) and
fit.json.

Only light modules are imported at module level: run.py builds this parser for --help.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.engine.scenario_toml import scenario_toml
from analysis.errors import Stopped

if TYPE_CHECKING:
    import pandas as pd

    from analysis.engine.design import RunSpec
    from analysis.engine.experiment import Outcome, RunPlan
    from analysis.studies.calibrate.targets import Targets
    from sim.scenario import Scenario

#: defaults of the command line
DEFAULT_REPLICATIONS = 10
DEFAULT_VALIDATION = 20
DEFAULT_MAX_EVALS = 40
#: what a target that the start point measured costs at a point where it has no data
UNMEASURED_PENALTY = 25.0
#: the side of the start simplex, as a share of each parameter's range
SIMPLEX_STEP = 0.25


# ----------------------------------------------------------------------------- set-up
@dataclass(frozen=True)
class FreeParam:
    """One free parameter: a dotted scenario path, its range and where the search starts."""

    path: str
    low: float
    high: float
    start: float
    integer: bool = False

    def value(self, u: float) -> float | int:
        """The parameter's value at unit coordinate u (clipped to [0, 1]), rounded to 6
        significant digits (whole numbers for an integer field)."""
        u = min(1.0, max(0.0, float(u)))
        x = self.low + u * (self.high - self.low)
        if self.integer:
            return int(round(x))
        return float(f"{x:.6g}")

    def unit(self, x: float) -> float:
        """The unit coordinate of value x."""
        return (float(x) - self.low) / (self.high - self.low)


def parse_free(texts: list[str] | None) -> dict[str, tuple[float, float]]:
    """--free PATH=LOW:HIGH options as {path: (low, high)}; a bad one is one line."""
    from sim.scenario import ScenarioError

    out: dict[str, tuple[float, float]] = {}
    for text in texts or []:
        m = re.fullmatch(r"\s*([A-Za-z0-9_.-]+)\s*=\s*([^:]+):(.+)", text)
        low = high = None
        if m:
            try:
                low, high = float(m.group(2)), float(m.group(3))
            except ValueError:
                pass
        if m is None or low is None or high is None:
            raise ScenarioError(
                "--free", "", f"expected PATH=LOW:HIGH, e.g. choice.status_quo=1:5 (found {text!r})"
            )
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ScenarioError(
                "--free", m.group(1), f"needs LOW < HIGH, two finite numbers (found {text!r})"
            )
        out[m.group(1)] = (low, high)
    return out


def free_params(
    scenario: Scenario, free: dict[str, tuple[float, float]] | None = None
) -> tuple[FreeParam, ...]:
    """The free parameters: `free` if given (from --free), else the scenario's
    [calibration] free table. Each path must be a numeric field of the scenario that
    accepts both ends of its range.

    Raises:
        ScenarioError: no free parameter, or a path or range the scenario refuses.
    """
    from sim.scenario import ScenarioError

    given = free is not None and len(free) > 0
    ranges = dict(free) if given else dict(scenario.calibration.free)
    src = "--free" if given else scenario.source
    if not ranges:
        raise ScenarioError(
            scenario.source,
            "calibration.free",
            "no free parameters to fit; add [calibration] free = "
            '{ "choice.status_quo" = [1.0, 5.0] } to the scenario, '
            "or pass --free choice.status_quo=1:5",
        )
    out = []
    for path, (low, high) in ranges.items():
        where = path if given else f"calibration.free.{path}"
        current = current_value(scenario, path)
        if isinstance(current, bool) or (
            current is not None and not isinstance(current, int | float)
        ):
            raise ScenarioError(
                src, where, f"is not a numeric field (its value is {current!r}); free a number"
            )
        integer = isinstance(current, int)
        for end in (low, high):
            try:
                scenario.with_changes({path: int(round(end)) if integer else float(end)})
            except ScenarioError as exc:
                raise ScenarioError(
                    src, where, f"the scenario refuses {end:g} ({exc.field}: {exc.problem})"
                ) from None
        mid = (low + high) / 2
        start = mid if current is None else min(high, max(low, float(current)))
        out.append(FreeParam(path, float(low), float(high), start, integer))
    return tuple(out)


def current_value(scenario: Scenario, dotted: str) -> Any:
    """The scenario's value at a dotted path (vendors and channels by name); None if it
    has none (an unset optional field)."""
    node: Any = scenario.model_dump()
    for part in dotted.split("."):
        if isinstance(node, list):
            node = next((v for v in node if isinstance(v, dict) and v.get("name") == part), None)
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
        if node is None:
            return None
    return node


@dataclass(frozen=True)
class Setup:
    """A calibration ready to run: scenario, targets, free parameters, seeds, budget."""

    scenario: Scenario
    targets: Targets
    free: tuple[FreeParam, ...]
    replications: int
    validation: int
    max_evals: int

    @cached_property
    def design_hash(self) -> str:
        """Hash of what a run's moments depend on: the scenario's content (without its
        [calibration] ranges) and what each target measures (name, measure and its keys;
        not goals, tolerances or sources). A target measured differently gives new run
        ids, never stale moments; a changed tolerance or range reuses every stored point."""
        from dataclasses import asdict

        from analysis.engine.design import scenario_hash

        model = scenario_hash(self.scenario.with_changes({"calibration.free": {}}))
        skip = {"what", "source", "tolerance", "low", "high"}
        measured = [
            {k: v for k, v in asdict(t).items() if k not in skip} for t in self.targets.targets
        ]
        text = model + json.dumps(measured, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def fit_seeds(self) -> list[int]:
        """Seeds of the fit's replications 0..R-1: the same at every point (CRN)."""
        from analysis.engine.design import replication_seeds

        return replication_seeds(self.scenario.seed, self.replications)

    def validation_seeds(self) -> list[int]:
        """Fresh seeds for the validation runs: replications R..R+V-1."""
        from analysis.engine.design import replication_seed

        first = self.replications
        return [
            replication_seed(self.scenario.seed, r) for r in range(first, first + self.validation)
        ]

    def describe(self) -> dict[str, Any]:
        """The set-up as plain data (DIR/calibration.json)."""
        return {
            "scenario": self.scenario.source,
            "scenario_name": self.scenario.name,
            "buyers": self.scenario.buyers.count,
            "weeks": self.scenario.weeks,
            "targets": self.targets.source,
            "target_names": list(self.targets.names()),
            "free": {p.path: [p.low, p.high] for p in self.free},
            "start": {p.path: p.start for p in self.free},
            "replications": self.replications,
            "validation": self.validation,
            "max_evals": self.max_evals,
            "seed": self.scenario.seed,
            "fit_seeds": self.fit_seeds(),
            "validation_seeds": self.validation_seeds(),
            "design_hash": self.design_hash,
        }


# ----------------------------------------------------------------------------- one run
def moments_table(model: Any, _spec: RunSpec, targets: Targets) -> pd.DataFrame:
    """What a calibration run writes: its targets' moments (analysis.studies.calibrate.targets), computed
    in the worker from the finished model's tables."""
    from analysis.studies.calibrate.targets import run_moments

    return run_moments(model.tables(), targets)


def calibration_plan(targets: Targets) -> RunPlan:
    """Each run records touches and yields the `moments` table (a few rows per run)."""
    from analysis.engine.experiment import RunPlan, Table

    table = Table("moments", partial(moments_table, targets=targets), touches=True)
    return RunPlan(tables=(table,))


def point_label(values: dict[str, float | int]) -> str:
    """A point's variant label: path=value,... (values as rounded)."""
    return ",".join(
        f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in values.items()
    )


def point_id(values: dict[str, float | int]) -> int:
    """A point's variant id, derived from its values (the same point, the same id)."""
    text = json.dumps(values, sort_keys=True)
    return int(hashlib.sha256(text.encode()).hexdigest()[:12], 16)


def point_runs(
    setup: Setup, values: dict[str, float | int], seeds: list[int], first: int
) -> list[RunSpec]:
    """The runs of one point: one per seed, replications numbered from `first`."""
    from analysis.engine.design import RunSpec, run_id

    label, vid, changes = point_label(values), point_id(values), dict(values)
    return [
        RunSpec(
            run_id(setup.design_hash, changes, values, s), label, vid, first + i, s, values, changes
        )
        for i, s in enumerate(seeds)
    ]


# ----------------------------------------------------------------------------- evaluating
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


class _Budget(Exception):
    """The evaluation budget is spent."""


class Evaluator:
    """Runs points through the engine into one folder and reads their moments back.

    All runs of the calibration form one growing experiment (so resume finds them all and
    nothing is reported stale); the folder's parts are read once each.
    """

    def __init__(
        self,
        setup: Setup,
        out: Path,
        workers: int,
        dask: str | None,
        bar: Any = None,
        retry_failed: bool = False,
    ) -> None:
        self.setup, self.out, self.workers, self.dask, self.bar = setup, out, workers, dask, bar
        self.retry_failed = retry_failed
        self.runs: list[RunSpec] = []
        self.known: set[str] = set()
        self.status: dict[str, tuple[str, str]] = {}
        self.moments: dict[str, dict[tuple[str, str], float]] = {}
        self.notes: dict[str, dict[str, str]] = {}
        self.read_parts: set[tuple[str, str]] = set()
        self.ran = 0
        self.already = 0
        self.history: list[Evaluation] = []
        self.cache: dict[str, Evaluation] = {}
        self.active: tuple[str, ...] | None = None
        self.plan = calibration_plan(setup.targets)
        self._adopt_stored_runs()

    def _adopt_stored_runs(self) -> None:
        """Count the runs of this calibration already in the folder (a resumed one) as
        part of the experiment from the start, so the engine skips them and does not call
        them stale; runs of another design (other targets, scenario) stay out."""
        import pyarrow.parquet as pq

        from analysis.engine.design import RunSpec, run_id
        from analysis.engine.parts import part_files

        cols = ["run_id", "variant", "variant_id", "replication", "seed"]
        pcols = [f"p:{p.path}" for p in self.setup.free]
        for f in part_files(self.out, "runs"):
            try:
                t = pq.read_table(f, columns=cols + pcols).to_pylist()
            except (KeyError, ValueError, OSError):
                continue  # another design's part (other free parameters)
            for row in t:
                values = {
                    p.path: int(row[f"p:{p.path}"]) if p.integer else row[f"p:{p.path}"]
                    for p in self.setup.free
                }
                rid = run_id(self.setup.design_hash, dict(values), values, row["seed"])
                if rid != row["run_id"] or rid in self.known:
                    continue
                self.known.add(rid)
                self.runs.append(
                    RunSpec(
                        rid,
                        row["variant"],
                        row["variant_id"],
                        row["replication"],
                        row["seed"],
                        values,
                        dict(values),
                    )
                )

    # -- running
    def run(self, specs: list[RunSpec]) -> None:
        """Run whatever of `specs` the folder does not hold yet."""
        from analysis.engine.experiment import Experiment, run_experiment
        from analysis.errors import raise_if_stopped

        for s in specs:
            if s.run_id not in self.known:
                self.known.add(s.run_id)
                self.runs.append(s)
        exp = Experiment(
            name="calibrate",
            scenario=self.setup.scenario,
            runs=tuple(self.runs),
            plan=self.plan,
            params=tuple((p.path, True) for p in self.setup.free),
        )
        outcome: Outcome = run_experiment(
            exp,
            self.out,
            workers=max(1, min(self.workers, len(specs))),
            dask=self.dask,
            retry_failed=self.retry_failed,
            progress=False,
            info=self.setup.describe(),
            info_file="calibration.json",
        )
        self.retry_failed = False
        self.ran += outcome.ran
        self.already += len(specs) - outcome.ran
        raise_if_stopped(outcome)
        self._read_new_parts()
        failed = [s for s in specs if self.status.get(s.run_id, ("", ""))[0] != "ok"]
        if failed:
            status, error = self.status.get(failed[0].run_id, ("missing", "not on disk"))
            raise Stopped(
                f"run {failed[0].run_id} ({failed[0].variant}, seed {failed[0].seed}) "
                f"{'failed: ' + error if status == 'error' else 'is ' + status}; "
                f"see {self.out}/table=runs (rerun with --retry-failed to run it again)",
                1,
            )
        if self.bar is not None:
            self.bar.update(len(specs))

    def _read_new_parts(self) -> None:
        import pyarrow.parquet as pq

        from analysis.engine.parts import part_files

        for f in part_files(self.out, "runs"):
            if ("runs", f.name) in self.read_parts:
                continue
            self.read_parts.add(("runs", f.name))
            t = pq.read_table(f, columns=["run_id", "status", "error"]).to_pydict()
            for rid, st, err in zip(t["run_id"], t["status"], t["error"], strict=True):
                self.status[rid] = (st, err or "")
        complete = {f.name for f in part_files(self.out, "runs")}
        for f in part_files(self.out, "moments"):
            if ("moments", f.name) in self.read_parts or f.name not in complete:
                continue
            self.read_parts.add(("moments", f.name))
            t = pq.read_table(f, columns=["run_id", "target", "stat", "value", "note"]).to_pydict()
            for rid, tg, st, v, note in zip(
                t["run_id"], t["target"], t["stat"], t["value"], t["note"], strict=True
            ):
                self.moments.setdefault(rid, {})[(tg, st)] = math.nan if v is None else float(v)
                if st == "value" and note:
                    self.notes.setdefault(rid, {})[tg] = note

    # -- summarising
    def stats(self, run_ids: list[str]) -> dict[str, TargetStats]:
        """Each target's mean, sd and 95% half-width over the runs with data."""
        import numpy as np

        from analysis.stats.compare import t_half_width

        out = {}
        for t in self.setup.targets.targets:
            vals = np.array([self.moments[r].get((t.name, "value"), math.nan) for r in run_ids])
            ok = ~np.isnan(vals)
            n = int(ok.sum())
            mean = float(vals[ok].mean()) if n else math.nan
            sd = float(vals[ok].std(ddof=1)) if n >= 2 else math.nan
            hw = float(t_half_width(np.array([sd]), np.array([n]))[0]) if n >= 2 else math.nan
            note = ""
            if not n:
                notes = [self.notes.get(r, {}).get(t.name, "") for r in run_ids]
                note = next((x for x in notes if x), "not measurable")
            extras: dict[str, float] = {}
            stats = {st: 0 for r in run_ids for (tg, st) in self.moments[r] if tg == t.name}
            for st in [x for x in stats if x != "value"]:
                xs = [self.moments[r].get((t.name, st), math.nan) for r in run_ids]
                xs = [x for x in xs if not math.isnan(x)]
                extras[st] = float(np.mean(xs)) if xs else math.nan
            out[t.name] = TargetStats(mean, sd, n, hw, note, extras)
        return out

    def objective(self, stats: dict[str, TargetStats]) -> float:
        """Sum of miss**2 over the active targets (those the start point measured)."""
        if self.active is None:
            self.active = tuple(n for n, s in stats.items() if s.measurable)
        by_name = {t.name: t for t in self.setup.targets.targets}
        total = 0.0
        for name in self.active:
            s = stats[name]
            total += by_name[name].miss(s.mean) ** 2 if s.measurable else UNMEASURED_PENALTY
        return total

    def evaluate(self, values: dict[str, float | int]) -> Evaluation:
        """The objective at a point over the fit's replications (cached by point)."""
        key = point_label(values)
        if key in self.cache:
            return self.cache[key]
        if len(self.history) >= self.setup.max_evals:
            raise _Budget
        specs = point_runs(self.setup, values, self.setup.fit_seeds(), 0)
        self.run(specs)
        ids = [s.run_id for s in specs]
        stats = self.stats(ids)
        ev = Evaluation(len(self.history), values, ids, stats, self.objective(stats))
        self.history.append(ev)
        self.cache[key] = ev
        if self.bar is not None:
            best = min(e.objective for e in self.history)
            self.bar.set_postfix_str(f"evals={len(self.history)}, best={best:.4g}")
        return ev

    def validate(self, values: dict[str, float | int]) -> Evaluation:
        """The point over V fresh replications (seeds never used by the fit)."""
        specs = point_runs(
            self.setup, values, self.setup.validation_seeds(), self.setup.replications
        )
        self.run(specs)
        ids = [s.run_id for s in specs]
        stats = self.stats(ids)
        return Evaluation(-1, values, ids, stats, self.objective(stats))


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


def search(ev: Evaluator) -> str:
    """Nelder-Mead over [0, 1]^d from the start point; returns why it stopped."""
    import numpy as np
    from scipy.optimize import minimize

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
                "maxfev": 20 * ev.setup.max_evals,  # cache hits are free; _Budget stops
                "adaptive": d > 2,
            },
        )
    except _Budget:
        return f"evaluation budget spent (--max-evals {ev.setup.max_evals})"
    if res.success:
        return "converged (simplex within 0.001 of the range and 0.001 of the objective)"
    return f"stopped by the optimizer: {res.message}"


@contextmanager
def _scheduler(workers: int, dask: str | None) -> Iterator[str | None]:
    """One Dask LocalCluster for the whole calibration when --dask local (each point's
    experiment connects to it instead of starting its own); other values pass through."""
    if dask != "local":
        yield dask
        return
    import logging

    import dask as dk
    from distributed import LocalCluster

    from analysis.engine.executors import DASK_WORKER_CONFIG

    dk.config.set(DASK_WORKER_CONFIG)
    with LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as cluster:
        yield cluster.scheduler_address


@contextmanager
def _fork_friendly(workers: int, dask: str | None, targets: Targets) -> Iterator[None]:
    """Every point opens its own process pool (run_experiment's). Make each one cheap:
    import the workers' modules (the model, Mesa) here once, so forked workers inherit
    them instead of importing them per pool, and keep tqdm from starting its monitor
    thread (even a disabled bar starts it), which would make later pools fall back from
    fork to forkserver."""
    if dask is not None or workers <= 1:
        yield
        return
    import importlib

    from tqdm import tqdm

    from analysis.engine.experiment import worker_modules

    for name in worker_modules(calibration_plan(targets)):
        importlib.import_module(name)
    before = tqdm.monitor_interval
    tqdm.monitor_interval = 0
    try:
        yield
    finally:
        tqdm.monitor_interval = before


def _bar(total: int, enabled: bool):
    """A tqdm bar over the runs of the calibration (without tqdm's monitor thread, so
    each point's process pool can still start by fork)."""
    from tqdm import tqdm

    class Bar(tqdm):
        monitor_interval = 0

    return Bar(
        total=total,
        desc="calibrate",
        unit="run",
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
        leave=False,
    )


def calibrate(
    setup: Setup,
    out: str | Path,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = True,
    retry_failed: bool = False,
    original: Scenario | None = None,
) -> Result:
    """Fit, validate and return the Result (nothing is written but the runs; see
    `write_outputs`). Raises Stopped when the engine stops or a run fails."""
    from analysis.engine.executors import default_workers
    from analysis.engine.folders import check_out_dir, folder_lock

    workers = workers or default_workers()
    out = check_out_dir(out)
    started = time.perf_counter()
    total = setup.max_evals * setup.replications + setup.validation
    with (
        folder_lock(out),  # one calibration per folder, across all its points
        _fork_friendly(workers, dask, setup.targets),
        _scheduler(workers, dask) as address,
        _bar(total, progress) as bar,
    ):
        ev = Evaluator(setup, out, workers, address, bar, retry_failed)
        start = {p.path: p.value(p.unit(p.start)) for p in setup.free}
        ev.evaluate(start)
        if not ev.active:
            from sim.scenario import ScenarioError

            raise ScenarioError(
                setup.targets.source,
                "targets",
                "none of the targets is measurable in this scenario at its start point "
                f"(e.g. {setup.targets.targets[0].name}: "
                f"{ev.history[0].stats[setup.targets.targets[0].name].note}); "
                "give targets the scenario's tables can measure",
            )
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


# ----------------------------------------------------------------------------- the files


def calibrated_scenario(result: Result) -> Scenario:
    """The original scenario (as in its file, without --buyers / --weeks) with the
    fitted values."""
    base = result.original if result.original is not None else result.setup.scenario
    return base.with_changes(result.fitted)


def target_rows(result: Result) -> list[dict[str, Any]]:
    """One row per target: goal, tolerance, validation mean and CI, fit mean, miss,
    verdict ("pass", "FAIL", "not measurable ...")."""
    rows = []
    for t in result.setup.targets.targets:
        s, fit = result.validation.stats[t.name], result.best.stats[t.name]
        if s.measurable:
            miss = t.miss(s.mean)
            verdict = "pass" if t.passed(s.mean) else "FAIL"
        else:
            miss = math.nan
            verdict = f"not measurable in this scenario ({s.note.removeprefix('not measurable: ')})"
        rows.append(
            {
                "target": t.name,
                "what": t.what,
                "goal": t.goal(),
                "tolerance": t.tolerance,
                "mean": s.mean,
                "half_width": s.half_width,
                "runs": s.runs,
                "fit_mean": fit.mean,
                "miss": miss,
                "verdict": verdict,
                "in_fit": t.name in result.active,
                "extras": s.extras,
                "source": t.source,
            }
        )
    return rows


def _num(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}g}"


def _extras_text(name: str, extras: dict[str, float]) -> str:
    if "p10" in extras and "p90" in extras:
        return f"p10-p90 {_num(extras['p10'])}-{_num(extras['p90'])}"
    shares = {k: v for k, v in extras.items() if k != "n"}
    if name.startswith("idc") or shares and all(v <= 1 for v in shares.values()):
        return ", ".join(f"{k} {_num(v)}" for k, v in shares.items())
    return ""


def param_rows(result: Result) -> list[dict[str, Any]]:
    """One row per free parameter: range, start, fitted value, at a bound?"""
    rows = []
    for p in result.setup.free:
        v = result.fitted[p.path]
        edge = (v - p.low) / (p.high - p.low)
        rows.append(
            {
                "parameter": p.path,
                "low": p.low,
                "high": p.high,
                "start": p.start,
                "fitted": v,
                "at_bound": "low" if edge <= 0.01 else "high" if edge >= 0.99 else "",
            }
        )
    return rows


def _summary_lines(result: Result) -> list[str]:
    s = result.setup
    rows = target_rows(result)
    passed = sum(r["verdict"] == "pass" for r in rows)
    measurable = sum(r["runs"] > 0 for r in rows)
    sc = s.scenario
    return [
        f"scenario {sc.name!r} ({sc.source}): {sc.buyers.count:,} buyers, {sc.weeks} weeks",
        f"targets: {s.targets.source} ({len(rows)} targets, {len(result.active)} in the fit)",
        f"fit: {len(result.history)} points x {s.replications} replications (common seeds); "
        f"{result.stop_reason}",
        f"objective: start {result.history[0].objective:.4g}, best {result.best.objective:.4g} "
        f"(point {result.best.index}); on the {s.validation} validation replications "
        f"{result.validation.objective:.4g}",
        f"validation: {passed} of {measurable} measurable targets pass "
        f"({len(rows) - measurable} not measurable in this scenario)",
    ]


def fit_markdown(result: Result) -> str:
    """The fit report as Markdown."""
    lines = ["# Calibration fit", ""]
    lines += [f"- {x}" for x in _summary_lines(result)]
    lines += [
        "",
        "## Targets",
        "",
        f"Simulated mean ± 95% interval over {result.setup.validation} fresh validation "
        "replications at the fitted point (seeds the fit never used); `fit mean` is over the "
        f"{result.setup.replications} fit replications. A target passes within one "
        "tolerance of its value or band; `miss` is in tolerances (0 inside a band).",
        "",
        "| target | goal | tolerance | simulated (95% CI) | fit mean | miss | verdict | detail |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in target_rows(result):
        sim = "-" if not r["runs"] else f"{_num(r['mean'])} ± {_num(r['half_width'], 2)}"
        fit_only = "" if r["in_fit"] else " (not fitted)"
        lines.append(
            f"| {r['target']} | {r['goal']} | {r['tolerance']:g} | {sim} | {_num(r['fit_mean'])} "
            f"| {_num(r['miss'], 2)} | {r['verdict']}{fit_only} | {_extras_text(r['target'], r['extras'])} |"
        )
    lines += ["", "## Parameters", "", "| parameter | range | start | fitted | at a bound |"]
    lines += ["|---|---|---|---|---|"]
    for p in param_rows(result):
        lines.append(
            f"| {p['parameter']} | [{p['low']:g}, {p['high']:g}] | {p['start']:g} | "
            f"{p['fitted']:g} | {p['at_bound'] or '-'} |"
        )
    lines += [
        "",
        "## Objective trajectory",
        "",
        "| point | "
        + " | ".join(p.path for p in result.setup.free)
        + " | objective | best so far |",
    ]
    lines += ["|---" * (len(result.setup.free) + 3) + "|"]
    best = math.inf
    for e in result.history:
        best = min(best, e.objective)
        vals = " | ".join(f"{e.values[p.path]:g}" for p in result.setup.free)
        lines.append(f"| {e.index} | {vals} | {e.objective:.4g} | {best:.4g} |")
    lines += ["", "## Sources", ""]
    lines += [f"- **{t.name}**: {t.what}. {t.source}" for t in result.setup.targets.targets]
    return "\n".join(lines) + "\n"


def trajectory_figure(result: Result) -> str:
    """The objective per evaluated point and the best so far, as an embedded PNG."""
    from analysis.render.html import fig_to_img, pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.5, 3.2), dpi=100)
    xs = [e.index for e in result.history]
    ys = [e.objective for e in result.history]
    best, run = [], math.inf
    for y in ys:
        run = min(run, y)
        best.append(run)
    ax.plot(xs, ys, "o", ms=4, color="#888", label="point")
    ax.step(xs, best, where="post", color="#c33", label="best so far")
    if min(ys) > 0 and max(ys) / min(ys) > 20:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    ax.set_xlabel("evaluated point")
    ax.set_ylabel("objective (sum of miss²)")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig_to_img(fig, "objective trajectory")


def fit_html(result: Result) -> str:
    """The fit report as a self-contained HTML page (the figure embedded)."""
    import html

    import pandas as pd

    from analysis.render.html import html_page, html_table

    esc = html.escape
    parts = ["<h1>Calibration fit</h1><ul>"]
    parts += [f"<li>{esc(x)}</li>" for x in _summary_lines(result)]
    parts.append("</ul><h2>Targets</h2>")
    parts.append(
        f'<p class="note">Simulated mean ± 95% interval over {result.setup.validation} fresh '
        "validation replications at the fitted point; a target passes within one tolerance "
        "of its value or band; miss in tolerances (0 inside a band).</p>"
    )
    rows = []
    for r in target_rows(result):
        cls = "clear" if r["verdict"] == "pass" else "unclear"
        rows.append(
            {
                "target": r["target"],
                "goal": r["goal"],
                "tolerance": f"{r['tolerance']:g}",
                "simulated (95% CI)": "-"
                if not r["runs"]
                else f"{_num(r['mean'])} ± {_num(r['half_width'], 2)}",
                "fit mean": _num(r["fit_mean"]),
                "miss": _num(r["miss"], 2),
                "verdict": f'<span class="{cls}">{esc(r["verdict"])}</span>'
                + ("" if r["in_fit"] else " (not fitted)"),
                "detail": _extras_text(r["target"], r["extras"]),
                "source": r["source"],
            }
        )
    parts.append(html_table(pd.DataFrame(rows), raw={"verdict"}))
    parts.append("<h2>Parameters</h2>")
    prow = [
        {
            "parameter": p["parameter"],
            "range": f"[{p['low']:g}, {p['high']:g}]",
            "start": f"{p['start']:g}",
            "fitted": f"{p['fitted']:g}",
            "at a bound": p["at_bound"] or "-",
        }
        for p in param_rows(result)
    ]
    parts.append(html_table(pd.DataFrame(prow)))
    parts.append("<h2>Objective trajectory</h2>")
    parts.append(trajectory_figure(result))
    return html_page("Calibration fit", "".join(parts))


def fit_json(result: Result) -> dict[str, Any]:
    """The fit as plain data."""

    def clean(x: Any) -> Any:
        if isinstance(x, float) and not math.isfinite(x):
            return None
        if isinstance(x, dict):
            return {k: clean(v) for k, v in x.items()}
        if isinstance(x, list):
            return [clean(v) for v in x]
        return x

    return clean(
        {
            "setup": result.setup.describe(),
            "stop_reason": result.stop_reason,
            "fitted": result.fitted,
            "best_objective": result.best.objective,
            "validation_objective": result.validation.objective,
            "active_targets": list(result.active),
            "targets": target_rows(result),
            "parameters": param_rows(result),
            "trajectory": [
                {"point": e.index, "values": e.values, "objective": e.objective}
                for e in result.history
            ],
        }
    )


def write_outputs(result: Result, out: str | Path) -> list[Path]:
    """DIR/calibrated.toml, fit.md, fit.html, fit.json."""
    out = Path(out)
    s = result.setup
    fitted = ", ".join(f"{k} = {v:g}" for k, v in result.fitted.items())
    header = (
        f"Calibrated by `run.py calibrate` from {s.scenario.source}\n"
        f"against {s.targets.source}: {fitted}\n"
        f"(fit: {s.scenario.buyers.count:,} buyers, {s.scenario.weeks} weeks, "
        f"{s.replications} replications, {len(result.history)} points; "
        f"objective {result.best.objective:.4g}, validation {result.validation.objective:.4g}; "
        "see fit.md next to this file)"
    )
    files = {
        "calibrated.toml": scenario_toml(calibrated_scenario(result), header),
        "fit.md": fit_markdown(result),
        "fit.html": fit_html(result),
        "fit.json": json.dumps(fit_json(result), indent=2, default=str) + "\n",
    }
    written = []
    for name, text in files.items():
        path = out / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written


# ----------------------------------------------------------------------------- command line
