"""Vendor strategies: what a vendor spends, channel by channel, each week.

A policy answers one question for its Vendor agent each week (`Vendor.step()`): which
Plan is in force now. The core books whatever is in force week by week and channel by
channel (sim/state.py `VendorState.pay_week`), so every change of strategy, from a
schedule, the live view or an adaptive policy, is costed right.

    StaticPolicy     the same plan every week (the scenario's vendor fields)
    ScheduledPolicy  plans by week from the scenario (`[[vendors.schedule]]`): flighted
                     budgets, a mid-year reallocation
"""

from __future__ import annotations

from dataclasses import dataclass
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


def policy_for(spec: Any) -> Policy:
    """The policy a scenario gives a vendor: scheduled if it has a schedule, else static."""
    if getattr(spec, "schedule", ()):
        return ScheduledPolicy(spec)
    return StaticPolicy(Plan(tuple(spec.spend_by_channel()), float(spec.social_selling)))
