"""Speed of the live view: step + redraw, Reset, first build, at 2,000 and 10,000 buyers.

    .venv/bin/python benchmarks/bench_viz.py [--buyers 2000 10000] [--steps 30] [--browser]
    .venv/bin/python benchmarks/bench_viz.py --screenshot docs/viz-screenshot.png
    .venv/bin/python benchmarks/bench_viz.py --buyers 2000 --steps 40 --data-loop

In-process numbers drive the page with solara.render (what the server does per click:
model step, every chart re-rendered to PNG, widgets updated). With --browser it also
times a Step click in Debian's chromium until the week counter shows the new week (adds
the websocket round trip and the browser's image decode). --screenshot serves 2,000
buyers, plays 40 weeks, clicks a buyer on the graph (its journey card opens) and saves
the page (how docs/viz-screenshot.png is made). --data-loop also times step + redraw with
the DATA-loop panel: scenarios/data_loop.toml's focal vendor on its first data-loop variant
(weeks played past its first adjustment, week 26, when --steps allows).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def model_weeks(buyers: int, steps: int) -> dict[str, float]:
    """The core model's week alone, with touches recorded (the live view) and without."""
    from sim.model import BuyerJourneyModel
    from sim.scenario import load_scenario

    scenario = load_scenario(ROOT / "scenarios" / "baseline.toml")
    scenario = scenario.with_changes({"buyers.count": buyers})
    out = {}
    for touches in (True, False):
        model = BuyerJourneyModel(scenario, record_touches=touches)
        times = []
        for _ in range(steps):
            t = time.perf_counter()
            model.step()
            times.append(time.perf_counter() - t)
        label = "with touches" if touches else "no touches"
        out[f"model week alone, {label}, median (ms)"] = 1000 * statistics.median(times)
    return out


def in_process(buyers: int, steps: int) -> dict[str, float]:
    os.environ["BJS_BUYERS"] = str(buyers)
    import ipyvuetify as v
    import solara

    from analysis.live.page import Page

    t = time.perf_counter()
    _, rc = solara.render(solara.AppLayout(children=[Page()]), handle_error=False)
    first = time.perf_counter() - t
    step = rc.find(v.Btn, children=["Step"]).widget
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step.click()
        times.append(time.perf_counter() - t)
    # a buyer's journey card open (picked as a click does): it is rebuilt every frame
    field = rc.find(v.TextField, label=f"Buyer # (0-{buyers - 1}; or click the graph)").widget
    field.v_model = str(buyers // 2)
    t = time.perf_counter()
    field.fire_event("keyup.enter", {})
    pick = time.perf_counter() - t
    card = []
    for _ in range(max(5, steps // 3)):
        t = time.perf_counter()
        step.click()
        card.append(time.perf_counter() - t)
    reset = rc.find(v.Btn, children=["Reset"]).widget
    t = time.perf_counter()
    reset.click()
    reset_same = time.perf_counter() - t
    seed = rc.find(v.TextField, label="Seed (on Reset)").widget
    seed.v_model = "12345"
    seed.fire_event("keyup.enter", {})
    t = time.perf_counter()
    reset.click()
    reset_new = time.perf_counter() - t
    rc.close()
    times.sort()
    return {
        "first page build (s)": first,
        "step + redraw, median (ms)": 1000 * statistics.median(times),
        "step + redraw, p90 (ms)": 1000 * times[int(0.9 * (len(times) - 1))],
        "pick a buyer: card + graph redrawn (ms)": 1000 * pick,
        "step + redraw with a journey card open, median (ms)": 1000 * statistics.median(card),
        "Reset, same set-up: layout reused (s)": reset_same,
        "Reset, new seed: new graph + layout (s)": reset_new,
    }


def in_process_loop(buyers: int, steps: int) -> dict[str, float]:
    """Step + redraw with a data-loop vendor (its panel drawn every frame)."""
    os.environ["BJS_BUYERS"] = str(buyers)
    os.environ["BJS_SCENARIO"] = str(ROOT / "scenarios" / "data_loop.toml")
    import ipyvuetify as v
    import solara

    from analysis.live.page import Page

    _, rc = solara.render(solara.AppLayout(children=[Page()]), handle_error=False)
    step = rc.find(v.Btn, children=["Step"]).widget
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step.click()
        times.append(time.perf_counter() - t)
    rc.close()
    del os.environ["BJS_SCENARIO"]
    times.sort()
    return {
        "data loop: step + redraw, median (ms)": 1000 * statistics.median(times),
        "data loop: step + redraw, max (ms)": 1000 * times[-1],
    }


def serve(buyers: int) -> tuple[subprocess.Popen, str]:
    """`solara run analysis/live/app.py` on a free port with the baseline at `buyers` buyers."""
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from conftest import free_port, wait_http_ok

    from analysis.cli.viz import server_command, server_env

    port = free_port()
    env = server_env(ROOT / "scenarios" / "baseline.toml", buyers)
    proc = subprocess.Popen(
        server_command("127.0.0.1", port),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_http_ok(url, 60, proc)
    except Exception:
        proc.terminate()
        proc.wait()
        raise
    return proc, url


def in_browser(buyers: int, steps: int) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    from conftest import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    proc, url = serve(buyers)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1300})
            t = time.perf_counter()
            page.goto(url)
            page.get_by_text("Time: 0.0", exact=True).wait_for(timeout=120_000)
            page.locator("main img").nth(3).wait_for(timeout=60_000)
            load = time.perf_counter() - t
            button = page.get_by_role("button", name="Step", exact=True)
            times = []
            for week in range(1, steps + 1):
                t = time.perf_counter()
                button.click()
                page.get_by_text(f"Time: {week}.0", exact=True).wait_for(timeout=30_000)
                times.append(time.perf_counter() - t)
            t = time.perf_counter()
            page.get_by_role("button", name="Reset", exact=True).click()
            page.get_by_text("Time: 0.0", exact=True).wait_for(timeout=60_000)
            reset = time.perf_counter() - t
            browser.close()
    finally:
        proc.terminate()
        proc.wait()
    times.sort()
    return {
        "browser: page load to first frame (s)": load,
        "browser: Step click to new week shown, median (ms)": 1000 * statistics.median(times),
        "browser: Reset click to week 0 shown (s)": reset,
    }


def screenshot(path: Path, buyers: int = 2000, weeks: int = 40) -> None:
    """The documentation screenshot: `weeks` weeks played, a buyer's journey card open."""
    sys.path.insert(0, str(ROOT / "tests" / "e2e"))
    import numpy as np
    from conftest import CHROMIUM, CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    from analysis.live.state import VizModel
    from analysis.live.style import GRAPH_PX, LEGEND_PX

    twin = VizModel(str((ROOT / "scenarios" / "baseline.toml").resolve()), buyers)
    for _ in range(weeks):
        twin.step()
    pos = twin.layout.pos
    gap = np.array([np.partition(((pos - q) ** 2).sum(1), 1)[1] for q in pos]) ** 0.5
    clear = np.flatnonzero((twin.buyers.journey >= 0) & (gap > 0.008))  # easy to hit
    row = int(clear[len(clear) // 2])
    proc, url = serve(buyers)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1300})
            page.goto(url)
            page.get_by_text("Time: 0.0", exact=True).wait_for(timeout=120_000)
            step = page.get_by_role("button", name="Step", exact=True)
            for week in range(1, weeks + 1):
                step.click()
                page.get_by_text(f"Time: {week}.0", exact=True).wait_for(timeout=30_000)
            img = page.locator(".bjs-graph img")
            box = img.bounding_box()
            share = GRAPH_PX / (GRAPH_PX + LEGEND_PX)
            x, y = twin.layout.pos[row]
            page.mouse.click(
                box["x"] + x * share * box["width"], box["y"] + (1 - y) * box["height"]
            )
            try:
                page.locator(".bjs-buyer-card").get_by_text(f"Buyer #{row}").wait_for(
                    timeout=30_000
                )
            finally:
                page.wait_for_timeout(500)
                page.screenshot(path=str(path), full_page=True)
            browser.close()
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--buyers", type=int, nargs="+", default=[2000, 10000])
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--browser", action="store_true")
    ap.add_argument("--screenshot", type=Path, help="save the documentation screenshot here")
    ap.add_argument("--data-loop", action="store_true", help="also time the DATA-loop panel")
    args = ap.parse_args()
    if args.screenshot:
        screenshot(args.screenshot)
        return
    for n in args.buyers:
        # a fresh process per size keeps caches and memory from leaking between sizes
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--_one",
                str(n),
                str(args.steps),
                str(args.browser),
                str(args.data_loop),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        print(f"## {n:,} buyers")
        print(out.stdout.split("@@RESULTS@@")[-1].strip())
        print()


if __name__ == "__main__" and "--_one" in sys.argv:
    i = sys.argv.index("--_one")
    n, steps, browser = int(sys.argv[i + 1]), int(sys.argv[i + 2]), sys.argv[i + 3] == "True"
    loop = len(sys.argv) > i + 4 and sys.argv[i + 4] == "True"
    results = model_weeks(n, steps)
    results.update(in_process(n, steps))
    if loop:
        results.update(in_process_loop(n, steps))
    if browser:
        results.update(in_browser(n, min(steps, 15)))
    print("@@RESULTS@@")
    for k, val in results.items():
        print(f"- {k}: {val:.3f}" if val < 10 else f"- {k}: {val:.0f}")
elif __name__ == "__main__":
    main()
