"""Fixtures for the real-browser tests: the live view served by `solara run`, and Debian's
chromium driven by Playwright (never `playwright install`: the browser comes from the
project's set-up, `scripts/setup.sh --test`)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("BJS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: buyers in the browser test's model (small: the test is about the page, not speed)
TEST_BUYERS = 500


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http_ok(url: str, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f} s")


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """pytest-playwright's own fixtures, if used, must launch Debian's chromium too."""
    return {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def viz_url(tmp_path_factory):
    """`solara run analysis/live/app.py --production` (the launcher's command line) on a
    free port, with a 500-buyer baseline."""
    from analysis.cli.viz import server_command, server_env

    port = free_port()
    env = server_env(ROOT / "scenarios" / "baseline.toml", TEST_BUYERS)
    log = tmp_path_factory.mktemp("viz") / "server.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            server_command("127.0.0.1", port), env=env, cwd=ROOT, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_http_ok(url, 60, proc)
        yield url
    except Exception:
        sys.stderr.write(log.read_text(errors="replace")[-4000:])
        raise
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium, headless, driven by Playwright's sync API."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found (run scripts/setup.sh --test)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def viz_page(chromium, viz_url):
    """A fresh browser page (its own Solara session, so its own model) on the live view."""
    context = chromium.new_context(viewport={"width": 1500, "height": 1300})
    page = context.new_page()
    page.goto(viz_url)
    yield page
    context.close()
