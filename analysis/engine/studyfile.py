"""Study files (sweep, sensitivity, optimisation, DATA-loop, targets) read and validated
the way a scenario is: a TOML file of the expected kind, validated once into a frozen
pydantic model, every problem one line naming the file, the key and what to do.

    data = read_study_file(path, SENSITIVITY)        # a file of another kind: WrongKind
    spec = validate(SensitivityFile, data, path)     # pydantic errors as ScenarioError

`StudyModel` is the base of every study file's model: unknown keys are refused, values are
frozen. A model raises `problem("...")` (sim.scenario) from a validator for a message that
is complete as written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from sim.filekinds import FileKind, expect_kind
from sim.scenario import ScenarioError, describe_error, field_path, read_toml


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
