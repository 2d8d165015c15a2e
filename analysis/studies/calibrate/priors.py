"""The Bayesian calibration's parameters: a scenario's `[[calibration.priors]]` (the
schema is sim/scenario/priors.py) checked against the scenario, as scipy distributions,
and turned into the scenario changes a parameter set makes.

`Parameters.of(scenario)` expands each prior's fields (`*` over channels, vendors or a
table's keys), checks that each is a numeric field the scenario has, and keeps their base
values (a scale multiplies the base, the scenario's own value; a channel's default comes
from the channel table). `Parameters.changes(values)` is what one parameter set does to
the scenario: {dotted path: value}, the same dictionary sweeps and `with_changes` use.

    params = Parameters.of(scenario)
    scenario.with_changes(params.changes({"status_quo": 1.2, "credibility_scale": 0.8}))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from analysis.studies.calibrate.spec import current_value
from sim.channels import CHANNEL_NAMES
from sim.errors import ScenarioError
from sim.scenario import Scenario
from sim.scenario.priors import Prior

#: digits a parameter value keeps in the scenario (as calibrate's points)
DIGITS = 6


@dataclass(frozen=True)
class Field:
    """One scenario field a prior changes: its path, its base value, whether whole."""

    path: str
    base: Any
    integer: bool = False


@dataclass(frozen=True)
class Parameter:
    """One prior, with the scenario fields it changes."""

    prior: Prior
    fields: tuple[Field, ...]

    @property
    def name(self) -> str:
        return self.prior.name

    @property
    def scale(self) -> bool:
        """Whether the value multiplies its fields (else it replaces one)."""
        return bool(self.prior.scales)

    def frozen(self) -> Any:
        """The prior as a frozen scipy.stats distribution."""
        name, args = self.prior.scipy_args()
        return getattr(stats, name)(*args)

    def interval(self, mass: float = 0.9) -> tuple[float, float]:
        """The prior's central interval holding `mass`."""
        lo, hi = self.frozen().ppf([(1 - mass) / 2, (1 + mass) / 2])
        return float(lo), float(hi)

    def changes(self, value: float) -> dict[str, Any]:
        """What the parameter at `value` sets: each field's new value."""
        out: dict[str, Any] = {}
        for f in self.fields:
            new = _scaled(f.base, value, self.prior.cap) if self.scale else value
            out[f.path] = _rounded(new, f.integer)
        return out


@dataclass(frozen=True)
class Parameters:
    """The calibration's parameters, in the file's order."""

    items: tuple[Parameter, ...]

    @classmethod
    def of(cls, scenario: Scenario) -> Parameters:
        """The scenario's priors, checked and expanded.

        Raises:
            ScenarioError: no priors, or a field the scenario does not have or that is
                not numeric (one line naming the prior).
        """
        priors = scenario.calibration.priors
        if not priors:
            raise ScenarioError(
                scenario.source,
                "calibration.priors",
                "no priors for --method abc; add [[calibration.priors]] tables "
                "(name, path or scales, dist and its keys, source): see docs/calibration.md",
            )
        return cls(tuple(_parameter(scenario, i, p) for i, p in enumerate(priors)))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.items)

    def changes(self, values: dict[str, float]) -> dict[str, Any]:
        """The scenario changes of one parameter set {name: value}."""
        out: dict[str, Any] = {}
        for p in self.items:
            out.update(p.changes(float(values[p.name])))
        return out

    def sample(self, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """`n` independent draws from each prior (the prior predictive's parameters)."""
        return {p.name: np.asarray(p.frozen().rvs(size=n, random_state=rng)) for p in self.items}


def _parameter(scenario: Scenario, index: int, prior: Prior) -> Parameter:
    where = f"calibration.priors[{index}:{prior.name}]"
    paths: list[str] = []
    for pattern in prior.targets():
        found = expand(scenario, pattern)
        if not found:
            raise ScenarioError(scenario.source, where, f"{pattern!r} matches no field")
        paths += found
    fields = tuple(_field(scenario, where, path, prior) for path in paths)
    return Parameter(prior, fields)


def _field(scenario: Scenario, where: str, path: str, prior: Prior) -> Field:
    """The field at `path`, with its base value; it must be numeric (or numbers)."""
    base = base_value(scenario, path)
    numbers = base if isinstance(base, list | tuple) else [base]
    if base is None or not all(
        isinstance(x, int | float) and not isinstance(x, bool) for x in numbers
    ):
        raise ScenarioError(
            scenario.source, where, f"{path} is not a numeric field (its value is {base!r})"
        )
    if isinstance(base, list | tuple) and not prior.scales:
        raise ScenarioError(
            scenario.source, where, f"{path} holds several numbers: scale it (scales = [...])"
        )
    integer = isinstance(base, int)
    probe = _scaled(base, 1.0, prior.cap) if prior.scales else base
    try:
        scenario.with_changes({path: probe})
    except ScenarioError as exc:
        raise ScenarioError(scenario.source, where, f"{path}: {exc.problem}") from None
    return Field(path, base, integer)


def expand(scenario: Scenario, pattern: str) -> list[str]:
    """The dotted paths a pattern names: `*` stands for every channel (after
    "channels."), every vendor (after "vendors.") or every key of a table."""
    parts = pattern.split(".")
    if "*" not in parts:
        return [pattern]
    i = parts.index("*")
    head = ".".join(parts[:i])
    if head == "channels":
        keys: list[str] = list(CHANNEL_NAMES)
    elif head == "vendors":
        keys = list(scenario.vendor_names())
    else:
        node = current_value(scenario, head)
        keys = list(node) if isinstance(node, dict) else []
    out: list[str] = []
    for k in keys:
        out += expand(scenario, ".".join([*parts[:i], k, *parts[i + 1 :]]))
    return out


def base_value(scenario: Scenario, path: str) -> Any:
    """The scenario's value at `path`; a channel's field from the channel table (the
    default when the scenario does not override it)."""
    parts = path.split(".")
    if parts[0] == "channels" and len(parts) == 3 and parts[1] in CHANNEL_NAMES:
        channel = scenario.channel_table()[CHANNEL_NAMES.index(parts[1])]
        value = getattr(channel, parts[2], None)
        return list(value) if isinstance(value, tuple) else value
    return current_value(scenario, path)


def _scaled(base: Any, factor: float, cap: float | None) -> Any:
    """`base` (a number or numbers) times `factor`, capped at `cap`."""
    if isinstance(base, list | tuple):
        return [_scaled(x, factor, cap) for x in base]
    x = float(base) * factor
    return min(x, cap) if cap is not None else x


def _rounded(value: Any, integer: bool) -> Any:
    """A value as the scenario takes it: 6 significant digits, or a whole number."""
    if isinstance(value, list):
        return [_rounded(x, integer) for x in value]
    if integer:
        return int(round(value))
    return 0.0 if value == 0 else float(f"{value:.{DIGITS}g}")


def finite(x: float) -> bool:
    return isinstance(x, int | float) and math.isfinite(x)
