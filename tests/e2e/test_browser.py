"""The live view in a real browser: Debian's chromium driven by Playwright.

Opens the page served by `solara run sim/viz.py --production`, presses Step, checks that
the week counter and the charts changed, moves a vendor's budget slider, resets, and
saves a screenshot. Set BJS_SCREENSHOT=path to keep the screenshot somewhere.
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
    page.locator("main img").nth(3).wait_for(timeout=10_000)
    assert page.locator("main img").count() == 4
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
