"""The live view's page, headless (solara.render, no browser): it renders every view,
steps and resets, and each set-up and strategy control does what its label says."""

from __future__ import annotations

import time

import ipyvuetify as v
import numpy as np
import pytest

from analysis.live.panels import PAID_CHANNELS
from analysis.paths import BASELINE
from sim.channels import CHANNEL_NAMES, CHANNELS
from sim.policies import StaticPolicy
from sim.processes.research import exposure_cdf

from .driver import (
    BUYERS,
    MODELS,
    click,
    images,
    model_of,
    render,
    select,
    slider,
    time_text,
    type_text,
)


def test_page_renders_all_views():
    rc = render()
    assert time_text(rc) == "Time: 0.0"
    assert len(images(rc)) == 5  # graph, funnel, vendors over weeks, groups, source use
    assert all(img[:8] == b"\x89PNG\r\n\x1a\n" for img in images(rc))
    m = model_of(rc)
    assert m.n_buyers == BUYERS


def test_step_advances_week_and_redraws_charts():
    rc = render()
    before = images(rc)
    for _ in range(3):
        click(rc, "Step")
    assert time_text(rc) == "Time: 3.0"
    assert model_of(rc).week == 3
    after = images(rc)
    assert sum(a != b for a, b in zip(before, after, strict=True)) >= 3


def test_reset_restarts_and_reuses_the_layout_of_the_same_graph():
    """Reset builds a new model at week 0; with the same set-up it finds the session's
    layout of the same graph instead of computing it again (what keeps Reset quick:
    benchmarks/bench_viz.py times it)."""
    rc = render()
    click(rc, "Step")
    click(rc, "Step")
    first = model_of(rc)
    click(rc, "Reset")
    assert time_text(rc) == "Time: 0.0"
    second = model_of(rc)
    assert second is not first and second.week == 0
    # same set-up, same graph (a new object): the session's layout is reused
    assert second.referral_graph is not first.referral_graph
    assert second.layout is first.layout
    # a new seed draws a new graph: a new layout
    type_text(rc, "Seed (on Reset)", "99")
    click(rc, "Reset")
    third = model_of(rc)
    assert third.seed == 99
    assert third.layout is not first.layout
    assert not np.array_equal(third.layout.pos, first.layout.pos)


def test_play_interval_slider_sets_the_pause_between_played_steps(monkeypatch):
    """The speed control reaches the loop that plays the model: the pause it sleeps
    between two played weeks is the slider's value (first the page's 150 ms, then 21)."""
    from mesa.visualization import solara_viz

    pauses: list[float] = []
    real_sleep = time.sleep

    class Clock:  # the play loop's `time`: records each pause, waits only briefly
        @staticmethod
        def sleep(seconds: float) -> None:
            pauses.append(seconds)
            real_sleep(0.005)

    monkeypatch.setattr(solara_viz, "time", Clock)
    rc = render()
    m = model_of(rc)

    def play_until(week: int) -> None:
        rc.find(v.Btn, children=["▶"]).widget.click()
        deadline = time.monotonic() + 30
        while m.week < week and time.monotonic() < deadline:
            real_sleep(0.02)
        rc.find(v.Btn, children=["❚❚"]).widget.click()
        # let the loop notice the pause: wait until no pause has been added for 0.2 s
        # (a loaded machine may take longer than one interval to stop)
        seen, quiet_since = len(pauses), time.monotonic()
        while time.monotonic() - quiet_since < 0.2 and time.monotonic() < deadline + 5:
            real_sleep(0.02)
            if len(pauses) != seen:
                seen, quiet_since = len(pauses), time.monotonic()

    play_until(2)
    assert m.week >= 2
    assert pauses and set(pauses) == {0.15}
    pauses.clear()
    slider(rc, "Play Interval (ms)").v_model = 21
    week = m.week
    play_until(week + 2)
    assert m.week >= week + 2
    assert pauses and set(pauses) == {0.021}


def test_buyers_slider_applies_on_reset():
    rc = render()
    slider(rc, "Buyers (on Reset)").v_model = 400
    click(rc, "Reset")
    assert model_of(rc).n_buyers == 400


def test_graph_type_select_applies_on_reset():
    rc = render()
    sel = select(rc, "Graph type (on Reset)")
    assert "barabasi_albert" in sel.items
    sel.v_model = "barabasi_albert"
    click(rc, "Reset")
    m = model_of(rc)
    assert m.spec.network.kind == "barabasi_albert"
    degrees = np.asarray(m.adjacency.sum(1)).ravel()
    assert degrees.max() > 3 * np.median(degrees)  # hubs: scale-free


def test_seed_text_applies_on_reset_and_bad_seed_is_reported():
    rc = render()
    type_text(rc, "Seed (on Reset)", "7")
    click(rc, "Reset")
    assert model_of(rc).seed == 7  # typed text arrives as a string
    type_text(rc, "Seed (on Reset)", "seven")
    click(rc, "Reset")
    m = model_of(rc)
    assert m.seed == m.spec.seed
    assert "seed must be a whole number" in m.notice
    rc.find(v.Alert).assert_not_empty()


def test_scenario_file_applies_on_reset_and_bad_file_is_reported(tmp_path):
    src = (BASELINE).read_text()
    other = tmp_path / "other.toml"
    other.write_text(src.replace('name = "baseline"', 'name = "other"'))
    rc = render()
    type_text(rc, "Scenario file", str(other))
    click(rc, "Reset")
    assert model_of(rc).spec.name == "other"
    type_text(rc, "Scenario file", str(tmp_path / "missing.toml"))
    click(rc, "Reset")
    m = model_of(rc)
    assert m.spec.name == "baseline"
    assert "missing.toml" in m.notice


def test_vendor_budget_slider_changes_spend_at_once_and_after_reset():
    rc = render()
    m = model_of(rc)
    name = m.vendor_names[0]
    other = m.market.spend[1].copy()
    budget = slider(rc, "Weekly budget")
    budget.v_model = 1000.0
    assert m.market.spend[0].sum() == pytest.approx(1000.0)
    # through the vendor's own agent: a static plan from now on
    assert isinstance(m.vendors[0].policy, StaticPolicy)
    assert m.vendors[0].policy.plan(50).spend_array().sum() == pytest.approx(1000.0)
    click(rc, "Step")
    click(rc, "Step")
    # the core booked the spend week by week, channel by channel
    assert m.market.spent[0].sum() == pytest.approx(2000.0)
    assert m.marketing_spend()[0] == pytest.approx(
        2000.0 + m.market.social_selling_spent[0] + m.market.referral_payouts[0]
    )
    np.testing.assert_allclose(m.market.spend[1], other)  # the other vendors untouched
    click(rc, "Reset")
    m2 = model_of(rc)
    assert m2.market.spend[0].sum() == pytest.approx(1000.0)
    assert m2.spec.vendors[0].weekly_budget == pytest.approx(1000.0)
    assert m2.vendor_names[0] == name


def test_vendor_select_and_mix_sliders():
    rc = render()
    m = model_of(rc)
    sel = select(rc, "Vendor")
    assert sel.items == list(m.vendor_names)
    sel.v_model = m.vendor_names[1]
    mix = slider(rc, "Mix: Microblogs")
    mix.v_model = 1.0
    i = CHANNEL_NAMES.index("microblogs")
    assert m.market.spend[1, i] > 0
    # the other vendors are untouched
    assert m.market.spend[0, i] == 0
    version = m.market.plan_version
    exposure_before = exposure_cdf(m.market.spend, m.channels.reach, m.channels.half_saturation)
    slider(rc, "Mix: Microblogs").v_model = 0.0
    assert m.market.spend[1, i] == 0
    assert m.market.plan_version > version  # the research process rebuilds its sampler
    exposure_after = exposure_cdf(m.market.spend, m.channels.reach, m.channels.half_saturation)
    assert not np.array_equal(exposure_before, exposure_after)


def test_every_paid_channel_has_a_mix_slider():
    rc = render()
    for c in PAID_CHANNELS:
        label = "Mix: " + CHANNELS[c].label.split(" (")[0]
        rc.find(v.Slider, label=label).assert_single()


def test_two_sessions_share_no_layout():
    first, second = render(), render()
    assert MODELS[0].layout is not MODELS[1].layout
    first.close()
    second.close()
