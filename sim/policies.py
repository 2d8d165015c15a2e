"""Vendor strategies: what a vendor spends, channel by channel, each week.

A policy answers one question for its Vendor agent each week (`Vendor.step()`): which
Plan is in force now. The core books whatever is in force week by week and channel by
channel (sim/state.py `VendorState.pay_week`), so every change of strategy, from a
schedule, the live view or an adaptive policy, is costed right.

    StaticPolicy     the same plan every week (the scenario's vendor fields)
    ScheduledPolicy  plans by week from the scenario (`[[vendors.schedule]]`): flighted
                     budgets, a mid-year reallocation
    DataLoopPolicy   the DATA loop (docs/model.md §5a): Define an objective and keep the
                     budget, Assess over a baseline, Track with a tracking method and an
                     attribution rule (sim/tracking.py), Adjust the channel shares on the
                     measured returns at a cadence

An `oracle` vendor (`policy = "oracle"`) follows its schedule if it has one, else its
static plan: analysis/studies/dataloop/ plans it from counterfactual runs and writes the plans
as its schedule. A policy with an `update(model, vendor_index)` method is called by
`Vendor.step()` before `plan(week)` each week (it reads the model: the observations).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class Plan:
    """A week's strategy: spend per channel (CHANNELS order) and social-selling spend."""

    spend: tuple[float, ...]
    social_selling: float

    def spend_array(self) -> np.ndarray:
        """The channel spend as a float array."""
        return np.asarray(self.spend, dtype=float)


class Policy(Protocol):
    """Anything that gives a vendor's plan for a week."""

    def plan(self, week: int) -> Plan:
        """The plan in force in `week` (weeks count from 0)."""
        ...


@dataclass(frozen=True)
class StaticPolicy:
    """The same plan every week."""

    fixed: Plan

    def plan(self, week: int) -> Plan:
        return self.fixed


@dataclass(frozen=True)
class ScheduledPolicy:
    """The scenario's schedule of plans: each plan holds from its week until the next."""

    spec: Any  # the vendor's VendorSpec (its `plan_at(week)` applies the schedule)

    def plan(self, week: int) -> Plan:
        spend, social = self.spec.plan_at(week)
        return Plan(tuple(spend), float(social))


@dataclass
class DataLoopPolicy:
    """The DATA loop of one vendor (docs/model.md §5a).

    Define: the objective (`data_loop.objective`) and the budget (`weekly_budget`: only
    the channel shares move; social selling stays as given). Assess: no change before
    week `baseline_weeks`. Track: the vendor's observations (`model.tracking`, its
    method and attribution rule) over the last `window_weeks`: the believed return of a
    channel is the objective attributed to it over the window / its spend there. Adjust:
    at week baseline_weeks and every `cadence_weeks` after, move at most `max_shift` of
    the budget from the channels with the lowest believed return (lowest first, each down
    to `exploration`) to the one with the highest; only channels of the initial mix take
    part, and each keeps at least `exploration` (if it started with that much) so the
    vendor keeps learning. Deterministic given the observations (ties: the channel first
    in the channel table). Each adjustment's beliefs are kept in `beliefs` (the beliefs
    table).
    """

    spec: Any
    shares: np.ndarray = field(init=False)
    beliefs: list[tuple[int, int, float, float, float]] = field(init=False)

    def __post_init__(self) -> None:
        spend = np.asarray(self.spec.spend_by_channel(), dtype=float)
        self.budget = float(spend.sum())
        self.shares = spend / self.budget if self.budget > 0 else spend
        self.mix = np.flatnonzero(spend > 0)  # the channels of the initial mix
        self.loop = self.spec.loop
        self.social = float(self.spec.social_selling)
        self.beliefs = []  # (week, channel, believed_return, share_before, share_after)

    def adjusts_at(self, week: int) -> bool:
        """Whether the plan of `week` is an adjustment."""
        b, k = self.loop.baseline_weeks, self.loop.cadence_weeks
        return week >= b and (week - b) % k == 0

    def update(self, model: Any, vendor: int) -> None:
        """At an adjustment week, measure and move shares (before the week's plan)."""
        week = int(model.week)
        tracking = getattr(model, "tracking", None)
        if not self.adjusts_at(week) or tracking is None or tracking.slot[vendor] < 0:
            return
        slot = int(tracking.slot[vendor])
        lo = max(0, week - self.loop.window_weeks)
        c = self.shares.size
        got = sum((a[slot] for a in tracking.attributed[lo:week]), np.zeros(c))
        spent = sum((s[slot] for s in tracking.spend[lo:week]), np.zeros(c))
        with np.errstate(divide="ignore", invalid="ignore"):
            believed = np.where(spent > 0, got / spent, np.nan)
        before = self.shares.copy()
        self.shares = adjusted_shares(
            self.shares, believed, got, self.mix, self.loop.max_shift, self.loop.exploration
        )
        for ch in self.mix:
            self.beliefs.append(
                (week, int(ch), float(believed[ch]), float(before[ch]), float(self.shares[ch]))
            )

    def plan(self, week: int) -> Plan:
        return Plan(tuple(float(x) for x in self.budget * self.shares), self.social)


def adjusted_shares(
    shares: np.ndarray,
    believed: np.ndarray,
    attributed: np.ndarray,
    mix: np.ndarray,
    max_shift: float,
    exploration: float,
) -> np.ndarray:
    """The Adjust step: at most `max_shift` of the budget moves from the mix channels
    with the lowest believed return (lowest first, each down to `exploration`) to the
    one with the highest. A channel with no spend ranks by what was attributed to it
    (any credit: above all others; none: lowest). No move when all returns tie."""
    rank = np.where(np.isnan(believed), np.where(attributed > 0, np.inf, -np.inf), believed)
    r = rank[mix]
    top = int(mix[int(np.argmax(r))])  # ties: the first in the channel table
    out = shares.copy()
    left = max_shift
    for ch in mix[np.argsort(r, kind="stable")]:
        if left <= 0 or rank[ch] >= rank[top]:
            break
        take = min(max(out[ch] - exploration, 0.0), left)
        out[ch] -= take
        out[top] += take
        left -= take
    return out


def policy_for(spec: Any) -> Policy:
    """The policy a scenario gives a vendor: the DATA loop for `policy = "data_loop"`,
    else scheduled if it has a schedule (oracle vendors too), else static."""
    if getattr(spec, "policy", "static") == "data_loop":
        return DataLoopPolicy(spec)
    if getattr(spec, "schedule", ()):
        return ScheduledPolicy(spec)
    return StaticPolicy(Plan(tuple(spec.spend_by_channel()), float(spec.social_selling)))
