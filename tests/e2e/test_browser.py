"""The live view in a real browser: Debian's chromium driven by Playwright.

Opens the page served by `solara run analysis/live/app.py --production`, presses Step,
checks that the week counter and the charts changed, moves a vendor's budget slider,
resets, and saves a screenshot; clicks a buyer on the graph and reads its journey card
and its account card (the buying group and how its last journey ended). Set
BJS_SCREENSHOT=path to keep the screenshot somewhere.
"""

from __future__ import annotations

import os
import shutil

import pytest

pytestmark = pytest.mark.browser

LOAD_TIMEOUT = 45_000  # ms: first page load (front-end assets from the local cache)


def chart_sources(page) -> list[str]:
    return page.locator("main img").evaluate_all("els => els.map(e => e.src)")


def wait_week(page, week: int) -> None:
    page.get_by_text(f"Time: {week}.0", exact=True).wait_for(timeout=10_000)


def table_row(page, vendor: str) -> list[str]:
    row = page.locator("tr", has=page.locator("td", has_text=vendor)).first
    return [c.strip() for c in row.locator("td").all_inner_texts()]


def test_step_slider_reset_screenshot(viz_page, tmp_path):
    page = viz_page
    wait_week_0 = page.get_by_text("Time: 0.0", exact=True)
    wait_week_0.wait_for(timeout=LOAD_TIMEOUT)
    page.locator("main img").nth(4).wait_for(timeout=10_000)
    assert page.locator("main img").count() == 5  # graph, funnel, vendors, groups, sources
    # the main area is not blank (a known ipyvuetify 3 failure): images have a size
    box = page.locator("main img").first.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 150
    before = chart_sources(page)

    step = page.get_by_role("button", name="Step", exact=True)
    for week in range(1, 5):
        step.click()
        wait_week(page, week)
    page.get_by_text("Vendors after week 4 of 104").wait_for(timeout=10_000)
    page.wait_for_function(
        "before => Array.from(document.querySelectorAll('main img'))"
        ".filter((e, i) => e.src !== before[i]).length >= 3",
        arg=before,
        timeout=10_000,
    )
    after = chart_sources(page)
    assert sum(a != b for a, b in zip(before, after, strict=True)) >= 3

    # move the first vendor's weekly budget slider to 0 with the keyboard (Home)
    vendor = page.locator(".v-select__selection").first.inner_text().strip()
    budget = page.get_by_role("slider").first
    budget.focus()
    budget.press("Home")
    step.click()
    wait_week(page, 5)
    page.get_by_text("Vendors after week 5 of 104").wait_for(timeout=10_000)
    cells = table_row(page, vendor)
    assert cells[1] == "0", cells  # budget / wk column of the vendor table

    page.get_by_role("button", name="Reset", exact=True).click()
    wait_week(page, 0)
    page.get_by_text("Vendors after week 0 of 104").wait_for(timeout=10_000)
    # the budget change holds after Reset
    assert table_row(page, vendor)[1] == "0"

    shot = tmp_path / "viz.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    if os.environ.get("BJS_SCREENSHOT"):
        shutil.copy(shot, os.environ["BJS_SCREENSHOT"])


def test_click_a_buyer_shows_its_journey(viz_page):
    """Click a buyer's dot on the referral graph: its journey card opens with its stage.

    The server's model is deterministic, so the test builds the same model (same
    scenario, buyers and seed), plays the same weeks and knows where each buyer is drawn
    and what stage it is in."""
    import numpy as np

    from analysis.live.cards import decision_text
    from analysis.live.groups import last_decision
    from analysis.live.state import VizModel
    from analysis.live.style import GRAPH_PX, LEGEND_PX

    from .conftest import ROOT, TEST_BUYERS

    page = viz_page
    page.get_by_text("Time: 0.0", exact=True).wait_for(timeout=LOAD_TIMEOUT)
    step = page.get_by_role("button", name="Step", exact=True)
    weeks = 4
    for week in range(1, weeks + 1):
        step.click()
        wait_week(page, week)
    page.get_by_text(f"Referral graph – week {weeks},").wait_for(timeout=10_000)

    twin = VizModel(str((ROOT / "scenarios" / "baseline.toml").resolve()), TEST_BUYERS)
    for _ in range(weeks):
        twin.step()
    pos = twin.layout.pos
    # a buyer in a journey whose dot is well clear of every other dot
    gap = np.array([np.partition(((pos - p) ** 2).sum(1), 1)[1] for p in pos]) ** 0.5
    candidates = np.flatnonzero((twin.buyers.journey >= 0) & (gap > 0.015))
    assert candidates.size
    row = int(candidates[0])
    journey = twin.buyer(row).journey()

    img = page.locator(".bjs-graph img")
    box = img.bounding_box()
    assert box is not None and box["width"] > 200
    plot_share = GRAPH_PX / (GRAPH_PX + LEGEND_PX)
    x = box["x"] + pos[row, 0] * plot_share * box["width"]
    y = box["y"] + (1.0 - pos[row, 1]) * box["height"]
    before = img.evaluate("e => e.src")
    page.mouse.click(x, y)

    card = page.locator(".bjs-buyer-card")
    card.get_by_text(f"Buyer #{row}", exact=True).wait_for(timeout=10_000)
    text = " ".join(card.inner_text().split())
    assert f"stage {journey['stage'].replace('_', ' ')}" in text, text
    assert f"{journey['research_share']:.0%} of its research done" in text, text
    # the picked buyer is ringed on the graph: the image was redrawn
    page.wait_for_function(
        "before => document.querySelector('.bjs-graph img').src !== before",
        arg=before,
        timeout=10_000,
    )

    # the buyer's account: its buying group, and how the group's last journey ended
    account = page.locator(".bjs-account-card")
    a = int(twin.buyers.account[row])
    if twin.accounts.singletons:
        account.get_by_text("One-person buying group").wait_for(timeout=10_000)
    else:
        account.get_by_text(f"Account #{a}").wait_for(timeout=10_000)
        said = " ".join(account.inner_text().split())
        size = int(twin.accounts.size[a])
        assert f"buying group of {size}, group stage" in said, said
        for member in range(twin.accounts.start[a], twin.accounts.start[a + 1]):
            assert f"buyer #{member}" in said, said
        ended = decision_text(last_decision(twin, a)).replace("**", "")
        assert ended in said, said
        # colour by the group's stage: the graph is redrawn
        before = img.evaluate("e => e.src")
        page.get_by_role("button", name="group stage", exact=True).click()
        page.wait_for_function(
            "before => document.querySelector('.bjs-graph img').src !== before",
            arg=before,
            timeout=10_000,
        )

    # the fallback: type a buyer's number
    other = int(candidates[1])
    field = page.get_by_label(f"Buyer # (0-{TEST_BUYERS - 1}; or click the graph)")
    field.fill(str(other))
    field.press("Enter")
    card.get_by_text(f"Buyer #{other}", exact=True).wait_for(timeout=10_000)
    stage = twin.buyer(other).journey()["stage"].replace("_", " ")
    assert f"stage {stage}" in " ".join(card.inner_text().split())


def test_data_loop_panel_shows_the_mix_and_an_adjustment(viz_page, tmp_path):
    """Load a scenario with a data-loop vendor through the sidebar: the DATA-loop panel
    appears, and after its first adjustment week it lists the adjustment and its
    beliefs; the truth note says where true returns come from."""
    from analysis.paths import BASELINE

    text = BASELINE.read_text().replace(
        'name = "SearchHeavy"',
        'name = "SearchHeavy"\npolicy = "data_loop"\ndata_loop = { baseline_weeks = 4, '
        'cadence_weeks = 4, window_weeks = 4, tracking = { method = "perfect" } }',
        1,
    )
    scenario = tmp_path / "data_loop_scenario.toml"
    scenario.write_text(text)

    page = viz_page
    page.get_by_text("Time: 0.0", exact=True).wait_for(timeout=LOAD_TIMEOUT)
    assert page.locator(".bjs-loop-panel").count() == 0  # the baseline: no panel
    field = page.get_by_label("Scenario file")
    field.fill(str(scenario))
    field.press("Enter")
    page.get_by_role("button", name="Reset", exact=True).click()
    panel = page.locator(".bjs-loop-panel")
    # a new model from the file: as slow as a first load when the other test worker
    # keeps both cores busy
    panel.get_by_text("No adjustment yet.").wait_for(timeout=LOAD_TIMEOUT)
    assert page.locator("main img").count() == 6  # the DATA-loop chart too
    before = panel.locator("img").evaluate("e => e.src")
    step = page.get_by_role("button", name="Step", exact=True)
    for week in range(1, 6):
        step.click()
        wait_week(page, week)
    panel.get_by_text("Adjusted at week 5.").wait_for(timeout=10_000)
    said = " ".join(panel.inner_text().split())
    assert "Return per 100,000 spent at week 5" in said, said
    assert "true returns: run run.py dataloop and load its truth file" in said, said
    assert panel.locator("img").evaluate("e => e.src") != before
    box = panel.locator("img").bounding_box()
    assert box is not None and box["width"] > 200
