"""Who the buyers are: the population by seniority ([buyers]) and, optionally, the
accounts (companies) they buy for, with their buying groups ([accounts])."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from sim.scenario.fields import (
    MIN_POSITIVE,
    Frozen,
    NonNeg,
    Pos,
    Prob,
    Whole,
    probabilities,
    shares_sum_to_one,
)
from sim.scenario.messages import problem

SENIORITIES: tuple[str, ...] = ("individual", "manager", "director", "vp", "c_level")


class BySeniority(Frozen):
    """One number per seniority level, individual contributor to C-level."""

    individual: NonNeg
    manager: NonNeg
    director: NonNeg
    vp: NonNeg
    c_level: NonNeg

    def as_tuple(self) -> tuple[float, ...]:
        """Values in seniority order (individual .. c_level)."""
        return tuple(getattr(self, s) for s in SENIORITIES)


class StageEffort(Frozen):
    """Research units (consultations) a buyer needs to finish each stage."""

    early: Pos = 6.0
    middle: Pos = 8.0
    final: Pos = 6.0


class Buyers(Frozen):
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
        shares_sum_to_one(v.as_tuple())
        return v

    @field_validator("social_use", "need_rate")
    @classmethod
    def _probabilities(cls, v: BySeniority) -> BySeniority:
        """social_use is a share of buyers and need_rate a weekly chance: above 1 they
        mean nothing (a need_rate above 1 would make the geometric wait NaN)."""
        probabilities(v.as_tuple(), SENIORITIES)
        return v

    @field_validator("budget")
    @classmethod
    def _positive_budgets(cls, v: BySeniority) -> BySeniority:
        """A deal is worth the buyer's budget times the price: a zero budget makes sales
        worth nothing and the referral-reward scale 0/0."""
        for level, x in zip(SENIORITIES, v.as_tuple(), strict=True):
            if x <= 0:
                raise problem(f"must be > 0 (a deal is worth budget x price), found {x:g}", level)
            if x < MIN_POSITIVE:
                raise problem(f"must be at least {MIN_POSITIVE:g}, found {x:g}", level)
        return v


SIZE_CLASSES: tuple[str, ...] = ("small", "mid_market", "enterprise")


class BySize(Frozen):
    """One number per account size class: small, mid-market, enterprise."""

    small: NonNeg
    mid_market: NonNeg
    enterprise: NonNeg

    def as_tuple(self) -> tuple[float, ...]:
        """Values in size order (small .. enterprise)."""
        return tuple(getattr(self, s) for s in SIZE_CLASSES)


class Accounts(Frozen):
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
        shares_sum_to_one(v.as_tuple())
        return v

    @field_validator("group_size", "effort")
    @classmethod
    def _at_least_one(cls, v: BySize) -> BySize:
        for size, x in zip(SIZE_CLASSES, v.as_tuple(), strict=True):
            if x < 1:
                raise problem(f"must be at least 1, found {x:g}", size)
        return v

    @field_validator("group_size")
    @classmethod
    def _groups_drawable(cls, v: BySize) -> BySize:
        """Group sizes are drawn as 1 + Poisson(group_size - 1) and cut at max_group (at
        most 50): a mean beyond that is meaningless (and beyond ~1e18 numpy cannot draw)."""
        for size, x in zip(SIZE_CLASSES, v.as_tuple(), strict=True):
            if x > 50:
                raise problem(f"must be at most 50 (the largest max_group), found {x:g}", size)
        return v

    @field_validator("need_rate")
    @classmethod
    def _probabilities(cls, v: BySize) -> BySize:
        probabilities(v.as_tuple(), SIZE_CLASSES)
        return v
