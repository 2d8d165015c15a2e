"""What a calibration is asked to do: the free parameters (their ranges and where the
search starts), the targets, the seeds and the budget, as a `Setup`.

The free parameters are the scenario's `[calibration] free = { "dotted.path" = [low,
high], ... }`, or `--free PATH=LOW:HIGH` options (`parse_free`), which replace them; each
path must be a numeric field of the scenario that accepts both ends of its range
(`free_params`). A `Setup` names the fit's seeds (common random numbers: replications
0..R-1 at every point), the validation's fresh seeds (R..R+V-1) and the hash that makes
its runs' ids (`design_hash`).

Only the standard library, pydantic (sim.scenario) and the light engine modules are
imported here.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from analysis.engine.design import replication_seed, replication_seeds, scenario_hash
from sim.errors import ScenarioError

if TYPE_CHECKING:
    from analysis.studies.calibrate.targets import Targets
    from sim.scenario import Scenario

from analysis.studies.calibrate import (  # noqa: F401 - the command line's defaults
    DEFAULT_MAX_EVALS,
    DEFAULT_REPLICATIONS,
    DEFAULT_VALIDATION,
)


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
    return tuple(
        _free_param(scenario, path, low, high, src, path if given else f"calibration.free.{path}")
        for path, (low, high) in ranges.items()
    )


def _free_param(
    scenario: Scenario, path: str, low: float, high: float, src: str, where: str
) -> FreeParam:
    """One free parameter, checked: a numeric field that takes both ends of its range;
    the search starts at the scenario's value (clipped to the range), else mid-range."""
    current = current_value(scenario, path)
    if isinstance(current, bool) or (current is not None and not isinstance(current, int | float)):
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
    return FreeParam(path, float(low), float(high), start, integer)


def with_ranges(scenario: Scenario, free: tuple[FreeParam, ...]) -> Scenario:
    """`scenario` whose [calibration] free table holds the ranges of `free`: a calibration
    given --free records in calibrated.toml the ranges it was fitted in."""
    return scenario.with_changes({"calibration.free": {p.path: [p.low, p.high] for p in free}})


def current_value(scenario: Scenario, dotted: str) -> Any:
    """The scenario's value at a dotted path (vendors and channels by name); None if it
    has none (an unset optional field)."""
    node: Any = scenario.model_dump()
    for part in dotted.split("."):
        if isinstance(node, list | tuple):  # vendors, addressed by name
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
        model = scenario_hash(self.scenario.with_changes({"calibration.free": {}}))
        skip = {"what", "source", "tolerance", "low", "high", "kind", "use"}
        # a key a target does not use is left out, so adding one (`vendor`, `step`) keeps the run
        # ids of existing calibration folders, which then resume
        measured = [
            {
                k: v
                for k, v in asdict(t).items()
                if k not in skip and not (k in ("vendor", "step") and v is None)
            }
            for t in self.targets.targets
        ]
        text = model + json.dumps(measured, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def fit_seeds(self) -> list[int]:
        """Seeds of the fit's replications 0..R-1: the same at every point (CRN)."""
        return replication_seeds(self.scenario.seed, self.replications)

    def validation_seeds(self) -> list[int]:
        """Fresh seeds for the validation runs: replications R..R+V-1."""
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
