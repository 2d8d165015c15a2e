"""Tracking: what a data-loop vendor can observe of its buyers' journeys (docs/model.md
§5a; docs/sources.md §8 names the methods). The truth stays in the touch log; each
method turns the vendor's true touches into the vendor's own data, the `observed` table.

A vendor's true touches are the ones the touch log names it in: consultations that
showed it (paid or organic exposure), referral consultations where a contact recommended
it (the vendor the touch log names), its referred salespeople's social-selling contacts
and its sales team's quotes (channel sales_reps).

    forward        codes and registrations built into an activity: a touch of the
                   vendor's own activity (an exposure, a contact, a quote; never a
                   recommendation, which carries no code) in a channel it can tag
                   (`taggable`) is captured with chance `capture`. On a conversion the
                   credit goes over the journey's captured touches by the attribution
                   rule (last_touch, first_touch, linear).
    point_of_sale  new customers are asked how they heard of the vendor; with chance
                   `response_rate` a customer answers ONE channel, drawn with recall
                   bias: each remembered touch weighs its preference gain x
                   0.5 ** (weeks since / RECALL_HALF_LIFE), and word of mouth
                   (peer_recommendations, professional_networks recommendations) weighs
                   WORD_OF_MOUTH_RECALL times more: buyers credit the colleague who
                   recommended the vendor over the ads that made them aware of it, so word
                   of mouth is OVER-reported. A quote adds no preference and is not
                   remembered as how one heard of the vendor. A customer who remembers
                   no touch answers "dont_know" (no credit; not peer_recommendations: the
                   method then loses that conversion rather than inventing a source).
    reverse        the vendor goes through its customer list and documents what its own
                   records show: sales contacts (its sales_reps exposures, social-selling
                   contacts, quotes: channel sales_reps) and registrations (vendor_content
                   touches); nothing it did not record (no media, search, community or
                   word-of-mouth touch). Credit by the attribution rule over the records.
    perfect        the true touch log of the vendor's touches (a reference and for tests);
                   credit by the attribution rule.

Every data-loop vendor also has web analytics: each week, one anonymous row (kind
"count", journey_id -1, method "web_analytics") per touch of its vendor_content or search
presence: counts without identity.

The methods work from per-(buyer, tracking vendor) summaries, not the touch log, so they
work with record_touches=False: first and last observed channel and week, observed
touches per channel, and (point of sale) the recall salience per channel. A group
journey's observations pool its members' summaries when it closes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.channels import CHANNEL_NAMES
from sim.scenario import ATTRIBUTIONS, OBJECTIVES, TRACKING_METHODS

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel

#: Weeks after which a touch weighs half as much in a customer's recall (point of sale).
#: Illustrative (docs/model.md §5a).
RECALL_HALF_LIFE = 8.0
#: How much more a recommendation weighs in recall than its preference gain alone
#: (point of sale over-reports word of mouth). Illustrative (docs/model.md §5a).
WORD_OF_MOUTH_RECALL = 3.0
#: The channels of a reverse-tracking vendor's own records.
RECORDED_CHANNELS = ("sales_reps", "vendor_content")
#: The channels web analytics counts (site visits from content and search).
COUNTED_CHANNELS = ("vendor_content", "search")
#: Word of mouth, as a point-of-sale answer.
WORD_OF_MOUTH = ("peer_recommendations", "professional_networks")

#: Labels of the observed table's codes.
METHOD_LABELS = (*TRACKING_METHODS, "web_analytics")
WEB_ANALYTICS = len(TRACKING_METHODS)
KINDS = ("touch", "answer", "record", "count")
TOUCH, ANSWER, RECORD, COUNT = range(4)
OBSERVED_CHANNELS = (*CHANNEL_NAMES, "dont_know")
DONT_KNOW = len(CHANNEL_NAMES)

FORWARD, POINT_OF_SALE, REVERSE, PERFECT = (TRACKING_METHODS.index(m) for m in TRACKING_METHODS)
LAST, FIRST, LINEAR = (ATTRIBUTIONS.index(a) for a in ATTRIBUTIONS)

_C = len(CHANNEL_NAMES)
_NEVER = np.iinfo(np.int64).max
WOM_MASK = np.array([c in WORD_OF_MOUTH for c in CHANNEL_NAMES])
RECORDED_MASK = np.array([c in RECORDED_CHANNELS for c in CHANNEL_NAMES])
COUNTED_MASK = np.array([c in COUNTED_CHANNELS for c in CHANNEL_NAMES])


@dataclass
class Touches:
    """True touches of tracking vendors in one week, in the order they happened (the
    consultations by buyer and slot, then social-selling contacts, then quotes).

    `slot` is the tracking vendor's slot (0..L-1); `named` marks a recommendation (a
    referral consultation naming the vendor: not the vendor's own activity); `u` the
    touch's "tracking" uniform (forward capture); `journey` its journey id."""

    buyer: np.ndarray
    slot: np.ndarray
    channel: np.ndarray
    gain: np.ndarray
    named: np.ndarray
    u: np.ndarray
    journey: np.ndarray

    def take(self, keep: np.ndarray) -> Touches:
        return Touches(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))


def observed_mask(
    method: int, touches: Touches, taggable: np.ndarray, capture: float
) -> np.ndarray:
    """Which of `touches` (all of one vendor) the method observes during the journey."""
    if method == FORWARD:
        return ~touches.named & taggable[touches.channel] & (touches.u < capture)
    if method == REVERSE:
        return ~touches.named & RECORDED_MASK[touches.channel]
    return np.ones(touches.buyer.size, dtype=bool)  # perfect, point of sale (the buyer)


def credit(
    attribution: np.ndarray, first: np.ndarray, last: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Each conversion's credit per channel (G, C) from its observed touches (a row sums
    to 1, or 0 with none): the last, the first, or each touch alike (linear)."""
    total = counts.sum(1)
    seen = total > 0
    out = np.zeros(counts.shape)
    linear = seen & (attribution == LINEAR)
    out[linear] = counts[linear] / total[linear, None]
    for rule, ch in ((LAST, last), (FIRST, first)):
        rows = np.flatnonzero(seen & (attribution == rule))
        out[rows, ch[rows]] = 1.0
    return out


def recall_pick(weights: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The one channel each customer answers (G,), drawn in proportion to its recall
    weights (G, C) with its uniform u (DONT_KNOW if nothing is remembered)."""
    total = weights.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cdf = np.cumsum(weights, 1) / total[:, None]
    pick = np.minimum((u[:, None] >= cdf).sum(1), _C - 1)
    return np.where(total > 0, pick, DONT_KNOW)


@dataclass
class TrackingState:
    """Observations of the tracking (data-loop) vendors, attached to the model as
    `model.tracking` by the tracking process (L tracking vendors, n buyers, C channels).

    | field | shape | meaning |
    |---|---|---|
    | vendors | int (L,) | vendor index of each slot |
    | slot | int (V,) | slot of each vendor (-1: it does not track) |
    | method, attribution, objective | int (L,) | codes (TRACKING_METHODS, ...) |
    | taggable | bool (L, C) | forward: channels the vendor can tag |
    | capture, response_rate | float (L,) | forward capture chance, point-of-sale answers |
    | first_ch, last_ch | int8 (n, L) | first / last observed channel of the open journey |
    | first_wk, last_wk | int32 (n, L) | and their weeks |
    | counts | int16 (n, L, C) | observed touches per channel of the open journey |
    | salience | float (n, L, C) | recall weight x 2 ** (weeks since journey start / h) |
    | attributed | list of (L, C) | each week's attributed objective per channel |
    | spend | list of (L, C) | each week's channel spend of each tracking vendor |
    """

    vendors: np.ndarray
    slot: np.ndarray
    method: np.ndarray
    attribution: np.ndarray
    objective: np.ndarray
    taggable: np.ndarray
    capture: np.ndarray
    response_rate: np.ndarray
    first_ch: np.ndarray
    first_wk: np.ndarray
    last_ch: np.ndarray
    last_wk: np.ndarray
    counts: np.ndarray
    salience: np.ndarray
    scratch: np.ndarray  # int64 (n x L,) _NEVER: first and last touches of a week
    attributed: list[np.ndarray] = field(default_factory=list)
    spend: list[np.ndarray] = field(default_factory=list)

    @property
    def slot_or_none(self) -> np.ndarray:
        """`slot` with one more entry, -1, so that vendor -1 (none) indexes it."""
        if not hasattr(self, "_slot_or_none"):
            self._slot_or_none = np.r_[self.slot, -1]
        return self._slot_or_none

    @property
    def n_slots(self) -> int:
        return int(self.vendors.size)

    @classmethod
    def build(cls, model: BuyerJourneyModel) -> TrackingState | None:
        """The tracking of `model`'s data-loop vendors (None if no vendor tracks)."""
        specs = model.spec.vendors
        vendors = np.array([i for i, v in enumerate(specs) if v.policy == "data_loop"], int)
        if not vendors.size:
            return None
        loops = [specs[i].loop for i in vendors]
        slot = np.full(len(specs), -1, dtype=np.int64)
        slot[vendors] = np.arange(vendors.size)
        n, L = model.buyers.n, vendors.size
        pos = any(lp.tracking.method == "point_of_sale" for lp in loops)
        return cls(
            vendors=vendors,
            slot=slot,
            method=np.array([TRACKING_METHODS.index(lp.tracking.method) for lp in loops]),
            attribution=np.array([ATTRIBUTIONS.index(lp.tracking.attribution) for lp in loops]),
            objective=np.array([OBJECTIVES.index(lp.objective) for lp in loops]),
            taggable=np.array(
                [[c in lp.tracking.taggable for c in CHANNEL_NAMES] for lp in loops], dtype=bool
            ),
            capture=np.array([lp.tracking.capture for lp in loops]),
            response_rate=np.array([lp.tracking.response_rate for lp in loops]),
            first_ch=np.full((n, L), -1, dtype=np.int8),
            first_wk=np.zeros((n, L), dtype=np.int32),
            last_ch=np.full((n, L), -1, dtype=np.int8),
            last_wk=np.zeros((n, L), dtype=np.int32),
            counts=np.zeros((n, L, _C), dtype=np.int16),
            salience=np.zeros((n, L, _C) if pos else (0, L, _C)),
            scratch=np.full(n * L, _NEVER),
        )

    # ------------------------------------------------------------ during a journey
    def observe(self, touches: Touches, week: int, start: np.ndarray) -> None:
        """Add the touches each vendor observes to the open journeys' summaries.

        `touches` are in the order they happened; `start` is each touch's buyer's journey
        start week (for the point-of-sale salience)."""
        if not touches.buyer.size:
            return
        L = self.n_slots
        key = touches.buyer * L + touches.slot
        ch = touches.channel.astype(np.int8)
        order = np.arange(key.size)
        # each journey's first and last touch this week (ufunc.at: no sort needed)
        scratch = self.scratch
        np.minimum.at(scratch, key, order)
        head = scratch[key] == order
        scratch[key] = -1
        np.maximum.at(scratch, key, order)
        tail = scratch[key] == order
        scratch[key] = _NEVER
        flat_first, flat_last = self.first_ch.reshape(-1), self.last_ch.reshape(-1)
        new = np.flatnonzero(head & (flat_first[key] < 0))
        flat_first[key[new]] = ch[new]
        self.first_wk.reshape(-1)[key[new]] = week
        flat_last[key[tail]] = ch[tail]
        self.last_wk.reshape(-1)[key[tail]] = week
        np.add.at(self.counts.reshape(-1), key * _C + touches.channel, np.ones(key.size, np.int16))
        if self.salience.shape[0]:
            pos = self.method[touches.slot] == POINT_OF_SALE
            w = touches.gain * np.where(
                WOM_MASK[touches.channel] & touches.named, WORD_OF_MOUTH_RECALL, 1
            )
            w = w * np.exp2(np.minimum(week - start, 1000) / RECALL_HALF_LIFE)
            np.add.at(self.salience.reshape(-1), (key * _C + touches.channel)[pos], w[pos])

    def forget(self, buyers: np.ndarray) -> None:
        """The buyers' journeys closed: their summaries start afresh."""
        self.first_ch[buyers] = -1
        self.last_ch[buyers] = -1
        self.counts[buyers] = 0
        if self.salience.shape[0]:
            self.salience[buyers] = 0.0

    # ------------------------------------------------------------ at a conversion
    def pooled(
        self,
        members: np.ndarray,
        slots: np.ndarray,
        group: np.ndarray,
        week: int,
        start: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The closing group journeys' observations, each for the vendor it bought from,
        pooled over its members (`members` listed group by group; `slots` the bought
        vendor's slot, `group` the group and `start` the journey start of each member):
        per group the first and the
        last observed channel (-1: none; ties: the earlier member first, the later last),
        the observed touches per channel and the recall weights per channel now."""
        fc, fw = self.first_ch[members, slots], self.first_wk[members, slots]
        lc, lw = self.last_ch[members, slots], self.last_wk[members, slots]
        head = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        n = head.size
        idx = np.arange(members.size)
        first, last = np.full(n, -1), np.full(n, -1)
        gid = np.cumsum(np.r_[False, group[1:] != group[:-1]])  # 0..n-1
        seen = fc >= 0
        big = np.iinfo(np.int64).max
        o = np.lexsort((idx, np.where(seen, fw.astype(np.int64), big), gid))
        at = np.r_[True, gid[o][1:] != gid[o][:-1]]
        ok = seen[o[at]]
        first[gid[o[at]][ok]] = fc[o[at]][ok]
        o = np.lexsort((idx, np.where(seen, lw.astype(np.int64), -1), gid))
        at = np.r_[gid[o][1:] != gid[o][:-1], True]
        ok = seen[o[at]]
        last[gid[o[at]][ok]] = lc[o[at]][ok]
        counts = np.add.reduceat(self.counts[members, slots].astype(float), head, axis=0)
        weights = np.zeros(counts.shape)
        if self.salience.shape[0]:
            fade = np.exp2(-np.minimum(week - start, 1000) / RECALL_HALF_LIFE)
            weights = self.salience[members, slots] * fade[:, None]
            weights = np.add.reduceat(weights, head, axis=0)
        return first, last, counts, weights


@dataclass
class Observations:
    """One week's rows of the observed table (codes; sim/tables.py labels them)."""

    parts: list[dict[str, Any]] = field(default_factory=list)

    def add(self, slot, week, journey, method, channel, kind, credit) -> None:
        n = np.size(journey)
        if not n:
            return
        self.parts.append(
            {
                "slot": np.broadcast_to(np.asarray(slot, dtype=np.int64), (n,)),
                "week": np.broadcast_to(np.asarray(week, dtype=np.int64), (n,)),
                "journey": np.broadcast_to(np.asarray(journey, dtype=np.int64), (n,)),
                "method": np.broadcast_to(np.asarray(method, dtype=np.int8), (n,)),
                "channel": np.broadcast_to(np.asarray(channel, dtype=np.int8), (n,)),
                "kind": np.broadcast_to(np.asarray(kind, dtype=np.int8), (n,)),
                "credit": np.broadcast_to(np.asarray(credit, dtype=float), (n,)),
            }
        )

    def block(self) -> dict[str, np.ndarray] | None:
        if not self.parts:
            return None
        return {k: np.concatenate([p[k] for p in self.parts]) for k in self.parts[0]}
