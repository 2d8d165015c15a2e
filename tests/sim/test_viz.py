"""Headless tests of the live view (solara.render, no browser): every control does what
its label says, charts redraw after a step, Reset is fast and keeps the set-up."""

from __future__ import annotations

import functools
import time

import ipyvuetify as v
import ipywidgets
import numpy as np
import pytest
import solara

from sim import viz
from sim.channels import CHANNEL_NAMES, Stage

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
    # same graph: the layout is reused, not recomputed
    assert second.layout is first.layout
    assert elapsed < 2.0


def test_play_and_speed_controls_exist():
    rc = render()
    rc.find(v.Btn, children=["▶"]).assert_single()
    interval = slider(rc, "Play Interval (ms)")
    interval.v_model = 20
    assert interval.v_model == 20


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
    budget = slider(rc, "Weekly budget")
    budget.v_model = 1000.0
    assert m.spend[0].sum() == pytest.approx(1000.0)
    click(rc, "Step")
    assert m.marketing_spend()[0] == pytest.approx(1000.0 + m.social_selling_spend[0])
    click(rc, "Reset")
    m2 = model_of(rc)
    assert m2.spend[0].sum() == pytest.approx(1000.0)
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
    assert m.spend[1, i] > 0
    # the other vendors are untouched
    assert m.spend[0, i] == 0
    exposure_before = m.exposure_cdf.copy()
    slider(rc, "Mix: Microblogs").v_model = 0.0
    assert m.spend[1, i] == 0
    assert not np.array_equal(exposure_before, m.exposure_cdf)


def test_every_paid_channel_has_a_mix_slider():
    rc = render()
    for c in viz.PAID_CHANNELS:
        label = "Mix: " + viz.CHANNELS[c].label.split(" (")[0]
        rc.find(v.Slider, label=label).assert_single()


def test_graph_chart_marks_purchases_by_vendor():
    m = viz.VizModel(str(viz.DEFAULT_SCENARIO), BUYERS)
    while (m.stage == Stage.BOUGHT).sum() == 0 and m.running:
        m.step()
    viz.chart_png(m, "graph")
    chart = m.charts["graph"]
    bought = np.flatnonzero(m.stage == Stage.BOUGHT)
    assert len(chart.bought.get_offsets()) == bought.size
    assert len(chart.plain.get_offsets()) == m.n_buyers - bought.size


def test_layout_is_cached_per_graph():
    m1 = viz.VizModel(str(viz.DEFAULT_SCENARIO), BUYERS)
    m2 = viz.VizModel(str(viz.DEFAULT_SCENARIO), BUYERS)
    assert m1.layout is m2.layout
    pos = m1.layout.pos
    assert pos.shape == (BUYERS, 2)
    assert np.isfinite(pos).all() and pos.min() >= 0 and pos.max() <= 1


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
