"""The calibration targets file: read once, validated into frozen `Target`s.

A targets file (scenarios/targets.toml) lists published facts the model should reproduce,
one `[[targets]]` table per scalar moment:

    [[targets]]
    name = "no_decision_share"          # letters, digits, '_', '-', '.'; unique
    measure = "no_decision_share"       # what is measured (MEASURES below)
    what = "share of closed journeys that end in no decision"
    band = [0.40, 0.60]                 # or value = 0.75, or at_least = 0.8, or at_most = 0.2
    tolerance = 0.02                    # the scale of a miss (see Target.miss)
    source = "Dixon & McKenna, The JOLT Effect, 2022 (docs/sources.md §10.3)"

plus the measure's own keys (stage, seniority, size_class, group_sizes, quantile, vendor,
step).

`load_targets(path)` reads the file (a file of another kind: sim.filekinds.WrongKind),
validates it as the pydantic model `TargetsFile` (every problem one line naming the file
and the key, a ScenarioError like scenario and sweep files) and gives `Targets`, the
frozen `Target`s the rest of the study uses. What each measure computes on a run's tables
is analysis.studies.calibrate.moments.

Only pydantic and the standard library are imported here: `run.py validate` reads a
targets file without the model, pandas or numpy.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from analysis.engine.studyfile import StudyModel, validate
from sim.filekinds import TARGETS, expect_kind
from sim.scenario import SENIORITIES, problem, read_toml
from sim.scenario import SIZE_CLASSES as ACCOUNT_SIZES

STAGES = ("early", "middle", "final")
#: account size classes in the journeys table ("single": a scenario without [accounts])
SIZE_CLASSES = (*ACCOUNT_SIZES, "single")
#: the ways to state a target's goal; a target gives exactly one
GOALS = ("value", "band", "at_least", "at_most")
#: what a target is evidence of: "emergent" (the model produces it on its own: fitted and
#: counted) or "input_check" (it equals an input by construction: reported apart as
#: "reproduced by construction", never fitted nor counted as validation)
KINDS = ("emergent", "input_check")
#: what a target is used for: "fit" (the calibration fits it) or "validate" (held out:
#: never fitted, reported apart as held-out validation)
USES = ("fit", "validate")
#: the keys every target takes, whatever it measures
COMMON_KEYS = frozenset({"name", "measure", "what", "source", "tolerance", "kind", "use", *GOALS})
#: measure -> the extra keys it takes (with their defaults)
MEASURES: dict[str, dict[str, Any]] = {
    "idc_top_three": {"stage": None},
    "social_use": {"seniority": ()},
    "research_before_sales": {"quantile": 0.5},
    "sales_contact_share": {},
    "no_decision_share": {},
    "consensus": {"group_sizes": None},
    "journey_weeks": {"size_class": None, "quantile": 0.5},
    # market v3 (analysis/studies/calibrate/market_moments.py)
    "day_one_share": {},
    "shortlist_size": {},
    "first_favourite_wins": {},
    "referred_share": {},
    "in_market_share": {},
    # a vendor's own funnel (analysis/studies/calibrate/vendor_moments.py)
    "win_rate": {"vendor": None},
    "deal_size": {"vendor": None},
    "cycle_weeks": {"vendor": None, "quantile": 0.5},
    "vendor_no_decision": {"vendor": None},
    "sourced_share": {"vendor": None},
    # elasticities from paired runs (analysis/studies/calibrate/elasticity_moments.py):
    # vendor = NAME or none (the mean over the vendors with that kind of spend)
    "advertising_elasticity": {"vendor": None, "step": 0.10},
    "selling_elasticity": {"vendor": None, "step": 0.10},
}
#: measures whose `vendor` key is optional (without it: the mean over the vendors)
VENDOR_OPTIONAL = frozenset({"advertising_elasticity", "selling_elasticity"})
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


# ------------------------------------------------------------------------ the targets
@dataclass(frozen=True)
class Target:
    """One calibration target: a scalar moment of a run and what it should be.

    The goal is an acceptance interval [low, high] (a point target has low = high =
    value). `miss(mean)`: the distance from the point (signed) or from the band (0 inside)
    in tolerances; the SMM objective adds miss**2 over the targets, and a target passes
    when |miss| <= 1.
    """

    name: str
    measure: str
    what: str
    source: str
    tolerance: float
    low: float = -math.inf
    high: float = math.inf
    stage: str | None = None
    seniority: tuple[str, ...] = ()
    size_class: str | None = None
    group_sizes: tuple[int, ...] = ()
    quantile: float = 0.5
    vendor: str | None = None
    #: the relative spend change of the paired runs (None: a measure without paired runs)
    step: float | None = None
    kind: str = "emergent"
    use: str = "fit"

    @property
    def fitted(self) -> bool:
        """Whether a calibration fits this target: emergent and not held out."""
        return self.kind == "emergent" and self.use == "fit"

    @property
    def is_point(self) -> bool:
        """Whether the goal is one value (else a band or a one-sided bound)."""
        return self.low == self.high

    def miss(self, mean: float) -> float:
        """How far `mean` is from the goal, in tolerances: (mean - value) / tolerance for a
        point, the distance outside the band / tolerance (0 inside) for a band."""
        if self.is_point:
            return (mean - self.low) / self.tolerance
        if mean < self.low:
            return (mean - self.low) / self.tolerance
        if mean > self.high:
            return (mean - self.high) / self.tolerance
        return 0.0

    def passed(self, mean: float) -> bool:
        """Within one tolerance of the goal."""
        return abs(self.miss(mean)) <= 1.0

    def goal(self) -> str:
        """The goal as text: '0.75', '[0.65, 0.9]', '>= 0.8', '<= 0.2'."""
        if self.is_point:
            return f"{self.low:g}"
        if math.isinf(self.high):
            return f">= {self.low:g}"
        if math.isinf(self.low):
            return f"<= {self.high:g}"
        return f"[{self.low:g}, {self.high:g}]"


@dataclass(frozen=True)
class Targets:
    """A validated targets file."""

    source: str
    targets: tuple[Target, ...]
    description: str = ""

    def names(self) -> tuple[str, ...]:
        """Target names in file order."""
        return tuple(t.name for t in self.targets)


# ------------------------------------------------------------------------ the file's model
def _one_of(options: tuple[str, ...] | dict[str, Any]):
    """A validator: the value is one of `options` (the message lists them)."""

    def check(value: Any) -> Any:
        if value not in options:
            raise problem(f"must be one of {', '.join(options)} (found {value!r})")
        return value

    return check


def _name(value: Any) -> Any:
    if not isinstance(value, str) or not _NAME.match(value):
        raise problem(f"a name of letters, digits, '_', '-', '.' is needed (found {value!r})")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise problem("a non-empty string is needed (what is measured / where it is published)")
    return value.strip()


def _vendor(value: Any) -> Any:
    if not isinstance(value, str) or not value.strip():
        raise problem('the vendor whose funnel this is, by its scenario name: vendor = "Acme"')
    return value


def _step(value: Any) -> Any:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not 0 < value <= 0.5:  # nan fails the comparison too
        raise problem(
            "the relative spend change of the paired runs: a number in (0, 0.5], "
            f"e.g. 0.1 for +-10% (found {value!r})"
        )
    return float(value)


def _band(value: Any) -> Any:
    if not (isinstance(value, list) and len(value) == 2):
        raise problem(f"must be [low, high], two numbers (found {value!r})")
    return value


def _seniority(value: Any) -> Any:
    if not isinstance(value, list) or not all(s in SENIORITIES for s in value):
        raise problem(
            f"must be a list of {', '.join(SENIORITIES)} (empty: all buyers; found {value!r})"
        )
    return value


def _group_sizes(value: Any) -> Any:
    whole = [isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in value or []]
    if not isinstance(value, list) or not value or not all(whole):
        raise problem(f"must be a list of buying-group sizes >= 1, e.g. [1] (found {value!r})")
    return value


#: a finite number (an int or a float; not a string, a boolean, nan or inf)
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
#: the keys a measure needs, and the check whose message says what to give
_REQUIRED = {
    "idc_top_three": ("stage", _one_of(STAGES)),
    "consensus": ("group_sizes", _group_sizes),
    "journey_weeks": ("size_class", _one_of(SIZE_CLASSES)),
    **{
        m: ("vendor", _vendor)
        for m in MEASURES
        if "vendor" in MEASURES[m] and m not in VENDOR_OPTIONAL
    },
}


class TargetEntry(StudyModel):
    """One `[[targets]]` table as written (see the module doc); `target()` is its Target."""

    name: Annotated[str, BeforeValidator(_name)] = Field(None, validate_default=True)
    measure: Annotated[str, BeforeValidator(_one_of(MEASURES))] = Field(None, validate_default=True)
    what: Annotated[str, BeforeValidator(_text)] = Field("", validate_default=True)
    source: Annotated[str, BeforeValidator(_text)] = Field("", validate_default=True)
    tolerance: Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]
    kind: Annotated[str, BeforeValidator(_one_of(KINDS))] = "emergent"
    use: Annotated[str, BeforeValidator(_one_of(USES))] = "fit"
    value: Number | None = None
    band: Annotated[tuple[Number, Number], BeforeValidator(_band)] | None = None
    at_least: Number | None = None
    at_most: Number | None = None
    stage: Annotated[str, BeforeValidator(_one_of(STAGES))] | None = None
    seniority: Annotated[tuple[str, ...], BeforeValidator(_seniority)] = ()
    quantile: Annotated[float, Field(strict=True, ge=0, le=1, allow_inf_nan=False)] = 0.5
    group_sizes: Annotated[tuple[int, ...], BeforeValidator(_group_sizes)] | None = None
    size_class: Annotated[str, BeforeValidator(_one_of(SIZE_CLASSES))] | None = None
    vendor: Annotated[str, BeforeValidator(_vendor)] | None = None
    step: Annotated[float, BeforeValidator(_step)] | None = None

    @model_validator(mode="before")
    @classmethod
    def _keys_of_its_measure(cls, data: Any) -> Any:
        """A key another measure takes is refused with the keys this one allows."""
        if isinstance(data, dict) and data.get("measure") in MEASURES:
            extra = MEASURES[data["measure"]]
            allowed = ", ".join(sorted(COMMON_KEYS | set(extra)))
            for key in data:
                if key not in COMMON_KEYS and key not in extra:
                    raise problem(
                        f"unknown key for measure {data['measure']!r}; allowed: {allowed}", key
                    )
        return data

    @field_validator("band")
    @classmethod
    def _band_rises(cls, band: tuple[float, float] | None) -> tuple[float, float] | None:
        if band is not None and not band[0] < band[1]:
            raise problem(f"needs low < high (found [{band[0]:g}, {band[1]:g}])")
        return band

    @model_validator(mode="after")
    def _one_goal_and_the_measures_keys(self) -> TargetEntry:
        goals = [g for g in GOALS if getattr(self, g) is not None]
        if len(goals) != 1:
            raise problem(
                "give exactly one of value = x, band = [low, high], at_least = x, at_most = x"
                f" (found {', '.join(goals) or 'none'})"
            )
        key, check = _REQUIRED.get(self.measure, (None, None))
        if key is not None and getattr(self, key) is None:
            try:
                check(None)
            except PydanticCustomError as exc:  # the check's own message, at the missing key
                raise problem(exc.context["problem"], key) from None
        return self

    def target(self) -> Target:
        """The Target this table states: its goal as [low, high], its measure's keys."""
        if self.band is not None:
            low, high = float(self.band[0]), float(self.band[1])
        else:
            goal = next(g for g in GOALS if getattr(self, g) is not None)
            v = float(getattr(self, goal))
            low = v if goal in ("value", "at_least") else -math.inf
            high = v if goal in ("value", "at_most") else math.inf
        return Target(
            name=self.name,
            measure=self.measure,
            what=self.what,
            source=self.source,
            tolerance=float(self.tolerance),
            low=low,
            high=high,
            stage=self.stage,
            seniority=tuple(self.seniority),
            size_class=self.size_class,
            group_sizes=tuple(self.group_sizes or ()),
            quantile=float(self.quantile),
            vendor=self.vendor,
            step=self.step if self.step is not None else MEASURES[self.measure].get("step"),
            kind=self.kind,
            use=self.use,
        )


def _tables(value: Any) -> Any:
    if not isinstance(value, list) or not value or not all(isinstance(t, dict) for t in value):
        raise problem("at least one [[targets]] table is needed (see scenarios/targets.toml)")
    return value


class TargetsFile(StudyModel):
    """A targets file as written: a description and at least one `[[targets]]` table with
    distinct names."""

    description: str = ""
    targets: Annotated[tuple[TargetEntry, ...], BeforeValidator(_tables)] = Field(
        (), validate_default=True
    )

    @field_validator("targets")
    @classmethod
    def _distinct_names(cls, targets: tuple[TargetEntry, ...]) -> tuple[TargetEntry, ...]:
        seen: set[str] = set()
        for i, t in enumerate(targets):
            if t.name in seen:
                raise problem("names must be distinct; rename one", i, "name")
            seen.add(t.name)
        return targets


# ------------------------------------------------------------------------ loading
def load_targets(path: str | Path) -> Targets:
    """Read and validate a targets TOML file.

    Raises:
        ScenarioError: one line naming the file, the field and what is allowed (WrongKind
            for a file of another kind: a scenario, a sweep).
    """
    data = read_toml(path, "targets")
    if data.keys() - {"description"}:  # a file with nothing else lacks its [[targets]]
        expect_kind(data, str(path), TARGETS)
    spec = validate(TargetsFile, data, path, example="scenarios/targets.toml")
    return Targets(str(path), tuple(t.target() for t in spec.targets), spec.description)
