"""The optimisation file (scenarios/optimize_*.toml) and the validated `Spec` it gives.

    spec = load_spec("scenarios/optimize_challenger_mix.toml")   # one-line ScenarioError

The file's [optimize] table is a pydantic model (`OptimizeTable`): the shape of every key
(whole numbers in their ranges, the objective's name, the paid channels, the spend
multiples of the response curves) is checked there, each problem one line naming the
key. What needs the base scenario (the vendor, its static policy, its budget as the
default, the minimum share against the number of channels, the memory a run takes) is
checked after parsing, in `load_spec`.

Light at import (pydantic and the scenario's own modules): `run.py validate` reads this.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from analysis.engine.design import replication_seed, scenario_hash
from analysis.engine.limits import check_memory
from analysis.engine.studyfile import StudyModel, read_study_file, study_scenario, validate
from sim.channels import CHANNELS
from sim.filekinds import OPTIMIZE
from sim.scenario import MAX_NUMBER, MAX_SEED, Scenario, ScenarioError, Whole, problem, shown

#: objective -> its words in the answer
OBJECTIVES = {
    "conversions": "conversions",
    "profit": "profit (revenue - marketing spend - variable cost)",
    "originated": "marketing-originated customers",
}
#: the file every message about an unknown key points to
EXAMPLE = "scenarios/optimize_challenger_mix.toml"
#: the channels a mix may use, in the model's order
PAID = tuple(c.name for c in CHANNELS if c.paid)
DEFAULT_CURVE = (0.0, 0.5, 1.0, 1.5, 2.0)


#: a weekly budget: a positive, finite amount of money
Money = Annotated[float, Field(gt=0, le=MAX_NUMBER, allow_inf_nan=False, strict=True)]
Multiple = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False, strict=True)]
Share = Annotated[float, Field(ge=0, le=MAX_NUMBER, allow_inf_nan=False, strict=True)]


# ----------------------------------------------------------------------------- the file
class OptimizeTable(StudyModel):
    """The [optimize] table; a missing key takes its default (None: from the scenario)."""

    name: str | None = None
    description: str = ""
    scenario: Any = None  # checked by analysis.engine.design.study_scenario, as a sweep's
    vendor: str | None = None
    objective: Literal["conversions", "profit", "originated"] = "conversions"
    channels: tuple[str, ...] | None = None
    budget: Money | None = None
    budget_range: tuple[Money, Money] | None = None
    trials: Whole = Field(40, ge=1, le=100_000)
    batch: Whole = Field(8, ge=1, le=1000)
    replications: Whole = Field(8, ge=2, le=10_000)
    top_k: Whole = Field(3, ge=1, le=100)
    top_replications: Whole = Field(16, ge=0, le=10_000)
    final_replications: Whole = Field(20, ge=2, le=10_000)
    curve: Annotated[tuple[Multiple, ...], Field(min_length=2, max_length=20)] = DEFAULT_CURVE
    curve_replications: Whole = Field(6, ge=2, le=10_000)
    min_share: Share = 0.02
    seed: Whole | None = Field(None, ge=0, le=MAX_SEED)
    set: Any = Field(default_factory=dict)  # checked by study_scenario

    @field_validator("name")
    @classmethod
    def _named(cls, value: str | None) -> str | None:
        if value is not None and not value:
            raise problem(f"must be a non-empty string (found {shown(value)})")
        return value

    @field_validator("channels", mode="before")
    @classmethod
    def _paid_channels(cls, value: Any) -> Any:
        """At least two distinct paid channels (any order: the model's is used)."""
        if (
            not isinstance(value, list)
            or len(value) < 2
            or not all(isinstance(c, str) for c in value)
            or len(set(value)) != len(value)
        ):
            raise problem(f"must list at least 2 distinct paid channels (found {shown(value)})")
        for c in value:
            if c not in PAID:
                raise problem(f"{shown(c)} is not a paid channel; allowed: {', '.join(PAID)}")
        return value

    @field_validator("budget_range", mode="before")
    @classmethod
    def _a_pair(cls, value: Any) -> Any:
        if not isinstance(value, list) or len(value) != 2:
            raise problem(f"must be [low, high] (found {shown(value)})")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> OptimizeTable:
        if self.budget_range is not None and not self.budget_range[0] < self.budget_range[1]:
            lo, hi = self.budget_range
            raise problem(f"low must be below high (found {lo:g}, {hi:g})", "budget_range")
        if 1.0 not in self.curve:
            raise problem(
                "must list 2-20 spend multiples in [0, 100] including 1.0 "
                f"(found {shown(list(self.curve))})",
                "curve",
            )
        return self


class OptimizeFile(StudyModel):
    """An optimisation file: its one [optimize] table."""

    optimize: OptimizeTable


# ----------------------------------------------------------------------------- the spec
@dataclass(frozen=True)
class Spec:
    """A validated optimisation file."""

    name: str
    source: str
    scenario: Scenario
    vendor: str
    objective: str
    channels: tuple[str, ...]
    budget: float
    budget_range: tuple[float, float] | None
    trials: int
    batch: int
    replications: int
    top_k: int
    top_replications: int
    final_replications: int
    curve: tuple[float, ...]
    curve_replications: int
    min_share: float
    seed: int
    description: str = ""
    #: a posterior's per-replication draws (analysis.studies.across.draws), None without
    draws: Any = field(default=None, compare=False)

    @property
    def scenario_hash(self) -> str:
        return scenario_hash(self.scenario)

    @property
    def study_key(self) -> str:
        """What the search's values depend on (not trials, nor the later stages)."""
        text = json.dumps(
            [
                self.scenario_hash,
                self.vendor,
                self.objective,
                self.channels,
                self.budget,
                self.budget_range,
                self.replications,
                self.min_share,
                self.seed,
                self.batch,
                # across a posterior the values differ: its content is part of the key
                *([self.draws.sha256] if self.draws is not None else []),
            ],
            default=str,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def current_mix(self) -> dict[str, float]:
        """The vendor's own mix in the scenario, as shares summing to 1."""
        v = next(x for x in self.scenario.vendors if x.name == self.vendor)
        total = sum(v.channel_mix.values())
        return {k: s / total for k, s in v.channel_mix.items() if s > 0} if total else {}

    def current_budget(self) -> float:
        """The vendor's own weekly budget in the scenario."""
        return float(next(x for x in self.scenario.vendors if x.name == self.vendor).weekly_budget)

    def seeds(self, first: int, n: int) -> list[int]:
        """The seeds of replications first..first+n-1 (the same for every candidate)."""
        return [replication_seed(self.seed, r) for r in range(first, first + n)]

    def describe(self) -> dict[str, Any]:
        """The set-up as plain data (optimize_setup.json, the head of optimize.json)."""
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "scenario": self.scenario.name,
            "scenario_hash": self.scenario_hash,
            "vendor": self.vendor,
            "objective": self.objective,
            "channels": list(self.channels),
            "budget": self.budget,
            "budget_range": list(self.budget_range) if self.budget_range else None,
            "trials": self.trials,
            "batch": self.batch,
            "replications": self.replications,
            "top_k": self.top_k,
            "top_replications": self.top_replications,
            "final_replications": self.final_replications,
            "curve": list(self.curve),
            "curve_replications": self.curve_replications,
            "min_share": self.min_share,
            "seed": self.seed,
            "buyers": self.scenario.buyers.count,
            "weeks": self.scenario.weeks,
            **({"posterior": self.draws.describe()} if self.draws is not None else {}),
        }


def load_spec(
    path: str | Path, trials: int | None = None, posterior: str | Path | None = None
) -> Spec:
    """Read and validate an optimisation file; every problem is one line (ScenarioError;
    a file of another kind is sim.filekinds.WrongKind). `trials` overrides the file's.
    `posterior`: replication r of every candidate runs under the r-th parameter set
    drawn from it (analysis.studies.across.draws; a bad file is one line too)."""
    src = str(path)
    data = read_study_file(path, OPTIMIZE)
    head = validate(OptimizeFile, data, src, example=EXAMPLE).optimize
    scenario = study_scenario(src, "optimize", head.model_dump(), Path(path).parent).scenario
    vendor = _vendor(src, head, scenario)
    channels = tuple(c for c in PAID if c in (head.channels or PAID))  # the model's order
    if head.min_share >= 1.0 / len(channels):
        raise ScenarioError(
            src,
            "optimize.min_share",
            f"must be below 1/{len(channels)} (one share per channel; found {head.min_share:g})",
        )
    spec = Spec(
        name=head.name or Path(path).stem,
        source=src,
        scenario=scenario,
        vendor=vendor,
        objective=head.objective,
        channels=channels,
        budget=_budget(src, head, scenario, vendor),
        budget_range=head.budget_range,
        trials=head.trials if trials is None else trials,
        batch=head.batch,
        replications=head.replications,
        top_k=head.top_k,
        top_replications=head.top_replications,
        final_replications=head.final_replications,
        curve=tuple(sorted(set(head.curve))),
        curve_replications=head.curve_replications,
        min_share=head.min_share,
        seed=scenario.seed if head.seed is None else head.seed,
        description=head.description,
    )
    check_memory(scenario, src, "optimize.set")
    if posterior is not None:
        from dataclasses import replace

        from analysis.studies.across.draws import load_draws

        spec = replace(spec, draws=load_draws(posterior, scenario, spec.seed))
    return spec


def _vendor(src: str, head: OptimizeTable, scenario: Scenario) -> str:
    """The vendor whose mix is optimised: one of the scenario's, with one static mix."""
    names = scenario.vendor_names()
    vendor = names[0] if head.vendor is None else head.vendor
    if vendor not in names:
        raise ScenarioError(
            src, "optimize.vendor", f"no vendor named {shown(vendor)}; vendors: {', '.join(names)}"
        )
    v = next(x for x in scenario.vendors if x.name == vendor)
    if v.schedule or v.policy != "static":
        raise ScenarioError(
            src,
            "optimize.vendor",
            f"{vendor} has a schedule or a non-static policy; the optimiser sets one mix for "
            'the whole horizon (remove the schedule, policy = "static")',
        )
    return vendor


def _budget(src: str, head: OptimizeTable, scenario: Scenario, vendor: str) -> float:
    """The weekly budget: the file's, else the vendor's own (which must be positive)."""
    if head.budget is not None:
        return head.budget
    own = float(next(x for x in scenario.vendors if x.name == vendor).weekly_budget)
    if not own > 0:
        raise ScenarioError(
            src,
            "optimize.budget",
            f"must be a number > 0 (found {shown(own)}: {vendor}'s own weekly budget); "
            "give the budget to optimise",
        )
    return own
