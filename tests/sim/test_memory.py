"""Memory (docs/model.md §11a): preference fades between weeks with a half-life (per
channel if asked), and buyers out of market take in paid presence that carries into
their next journey (brand building). Off by default: then nothing changes at all."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.channels import CHANNEL_INDEX, Stage
from sim.model import BuyerJourneyModel
from sim.processes import Process, Week, default_processes
from sim.processes.memory import (
    BRAND_RECALL,
    IDLE_SAMPLE_CAP,
    BrandBuilding,
    MemoryChannels,
    MemoryDecay,
    MemoryRecall,
)
from sim.processes.research import exposure_cdf
from sim.scenario import load_scenario

from ..conftest import SCENARIOS

SEEDS = (1, 2, 3)


@pytest.fixture(scope="module")
def tiny():
    """1,000 buyers over 30 weeks, memory off (each test turns on what it checks), from
    an idle market (no spin-up)."""
    return load_scenario(SCENARIOS / "baseline.toml").with_changes(
        {
            "buyers.count": 1000,
            "weeks": 30,
            "market.spin_up_weeks": 0,
            "memory.half_life_weeks": None,
            "memory.idle_reach": 0.0,
        }
    )


def process(model: BuyerJourneyModel, kind: type) -> Process:
    return next(p for p in model.processes if isinstance(p, kind))


class StartProbe(Process):
    """Notes each new journey's preference and consideration of every vendor right after
    the memory recall (its week, then per started buyer)."""

    name = "probe"

    def __init__(self) -> None:
        self.weeks, self.pref, self.considered = [], [], []

    def run(self, model, week):
        new = week.started
        self.weeks.append(np.full(new.size, week.number))
        self.pref.append(model.buyers.preference[new].copy())
        self.considered.append(model.buyers.considered[new].copy())

    def frame(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return np.concatenate(self.weeks), np.vstack(self.pref), np.vstack(self.considered)


def probed_run(scenario, seed, half_lives=None) -> tuple[BuyerJourneyModel, StartProbe]:
    model = BuyerJourneyModel(
        scenario, seed=seed, record_touches=False, processes=default_processes(half_lives)
    )
    probe = StartProbe()
    model.add_process(probe, after="memory_recall")
    return model.run(), probe


# ---------------------------------------------------------------- off: nothing changes
def test_off_by_default_the_tables_are_those_of_a_week_without_memory(tiny) -> None:
    plain = [p for p in default_processes() if not p.name.startswith("memory")]
    for seed in (1, 2):
        a = BuyerJourneyModel(tiny, seed=seed).run()
        b = BuyerJourneyModel(tiny, seed=seed, processes=plain).run()
        assert "memory" not in a.streams  # no stream spawned, none drawn from
        assert a.memory_state.brand.size == 0 and a.memory_state.pools.size == 0
        ta, tb = a.tables(), b.tables()
        for name in ("buyers", "journeys", "touches", "vendors", "weekly"):
            pd.testing.assert_frame_equal(ta[name], tb[name])


def test_the_memory_processes_sit_where_the_week_needs_them(tiny) -> None:
    names = [p.name for p in BuyerJourneyModel(tiny).processes]
    assert names.index("memory_decay") == names.index("needs") - 1
    assert names.index("memory_recall") == names.index("needs") + 1
    assert names.index("memory_channels") == names.index("organic") + 1
    # last but tracking (issue 11): "memory" is spawned after every core stream
    assert names[-2:] == ["memory_brand", "tracking"]


def test_half_lives_must_name_channels_and_be_positive(tiny) -> None:
    with pytest.raises(ValueError, match="unknown channel"):
        BuyerJourneyModel(tiny, processes=default_processes({"tv": 4.0}))
    with pytest.raises(ValueError, match="must be > 0"):
        BuyerJourneyModel(tiny, processes=default_processes({"search": 0.0}))


# ------------------------------------------------------------------------------ decay
def in_market_buyer(model: BuyerJourneyModel, row: int = 0, journey: int = 7) -> None:
    state = model.buyers
    state.stage[row] = Stage.EARLY
    state.journey[row] = journey
    state.preference[row] = 0.0


def test_a_preference_halves_after_one_half_life_without_exposure(tiny) -> None:
    model = BuyerJourneyModel(tiny.with_changes({"memory.half_life_weeks": 4.0}))
    in_market_buyer(model)
    model.buyers.preference[0] = [1.0, 0.5, 0.0, -0.2]
    decay = process(model, MemoryDecay)
    for week in range(1, 5):
        decay.run(model, Week(week, model.market.n))
    np.testing.assert_allclose(model.buyers.preference[0], [0.5, 0.25, 0.0, -0.1], rtol=1e-12)
    for week in range(5, 9):
        decay.run(model, Week(week, model.market.n))
    np.testing.assert_allclose(model.buyers.preference[0, 0], 0.25, rtol=1e-12)


def test_a_channel_with_its_own_half_life_fades_at_its_own_pace(tiny) -> None:
    """Preference 2 for vendor 1: 1 from search (half-life 2), 1 from the rest (4)."""
    model = BuyerJourneyModel(
        tiny.with_changes({"memory.half_life_weeks": 4.0}),
        processes=default_processes({"search": 2.0}),
    )
    in_market_buyer(model)
    mem = model.memory_state
    assert mem.classes == 1 and mem.channel_class[CHANNEL_INDEX["search"]] == 1
    # this week's search exposure of vendor 1 (gain 1) goes into the search pool
    week = Week(0, model.market.n)
    week.consultations = type("C", (), {})()
    c = week.consultations
    c.buyer, c.vendor, c.gain = np.array([0, 0]), np.array([1, 2]), np.array([1.0, 0.4])
    c.channel = np.array([CHANNEL_INDEX["search"], CHANNEL_INDEX["industry_media"]])
    process(model, MemoryChannels).run(model, week)
    np.testing.assert_allclose(mem.pools[0, 0], [0.0, 1.0, 0.0, 0.0])  # media: default class
    model.buyers.preference[0, 1] = 2.0
    decay = process(model, MemoryDecay)
    for w in range(1, 5):
        decay.run(model, Week(w, model.market.n))
    np.testing.assert_allclose(model.buyers.preference[0, 1], 1.0 * 0.5 + 1.0 * 0.25)
    np.testing.assert_allclose(mem.pools[0, 0, 1], 0.25)


def test_a_new_journey_starts_with_empty_channel_pools(tiny) -> None:
    model = BuyerJourneyModel(
        tiny.with_changes({"memory.half_life_weeks": 4.0}),
        processes=default_processes({"search": 2.0}),
    )
    in_market_buyer(model, journey=8)
    mem = model.memory_state
    mem.pools[0, 0, 1], mem.pool_journey[0] = 5.0, 3  # left over from journey 3
    process(model, MemoryDecay).run(model, Week(1, model.market.n))
    assert mem.pools[0].sum() == 0 and mem.pool_journey[0] == 8
    assert model.buyers.preference[0].sum() == 0  # not corrected by the old journey's pool


def share_after_stop(scenario, seed: int, stop: int, vendor: int) -> float:
    """The vendor's share of in-market preference 6 weeks after it stops spending, over
    its share the week before it stops."""
    shares = {}

    class Share(Process):
        name = "share"

        def run(self, model, week):
            if week.number in (stop - 1, stop + 6):
                pref = np.clip(model.buyers.preference[week.active], 0, None).sum(0)
                shares[week.number] = pref[vendor] / pref.sum()

    model = BuyerJourneyModel(scenario, seed=seed, record_touches=False)
    model.add_process(Share(), after="research")
    model.run()
    return shares[stop + 6] / shares[stop - 1]


def test_with_decay_buyers_forget_a_vendor_that_stops_spending_faster(tiny) -> None:
    stop = 20
    stopped = tiny.with_changes(
        {"vendors.AnalystLed.schedule": [{"week": stop, "weekly_budget": 0.0}]}
    )
    for seed in SEEDS:
        keep = share_after_stop(stopped, seed, stop, vendor=0)
        fade = share_after_stop(
            stopped.with_changes({"memory.half_life_weeks": 3.0}), seed, stop, vendor=0
        )
        assert fade < keep - 0.1, (seed, keep, fade)  # both fall; decay falls further


# --------------------------------------------------------------------- brand building
def test_brand_memory_fades_lazily_and_is_recalled_once(tiny) -> None:
    model = BuyerJourneyModel(
        tiny.with_changes({"memory.half_life_weeks": 4.0, "memory.idle_reach": 0.1})
    )
    mem, state = model.memory_state, model.buyers
    mem.brand[0, 0] = [0.4, 0.2, 0.0, 0.0]
    mem.brand_week[0] = 2
    state.start_journey(np.array([0]), 10, np.array([0.5]), 0.0)
    week = Week(10, model.market.n, started=np.array([0]))
    process(model, MemoryRecall).run(model, week)
    # eight weeks since the memory was brought up to date: two half-lives
    np.testing.assert_allclose(state.preference[0], [0.1, 0.05, 0.0, 0.0])
    assert state.considered[0].tolist() == [True, False, False, False]  # 0.05 < recall
    assert BRAND_RECALL > 0.05
    assert not mem.brand[0].any() and mem.brand_week[0] == 10  # used up


@pytest.mark.parametrize("reach", [0.01, 0.3])  # r x k below and above the sample cap
def test_idle_exposures_average_idle_reach_times_the_in_market_rate(tiny, reach) -> None:
    """Expected brand gain per idle buyer-week: r x k x an early-stage consultation's."""
    sc = tiny.with_changes({"buyers.count": 20_000, "memory.idle_reach": reach})
    k = sc.buyers.consultations_per_week
    assert (reach * k <= IDLE_SAMPLE_CAP) == (reach == 0.01)
    weeks, got = 40, []
    for seed in SEEDS:
        model = BuyerJourneyModel(sc, seed=seed, record_touches=False)
        brand = process(model, BrandBuilding)
        assert not model.buyers.in_market().size  # at set-up everyone is idle
        for w in range(weeks):
            brand.run(model, Week(w, model.market.n))
        got.append(model.memory_state.brand.sum((0, 1)) / (model.buyers.n * weeks))
    ch = model.channels
    cdf = exposure_cdf(model.market.spend, ch.reach, ch.half_saturation * model.audience)
    p = np.diff(np.c_[np.zeros(len(cdf)), cdf], axis=1)  # (C, V) chance per consultation
    social = model.buyers.uses_social.mean()
    src = brand.sources.cdfs
    w = (1 - social) * np.diff(src[0], prepend=0) + social * np.diff(src[2], prepend=0)
    expected = reach * k * (w * ch.credibility[0]) @ p
    np.testing.assert_allclose(np.mean(got, 0), expected, rtol=0.08)


def test_spend_while_buyers_are_idle_raises_consideration_at_their_next_journey(tiny) -> None:
    """Every vendor advertises: at journey start (week 10 on, after some idle weeks) each
    is preferred more and considered more often with idle reach 0.2 than with none."""
    sc = tiny.with_changes({"buyers.count": 2000, "weeks": 40, "memory.half_life_weeks": 8.0})
    for seed in SEEDS:
        _, off = probed_run(sc, seed)
        _, on = probed_run(sc.with_changes({"memory.idle_reach": 0.2}), seed)
        (w0, p0, c0), (w1, p1, c1) = off.frame(), on.frame()
        late0, late1 = w0 >= 10, w1 >= 10  # buyers idle long enough to have seen ads
        assert (p1[late1].mean(0) > p0[late0].mean(0) + 0.02).all(), seed
        considered_off, considered_on = c0[late0].mean(0), c1[late1].mean(0)
        assert (considered_on > considered_off).all(), seed
        assert considered_on.sum() > considered_off.sum() + 0.2, seed


def test_a_vendor_that_spends_nothing_builds_no_brand(tiny) -> None:
    sc = tiny.with_changes(
        {"memory.idle_reach": 0.2, "vendors.AnalystLed.weekly_budget": 0.0, "weeks": 20}
    )
    model = BuyerJourneyModel(sc, seed=1, record_touches=False).run()
    brand = model.memory_state.brand.sum((0, 1))
    assert brand[0] == 0 and (brand[1:] > 0).all()


def test_brand_built_by_an_early_flight_fades_with_time_since_it_stopped(tiny) -> None:
    """AnalystLed advertises in weeks 0-5 only: the brand memory idle buyers hold of it
    (brought up to date) falls by about a half per half-life after that, a little more
    as journeys that start use theirs up."""
    sc = tiny.with_changes(
        {
            "buyers.count": 4000,
            "weeks": 16,
            "memory.half_life_weeks": 4.0,
            "memory.idle_reach": 0.3,
            "vendors.AnalystLed.schedule": [{"week": 6, "weekly_budget": 0.0}],
        }
    )
    for seed in SEEDS:
        model = BuyerJourneyModel(sc, seed=seed, record_touches=False)
        mem, held = model.memory_state, {}
        while model.running:
            model.step()
            now = model.week - 1
            held[now] = (mem.brand[:, 0, 0] * np.exp2(-(now - mem.brand_week) / 4.0)).sum()
        assert held[5] > 0
        ratio = held[15] / held[7]  # two half-lives: a quarter, less what was recalled
        assert 0.14 < ratio < 0.3, (seed, ratio)


def test_a_scenario_gives_channels_their_own_half_lives(small) -> None:
    """`[memory] channel_half_lives` reaches the memory processes; unknown channels are
    refused with the field named."""
    from sim.scenario import ScenarioError

    sc = small.with_changes(
        {"memory.half_life_weeks": 10.0, "memory.channel_half_lives": {"search": 3.0}}
    )
    model = BuyerJourneyModel(sc, seed=1)
    mem = model.memory_state
    assert mem.half_life[mem.channel_class[CHANNEL_INDEX["search"]]] == 3.0
    assert mem.half_life[mem.channel_class[CHANNEL_INDEX["industry_media"]]] == 10.0
    with pytest.raises(ScenarioError, match="memory.channel_half_lives"):
        small.with_changes({"memory.channel_half_lives": {"radio": 3.0}})
