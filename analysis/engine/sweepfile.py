"""The sweep file (scenarios/sweep_*.toml; a DATA-loop study is a sweep file over
policies) read and checked: its tables as pydantic models, then what needs its base
scenario.

    checked = read_sweep_file("scenarios/sweep_channel_mix.toml")   # one-line ScenarioError

A sweep file has three kinds of table:

    [sweep]            name, the base `scenario`, replications, seed, sampler, samples,
                       weekly, description, and `set` (fixed "dotted.path" = value changes)
    [axes]             one entry per swept dimension: a list of values (a grid at the
                       path the axis is named after), {path(s) =, values = [...]}, a range
                       {path(s) =, low =, high =, log =, integer =} sampled `samples`
                       times, or {vendor =, strategies = [...]} swapping strategies in
    [strategies.NAME]  the vendor fields a strategy sets (channel_mix, weekly_budget, ...)

Their shape is checked by the models (`SweepFile` and its tables), every problem one line
naming the key (analysis.engine.studyfile.validate). The design's size is counted next,
before any value is applied to a scenario; then every value is applied to the base (with
its [sweep.set] changes) and must give a valid scenario. `analysis.engine.design.
load_sweep_file` makes the design's Sweep of what `read_sweep_file` returns.

The base scenario of every study file (`scenario =` and `set =`: sweeps, sensitivity,
optimisation and DATA-loop files) is read here too: `study_scenario`.

Light at import (pydantic, the standard library and sim.scenario): `run.py validate`
reads sweep files with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    StrictStr,
    ValidationError,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)

from analysis.engine.limits import MAX_AXIS_VALUES, check_runs
from analysis.engine.studyfile import (
    StudyModel,
    current_value,
    read_study_file,
    study_scenario,
    validate,
    with_set,
)
from sim.filekinds import SWEEP
from sim.scenario import (
    MAX_SEED,
    Scenario,
    ScenarioError,
    VendorSpec,
    problem,
    shown,
)

#: names of sweeps and axes (they become a folder name, sweep=NAME, and columns, p:NAME)
NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
#: the file an unknown key's message points to
EXAMPLE = "scenarios/sweep_channel_mix.toml"
#: the keys a strategy may set: a vendor's fields but its name
STRATEGY_KEYS: tuple[str, ...] = tuple(sorted(set(VendorSpec.model_fields) - {"name"}))
#: the keys of a range axis
RANGE_KEYS = frozenset({"low", "high", "log", "integer"})


# ----------------------------------------------------------------------------- value types
def worded(message: Callable[[Any], str]) -> WrapValidator:
    """Pydantic checks the value; a refusal is worded as `message(value)` says, in the
    words sweep files have always used ("must be a whole number >= 1 (found 0)")."""

    def check(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        try:
            return handler(value)
        except ValidationError:
            raise problem(message(value)) from None

    return WrapValidator(check)


def whole(minimum: int, maximum: int | None = None) -> Any:
    """The type of a whole number from `minimum` (to `maximum`); no float, no boolean."""

    def message(value: Any) -> str:
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return f"must be at most {maximum:,} (found {value:,})"
        return f"must be a whole number >= {minimum} (found {shown(value)})"

    return Annotated[int, Field(strict=True, ge=minimum, le=maximum), worded(message)]


Count = whole(1)
Seed = whole(0, MAX_SEED)
Flag = Annotated[
    bool, Field(strict=True), worded(lambda v: f"must be true or false (found {shown(v)})")
]
Number = Annotated[
    float,
    Field(strict=True, allow_inf_nan=False),
    worded(lambda v: f"must be a number (found {shown(v)})"),
]
Name = Annotated[
    str,
    Field(strict=True, pattern=NAME.pattern),
    worded(lambda v: f"a name of letters, digits, '_', '-', '.' is needed (found {shown(v)})"),
]
DottedPaths = Annotated[
    tuple[StrictStr, ...],
    Field(min_length=1),
    worded(lambda v: 'must be a list of "dotted.path" strings'),
]


def listed(values: Any, *at: str) -> tuple[Any, ...]:
    """The values of an axis (or its strategies, `at` "strategies"): a non-empty list of
    distinct values."""
    if not isinstance(values, list | tuple) or not values:
        found = list(values) if isinstance(values, tuple) else values
        raise problem(f"must be a non-empty list (found {shown(found)})", *at)
    seen = [json.dumps(v, sort_keys=True, default=str) for v in values]
    if len(set(seen)) != len(seen):
        raise problem(f"values must be distinct (found {shown(list(values))})", *at)
    return tuple(values)


def vendor_fields(body: Any) -> Any:
    """A strategy: a non-empty table of vendor fields (kept as written: the values are
    checked by applying them to the base scenario)."""
    if not isinstance(body, dict) or not body:
        raise problem("must be a table of vendor fields (channel_mix, weekly_budget, ...)")
    for key in body:
        if key not in STRATEGY_KEYS:
            raise problem(f"unknown key; allowed: {', '.join(STRATEGY_KEYS)}", key)
    return body


Strategy = Annotated[dict[str, Any], BeforeValidator(vendor_fields)]


# ----------------------------------------------------------------------------- the tables
class SweepTable(StudyModel):
    """[sweep]: the sweep's name, its base scenario and the design's settings."""

    name: Name = Field(None, validate_default=True)
    description: StrictStr = ""
    scenario: Any = None  # the base scenario file: checked by study_scenario
    replications: Count = 1
    seed: Seed | None = None  # None: the base scenario's seed
    weekly: Flag = False
    sampler: Literal["lhs", "sobol"] = "lhs"
    samples: Count | None = None
    set: Any = Field(default_factory=dict)  # "dotted.path" = value: checked by with_set


class AxisTable(StudyModel):
    """One entry of [axes]: a grid (values), a range (low, high) or a strategy axis
    (vendor, strategies); a bare list of values is a grid at the axis name's path."""

    path: StrictStr | None = None
    paths: DottedPaths | None = None
    values: tuple[Any, ...] | None = None
    low: Number | None = None
    high: Number | None = None
    log: Flag = False
    integer: Flag | None = None  # None: whole numbers if the base's value is one
    vendor: str | None = None
    strategies: tuple[StrictStr, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _a_table(cls, data: Any) -> Any:
        """A bare list is a grid's values; an axis may list at most MAX_AXIS_VALUES
        values, counted before any is checked."""
        if isinstance(data, list):
            data = {"values": data}
        if not isinstance(data, dict):
            raise problem(
                "must be a list of values, {low =, high =}, or {vendor =, strategies = [...]}"
                f" (found {shown(data)})"
            )
        values = data.get("values", data.get("strategies"))
        if isinstance(values, list) and len(values) > MAX_AXIS_VALUES:
            raise problem(
                f"{len(values):,} values; an axis may list at most {MAX_AXIS_VALUES:,} "
                "(use a range axis, {low =, high =} with samples, for more)"
            )
        return data

    @property
    def kind(self) -> str:
        """ "strategy", "grid" or "range", by the keys the entry gives."""
        if self.vendor is not None or self.strategies is not None:
            return "strategy"
        return "grid" if self.values is not None else "range"

    def dotted_paths(self, name: str) -> tuple[str, ...]:
        """The scenario paths a grid or range axis sets (the axis name by default)."""
        if self.paths is not None:
            return self.paths
        return (self.path if self.path is not None else name,)

    @model_validator(mode="after")
    def _one_kind(self) -> AxisTable:
        """The keys of one kind of axis, consistent with each other."""
        given = self.model_fields_set
        if self.kind == "strategy":
            extra = given - {"vendor", "strategies"}
            if extra:
                raise problem(
                    "a strategy axis takes only vendor and strategies "
                    f"({', '.join(sorted(extra))} given)"
                )
            listed(self.strategies, "strategies")
            return self
        if {"path", "paths"} <= given:
            raise problem("give path or paths, not both")
        if self.kind == "grid":
            if given & RANGE_KEYS:
                raise problem("give values = [...] or low/high, not both")
            for v in listed(self.values):
                if isinstance(v, dict | list):
                    raise problem(f"values must be numbers or strings (found {shown(v)})")
            return self
        if self.low is None or self.high is None:
            raise problem("a range axis needs low and high (or give values = [...] for a grid)")
        if not self.low < self.high:
            raise problem(f"low must be below high (found low={self.low:g}, high={self.high:g})")
        if self.log and self.low <= 0:
            raise problem(f"must be > 0 with log = true (found {self.low:g})", "low")
        return self


class SweepFile(StudyModel):
    """A sweep file: [sweep], [axes] and [strategies.NAME]."""

    sweep: SweepTable
    axes: dict[str, AxisTable] = Field(default_factory=dict)
    strategies: dict[str, Strategy] = Field(default_factory=dict)

    @field_validator("sweep", "axes", "strategies", mode="before")
    @classmethod
    def _tables(cls, value: Any, info: ValidationInfo) -> Any:
        """Each of the file's tables is a table."""
        if not isinstance(value, dict):
            raise problem(
                {
                    "sweep": "a sweep file needs a [sweep] table",
                    "axes": "must be a table ([axes])",
                    "strategies": "must be tables [strategies.NAME]",
                }[info.field_name]
            )
        return value

    @property
    def ranged(self) -> bool:
        """Whether any axis is a range (sampled `samples` times)."""
        return any(a.kind == "range" for a in self.axes.values())

    @model_validator(mode="after")
    def _consistent(self) -> SweepFile:
        """Axis names, and samples given with range axes only."""
        for name in self.axes:
            if not NAME.match(name):
                raise problem("axis names use letters, digits, '_', '-', '.'", "axes", name)
        if self.ranged and self.sweep.samples is None:
            raise problem(
                "must be a whole number >= 1: how many points the range axes sample (found none)",
                "sweep",
                "samples",
            )
        if not self.ranged and self.sweep.samples is not None:
            raise problem("only used with range axes ({low=, high=})", "sweep", "samples")
        return self

    def swept_paths(self, name: str) -> set[str]:
        """The scenario paths axis `name` sets (its strategies are known)."""
        axis = self.axes[name]
        if axis.kind == "strategy":
            return {
                f"vendors.{axis.vendor}.{k}" for s in axis.strategies for k in self.strategies[s]
            }
        return set(axis.dotted_paths(name))

    def variant_count(self) -> int:
        """Design points: the product of the listed axes' lengths, times the samples of
        the range axes (counted from the file, nothing built)."""
        n = self.sweep.samples if self.ranged else 1
        for axis in self.axes.values():
            if axis.kind != "range":
                n *= len(axis.values if axis.kind == "grid" else axis.strategies)
        return n


# ----------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class CheckedSweep:
    """A sweep file validated and checked against its base scenario: the file's tables,
    the base (without the [sweep.set] changes, which every run applies), its file, the
    flattened changes, the seed and each axis as the fields of a design Axis."""

    source: str
    table: SweepTable
    scenario: Scenario
    scenario_path: Path
    fixed: dict[str, Any]
    seed: int
    axes: tuple[dict[str, Any], ...]
    strategies: dict[str, dict[str, Any]]


def read_sweep_file(path: str | Path) -> CheckedSweep:
    """Read a sweep file and check it: its shape, its size (before any value is applied),
    then every value against its base scenario.

    Raises:
        ScenarioError: one line naming the file, the key and what is allowed (WrongKind
            for a file of another kind: a scenario, a sensitivity file ...).
    """
    src = str(path)
    spec = validate(SweepFile, read_study_file(path, SWEEP), src, example=EXAMPLE)
    check_runs(src, "sweep", spec.variant_count(), spec.sweep.replications)
    head = spec.sweep
    base = study_scenario(src, "sweep", {"scenario": head.scenario}, Path(path).parent, False)
    fixed_base, fixed = with_set(src, "sweep", head.set, base.scenario)
    axes = tuple(
        _checked_axis(src, name, axis, fixed_base, spec.strategies)
        for name, axis in spec.axes.items()
    )
    _no_overlap(src, spec, fixed)
    return CheckedSweep(
        source=src,
        table=head,
        scenario=base.scenario,
        scenario_path=base.path,
        fixed=fixed,
        seed=head.seed if head.seed is not None else base.scenario.seed,
        axes=axes,
        strategies=dict(spec.strategies),
    )


def _checked_axis(
    src: str, name: str, axis: AxisTable, base: Scenario, strategies: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """Axis `name`'s values applied to `base` (each must give a valid scenario); the
    axis as the fields of a design Axis."""
    where = f"axes.{name}"
    if axis.kind == "strategy":
        if axis.vendor not in base.vendor_names():
            raise ScenarioError(
                src,
                where + ".vendor",
                f"must name a vendor of the scenario: {', '.join(base.vendor_names())} "
                f"(found {shown(axis.vendor)})",
            )
        for s in axis.strategies:
            if s not in strategies:
                known = ", ".join(strategies) or "none defined"
                raise ScenarioError(
                    src,
                    where + ".strategies",
                    f"unknown strategy {shown(s)}; define it as [strategies.{s}] (defined: {known})",
                )
        for s in axis.strategies:
            changes = {f"vendors.{axis.vendor}.{k}": v for k, v in strategies[s].items()}
            _applies(src, f"strategies.{s}", base, changes)
        return {"name": name, "kind": "strategy", "values": axis.strategies, "vendor": axis.vendor}
    paths = axis.dotted_paths(name)
    if axis.kind == "grid":
        for v in axis.values:
            _applies(src, where, base, dict.fromkeys(paths, v))
        return {"name": name, "kind": "grid", "paths": paths, "values": axis.values}
    integer = axis.integer
    if integer is None:
        current = current_value(base, paths[0])
        integer = isinstance(current, int) and not isinstance(current, bool)
    for v in (axis.low, axis.high):
        _applies(src, where, base, dict.fromkeys(paths, int(round(v)) if integer else v))
    return {
        "name": name,
        "kind": "range",
        "paths": paths,
        "low": axis.low,
        "high": axis.high,
        "log": axis.log,
        "integer": integer,
    }


def _applies(src: str, where: str, base: Scenario, changes: dict[str, Any]) -> None:
    """`changes` applied to `base` give a valid scenario; else a one-line error at
    `where` naming the scenario's field, its problem and the changes."""
    try:
        base.with_changes(changes)
    except ScenarioError as exc:
        listed_changes = ", ".join(f"{k} = {shown(v)}" for k, v in changes.items())
        if len(listed_changes) > 120:
            listed_changes = listed_changes[:117] + "..."
        raise ScenarioError(
            src, where, f"{exc.field}: {exc.problem} (with {listed_changes})"
        ) from None


def _no_overlap(src: str, spec: SweepFile, fixed: dict[str, Any]) -> None:
    """Each scenario path is swept by one axis and not also fixed in [sweep.set]."""
    owner: dict[str, str] = {}
    for name in spec.axes:
        for path in sorted(spec.swept_paths(name)):
            if path in owner:
                raise ScenarioError(
                    src, f"axes.{name}", f"{path} is already swept by axis {owner[path]!r}"
                )
            if path in fixed:
                raise ScenarioError(src, f"axes.{name}", f"{path} is also fixed in [sweep.set]")
            owner[path] = name
