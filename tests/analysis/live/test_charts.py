"""The live view's charts: the referral graph marks purchases by vendor, colours buyers
by their stage, their group's stage or their account's size, and rings the picked
buyer's buying group."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgba_array

from analysis.live.groups import group_stage
from analysis.live.images import chart_png
from analysis.live.state import VizModel
from analysis.live.style import SINGLE_COLOUR, SIZE_COLOURS
from analysis.paths import BASELINE
from sim.channels import Stage

from .driver import BUYERS
from .scenarios import scenario_file


def test_graph_chart_marks_purchases_by_vendor():
    m = VizModel(str(BASELINE), BUYERS)
    while (m.buyers.stage == Stage.BOUGHT).sum() == 0 and m.running:
        m.step()
    chart_png(m, "graph")
    chart = m.charts["graph"]
    bought = np.flatnonzero(m.buyers.stage == Stage.BOUGHT)
    assert len(chart.bought.get_offsets()) == bought.size
    assert len(chart.plain.get_offsets()) == m.n_buyers - bought.size


def test_graph_colours_by_group_stage_and_size_class_and_rings_the_group(tmp_path):
    m = VizModel(scenario_file(tmp_path, accounts=True), BUYERS)
    for _ in range(10):
        m.step()
    acc = m.accounts
    a = int(np.flatnonzero(acc.size >= 3)[0])
    row = int(acc.start[a])
    stage_png = chart_png(m, "graph", row)
    chart = m.charts["graph"]
    plain = m.buyers.stage != Stage.BOUGHT
    members = np.arange(acc.start[a], acc.start[a + 1])
    np.testing.assert_allclose(chart.group.get_offsets(), m.layout.pos[members[1:]])
    np.testing.assert_allclose(chart.picked.get_offsets(), m.layout.pos[[row]])
    group_png = chart_png(m, "graph", row, "group stage")
    assert group_png != stage_png and chart.mode == "group stage"
    assert chart.legends["group stage"].get_visible()
    assert not chart.legends["buyer stage"].get_visible()
    want = to_rgba_array(chart.stage_lut[group_stage(m.buyers.stage, acc.start)[plain]])
    np.testing.assert_allclose(chart.plain.get_facecolor(), want)
    chart_png(m, "graph", row, "size class")
    sizes = acc.size_class[m.buyers.account[plain]]
    want = to_rgba_array([(list(SIZE_COLOURS.values()) + [SINGLE_COLOUR])[s] for s in sizes])
    np.testing.assert_allclose(chart.plain.get_facecolor(), want)
    # the layout keeps a buying group together: members sit closer than random pairs
    pos = m.layout.pos
    inside = [
        np.linalg.norm(pos[i] - pos[j])
        for i, j in m.referral_graph.edges
        if m.buyers.account[i] == m.buyers.account[j]
    ]
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, BUYERS, (2000, 2))
    anywhere = np.linalg.norm(pos[pairs[:, 0]] - pos[pairs[:, 1]], axis=1)
    assert np.median(inside) < 0.25 * np.median(anywhere)
