"""The small validated types and checks every scenario table is built from: whole
numbers, bounded numbers and shares, channel names and channel mixes, printable names.

The bounds keep every quantity the model computes finite (money, utilities, waits), so
the model never re-checks its input.
"""

from __future__ import annotations

import math
import numbers
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from sim.channels import CHANNEL_NAMES
from sim.errors import shown
from sim.scenario.messages import problem


def no_control_characters(text: str, what: str, allow: str = "") -> None:
    """Names are printed to terminals and written into tables: an ANSI escape or a
    newline in one would reach the user raw."""
    bad = [ch for ch in text if not ch.isprintable() and ch not in allow]
    if bad:
        raise problem(
            f"{what} may not contain control characters (found {shown(bad[0])} in "
            f"{shown(text)}); remove them"
        )


class Frozen(BaseModel):
    """The base of every scenario table: unknown keys refused, frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)


def whole_number(value: Any) -> Any:
    """Take 78.0 as 78 for an integer field (a TOML writer or a sweep may produce floats)
    but refuse 78.5, and refuse booleans, which Python would count as 0 and 1."""
    if isinstance(value, bool):
        raise problem(f"must be a whole number, found {value!r}")
    if isinstance(value, float):
        if not value.is_integer():
            raise problem(f"must be a whole number, found {value!r}")
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
Whole = Annotated[int, BeforeValidator(whole_number), Field(strict=True)]
NonNeg = Annotated[float, Field(ge=0, le=MAX_NUMBER, allow_inf_nan=False, strict=True)]
Prob = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False, strict=True)]
Pos = Annotated[float, Field(ge=MIN_POSITIVE, le=MAX_NUMBER, allow_inf_nan=False, strict=True)]
#: A number that may be negative (a utility), bounded like the others.
Real = Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER, allow_inf_nan=False, strict=True)]
#: A weight inside an exponential (organic visibility): exp(100) is still finite.
ExpWeight = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False, strict=True)]


def rates_not_tiny(rates: tuple[float, ...], labels: tuple[str, ...]) -> None:
    """A weekly need rate is 0 (never) or at least MIN_RATE."""
    for label, x in zip(labels, rates, strict=True):
        if 0 < x < MIN_RATE:
            raise problem(
                f"must be 0 or at least {MIN_RATE:g} (a weekly chance), found {x:g}", label
            )


def probabilities(values: tuple[float, ...], labels: tuple[str, ...]) -> None:
    """Shares of buyers or weekly chances: at most 1 each (above, they mean nothing: a
    need rate above 1 would make the geometric wait NaN), and 0 or at least MIN_RATE."""
    for label, x in zip(labels, values, strict=True):
        if x > 1:
            raise problem(f"must be a probability between 0 and 1, found {x:g}", label)
    rates_not_tiny(values, labels)


def shares_sum_to_one(shares: tuple[float, ...]) -> None:
    """Shares of a whole (of buyers, of accounts) sum to 1, within 1e-6."""
    total = sum(shares)
    if not math.isclose(total, 1.0, abs_tol=1e-6):
        raise ValueError(f"shares must sum to 1 (they sum to {total:g})")


def check_channel_names(names: Any) -> None:
    """Every name must be a channel of the Channel table."""
    for name in names:
        if name not in CHANNEL_NAMES:
            raise ValueError(f"unknown channel {name!r}; allowed: {', '.join(CHANNEL_NAMES)}")


MIX_TOLERANCE = 1e-6  # how far from 1 the shares of a channel mix may sum


def check_mix(mix: dict[str, float]) -> dict[str, float]:
    """Known channels only, none unbuyable, and at least one positive share if any."""
    check_channel_names(mix)
    for name, share in mix.items():
        if name == "peer_recommendations" and share > 0:
            raise ValueError(
                "peer_recommendations cannot be bought; it comes from satisfied customers "
                "(use referral_reward instead)"
            )
    if mix and sum(mix.values()) <= 0:
        raise ValueError("shares sum to 0; give at least one channel a positive share")
    return mix


def check_mix_sum(mix: dict[str, float], normalize: bool) -> None:
    """Shares are fractions of the budget: they must sum to 1 unless normalize = true.

    Rescaling silently would turn a share the user wrote as 0.65 into something else.
    """
    total = sum(mix.values())
    if mix and not normalize and abs(total - 1.0) > MIX_TOLERANCE:
        raise problem(
            f"shares sum to {total:.10g}, not 1; fix them or set normalize = true to rescale",
            "channel_mix",
        )


def mix_shares(mix: dict[str, float], normalize: bool) -> tuple[float, ...]:
    """A channel mix as shares in CHANNEL_NAMES order: as written, or rescaled to sum to
    1 when `normalize` (validation guarantees a positive sum then)."""
    total = sum(mix.values()) if normalize else 1.0
    if total <= 0:
        return tuple(0.0 for _ in CHANNEL_NAMES)
    return tuple(mix.get(c, 0.0) / total for c in CHANNEL_NAMES)


def budget_and_mix(spend: tuple[float, ...]) -> tuple[float, dict[str, float]]:
    """The weekly budget and an exact channel mix (shares summing to 1) that spend
    exactly `spend` per channel; no budget and an empty mix if nothing is spent."""
    budget = sum(spend)
    if budget <= 0:
        return 0.0, {}
    return budget, {c: x / budget for c, x in zip(CHANNEL_NAMES, spend, strict=True) if x > 0}
