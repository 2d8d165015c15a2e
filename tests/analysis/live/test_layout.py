"""The referral graph's layout: computed once per graph and kept per session, and a
click on the image picks the buyer under it."""

from __future__ import annotations

import numpy as np

from analysis.live import layout as layout_module
from analysis.live.layout import LayoutCache, buyer_at
from analysis.live.state import VizModel
from analysis.paths import BASELINE

from .driver import BUYERS, buyer_pixel


def test_layout_cache_reuses_same_setup_and_computes_new_one():
    """The session's cache finds a layout by what the graph is (each model draws its
    own graph object); nothing is kept at module level."""
    assert not hasattr(layout_module, "_LAYOUTS")
    cache = LayoutCache(size=2)
    m1 = VizModel(str(BASELINE), BUYERS, layouts=cache)
    m2 = VizModel(str(BASELINE), BUYERS, layouts=cache)
    assert m1.referral_graph is not m2.referral_graph
    assert m1.layout is m2.layout and cache.computed == 1
    pos = m1.layout.pos
    assert pos.shape == (BUYERS, 2)
    assert np.isfinite(pos).all() and pos.min() >= 0 and pos.max() <= 1
    m3 = VizModel(str(BASELINE), BUYERS, seed=5, layouts=cache)
    assert m3.layout is not m1.layout and cache.computed == 2
    m4 = VizModel(str(BASELINE), BUYERS + 100, layouts=cache)
    assert len(m4.layout.pos) == BUYERS + 100 and cache.computed == 3
    assert len(cache) == 2  # bounded: the least recently used layout went
    # without a session cache every model computes its own (the same positions)
    m5 = VizModel(str(BASELINE), BUYERS)
    assert m5.layout is not m1.layout
    np.testing.assert_array_equal(m5.layout.pos, m1.layout.pos)


def test_buyer_at_maps_image_fractions_to_the_nearest_buyer():
    m = VizModel(str(BASELINE), BUYERS)
    for row in (0, 17, BUYERS - 1):
        assert buyer_at(m.layout, *buyer_pixel(m, row)) == row
    assert buyer_at(m.layout, 0.99, 0.5) is None  # the legend
    assert buyer_at(m.layout, -0.1, 0.5) is None
