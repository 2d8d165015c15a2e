"""Vendors are Mesa agents that own their strategy; the core books what is in force week
by week and channel by channel, whether it comes from a schedule or a change mid-run."""

from __future__ import annotations

import numpy as np
import pytest

from sim.channels import CHANNEL_NAMES
from sim.model import BuyerJourneyModel
from sim.policies import ScheduledPolicy, StaticPolicy
from sim.scenario import load_scenario

from ..conftest import SCENARIOS

SEARCH = CHANNEL_NAMES.index("search")


@pytest.fixture(scope="module")
def flighted():
    sc = load_scenario(SCENARIOS / "flighted_budgets.toml")
    return sc.with_changes({"buyers.count": 1500})


def test_a_vendor_with_a_schedule_gets_a_scheduled_policy(flighted) -> None:
    model = BuyerJourneyModel(flighted, seed=1)
    kinds = {v.name: type(v.policy) for v in model.vendors}
    assert kinds["AlwaysOn"] is StaticPolicy
    assert kinds["Flighted"] is ScheduledPolicy


def test_spend_follows_the_schedule_week_by_week(flighted) -> None:
    model = BuyerJourneyModel(flighted, seed=1, record_touches=False).run()
    spend = model.tables()["spend"]
    for v, spec in enumerate(flighted.vendors):
        weekly = spend[spend["vendor"] == spec.name].pivot(
            index="week", columns="line", values="spend"
        )
        for week in (0, 13, 30, 60, 103):
            channels, social = spec.plan_at(week)
            np.testing.assert_allclose(weekly.loc[week, list(CHANNEL_NAMES)], channels)
            assert weekly.loc[week, "social_selling"] == pytest.approx(social)
        total = sum(sum(spec.plan_at(w)[0]) + spec.plan_at(w)[1] for w in range(flighted.weeks))
        assert model.marketing_spend()[v] - model.market.referral_payouts[v] == pytest.approx(total)


def test_a_dark_vendor_is_not_shown_in_paid_channels(flighted) -> None:
    """In the weeks its schedule spends nothing, a vendor gets no paid exposure."""
    # organic discovery (the baseline market's) shows vendors without paid media, and the
    # touches table does not tell organic exposures from paid ones: it is off here
    model = BuyerJourneyModel(flighted.with_changes({"organic.reach": {}}), seed=2).run()
    t = model.tables()
    spend = t["spend"].groupby(["vendor", "week"])["spend"].sum()
    dark = spend[spend == 0].reset_index()
    assert len(dark) > 0
    touches = t["touches"].merge(dark, on=["vendor", "week"])
    paid = touches[~touches["channel"].isin(["peer_recommendations", "professional_networks"])]
    # (social selling and quotes are the sales team's, not paid media)
    assert len(paid[~paid["social_selling"] & ~paid["quote"]]) == 0


def test_a_plan_changed_mid_run_is_costed_from_that_week(small) -> None:
    model = BuyerJourneyModel(small, seed=1, record_touches=False)
    vendor = model.vendor("SearchHeavy")
    before = model.market.spend[vendor.index].sum() + model.market.social_selling[vendor.index]
    for _ in range(10):
        model.step()
    new = np.zeros(len(CHANNEL_NAMES))
    new[SEARCH] = 1234.0
    vendor.set_plan(new, social_selling=0.0)
    model.run()
    expected = 10 * before + (small.weeks - 10) * 1234.0
    paid = model.marketing_spend()[vendor.index] - model.market.referral_payouts[vendor.index]
    assert paid == pytest.approx(expected)
    assert isinstance(vendor.policy, StaticPolicy)


def test_a_vendor_steps_before_the_buyers_each_week(small) -> None:
    """A policy's plan for week w is in force during week w (Vendor.step comes first)."""

    class Alternate:
        def plan(self, week):
            from sim.policies import Plan

            spend = [0.0] * len(CHANNEL_NAMES)
            spend[SEARCH] = 1000.0 if week % 2 else 0.0
            return Plan(tuple(spend), 0.0)

    model = BuyerJourneyModel(small, seed=1, record_touches=False)
    model.vendors[0].use(Alternate())
    for week in range(4):
        model.step()
        assert model.market.spend[0, SEARCH] == (1000.0 if week % 2 else 0.0)
