"""`python run.py sensitivity FILE --out DIR`: global sensitivity indices with SALib.

    python run.py sensitivity scenarios/sensitivity_baseline.toml --out results/sens
    python run.py sensitivity FILE --out DIR [--method sobol|morris] [--samples N]
        [--workers W] [--dask ADDRESS] [--quiet]

A study file names a base scenario, fixed changes, the parameters (dotted scenario paths
with [low, high] bounds) and the outcomes (`conversions.CommunityFirst`, `roi.AnalystLed`,
`no_decision_share`, ...: see `OUTCOME_HELP`). Two methods, both from SALib:

- **sobol**: Sobol' first-order (S1) and total (ST) indices. The points are Saltelli's
  scheme on a scrambled Sobol' sequence (`SALib.sample.sobol`, no second-order terms:
  N x (D + 2) points for D parameters and N base samples, N a power of 2); the indices
  are `SALib.analyze.sobol` (Saltelli 2010 / Jansen estimators) with bootstrap 95%
  intervals (S1_conf, ST_conf: half-widths).
- **morris**: elementary effects on a grid of `levels` levels (N trajectories: N x (D + 1)
  points): mu* (mean absolute effect, with its bootstrap interval), mu and sigma (spread:
  interactions or non-linearity), `SALib.analyze.morris`.

The pipeline is `sample -> evaluate -> analyze` (`analyse`), with the evaluation
pluggable: any function of the (points x parameters) array returning (points x outcomes).
The model's evaluation (`EngineEvaluation`) runs every point as one variant of an
experiment on the engine (analysis.engine.experiment: processes or Dask, progress bar, resumable
chunked Parquet under DIR); `replications` seeds per point, shared by all points (common
random numbers: points differ only by their parameters), averaged. Each run computes its
outcomes in the worker and writes only its `runs` row (`o:<outcome>` columns).

The model itself is pluggable: a `Study` with a `simulate` function (module-level, so
worker processes can unpickle it) runs that function instead of the simulator, on the same
path: `run_study` -> `EngineEvaluation` -> `study_experiment` -> `run_experiment` (worker
processes, chunked Parquet, resume) -> the `o:<outcome>` columns of the `runs` parts ->
`load_table` and the mean per point -> SALib. Its parameters are plain names, never
applied to a scenario: the function reads them from `spec.changes` and returns
{outcome: value}. The tests run the Ishigami function this way (Sobol' indices against the
analytic values, Morris effects against their exact values on the grid, and a resume that
runs nothing twice).

Written to DIR: sensitivity.html (a figure per outcome: bars with 95% intervals),
indices.csv, points.csv (parameter values and outcomes per point), sensitivity.json (set-up
and indices; `sensitivity_section(DIR)` turns it into an HTML section for other pages).

Only light modules are imported at module level: run.py builds this parser for --help.
"""

from __future__ import annotations

import html
import json
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.errors import Stopped

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from analysis.engine.design import RunSpec
    from analysis.engine.experiment import Experiment, Outcome
    from sim.scenario import Scenario

METHODS = ("sobol", "morris")
#: bootstrap resamples for the intervals
DEFAULT_RESAMPLES = 500
DEFAULT_LEVELS = 4
#: at most this many parameters (the runs grow with them) and outcomes
MAX_PARAMETERS = 20
MAX_OUTCOMES = 20

_TOP = {"sensitivity", "parameters"}
_HEAD = {
    "name",
    "description",
    "scenario",
    "method",
    "samples",
    "levels",
    "replications",
    "seed",
    "resamples",
    "outcomes",
    "set",
}
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")

#: vendor metrics an outcome can name as METRIC.VENDOR (sim.tables.vendors_table)
VENDOR_METRICS = (
    "conversions",
    "market_conversions",
    "win_share",
    "revenue",
    "marketing_spend",
    "roi",
    "originated_revenue",
    "revenue_per_marketing_dollar",
    "cost_per_acquisition",
    "break_even_volume",
    "originated_share",
)
#: market outcomes (sim.tables.funnel) and shares derived from them
FUNNEL = (
    "journeys",
    "reached_early",
    "reached_middle",
    "reached_final",
    "decided",
    "purchases",
    "no_decisions",
    "open",
)
SHARES = {
    "no_decision_share": ("no_decisions", "decided"),
    "purchase_share": ("purchases", "decided"),
}
OUTCOME_HELP = (
    f"METRIC.VENDOR with METRIC one of {', '.join(VENDOR_METRICS)}; or a market outcome: "
    f"{', '.join(FUNNEL + tuple(SHARES))}"
)


# ----------------------------------------------------------------------------- outcomes
def outcome_problem(name: str, vendors: tuple[str, ...]) -> str | None:
    """Why `name` is not an outcome of a scenario with these vendors (None if it is)."""
    if name in FUNNEL or name in SHARES:
        return None
    metric, dot, vendor = name.partition(".")
    if not dot:
        return f"unknown outcome {name!r}; use {OUTCOME_HELP}"
    if metric not in VENDOR_METRICS:
        return f"unknown metric {metric!r} in {name!r}; metrics: {', '.join(VENDOR_METRICS)}"
    if vendor not in vendors:
        return f"no vendor {vendor!r} in {name!r}; vendors: {', '.join(vendors)}"
    return None


def wide_outcomes(runs: pd.DataFrame, vendors: pd.DataFrame) -> pd.DataFrame:
    """Every outcome a run has, one column each (METRIC.VENDOR, the funnel, the shares),
    indexed by run_id: from a `runs` table (funnel columns) and a `vendors` table."""
    import numpy as np
    import pandas as pd

    out = runs.set_index("run_id")[[c for c in FUNNEL if c in runs]].astype(float)
    for share, (num, den) in SHARES.items():
        if num in out and den in out:
            with np.errstate(divide="ignore", invalid="ignore"):
                out[share] = out[num] / out[den].where(out[den] > 0)
    if len(vendors):
        metrics = [m for m in VENDOR_METRICS if m in vendors]
        wide = vendors.pivot_table(
            index="run_id", columns="vendor", values=metrics, aggfunc="first"
        )
        wide.columns = [f"{m}.{v}" for m, v in wide.columns]
        out = out.join(wide.astype(float), how="left")
    out.index = pd.Index(out.index.astype(str), name="run_id")
    return out


def outcome_row(model: Any, spec: RunSpec, names: tuple[str, ...]) -> dict[str, float]:
    """The study's outcomes of one finished run, as `o:<name>` columns (in the worker)."""
    import pandas as pd

    from sim.tables import funnel, vendors_table

    runs = pd.DataFrame([{"run_id": spec.run_id, **funnel(model)}])
    vendors = vendors_table(model).assign(run_id=spec.run_id)
    wide = wide_outcomes(runs, vendors).iloc[0]
    return {f"o:{n}": _finite(wide.get(n)) for n in names}


def _finite(x: Any) -> float | None:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


# ----------------------------------------------------------------------------- the study
@dataclass(frozen=True)
class Parameter:
    """One uncertain input: a dotted scenario path and its [low, high] range (for a study
    with a `simulate` function: any name that function reads from `spec.changes`)."""

    path: str
    low: float
    high: float
    integer: bool = False

    def value(self, x: float) -> float | int:
        """The scenario value at sample value x (whole for an integer field)."""
        return int(round(x)) if self.integer else float(f"{x:.8g}")


@dataclass(frozen=True)
class Study:
    """A validated sensitivity file (or a study built in code).

    `simulate`: None (files, the command) runs the buyer-journey model: each point's
    values are scenario changes and the outcomes come from the finished model
    (`outcome_row`). A function `simulate(base, spec)` replaces the model on the same
    engine path (the tests' known-answer functions): it reads the point's values from
    `spec.changes` (keys: the parameter names; nothing applies them to `base`) and
    returns {outcome: value} with every name of `outcomes`. It must be picklable (a
    module-level function) to reach worker processes.
    """

    name: str
    source: str
    scenario_path: str
    scenario: Scenario  # the base with the fixed changes applied
    fixed: dict[str, Any]
    parameters: tuple[Parameter, ...]
    outcomes: tuple[str, ...]
    method: str = "sobol"
    samples: int = 64
    levels: int = DEFAULT_LEVELS
    replications: int = 1
    seed: int = 0
    resamples: int = DEFAULT_RESAMPLES
    description: str = ""
    simulate: Callable[[Scenario, RunSpec], Mapping[str, float]] | None = None

    @property
    def problem(self) -> dict[str, Any]:
        """The SALib problem: names and bounds."""
        return {
            "num_vars": len(self.parameters),
            "names": [p.path for p in self.parameters],
            "bounds": [[p.low, p.high] for p in self.parameters],
        }

    def points(self) -> int:
        """The number of parameter points the method needs."""
        return points_needed(self.method, self.samples, len(self.parameters))

    def describe(self) -> dict[str, Any]:
        """The set-up as plain data (with "model", the function's name, when the study
        runs a `simulate` function instead of the simulator)."""
        info = {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "scenario": self.scenario_path,
            "set": self.fixed,
            "parameters": [
                {"path": p.path, "low": p.low, "high": p.high, "integer": p.integer}
                for p in self.parameters
            ],
            "outcomes": list(self.outcomes),
            "method": self.method,
            "samples": self.samples,
            "levels": self.levels if self.method == "morris" else None,
            "replications": self.replications,
            "seed": self.seed,
            "resamples": self.resamples,
            "points": self.points(),
            "runs": self.points() * self.replications,
        }
        if self.simulate is not None:
            info["model"] = function_name(self.simulate)
        return info


def function_name(f: Callable[..., Any]) -> str:
    """module:qualname of a function (of the function a partial wraps)."""
    f = getattr(f, "func", f)
    return f"{getattr(f, '__module__', '?')}:{getattr(f, '__qualname__', repr(f))}"


def points_needed(method: str, samples: int, d: int) -> int:
    """Sobol (no second order): N x (D + 2); Morris: N trajectories x (D + 1)."""
    return samples * (d + 2) if method == "sobol" else samples * (d + 1)


def load_study(path: str | Path, method: str | None = None, samples: int | None = None) -> Study:
    """Read and validate a sensitivity file (--method / --samples override it).

    Raises:
        ScenarioError: one line naming the file, the key and the fix.
    """
    from analysis.engine.design import _current_value, _flatten, study_scenario
    from sim.scenario import MAX_SEED, ScenarioError, read_toml, shown

    src = str(path)
    p = Path(path)
    data = read_toml(p, "sensitivity")
    if "sensitivity" not in data:
        raise ScenarioError(
            src,
            "",
            "not a sensitivity file: it has no [sensitivity] table; see "
            "scenarios/sensitivity_baseline.toml ([sensitivity] scenario, outcomes, and "
            '[parameters] "dotted.path" = [low, high])',
        )
    for key in data:
        if key not in _TOP:
            raise ScenarioError(src, key, "unknown table; allowed: [sensitivity], [parameters]")
    head = data["sensitivity"]
    if not isinstance(head, dict):
        raise ScenarioError(src, "sensitivity", "must be a table")
    for key in head:
        if key not in _HEAD:
            raise ScenarioError(
                src, f"sensitivity.{key}", f"unknown key; allowed: {', '.join(sorted(_HEAD))}"
            )

    def need_int(key: str, value: Any, low: int, high: int | None = None) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ScenarioError(
                src, f"sensitivity.{key}", f"must be a whole number >= {low} (found {shown(value)})"
            )
        if high is not None and value > high:
            raise ScenarioError(
                src, f"sensitivity.{key}", f"must be at most {high:,} (found {value:,})"
            )
        return value

    name = head.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ScenarioError(
            src,
            "sensitivity.name",
            f"a name of letters, digits, '_', '-', '.' is needed (found {shown(name)})",
        )
    study_base = study_scenario(src, "sensitivity", head, p.parent)
    scenario, scen_path, fixed = study_base.scenario, study_base.path, study_base.fixed

    method = method or head.get("method", "sobol")
    if method not in METHODS:
        raise ScenarioError(
            src, "sensitivity.method", f'must be "sobol" or "morris" (found {shown(method)})'
        )
    from_flag = samples is not None
    samples = samples if from_flag else need_int("samples", head.get("samples", 64), 2)
    if method == "sobol" and samples & (samples - 1):
        lo = 1 << (samples.bit_length() - 1)
        raise ScenarioError(
            src,
            "--samples" if from_flag else "sensitivity.samples",
            f"Sobol' sampling needs a power of 2 (found {samples}); use {lo} or {lo * 2}",
        )
    levels = need_int("levels", head.get("levels", DEFAULT_LEVELS), 2, 20)
    if levels % 2:
        raise ScenarioError(src, "sensitivity.levels", f"must be even (found {levels}); use 4")
    replications = need_int("replications", head.get("replications", 1), 1, 100)
    seed = need_int("seed", head.get("seed", scenario.seed), 0, MAX_SEED)
    resamples = need_int("resamples", head.get("resamples", DEFAULT_RESAMPLES), 10, 10_000)
    description = head.get("description", "")
    if not isinstance(description, str):
        raise ScenarioError(src, "sensitivity.description", "must be a string")

    params_data = data.get("parameters")
    if not isinstance(params_data, dict) or not params_data:
        raise ScenarioError(
            src,
            "parameters",
            'needs at least one parameter: [parameters] "choice.status_quo" = [1.0, 2.5]',
        )
    params_data = _flatten(params_data)
    if len(params_data) > MAX_PARAMETERS:
        raise ScenarioError(
            src, "parameters", f"{len(params_data)} parameters; at most {MAX_PARAMETERS}"
        )
    parameters = []
    for path_, bounds in params_data.items():
        where = f"parameters.{path_}"
        ok = (
            isinstance(bounds, list)
            and len(bounds) == 2
            and all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
            and all(math.isfinite(b) for b in bounds)
        )
        if not ok:
            raise ScenarioError(src, where, f"must be [low, high] numbers (found {shown(bounds)})")
        low, high = float(bounds[0]), float(bounds[1])
        if not low < high:
            raise ScenarioError(
                src, where, f"low must be below high (found [{bounds[0]}, {bounds[1]}])"
            )
        if path_ in fixed:
            raise ScenarioError(src, where, "is also fixed in [sensitivity.set]; drop one")
        current = _current_value(scenario, path_)
        if current is None or isinstance(current, dict | list | str | bool):
            raise ScenarioError(
                src,
                where,
                f"{path_} is not a number of the scenario (found {shown(current)}); name a "
                'numeric field, e.g. "choice.status_quo" or "vendors.NAME.weekly_budget"',
            )
        param = Parameter(path_, low, high, integer=isinstance(current, int))
        for v in (low, high):
            try:
                scenario.with_changes({path_: param.value(v)})
            except ScenarioError as exc:
                raise ScenarioError(src, where, f"{exc.field}: {exc.problem}") from None
        parameters.append(param)

    outcomes = head.get("outcomes")
    if (
        not isinstance(outcomes, list)
        or not outcomes
        or not all(isinstance(o, str) for o in outcomes)
    ):
        raise ScenarioError(
            src,
            "sensitivity.outcomes",
            f'must be a list of outcome names, e.g. ["conversions.{scenario.vendor_names()[0]}", '
            f'"no_decision_share"] (found {shown(outcomes)})',
        )
    if len(outcomes) > MAX_OUTCOMES or len(set(outcomes)) != len(outcomes):
        raise ScenarioError(
            src, "sensitivity.outcomes", f"must be distinct and at most {MAX_OUTCOMES}"
        )
    for o in outcomes:
        problem = outcome_problem(o, tuple(scenario.vendor_names()))
        if problem:
            raise ScenarioError(src, "sensitivity.outcomes", problem)

    study = Study(
        name=name,
        source=src,
        scenario_path=str(scen_path),
        scenario=scenario,
        fixed=fixed,
        parameters=tuple(parameters),
        outcomes=tuple(outcomes),
        method=method,
        samples=samples,
        levels=levels,
        replications=replications,
        seed=seed,
        resamples=resamples,
        description=description,
    )
    from analysis.engine.limits import check_runs

    check_runs(src, "sensitivity.samples", study.points(), replications)
    return study


# ----------------------------------------------------------------------------- SALib
def sample(problem: dict, method: str, samples: int, seed: int, levels: int = 4) -> np.ndarray:
    """The points (rows) at which to evaluate, from SALib."""
    if method == "sobol":
        from SALib.sample import sobol

        return sobol.sample(problem, samples, calc_second_order=False, seed=seed)
    from SALib.sample import morris

    return morris.sample(problem, samples, num_levels=levels, seed=seed)


def analyze_one(
    problem: dict,
    method: str,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    levels: int = 4,
    resamples: int = DEFAULT_RESAMPLES,
) -> pd.DataFrame:
    """The indices of one outcome, one row per parameter.

    sobol: S1, S1_conf, ST, ST_conf (conf: half-width of the 95% bootstrap interval);
    morris: mu_star, mu_star_conf, mu, sigma. An outcome that does not vary has
    indices 0 (and a note)."""
    import numpy as np
    import pandas as pd

    names = problem["names"]
    if not np.all(np.isfinite(y)) or np.var(y) == 0:
        cols = (
            ["S1", "S1_conf", "ST", "ST_conf"]
            if method == "sobol"
            else ["mu_star", "mu_star_conf", "mu", "sigma"]
        )
        fill = np.nan if not np.all(np.isfinite(y)) else 0.0
        df = pd.DataFrame({c: fill for c in cols}, index=range(len(names)))
        df.insert(0, "parameter", names)
        return df
    if method == "sobol":
        from SALib.analyze import sobol

        res = sobol.analyze(problem, y, calc_second_order=False, num_resamples=resamples, seed=seed)
        cols = {k: np.asarray(res[k], dtype=float) for k in ("S1", "S1_conf", "ST", "ST_conf")}
    else:
        from SALib.analyze import morris

        res = morris.analyze(problem, x, y, num_resamples=resamples, num_levels=levels, seed=seed)
        cols = {
            k: np.asarray(res[k], dtype=float) for k in ("mu_star", "mu_star_conf", "mu", "sigma")
        }
    df = pd.DataFrame(cols)
    df.insert(0, "parameter", names)
    return df


@dataclass
class Analysis:
    """What `analyse` found: the points, the outcomes there and the indices (long)."""

    method: str
    x: np.ndarray
    y: np.ndarray
    outcomes: tuple[str, ...]
    indices: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)


def analyse(
    problem: dict,
    evaluate: Callable[[np.ndarray], np.ndarray],
    outcomes: tuple[str, ...] | list[str],
    method: str = "sobol",
    samples: int = 64,
    seed: int = 0,
    levels: int = DEFAULT_LEVELS,
    resamples: int = DEFAULT_RESAMPLES,
) -> Analysis:
    """sample -> evaluate -> analyze. `evaluate(X)` returns one column per outcome (any
    function: the model on the engine, or a test function)."""
    import numpy as np
    import pandas as pd

    x = sample(problem, method, samples, seed, levels)
    y = np.asarray(evaluate(x), dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    if y.shape != (len(x), len(outcomes)):
        raise ValueError(f"evaluate returned shape {y.shape}, expected {(len(x), len(outcomes))}")
    frames = []
    for j, name in enumerate(outcomes):
        df = analyze_one(problem, method, x, y[:, j], seed, levels, resamples)
        df.insert(0, "outcome", name)
        frames.append(df)
    return Analysis(method, x, y, tuple(outcomes), pd.concat(frames, ignore_index=True))


# ----------------------------------------------------------------------------- the engine
def study_plan(
    outcomes: tuple[str, ...],
    simulate: Callable[[Scenario, RunSpec], Mapping[str, float]] | None = None,
):
    """Each run computes the study's outcomes in the worker and writes only its runs row
    (`o:<outcome>` columns): from the finished model, or (with `simulate`, which then is
    the run) from the {outcome: value} the function returned."""
    from analysis.engine.experiment import RunPlan

    columns = {f"o:{n}": "Float64" for n in outcomes}
    if simulate is None:
        return RunPlan(tables=(), columns=columns, summarize=partial(outcome_row, names=outcomes))
    return RunPlan(
        tables=(),
        columns=columns,
        summarize=partial(returned_outcomes, names=outcomes),
        simulate=simulate,
    )


def returned_outcomes(
    values: Mapping[str, float], spec: RunSpec, names: tuple[str, ...]
) -> dict[str, float | None]:
    """The `o:<name>` columns of a run whose `simulate` function returned {outcome: value}
    (in the worker). An outcome it did not return fails the run (a runs row with the error)."""
    missing = [n for n in names if n not in values]
    if missing:
        raise KeyError(f"the model function returned no {', '.join(map(repr, missing))}")
    return {f"o:{n}": _finite(values[n]) for n in names}


def study_experiment(study: Study, x: np.ndarray) -> Experiment:
    """One variant per point (its id and label the point's index), `replications` seeds
    shared by all points (common random numbers).

    A point's values are its variant's changes: scenario changes for the model; for a
    `simulate` function, the values it reads (the engine then applies nothing to the
    scenario). Such a study's run ids also hash the function's name, so its runs and the
    model's never pass for one another in a folder."""
    from analysis.engine.design import Variant, expand_runs, replication_seeds, scenario_hash
    from analysis.engine.experiment import Experiment

    variants = []
    for i, row in enumerate(x):
        values = {p.path: p.value(v) for p, v in zip(study.parameters, row, strict=True)}
        variants.append(Variant(i, f"point={i}", {"point": i, **values}, values))
    seeds = replication_seeds(study.seed, study.replications)
    base = scenario_hash(study.scenario)
    if study.simulate is not None:
        base = f"{base}+{function_name(study.simulate)}"
    runs = expand_runs(base, variants, seeds)
    return Experiment(
        name=f"sensitivity {study.name}",
        scenario=study.scenario,
        runs=tuple(runs),
        plan=study_plan(study.outcomes, study.simulate),
        params=(("point", True), *((p.path, True) for p in study.parameters)),
    )


@dataclass
class EngineEvaluation:
    """The model as the evaluation function: runs the points on the engine under `out`
    (resumable), returns the mean over replications of each outcome per point (read back
    from the `o:<outcome>` columns of the `runs` parts). The model is the study's
    `simulate` function when it has one, else the simulator."""

    study: Study
    out: Path
    workers: int | None = None
    dask: str | None = None
    progress: bool = True
    chunk_size: int | None = None
    retry_failed: bool = False
    outcome: Outcome | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        from analysis.engine.experiment import run_experiment
        from analysis.engine.parts import load_table
        from analysis.errors import raise_if_stopped

        exp = study_experiment(self.study, x)
        self.outcome = run_experiment(
            exp,
            self.out,
            workers=self.workers,
            dask=self.dask,
            progress=self.progress,
            chunk_size=self.chunk_size,
            retry_failed=self.retry_failed,
            info={**self.study.describe(), "written": "runs of the study's points"},
            info_file="study.json",
        )
        raise_if_stopped(self.outcome)
        ids = {s.run_id for s in exp.runs}
        runs = load_table(self.out, "runs", ids)
        bad = runs[runs["status"] != "ok"]
        if len(bad):
            raise Stopped(
                f"{len(bad)} of {len(runs)} runs failed (first: {bad['error'].iloc[0]}); the "
                "indices need every point: fix the cause and run the same command again "
                "with --retry-failed",
                1,
            )
        cols = [f"o:{n}" for n in self.study.outcomes]
        means = runs.groupby("variant_id")[cols].mean().astype(float)
        return means.reindex(range(len(x))).to_numpy()


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
    chunk_size: int | None = None,
    retry_failed: bool = False,
) -> Result:
    """Run (or resume) a study on the engine and compute its indices."""
    started = time.perf_counter()
    ev = EngineEvaluation(study, Path(out), workers, dask, progress, chunk_size, retry_failed)
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
    oc = ev.outcome
    return Result(
        study,
        an,
        ran=oc.ran if oc else 0,
        already=oc.already if oc else 0,
        elapsed_s=time.perf_counter() - started,
    )


# ----------------------------------------------------------------------------- outputs
def _fmt(x: float) -> str:
    return "-" if x is None or not math.isfinite(x) else f"{x:.3f}"


def index_figure(df: pd.DataFrame, method: str, outcome: str) -> str:
    """Bars per parameter with their 95% intervals (S1 and ST, or mu* with sigma)."""
    import numpy as np

    from analysis.render.html import fig_to_img, pyplot

    plt = pyplot()
    names = list(df["parameter"])
    y = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(7.5, 0.5 * len(names) + 1.6), dpi=100)
    if method == "sobol":
        first = ("S1", "S1_conf", "first order S1")
        second = ("ST", "ST_conf", "total ST")
    else:
        first = ("mu_star", "mu_star_conf", "mu* (mean |effect|)")
        second = ("sigma", None, "sigma (interactions / non-linearity)")
    h = 0.38
    for shift, (col, conf, label), color in ((-1, first, "#4c72b0"), (1, second, "#dd8452")):
        err = df[conf] if conf else None
        ax.barh(y + shift * h / 2, df[col], h, xerr=err, label=label, color=color, capsize=3)
    if method == "sobol":
        ax.set_xlabel("Sobol' index (share of variance), 95% interval")
        ax.axvline(0, color="#888", lw=0.8)
    else:
        ax.set_xlabel("elementary effect (outcome units), mu* with 95% interval")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_title(outcome)
    # the legend goes below the axes: it never covers a bar
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, frameon=False, fontsize=8)
    fig.tight_layout()
    return fig_to_img(fig, f"{method} indices of {outcome}")


def ranking_sentence(df: pd.DataFrame, method: str) -> str:
    """Which parameters matter for one outcome, in words."""
    if method == "sobol":
        d = df.sort_values("ST", ascending=False)
        top = d.iloc[0]
        lo = top["ST"] - top["ST_conf"]
        inter = float((df["ST"] - df["S1"]).clip(lower=0).sum())
        small = d[(d["ST"] + d["ST_conf"]) < 0.05]["parameter"].tolist()
        s = (
            f"{top['parameter']} matters most (total index {_fmt(top['ST'])}, 95% interval "
            f"{_fmt(lo)} to {_fmt(top['ST'] + top['ST_conf'])})."
        )
        s += f" Interactions (sum of ST - S1): {_fmt(inter)}."
        if small:
            s += f" Negligible (ST below 0.05 with its interval): {', '.join(small)}."
        return s
    d = df.sort_values("mu_star", ascending=False)
    top = d.iloc[0]
    return (
        f"{top['parameter']} has the largest mean absolute effect (mu* {top['mu_star']:.3g} "
        f"+/- {top['mu_star_conf']:.3g}); order: {', '.join(d['parameter'])}."
    )


def results_json(result: Result) -> dict[str, Any]:
    """Set-up and indices as plain data (sensitivity.json)."""
    an = result.analysis

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        return v

    rows = [{k: clean(v) for k, v in r.items()} for r in an.indices.to_dict("records")]
    return {
        "study": result.study.describe(),
        "method": an.method,
        "points": int(len(an.x)),
        "ran": result.ran,
        "already": result.already,
        "elapsed_s": round(result.elapsed_s, 2),
        "indices": rows,
    }


def body_html(info: dict[str, Any], level: int = 2) -> str:
    """The sections of the page (also used as a report section): set-up, then per
    outcome a sentence, a figure and a table."""
    import pandas as pd

    from analysis.render.html import html_table

    st = info["study"]
    method = info["method"]
    idx = pd.DataFrame(info["indices"]).astype({"parameter": str, "outcome": str})
    for c in idx.columns:
        if c not in ("parameter", "outcome"):
            idx[c] = pd.to_numeric(idx[c], errors="coerce")
    h = f"h{level}"
    what = (
        "Sobol' first-order (S1: the share of the outcome's variance a parameter explains "
        "alone) and total indices (ST: alone and in interactions)"
        if method == "sobol"
        else "Morris elementary effects (mu*: mean absolute effect of moving a parameter one "
        "grid step; sigma: how much that effect varies, a sign of interactions)"
    )
    params = ", ".join(f"{p['path']} in [{p['low']:g}, {p['high']:g}]" for p in st["parameters"])
    parts = [
        f"<p>{html.escape(what)}, computed with SALib over {info['points']:,} points x "
        f"{st['replications']} replication(s) = {st['runs']:,} runs of "
        f"{html.escape(Path(st['scenario']).name)}"
        f"{' with ' + html.escape(', '.join(f'{k} = {v}' for k, v in st['set'].items())) if st['set'] else ''}"
        f" (seed {st['seed']}, common random numbers: every point runs the same seeds); "
        f"95% intervals from {st['resamples']} bootstrap resamples.</p>",
        f'<p class="note">Parameters: {html.escape(params)}.</p>',
    ]
    for outcome in st["outcomes"]:
        df = idx[idx["outcome"] == outcome].reset_index(drop=True)
        parts.append(f"<{h}>{html.escape(outcome)}</{h}>")
        if df.drop(columns=["outcome", "parameter"]).isna().all().all():
            parts.append('<p class="unclear">No indices: the outcome is missing in some runs.</p>')
            continue
        parts.append(f"<p>{html.escape(ranking_sentence(df, method))}</p>")
        table = df.drop(columns="outcome")
        parts.append(
            '<div class="row">' + index_figure(df, method, outcome) + html_table(table) + "</div>"
        )
    return "\n".join(parts)


def sensitivity_html(info: dict[str, Any]) -> str:
    """The whole page."""
    from analysis.render.html import html_page

    st = info["study"]
    title = f"Sensitivity: {st['name']}"
    desc = f"<p>{html.escape(st['description'])}</p>" if st.get("description") else ""
    return html_page(title, f"<h1>{html.escape(title)}</h1>{desc}{body_html(info)}")


def sensitivity_section(directory: str | Path) -> str:
    """An HTML section for another page (the batch report) from a study folder's
    sensitivity.json; "" if there is none."""
    f = Path(directory) / "sensitivity.json"
    if not f.is_file():
        return ""
    info = json.loads(f.read_text(encoding="utf-8"))
    label = "Sobol' indices" if info["method"] == "sobol" else "Morris screening"
    return (
        f'<section id="sensitivity"><h2>Sensitivity ({label}): '
        f"{html.escape(info['study']['name'])}</h2>{body_html(info, level=3)}</section>"
    )


def write_outputs(result: Result, out: str | Path) -> list[Path]:
    """indices.csv, points.csv, sensitivity.json and sensitivity.html under DIR."""
    import pandas as pd

    from analysis.engine.writer import write_json

    out = Path(out)
    an = result.analysis
    written = []
    f = out / "indices.csv"
    an.indices.to_csv(f, index=False)
    written.append(f)
    pts = pd.DataFrame(an.x, columns=[p.path for p in result.study.parameters])
    for j, name in enumerate(an.outcomes):
        pts[name] = an.y[:, j]
    pts.insert(0, "point", range(len(pts)))
    f = out / "points.csv"
    pts.to_csv(f, index=False)
    written.append(f)
    info = results_json(result)
    f = out / "sensitivity.json"
    write_json(f, info)
    written.append(f)
    f = out / "sensitivity.html"
    tmp = f.with_name(f".{f.name}.tmp")
    tmp.write_text(sensitivity_html(info), encoding="utf-8")
    tmp.replace(f)
    written.append(f)
    return written


def summary_lines(result: Result) -> list[str]:
    """The terminal summary: per outcome, the parameters by importance."""
    an = result.analysis
    lines = []
    for outcome in an.outcomes:
        df = an.indices[an.indices["outcome"] == outcome]
        if an.method == "sobol":
            d = df.sort_values("ST", ascending=False)
            text = ", ".join(
                f"{r.parameter} S1 {_fmt(r.S1)}+/-{_fmt(r.S1_conf)} ST {_fmt(r.ST)}+/-{_fmt(r.ST_conf)}"
                for r in d.itertuples()
            )
        else:
            d = df.sort_values("mu_star", ascending=False)
            text = ", ".join(
                f"{r.parameter} mu* {r.mu_star:.3g}+/-{r.mu_star_conf:.3g} sigma {r.sigma:.3g}"
                for r in d.itertuples()
            )
        lines.append(f"{outcome}: {text}")
    return lines


# ----------------------------------------------------------------------------- command line
