"""Scenario: a TOML file validated once into frozen, typed objects.

A Scenario says who the buyers are, how they are connected, which vendors compete with
what strategy, and for how long. It is validated when loaded; the model never re-checks
it. Every problem is raised as a ScenarioError that names the file, the field and what is
allowed, so the command line can print it as one line.

Loading (reading the TOML file) is the only file access in sim/ besides reading a user's
graph file in network.py; both happen before a model is built.
"""

from __future__ import annotations

import math
import numbers
import os
import re
import stat
import tomllib
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from sim.channels import CHANNEL_NAMES, CHANNELS, Channel
from sim.errors import SHOWN_CHARS, ScenarioError, _cut_middle, printable, shown  # noqa: F401
from sim.filekinds import SCENARIO, a, expect_kind, kind_of

SENIORITIES: tuple[str, ...] = ("individual", "manager", "director", "vp", "c_level")


def _no_control_characters(text: str, what: str, allow: str = "") -> None:
    """Names are printed to terminals and written into tables: an ANSI escape or a
    newline in one would reach the user raw."""
    bad = [ch for ch in text if not ch.isprintable() and ch not in allow]
    if bad:
        raise _problem(
            f"{what} may not contain control characters (found {shown(bad[0])} in "
            f"{shown(text)}); remove them"
        )


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def _problem(message: str, *at: str | int) -> PydanticCustomError:
    """A validation error whose message is complete as written (`_describe` adds nothing).

    `at` continues the error's location below the model that raises it, so a check that
    needs several fields (a model validator) can still name the one field to fix.
    """
    return PydanticCustomError("scenario", "{problem}", {"problem": message, "at": at})


def _whole_number(value: Any) -> Any:
    """Take 78.0 as 78 for an integer field (a TOML writer or a sweep may produce floats)
    but refuse 78.5, and refuse booleans, which Python would count as 0 and 1."""
    if isinstance(value, bool):
        raise _problem(f"must be a whole number, found {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise _problem(f"must be a whole number, found {value!r}")
        return int(value)
    if isinstance(value, numbers.Integral):  # numpy integers from a sweep's axis values
        return int(value)
    return value


#: The largest number any field takes (money, weights, efforts): with every input at most
#: this, spend, revenue, ROI and every utility stay finite (a budget of 1e308 would make
#: them inf or NaN). Money is counted in units of currency, so 1e15 is far beyond any market.
MAX_NUMBER = 1e15
#: The smallest positive value of a scale that the model divides by (a half-life, a
#: half-saturation spend, a stage's effort, a budget): below it a quotient overflows.
MIN_POSITIVE = 1e-6
#: The smallest positive weekly chance of a new need (0 is allowed: never); below it the
#: geometric wait until the next need overflows.
MIN_RATE = 1e-9
#: Seeds are stored as 64-bit integers in the result tables.
MAX_SEED = 2**63 - 1

#: An integer field: ints, or floats that are whole numbers (converted to int).
Whole = Annotated[int, BeforeValidator(_whole_number), Field(strict=True)]
NonNeg = Annotated[float, Field(ge=0, le=MAX_NUMBER, allow_inf_nan=False, strict=True)]
Prob = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False, strict=True)]
Pos = Annotated[float, Field(ge=MIN_POSITIVE, le=MAX_NUMBER, allow_inf_nan=False, strict=True)]
#: A number that may be negative (a utility), bounded like the others.
Real = Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER, allow_inf_nan=False, strict=True)]
#: A weight inside an exponential (organic visibility): exp(100) is still finite.
ExpWeight = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False, strict=True)]


def _rates_not_tiny(rates: tuple[float, ...], labels: tuple[str, ...]) -> None:
    """A weekly need rate is 0 (never) or at least MIN_RATE."""
    for label, x in zip(labels, rates, strict=True):
        if 0 < x < MIN_RATE:
            raise _problem(
                f"must be 0 or at least {MIN_RATE:g} (a weekly chance), found {x:g}", label
            )


def _check_channel_names(names: Any) -> None:
    """Every name must be a channel of the Channel table."""
    for name in names:
        if name not in CHANNEL_NAMES:
            raise ValueError(f"unknown channel {name!r}; allowed: {', '.join(CHANNEL_NAMES)}")


MIX_TOLERANCE = 1e-6  # how far from 1 the shares of a channel mix may sum


def _check_mix(mix: dict[str, float]) -> dict[str, float]:
    """Known channels only, none unbuyable, and at least one positive share if any."""
    _check_channel_names(mix)
    for name, share in mix.items():
        if name == "peer_recommendations" and share > 0:
            raise ValueError(
                "peer_recommendations cannot be bought; it comes from satisfied customers "
                "(use referral_reward instead)"
            )
    if mix and sum(mix.values()) <= 0:
        raise ValueError("shares sum to 0; give at least one channel a positive share")
    return mix


def _check_mix_sum(mix: dict[str, float], normalize: bool) -> None:
    """Shares are fractions of the budget: they must sum to 1 unless normalize = true.

    Rescaling silently would turn a share the user wrote as 0.65 into something else.
    """
    total = sum(mix.values())
    if mix and not normalize and abs(total - 1.0) > MIX_TOLERANCE:
        raise _problem(
            f"shares sum to {total:.10g}, not 1; fix them or set normalize = true to rescale",
            "channel_mix",
        )


def _shares(mix: dict[str, float], normalize: bool) -> tuple[float, ...]:
    """A channel mix as shares in CHANNEL_NAMES order: as written, or rescaled to sum to
    1 when `normalize` (validation guarantees a positive sum then)."""
    total = sum(mix.values()) if normalize else 1.0
    if total <= 0:
        return tuple(0.0 for _ in CHANNEL_NAMES)
    return tuple(mix.get(c, 0.0) / total for c in CHANNEL_NAMES)


def _budget_and_mix(spend: tuple[float, ...]) -> tuple[float, dict[str, float]]:
    """The weekly budget and an exact channel mix (shares summing to 1) that spend
    exactly `spend` per channel; no budget and an empty mix if nothing is spent."""
    budget = sum(spend)
    if budget <= 0:
        return 0.0, {}
    return budget, {c: x / budget for c, x in zip(CHANNEL_NAMES, spend, strict=True) if x > 0}


class BySeniority(_Frozen):
    """One number per seniority level, individual contributor to C-level."""

    individual: NonNeg
    manager: NonNeg
    director: NonNeg
    vp: NonNeg
    c_level: NonNeg

    def as_tuple(self) -> tuple[float, ...]:
        """Values in seniority order (individual .. c_level)."""
        return tuple(getattr(self, s) for s in SENIORITIES)


class StageEffort(_Frozen):
    """Research units (consultations) a buyer needs to finish each stage."""

    early: Pos = 6.0
    middle: Pos = 8.0
    final: Pos = 6.0


class Buyers(_Frozen):
    """The buyer population. Defaults follow docs/sources.md (see scenarios/baseline.toml)."""

    count: Annotated[Whole, Field(ge=1, le=5_000_000)] = 5000
    seniority_shares: BySeniority = BySeniority(
        individual=0.30, manager=0.30, director=0.20, vp=0.12, c_level=0.08
    )
    # IDC: 75% of all buyers and 84% of VP/C-level use social media to decide.
    social_use: BySeniority = BySeniority(
        individual=0.70, manager=0.73, director=0.77, vp=0.83, c_level=0.85
    )
    # IDC: social users are more senior with bigger budgets and wider span of control.
    budget: BySeniority = BySeniority(
        individual=15_000, manager=40_000, director=90_000, vp=200_000, c_level=400_000
    )
    budget_spread: Annotated[float, Field(ge=0, le=3, strict=True)] = 0.5
    # IDC: more senior buyers purchase more often. Weekly hazard of a new buying need.
    need_rate: BySeniority = BySeniority(
        individual=0.010, manager=0.014, director=0.018, vp=0.022, c_level=0.026
    )
    span: BySeniority = BySeniority(individual=1, manager=1.5, director=2, vp=3, c_level=4)
    # Forrester B2B Social Technographics 2013: 98% spectators, 79% joiners, 75% critics.
    spectator: Prob = 0.98
    joiner: Prob = 0.79
    critic: Prob = 0.75
    consultations_per_week: Annotated[Whole, Field(ge=1, le=8)] = 2
    stage_effort: StageEffort = StageEffort()
    # Forrester 2012: 65-90% of research is done before the first sales contact.
    sales_readiness_mean: Annotated[float, Field(gt=0, lt=1, strict=True)] = 0.72
    sales_readiness_concentration: Pos = 20.0
    engage_weeks: Annotated[Whole, Field(ge=1, le=520)] = 26

    @field_validator("seniority_shares")
    @classmethod
    def _shares_sum_to_one(cls, v: BySeniority) -> BySeniority:
        total = sum(v.as_tuple())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"shares must sum to 1 (they sum to {total:g})")
        return v

    @field_validator("social_use", "need_rate")
    @classmethod
    def _probabilities(cls, v: BySeniority) -> BySeniority:
        """social_use is a share of buyers and need_rate a weekly chance: above 1 they
        mean nothing (a need_rate above 1 would make the geometric wait NaN)."""
        for level, x in zip(SENIORITIES, v.as_tuple(), strict=True):
            if x > 1:
                raise _problem(f"must be a probability between 0 and 1, found {x:g}", level)
        _rates_not_tiny(v.as_tuple(), SENIORITIES)
        return v

    @field_validator("budget")
    @classmethod
    def _positive_budgets(cls, v: BySeniority) -> BySeniority:
        """A deal is worth the buyer's budget times the price: a zero budget makes sales
        worth nothing and the referral-reward scale 0/0."""
        for level, x in zip(SENIORITIES, v.as_tuple(), strict=True):
            if x <= 0:
                raise _problem(f"must be > 0 (a deal is worth budget x price), found {x:g}", level)
            if x < MIN_POSITIVE:
                raise _problem(f"must be at least {MIN_POSITIVE:g}, found {x:g}", level)
        return v


SIZE_CLASSES: tuple[str, ...] = ("small", "mid_market", "enterprise")


class BySize(_Frozen):
    """One number per account size class: small, mid-market, enterprise."""

    small: NonNeg
    mid_market: NonNeg
    enterprise: NonNeg

    def as_tuple(self) -> tuple[float, ...]:
        """Values in size order (small .. enterprise)."""
        return tuple(getattr(self, s) for s in SIZE_CLASSES)


class Accounts(_Frozen):
    """Accounts (companies) and their buying groups (docs/model.md §4a).

    Buyers are grouped into accounts of a size class (`size_shares`: the share of
    ACCOUNTS in each class). An account's simulated people are its buying group: 1 +
    Poisson(group_size - 1) people, at most `max_group` (Gartner: 6-10 for a complex
    purchase, larger for larger accounts; docs/sources.md §10). A need arises at the
    account with weekly chance `need_rate`; every member researches, and the group decides
    when its slowest member has finished the final stage. `effort` scales the research a
    journey needs (bigger accounts, bigger deals). The decision needs members holding at
    least `consensus` of the group's weight (span of control) behind one vendor; otherwise
    it ends in no decision. `shared_fit`: the share of the buyer-vendor fit variance that
    is common to the account (colleagues judge fit alike). `colleague_links`: the chance
    that two members of an account know each other on the referral graph (dense inside an
    account; the [network] generator adds the sparse links across accounts).

    A scenario without [accounts] has one-person accounts: each buyer decides alone with
    its own need rate (the v1 market).
    """

    size_shares: BySize = BySize(small=0.60, mid_market=0.30, enterprise=0.10)
    group_size: BySize = BySize(small=2.0, mid_market=4.5, enterprise=8.0)
    max_group: Annotated[Whole, Field(ge=1, le=50)] = 12
    need_rate: BySize = BySize(small=0.012, mid_market=0.016, enterprise=0.020)
    effort: BySize = BySize(small=1.0, mid_market=1.6, enterprise=2.4)
    consensus: Prob = 0.5
    shared_fit: Prob = 0.5
    colleague_links: Prob = 1.0

    @field_validator("size_shares")
    @classmethod
    def _shares_sum_to_one(cls, v: BySize) -> BySize:
        total = sum(v.as_tuple())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"shares must sum to 1 (they sum to {total:g})")
        return v

    @field_validator("group_size", "effort")
    @classmethod
    def _at_least_one(cls, v: BySize) -> BySize:
        for size, x in zip(SIZE_CLASSES, v.as_tuple(), strict=True):
            if x < 1:
                raise _problem(f"must be at least 1, found {x:g}", size)
        return v

    @field_validator("group_size")
    @classmethod
    def _groups_drawable(cls, v: BySize) -> BySize:
        """Group sizes are drawn as 1 + Poisson(group_size - 1) and cut at max_group (at
        most 50): a mean beyond that is meaningless (and beyond ~1e18 numpy cannot draw)."""
        for size, x in zip(SIZE_CLASSES, v.as_tuple(), strict=True):
            if x > 50:
                raise _problem(f"must be at most 50 (the largest max_group), found {x:g}", size)
        return v

    @field_validator("need_rate")
    @classmethod
    def _probabilities(cls, v: BySize) -> BySize:
        for size, x in zip(SIZE_CLASSES, v.as_tuple(), strict=True):
            if x > 1:
                raise _problem(f"must be a probability between 0 and 1, found {x:g}", size)
        _rates_not_tiny(v.as_tuple(), SIZE_CLASSES)
        return v


class Memory(_Frozen):
    """Memory: preference built from exposures fades between weeks, and buyers out of
    market can still be exposed (brand building), docs/model.md §11a.

    half_life_weeks: weeks for a preference to fall to half without new exposures
    (None: preferences never fade, the v1 model). channel_half_lives: channels whose
    exposures fade at their own pace (weeks; exact, but it costs about a third more run
    time at 100k buyers, docs/model.md §11a). idle_reach: how strongly paid presence
    reaches buyers who are not in market, relative to buyers in market (0: not at all,
    the v1 model). What idle buyers take in carries into their next journey. Both
    illustrative; calibrated where targets allow.
    """

    half_life_weeks: Pos | None = None
    idle_reach: Prob = 0.0
    channel_half_lives: dict[str, Pos] = Field(default_factory=dict)

    @field_validator("channel_half_lives")
    @classmethod
    def _known_channels(cls, v: dict[str, float]) -> dict[str, float]:
        _check_channel_names(v)
        return v

    @property
    def on(self) -> bool:
        """Whether memory changes anything."""
        return (
            self.half_life_weeks is not None or self.idle_reach > 0 or bool(self.channel_half_lives)
        )


class Calibration(_Frozen):
    """The scenario's free parameters for `run.py calibrate`: dotted field paths (as in
    sweeps, e.g. "choice.status_quo") with the [low, high] range the fit may search."""

    free: dict[str, tuple[float, float]] = Field(default_factory=dict)

    @field_validator("free")
    @classmethod
    def _ranges(cls, free: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for path, (low, high) in free.items():
            if max(abs(low), abs(high)) > MAX_NUMBER:
                raise _problem(f"low and high must be within +-{MAX_NUMBER:g}", path)
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise _problem(
                    f"needs [low, high] with low < high, found [{low:g}, {high:g}]", path
                )
        return free


class Choice(_Frozen):
    """The decision at the end of the final stage: multinomial logit or no decision."""

    preference_weight: NonNeg = 1.0
    fit_spread: NonNeg = 0.5
    price_weight: NonNeg = 2.0
    # The status quo is a frequent B2B outcome: utility of "no decision".
    status_quo: Real = 3.5
    referral_weight: NonNeg = 1.0
    review_weight: NonNeg = 0.5
    incumbent_bonus: NonNeg = 1.0
    # Utility the incumbent vendor keeps at a renewal decision (the cost of switching away);
    # illustrative, 0 = none (docs/model.md §16).
    switching_cost: NonNeg = 0.0


class Network(_Frozen):
    """The referral graph. `kind = "file"` reads an edge list or GraphML file.

    watts_strogatz uses k (neighbours per buyer; an odd k acts as k - 1, as in networkx)
    and p (rewiring chance); barabasi_albert uses m (links per new buyer);
    powerlaw_cluster uses m and triangle_p.

    generator picks the code that draws a generated graph: "fast" (vectorised
    generators with the same distribution of graphs as networkx's, much quicker for large
    markets) or "networkx" (networkx's own generators, slower; the same seed gives the
    graphs of earlier versions). The two draw different graphs from the same seed. It is
    ignored for kind = "file".
    """

    kind: Literal["watts_strogatz", "barabasi_albert", "powerlaw_cluster", "file"] = (
        "watts_strogatz"
    )
    k: Annotated[Whole, Field(ge=2, le=1000)] = 10
    p: Prob = 0.1
    m: Annotated[Whole, Field(ge=1, le=500)] = 5
    triangle_p: Prob = 0.3
    path: str | None = None
    format: Literal["edgelist", "graphml", "auto"] = "auto"
    generator: Literal["fast", "networkx"] = "fast"


class Plan(_Frozen):
    """From `week` on (weeks count from 0), a vendor spends by this plan: flighted
    budgets, a mid-year reallocation.

    Only the fields a plan gives change; the others keep their current value (the
    vendor's own, or the last earlier plan's), so plans apply cumulatively. channel_mix
    follows the vendor's rules: shares sum to 1 unless this plan says normalize = true
    (which rescales this plan's mix only).
    """

    week: Annotated[Whole, Field(ge=0)]
    weekly_budget: NonNeg | None = None
    channel_mix: dict[str, NonNeg] | None = None
    normalize: Annotated[bool, Field(strict=True)] = False
    social_selling: NonNeg | None = None

    @field_validator("channel_mix")
    @classmethod
    def _known_channels(cls, mix: dict[str, float] | None) -> dict[str, float] | None:
        return None if mix is None else _check_mix(mix)

    @model_validator(mode="after")
    def _changes_something(self) -> Plan:
        if self.weekly_budget is None and self.channel_mix is None and self.social_selling is None:
            raise _problem(
                "a plan must change something; give weekly_budget, channel_mix or "
                "social_selling (or remove the plan)"
            )
        if self.channel_mix is None:
            if self.normalize:
                raise _problem(
                    "normalize rescales this plan's own channel_mix; give channel_mix or "
                    "remove normalize",
                    "normalize",
                )
        else:
            _check_mix_sum(self.channel_mix, self.normalize)
        return self


#: The vendors' policies (docs/model.md §5, §5a): static (the default) follows the
#: vendor's fields (and schedule); data_loop measures with its tracking and adjusts its
#: mix; oracle follows its schedule (planned by analysis/dataloop.py) or else stays static.
POLICIES: tuple[str, ...] = ("static", "data_loop", "oracle")
TRACKING_METHODS: tuple[str, ...] = ("forward", "point_of_sale", "reverse", "perfect")
ATTRIBUTIONS: tuple[str, ...] = ("last_touch", "first_touch", "linear")
OBJECTIVES: tuple[str, ...] = ("conversions", "revenue", "originated")


class Tracking(_Frozen):
    """What a data-loop vendor observes (docs/model.md §5a, sim/tracking.py).

    method: forward (codes and registrations in the channels it can tag, each touch
    captured with chance `capture`), point_of_sale (new customers asked how they heard of
    it; `response_rate` answer), reverse (its own records: sales contacts, quotes and
    content registrations of its customers) or perfect (the true touch log).
    attribution: how a conversion's credit is split over the observed touches (forward,
    reverse, perfect): last_touch, first_touch or linear.
    """

    method: Literal["forward", "point_of_sale", "reverse", "perfect"] = "forward"
    attribution: Literal["last_touch", "first_touch", "linear"] = "last_touch"
    taggable: tuple[str, ...] = ("search", "vendor_content", "industry_media")
    capture: Prob = 0.8
    response_rate: Prob = 0.6

    @field_validator("taggable")
    @classmethod
    def _known_taggable(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        _check_channel_names(names)
        if len(set(names)) != len(names):
            raise ValueError("channels are listed more than once; list each once")
        return names


class DataLoop(_Frozen):
    """The DATA loop of a data_loop (or oracle) vendor (docs/model.md §5a).

    Define: the objective (conversions, revenue or marketing-originated customers) and the
    budget (the vendor's weekly_budget; only the shares move). Assess: the plan does not
    change before week baseline_weeks. Track: `tracking` over the last window_weeks.
    Adjust: every cadence_weeks from baseline_weeks on, at most max_shift of the channel
    budget moves from the channels with the lowest measured return to the highest; every
    channel of the initial mix keeps at least `exploration` of the budget.
    """

    objective: Literal["conversions", "revenue", "originated"] = "conversions"
    baseline_weeks: Annotated[Whole, Field(ge=0, le=5200)] = 26
    cadence_weeks: Annotated[Whole, Field(ge=1, le=5200)] = 13
    max_shift: Prob = 0.2
    exploration: Prob = 0.05
    window_weeks: Annotated[Whole, Field(ge=1, le=5200)] = 26
    tracking: Tracking = Tracking()


class VendorSpec(_Frozen):
    """A vendor's strategy and economics.

    weekly_budget is split over channels by channel_mix: shares that sum to 1 (within
    1e-6), so a share written as 0.65 is 65% of the budget. With normalize = true the
    shares are rescaled to sum to 1 instead (convenient for ratios like 3:1).
    social_selling is the weekly spend on salespeople reaching buyers through their
    networks; referral_reward is paid per conversion that a satisfied customer referred.
    Deal value is the buyer's budget times price (a price index, 1 = market price).
    schedule: plans by week (see Plan) that change weekly_budget, channel_mix and
    social_selling from a given week on; the vendor's own fields hold before the first.
    """

    name: Annotated[str, Field(min_length=1, max_length=60)]
    weekly_budget: NonNeg = 0.0
    channel_mix: dict[str, NonNeg] = Field(default_factory=dict)
    normalize: Annotated[bool, Field(strict=True)] = False
    social_selling: NonNeg = 0.0
    referral_reward: NonNeg = 0.0
    price: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False, strict=True)] = 1.0
    quality: Prob = 0.8
    fixed_costs: NonNeg = 0.0
    variable_cost: Prob = 0.4
    schedule: tuple[Plan, ...] = ()
    # Share of all buyers who are this vendor's customers at week 0 (its installed base).
    installed_base: Prob = 0.0
    # A self-serve vendor sells without a quote from its sales team (docs/model.md §13a).
    self_serve: Annotated[bool, Field(strict=True)] = False
    # Strategy (docs/model.md §5a): static, data_loop (measures and adjusts) or oracle.
    policy: Literal["static", "data_loop", "oracle"] = "static"
    data_loop: DataLoop | None = None

    @field_validator("name")
    @classmethod
    def _addressable_name(cls, name: str) -> str:
        """Sweeps, `with_changes` and `--vendor` address a vendor as vendors.NAME.field,
        and attribution writes NAME into file names: the name must survive both."""
        _no_control_characters(name, "vendor names")
        if "." in name:
            raise _problem(
                "vendor names may not contain '.' (sweep paths use vendors.NAME.field); "
                f"rename it, e.g. {name.replace('.', '_')!r}"
            )
        if "/" in name or "\\" in name:
            fixed = name.replace("/", "_").replace("\\", "_")
            raise _problem(
                "vendor names may not contain '/' or '\\' (they become part of file names); "
                f"rename it, e.g. {fixed!r}"
            )
        if not name.strip():
            raise _problem("vendor names may not be blank; give a name, e.g. 'Acme'")
        if name != name.strip():
            raise _problem(
                f"vendor names may not start or end with spaces; rename it, e.g. {name.strip()!r}"
            )
        return name

    @field_validator("channel_mix")
    @classmethod
    def _known_channels(cls, mix: dict[str, float]) -> dict[str, float]:
        return _check_mix(mix)

    @model_validator(mode="after")
    def _spendable(self) -> VendorSpec:
        """Shares sum to 1 (or normalize says rescale them); a budget has somewhere to go."""
        _check_mix_sum(self.channel_mix, self.normalize)
        if self.weekly_budget > 0 and not self.channel_mix:
            raise _problem(
                f"a weekly_budget of {self.weekly_budget:g} needs a channel_mix to be spent in; "
                "give channel_mix = { search = 1.0 } (for example) or set weekly_budget = 0",
                "weekly_budget",
            )
        for j in range(1, len(self.schedule)):
            before, week = self.schedule[j - 1].week, self.schedule[j].week
            if week <= before:
                raise _problem(
                    f"weeks must increase ({week} after {before})", "schedule", j, "week"
                )
        budget = self.weekly_budget
        for j, (plan, (_, spend, _)) in enumerate(
            zip(self.schedule, self.spend_periods()[1:], strict=True)
        ):
            budget = plan.weekly_budget if plan.weekly_budget is not None else budget
            if budget > 0 and not any(spend):
                field = "channel_mix" if plan.channel_mix is not None else "weekly_budget"
                raise _problem(
                    f"from week {plan.week} a weekly budget has no channel_mix to be spent "
                    "in; give this plan a channel_mix or set its weekly_budget = 0",
                    "schedule",
                    j,
                    field,
                )
        if self.policy == "data_loop":
            self._check_data_loop()
        return self

    def _check_data_loop(self) -> None:
        """A data-loop vendor moves shares of its own budget between its mix's channels."""
        if self.schedule:
            raise _problem(
                "a data_loop vendor adjusts its own plan; remove its schedule or use "
                'policy = "static" (or "oracle")',
                "schedule",
            )
        if self.weekly_budget <= 0 or not self.channel_mix:
            raise _problem(
                "a data_loop vendor moves shares of its weekly_budget between the channels "
                "of its channel_mix; give it weekly_budget > 0 and a channel_mix",
                "weekly_budget",
            )
        loop = self.data_loop or DataLoop()
        n_mix = sum(1 for x in self.channel_mix.values() if x > 0)
        if loop.exploration * n_mix > 1 + 1e-9:
            raise _problem(
                f"exploration {loop.exploration:g} x {n_mix} channels in the mix is more "
                "than the whole budget; lower it to at most "
                f"{1 / n_mix:.4g}",
                "data_loop",
                "exploration",
            )

    @property
    def loop(self) -> DataLoop:
        """The vendor's DATA loop settings (the defaults if it gives none)."""
        return self.data_loop or DataLoop()

    def spend_by_channel(self) -> tuple[float, ...]:
        """Weekly spend in each channel of the Channel table (budget x share), from the
        vendor's own fields: the spend of week 0 (see `plan_at` for later weeks)."""
        return tuple(self.weekly_budget * x for x in _shares(self.channel_mix, self.normalize))

    def spend_periods(self) -> tuple[tuple[int, tuple[float, ...], float], ...]:
        """(first week, weekly spend per channel, weekly social-selling spend) of each
        period: week 0 from the vendor's own fields, then one entry per plan (a plan at
        week 0 replaces the first entry from the start). Spend changes only at these
        weeks, so a model can update its arrays there rather than every week."""
        budget, social = self.weekly_budget, self.social_selling
        shares = _shares(self.channel_mix, self.normalize)
        out = [(0, tuple(budget * x for x in shares), social)]
        for plan in self.schedule:
            if plan.weekly_budget is not None:
                budget = plan.weekly_budget
            if plan.channel_mix is not None:
                shares = _shares(plan.channel_mix, plan.normalize)
            if plan.social_selling is not None:
                social = plan.social_selling
            out.append((plan.week, tuple(budget * x for x in shares), social))
        return tuple(out)

    def plan_at(self, week: int) -> tuple[tuple[float, ...], float]:
        """(weekly spend per channel in CHANNEL_NAMES order, weekly social-selling spend)
        in force at `week` (weeks count from 0): the vendor's own fields before its first
        plan, then each plan's changes on top of the ones before it."""
        periods = self.spend_periods()
        _, spend, social = periods[0]
        for start, s, ss in periods[1:]:
            if start > week:
                break
            spend, social = s, ss
        return spend, social


class ChannelOverride(_Frozen):
    """Per-scenario changes to one channel of the Channel table (sim/channels.py).

    credibility: preference gain per exposure in the early, middle and final stage; all
    zeros makes a channel that provably has no effect (exposures there neither raise
    preference nor put a vendor in the consideration set).
    preference: the channel's weight in the early, middle and final stage of source
    choice (relative to the other channels' weights; 0 means buyers in that stage never
    consult it). Every stage must keep a source that every buyer can consult.
    reach, half_saturation: how spend buys presence (see sim/channels.py).
    """

    credibility: tuple[Prob, Prob, Prob] | None = None
    preference: tuple[NonNeg, NonNeg, NonNeg] | None = None
    reach: Prob | None = None
    half_saturation: Pos | None = None


class Market(_Frozen):
    """The market a scenario represents (docs/model.md §9).

    buyers: how many real buyers the market has; the simulated buyers (buyers.count) are a
    sample of them. Spend buys presence for the whole market, and counts and money are
    scaled from the sample to the market, so cost per acquisition and ROI do not move when
    only the sample size changes. Default: the sample is the whole market.
    """

    buyers: Annotated[Whole, Field(ge=1, le=1_000_000_000)] | None = None


class Sales(_Frozen):
    """The sales pipeline (docs/model.md §13a).

    quotes_required: a purchase needs a quote from the chosen vendor's sales team (unless
    the vendor is self-serve); the seed: by the time buyers reach sales, mostly price
    quotes are needed. quote_response: weekly chance that a considered vendor's sales
    team quotes a buyer who is ready for sales (illustrative; 1 = within the week).
    social_selling_min_readiness: research share below which social selling cannot reach
    a buyer (illustrative).
    """

    quotes_required: Annotated[bool, Field(strict=True)] = True
    quote_response: Prob = 1.0
    social_selling_min_readiness: Prob = 0.4


class Organic(_Frozen):
    """Organic discovery: vendors found without paid media (organic search results,
    earned media, review sites), docs/model.md §9a.

    reach: per channel, the chance that a consultation which showed no paid vendor shows
    one organically (default: none anywhere, i.e. organic discovery off). Which vendor:
    in proportion to its visibility, exp(quality_weight x (quality - 0.5)) x
    exp(review_weight x review score) x (1 + base_weight x its share of buyers as
    customers). All illustrative.
    """

    reach: dict[str, Prob] = Field(default_factory=dict)
    quality_weight: ExpWeight = 4.0
    review_weight: ExpWeight = 1.0
    base_weight: NonNeg = 2.0

    @field_validator("reach")
    @classmethod
    def _known_channels(cls, reach: dict[str, float]) -> dict[str, float]:
        _check_channel_names(reach)
        for name, r in reach.items():
            channel = CHANNELS[CHANNEL_NAMES.index(name)]
            if r > 0 and (channel.referral or name == "sales_reps"):
                raise ValueError(
                    f"{name} cannot show vendors organically (referral sources pass on "
                    "what contacts say; sales reps are the vendors' own); remove it"
                )
        return reach

    @property
    def on(self) -> bool:
        """Whether any channel shows vendors organically."""
        return any(r > 0 for r in self.reach.values())


class Scenario(_Frozen):
    """A complete, validated scenario: buyers, network, vendors, horizon."""

    name: str = "scenario"
    description: str = ""
    weeks: Annotated[Whole, Field(ge=1, le=5200)] = 104
    seed: Annotated[Whole, Field(ge=0, le=MAX_SEED)] = 0
    buyers: Buyers = Buyers()
    network: Network = Network()
    choice: Choice = Choice()
    vendors: tuple[VendorSpec, ...]
    channels: dict[str, ChannelOverride] = Field(default_factory=dict)
    organic: Organic = Organic()
    sales: Sales = Sales()
    market: Market = Market()
    accounts: Accounts | None = None
    memory: Memory = Memory()
    calibration: Calibration = Calibration()
    source: str = "<memory>"
    base_dir: str = "."

    @field_validator("name")
    @classmethod
    def _file_safe_name(cls, name: str) -> str:
        """Result files are named after the scenario (attribution --save): a path
        separator there would write outside the output folder."""
        _no_control_characters(name, "scenario names")
        if "/" in name or "\\" in name:
            fixed = name.replace("/", "_").replace("\\", "_")
            raise _problem(
                "scenario names may not contain '/' or '\\' (they become part of file "
                f"names); rename it, e.g. {fixed!r}"
            )
        return name

    @field_validator("description")
    @classmethod
    def _printable_description(cls, text: str) -> str:
        _no_control_characters(text, "a description", allow="\n\t")
        return text

    @field_validator("vendors")
    @classmethod
    def _distinct_vendors(cls, v: tuple[VendorSpec, ...]) -> tuple[VendorSpec, ...]:
        if not v:
            raise ValueError("at least one [[vendors]] table is needed")
        counts = Counter(x.name for x in v)
        dup = sorted(n for n, k in counts.items() if k > 1)
        if dup:
            listed = ", ".join(shown(n, 30) for n in dup[:5]) + (", ..." if len(dup) > 5 else "")
            raise ValueError(f"vendor names must be distinct; repeated: {listed}")
        return v

    @field_validator("channels")
    @classmethod
    def _known_channel_overrides(cls, v: dict[str, ChannelOverride]) -> dict[str, ChannelOverride]:
        _check_channel_names(v)
        return v

    @model_validator(mode="after")
    def _installed_bases_fit(self) -> Scenario:
        """Each buyer is the customer of at most one vendor at week 0."""
        total = sum(v.installed_base for v in self.vendors)
        if total > 1 + 1e-9:
            raise _problem(
                f"the vendors' installed_base shares sum to {total:g}, more than all buyers; "
                "lower them so they sum to at most 1",
                "vendors",
                max(range(len(self.vendors)), key=lambda i: self.vendors[i].installed_base),
                "installed_base",
            )
        return self

    @model_validator(mode="after")
    def _plans_within_horizon(self) -> Scenario:
        """A plan that starts after the last simulated week would silently never apply."""
        for i, v in enumerate(self.vendors):
            for j, plan in enumerate(v.schedule):
                if plan.week >= self.weeks:
                    raise _problem(
                        f"week {plan.week} is past the scenario's horizon of weeks = "
                        f"{self.weeks} (weeks count from 0, the last is {self.weeks - 1}); "
                        "move the plan earlier or raise weeks",
                        "vendors",
                        i,
                        "schedule",
                        j,
                        "week",
                    )
        return self

    @model_validator(mode="after")
    def _every_stage_has_a_source(self) -> Scenario:
        """Source choice divides by the stage's preference weights: a stage where all of
        them are 0 would leave buyers nothing to consult (NaN draws). Buyers who do not
        use social media, and buyers not yet ready for sales, skip the social sources and
        sales reps, so one of the remaining channels must keep a positive weight."""
        table = self.channel_table()
        everyone = [c for c in table if not c.social and c.name != "sales_reps"]
        for s, stage in enumerate(("early", "middle", "final")):
            if sum(c.preference[s] for c in everyone) > 0:
                continue
            zeroed = [
                name
                for name in CHANNEL_NAMES
                if name in self.channels
                and self.channels[name].preference is not None
                and self.channels[name].preference[s] == 0
            ]
            at = ("channels", zeroed[0], "preference") if zeroed else ("channels",)
            if sum(c.preference[s] for c in table) <= 0:
                problem = f"all channels' preferences are 0 in the {stage} stage"
            else:
                problem = (
                    f"in the {stage} stage only social channels and sales_reps keep a "
                    "positive preference, so a buyer who does not use social media or is "
                    "not yet ready for sales has nothing to consult"
                )
            names = ", ".join(c.name for c in everyone)
            raise _problem(f"{problem}; give one of {names} a positive {stage} preference", *at)
        return self

    def channel_table(self) -> tuple[Channel, ...]:
        """The Channel table with this scenario's overrides applied."""
        out = []
        for c in CHANNELS:
            o = self.channels.get(c.name)
            if o is not None:
                changes = {k: v for k, v in o.model_dump().items() if v is not None}
                c = replace(c, **changes)
            out.append(c)
        return tuple(out)

    @property
    def market_buyers(self) -> int:
        """Real buyers in the market (the sample's size unless [market] says otherwise)."""
        return self.market.buyers if self.market.buyers is not None else self.buyers.count

    def vendor_names(self) -> tuple[str, ...]:
        """Vendor names in scenario order (the vendor index of every array)."""
        return tuple(v.name for v in self.vendors)

    def graph_path(self) -> Path | None:
        """The user's graph file, resolved against the scenario file's folder."""
        if self.network.path is None:
            return None
        p = Path(self.network.path)
        return p if p.is_absolute() else Path(self.base_dir) / p

    def with_changes(self, changes: dict[str, Any]) -> Scenario:
        """A new validated Scenario with dotted-path fields replaced.

        `{"buyers.count": 1000, "vendors.Acme.weekly_budget": 0}` sets fields; vendors are
        addressed by name. Used by sweeps, the command line and counterfactual runs.
        """
        data = self.model_dump()
        for dotted, value in changes.items():
            _set_dotted(data, dotted, value, self.source)
        return scenario_from_dict(data, self.source, Path(self.base_dir))

    def without_channel_spend(self, vendor: str, channel: str) -> Scenario:
        """The counterfactual: `vendor` stops spending in `channel`, all else unchanged.

        The vendor's other channels keep their spend (its budget shrinks by that
        channel's part), so the difference to the original run is exactly that spend.
        The remaining shares are rescaled to sum to 1 (a valid mix); a schedule is cut
        the same way in every plan, each plan then giving its budget and mix in full.
        """
        match = [v for v in self.vendors if v.name == vendor]
        if not match:
            raise ScenarioError(
                self.source,
                "vendor",
                f"no vendor named {vendor!r}; vendors: {', '.join(self.vendor_names())}",
            )
        if channel not in CHANNEL_NAMES:
            raise ScenarioError(
                self.source,
                "channel",
                f"unknown channel {channel!r}; allowed: {', '.join(CHANNEL_NAMES)}",
            )
        v = match[0]
        c = CHANNEL_NAMES.index(channel)
        periods = v.spend_periods()
        if all(spend[c] <= 0 for _, spend, _ in periods):
            return self

        def cut(spend: tuple[float, ...]) -> tuple[float, dict[str, float]]:
            return _budget_and_mix(tuple(0.0 if i == c else x for i, x in enumerate(spend)))

        budget, mix = cut(periods[0][1])
        changes: dict[str, Any] = {
            f"vendors.{vendor}.channel_mix": mix,
            f"vendors.{vendor}.weekly_budget": budget,
        }
        if v.schedule:
            # every plan states its (cut) spend in full, so no plan inherits the channel
            plans = []
            for plan, (_, spend, _) in zip(v.schedule, periods[1:], strict=True):
                b_, m_ = cut(spend)
                dumped = plan.model_dump()
                plans.append({**dumped, "weekly_budget": b_, "channel_mix": m_, "normalize": False})
            changes[f"vendors.{vendor}.schedule"] = plans
        return self.with_changes(changes)


def _set_dotted(data: dict[str, Any], dotted: str, value: Any, source: str) -> None:
    parts = dotted.split(".")
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        if isinstance(node, dict) and part == "vendors" and i == 0:
            node = node["vendors"]
            continue
        if isinstance(node, list | tuple):
            match = [v for v in node if v.get("name") == part]
            if not match:
                names = ", ".join(v["name"] for v in node)
                raise ScenarioError(source, dotted, f"no vendor named {part!r}; vendors: {names}")
            node = match[0]
        elif isinstance(node, dict) and part in node:
            if node[part] is None and i == 0 and part == "accounts":
                node[part] = Accounts().model_dump()  # setting a field turns accounts on
            elif node[part] is None and part == "data_loop":
                node[part] = DataLoop().model_dump()  # setting a field gives the defaults
            elif isinstance(node[part], dict) and part == "data_loop":
                # a data_loop table given in part (a sweep strategy's): its defaults filled
                # in, so that a later change may set any of its fields (a cadence axis)
                try:
                    node[part] = DataLoop.model_validate(node[part]).model_dump()
                except ValidationError:
                    pass  # validation names the problem once the changes are applied
            node = node[part]
        elif isinstance(node, dict) and parts[0] == "channels" and i == 1:
            node = node.setdefault(part, {})  # a new per-channel override
        else:
            raise ScenarioError(source, dotted, f"unknown field {part!r}")
    last = parts[-1]
    if not isinstance(node, dict):
        raise ScenarioError(source, dotted, "cannot set a field here")
    if last not in node and parts[-2:-1] != ["channel_mix"] and parts[0] != "channels":
        raise ScenarioError(source, dotted, f"unknown field {last!r}")
    node[last] = value


def _field_path(loc: tuple[Any, ...], data: dict[str, Any]) -> str:  # noqa: D417
    """Turn a pydantic error location into `vendors[2].channel_mix.x` (or the vendor name)."""
    out = ""
    node: Any = data
    for part in loc:
        if isinstance(part, int):
            name = None
            is_seq = isinstance(node, list | tuple)
            if is_seq and part < len(node) and isinstance(node[part], dict):
                name = node[part].get("name")
            if name is not None:
                name = printable(str(name), 30)
            out += f"[{part}]" if name is None else f"[{part}:{name}]"
            node = node[part] if is_seq and part < len(node) else None
        else:
            out += ("." if out else "") + printable(str(part), 60)
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _describe(
    err: dict[str, Any], example: str = "scenarios/baseline.toml", bounds_note: bool = True
) -> str:
    """A pydantic error (one of ValidationError.errors()) in the words of a one-line
    message; `example` is the file an unknown key's message points to, `bounds_note`
    says why a number is bounded (the scenario's money and weights)."""
    kind = err.get("type", "")
    found = err.get("input")
    value = shown(found) if not isinstance(found, dict | list | tuple) else type(found).__name__
    if kind == "extra_forbidden":
        return f"unknown key; remove it or check its spelling (see {example})"
    if kind == "missing":
        return "required field is missing"
    if kind == "scenario":
        return str(err["ctx"]["problem"])
    msg = err.get("msg", "invalid value").removeprefix("Value error, ")
    msg = msg.replace("Input should be ", "must be ").replace("greater than or equal to", ">=")
    msg = msg.replace("less than or equal to", "<=").replace("greater than", ">")
    msg = msg.replace("less than", "<")
    if kind in ("float_parsing", "int_parsing", "float_type", "int_type", "int_from_float"):
        return f"must be a number, found {value}"
    if kind in ("less_than_equal", "greater_than_equal") and isinstance(found, int | float):
        ctx = err.get("ctx", {})
        op, bound = ("<=", ctx.get("le")) if kind == "less_than_equal" else (">=", ctx.get("ge"))
        if isinstance(bound, float):
            msg = f"must be {op} {bound:g}"
        why = "; numbers are bounded so that spend, revenue and ROI stay finite"
        return f"{msg} (found {value}{why if bounds_note else ''})"
    return f"{msg} (found {value})"


def scenario_from_dict(
    data: dict[str, Any], source: str = "<memory>", base_dir: Path | None = None
) -> Scenario:
    """Validate a scenario given as nested dicts (the TOML's shape) into a Scenario.

    The TOML layout has a [scenario] table for name/description/weeks/seed; plain
    top-level keys are accepted too (that is what `Scenario.model_dump` produces).
    """
    flat = dict(data)
    head = flat.pop("scenario", None)
    if head is not None:
        if not isinstance(head, dict):
            raise ScenarioError(source, "scenario", "must be a table ([scenario])")
        if "base" in head:
            raise ScenarioError(
                source,
                "scenario.base",
                "a base file is read when a scenario file is loaded (load_scenario); "
                "give the merged tables here",
            )
        for key, value in head.items():
            if key in flat:
                raise ScenarioError(
                    source,
                    f"scenario.{key}",
                    f"{key} is given both in [scenario] and at the top of the file; keep one",
                )
            if key in (
                "vendors",
                "buyers",
                "network",
                "choice",
                "channels",
                "organic",
                "sales",
                "market",
                "accounts",
                "memory",
                "calibration",
            ):
                raise ScenarioError(source, f"scenario.{key}", f"[{key}] is a table of its own")
            flat[key] = value
    flat["source"] = source
    flat["base_dir"] = str(base_dir if base_dir is not None else Path("."))
    try:
        scenario = Scenario.model_validate(flat)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        if err.get("type") == "scenario":
            loc += tuple(err["ctx"]["at"])
        if loc and head is not None and loc[0] in head:
            loc = ("scenario", *loc)  # a key the file gives in [scenario]
        raise ScenarioError(source, _field_path(loc, flat), _describe(err)) from None
    _check_graph_file(scenario)
    return scenario


def _check_graph_file(scenario: Scenario) -> None:
    net = scenario.network
    if net.kind == "file":
        path = scenario.graph_path()
        if path is None:
            raise ScenarioError(
                scenario.source, "network.path", 'kind = "file" needs path = "graph.edgelist"'
            )
        if not path.is_file():
            raise ScenarioError(
                scenario.source,
                "network.path",
                f"graph file {str(path)!r} not found; give an edge list or GraphML file "
                "(relative paths start at the scenario file's folder)",
            )
    elif net.path is not None:
        raise ScenarioError(
            scenario.source, "network.path", f'only used with kind = "file" (kind is {net.kind!r})'
        )
    n = scenario.buyers.count
    if net.kind == "watts_strogatz" and net.k >= n:
        raise ScenarioError(scenario.source, "network.k", f"must be below buyers.count ({n})")
    if net.kind in ("barabasi_albert", "powerlaw_cluster") and net.m >= n:
        raise ScenarioError(scenario.source, "network.m", f"must be below buyers.count ({n})")


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file, with its base market if it names one.

    `[scenario] base = "baseline.toml"` (relative to the file's folder, or absolute) makes
    the file a set of changes to another scenario file, so a question asked of the
    calibrated market stays on it when the baseline is re-fitted. Bases are read down the
    chain (at most MAX_BASE_DEPTH, no cycles), merged by `_merged_bases` and validated
    once, exactly as a file without a base; a problem is named in the file it comes from.
    This is the only place base files are read.

    Raises:
        ScenarioError: a file is missing, is not valid TOML, or a field is invalid.
    """
    chain = [(str(path), read_toml(path, "scenario"))]
    expect_kind(chain[0][1], str(path), SCENARIO)
    while (base := _base_path(*chain[-1])) is not None:
        named_by = chain[-1][0]
        _check_base_chain(named_by, base, [src for src, _ in chain])
        try:
            os.stat(base)
        except FileNotFoundError:
            raise ScenarioError(
                named_by,
                "scenario.base",
                f"base file {_cut_middle(str(base), 160)!r} not found; give the path of a "
                "scenario file, relative to this file's folder or absolute (or remove base)",
            ) from None
        except (OSError, ValueError):
            pass  # a name too long and the like: read_toml says what is wrong
        try:
            chain.append((str(base), read_toml(base, "scenario")))
        except ScenarioError as exc:
            raise _in_base(exc, named_by) from None
        found = kind_of(chain[-1][1])
        if found != SCENARIO:
            raise ScenarioError(
                named_by,
                "scenario.base",
                f"{_cut_middle(str(base), 160)} is {a(found.name)}; a base must be a scenario file",
            )
    try:
        return scenario_from_dict(_merged_bases(chain), str(path), Path(path).parent)
    except ScenarioError as exc:
        raise _named_in_its_file(exc, chain) from None


#: How many base files a scenario may stack (the file's base, that base's base, ...).
MAX_BASE_DEPTH = 5
#: Keys of the top-level [scenario] table that each file gives for itself, never its base.
OWN_KEYS = ("name", "description")


def _base_path(source: str, data: dict[str, Any]) -> Path | None:
    """The base file that `data` (read from `source`) names in [scenario] base, resolved
    against `source`'s folder; None without one. A base given outside [scenario], or not
    as a path string, is a one-line error naming `source`."""
    if "base" in data:
        raise ScenarioError(
            source, "base", 'write it in the [scenario] table: [scenario] base = "baseline.toml"'
        )
    head = data.get("scenario")
    if not isinstance(head, dict) or "base" not in head:
        return None
    base = head["base"]
    if not isinstance(base, str) or not base.strip() or "\0" in base:
        raise ScenarioError(
            source,
            "scenario.base",
            'must be the path of a scenario file, e.g. base = "baseline.toml" '
            f"(found {shown(base)})",
        )
    return Path(source).parent / base  # an absolute base stays as it is


def _check_base_chain(source: str, base: Path, chain: list[str]) -> None:
    """Refuse a base that is already in the chain (a cycle: it would never end) or one
    more than MAX_BASE_DEPTH deep (a chain that long is more likely a mistake than a
    design); `source` is the file naming `base`, `chain` the files read so far."""
    names = [Path(src).name for src in chain] + [base.name]
    if os.path.realpath(base) in [os.path.realpath(src) for src in chain]:
        raise ScenarioError(
            source,
            "scenario.base",
            f"the bases form a cycle ({' -> '.join(names)}); remove the base of one of them",
        )
    if len(chain) > MAX_BASE_DEPTH:
        raise ScenarioError(
            source,
            "scenario.base",
            f"more than {MAX_BASE_DEPTH} bases stacked ({' -> '.join(names)}); "
            "give one of them the tables of its base instead",
        )


def _merged_bases(chain: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """One scenario dict from a file and its bases (`chain`: the file first, its deepest
    base last), each file's tables merged over its base's by `_merge_over`."""
    top_folder = Path(chain[0][0]).parent
    data: dict[str, Any] = {}
    for source, raw in reversed(chain):
        data = _merge_over(data, _own_paths(_without_base(raw), Path(source).parent, top_folder))
    return data


def _without_base(data: dict[str, Any]) -> dict[str, Any]:
    """`data` without its [scenario] base key (the chain has been read already)."""
    head = data.get("scenario")
    if not isinstance(head, dict) or "base" not in head:
        return data
    return {**data, "scenario": {k: v for k, v in head.items() if k != "base"}}


def _own_paths(data: dict[str, Any], folder: Path, top_folder: Path) -> dict[str, Any]:
    """`data` with a relative graph file path (network.path, relative to `folder`, the
    folder of the file that gives it) made relative to `top_folder`, the folder of the
    file being loaded, which the validated scenario resolves it against."""
    net = data.get("network")
    if folder == top_folder or not isinstance(net, dict) or not isinstance(net.get("path"), str):
        return data
    if Path(net["path"]).is_absolute():
        return data
    try:
        path = os.path.relpath(folder / net["path"], top_folder)
    except ValueError:  # another drive (Windows): no relative path exists
        path = str(Path(os.path.abspath(folder / net["path"])))
    return {**data, "network": {**net, "path": path}}


def _merge_over(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """`top`'s scenario (one file) merged over `base`'s (its base market).

    Tables merge key by key, at any depth; any other value replaces the base's, arrays
    included, so `[[vendors]]` in `top` replaces the base's vendors whole (vendors are the
    strategies a file compares: merging them by position would mix two files' vendors).
    [scenario]'s name and description are `top`'s own, never inherited. A [scenario] key
    may be written at the top of a file instead (scenario_from_dict takes both): `top`'s
    overrides the base's either way.
    """
    top_head = top.get("scenario") if isinstance(top.get("scenario"), dict) else {}
    given = {k for k, v in top.items() if not isinstance(v, dict | list)} | set(top_head)
    dropped = given | set(OWN_KEYS)  # [scenario] keys the base must not give
    base = {k: v for k, v in base.items() if k not in dropped or isinstance(v, dict | list)}
    if isinstance(base.get("scenario"), dict):
        base["scenario"] = {k: v for k, v in base["scenario"].items() if k not in dropped}
    return _deep_merge(base, top)


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value in `top` replaces the base's."""
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _in_base(exc: ScenarioError, named_by: str) -> ScenarioError:
    """`exc`, raised for a base file, saying which file named that base."""
    return ScenarioError(exc.source, exc.field, f"{exc.problem} (the base of {named_by})")


def _named_in_its_file(
    exc: ScenarioError, chain: list[tuple[str, dict[str, Any]]]
) -> ScenarioError:
    """`exc` (raised for the merged scenario, naming the loaded file) naming instead the
    file the offending field comes from: the first file of the chain (the loaded file,
    then its bases) that gives that field or a table or array around it. A field no file
    gives (a default, a required field) stays the loaded file's."""
    parts = [p for p in re.sub(r"\[[^\]]*\]", "", exc.field).split(".") if p]
    if not parts or len(chain) == 1:
        return exc
    paths = [parts, parts[1:] if parts[0] == "scenario" else ["scenario", *parts]]
    for i, (source, raw) in enumerate(chain):
        if not any(path and _gives(raw, path) for path in paths):
            continue
        if i == 0:
            return exc
        return _in_base(ScenarioError(source, exc.field, exc.problem), chain[i - 1][0])
    return exc


def _gives(data: dict[str, Any], parts: list[str]) -> bool:
    """Whether a file's raw `data` gives the value at the key path `parts`: the key
    itself, or a non-table value above it (an array, which replaces whole)."""
    node: Any = data
    for part in parts:
        if not isinstance(node, dict):
            return True
        if part not in node:
            return False
        node = node[part]
    return True


#: The largest scenario, sweep or targets file that is read (the baseline is 7 KB; a
#: scenario with 1,000 vendors about 100 KB).
MAX_TOML_BYTES = 10 * 2**20
#: The deepest nesting of tables and arrays a file may have (scenarios use 4).
MAX_NESTING = 20


def _size(n: int) -> str:
    return f"{n / 2**20:,.1f} MB" if n >= 2**20 else f"{n / 2**10:,.1f} KB"


def read_file_bytes(path: str | Path, kind: str, limit: int, field: str = "") -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    A device (/dev/zero), a named pipe, a socket or a folder is refused without reading
    from it (a pipe is opened without blocking), and so is a file larger than `limit`: a
    ScenarioError naming the file, with `kind` saying what file was expected.
    """
    name = str(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise ScenarioError(
            name, field, f"file not found; give the path of a {kind} file"
        ) from None
    except IsADirectoryError:
        raise ScenarioError(name, field, f"is a folder; give the path of a {kind} file") from None
    except PermissionError:
        raise ScenarioError(name, field, "permission denied; cannot read this file") from None
    except (OSError, ValueError) as exc:  # a name too long, a NUL in it, a loop of links
        why = getattr(exc, "strerror", None) or str(exc)
        raise ScenarioError(name, field, f"cannot open it ({why})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ScenarioError(name, field, f"is a folder; give the path of a {kind} file")
        if not stat.S_ISREG(st.st_mode):
            raise ScenarioError(
                name,
                field,
                f"not a regular file (a device, pipe or socket); give the path of a {kind} file",
            )
        too_big = f"is {{}}; a {kind} file may be at most {_size(limit)} (is it the right file?)"
        if st.st_size > limit:
            raise ScenarioError(name, field, too_big.format(_size(st.st_size)))
        chunks, total = [], 0
        while total <= limit:  # the file may grow while it is read
            chunk = os.read(fd, min(limit + 1 - total, 2**20) or 1)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise ScenarioError(name, field, too_big.format(f"more than {_size(limit)}"))
        return b"".join(chunks)
    except OSError as exc:  # EIO and the like
        raise ScenarioError(name, field, f"cannot read it ({exc.strerror or exc})") from None
    finally:
        os.close(fd)


def _nesting(data: Any) -> int:
    """How deeply tables and arrays nest in parsed TOML (without recursion)."""
    deepest, todo = 0, [(data, 1)]
    while todo:
        node, depth = todo.pop()
        deepest = max(deepest, depth)
        if depth > MAX_NESTING:
            break
        if isinstance(node, dict):
            todo.extend((v, depth + 1) for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            todo.extend((v, depth + 1) for v in node if isinstance(v, dict | list))
    return deepest


def read_toml(path: str | Path, kind: str) -> dict[str, Any]:
    """Parse a TOML file; a missing, undecodable or malformed file is a ScenarioError
    naming the file (`kind` says what file was expected: scenario, sweep...).

    Only a regular file of at most MAX_TOML_BYTES is read; a UTF-8 byte-order mark is
    skipped; tables and arrays may nest at most MAX_NESTING deep.
    """
    raw = read_file_bytes(path, f"{kind} .toml", MAX_TOML_BYTES)
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark (Windows editors) is skipped
    except UnicodeDecodeError:
        raise ScenarioError(str(path), "", "not a UTF-8 text file") from None
    too_deep = f"tables and arrays nest more than {MAX_NESTING} levels deep; is it the right file?"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), "", f"not valid TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(str(path), "", too_deep) from None
    if _nesting(data) > MAX_NESTING:
        raise ScenarioError(str(path), "", too_deep)
    return data


#: the helpers study files share with the scenario (analysis.engine.studyfile)
field_path = _field_path
describe_error = _describe
problem = _problem
