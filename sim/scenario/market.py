"""The market around the vendors: memory, the choice at the end of a journey, the
referral graph, per-channel overrides, the market's size, the sales pipeline, organic
discovery and the free parameters a calibration may fit."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, field_validator

from sim.channels import CHANNEL_NAMES, CHANNELS
from sim.scenario.fields import (
    MAX_NUMBER,
    ExpWeight,
    Frozen,
    NonNeg,
    Pos,
    Prob,
    Real,
    Whole,
    check_channel_names,
)
from sim.scenario.messages import problem
from sim.scenario.priors import Prior, distinct_names


class Memory(Frozen):
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
        check_channel_names(v)
        return v

    @property
    def on(self) -> bool:
        """Whether memory changes anything."""
        return (
            self.half_life_weeks is not None or self.idle_reach > 0 or bool(self.channel_half_lives)
        )


class Calibration(Frozen):
    """The scenario's free parameters for `run.py calibrate`: dotted field paths (as in
    sweeps, e.g. "choice.status_quo") with the [low, high] range the fit may search; and
    the priors of the Bayesian calibration (`--method abc`, sim/scenario/priors.py)."""

    free: dict[str, tuple[float, float]] = Field(default_factory=dict)
    priors: tuple[Prior, ...] = ()

    @field_validator("priors")
    @classmethod
    def _distinct(cls, priors: tuple[Prior, ...]) -> tuple[Prior, ...]:
        return distinct_names(priors)

    @field_validator("free")
    @classmethod
    def _ranges(cls, free: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for path, (low, high) in free.items():
            if max(abs(low), abs(high)) > MAX_NUMBER:
                raise problem(f"low and high must be within +-{MAX_NUMBER:g}", path)
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise problem(f"needs [low, high] with low < high, found [{low:g}, {high:g}]", path)
        return free


class Choice(Frozen):
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


class Network(Frozen):
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


class ChannelOverride(Frozen):
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


class Market(Frozen):
    """The market a scenario represents (docs/model.md §9).

    buyers: how many real buyers the market has; the simulated buyers (buyers.count) are a
    sample of them. Spend buys presence for the whole market, and counts and money are
    scaled from the sample to the market, so cost per acquisition and ROI do not move when
    only the sample size changes. Default: the sample is the whole market.

    spin_up_weeks: the market runs this many weeks before week 0, each vendor following
    its plan's first weeks without measuring or adjusting, and everything they produce is
    discarded: week 0 is a market already running (journeys under way, groups resting,
    brand memories and installed bases in their running mix). A year (52) is longer than
    the longest journey plus the rest after it; 0 starts cold, as v2 did.
    """

    buyers: Annotated[Whole, Field(ge=1, le=1_000_000_000)] | None = None
    #: weeks run before week 0 and discarded from every table, score and spend, so that
    #: week 0 is a market already running (docs/model.md §1a); 0 starts cold (v2)
    spin_up_weeks: Annotated[Whole, Field(ge=0, le=520)] = 0


class Sales(Frozen):
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


class Organic(Frozen):
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
        check_channel_names(reach)
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
