"""Priors of a Bayesian calibration: `[[calibration.priors]]` tables of a scenario.

Each prior is one parameter of `run.py calibrate --method abc`: its distribution and what
it changes in the scenario, with the source or the reason for its range.

    [[calibration.priors]]
    name = "status_quo"              # the parameter's name (a posterior column)
    path = "choice.status_quo"       # the field set to the value ...
    dist = "uniform"                 # uniform, loguniform, normal, lognormal, beta
    low = 0.5
    high = 3.0
    source = "no published value: wide enough for 20-80% no decision"

    [[calibration.priors]]
    name = "credibility_scale"
    scales = ["channels.*.credibility"]  # ... or fields MULTIPLIED by the value
    cap = 1.0                            # a scaled value is capped here (a share)
    dist = "lognormal"
    median = 1.0
    sigma = 0.35
    source = "..."

A `path` sets one numeric field to the value (a whole-number field is rounded); `scales`
multiplies each listed field (a tuple element-wise) by the value, `*` standing for every
channel, every vendor or every key of a table (expanded against the scenario in
analysis.studies.calibrate.priors, which also checks that each field exists). Only the
shape of each table is checked here: the scenario's fields are known there.

Distributions (scipy.stats names in brackets): uniform on [low, high]; loguniform on
[low, high] (0 < low); normal (mean, sd; truncated to [low, high] when given); lognormal
(median, sigma); beta (a, b; on [low, high], default [0, 1]).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from sim.scenario.fields import MAX_NUMBER, Frozen
from sim.scenario.messages import problem

DISTRIBUTIONS = ("uniform", "loguniform", "normal", "lognormal", "beta")
#: the keys each distribution needs (besides name, path | scales, dist, source)
NEEDS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "loguniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
    "beta": ("a", "b"),
}
#: the keys each distribution may take beyond those it needs
MAY: dict[str, tuple[str, ...]] = {
    "uniform": (),
    "loguniform": (),
    "normal": ("low", "high"),
    "lognormal": (),
    "beta": ("low", "high"),
}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
Finite = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-MAX_NUMBER, le=MAX_NUMBER)]


class Prior(Frozen):
    """One parameter's prior (see the module doc)."""

    name: str
    dist: Literal["uniform", "loguniform", "normal", "lognormal", "beta"]
    source: str
    path: str | None = None
    scales: tuple[str, ...] = ()
    cap: Finite | None = None
    low: Finite | None = None
    high: Finite | None = None
    mean: Finite | None = None
    sd: Finite | None = None
    median: Finite | None = None
    sigma: Finite | None = None
    a: Finite | None = None
    b: Finite | None = None

    @field_validator("name")
    @classmethod
    def _identifier(cls, name: str) -> str:
        if not _NAME.match(name):
            raise problem(f"a name of letters, digits and '_' is needed (found {name!r})")
        return name

    @field_validator("source")
    @classmethod
    def _reason(cls, source: str) -> str:
        if not source.strip():
            raise problem("say where the prior comes from: a publication or the reason for it")
        return source.strip()

    @model_validator(mode="after")
    def _shape(self) -> Prior:
        if (self.path is None) == (not self.scales):
            raise problem('give exactly one of path = "a.field" or scales = ["a.field", ...]')
        if self.cap is not None and not self.scales:
            raise problem("cap applies to scaled fields (scales = [...]); remove it", "cap")
        given = {k for k in ("low", "high", "mean", "sd", "median", "sigma", "a", "b")}
        given = {k for k in given if getattr(self, k) is not None}
        needs, may = NEEDS[self.dist], MAY[self.dist]
        missing = [k for k in needs if k not in given]
        if missing:
            keys = " and ".join(f"{k} = ..." for k in needs)
            raise problem(f"a {self.dist} prior needs {keys}", missing[0])
        extra = sorted(given - set(needs) - set(may))
        if extra:
            raise problem(f"a {self.dist} prior does not take {extra[0]}; remove it", extra[0])
        self._check_numbers()
        return self

    def _check_numbers(self) -> None:
        """Each distribution's own limits: low < high, positive scales and shapes."""
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise problem(f"needs low < high (found {self.low:g}, {self.high:g})", "high")
        if self.dist == "loguniform" and self.low is not None and self.low <= 0:
            raise problem("a loguniform prior needs low > 0", "low")
        for key in ("sd", "sigma", "median", "a", "b"):
            value = getattr(self, key)
            if value is not None and value <= 0:
                raise problem(f"must be > 0 (found {value:g})", key)

    def bounds(self) -> tuple[float, float]:
        """The support: [low, high] where given, else the distribution's own."""
        if self.dist == "beta":
            return (self.low or 0.0, 1.0 if self.high is None else self.high)
        if self.dist == "lognormal":
            return (0.0, math.inf)
        return (
            -math.inf if self.low is None else self.low,
            math.inf if self.high is None else self.high,
        )

    def scipy_args(self) -> tuple[str, tuple[float, ...]]:
        """The scipy.stats distribution name and its positional arguments (shapes, loc,
        scale): what pyabc.RV and scipy.stats build the prior from."""
        if self.dist == "uniform":
            return "uniform", (self.low, self.high - self.low)
        if self.dist == "loguniform":
            return "loguniform", (self.low, self.high)
        if self.dist == "normal":
            if self.low is None and self.high is None:
                return "norm", (self.mean, self.sd)
            lo = -math.inf if self.low is None else (self.low - self.mean) / self.sd
            hi = math.inf if self.high is None else (self.high - self.mean) / self.sd
            return "truncnorm", (lo, hi, self.mean, self.sd)
        if self.dist == "lognormal":
            return "lognorm", (self.sigma, 0.0, self.median)
        low, high = self.bounds()
        return "beta", (self.a, self.b, low, high - low)

    def describe(self) -> str:
        """The distribution in words: 'uniform(0.5, 3)', 'lognormal(median 1, sigma 0.35)'."""
        if self.dist in ("uniform", "loguniform"):
            return f"{self.dist}({self.low:g}, {self.high:g})"
        if self.dist == "normal":
            cut = "" if self.low is None and self.high is None else f" in {self.bounds()}"
            return f"normal(mean {self.mean:g}, sd {self.sd:g}){cut}"
        if self.dist == "lognormal":
            return f"lognormal(median {self.median:g}, sigma {self.sigma:g})"
        low, high = self.bounds()
        return f"beta({self.a:g}, {self.b:g}) on [{low:g}, {high:g}]"

    def targets(self) -> tuple[str, ...]:
        """The fields it changes as written (patterns with `*` unexpanded)."""
        return (self.path,) if self.path is not None else self.scales


def distinct_names(priors: tuple[Prior, ...]) -> tuple[Prior, ...]:
    """Prior names are posterior columns: they must be distinct."""
    seen: set[str] = set()
    for i, p in enumerate(priors):
        if p.name in seen:
            raise problem(f"prior names must be distinct ({p.name!r} twice); rename one", i)
        seen.add(p.name)
    return priors
