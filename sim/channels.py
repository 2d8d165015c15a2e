"""The Channel table: the nine information sources B2B buyers consult.

Each source has a preference weight per decision stage (how likely a buyer in that stage
is to consult it), a credibility per stage (how much a vendor exposure there moves the
buyer's preference), a social flag (only buyers who use social media consult it), and how
vendor spend buys presence there (reach and saturation).

The preference weights reproduce the top-three ranking of the IDC Social Buying Study
(Feb 2014, with LinkedIn), docs/sources.md §1:

    early:  industry media > internet search > microblogs
    middle: third-party experts > industry media > internet search
    final:  professional networks > peer recommendations > topic communities

They are the weights of a buyer who uses social media; a buyer who does not skips the
social sources and spreads the same research over the rest (renormalised). The weights are
chosen so that the ranking holds for the whole population (75% social, IDC) as well:
`expected_touch_shares` computes it and a test checks it.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class Stage(IntEnum):
    """Where a buyer is in the buying cycle; the three research stages are 1..3."""

    IDLE = 0
    EARLY = 1
    MIDDLE = 2
    FINAL = 3
    BOUGHT = 4  # post-purchase "engage" phase: rates, reviews, recommends (Forrester §7)
    NO_DECISION = 5  # the journey ended with the status quo; cooling off before the next need

    @property
    def label(self) -> str:
        """Lower-case name used in tables and figures."""
        return self.name.lower()


RESEARCH_STAGES: tuple[Stage, ...] = (Stage.EARLY, Stage.MIDDLE, Stage.FINAL)


@dataclass(frozen=True)
class Channel:
    """One information source a buyer may consult.

    Attributes:
        name: identifier used in scenario files and tables.
        label: human-readable name.
        preference: weight of this source in the early, middle and final stage.
        credibility: preference gain per vendor exposure in each stage (0..1).
        social: True for sources on social media (only social buyers consult them).
        paid: True if vendors can buy presence here with their channel mix.
        referral: True if consulting it asks the buyer's graph neighbours.
        reach: the most a consultation can expose (probability, at saturating spend).
        half_saturation: weekly spend (all vendors together) at which presence is
            1 - 1/e of `reach`: diminishing returns to spend.
    """

    name: str
    label: str
    preference: tuple[float, float, float]
    credibility: tuple[float, float, float]
    social: bool
    paid: bool
    referral: bool
    reach: float
    half_saturation: float


# fmt: off
CHANNELS: tuple[Channel, ...] = (
    #        name                    label                      preference (e, m, f)   credibility (e, m, f) social paid  referral reach half_sat
    Channel("industry_media",       "Industry media",          (0.26, 0.20, 0.03), (0.50, 0.50, 0.30), False, True,  False, 0.60, 20_000),
    Channel("search",               "Internet search",         (0.22, 0.16, 0.03), (0.40, 0.40, 0.25), False, True,  False, 0.70, 15_000),
    Channel("microblogs",           "Microblogs (Twitter)",    (0.18, 0.05, 0.02), (0.30, 0.20, 0.10), True,  True,  False, 0.40, 10_000),
    Channel("third_party_experts",  "Third-party experts",     (0.06, 0.26, 0.07), (0.60, 0.90, 0.60), False, True,  False, 0.60, 30_000),
    Channel("professional_networks", "Professional networks",  (0.06, 0.07, 0.40), (0.40, 0.50, 0.90), True,  True,  True,  0.40, 15_000),
    Channel("peer_recommendations", "Peer recommendations",    (0.05, 0.06, 0.15), (0.60, 0.70, 1.00), False, False, True,  0.00, 1.0),
    Channel("topic_communities",    "Topic communities",       (0.05, 0.06, 0.20), (0.50, 0.60, 0.80), True,  True,  False, 0.50, 10_000),
    Channel("vendor_content",       "Vendor content",          (0.08, 0.10, 0.07), (0.30, 0.30, 0.20), False, True,  False, 0.80, 10_000),
    Channel("sales_reps",           "Sales representatives",   (0.04, 0.04, 0.08), (0.30, 0.40, 0.50), False, True,  False, 0.90, 20_000),
)
# fmt: on

#: The market (real buyers) the table's half-saturation spends are stated for: a market
#: twice as large needs twice the spend for the same presence (docs/model.md §9).
#: Illustrative, like the half-saturation values themselves.
REFERENCE_AUDIENCE = 5_000

CHANNEL_NAMES: tuple[str, ...] = tuple(c.name for c in CHANNELS)
CHANNEL_INDEX: dict[str, int] = {name: i for i, name in enumerate(CHANNEL_NAMES)}
SALES_REPS: int = CHANNEL_INDEX["sales_reps"]
TOPIC_COMMUNITIES: int = CHANNEL_INDEX["topic_communities"]

#: The IDC top three per research stage, best first (docs/sources.md §1).
IDC_TOP_THREE: dict[Stage, tuple[str, str, str]] = {
    Stage.EARLY: ("industry_media", "search", "microblogs"),
    Stage.MIDDLE: ("third_party_experts", "industry_media", "search"),
    Stage.FINAL: ("professional_networks", "peer_recommendations", "topic_communities"),
}


@dataclass(frozen=True)
class ChannelArrays:
    """The channel table as arrays the weekly step indexes (stage rows are 0..2)."""

    preference: np.ndarray  # (3, C) weights per research stage
    credibility: np.ndarray  # (3, C)
    social: np.ndarray  # (C,) bool
    paid: np.ndarray  # (C,) bool
    referral: np.ndarray  # (C,) bool
    reach: np.ndarray  # (C,)
    half_saturation: np.ndarray  # (C,)


def channel_arrays(channels: tuple[Channel, ...] = CHANNELS) -> ChannelArrays:
    """Stack the channel table into per-stage arrays for vectorised lookups."""
    return ChannelArrays(
        preference=np.array([c.preference for c in channels], dtype=float).T.copy(),
        credibility=np.array([c.credibility for c in channels], dtype=float).T.copy(),
        social=np.array([c.social for c in channels], dtype=bool),
        paid=np.array([c.paid for c in channels], dtype=bool),
        referral=np.array([c.referral for c in channels], dtype=bool),
        reach=np.array([c.reach for c in channels], dtype=float),
        half_saturation=np.array([c.half_saturation for c in channels], dtype=float),
    )


def source_weights(
    preference: np.ndarray,
    uses_social: bool,
    sales_ready: bool,
    arrays: ChannelArrays | None = None,
) -> np.ndarray:
    """Normalised source-choice weights for one kind of buyer in one stage.

    A buyer who does not use social media skips the social sources; a buyer who has not
    yet done enough research to talk to sales skips sales reps (docs/sources.md §4). The
    rest of the weight is renormalised so every consultation lands somewhere. `arrays`
    is the scenario's channel table (default: the built-in one).
    """
    arrays = channel_arrays() if arrays is None else arrays
    w = preference.astype(float).copy()
    if not uses_social:
        w[arrays.social] = 0.0
    if not sales_ready:
        w[SALES_REPS] = 0.0
    return w / w.sum()


def expected_touch_shares(social_share: float, sales_ready_share: np.ndarray) -> np.ndarray:
    """Expected share of consultations per channel in each stage for a population.

    Args:
        social_share: fraction of buyers who use social media.
        sales_ready_share: per research stage, the fraction of consultations made by
            buyers who have already done enough research to talk to sales.

    Returns:
        (3, C) array; each row sums to 1.
    """
    pref = channel_arrays().preference
    out = np.zeros_like(pref)
    for s in range(3):
        for social, p_social in ((True, social_share), (False, 1.0 - social_share)):
            for ready, p_ready in ((True, sales_ready_share[s]), (False, 1 - sales_ready_share[s])):
                out[s] += p_social * p_ready * source_weights(pref[s], social, ready)
    return out
