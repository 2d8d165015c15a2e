"""sim.metrics: pure functions with known answers (docs/sources.md §8)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import metrics


def test_break_even_examples_of_domain_facts():
    assert metrics.break_even_volume(5_500, 750, 450) == pytest.approx(18.33, abs=0.005)
    assert metrics.break_even_volume(5_100, 950, 450) == pytest.approx(10.2)
    out = metrics.break_even_volume([5_500, 5_100], [750, 950], [450, 450])
    np.testing.assert_allclose(out, [5_500 / 300, 10.2])


def test_break_even_undefined_without_margin():
    assert math.isnan(metrics.break_even_volume(1000, 400, 450))
    assert math.isnan(metrics.break_even_volume(1000, 450, 450))
    out = metrics.break_even_volume([1000, 1000], [500, 400], [450, 450])
    assert out[0] == pytest.approx(20.0) and math.isnan(out[1])


def test_win_share_sums_to_one_and_nan_when_nobody_bought():
    np.testing.assert_allclose(metrics.win_share([30, 10, 60]), [0.3, 0.1, 0.6])
    assert np.isnan(metrics.win_share([0, 0])).all()


def test_roi_cpa_originated_mean_deal():
    assert metrics.roi(150.0, 100.0) == pytest.approx(0.5)
    assert math.isnan(metrics.roi(10.0, 0.0))
    assert metrics.cost_per_acquisition(1000.0, 4) == pytest.approx(250.0)
    assert math.isnan(metrics.cost_per_acquisition(1000.0, 0))
    assert metrics.originated_share(3, 4) == pytest.approx(0.75)
    assert metrics.mean_deal(1000.0, 4) == pytest.approx(250.0)
    np.testing.assert_allclose(metrics.roi([200.0, 50.0], [100.0, 100.0]), [1.0, -0.5])


def test_roi_follows_the_seed_definition_on_a_hand_computed_case():
    """docs/sources.md §8: a vendor spent 10,000 on marketing and won three deals: 20,000
    and 10,000 from customers who came through marketing, 50,000 from a referral. ROI
    counts the first two only; all revenue per marketing dollar counts all three."""
    originated, referred, spend = 20_000 + 10_000, 50_000, 10_000
    assert metrics.roi(originated, spend) == pytest.approx((30_000 - 10_000) / 10_000)
    assert metrics.revenue_per_marketing_dollar(originated + referred, spend) == 8.0
