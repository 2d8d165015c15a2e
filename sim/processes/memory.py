"""Memory: preference built from exposures fades between weeks (adstock), and buyers who
are not in market still take in vendors' paid presence, which carries into their next
journey (brand building). docs/model.md §11a; switched by the scenario's `[memory]`.

Decay. With half-life h (weeks) a buyer's preference falls by 0.5 ** (1 / h) each week
before the week's research adds to it (right before the needs: a journey's start fades
from the next week), so an exposure made w weeks ago counts 0.5 ** (w / h). Channels may have their own half-lives (`half_lives={"search": 4}`; the
rest use the scenario's `memory.half_life_weeks`, as does every preference that is not
an exposure: incumbent bonus, referrals, reviews, social selling). Per-channel decay
needs to know how much of a buyer's preference came from which channel; instead of a
(n, V, C) store, channels are grouped by half-life into K classes and each class other
than the scenario's own keeps one (n, V) pool (stored as one (n, K, V) array), the part
of the preference its paid and organic exposures built in this journey. Then, on the
buyers in market,

    preference <- f0 x preference + sum_k (f_k - f0) x pool_k,    pool_k <- f_k x pool_k

is exact for any number of channels, at the cost of one (n, V) array per distinct
half-life that differs from the scenario's (none when there is just one half-life).

Brand building. With `memory.idle_reach` r > 0 buyers not in market (idle or resting)
are exposed to paid presence at r times the rate of a buyer in market (early-stage
source choice and credibility, as a buyer who is not researching notices the channels a
journey starts in). Touching every idle buyer every week would cost as much as research
itself, so the idle exposures are a thinned Poisson process: each week a fixed number
m of buyer slots is drawn uniformly with replacement (a fixed share of N, from the
"memory" stream), slots that fall on a buyer in market are dropped, and each remaining
slot is one consultation. A buyer then gets on average m / N slots a week, and the
chance and gain of a slot's exposure are scaled so that the expected brand gain per idle
buyer-week is exactly r x k x the in-market gain of one early-stage consultation
(scale the chance first, as far as the channels' reach allows, then the gain; with r x k
<= IDLE_SAMPLE_CAP nothing is scaled: each slot is a full consultation; above it the
exposures are right on average but fewer and larger than real ones). What a buyer
takes in goes into a brand memory (n, V) per half-life class, decayed lazily: the week it
was last brought up to date is kept, and 0.5 ** (elapsed / h) applied when it is next
touched. When the buyer's next journey starts (the needs process lists it in
`week.started`) the decayed brand memory is added to its preference, a vendor
remembered at BRAND_RECALL or more enters the consideration set as marketing's
(origin: marketing), and the memory is used up.

Off (no half-life, no idle reach: the default) the processes do nothing, draw nothing
and spawn no stream, so a run is exactly as before (tests/sim/test_memory.py). The
"memory" stream exists only with idle reach; brand building runs last in the default
week, so it is spawned after every other stream of the default week.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim.arrays import rows_of
from sim.channels import CHANNEL_NAMES, Stage
from sim.processes.base import Process, Week
from sim.processes.research import exposure_cdf, pick_exposed_vendor, source_sampler
from sim.sampling import DiscreteSampler
from sim.state import ORIGIN_MARKETING

if TYPE_CHECKING:
    from sim.model import BuyerJourneyModel

#: Brand memory of a vendor, at the start of a journey, that puts it in the
#: consideration set (a fifth of an exposure of the least credible paid early-stage
#: channel, 0.3). Illustrative (docs/model.md §11a).
BRAND_RECALL = 0.06
#: Most idle-buyer slots drawn a week, as a share of all buyers: the cost of brand
#: building (docs/model.md §11a). Below it (idle_reach x k <= cap) each slot is a full
#: consultation; above it exposures are made likelier, then larger, to keep the mean.
IDLE_SAMPLE_CAP = 0.03

#: Stage code -> the buyer is not in market (idle, bought, no decision: resting).
NOT_IN_MARKET = np.array([s not in (Stage.EARLY, Stage.MIDDLE, Stage.FINAL) for s in Stage])


@dataclass
class MemoryState:
    """What memory keeps (n buyers, V vendors, C channels, K half-life classes besides
    the scenario's own class 0), attached to the model as `model.memory_state` by the
    first memory process to bind.

    | field | dtype, shape | meaning |
    |---|---|---|
    | half_lives | dict | per-channel half-lives the processes were given (weeks) |
    | half_life | float (K+1,) | weeks per class (inf: never fades); class 0 the scenario's |
    | carry | float (K+1,) | weekly carry-over 0.5 ** (1 / half_life) per class |
    | channel_class | int64 (C,) | half-life class of each channel's exposures |
    | decay | bool | some preference fades (a finite half-life) |
    | pools | float (n, K, V) | preference from class 1..K exposures in the open journey |
    | pool_journey | int64 (n,) | journey the pools' row belongs to (-1: none) |
    | idle_reach | float | the scenario's memory.idle_reach (0: no brand building) |
    | brand | float (n, K+1, V) | brand memory per class, as of brand_week (or (0, K+1, V)) |
    | brand_week | int64 (n,) | week each buyer's brand memory was last brought up to date |
    """

    half_lives: dict[str, float | None]
    half_life: np.ndarray
    carry: np.ndarray
    channel_class: np.ndarray
    decay: bool
    pools: np.ndarray
    pool_journey: np.ndarray
    idle_reach: float
    brand: np.ndarray
    brand_week: np.ndarray

    @property
    def on(self) -> bool:
        """Whether memory changes anything."""
        return self.decay or self.idle_reach > 0

    @property
    def classes(self) -> int:
        """K: the half-life classes with a pool of their own."""
        return int(self.pools.shape[1])

    def fade(self, elapsed: np.ndarray) -> np.ndarray:
        """(len(elapsed), K+1, 1) factors 0.5 ** (elapsed / half_life) per class."""
        return np.exp2(-elapsed[:, None, None] / self.half_life[None, :, None])

    @classmethod
    def build(
        cls, model: BuyerJourneyModel, half_lives: Mapping[str, float | None] | None
    ) -> MemoryState:
        """The memory of `model`, from its scenario and the per-channel `half_lives`
        (channel name -> weeks, None: never fades; unnamed channels: the scenario's)."""
        spec = model.spec.memory
        default = np.inf if spec.half_life_weeks is None else float(spec.half_life_weeks)
        # the scenario's per-channel half-lives, then the processes' own on top
        half_lives = {**spec.channel_half_lives, **dict(half_lives or {})}
        unknown = sorted(set(half_lives) - set(CHANNEL_NAMES))
        if unknown:
            raise ValueError(
                f"memory half-lives for unknown channel(s) {', '.join(unknown)}; "
                f"channels: {', '.join(CHANNEL_NAMES)}"
            )
        per_channel = []
        for name in CHANNEL_NAMES:
            h = half_lives.get(name, default)
            h = np.inf if h is None else float(h)
            if not h > 0:
                raise ValueError(f"memory half-life of {name!r} must be > 0 weeks, got {h}")
            per_channel.append(h)
        others = sorted({h for h in per_channel if h != default})
        half_life = np.array([default, *others])
        channel_class = np.array(
            [0 if h == default else 1 + others.index(h) for h in per_channel], dtype=np.int64
        )
        n, v = model.buyers.n, model.market.n
        decay = bool(np.isfinite(half_life).any())
        k = len(others) if decay else 0
        idle_reach = float(spec.idle_reach)
        b = n if idle_reach > 0 else 0
        return cls(
            half_lives=half_lives,
            half_life=half_life,
            carry=np.exp2(-1.0 / half_life),
            channel_class=channel_class,
            decay=decay,
            pools=np.zeros((n if k else 0, k, v)),
            pool_journey=np.full(n if k else 0, -1, dtype=np.int64),
            idle_reach=idle_reach,
            brand=np.zeros((b, half_life.size, v)),
            brand_week=np.zeros(b, dtype=np.int64),
        )


class _MemoryProcess(Process):
    """Shared set-up: every memory process of a model uses one MemoryState."""

    def __init__(self, half_lives: Mapping[str, float | None] | None = None) -> None:
        self.half_lives = dict(half_lives or {})

    def bind(self, model: BuyerJourneyModel) -> None:
        mem = getattr(model, "memory_state", None)
        wanted = {**model.spec.memory.channel_half_lives, **self.half_lives}
        if mem is None:
            mem = MemoryState.build(model, self.half_lives)
            model.memory_state = mem
        elif mem.half_lives != wanted:
            raise ValueError(
                f"memory process {self.name!r} asks for half-lives {self.half_lives}, but "
                f"the model's memory already uses {mem.half_lives}"
            )
        self.mem = mem


class MemoryRecall(_MemoryProcess):
    """Journeys that start this week begin with the buyer's brand memory, decayed to
    now: added to preference, vendors remembered at BRAND_RECALL or more considered
    (origin marketing); the memory is used up. No draws."""

    name = "memory_recall"

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        mem, new = self.mem, week.started
        if mem.idle_reach <= 0 or not new.size:
            return
        state = model.buyers
        recalled = rows_of(mem.brand, new)  # (s, K+1, V)
        recalled *= mem.fade((week.number - mem.brand_week[new]).astype(float))
        total = recalled.sum(1) if mem.classes else recalled[:, 0]
        state.preference[new] += total
        if mem.classes:
            mem.pools[new] = recalled[:, 1:]
            mem.pool_journey[new] = state.journey[new]
        rows, vendors = np.nonzero(total >= BRAND_RECALL)
        state.enter(new[rows], vendors, ORIGIN_MARKETING)
        mem.brand[new] = 0.0
        mem.brand_week[new] = week.number


class MemoryDecay(_MemoryProcess):
    """Preference fades by the weekly carry-over before the week's research: runs before
    the needs process, so journeys that start this week keep their start (incumbent
    bonus, brand memory) until next week. No draws.

    The scenario's class fades on the whole (n, V) array at once, one multiply at memory
    bandwidth, cheaper than gathering the rows in market; buyers not in market hold a
    preference no rule reads, and a new journey resets it. Classes with a pool of their
    own are corrected on the rows in market only."""

    name = "memory_decay"

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        mem = self.mem
        if not mem.decay:
            return
        state = model.buyers
        carry = mem.carry
        np.multiply(state.preference, carry[0], out=state.preference)
        if not mem.classes:
            return
        rows = state.in_market()
        live = mem.pool_journey[rows] == state.journey[rows]
        stale = rows[~live]  # a journey the pools do not know: empty pools
        mem.pools[stale] = 0.0
        mem.pool_journey[stale] = state.journey[stale]
        rows = rows[live]
        n, k, v = mem.pools.shape
        flat = mem.pools.reshape(n, k * v)  # 2-D rows: the fast gather and scatter
        pools = rows_of(flat, rows).reshape(rows.size, k, v)
        pref = rows_of(state.preference, rows)
        pref += np.matmul((carry[1:] - carry[0])[None, None, :], pools)[:, 0]
        state.preference[rows] = pref
        pools *= carry[1:, None]
        flat[rows] = pools.reshape(rows.size, k * v)


class MemoryChannels(_MemoryProcess):
    """The week's paid and organic exposures through channels with a half-life of their
    own go into their class's pool (runs after organic discovery, before referrals name
    vendors in the touch log). No draws."""

    name = "memory_channels"

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        mem, c = self.mem, week.consultations
        if not mem.classes or c is None:
            return
        cls = mem.channel_class[c.channel]
        hit = np.flatnonzero((c.vendor >= 0) & (cls > 0) & (c.gain != 0))
        buyers = c.buyer[hit]
        # journeys started this week by a rule other than needs: empty pools first
        journey = model.buyers.journey[buyers]
        stale = buyers[mem.pool_journey[buyers] != journey]
        mem.pools[stale] = 0.0
        mem.pool_journey[stale] = model.buyers.journey[stale]
        cell = (buyers * mem.classes + cls[hit] - 1) * mem.pools.shape[2] + c.vendor[hit]
        np.add.at(mem.pools.reshape(-1), cell, c.gain[hit])


class BrandBuilding(_MemoryProcess):
    """Buyers not in market take in paid presence (brand memory), a thinned Poisson
    process of idle consultations. Draws, every week the scenario has idle reach, m
    buyer slots (integers) and an (m, 2) block of uniforms (source, exposure) from the
    "memory" stream: m is a fixed share of N, whatever the vendors do."""

    name = "memory_brand"
    streams: tuple[str, ...] = ()  # ("memory",) once bound to a model with idle reach

    def bind(self, model: BuyerJourneyModel) -> None:
        super().bind(model)
        mem = self.mem
        if mem.idle_reach <= 0:
            return
        # The stream is declared only when brand building is on, so a run with memory off
        # has exactly the streams it had before memory existed. Spawned here as
        # `add_process` would have (it calls bind right after spawning declared streams).
        self.streams = ("memory",)
        if "memory" not in model.streams:
            model.streams["memory"] = model.rng.spawn(1)[0]
        n, k = model.buyers.n, model.spec.buyers.consultations_per_week
        rate = mem.idle_reach * k  # idle consultations per buyer-week
        self.slots = max(1, round(min(rate, IDLE_SAMPLE_CAP) * n))
        scale = rate * n / self.slots  # >= 1 (up to rounding): what each slot stands for
        ch = model.channels
        # exposure chance scaled up as far as the channels' reach allows, then the gain
        self.chance_scale = min(scale, 1.0 / max(float(ch.reach.max()), 1e-12))
        self.gain = ch.credibility[0] * (scale / self.chance_scale)  # early stage, (C,)
        self.sources = source_sampler(ch)
        self._exposure: DiscreteSampler | None = None
        self._version = -1

    def exposure_sampler(self, model: BuyerJourneyModel) -> DiscreteSampler:
        """Scaled exposure chances for the vendors' current spend (rebuilt on change)."""
        market = model.market
        if self._exposure is None or self._version != market.plan_version:
            ch = model.channels
            cdf = exposure_cdf(market.spend, ch.reach, ch.half_saturation * model.audience)
            self._exposure = DiscreteSampler(np.minimum(cdf * self.chance_scale, 1.0))
            self._version = market.plan_version
        return self._exposure

    def run(self, model: BuyerJourneyModel, week: Week) -> None:
        mem = self.mem
        if mem.idle_reach <= 0:
            return
        state = model.buyers
        rng = self.stream(model, "memory")
        slot = rng.integers(0, state.n, size=self.slots)
        u = rng.random((self.slots, 2))
        # not in market: idle or resting (a buyer who decided this week is resting now)
        out = NOT_IN_MARKET.take(state.stage[slot])
        idx = np.flatnonzero(out)
        b = slot[idx]
        channel = self.sources.draw(u[idx, 0], state.uses_social[b].astype(np.int64) * 2)
        channel = np.minimum(channel, self.sources.k - 1)
        vendor = pick_exposed_vendor(u[idx, 1], channel, self.exposure_sampler(model))
        hit = np.flatnonzero(vendor >= 0)
        b, vendor, channel = b[hit], vendor[hit], channel[hit]
        g = self.gain[channel]
        if not b.size:
            return
        # bring the rows up to date (a buyer drawn twice gets the same values twice)
        if mem.decay:
            brand = rows_of(mem.brand, b)
            brand *= mem.fade((week.number - mem.brand_week[b]).astype(float))
            mem.brand[b] = brand
            mem.brand_week[b] = week.number
        classes, v = mem.brand.shape[1:]
        cell = (b * classes + mem.channel_class[channel]) * v + vendor
        np.add.at(mem.brand.reshape(-1), cell, g)


def memory_processes(
    half_lives: Mapping[str, float | None] | None = None,
) -> tuple[MemoryRecall, MemoryDecay, MemoryChannels, BrandBuilding]:
    """The four memory processes sharing `half_lives` (channel name -> weeks; None:
    never fades; channels not named use the scenario's memory.half_life_weeks). In the
    default week: decay right before needs, recall right after needs, channels right
    after organic, brand building last."""
    return (
        MemoryRecall(half_lives),
        MemoryDecay(half_lives),
        MemoryChannels(half_lives),
        BrandBuilding(half_lives),
    )
