"""The sensitivity file (scenarios/sensitivity_*.toml) and the validated `Study` it gives.

    study = load_study("scenarios/sensitivity_baseline.toml")   # one-line ScenarioError

The file's tables are a pydantic model (`SensitivityFile`): the shape of every key (whole
numbers in their ranges, the method, the study's name, each parameter's [low, high]) is
checked there, each problem one line naming the key. What needs the base scenario (a
parameter is one of its numbers and both bounds make a valid scenario, the outcomes name
its vendors, the number of runs) is checked after parsing, in `load_study`. A file of
another kind is sim.filekinds.WrongKind ("this is a sweep file; ...").

Light at import (pydantic and the scenario's own modules): `run.py validate` reads this.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, field_validator

from analysis.engine.limits import check_runs
from analysis.engine.studyfile import (
    StudyBase,
    StudyModel,
    current_value,
    flatten_set,
    read_study_file,
    study_scenario,
    validate,
)
from analysis.studies.sensitivity import METHODS
from analysis.studies.sensitivity.outcomes import outcome_problem
from sim.filekinds import SENSITIVITY
from sim.scenario import MAX_SEED, Scenario, ScenarioError, Whole, problem, shown

if TYPE_CHECKING:
    from analysis.engine.design import RunSpec

#: bootstrap resamples for the intervals
DEFAULT_RESAMPLES = 500
DEFAULT_LEVELS = 4
#: at most this many parameters (the runs grow with them) and outcomes
MAX_PARAMETERS = 20
MAX_OUTCOMES = 20
#: the file every message about an unknown key points to
EXAMPLE = "scenarios/sensitivity_baseline.toml"
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


# ----------------------------------------------------------------------------- the file
class SensitivityTable(StudyModel):
    """The [sensitivity] table; a missing key takes its default (None: from the scenario)."""

    name: Any = Field(None, validate_default=True)
    description: str = ""
    scenario: Any = None  # checked by analysis.engine.design.study_scenario
    method: Any = "sobol"
    samples: Whole = Field(64, ge=2)
    levels: Whole = Field(DEFAULT_LEVELS, ge=2, le=20)
    replications: Whole = Field(1, ge=1, le=100)
    seed: Whole | None = Field(None, ge=0, le=MAX_SEED)
    resamples: Whole = Field(DEFAULT_RESAMPLES, ge=10, le=10_000)
    outcomes: Any = None  # checked against the scenario's vendors (_outcomes)
    set: dict[str, Any] = Field(default_factory=dict)

    @field_validator("name", mode="before")
    @classmethod
    def _a_name(cls, value: Any) -> str:
        if not isinstance(value, str) or not _NAME.match(value):
            raise problem(
                f"a name of letters, digits, '_', '-', '.' is needed (found {shown(value)})"
            )
        return value

    @field_validator("method", mode="before")
    @classmethod
    def _a_method(cls, value: Any) -> str:
        if value not in METHODS:
            raise problem(f'must be "sobol" or "morris" (found {shown(value)})')
        return value

    @field_validator("levels")
    @classmethod
    def _even(cls, value: int) -> int:
        if value % 2:
            raise problem(f"must be even (found {value}); use 4")
        return value


class SensitivityFile(StudyModel):
    """A sensitivity file: the [sensitivity] table and the [parameters] ranges (dotted
    paths, flattened, each to its (low, high))."""

    sensitivity: SensitivityTable
    parameters: dict[str, tuple[float, float]] = Field(default_factory=dict, validate_default=True)

    @field_validator("sensitivity", mode="before")
    @classmethod
    def _a_table(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            raise problem("must be a table")
        return value

    @field_validator("parameters", mode="before")
    @classmethod
    def _ranges(cls, value: Any) -> dict[str, tuple[float, float]]:
        if not isinstance(value, dict) or not value:
            raise problem(
                'needs at least one parameter: [parameters] "choice.status_quo" = [1.0, 2.5]'
            )
        ranges = flatten_set(value)
        if len(ranges) > MAX_PARAMETERS:
            raise problem(f"{len(ranges)} parameters; at most {MAX_PARAMETERS}")
        for path, bounds in ranges.items():
            if not _is_range(bounds):
                raise problem(f"must be [low, high] numbers (found {shown(bounds)})", path)
            if not bounds[0] < bounds[1]:
                raise problem(f"low must be below high (found [{bounds[0]}, {bounds[1]}])", path)
        return {path: (float(low), float(high)) for path, (low, high) in ranges.items()}


def _is_range(bounds: Any) -> bool:
    """[low, high]: two finite numbers (not booleans)."""
    return (
        isinstance(bounds, list)
        and len(bounds) == 2
        and all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
        and all(math.isfinite(b) for b in bounds)
    )


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
    (outcomes.outcome_row). A function `simulate(base, spec)` replaces the model on the
    same engine path (the tests' known-answer functions): it reads the point's values
    from `spec.changes` (keys: the parameter names; nothing applies them to `base`) and
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


# ----------------------------------------------------------------------------- loading
def load_study(path: str | Path, method: str | None = None, samples: int | None = None) -> Study:
    """Read and validate a sensitivity file (--method / --samples override it).

    Raises:
        ScenarioError: one line naming the file, the key and the fix (WrongKind for a
            file of another kind).
    """
    src = str(path)
    data = _with_flags(read_study_file(path, SENSITIVITY), method, samples)
    spec = validate(SensitivityFile, data, src, example=EXAMPLE)
    head = spec.sensitivity
    base = study_scenario(src, "sensitivity", head.model_dump(), Path(path).parent)
    _check_samples(src, head.method, head.samples, from_flag=samples is not None)
    study = Study(
        name=head.name,
        source=src,
        scenario_path=str(base.path),
        scenario=base.scenario,
        fixed=base.fixed,
        parameters=_parameters(src, spec.parameters, base),
        outcomes=_outcomes(src, head.outcomes, base.scenario),
        method=head.method,
        samples=head.samples,
        levels=head.levels,
        replications=head.replications,
        seed=base.scenario.seed if head.seed is None else head.seed,
        resamples=head.resamples,
        description=head.description,
    )
    check_runs(src, "sensitivity.samples", study.points(), study.replications)
    return study


def _with_flags(data: dict[str, Any], method: str | None, samples: int | None) -> dict[str, Any]:
    """The file's data with --method and --samples in place of its own values."""
    head = data.get("sensitivity")
    if not isinstance(head, dict):
        return data
    flags = {"method": method, "samples": samples}
    return {**data, "sensitivity": {**head, **{k: v for k, v in flags.items() if v is not None}}}


def _check_samples(src: str, method: str, samples: int, from_flag: bool) -> None:
    """Sobol' sampling needs a power of 2 (named as the flag when --samples gave it)."""
    if method == "sobol" and samples & (samples - 1):
        lo = 1 << (samples.bit_length() - 1)
        raise ScenarioError(
            src,
            "--samples" if from_flag else "sensitivity.samples",
            f"Sobol' sampling needs a power of 2 (found {samples}); use {lo} or {lo * 2}",
        )


def _parameters(
    src: str, ranges: dict[str, tuple[float, float]], base: StudyBase
) -> tuple[Parameter, ...]:
    """Each range as a Parameter of the base scenario: a number of it (whole for an integer
    field), not fixed by [sensitivity.set], both bounds a valid scenario."""
    parameters = []
    for path, (low, high) in ranges.items():
        where = f"parameters.{path}"
        if path in base.fixed:
            raise ScenarioError(src, where, "is also fixed in [sensitivity.set]; drop one")
        current = current_value(base.scenario, path)
        if current is None or isinstance(current, dict | list | str | bool):
            raise ScenarioError(
                src,
                where,
                f"{path} is not a number of the scenario (found {shown(current)}); name a "
                'numeric field, e.g. "choice.status_quo" or "vendors.NAME.weekly_budget"',
            )
        param = Parameter(path, low, high, integer=isinstance(current, int))
        for v in (low, high):
            try:
                base.scenario.with_changes({path: param.value(v)})
            except ScenarioError as exc:
                raise ScenarioError(src, where, f"{exc.field}: {exc.problem}") from None
        parameters.append(param)
    return tuple(parameters)


def _outcomes(src: str, outcomes: Any, scenario: Scenario) -> tuple[str, ...]:
    """The outcome names: a list of distinct names of this scenario's outcomes."""
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
        why = outcome_problem(o, tuple(scenario.vendor_names()))
        if why:
            raise ScenarioError(src, "sensitivity.outcomes", why)
    return tuple(outcomes)
