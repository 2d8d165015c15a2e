"""Study files (sweep, sensitivity, optimisation, DATA-loop, targets) read and validated
the way a scenario is: a TOML file of the expected kind, validated once into a frozen
pydantic model, every problem one line naming the file, the key and what to do.

    data = read_study_file(path, SENSITIVITY)        # a file of another kind: WrongKind
    spec = validate(SensitivityFile, data, path)     # pydantic errors as ScenarioError

`StudyModel` is the base of every study file's model: unknown keys are refused, values are
frozen. `study_scenario` reads the base scenario every study file names (`scenario =`, with
its `set =` changes), the same way for sweeps, sensitivity, optimisation and DATA-loop
studies. A model raises `problem("...")` (sim.scenario) from a validator for a message that
is complete as written.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from sim.filekinds import FileKind, expect_kind
from sim.scenario import (
    Scenario,
    ScenarioError,
    describe_error,
    field_path,
    load_scenario,
    read_toml,
    shown,
)


class StudyModel(BaseModel):
    """The base of a study file's tables: unknown keys refused, frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def read_study_file(path: str | Path, kind: FileKind) -> dict[str, Any]:
    """Parse a study file; a missing, unreadable or malformed file, or a file of another
    kind (a scenario given as a sweep), is a one-line ScenarioError naming it."""
    data = read_toml(path, kind.name.removesuffix(" file"))
    expect_kind(data, str(path), kind)
    return data


def validate[M: BaseModel](
    model: type[M],
    data: dict[str, Any],
    source: str | Path,
    at: tuple[str | int, ...] = (),
    example: str = "scenarios/",
) -> M:
    """`data` validated into `model`; the first problem as a ScenarioError naming the
    key's path in the file (`at` is where `data` sits in the file, `example` the file an
    unknown key's message points to)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        if err.get("type") == "scenario":
            loc += tuple(err["ctx"]["at"])
        root: Any = data
        for key in reversed(at):
            root = {key: root}
        raise ScenarioError(
            str(source), field_path(at + loc, root), describe_error(err, example, bounds_note=False)
        ) from None


# ----------------------------------------------------------------------------- a study's base
@dataclass(frozen=True)
class StudyBase:
    """What a study file's base scenario entry gives: the scenario (with the `set`
    changes, if applied), the file it came from and the flattened `set` changes."""

    scenario: Scenario
    path: Path
    fixed: dict[str, Any]


def study_scenario(
    src: str, table: str, head: dict[str, Any], folder: Path, apply_set: bool = True
) -> StudyBase:
    """The base scenario a study file's [table] names (`scenario = "file"`, relative to
    the study file's folder), with the table's `set` changes ("dotted.path" = value)
    applied when `apply_set`. Sweeps, sensitivity, optimisation and DATA-loop studies all
    read their base this way; every problem is one line naming `<table>.scenario` or
    `<table>.set.<path>`."""
    scen = head.get("scenario")
    if not isinstance(scen, str) or not scen:
        raise ScenarioError(
            src,
            f"{table}.scenario",
            f'the base scenario file is needed, e.g. scenario = "baseline.toml" '
            f"(found {shown(scen)})",
        )
    path = Path(scen) if Path(scen).is_absolute() else folder / scen
    if not path.is_file():
        raise ScenarioError(
            src,
            f"{table}.scenario",
            f"scenario file {str(path)!r} not found (paths start at this file's folder)",
        )
    base = load_scenario(path)
    if not apply_set:
        return StudyBase(base, path, {})
    scenario, fixed = with_set(src, table, head.get("set", {}), base)
    return StudyBase(scenario, path, fixed)


def with_set(src: str, table: str, changes: Any, base: Scenario) -> tuple[Scenario, dict[str, Any]]:
    """`base` with a study file's [table.set] changes applied, and those changes
    flattened; a problem names `<table>.set` or `<table>.set.<path>`."""
    if not isinstance(changes, dict):
        raise ScenarioError(src, f"{table}.set", 'must be a table of "dotted.path" = value')
    fixed = flatten_set(changes)
    try:
        return base.with_changes(fixed), fixed
    except ScenarioError as exc:
        raise ScenarioError(src, f"{table}.set.{exc.field}", exc.problem) from None


def flatten_set(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"buyers": {"count": 3}}` and `{"buyers.count": 3}` both give {"buyers.count": 3};
    a channel_mix table stays whole (it replaces the vendor's mix)."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and not key.endswith("channel_mix"):
            out.update(flatten_set(v, key + "."))
        else:
            out[key] = v
    return out


def current_value(base: Scenario, dotted: str) -> Any:
    """The base scenario's value at a dotted path (None if it has none)."""
    node: Any = base.model_dump()
    for part in dotted.split("."):
        if isinstance(node, list):
            node = next((v for v in node if v.get("name") == part), None)
        elif isinstance(node, dict):
            node = node.get(part) if part != "vendors" else node["vendors"]
        if node is None:
            return None
    return node
