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
import pandas as pd
import pytest
import solara
from matplotlib.colors import to_rgba_array

from analysis.live import view as viz
from sim.channels import CHANNEL_NAMES, Stage
from sim.policies import StaticPolicy
from sim.processes.base import ClosedJourneys
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
    return card_text(rc, "bjs-buyer-card")


def card_text(rc, css: str) -> str:
    """The plain text of the card with class `css` ("" if there is none)."""
    cards = [w for w in rc.find(v.Card).widgets if css in (w.class_ or "")]
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

    from analysis.cli import viz as serve
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


# ------------------------------------------------------------------ accounts and groups
def scenario_file(tmp_path, accounts: bool) -> str:
    """The baseline with accounts on (consensus 67%) or off (one-person accounts), as a
    file the view can load."""
    text = viz.DEFAULT_SCENARIO.read_text()
    text = re.sub(r"(?ms)^\[(accounts|calibration)\]\n.*?(?=^\[)", "", text)
    if accounts:
        text += "\n[accounts]\nconsensus = 0.67\n"
    path = tmp_path / ("accounts.toml" if accounts else "one_person.toml")
    path.write_text(text)
    return str(path)


def closed(week, reason, size, outcome=None, account=None) -> ClosedJourneys:
    """Closed journeys with the given end weeks, reasons and group sizes."""
    week, reason, size = (np.asarray(x, dtype=np.int64) for x in (week, reason, size))
    n = week.size
    outcome = (reason == 0).astype(np.int8) if outcome is None else np.asarray(outcome)
    z = np.zeros(n, dtype=np.int64)
    return ClosedJourneys(
        journey_id=z,
        buyer_id=z,
        start_week=z,
        end_week=week,
        outcome=outcome,
        vendor=np.where(outcome == 1, 0, -1),
        deal_value=np.zeros(n),
        share_at_contact=np.zeros(n),
        originated=np.zeros(n, dtype=bool),
        referred=np.zeros(n, dtype=bool),
        account_id=np.arange(n) if account is None else np.asarray(account),
        group_size=size,
        size_class=z,
        reason=reason.astype(np.int8),
    )


def test_group_stage_is_the_furthest_members_stage():
    start = np.array([0, 3, 4, 6])
    stage = np.array([1, 3, 2, 0, 5, 5], dtype=np.int8)
    np.testing.assert_array_equal(viz.group_stage(stage, start), [3, 3, 3, 0, 5, 5])
    # one-person accounts: the buyer's own stage
    single = np.arange(len(stage) + 1)
    np.testing.assert_array_equal(viz.group_stage(stage, single), stage)


def test_no_decision_reasons_by_week_and_purchase_rate_by_group_size():
    blocks = [
        closed([0, 0, 0], [0, 1, 2], [1, 2, 3]),
        closed([2, 2, 2, 2], [2, 2, 1, 0], [3, 3, 1, 3]),
    ]
    by_week = viz.reasons_by_week(blocks, 4)
    np.testing.assert_array_equal(by_week, [[1, 1], [0, 0], [1, 2], [0, 0]])
    assert viz.reasons_by_week(blocks, 1).tolist() == [[1, 1]]  # later weeks left out
    assert viz.reasons_by_week([], 3).tolist() == [[0, 0]] * 3
    n, rate = viz.purchase_rate_by_size(blocks, 4)
    assert n.tolist() == [0, 2, 1, 4, 0]
    assert rate[1] == 0.5 and rate[2] == 0.0 and rate[3] == 0.25
    assert np.isnan(rate[0]) and np.isnan(rate[4])


def test_vote_shares_are_each_groups_weight_behind_each_option():
    choice = np.array([-1, 0, 0, 1, -1])
    weight = np.array([1.0, 2.0, 1.0, 1.0, 3.0])
    group = np.array([0, 0, 0, 1, 1])
    shares = viz.vote_shares(choice, weight, group, 2, 2)
    np.testing.assert_allclose(shares, [[0.25, 0.75, 0.0], [0.75, 0.0, 0.25]])


def test_the_view_decides_as_the_core_and_keeps_each_groups_votes(tmp_path):
    """The view's Decision is the core's (same draws, same outcomes) and keeps the votes
    of every group that decided; the votes explain each verdict."""
    from sim.model import BuyerJourneyModel
    from sim.scenario import load_scenario

    path = scenario_file(tmp_path, accounts=True)
    m = viz.VizModel(path, BUYERS)
    core = BuyerJourneyModel(load_scenario(path).with_changes({"buyers.count": BUYERS}))
    for _ in range(30):
        m.step()
        core.step()
    np.testing.assert_array_equal(m.market.conversions, core.market.conversions)
    np.testing.assert_array_equal(m.buyers.stage, core.buyers.stage)
    log = m.recorder("journeys")
    assert log.column("account_id").size
    threshold = m.spec.accounts.consensus
    for c in log.closed:
        for k, a in enumerate(c.account_id.tolist()):
            shares = m.votes.of(a, int(c.end_week[k]))
            if shares is None:  # a later decision of the account replaced them
                assert m.votes.week[a] > c.end_week[k]
                continue
            assert shares.sum() == pytest.approx(1.0)
            top = int(np.argmax(shares))
            if c.reason[k] == 1:  # status quo
                assert top == 0
            elif c.reason[k] == 2:  # no consensus: a vendor led without enough backing
                assert top > 0 and shares[top] < threshold
            else:
                assert top == c.vendor[k] + 1 and shares[top] >= threshold - 1e-12


def test_account_card_says_why_a_group_ended_without_a_consensus(tmp_path):
    m = viz.VizModel(scenario_file(tmp_path, accounts=True), BUYERS)
    log = m.recorder("journeys")
    found = None
    while m.running and found is None:
        m.step()
        for c in log.closed[-1:]:
            for a in c.account_id[(c.reason == 2) & (c.group_size >= 2)].tolist():
                found = a
    assert found is not None, "no group ended without a consensus"
    a = found
    decision = viz.last_decision(m, a)
    assert decision["reason"] == "no_consensus" and decision["vendor"] is None
    assert decision["week"] == m.week - 1
    row = int(m.accounts.start[a])
    account = m.buyer(row + 1).journey()["account"]
    text = viz.account_markdown(account, decision)
    size = viz.SIZE_CLASSES[int(m.accounts.size_class[a])].replace("_", " ")
    assert f"**Account #{a}**: {size}, buying group of {m.accounts.size[a]}" in text
    assert "group stage **no decision**" in text
    lead = m.buyer(row).seniority.replace("_", " ")
    assert f"buyer #{row} (lead), {lead}: no decision" in text
    assert f"buyer #{row + 1}, " in text
    assert f"Last decision (week {m.week}): **no decision**: " in text
    assert "no vendor had the backing of 67% of the group's weight: votes were " in text
    # the votes, largest first, name a vendor ahead and sum to the whole group
    votes = re.search(r"votes were (.*)\.$", text).group(1)
    parts = [p.rsplit(" ", 1) for p in votes.split(", ")]
    shares = [float(p[1].rstrip("%")) for p in parts]
    assert shares == sorted(shares, reverse=True) and 97 <= sum(shares) <= 103
    assert parts[0][0] in m.vendor_names and shares[0] < 67  # 66.7 shown as such


def test_decision_text_for_a_purchase_a_status_quo_and_none_yet():
    base = {"week": 4, "group_size": 3, "consensus": 0.5}
    bought = dict(base, vendor="A", reason="", votes={"A": 0.6, "status quo": 0.4})
    assert viz.decision_text(bought) == (
        "Last decision (week 5): bought from **A** (votes were A 60%, status quo 40%)."
    )
    quo = dict(base, vendor=None, reason="status_quo", votes={"status quo": 0.7, "B": 0.3})
    assert viz.decision_text(quo) == (
        "Last decision (week 5): **no decision**: the status quo had the most support "
        "(votes were status quo 70%, B 30%)."
    )
    assert "votes were not kept" in viz.decision_text(dict(quo, votes=None))
    short = dict(base, vendor=None, reason="no_consensus", consensus=0.67)
    short["votes"] = {"A": 2 / 3, "status quo": 1 / 3}
    assert viz.decision_text(short).endswith(
        "no vendor had the backing of 67% of the group's weight: "
        "votes were A 66.7%, status quo 33.3%."
    )
    assert viz.decision_text(None) == "No group decision yet."


def test_graph_colours_by_group_stage_and_size_class_and_rings_the_group(tmp_path):
    m = viz.VizModel(scenario_file(tmp_path, accounts=True), BUYERS)
    for _ in range(10):
        m.step()
    acc = m.accounts
    a = int(np.flatnonzero(acc.size >= 3)[0])
    row = int(acc.start[a])
    stage_png = viz.chart_png(m, "graph", row)
    chart = m.charts["graph"]
    plain = m.buyers.stage != Stage.BOUGHT
    members = np.arange(acc.start[a], acc.start[a + 1])
    np.testing.assert_allclose(chart.group.get_offsets(), m.layout.pos[members[1:]])
    np.testing.assert_allclose(chart.picked.get_offsets(), m.layout.pos[[row]])
    group_png = viz.chart_png(m, "graph", row, "group stage")
    assert group_png != stage_png and chart.mode == "group stage"
    assert chart.legends["group stage"].get_visible()
    assert not chart.legends["buyer stage"].get_visible()
    want = to_rgba_array(chart.stage_lut[viz.group_stage(m.buyers.stage, acc.start)[plain]])
    np.testing.assert_allclose(chart.plain.get_facecolor(), want)
    viz.chart_png(m, "graph", row, "size class")
    sizes = acc.size_class[m.buyers.account[plain]]
    want = to_rgba_array(
        [(list(viz.SIZE_COLOURS.values()) + [viz.SINGLE_COLOUR])[s] for s in sizes]
    )
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


def test_page_with_accounts_shows_the_account_card_and_colour_toggle(tmp_path, monkeypatch):
    monkeypatch.setenv(viz.SCENARIO_ENV, scenario_file(tmp_path, accounts=True))
    rc = render()
    m = model_of(rc)
    assert not m.accounts.singletons
    assert any("in" in t and "accounts" in t for t in markdown_texts(rc))
    for _ in range(6):
        click(rc, "Step")
    a = int(np.flatnonzero(m.accounts.size >= 2)[0])
    row = int(m.accounts.start[a])
    graph = rc.find(viz.ClickableImage).widget
    graph.vue_clicked(dict(zip(("x", "y"), buyer_pixel(m, row), strict=True)))
    card = account_card(rc)
    assert f"Account #{a}" in card
    assert f"buying group of {m.accounts.size[a]}" in card
    assert f"buyer #{row} (lead)" in card and f"buyer #{row + 1}, " in card
    # colour by group stage: the graph is redrawn with the group legend
    before = graph.image.value
    toggle = rc.find(v.BtnToggle).widget
    toggle.v_model = viz.COLOUR_BY.index("group stage")
    assert m.charts["graph"].mode == "group stage"
    assert rc.find(viz.ClickableImage).widget.image.value != before
    click(rc, "Step")
    assert m.charts["graph"].mode == "group stage"


def test_page_without_accounts_says_one_person_groups(tmp_path, monkeypatch):
    monkeypatch.setenv(viz.SCENARIO_ENV, scenario_file(tmp_path, accounts=False))
    rc = render()
    m = model_of(rc)
    assert m.accounts.singletons
    assert any("one-person buying groups" in t for t in markdown_texts(rc))
    rc.find(v.BtnToggle).assert_empty()  # no account-only control
    click(rc, "Step")
    field = rc.find(v.TextField, label=f"Buyer # (0-{BUYERS - 1}; or click the graph)").widget
    field.v_model = "42"
    field.fire_event("keyup.enter", {})
    assert "One-person buying group" in account_card(rc)
    assert m.charts["groups"].fig._suptitle.get_text().startswith("One-person buying groups")
    # a colouring picked with accounts falls back to the buyer's stage
    viz.chart_png(m, "graph", 42, "group stage")
    assert m.charts["graph"].mode == "buyer stage"


def markdown_texts(rc) -> list[str]:
    """The plain text of every Markdown on the page (the main area sits in SolaraViz's
    grid widget: walk every widget-valued trait down from the top)."""
    out: list[str] = []
    seen: set[int] = set()

    def walk(w) -> None:
        if isinstance(w, list | tuple):
            for x in w:
                walk(x)
            return
        if not isinstance(w, ipywidgets.Widget) or id(w) in seen:
            return
        seen.add(id(w))
        template = getattr(w, "template", None)
        if isinstance(template, str):
            out.append(html.unescape(re.sub(r"<[^>]+>", "", template.split("<script")[0])))
        for name in w.keys:
            if name not in ("template", "layout", "style"):
                walk(getattr(w, name, None))

    for top in rc.find(ipywidgets.Widget).widgets:
        walk(top)
    return out


def account_card(rc) -> str:
    """The plain text of the open account card ("" if none)."""
    return card_text(rc, "bjs-account-card")


# ------------------------------------------------------------------------ the DATA loop
LOOP_VENDOR = "SearchHeavy"
NO_TRUTH = viz.NO_TRUTH_NOTE.replace("`", "")  # as rendered (code spans)


def data_loop_file(tmp_path, baseline: int = 4, cadence: int = 4) -> str:
    """The baseline with SearchHeavy on the DATA loop (perfect tracking, short baseline
    and cadence so a small test run sees adjustments)."""
    text = viz.DEFAULT_SCENARIO.read_text()
    loop = (
        f'policy = "data_loop"\ndata_loop = {{ baseline_weeks = {baseline}, '
        f'cadence_weeks = {cadence}, window_weeks = {baseline}, tracking = {{ method = "perfect" }} }}'
    )
    text = text.replace(f'name = "{LOOP_VENDOR}"', f'name = "{LOOP_VENDOR}"\n{loop}', 1)
    path = tmp_path / "data_loop_scenario.toml"
    path.write_text(text)
    return str(path)


def beliefs_frame(rows) -> pd.DataFrame:
    cols = ["vendor", "week", "channel", "believed_return", "share_before", "share_after"]
    return pd.DataFrame(rows, columns=cols)


def test_mix_over_weeks_is_each_weeks_share_of_the_vendors_channel_spend():
    c = len(CHANNEL_NAMES)
    week0 = np.zeros((2, c))
    week0[1, :2] = (300.0, 100.0)
    week1 = np.zeros((2, c))
    week1[1, :2] = (100.0, 300.0)
    week1[0, 3] = 50.0
    mix = viz.mix_over_weeks([week0, week1, np.zeros((2, c))], 1)
    assert mix.shape == (3, c)
    np.testing.assert_allclose(mix[0, :2], (0.75, 0.25))
    np.testing.assert_allclose(mix[1, :2], (0.25, 0.75))
    assert mix[2].sum() == 0  # no spend: no shares, no division by zero
    assert viz.mix_over_weeks([], 0).shape == (0, c)


def test_adjustment_weeks_done_and_planned():
    b = beliefs_frame(
        [
            ("A", 13, "search", 1e-5, 0.5, 0.4),
            ("A", 13, "microblogs", 2e-5, 0.5, 0.6),
            ("A", 26, "search", 1e-5, 0.4, 0.3),
            ("B", 52, "search", 1e-5, 1.0, 1.0),
        ]
    )
    assert viz.adjustment_weeks(b, "A") == [13, 26]
    assert viz.adjustment_weeks(b, "C") == []
    assert viz.adjustment_weeks(beliefs_frame([]), "A") == []
    assert viz.planned_adjustments(26, 13, 104) == [26, 39, 52, 65, 78, 91]
    assert viz.planned_adjustments(200, 13, 104) == []


def test_returns_table_puts_the_latest_beliefs_next_to_the_matching_truth():
    b = beliefs_frame(
        [
            ("A", 26, "search", 1e-5, 0.5, 0.4),
            ("A", 26, "microblogs", 4e-5, 0.5, 0.6),
            ("A", 39, "search", 2e-5, 0.4, 0.3),
            ("A", 39, "microblogs", np.nan, 0.6, 0.7),
            ("B", 39, "search", 9e-5, 1.0, 1.0),
        ]
    )
    truth = pd.DataFrame(
        {
            "week": [26, 26, 39, 39, 52, 26],
            "channel": ["search", "microblogs", "search", "microblogs", "search", "search"],
            "true_return": [3e-5, 1e-5, 3.5e-5, 0.5e-5, 9.9, 7.7],
            "low": [2e-5, 0.0, 3e-5, 0.0, 9.0, 7.0],
            "high": [4e-5, 2e-5, 4e-5, 1e-5, 10.0, 8.0],
            "oracle": ["oracle@13"] * 5 + ["oracle@52"],
        }
    )
    t = viz.returns_table(b, "A", truth, cadence=13).set_index("channel")
    assert list(t.index) == ["search", "microblogs"] and set(t["week"]) == {39}
    assert t.loc["search", "believed_return"] == 2e-5
    assert np.isnan(t.loc["microblogs", "believed_return"])  # no spend: no belief
    # the oracle of the same cadence, at its latest week at or before the adjustment
    assert t.loc["search", "true_return"] == 3.5e-5 and t.loc["search", "truth_week"] == 39
    assert (t.loc["search", "true_low"], t.loc["search", "true_high"]) == (3e-5, 4e-5)
    assert set(t["oracle"]) == {"oracle@13"}
    assert viz.returns_table(b, "A", truth, cadence=52).loc[0, "true_return"] == 7.7
    # no truth: believed only, the true columns empty (nothing is made up)
    alone = viz.returns_table(b, "A")
    assert alone["true_return"].isna().all() and alone["truth_week"].isna().all()
    # a truth that starts after the adjustment: no truth for it
    late = truth.assign(week=truth["week"] + 100)
    assert viz.returns_table(b, "A", late, 13)["true_return"].isna().all()
    assert len(viz.returns_table(b, "C", truth)) == 0


def test_read_truth_takes_run_py_dataloops_file_and_refuses_others(tmp_path):
    good = tmp_path / viz.TRUTH_FILE
    pd.DataFrame(
        {
            "week": [26],
            "channel": ["search"],
            "share": [0.25],
            "true_return": [3e-5],
            "low": [2e-5],
            "high": [4e-5],
            "oracle": ["oracle@13"],
        }
    ).to_csv(good, index=False)
    t = viz.read_truth(good)
    assert t.problem == "" and t.table.loc[0, "true_return"] == 3e-5
    bad = tmp_path / "bad.csv"
    bad.write_text("week,channel\n26,search\n")
    t = viz.read_truth(bad)
    assert t.table is None and "true_return" in t.problem
    t = viz.read_truth(tmp_path / "missing.csv")
    assert t.table is None and "missing.csv" in t.problem
    # picked up next to the scenario when none is typed in
    scenario = str(tmp_path / "s.toml")
    assert viz.truth_path(scenario, "") == str(good)
    assert viz.truth_path(scenario, " other.csv ") == "other.csv"
    assert viz.truth_path(str(tmp_path / "sub" / "s.toml"), None) is None


@pytest.fixture
def studies():
    """The view as `run.py viz` serves it (analysis/viz_app.py): able to read study files."""
    from analysis.studies.dataloop.study import load_study

    viz.register_study_loader(load_study)
    yield
    viz.register_study_loader(None)


def test_without_the_analysis_page_a_study_file_is_one_line():
    """sim never imports analysis: sim/viz.py alone refuses a study file, in one line."""
    from sim.scenario import ScenarioError

    with pytest.raises(ScenarioError, match="run.py viz FILE") as err:
        viz.load_view_scenario(viz.ROOT / "scenarios" / "data_loop.toml")
    assert "\n" not in str(err.value)


def test_a_study_file_runs_its_base_scenario_with_a_chosen_policy_variant(studies):
    path = viz.ROOT / "scenarios" / "data_loop.toml"
    assert viz.is_study_file(path) and not viz.is_study_file(viz.DEFAULT_SCENARIO)
    scenario, (labels, chosen) = viz.load_view_scenario(path)
    assert "static" in labels and not any(x.startswith("oracle") for x in labels)
    focal = next(v for v in scenario.vendors if v.name == "Focal")
    assert chosen == next(x for x in labels if x != "static")  # the first data-loop one
    assert focal.policy == "data_loop"
    scenario, (_, chosen) = viz.load_view_scenario(path, "survey@52")
    focal = next(v for v in scenario.vendors if v.name == "Focal")
    assert chosen == "survey@52" and focal.loop.cadence_weeks == 52
    assert focal.loop.tracking.method == "point_of_sale"
    scenario, (_, chosen) = viz.load_view_scenario(path, "static")
    assert next(v for v in scenario.vendors if v.name == "Focal").policy == "static"
    m = viz.VizModel(str(path), BUYERS, loop=viz.LoopSetup("reverse@13"))
    assert m.study_variant == "reverse@13" and list(m.loops) == [m.vendor_names.index("Focal")]


def find_panel(rc):
    """The DATA-loop panel's widget (None if there is none). It sits in SolaraViz's grid
    widget: found by walking every widget-valued trait, as `markdown_texts` does."""
    panels: list = []
    seen: set[int] = set()

    def find(w) -> None:
        if isinstance(w, list | tuple):
            for x in w:
                find(x)
            return
        if not isinstance(w, ipywidgets.Widget) or id(w) in seen:
            return
        seen.add(id(w))
        if "bjs-loop-panel" in (getattr(w, "class_", None) or ""):
            panels.append(w)
        for name in w.keys:
            if name not in ("template", "layout", "style"):
                find(getattr(w, name, None))

    for top in rc.find(ipywidgets.Widget).widgets:
        find(top)
    return panels[0] if panels else None


def loop_image(rc) -> bytes:
    """The DATA-loop chart's PNG."""
    found = []

    def walk(w) -> None:
        if isinstance(w, ipywidgets.Image):
            found.append(w.value)
        for c in getattr(w, "children", None) or ():
            walk(c)

    walk(find_panel(rc))
    assert len(found) == 1
    return bytes(found[0])


def loop_panel(rc) -> str:
    """The plain text of the DATA-loop panel ("" if there is none)."""
    panel = find_panel(rc)
    if panel is None:
        return ""
    out: list[str] = []

    def walk(w) -> None:
        if isinstance(w, str):
            out.append(w)
            return
        template = getattr(w, "template", None)
        if isinstance(template, str):
            out.append(html.unescape(re.sub(r"<[^>]+>", " ", template.split("<script")[0])))
        for c in getattr(w, "children", None) or ():
            walk(c)

    walk(panel)
    return " ".join(" ".join(out).split())


def test_page_with_a_data_loop_vendor_shows_its_mix_and_beliefs(tmp_path, monkeypatch):
    monkeypatch.setenv(viz.SCENARIO_ENV, data_loop_file(tmp_path))
    rc = render()
    m = model_of(rc)
    index = m.vendor_names.index(LOOP_VENDOR)
    assert list(m.loops) == [index]
    assert len(images(rc)) == 6  # the five charts and the DATA-loop chart
    text = loop_panel(rc)
    assert "DATA loop" in text and "No adjustment yet." in text
    assert NO_TRUTH in text
    rc.find(v.Select, label="Adaptive vendor").assert_empty()  # only one: no select
    rc.find(v.TextField, label="Truth file (run.py dataloop's dataloop_truth.csv)").assert_single()
    chart = functools.partial(loop_image, rc)
    for _ in range(4):
        click(rc, "Step")
    before = chart()
    assert "No adjustment yet." in loop_panel(rc)
    click(rc, "Step")  # week 4 (0-based) is the first adjustment: its plan is played
    assert model_of(rc).week == 5
    text = loop_panel(rc)
    assert "Adjusted at week 5." in text
    assert "Return per 100,000 spent at week 5" in text and "Internet search" in text
    assert chart() != before
    done = m.charts[f"loop:{index}"].marks.get_segments()
    assert len(done) == 1 and done[0][0][0] == 5  # the adjustment is marked
    # the truth file, typed into the sidebar: true returns next to the believed ones
    truth = tmp_path / "elsewhere.csv"
    pd.DataFrame(
        {"week": [4], "channel": ["search"], "true_return": [4e-5], "low": [3e-5], "high": [5e-5]}
    ).to_csv(truth, index=False)
    before = chart()
    type_text(rc, "Truth file (run.py dataloop's dataloop_truth.csv)", str(truth))
    text = loop_panel(rc)
    assert "4.0 (3.0 to 5.0)" in text and NO_TRUTH not in text
    assert "oracle oracle at week 5" in text
    assert chart() != before
    type_text(rc, "Truth file (run.py dataloop's dataloop_truth.csv)", str(tmp_path / "no.csv"))
    assert "no.csv" in loop_panel(rc) and NO_TRUTH in loop_panel(rc)


def test_a_truth_file_next_to_the_scenario_is_picked_up(tmp_path, monkeypatch):
    monkeypatch.setenv(viz.SCENARIO_ENV, data_loop_file(tmp_path))
    pd.DataFrame({"week": [4], "channel": ["search"], "true_return": [2e-5]}).to_csv(
        tmp_path / viz.TRUTH_FILE, index=False
    )
    rc = render()
    for _ in range(5):
        click(rc, "Step")
    text = loop_panel(rc)
    assert viz.TRUTH_FILE in text and " 2.0 " in text


def test_several_data_loop_vendors_get_a_select(tmp_path, monkeypatch):
    path = data_loop_file(tmp_path)
    text = (
        open(path)
        .read()
        .replace(
            'name = "AnalystLed"',
            'name = "AnalystLed"\npolicy = "data_loop"\n'
            "data_loop = { baseline_weeks = 4, cadence_weeks = 8, window_weeks = 4 }",
            1,
        )
    )
    open(path, "w").write(text)
    monkeypatch.setenv(viz.SCENARIO_ENV, path)
    rc = render()
    assert "AnalystLed measures" in loop_panel(rc)
    select(rc, "Adaptive vendor").v_model = LOOP_VENDOR
    assert f"{LOOP_VENDOR} measures" in loop_panel(rc)
    assert len(images(rc)) == 6


def test_a_study_file_typed_in_runs_on_reset_and_its_variant_select_applies_on_reset(studies):
    rc = render()
    rc.find(v.Select, label="Policy variant (on Reset)").assert_empty()
    type_text(rc, "Scenario file", str(viz.ROOT / "scenarios" / "data_loop.toml"))
    click(rc, "Reset")
    m = model_of(rc)
    assert m.study_variant and m.loops and m.n_buyers == BUYERS
    assert "Focal measures with forward" in loop_panel(rc)
    select(rc, "Policy variant (on Reset)").v_model = "survey@13"
    assert model_of(rc) is m  # on Reset only
    click(rc, "Reset")
    m = model_of(rc)
    assert m.study_variant == "survey@13"
    assert "Focal measures with point of sale" in loop_panel(rc)
    select(rc, "Policy variant (on Reset)").v_model = "static"
    click(rc, "Reset")
    assert not model_of(rc).loops and loop_panel(rc) == ""  # a static focal: no panel


def test_no_data_loop_vendor_no_panel():
    rc = render()
    assert not model_of(rc).loops
    assert len(images(rc)) == 5
    assert loop_panel(rc) == ""
    assert not any("DATA loop" in t for t in markdown_texts(rc))
    rc.find(v.TextField, label="Truth file (run.py dataloop's dataloop_truth.csv)").assert_empty()
