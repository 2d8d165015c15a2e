"""Candidates: the mixes (channel -> share) at a weekly budget that the optimiser weighs,
and the parametrisation the search moves in.

**Parametrisation.** One free logit per channel in [-LOGIT_BOUND, LOGIT_BOUND]; the mix is
their softmax, shares below `min_share` are set to 0 and the rest rounded to 0.1% (the
evaluated mix is the rounded one, so two trials that round alike share their runs). The
softmax treats every channel alike (stick-breaking orders them: the last channel's share
is a product of the others' remainders, a lopsided prior), reaches every corner of the
simplex, and a candidate is a point of a box, which is what the sampler searches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from optuna.distributions import FloatDistribution

from analysis.studies.optimize.spec import Spec

LOGIT_BOUND = 5.0


@dataclass(frozen=True)
class Candidate:
    """A mix (channel -> share, summing to 1) at a weekly budget."""

    mix: tuple[tuple[str, float], ...]
    budget: float

    @property
    def key(self) -> str:
        """The candidate's name in the runs and the logs: its shares and its budget."""
        shares = ",".join(f"{c}={s:.3f}" for c, s in self.mix if s > 0)
        return f"{shares}@{self.budget:.6g}"

    def shares(self) -> dict[str, float]:
        """The channels it spends on and their shares."""
        return {c: s for c, s in self.mix if s > 0}

    def changes(self, vendor: str) -> dict[str, Any]:
        """The scenario changes that give `vendor` this mix and budget."""
        return {
            f"vendors.{vendor}.channel_mix": self.shares(),
            f"vendors.{vendor}.weekly_budget": self.budget,
        }


def make_candidate(
    shares: dict[str, float], budget: float, channels: tuple[str, ...], min_share: float = 0.0
) -> Candidate:
    """Normalise shares (drop those below min_share, round to 0.1%, exact sum 1)."""
    total = sum(max(0.0, shares.get(c, 0.0)) for c in channels)
    raw = {c: max(0.0, shares.get(c, 0.0)) / total for c in channels}
    raw = {c: (s if s >= min_share else 0.0) for c, s in raw.items()}
    total = sum(raw.values())
    rounded = {c: round(s / total, 3) for c, s in raw.items()}
    top = max(rounded, key=lambda c: rounded[c])
    rounded[top] = round(1.0 - sum(s for c, s in rounded.items() if c != top), 3)
    return Candidate(tuple((c, rounded[c]) for c in channels), float(f"{budget:.6g}"))


def candidate_from_params(params: dict[str, float], spec: Spec) -> Candidate:
    """The candidate of a trial: softmax of its logits, its budget (or the fixed one)."""
    logits = [params[f"logit:{c}"] for c in spec.channels]
    m = max(logits)
    w = [math.exp(x - m) for x in logits]
    shares = dict(zip(spec.channels, w, strict=True))
    budget = params.get("budget", spec.budget) if spec.budget_range else spec.budget
    return make_candidate(shares, budget, spec.channels, spec.min_share)


def params_of(
    shares: dict[str, float], spec: Spec, budget: float | None = None
) -> dict[str, float]:
    """Logits whose softmax is (about) these shares: a trial to enqueue."""
    top = max(shares.values())
    out = {}
    for c in spec.channels:
        s = shares.get(c, 0.0)
        out[f"logit:{c}"] = (
            LOGIT_BOUND
            if s >= top
            else max(-LOGIT_BOUND, LOGIT_BOUND + math.log(s / top))
            if s > 0
            else -LOGIT_BOUND
        )
    if spec.budget_range:
        lo, hi = spec.budget_range
        out["budget"] = min(hi, max(lo, budget if budget is not None else spec.budget))
    return out


def distributions(spec: Spec) -> dict[str, FloatDistribution]:
    """The search's box: a logit per channel (and the budget when it is searched too)."""
    d = {f"logit:{c}": FloatDistribution(-LOGIT_BOUND, LOGIT_BOUND) for c in spec.channels}
    if spec.budget_range:
        d["budget"] = FloatDistribution(*spec.budget_range)
    return d


def equal_split(spec: Spec, budget: float | None = None) -> Candidate:
    """Every searched channel alike, at `budget` (default: the optimisation's)."""
    return make_candidate(dict.fromkeys(spec.channels, 1.0), budget or spec.budget, spec.channels)


def current(spec: Spec) -> Candidate:
    """The vendor's own mix (channels outside the search set kept as they are) at the
    optimisation's budget, or at its own budget when the budget is searched too."""
    mix = spec.current_mix()
    chans = tuple(dict.fromkeys([*spec.channels, *mix]))
    budget = spec.current_budget() if spec.budget_range else spec.budget
    return make_candidate(mix, budget, chans)
