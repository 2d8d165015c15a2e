"""The live view's panels on the page, headless: the journey and account cards open on a
click or a typed number, the graph's colouring follows its toggle, and the DATA-loop
panel shows a data-loop vendor's mix, adjustments and believed vs true returns."""

from __future__ import annotations

import functools

import ipyvuetify as v
import numpy as np
import pandas as pd

from analysis.live.images import chart_png
from analysis.live.inputs import SCENARIO_ENV
from analysis.live.loop import NO_TRUTH_NOTE
from analysis.live.style import COLOUR_BY, channel_label
from analysis.live.widgets import ClickableImage
from analysis.studies.dataloop.truth import TRUTH_FILE

from .driver import (
    BUYERS,
    account_card,
    buyer_pixel,
    click,
    images,
    journey_card,
    loop_image,
    loop_panel,
    markdown_texts,
    model_of,
    render,
    select,
    type_buyer,
    type_text,
)
from .scenarios import LOOP_VENDOR, data_loop_file, scenario_file, study_file

NO_TRUTH = NO_TRUTH_NOTE.replace("`", "")  # as rendered (code spans)
TRUTH_FIELD = "Truth file (run.py dataloop's dataloop_truth.csv)"


def test_click_on_a_buyer_opens_its_journey_card():
    rc = render()
    for _ in range(6):
        click(rc, "Step")
    m = model_of(rc)
    assert journey_card(rc) == ""
    # a buyer in a journey, clicked at its dot on the image
    row = int(np.flatnonzero(m.buyers.journey >= 0)[0])
    graph = rc.find(ClickableImage).widget
    before = graph.image.value
    fx, fy = buyer_pixel(m, row)
    graph.vue_clicked({"x": fx + 0.002, "y": fy - 0.002})  # a pixel or so off the centre
    text = journey_card(rc)
    journey = m.buyer(row).journey()
    assert f"Buyer #{row}" in text
    assert f"stage {journey['stage'].replace('_', ' ')}" in text
    assert f"{journey['research_share']:.0%} of its research done" in text
    for vendor in journey["considered"]:
        assert vendor in text
    last_week, channel, _ = journey["touches"][-1]
    assert f"week {last_week + 1}, {channel_label(channel)}" in text
    # the graph marks the picked buyer
    assert graph.image.value != before
    np.testing.assert_allclose(m.charts["graph"].picked.get_offsets(), m.layout.pos[[row]])
    # a click on the legend picks nobody: the card stays
    graph.vue_clicked({"x": 0.95, "y": 0.5})
    assert f"Buyer #{row}" in journey_card(rc)
    # the card follows the buyer as the weeks go by
    click(rc, "Step")
    stage = m.buyer(row).journey()["stage"].replace("_", " ")  # the card's label
    assert f"stage {stage}" in journey_card(rc)


def test_buyer_number_input_opens_the_card_too():
    rc = render()
    click(rc, "Step")
    m = model_of(rc)
    type_buyer(rc, 42)
    text = journey_card(rc)
    assert "Buyer #42" in text
    assert m.buyer(42).seniority.replace("_", " ") in text
    type_buyer(rc, BUYERS + 5)  # no such buyer: the card stays on 42
    assert "Buyer #42" in journey_card(rc)


def test_page_with_accounts_shows_the_account_card_and_colour_toggle(tmp_path, monkeypatch):
    monkeypatch.setenv(SCENARIO_ENV, scenario_file(tmp_path, accounts=True))
    rc = render()
    m = model_of(rc)
    assert not m.accounts.singletons
    assert any("in" in t and "accounts" in t for t in markdown_texts(rc))
    for _ in range(6):
        click(rc, "Step")
    a = int(np.flatnonzero(m.accounts.size >= 2)[0])
    row = int(m.accounts.start[a])
    graph = rc.find(ClickableImage).widget
    graph.vue_clicked(dict(zip(("x", "y"), buyer_pixel(m, row), strict=True)))
    card = account_card(rc)
    assert f"Account #{a}" in card
    assert f"buying group of {m.accounts.size[a]}" in card
    assert f"buyer #{row} (lead)" in card and f"buyer #{row + 1}, " in card
    # colour by group stage: the graph is redrawn with the group legend
    before = graph.image.value
    toggle = rc.find(v.BtnToggle).widget
    toggle.v_model = COLOUR_BY.index("group stage")
    assert m.charts["graph"].mode == "group stage"
    assert rc.find(ClickableImage).widget.image.value != before
    click(rc, "Step")
    assert m.charts["graph"].mode == "group stage"


def test_page_without_accounts_says_one_person_groups(tmp_path, monkeypatch):
    monkeypatch.setenv(SCENARIO_ENV, scenario_file(tmp_path, accounts=False))
    rc = render()
    m = model_of(rc)
    assert m.accounts.singletons
    assert any("one-person buying groups" in t for t in markdown_texts(rc))
    rc.find(v.BtnToggle).assert_empty()  # no account-only control
    click(rc, "Step")
    type_buyer(rc, 42)
    assert "One-person buying group" in account_card(rc)
    assert m.charts["groups"].fig._suptitle.get_text().startswith("One-person buying groups")
    # a colouring picked with accounts falls back to the buyer's stage
    chart_png(m, "graph", 42, "group stage")
    assert m.charts["graph"].mode == "buyer stage"


def test_page_with_a_data_loop_vendor_shows_its_mix_and_beliefs(tmp_path, monkeypatch):
    monkeypatch.setenv(SCENARIO_ENV, data_loop_file(tmp_path))
    rc = render()
    m = model_of(rc)
    index = m.vendor_names.index(LOOP_VENDOR)
    assert list(m.loops) == [index]
    assert len(images(rc)) == 6  # the five charts and the DATA-loop chart
    text = loop_panel(rc)
    assert "DATA loop" in text and "No adjustment yet." in text
    assert NO_TRUTH in text
    rc.find(v.Select, label="Adaptive vendor").assert_empty()  # only one: no select
    rc.find(v.TextField, label=TRUTH_FIELD).assert_single()
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
    type_text(rc, TRUTH_FIELD, str(truth))
    text = loop_panel(rc)
    assert "4.0 (3.0 to 5.0)" in text and NO_TRUTH not in text
    assert "oracle oracle at week 5" in text
    assert chart() != before
    type_text(rc, TRUTH_FIELD, str(tmp_path / "no.csv"))
    assert "no.csv: no such file" in loop_panel(rc) and NO_TRUTH in loop_panel(rc)


def test_a_truth_file_next_to_the_scenario_is_picked_up(tmp_path, monkeypatch):
    monkeypatch.setenv(SCENARIO_ENV, data_loop_file(tmp_path))
    pd.DataFrame({"week": [4], "channel": ["search"], "true_return": [2e-5]}).to_csv(
        tmp_path / TRUTH_FILE, index=False
    )
    rc = render()
    for _ in range(5):
        click(rc, "Step")
    text = loop_panel(rc)
    assert TRUTH_FILE in text and " 2.0 " in text


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
    monkeypatch.setenv(SCENARIO_ENV, path)
    rc = render()
    assert "AnalystLed measures" in loop_panel(rc)
    select(rc, "Adaptive vendor").v_model = LOOP_VENDOR
    assert f"{LOOP_VENDOR} measures" in loop_panel(rc)
    assert len(images(rc)) == 6


def test_no_data_loop_vendor_no_panel():
    rc = render()
    assert not model_of(rc).loops
    assert len(images(rc)) == 5
    assert loop_panel(rc) == ""
    assert not any("DATA loop" in t for t in markdown_texts(rc))
    rc.find(v.TextField, label=TRUTH_FIELD).assert_empty()


def test_the_page_opens_a_study_file_directly(tmp_path, monkeypatch):
    """`run.py viz STUDY`: started on a DATA-loop study file, the page runs its base
    scenario with Focal on the first data-loop variant and offers the others (on Reset);
    oracle variants are not offered (their plan comes from `run.py dataloop`)."""
    monkeypatch.setenv(SCENARIO_ENV, study_file(tmp_path))
    rc = render()
    m = model_of(rc)
    assert m.notice == "" and m.n_buyers == BUYERS
    assert m.study_variant == "codes@13"
    assert m.study_variants[0] == "static" and not any("oracle" in x for x in m.study_variants)
    assert list(m.loops) == [m.vendor_names.index("Focal")]
    assert "Focal measures with forward" in loop_panel(rc)
    assert select(rc, "Policy variant (on Reset)").items == list(m.study_variants)
    rc.find(v.Html, tag="span", children=["running: codes@13"]).assert_single()


def test_a_study_file_typed_in_runs_on_reset_and_its_variant_select_applies_on_reset(tmp_path):
    rc = render()
    rc.find(v.Select, label="Policy variant (on Reset)").assert_empty()
    type_text(rc, "Scenario file", study_file(tmp_path))
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
