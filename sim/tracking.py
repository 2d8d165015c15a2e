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
from functools import cached_property
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
_NEVER_WEEK = np.iinfo(np.int32).max  # later than any week (first_wk is int32)
#: 2 ** (weeks since the journey started / RECALL_HALF_LIFE), weeks 0..1000 (capped)
_GROWTH = np.exp2(np.arange(1001) / RECALL_HALF_LIFE)
WOM_MASK = np.array([c in WORD_OF_MOUTH for c in CHANNEL_NAMES])
RECORDED_MASK = np.array([c in RECORDED_CHANNELS for c in CHANNEL_NAMES])
COUNTED_MASK = np.array([c in COUNTED_CHANNELS for c in CHANNEL_NAMES])


@dataclass
class Touches:
    """True touches of tracking vendors in one week, in the order they happened (the
    consultations by buyer and slot, then social-selling contacts, then quotes).

    `slot` is the tracking vendor's slot (0..L-1); `named` marks a recommendation (a
    referral consultation naming the vendor: not the vendor's own activity); `u` the
    touch's "tracking" uniform (forward capture; None when no vendor tracks forward)."""

    buyer: np.ndarray
    slot: np.ndarray
    channel: np.ndarray
    gain: np.ndarray
    named: np.ndarray
    u: np.ndarray | None

    def take(self, keep: np.ndarray) -> Touches:
        keep = keep.nonzero()[0] if keep.dtype == bool else keep
        u = None if self.u is None else self.u[keep]
        return Touches(
            self.buyer[keep],
            self.slot[keep],
            self.channel[keep],
            self.gain[keep],
            self.named[keep],
            u,
        )


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
    rules = (LINEAR, LAST, FIRST)
    if attribution.size and (attribution == attribution[0]).all():  # one rule for all
        rules = (int(attribution[0]),)
    for rule in rules:
        rows = seen if len(rules) == 1 else seen & (attribution == rule)
        rows = rows.nonzero()[0]
        if rule == LINEAR:
            out[rows] = counts[rows] / total[rows, None]
        else:
            out[rows, (last if rule == LAST else first)[rows]] = 1.0
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

    @cached_property
    def slot_or_none(self) -> np.ndarray:
        """`slot` with one more entry, -1, so that vendor -1 (none) indexes it."""
        return np.r_[self.slot, -1]

    @cached_property
    def n_slots(self) -> int:
        return int(self.vendors.size)

    @cached_property
    def captures(self) -> bool:
        """Whether some vendor tracks forward (captures touches by chance)."""
        return bool((self.method == FORWARD).any())

    @cached_property
    def asks(self) -> bool:
        """Whether some vendor asks its new customers (point of sale)."""
        return bool((self.method == POINT_OF_SALE).any())

    @cached_property
    def sees_recommendations(self) -> bool:
        """Whether some vendor's method remembers recommendations (point of sale,
        perfect): forward codes and reverse records never see one."""
        return bool(np.isin(self.method, (POINT_OF_SALE, PERFECT)).any())

    @cached_property
    def relevant_any(self) -> np.ndarray:
        """bool (C,): the channels whose touches some vendor's method or web analytics
        sees (forward: taggable; reverse: its records; others: every channel)."""
        rel = np.tile(COUNTED_MASK, (self.n_slots, 1))
        rel |= (self.method == FORWARD)[:, None] & self.taggable
        rel |= (self.method == REVERSE)[:, None] & RECORDED_MASK[None, :]
        rel |= np.isin(self.method, (POINT_OF_SALE, PERFECT))[:, None]
        return rel.any(0)

    @cached_property
    def sees_every_channel(self) -> bool:
        """Whether `relevant_any` holds every channel (no touch can be left out early)."""
        return bool(self.relevant_any.all())

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
        """Add the touches one vendor observes (all of one slot) to its open journeys'
        summaries: a point-of-sale vendor keeps the recall weights (all it asks about),
        the others the first and last observed channel and the counts per channel.

        `touches` are in the order they happened; `start` is each buyer's journey start
        week (for the point-of-sale salience)."""
        if not touches.buyer.size:
            return
        key = touches.buyer * self.n_slots + touches.slot
        cell = key * _C + touches.channel
        if self.method[touches.slot[0]] == POINT_OF_SALE:
            w = touches.gain * np.where(
                WOM_MASK[touches.channel] & touches.named, WORD_OF_MOUTH_RECALL, 1
            )
            w *= _GROWTH[np.clip(week - start[touches.buyer], 0, _GROWTH.size - 1)]
            np.add.at(self.salience.reshape(-1), cell, w)
            return
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
        new = (head & (flat_first[key] < 0)).nonzero()[0]
        flat_first[key[new]] = ch[new]
        self.first_wk.reshape(-1)[key[new]] = week
        flat_last[key[tail]] = ch[tail]
        self.last_wk.reshape(-1)[key[tail]] = week
        np.add.at(self.counts.reshape(-1), cell, np.ones(key.size, np.int16))

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
        head = (np.concatenate(([True], group[1:] != group[:-1]))).nonzero()[0]
        # one int64 key per member, (week, position): the group's earliest observed touch
        # is its minimum (ties: the earlier member), its latest the maximum (the later)
        m = members.size
        idx = np.arange(m, dtype=np.int64)
        seen = fc >= 0
        at = (
            np.minimum.reduceat(np.where(seen, fw, _NEVER_WEEK).astype(np.int64) * m + idx, head)
            % m
        )
        first = np.where(seen[at], fc[at], -1).astype(np.int64)
        at = np.maximum.reduceat(np.where(seen, lw, -1).astype(np.int64) * m + idx, head) % m
        last = np.where(seen[at], lc[at], -1).astype(np.int64)
        counts = np.add.reduceat(self.counts[members, slots].astype(float), head, axis=0)
        weights = np.zeros(counts.shape)
        if self.salience.shape[0]:
            fade = np.exp2(-np.minimum(week - start, 1000) / RECALL_HALF_LIFE)
            weights = self.salience[members, slots] * fade[:, None]
            weights = np.add.reduceat(weights, head, axis=0)
        return first, last, counts, weights


#: The observed table's columns (codes; sim/tables.py labels them) and their dtypes.
OBSERVED_FIELDS = {
    "slot": np.int64,
    "week": np.int64,
    "journey": np.int64,
    "method": np.int8,
    "channel": np.int8,
    "kind": np.int8,
    "credit": np.float64,
}


@dataclass
class Observations:
    """One week's rows of the observed table, kept as added (scalars or arrays, one
    part per `add`): `columns` builds the table's columns once, from every week's
    parts, so a run pays for no per-week copying."""

    parts: list[tuple[int, tuple[Any, ...]]] = field(default_factory=list)

    def add(self, slot, week, journey, method, channel, kind, credit) -> None:
        n = journey.size if isinstance(journey, np.ndarray) else np.size(journey)
        if n:
            self.parts.append((n, (slot, week, journey, method, channel, kind, credit)))

    @staticmethod
    def columns(parts: list[tuple[int, tuple[Any, ...]]]) -> dict[str, np.ndarray]:
        """The columns (OBSERVED_FIELDS) of `parts` from any number of weeks."""
        sizes = np.array([n for n, _ in parts], dtype=np.int64)
        out = {}
        for i, (name, dtype) in enumerate(OBSERVED_FIELDS.items()):
            values = [p[i] for _, p in parts]
            if all(np.ndim(v) == 0 for v in values):
                out[name] = np.repeat(np.array(values, dtype=dtype), sizes)
            else:
                out[name] = np.concatenate(
                    [
                        np.broadcast_to(np.asarray(v, dtype=dtype), (n,))
                        for (n, _), v in zip(parts, values, strict=True)
                    ]
                )
        return out
