"""What the live view is started with and what its user types: the environment the
launcher sets (`analysis.cli.viz`), the kind of file named, and the seed control.

Light on purpose (the standard library and analysis.paths only): the launcher reads the
same names and the same test of a study file without loading the page.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.paths import BASELINE as DEFAULT_SCENARIO

if TYPE_CHECKING:
    from sim.scenario import Scenario

#: The scenario (or DATA-loop study) file the page opens first.
SCENARIO_ENV = "BJS_SCENARIO"
#: Optional: the number of buyers the page starts with (else the scenario's).
BUYERS_ENV = "BJS_BUYERS"


def initial_scenario_path() -> str:
    """The file named by BJS_SCENARIO, else the baseline scenario."""
    return os.environ.get(SCENARIO_ENV) or str(DEFAULT_SCENARIO)


def initial_buyers(scenario: Scenario) -> int:
    """The buyers BJS_BUYERS asks for (at least one), else the scenario's."""
    raw = os.environ.get(BUYERS_ENV)
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            pass
    return scenario.buyers.count


def parse_seed(value: object, default: int) -> tuple[int, str | None]:
    """A seed from a control: an int, or text (InputText hands over strings)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return default, None
    try:
        seed = int(str(value).strip())
    except ValueError:
        return default, f"seed must be a whole number, found {value!r}; using {default}"
    if seed < 0:
        return default, f"seed must be 0 or more, found {seed}; using {default}"
    return seed, None


def is_study_data(data: dict[str, Any]) -> bool:
    """Whether a parsed file is a DATA-loop study (a sweep-format file with [sweep] and a
    policy axis, no vendors of its own) rather than a scenario."""
    return isinstance(data.get("sweep"), dict) and "vendors" not in data


def is_study_file(path: str | Path) -> bool:
    """Whether `path` is a DATA-loop study file (`is_study_data`); a file that cannot be
    read is not (loading it as a scenario says what is wrong)."""
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, ValueError):
        return False
    return is_study_data(data)
