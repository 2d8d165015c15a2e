"""The model's rules (docs/model.md), each checked on its own."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.channels import CHANNELS, IDC_TOP_THREE, Stage, channel_arrays
from sim.model import BuyerJourneyModel
from sim.processes.decision import logit_choice
from sim.processes.research import exposure_cdf

SOCIAL = {c.name for c in CHANNELS if c.social}


def run(scenario, seed=1):
    model = BuyerJourneyModel(scenario, seed=seed).run()
    return model, model.tables()


def test_one_step_is_one_week_and_the_run_stops_at_the_horizon(small) -> None:
    model = BuyerJourneyModel(small)
    model.step()
    assert model.week == 1 and model.steps == 1 and model.running
    model.run()
    assert model.week == small.weeks and not model.running
    assert len(model.tables()["weekly"]) == small.weeks


def test_no_need_no_journey(small) -> None:
    quiet = small.with_changes(
        {"accounts.need_rate": dict.fromkeys(("small", "mid_market", "enterprise"), 0.0)}
    )
    model, t = run(quiet)
    assert len(t["journeys"]) == 0 and len(t["touches"]) == 0
    assert (t["weekly"]["idle"] == small.buyers.count).all()


def test_without_organic_discovery_or_installed_base_no_budget_means_no_sales(small) -> None:
    """Paid media is then the only way in: a vendor without budget is never shown."""
    sc = small.with_changes(
        {
            "vendors.AnalystLed.weekly_budget": 0.0,
            "organic.reach": {},
            **{f"vendors.{v.name}.installed_base": 0.0 for v in small.vendors},
        }
    )
    model, t = run(sc)
    paid = t["touches"][
        ~t["touches"]["channel"].isin(["peer_recommendations", "professional_networks"])
    ]
    assert (paid["vendor"] != "AnalystLed").all()
    assert model.conversions[0] == 0
    assert model.marketing_spend()[0] == 0


def test_journeys_move_through_stages_in_order(small) -> None:
    _, t = run(small)
    order = {"early": 1, "middle": 2, "final": 3}
    touches = t["touches"].assign(s=t["touches"]["stage"].map(order))
    diffs = touches.groupby(["journey_id", "buyer_id"], sort=False)["s"].diff().dropna()
    assert (diffs >= 0).all()
    closed = t["journeys"][t["journeys"]["outcome"] != "open"]
    # a journey needs at least total effort / consultations per week weeks of research
    min_weeks = np.floor(
        sum(small.buyers.stage_effort.model_dump().values())
        * np.exp(-1.5)
        / small.buyers.consultations_per_week
    )
    assert ((closed["end_week"] - closed["start_week"]) >= min_weeks).all()


def test_buyers_who_do_not_use_social_media_never_consult_social_sources(small) -> None:
    _, t = run(small)
    non_social = set(t["buyers"].loc[~t["buyers"]["uses_social"], "buyer_id"])
    touches = t["touches"][
        t["touches"]["buyer_id"].isin(non_social) & ~t["touches"]["social_selling"]
    ]
    assert len(touches) > 100
    assert not touches["channel"].isin(SOCIAL).any()


def test_sales_reps_are_consulted_only_after_the_buyers_research_threshold(baseline) -> None:
    """Checked on the state of buyers in market at the end: whoever met sales without a
    social-selling contact had done its own readiness share of research by then."""
    model, t = run(baseline)
    b = model.buyers
    social = t["touches"].loc[t["touches"]["social_selling"], "buyer_id"].unique()
    met = np.flatnonzero((b.journey >= 0) & b.sales_contacted)
    met = np.setdiff1d(met, social)
    assert met.size > 50
    assert (b.share_at_contact[met] >= b.sales_readiness[met] - 1e-9).all()


def test_social_selling_reaches_only_joiners_and_comes_earlier(baseline) -> None:
    sc = baseline.with_changes({"buyers.count": 2000, "weeks": 80})
    model, t = run(sc, seed=3)
    ss = t["touches"][t["touches"]["social_selling"]]
    assert len(ss) > 20
    assert model.buyers.joiner[ss["buyer_id"].to_numpy()].all()
    assert set(ss["vendor"]) == {"SocialSelling"}  # the only vendor that does it
    j = t["journeys"].set_index("journey_id")
    early = j.loc[ss["journey_id"].unique(), "research_share_at_first_sales_contact"].median()
    others = j.drop(ss["journey_id"].unique())["research_share_at_first_sales_contact"].median()
    assert early < others


def test_exposure_saturates_in_spend() -> None:
    ch = channel_arrays()
    presence = [
        exposure_cdf(np.array([[s] * 9]), ch.reach, ch.half_saturation)[0, -1]
        for s in (10_000, 20_000, 40_000)
    ]
    gains = np.diff([0, *presence])
    assert presence[0] < presence[1] < presence[2] <= ch.reach[0]
    assert gains[1] < gains[0] and gains[2] < gains[1]


def test_share_of_voice_splits_presence_by_spend() -> None:
    ch = channel_arrays()
    spend = np.zeros((2, 9))
    spend[0, 1], spend[1, 1] = 3000, 1000
    cdf = exposure_cdf(spend, ch.reach, ch.half_saturation)
    p = np.diff(np.concatenate([[0], cdf[1]]))
    assert p[0] == pytest.approx(3 * p[1])


def test_logit_choice_follows_utilities() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    utility = np.tile([[0.0, 1.0, -np.inf]], (n, 1))
    pick = logit_choice(utility, status_quo=0.0, u=rng.random(n))
    share = np.bincount(pick + 1, minlength=4) / n
    e = np.exp([0.0, 0.0, 1.0])
    assert share[3] == 0  # not considered, never chosen
    assert share[:3] == pytest.approx(e / e.sum(), abs=0.015)


def test_status_quo_utility_drives_no_decisions(small) -> None:
    """The status quo's utility sets how often it wins a group's vote; the groups that
    cannot agree on a vendor are another matter (consensus)."""
    rates = []
    for sq in (0.0, 8.0):
        _, t = run(small.with_changes({"choice.status_quo": sq}))
        closed = t["journeys"][t["journeys"]["outcome"] != "open"]
        rates.append((closed["no_decision_reason"] == "status_quo").mean())
    assert rates[0] < 0.1 and rates[1] > 0.8


def test_quality_spreads_by_word_of_mouth(baseline) -> None:
    """Satisfied customers recommend and dissatisfied ones warn: of two vendors with the
    same strategy, the better product wins more in the second year."""
    twins = baseline.with_changes(
        {
            "buyers.count": 2000,
            "vendors.CommunityFirst.channel_mix": {"search": 1.0},
            "vendors.CommunityFirst.referral_reward": 0.0,
            "vendors.CommunityFirst.price": 0.95,
            "vendors.CommunityFirst.quality": 0.95,
            "vendors.SearchHeavy.channel_mix": {"search": 1.0},
            "vendors.SearchHeavy.weekly_budget": 26000.0,
            "vendors.SearchHeavy.quality": 0.2,
        }
    )
    diffs = []
    for seed in range(4):
        model, t = run(twins, seed)
        late = t["weekly"].iloc[52:]
        diffs.append(
            late["conversions_CommunityFirst"].sum() - late["conversions_SearchHeavy"].sum()
        )
    assert min(diffs) > 0


def test_referrals_weigh_most_in_the_final_stage() -> None:
    ch = channel_arrays()
    for i, c in enumerate(CHANNELS):
        if c.referral:
            assert ch.credibility[2, i] == ch.credibility[:, i].max()
    # the two sources the IDC ranks first in the final stage are the referral sources
    referral = {c.name for c in CHANNELS if c.referral}
    assert referral == set(IDC_TOP_THREE[Stage.FINAL][:2])


def test_senior_buyers_have_bigger_budgets_and_buy_more_often(baseline_tables) -> None:
    b = baseline_tables["buyers"]
    per_buyer = baseline_tables["journeys"].groupby("buyer_id").size()
    b = b.assign(journeys=b["buyer_id"].map(per_buyer).fillna(0))
    by = b.groupby("seniority")[["budget", "journeys"]].mean()
    assert (
        by.loc["c_level", "budget"] > by.loc["director", "budget"] > by.loc["individual", "budget"]
    )
    assert by.loc["c_level", "journeys"] > by.loc["individual", "journeys"]


def test_repeat_purchases_favour_a_satisfied_incumbent(baseline_tables) -> None:
    j = baseline_tables["journeys"]
    bought = j[j["outcome"] == "purchase"].sort_values(["account_id", "journey_id"])
    prev = bought.groupby("account_id")["vendor"].shift()
    repeat = bought[prev.notna()]
    assert len(repeat) > 50
    same = (repeat["vendor"] == prev[prev.notna()]).mean()
    shares = bought["vendor"].value_counts(normalize=True)
    assert same > (shares**2).sum() + 0.1  # well above the chance of a random match


def test_every_touch_belongs_to_a_journey_of_its_buyers_group(small) -> None:
    model, t = run(small)
    merged = t["touches"].merge(
        t["journeys"][["journey_id", "account_id", "start_week", "end_week"]],
        on="journey_id",
    )
    assert len(merged) == len(t["touches"])
    assert (model.buyers.account[merged["buyer_id"].to_numpy()] == merged["account_id"]).all()
    assert (merged["week"] >= merged["start_week"]).all()
    ends = merged["end_week"].astype("Float64").fillna(np.inf)
    assert (merged["week"] <= ends).all()


def test_deal_value_is_budget_times_price(small) -> None:
    """Without a contract_value (the v2 rule; docs/model.md §16a for the other)."""
    small = small.with_changes({f"vendors.{v}.contract_value": None for v in small.vendor_names()})
    model, t = run(small)
    bought = t["journeys"][t["journeys"]["outcome"] == "purchase"]
    price = dict(zip(model.vendor_names, model.market.price, strict=True))
    expected = (
        model.buyers.budget[bought["buyer_id"].to_numpy()] * bought["vendor"].map(price).to_numpy()
    )
    np.testing.assert_allclose(bought["deal_value"].to_numpy(dtype=float), expected)
    assert pd.isna(t["journeys"].loc[t["journeys"]["outcome"] != "purchase", "vendor"]).all()


def test_neighbour_sums_equal_the_sparse_product_over_the_graph(small) -> None:
    """The incrementally kept sums over contacts match A @ opinion recomputed from scratch."""
    model = BuyerJourneyModel(small, seed=2).run()
    a = model.adjacency
    np.testing.assert_allclose(model.buyers.neighbour_opinion, a @ model.buyers.opinion, atol=1e-9)
    customer = np.zeros_like(model.buyers.opinion)
    has = model.buyers.incumbent >= 0
    customer[np.flatnonzero(has), model.buyers.incumbent[has]] = 1.0
    np.testing.assert_allclose(model.buyers.neighbour_customers, a @ customer, atol=1e-9)
    assert model.buyers.neighbour_opinion.any()


def test_need_arrivals_follow_the_weekly_hazard(baseline) -> None:
    """Geometric waiting times reproduce a constant weekly hazard: first-journey starts of
    idle accounts per week match n * p within sampling error."""
    sc = baseline.with_changes(
        {
            "buyers.count": 60000,
            "weeks": 10,
            "market.spin_up_weeks": 0,  # every account idle at week 0
            "accounts.need_rate": dict.fromkeys(("small", "mid_market", "enterprise"), 0.02),
        }
    )
    model = BuyerJourneyModel(sc, seed=8, record_touches=False).run()
    starts = model.tables()["journeys"]["start_week"].value_counts().sort_index().to_numpy()
    n = model.accounts.n
    expected = n * 0.98 ** np.arange(10) * 0.02  # nobody returns to idle within 10 weeks
    assert np.all(np.abs(starts - expected) < 4 * np.sqrt(expected))
    assert abs(starts.sum() - expected.sum()) < 3 * np.sqrt(expected.sum())


def test_need_arrivals_of_one_person_accounts_follow_seniority(v1_format) -> None:
    """Without [accounts] each buyer is its own account with its seniority's need rate."""
    sc = v1_format.with_changes(
        {
            "buyers.count": 20000,
            "weeks": 10,
            "buyers.need_rate": dict.fromkeys(
                ("individual", "manager", "director", "vp", "c_level"), 0.02
            ),
        }
    )
    model = BuyerJourneyModel(sc, seed=8, record_touches=False).run()
    assert model.accounts.singletons and model.accounts.n == 20000
    starts = model.tables()["journeys"]["start_week"].value_counts().sort_index().to_numpy()
    expected = 20000 * 0.98 ** np.arange(10) * 0.02
    assert np.all(np.abs(starts - expected) < 4 * np.sqrt(expected))


def test_only_spectators_take_in_critics_reviews(small) -> None:
    """With no spectators, critics' reviews change nothing: the run equals one where
    reviews carry no weight at all; with spectators they do change outcomes."""
    no_spectators = small.with_changes({"buyers.spectator": 0.0})
    a = BuyerJourneyModel(no_spectators, seed=4).run().tables()["journeys"]
    b = (
        BuyerJourneyModel(no_spectators.with_changes({"choice.review_weight": 0.0}), seed=4)
        .run()
        .tables()["journeys"]
    )
    pd.testing.assert_frame_equal(a, b)
    c = BuyerJourneyModel(small, seed=4).run().tables()["journeys"]
    d = BuyerJourneyModel(small.with_changes({"choice.review_weight": 0.0}), seed=4).run()
    assert not c["vendor"].equals(d.tables()["journeys"]["vendor"])


def test_a_scenarios_channel_preferences_steer_source_choice(small) -> None:
    """No hidden global source table: a scenario's preference override is what buyers use."""
    base = small.with_changes({"buyers.count": 600, "weeks": 30})
    mute = base.with_changes({"channels.search.preference": [0.0, 0.16, 0.03]})
    loud = base.with_changes({"channels.search.preference": [2.0, 0.16, 0.03]})
    shares = {}
    for name, sc in (("base", base), ("mute", mute), ("loud", loud)):
        use = BuyerJourneyModel(sc, seed=1, record_touches=False).run().tables()["source_use"]
        early = use[use["stage"] == "early"].set_index("channel")["touches"]
        shares[name] = early["search"] / early.sum()
    assert shares["mute"] == 0
    assert 0.15 < shares["base"] < 0.35
    assert shares["loud"] > 0.6


def test_roi_counts_only_marketing_originated_revenue(small) -> None:
    """The scorecard's ROI is (revenue of marketing-originated purchases - spend) / spend,
    recomputed here from the journeys table (deal values scaled from the simulated sample
    to the market); revenue per marketing dollar counts all."""
    model, t = run(small, seed=5)
    j, v = t["journeys"], t["vendors"].set_index("vendor")
    bought = j[j["outcome"] == "purchase"]
    by_origin = bought.groupby(["vendor", "marketing_originated"])["deal_value"].sum()
    for name in small.vendor_names():
        spend = v.loc[name, "marketing_spend"]
        originated = by_origin.get((name, True), 0.0) * model.market_scale
        assert v.loc[name, "roi"] == pytest.approx((originated - spend) / spend)
        assert v.loc[name, "revenue_per_marketing_dollar"] == pytest.approx(
            v.loc[name, "revenue"] / spend
        )
        assert v.loc[name, "roi"] <= v.loc[name, "revenue_per_marketing_dollar"] - 1 + 1e-12
    # referred and repeat customers exist, so some vendor's ROI is below all-revenue's
    assert (v["roi"] < v["revenue_per_marketing_dollar"] - 1 - 1e-9).any()
