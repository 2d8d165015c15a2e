"""`python run.py viz [SCENARIO]`: start the Solara live view (sim/viz.py) and print its URL.

The scenario is checked first (a bad file is one line and exit code 2), then
`solara run sim/viz.py --production` is started with the venv's own solara executable;
the scenario reaches the app through the BJS_SCENARIO environment variable. Ctrl-C stops
it. Solara's front-end assets are served from the local cache the set-up script fills
(scripts/setup.sh), so the page works without internet.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from analysis.cli import int_arg, load_with_overrides

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "sim" / "viz.py"
DEFAULT_SCENARIO = ROOT / "scenarios" / "baseline.toml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The viz subcommand's arguments."""
    parser.add_argument(
        "scenario", nargs="?", default=str(DEFAULT_SCENARIO), help="scenario TOML file"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port", type=int_arg("--port", 1, 65535), default=8765, help="port (default 8765)"
    )
    parser.add_argument(
        "--buyers",
        type=int_arg("--buyers"),
        help="start with this many buyers (default: the scenario's)",
    )


def solara_executable() -> str:
    """The solara next to this Python (the venv's), else the one on PATH."""
    here = Path(sys.executable).parent / "solara"
    if here.exists():
        return str(here)
    found = shutil.which("solara")
    if found is None:
        raise FileNotFoundError("solara is not installed; run scripts/setup.sh")
    return found


def server_command(host: str, port: int) -> list[str]:
    """The command line that serves the app."""
    return [
        solara_executable(),
        "run",
        str(APP),
        "--host",
        host,
        "--port",
        str(port),
        "--production",
    ]


def server_env(scenario: Path, buyers: int | None = None) -> dict[str, str]:
    """The environment for the server: the scenario, no telemetry."""
    env = dict(os.environ)
    env["BJS_SCENARIO"] = str(scenario.resolve())
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    if buyers is not None:
        env["BJS_BUYERS"] = str(buyers)
    else:
        env.pop("BJS_BUYERS", None)
    return env


def command(args: argparse.Namespace) -> int:
    """Validate the scenario, start the server, print the URL, wait for Ctrl-C."""
    path = Path(args.scenario)
    # a bad file or --buyers is a ScenarioError: one line and exit 2 (run.py)
    scenario = load_with_overrides(path, args.buyers)
    url = f"http://{args.host}:{args.port}/"
    proc = subprocess.Popen(
        server_command(args.host, args.port),
        env=server_env(path, args.buyers),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=None,
    )
    print(f"live view of {scenario.name!r} at {url}  (Ctrl-C stops it)", flush=True)

    def on_term(signum, frame):  # a SIGTERM to the launcher stops the server too
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        return 0 if proc.wait() in (0, -signal.SIGINT) else 1
    except KeyboardInterrupt:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        print("stopped", file=sys.stderr)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
