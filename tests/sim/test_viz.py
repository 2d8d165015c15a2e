"""Headless tests of the live view (solara.render, no browser): every control does what
its label says, charts redraw after a step, Reset is fast and keeps the set-up."""

from __future__ import annotations

import functools
import html
import re
import time

import ipyvuetify as v
import ipywidgets
import numpy as np
import pytest
import solara

from sim import viz
from sim.channels import CHANNEL_NAMES, Stage
from sim.policies import StaticPolicy
from sim.processes.research import exposure_cdf

BUYERS = 300


@pytest.fixture(autouse=True)
def small_model(monkeypatch):
    monkeypatch.setenv(viz.BUYERS_ENV, str(BUYERS))
    monkeypatch.delenv(viz.SCENARIO_ENV, raising=False)


def render():
    box, rc = solara.render(solara.AppLayout(children=[viz.Page()]), handle_error=False)
    return rc


def click(rc, label: str) -> None:
    rc.find(v.Btn, children=[label]).widget.click()


def time_text(rc) -> str:
    texts = [w.children[0] for w in rc.find(v.Html, tag="span").widgets if w.children]
    return next(t for t in texts if isinstance(t, str) and t.startswith("Time:"))


def images(rc) -> list[bytes]:
    return [w.value for w in rc.find(ipywidgets.Image).widgets]


def slider(rc, label: str):
    return rc.find(v.Slider, label=label).widget


def type_text(rc, label: str, text: str) -> None:
    """Type into an InputText and press Enter (it reports on Enter or focus-out)."""
    field = rc.find(v.TextField, label=label).widget
    field.v_model = text
    field.fire_event("keyup.enter", {})


def select(rc, label: str):
    return rc.find(v.Select, label=label).widget


def model_of(rc) -> viz.VizModel:
    return _MODELS[-1]


_MODELS: list[viz.VizModel] = []


@pytest.fixture(autouse=True)
def track_models(monkeypatch):
    """Remember every model the page builds (the page keeps its model private)."""
    _MODELS.clear()
    original = viz.VizModel.__init__

    @functools.wraps(original)  # keeps the signature SolaraViz checks
    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        _MODELS.append(self)

    monkeypatch.setattr(viz.VizModel, "__init__", init)


def test_page_renders_all_views():
    rc = render()
    assert time_text(rc) == "Time: 0.0"
    assert len(images(rc)) == 4  # graph, funnel, vendors over weeks, source use
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


def test_reset_restarts_and_is_fast():
    rc = render()
    click(rc, "Step")
    click(rc, "Step")
    first = model_of(rc)
    t = time.perf_counter()
    click(rc, "Reset")
    elapsed = time.perf_counter() - t
    assert time_text(rc) == "Time: 0.0"
    second = model_of(rc)
    assert second is not first and second.week == 0
    # same set-up, same graph (a new object): the session's layout is reused
    assert second.referral_graph is not first.referral_graph
    assert second.layout is first.layout
    assert elapsed < 2.0
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
        real_sleep(0.1)  # let the loop notice the pause

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
    src = (viz.DEFAULT_SCENARIO).read_text()
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
    for c in viz.PAID_CHANNELS:
        label = "Mix: " + viz.CHANNELS[c].label.split(" (")[0]
        rc.find(v.Slider, label=label).assert_single()


def test_graph_chart_marks_purchases_by_vendor():
    m = viz.VizModel(str(viz.DEFAULT_SCENARIO), BUYERS)
    while (m.buyers.stage == Stage.BOUGHT).sum() == 0 and m.running:
        m.step()
    viz.chart_png(m, "graph")
    chart = m.charts["graph"]
    bought = np.flatnonzero(m.buyers.stage == Stage.BOUGHT)
    assert len(chart.bought.get_offsets()) == bought.size
    assert len(chart.plain.get_offsets()) == m.n_buyers - bought.size


def test_layout_cache_reuses_same_setup_and_computes_new_one():
    """The session's cache finds a layout by what the graph is (each model draws its
    own graph object); nothing is kept at module level."""
    assert not hasattr(viz, "_LAYOUTS")
    cache = viz.LayoutCache(size=2)
    m1 = viz.VizModel(str(viz.DEFAULT_SCENARIO), BUYERS, layouts=cache)
    m2 = viz.VizModel(str(viz.DEFAULT_SCENARIO), BUYERS, layouts=cache)
    assert m1.referral_graph is not m2.referral_graph
    assert m1.layout is m2.layout and cache.computed == 1
    pos = m1.layout.pos
    assert pos.shape == (BUYERS, 2)
    assert np.isfinite(pos).all() and pos.min() >= 0 and pos.max() <= 1
    m3 = viz.VizModel(str(viz.DEFAULT_SCENARIO), BUYERS, seed=5, layouts=cache)
    assert m3.layout is not m1.layout and cache.computed == 2
    m4 = viz.VizModel(str(viz.DEFAULT_SCENARIO), BUYERS + 100, layouts=cache)
    assert len(m4.layout.pos) == BUYERS + 100 and cache.computed == 3
    assert len(cache) == 2  # bounded: the least recently used layout went
    # without a session cache every model computes its own (the same positions)
    m5 = viz.VizModel(str(viz.DEFAULT_SCENARIO), BUYERS)
    assert m5.layout is not m1.layout
    np.testing.assert_array_equal(m5.layout.pos, m1.layout.pos)


def test_two_sessions_share_no_layout():
    first, second = render(), render()
    assert _MODELS[0].layout is not _MODELS[1].layout
    first.close()
    second.close()


def buyer_pixel(m: viz.VizModel, row: int) -> tuple[float, float]:
    """Where buyer `row` is on the graph image, as fractions of its width and height."""
    x, y = m.layout.pos[row]
    return x * viz.GRAPH_PX / (viz.GRAPH_PX + viz.LEGEND_PX), 1.0 - y


def journey_card(rc) -> str:
    """The plain text of the open journey card: its title and its Markdown as rendered
    HTML with the tags taken out ("" if no card is open)."""
    cards = [w for w in rc.find(v.Card).widgets if "bjs-buyer-card" in (w.class_ or "")]
    if not cards:
        return ""
    out: list[str] = []

    def walk(w) -> None:
        if isinstance(w, str):
            out.append(w)
            return
        template = getattr(w, "template", None)
        if isinstance(template, str):  # solara.Markdown: HTML in a Vue template
            out.append(html.unescape(re.sub(r"<[^>]+>", "", template.split("<script")[0])))
        for c in getattr(w, "children", None) or ():
            walk(c)

    walk(cards[0])
    return "\n".join(out)


def test_click_on_a_buyer_opens_its_journey_card():
    rc = render()
    for _ in range(6):
        click(rc, "Step")
    m = model_of(rc)
    assert journey_card(rc) == ""
    # a buyer in a journey, clicked at its dot on the image
    row = int(np.flatnonzero(m.buyers.journey >= 0)[0])
    graph = rc.find(viz.ClickableImage).widget
    before = graph.image.value
    fx, fy = buyer_pixel(m, row)
    graph.vue_clicked({"x": fx + 0.002, "y": fy - 0.002})  # a pixel or so off the centre
    text = journey_card(rc)
    journey = m.buyer(row).journey()
    assert f"Buyer #{row}" in text
    assert f"stage {journey['stage']}" in text
    assert f"{journey['research_share']:.0%} of its research done" in text
    for vendor in journey["considered"]:
        assert vendor in text
    last_week, channel, _ = journey["touches"][-1]
    assert f"week {last_week + 1}, {viz._short_name(channel)}" in text
    # the graph marks the picked buyer
    assert graph.image.value != before
    np.testing.assert_allclose(m.charts["graph"].picked.get_offsets(), m.layout.pos[[row]])
    # a click on the legend picks nobody: the card stays
    graph.vue_clicked({"x": 0.95, "y": 0.5})
    assert f"Buyer #{row}" in journey_card(rc)
    # the card follows the buyer as the weeks go by
    click(rc, "Step")
    assert f"stage {m.buyer(row).journey()['stage']}" in journey_card(rc)


def test_buyer_number_input_opens_the_card_too():
    rc = render()
    click(rc, "Step")
    m = model_of(rc)
    field = rc.find(v.TextField, label=f"Buyer # (0-{BUYERS - 1}; or click the graph)").widget
    field.v_model = "42"
    field.fire_event("keyup.enter", {})
    text = journey_card(rc)
    assert "Buyer #42" in text
    assert m.buyer(42).seniority.replace("_", " ") in text
    field.v_model = str(BUYERS + 5)  # no such buyer: the card stays on 42
    field.fire_event("keyup.enter", {})
    assert "Buyer #42" in journey_card(rc)


def test_buyer_at_maps_image_fractions_to_the_nearest_buyer():
    m = viz.VizModel(str(viz.DEFAULT_SCENARIO), BUYERS)
    for row in (0, 17, BUYERS - 1):
        assert viz.buyer_at(m.layout, *buyer_pixel(m, row)) == row
    assert viz.buyer_at(m.layout, 0.99, 0.5) is None  # the legend
    assert viz.buyer_at(m.layout, -0.1, 0.5) is None


def test_journey_markdown_lists_the_last_touches():
    journey = {
        "buyer": 3,
        "seniority": "c_level",
        "stage": "no_decision",
        "journey_id": 7,
        "research_share": 0.5,
        "considered": ["A", "B"],
        "preference": {"A": 0.25},
        "customer_of": None,
        "touches": [(w, "search", "A" if w % 2 else "") for w in range(10)],
    }
    text = viz.journey_markdown(journey, last=3)
    assert "**Buyer #3**: c level, stage **no decision**" in text
    assert "50% of its research done" in text
    assert "A (+0.25), B (+0.00)" in text
    assert "no vendor yet" in text
    assert "Last touches (3 of 10)" in text
    assert "  \nweek 10, Internet search: A" in text and "week 9, Internet search  \n" in text
    assert "week 7," not in text
    closed = dict(journey, journey_id=None, research_share=None, touches=None)
    assert "No open journey." in viz.journey_markdown(closed)


def test_strategy_override_is_static_after_reset_even_with_a_schedule():
    """A vendor with a schedule (flighted budget) keeps the budget set in the view."""
    scenario = str(viz.ROOT / "scenarios" / "flighted_budgets.toml")
    strategies = viz.Strategies()
    m = viz.VizModel(scenario, BUYERS, strategies=strategies)
    i = m.vendor_names.index("Flighted")
    assert m.vendors[i].policy.plan(13).spend_array().sum() == 0  # dark in week 13
    strategies.set(m, i, viz.Strategy(5000.0, {"search": 1.0}))
    m2 = viz.VizModel(scenario, BUYERS, strategies=strategies)
    for _ in range(15):
        m2.step()
    assert m2.market.spend[i].sum() == pytest.approx(5000.0)
    assert m2.market.spent[i].sum() == pytest.approx(15 * 5000.0)


def test_parse_seed():
    assert viz.parse_seed("12", 3) == (12, None)
    assert viz.parse_seed(" ", 3) == (3, None)
    assert viz.parse_seed(None, 3) == (3, None)
    assert viz.parse_seed(5, 3) == (5, None)
    assert viz.parse_seed("-1", 3)[0] == 3
    assert viz.parse_seed("x", 3)[1]


def test_serve_arguments_and_command_line(tmp_path):
    import argparse

    from analysis import serve
    from sim.scenario import ScenarioError

    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.buyers) == ("127.0.0.1", 8765, None)
    assert args.scenario.endswith("baseline.toml")
    args = parser.parse_args(["x.toml", "--host", "0.0.0.0", "--port", "9000", "--buyers", "50"])
    assert (args.scenario, args.host, args.port, args.buyers) == ("x.toml", "0.0.0.0", 9000, 50)
    cmd = serve.server_command("127.0.0.1", 9000)
    assert cmd[1:3] == ["run", str(serve.APP)] and "--production" in cmd
    assert cmd[0].endswith("solara")
    env = serve.server_env(tmp_path / "s.toml", 50)
    assert env["BJS_SCENARIO"] == str((tmp_path / "s.toml").resolve())
    assert env["BJS_BUYERS"] == "50"
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    args = parser.parse_args([str(tmp_path / "missing.toml")])
    with pytest.raises(ScenarioError):
        serve.command(args)  # checked before any server starts
