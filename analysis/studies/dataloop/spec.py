"""The DATA-loop study file: a sweep file over one vendor's policies, validated once.

    study = load_study("scenarios/data_loop.toml")     # ScenarioError: one line

The file is a sweep file (sim.filekinds.SWEEP): [sweep] names the base scenario, [sweep.set]
the market, and one axis {vendor = "Focal", strategies = [...]} the policies to compare
(each [strategies.NAME] sets the focal vendor's `policy` and `data_loop` fields, and may
set its other fields); an optional grid axis on `vendors.Focal.data_loop.cadence_weeks`
gives the cadences (quarterly 13 vs yearly 52). A static policy runs once, whatever the
cadence. Replications default to DEFAULT_REPS.

How it is read: the file's kind first (a scenario file given here says "this is a
scenario file; dataloop takes a sweep file"), then the study's own parts as pydantic
models (the policy axis, each listed strategy's policy and data_loop table), then the
sweep itself with analysis.engine.design.load_sweep_file (which also finds the focal
vendor in the scenario), then the cadence axis and the checks that need the scenario
(every variant has valid loop settings and makes a valid scenario).

Only pydantic and the standard library (with sim.scenario and the sweep design) are
imported here: `run.py --help`, `run.py validate` and the live view read study files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field

from analysis.engine.design import Sweep, load_sweep_file
from analysis.engine.studyfile import StudyModel, read_study_file, validate
from sim.filekinds import SWEEP
from sim.scenario import Scenario, ScenarioError, problem, shown

POLICIES = ("static", "data_loop", "oracle")
OBJECTIVES = ("conversions", "revenue", "originated")
DEFAULT_REPS = 10
#: the shipped study, named by messages about unknown keys
EXAMPLE = "scenarios/data_loop.toml"


# ----------------------------------------------------------------------------- values
def _objective(value: Any) -> Any:
    if value not in OBJECTIVES:
        raise problem(f"must be one of {', '.join(OBJECTIVES)} (found {shown(value)})")
    return value


def _whole(minimum: int):
    """A check of a whole number of weeks >= `minimum` (booleans and floats refused)."""

    def check(value: Any) -> Any:
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise problem(f"must be a whole number (found {shown(value)})")
        return value

    return check


def _share(value: Any) -> Any:
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise problem(f"must be in [0, 1] (found {shown(value)})")
    return value


def _policy(value: Any) -> Any:
    if value not in POLICIES:
        raise problem(f"unknown policy {shown(value)}; allowed: {', '.join(POLICIES)}")
    return value


def _listed(value: Any) -> Any:
    if not isinstance(value, list) or not value:
        raise problem("must list the policies to compare")
    return value


def _cadences(value: Any) -> Any:
    whole = isinstance(value, list) and all(
        isinstance(x, int) and not isinstance(x, bool) and x >= 1 for x in value
    )
    if not value or not whole:
        raise problem(f"cadences must be whole weeks >= 1 (found {shown(value)})")
    return value


def _table(value: Any) -> Any:
    if not isinstance(value, dict):
        raise problem("must be a table")
    return value


Objective = Annotated[str, BeforeValidator(_objective)]
Share = Annotated[int | float, BeforeValidator(_share)]


# ----------------------------------------------------------------------------- models
class LoopSettings(StudyModel):
    """Define / Assess / Adjust of a data-loop or oracle vendor (the scenario's data_loop
    table without its tracking)."""

    objective: Objective = "conversions"
    baseline_weeks: Annotated[int, BeforeValidator(_whole(0))] = 26
    cadence_weeks: Annotated[int, BeforeValidator(_whole(1))] = 13
    max_shift: Share = 0.2
    exploration: Share = 0.05
    window_weeks: Annotated[int, BeforeValidator(_whole(1))] = 26


class PolicyAxis(StudyModel):
    """The axis that names the focal vendor and the strategies (policies) to compare."""

    vendor: str
    strategies: Annotated[list[str], BeforeValidator(_listed)]


class CadenceAxis(StudyModel):
    """The optional grid axis on the focal vendor's data_loop.cadence_weeks."""

    path: str
    values: Annotated[list[int], BeforeValidator(_cadences)]


class Strategy(StudyModel):
    """A listed [strategies.NAME] table: the focal vendor's policy and data_loop table;
    its other vendor fields are the sweep's to check."""

    model_config = ConfigDict(extra="allow", frozen=True)

    policy: Annotated[str, BeforeValidator(_policy)] = "static"
    data_loop: Annotated[dict[str, Any], BeforeValidator(_table)] = Field(default_factory=dict)


class StudyTables(StudyModel):
    """The tables a study reads itself ([sweep] is the sweep's, load_sweep_file's)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    axes: dict[str, Any] = Field(default_factory=dict)
    strategies: dict[str, Any] = Field(default_factory=dict)


# ----------------------------------------------------------------------------- the study
@dataclass(frozen=True)
class PolicyVariant:
    """One variant of the study: a policy (strategy) at a cadence."""

    label: str
    strategy: str
    policy: str
    cadence: int | None
    fields: dict[str, Any]  # the focal vendor's fields other than policy and data_loop
    loop: dict[str, Any]  # the strategy's data_loop table (with the cadence)


@dataclass(frozen=True)
class Study:
    """A validated study file: the market, the focal vendor and the policy variants."""

    name: str
    source: str
    description: str
    scenario: Scenario  # the base scenario with [sweep.set] applied
    vendor: str
    variants: tuple[PolicyVariant, ...]
    replications: int
    seed: int

    @property
    def reference(self) -> str:
        """The variant the others are compared with: the first static one (else the first)."""
        return next(
            (v.label for v in self.variants if v.policy == "static"), self.variants[0].label
        )

    def settings(self, v: PolicyVariant) -> LoopSettings:
        """A variant's loop settings: the vendor's own [vendors.data_loop] (if any) under
        the strategy's data_loop table and the cadence."""
        data = {
            k: x
            for k, x in vendor_loop(self.scenario, self.vendor).items()
            if k in LoopSettings.model_fields
        }
        data.update((k, x) for k, x in v.loop.items() if k != "tracking")
        at = ("strategies", v.strategy, "data_loop")
        return validate(LoopSettings, data, self.source, at=at, example=EXAMPLE)

    def changes(self, v: PolicyVariant, schedule: list[dict[str, Any]] | None = None) -> dict:
        """The scenario changes of a variant (the oracle's with its planned schedule)."""
        pre = f"vendors.{self.vendor}."
        out = {pre + k: x for k, x in v.fields.items()}
        out[pre + "policy"] = v.policy
        for k, x in _flat(v.loop).items():
            out[pre + "data_loop." + k] = x
        if schedule is not None:
            out[pre + "schedule"] = schedule
        return out


def vendor_loop(scenario: Scenario, vendor: str) -> dict[str, Any]:
    """The vendor's own [vendors.data_loop] table as plain data ({} when it has none)."""
    v = next(x for x in scenario.vendors if x.name == vendor)
    return {} if v.data_loop is None else v.data_loop.model_dump()


def _flat(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A data_loop table as dotted paths (tracking.method = ...), so that it changes only
    the fields it names."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        if isinstance(v, dict) and k != "channel_mix":
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


# ----------------------------------------------------------------------------- reading
def load_study(path: str | Path) -> Study:
    """Read a study file (see the module doc).

    Raises:
        WrongKind: the file is not a sweep file (a scenario file, a sensitivity file...).
        ScenarioError: one line naming the file and the key (no focal vendor, an unknown
        policy, a value the scenario refuses, ...).
    """
    src = str(path)
    data = read_study_file(path, SWEEP)
    tables = validate(StudyTables, data, src, example=EXAMPLE)
    axis_name, axis = _policy_axis(src, tables.axes)
    strategies = {s: _strategy(src, tables.strategies, axis_name, s) for s in axis.strategies}
    sweep = _read_sweep(path, axis_name)
    cadences = _cadences_of(src, tables.axes, axis_name, axis.vendor)
    head = data["sweep"]
    base = sweep.scenario.with_changes(sweep.fixed)
    study = Study(
        name=sweep.name,
        source=src,
        description=sweep.description,
        scenario=base,
        vendor=axis.vendor,
        variants=tuple(_variants(tables.strategies, strategies, cadences)),
        replications=validate(_Replications, head, src, at=("sweep",)).replications,
        seed=sweep.seed if "seed" in head else base.seed,
    )
    _check_variants(study)
    return study


class _Replications(StudyModel):
    """The study's replications: DEFAULT_REPS unless the file gives them."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    replications: Annotated[int, Field(ge=1, le=10_000, strict=True)] = DEFAULT_REPS


def _policy_axis(src: str, axes: dict[str, Any]) -> tuple[str, PolicyAxis]:
    """The one axis {vendor = "NAME", strategies = [...]} (its name and content)."""
    found = [(k, a) for k, a in axes.items() if isinstance(a, dict) and "vendor" in a]
    if len(found) != 1:
        raise ScenarioError(
            src,
            "axes",
            "no focal vendor: a study needs exactly one axis "
            '{vendor = "NAME", strategies = [...]} naming the vendor whose policy varies '
            f"(found {len(found)})",
        )
    name, axis = found[0]
    return name, validate(PolicyAxis, axis, src, at=("axes", name), example=EXAMPLE)


def _cadences_of(src: str, axes: dict[str, Any], policy_axis: str, vendor: str) -> list[int | None]:
    """The cadences of the grid axis on the vendor's data_loop.cadence_weeks ([None]
    without one); any other axis is refused."""
    cadences: list[int | None] = [None]
    path = f"vendors.{vendor}.data_loop.cadence_weeks"
    for name, spec in axes.items():
        if name == policy_axis:
            continue
        spec = {"path": name, "values": spec} if isinstance(spec, list) else spec
        if not isinstance(spec, dict) or spec.get("path", name) != path:
            raise ScenarioError(
                src,
                f"axes.{name}",
                "a study varies only the policy and the cadence: a grid axis on "
                f'"{path}" (e.g. [13, 52])',
            )
        axis = validate(CadenceAxis, {"path": path, **spec}, src, at=("axes", name))
        cadences = list(dict.fromkeys(axis.values))
    return cadences


def _strategy(src: str, strategies: dict[str, Any], axis_name: str, name: str) -> Strategy:
    """A listed strategy's table, which must be defined."""
    body = strategies.get(name)
    if not isinstance(body, dict):
        raise ScenarioError(
            src,
            f"axes.{axis_name}.strategies",
            f"unknown strategy {shown(name)}; define [strategies.{name}]",
        )
    return validate(Strategy, body, src, at=("strategies", name), example=EXAMPLE)


def _read_sweep(path: str | Path, axis_name: str) -> Sweep:
    """The file as a sweep (base scenario, [sweep.set], seed, every value); a policy axis
    naming no vendor of the scenario says there is no focal vendor."""
    try:
        return load_sweep_file(path)
    except ScenarioError as exc:
        if exc.field != f"axes.{axis_name}.vendor":
            raise
        raise ScenarioError(str(path), exc.field, f"no focal vendor: {exc.problem}") from None


def _variants(
    bodies: dict[str, dict[str, Any]], strategies: dict[str, Strategy], cadences: list[int | None]
) -> list[PolicyVariant]:
    """One variant per strategy and cadence (a static strategy once); labels are the
    strategy's name, with "@cadence" when the study compares cadences."""
    out = []
    for name, s in strategies.items():
        fields = {k: x for k, x in bodies[name].items() if k not in ("policy", "data_loop")}
        for cad in cadences if s.policy != "static" else [None]:
            loop = dict(s.data_loop) if cad is None else {**s.data_loop, "cadence_weeks": cad}
            label = name if cad is None or len(cadences) == 1 else f"{name}@{cad}"
            out.append(PolicyVariant(label, name, s.policy, cad, fields, loop))
    return out


def _check_variants(study: Study) -> None:
    """Every variant has valid loop settings and makes a valid scenario."""
    for v in study.variants:
        if v.policy != "static":
            study.settings(v)
        try:
            study.scenario.with_changes(study.changes(v))
        except ScenarioError as exc:
            raise ScenarioError(
                study.source, f"strategies.{v.strategy}.{exc.field}", exc.problem
            ) from None
