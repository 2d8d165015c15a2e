"""Media cost tied to the audience: a scenario states the market it represents and the
simulated buyers are a sample of it; spend buys presence for the whole market, and counts
and money are scaled to it. So cost per acquisition and ROI do not move when only the
sample size changes (2,000 vs 20,000 simulated buyers of the same market, 20 seeds).

CAC and ROI are compared as the replications' pooled ratios (mean spend over mean
conversions): a per-run ratio is biased upwards when a small sample wins few deals
(E[1/X] > 1/E[X]), which is a property of small samples, not of the market."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import BuyerJourneyModel

SEEDS = range(20)


def mean_vendor_metrics(scenario, n: int) -> dict[str, np.ndarray]:
    sc = scenario.with_changes({"buyers.count": n})
    rows = [
        BuyerJourneyModel(sc, seed=s, record_touches=False).run().tables()["vendors"] for s in SEEDS
    ]
    out = {
        m: np.mean([r[m].to_numpy(float) for r in rows], axis=0)
        for m in ("marketing_spend", "originated_revenue", "market_conversions", "conversions")
    }
    out["cost_per_acquisition"] = out["marketing_spend"] / out["market_conversions"]
    out["roi"] = (out["originated_revenue"] - out["marketing_spend"]) / out["marketing_spend"]
    revenue = np.array([r["originated_revenue"].to_numpy(float) for r in rows])
    out["roi_se"] = revenue.std(0, ddof=1) / np.sqrt(len(rows)) / out["marketing_spend"]
    conv = np.array([r["market_conversions"].to_numpy(float) for r in rows])
    # relative standard error of the mean conversions (CAC's, to first order)
    out["conversions_rse"] = conv.std(0, ddof=1) / np.sqrt(len(rows)) / out["market_conversions"]
    return out


@pytest.fixture(scope="module")
def market(baseline):
    """The baseline's market of 5,000 real buyers, over one year."""
    return baseline.with_changes({"market.buyers": 5000, "weeks": 52})


def test_cac_and_roi_do_not_move_with_the_sample_size(market) -> None:
    small, large = mean_vendor_metrics(market, 2000), mean_vendor_metrics(market, 20000)
    # held to 3 standard errors of the two means (at 2,000 buyers a vendor wins ~20 deals
    # a run: its mean over 20 seeds has a relative standard error of about 5%)
    rse = np.hypot(small["conversions_rse"], large["conversions_rse"])
    cac_gap = np.abs(np.log(small["cost_per_acquisition"] / large["cost_per_acquisition"]))
    assert np.all(cac_gap < 3 * rse), (cac_gap, rse)
    # ROI rests on deal values, heavy-tailed (the lead's budget, log-normal by seniority):
    # at 2,000 buyers its standard error is ~8%, so it is held to 3 standard errors
    gap = np.abs(small["roi"] - large["roi"])
    assert np.all(gap < 3 * np.hypot(small["roi_se"], large["roi_se"]))
    conv_gap = np.abs(np.log(small["market_conversions"] / large["market_conversions"]))
    assert np.all(conv_gap < 3 * rse)
    # ...while the simulated counts are ten times apart
    ratio = large["conversions"] / small["conversions"]
    assert np.all((ratio > 8) & (ratio < 12))


def test_without_a_stated_market_the_sample_is_the_market(baseline) -> None:
    sc = baseline.with_changes({"buyers.count": 800, "weeks": 30, "market.buyers": None})
    assert sc.market_buyers == 800
    model = BuyerJourneyModel(sc, seed=1, record_touches=False).run()
    v = model.tables()["vendors"]
    assert model.market_scale == 1.0
    assert (v["market_conversions"] == v["conversions"]).all()


def test_a_larger_market_needs_more_spend_for_the_same_presence(baseline) -> None:
    """Presence per consultation depends on spend per real buyer: doubling the market
    halves the exposure a budget buys (before saturation)."""
    from sim.channels import REFERENCE_AUDIENCE, channel_arrays
    from sim.processes.research import exposure_cdf

    ch = channel_arrays()
    spend = np.zeros((1, 9))
    spend[0, 1] = 2000.0
    p = [
        exposure_cdf(spend, ch.reach, ch.half_saturation * m / REFERENCE_AUDIENCE)[1, 0]
        for m in (5_000, 10_000)
    ]
    twice_spend = spend * 2
    q = exposure_cdf(twice_spend, ch.reach, ch.half_saturation * 2)[1, 0]
    assert p[1] < p[0] and q == pytest.approx(p[0])
