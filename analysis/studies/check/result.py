"""What a check found: one `Row` per target (its simulated mean over the replications,
the 95% t-interval, pass or fail) and the `CheckResult` that holds them.

A target passes by the calibration's own rule (Target.passed: the mean within one
tolerance of the goal's value or band). A target that no replication could measure has
no value, no interval and no verdict (`passed` None) and is never a failure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analysis.studies.calibrate.fit import TargetStats
    from analysis.studies.calibrate.targets import Target, Targets
    from sim.scenario import Scenario


def goal_of(target: Target) -> dict[str, Any]:
    """The target's goal as its file states it ({"value": x}, {"band": [low, high]},
    {"at_least": x} or {"at_most": x}), with the tolerance its verdict uses."""
    if target.is_point:
        goal: dict[str, Any] = {"value": target.low}
    elif math.isinf(target.high):
        goal = {"at_least": target.low}
    elif math.isinf(target.low):
        goal = {"at_most": target.high}
    else:
        goal = {"band": [target.low, target.high]}
    goal["tolerance"] = target.tolerance
    return goal


def _number(x: float) -> float | None:
    """x for JSON: None for NaN (or an infinity)."""
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class Row:
    """One target checked: the mean over the replications that measured it, the 95%
    t-interval's ends (NaN with fewer than two such replications), and the verdict (None
    when no replication measured it; `note` then says why)."""

    target: Target
    simulated: float
    ci_low: float
    ci_high: float
    runs: int
    reps: int
    note: str = ""

    @classmethod
    def of(cls, target: Target, stats: TargetStats, reps: int) -> Row:
        """The row of `target` from its statistics over `reps` replications."""
        note = stats.note
        if stats.measurable and stats.runs < reps:
            note = f"measured in {stats.runs} of {reps} replications"
        half = stats.half_width
        return cls(target, stats.mean, stats.mean - half, stats.mean + half, stats.runs, reps,
                   note)  # fmt: skip

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def measure(self) -> str:
        return self.target.measure

    @property
    def measurable(self) -> bool:
        """Whether at least one replication measured the target."""
        return self.runs > 0

    @property
    def passed(self) -> bool | None:
        """The calibration's verdict on the mean (Target.passed); None if not measurable."""
        return self.target.passed(self.simulated) if self.measurable else None

    def to_json(self) -> dict[str, Any]:
        """The row as plain data: name, measure, simulated, ci_low, ci_high, goal, passed
        (NaN as None) and note (None when there is nothing to say)."""
        return {
            "name": self.name,
            "measure": self.measure,
            "simulated": _number(self.simulated),
            "ci_low": _number(self.ci_low),
            "ci_high": _number(self.ci_high),
            "goal": goal_of(self.target),
            "passed": self.passed,
            "note": self.note or None,
        }


@dataclass
class CheckResult:
    """A finished check: the scenario, the targets, the seeds and one row per target in
    the targets file's order."""

    scenario: Scenario
    targets: Targets
    seeds: list[int]
    rows: list[Row]
    elapsed_s: float = 0.0
    ran: int = 0

    @property
    def reps(self) -> int:
        return len(self.seeds)

    @property
    def failed(self) -> list[Row]:
        """The measurable targets that fail."""
        return [r for r in self.rows if r.passed is False]

    @property
    def passed(self) -> list[Row]:
        """The measurable targets that pass."""
        return [r for r in self.rows if r.passed is True]

    @property
    def unmeasurable(self) -> list[Row]:
        """The targets no replication measured (never counted as failures)."""
        return [r for r in self.rows if not r.measurable]

    @property
    def exit_code(self) -> int:
        """0 when every measurable target passes, 1 when some fail."""
        return 1 if self.failed else 0

    def to_json(self) -> list[dict[str, Any]]:
        """One object per target (Row.to_json), in the targets file's order."""
        return [r.to_json() for r in self.rows]
