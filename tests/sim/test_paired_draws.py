"""The paired-draw rule (sim/processes/base.py): the shape of every random draw depends
on the journey timeline only, never on a vendor's strategy. Checked by logging every draw
(stream, method, shape) of two runs with the same seed and very different strategies."""

from __future__ import annotations

import numpy as np

from sim.model import BuyerJourneyModel
from sim.processes import Process, default_processes


class LoggedStream:
    """A Generator that notes the shape of every draw it makes."""

    def __init__(self, name: str, rng: np.random.Generator, log: list) -> None:
        self.name, self.rng, self.log = name, rng, log

    def __getattr__(self, method: str):
        fn = getattr(self.rng, method)

        def draw(*args, **kwargs):
            out = fn(*args, **kwargs)
            self.log.append((self.name, method, np.shape(out)))
            return out

        return draw


def draw_log(scenario, seed: int, processes=None) -> list:
    """Every draw of a run after set-up, as (week, stream, method, shape)."""
    model = BuyerJourneyModel(scenario, seed=seed, record_touches=False, processes=processes)
    log: list = []
    model.streams = {k: LoggedStream(k, g, log) for k, g in model.streams.items()}
    weeks = []
    while model.running:
        start = len(log)
        model.step()
        weeks += [(model.week, *entry) for entry in log[start:]]
    return weeks


def other_strategies(small):
    """Every strategy lever moved: budgets, mixes, social selling, rewards, price, quality."""
    return small.with_changes(
        {
            "vendors.AnalystLed.weekly_budget": 0.0,
            "vendors.AnalystLed.channel_mix": {},
            "vendors.SearchHeavy.weekly_budget": 90_000.0,
            "vendors.SearchHeavy.social_selling": 20_000.0,
            "vendors.SearchHeavy.price": 0.6,
            "vendors.SocialSelling.quality": 0.1,
            "vendors.SocialSelling.referral_reward": 50_000.0,
            "vendors.CommunityFirst.channel_mix": {"sales_reps": 1.0},
        }
    )


def test_no_process_of_the_default_week_draws_by_strategy(small) -> None:
    for seed in (1, 2):
        a, b = draw_log(small, seed), draw_log(other_strategies(small), seed)
        assert len(a) > 100
        assert a == b


def test_nor_with_organic_discovery_an_installed_base_and_slow_quotes(small) -> None:
    market = small.with_changes(
        {
            "organic.reach": {"search": 0.3, "topic_communities": 0.2},
            "vendors.SocialSelling.installed_base": 0.2,
            "sales.quote_response": 0.7,
        }
    )
    a, b = draw_log(market, 3), draw_log(other_strategies(market), 3)
    assert {"organic", "sales"} <= {stream for _, stream, _, _ in a}
    assert a == b


def test_nor_with_memory_on(small) -> None:
    """Decay (one half-life and per-channel ones) and brand building (docs/model.md §11a)."""
    market = small.with_changes({"memory.half_life_weeks": 6.0, "memory.idle_reach": 0.2})
    procs = lambda: default_processes({"search": 2.0, "third_party_experts": 20.0})  # noqa: E731
    a = draw_log(market, 4, procs())
    b = draw_log(other_strategies(market), 4, procs())
    assert "memory" in {stream for _, stream, _, _ in a}
    assert a == b


def test_the_check_catches_a_process_that_draws_by_spend(small) -> None:
    class DrawsPerPayingVendor(Process):
        """Breaks the rule: one draw per vendor that spends on search."""

        name = "bad"
        streams = ("decision",)

        def run(self, model, week):
            paying = int(np.count_nonzero(model.market.spend[:, 1] > 0))
            self.stream(model, "decision").random(paying)

    procs = lambda: [*default_processes(), DrawsPerPayingVendor()]  # noqa: E731
    a = draw_log(small, 1, procs())
    b = draw_log(other_strategies(small), 1, procs())
    assert a != b


def test_nor_with_a_data_loop_vendor(small) -> None:
    """A vendor measuring and adjusting (docs/model.md §5a): its "tracking" stream draws
    fixed shapes, so strategies and tracking methods compare paired; and the other streams
    draw exactly what they draw when the vendor is static."""
    loop = small.with_changes(
        {
            "memory.idle_reach": 0.2,  # "memory" is spawned before "tracking"
            "vendors.SearchHeavy.policy": "data_loop",
            "vendors.SearchHeavy.data_loop": {"baseline_weeks": 4, "cadence_weeks": 4},
        }
    )
    a = draw_log(loop, 5)
    assert "tracking" in {stream for _, stream, _, _ in a}
    assert a == draw_log(other_strategies(loop), 5)
    reverse = loop.with_changes({"vendors.SearchHeavy.data_loop.tracking.method": "reverse"})
    assert a == draw_log(reverse, 5)
    static = draw_log(small.with_changes({"memory.idle_reach": 0.2}), 5)
    assert [x for x in a if x[1] != "tracking"] == static
