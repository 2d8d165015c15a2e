"""`python run.py viz [SCENARIO]`: start the Solara live view (analysis/live) and print its URL.

The scenario (or DATA-loop study) file is checked first (a bad file is one line and exit
code 2), then `solara run analysis/live/app.py --production` is started with the venv's
own solara executable; the file reaches the app through the BJS_SCENARIO environment
variable (analysis.live.inputs names it). Ctrl-C stops it. Solara's front-end assets are
served from the local cache the set-up script fills (scripts/setup.sh), so the page
works without internet.

The port is tried first (bound and released): a port in use is one line and exit code 2,
before any URL is printed. On Linux the server is told to stop when the launcher dies
(prctl PR_SET_PDEATHSIG), so a launcher killed with -9 leaves no server on the port.
"""

from __future__ import annotations

import argparse
import errno
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

from analysis.cli.options import int_arg, load_with_overrides
from analysis.errors import UsageError
from analysis.live.inputs import BUYERS_ENV, SCENARIO_ENV, is_study_data
from analysis.paths import BASELINE as DEFAULT_SCENARIO
from analysis.paths import ROOT

APP = ROOT / "analysis" / "live" / "app.py"  # the live view's page (scenario or study file)


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
    env[SCENARIO_ENV] = str(scenario.resolve())
    env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] = "False"
    if buyers is not None:
        env[BUYERS_ENV] = str(buyers)
    else:
        env.pop(BUYERS_ENV, None)
    return env


def check_port(host: str, port: int) -> None:
    """Bind (host, port) as the server will, then let it go.

    Raises:
        UsageError: the host is not an address of this machine, the port is in use, or
            it needs privileges; one line saying which and what to do.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise UsageError(f"--host {host!r}: not a known address ({why})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # as uvicorn does: a port left in TIME_WAIT by an earlier server is free
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise UsageError(
                    f"--port {port}: port {port} on {host} is in use (another server is "
                    f"listening there); choose another, e.g. --port {port + 1 if port < 65535 else 8765}"
                ) from None
            if exc.errno == errno.EACCES:
                raise UsageError(
                    f"--port {port}: not allowed to listen on port {port} (ports below 1024 "
                    "need privileges); choose --port 1024 or above"
                ) from None
            if exc.errno == errno.EADDRNOTAVAIL:
                raise UsageError(
                    f"--host {host}: not an address of this machine; use 127.0.0.1 (this "
                    "machine only) or 0.0.0.0 (all interfaces)"
                ) from None
            raise UsageError(
                f"--port {port}: cannot listen on {host}:{port} ({exc.strerror})"
            ) from None


def _die_with_parent(parent: int):
    """For Popen(preexec_fn=...): on Linux, the child gets SIGTERM when the launcher dies
    (also by kill -9), so no server is left on the port; elsewhere nothing."""

    def arm() -> None:
        if not sys.platform.startswith("linux"):
            return
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:  # the launcher died before the watch was set
            os._exit(0)

    return arm


def command(args: argparse.Namespace) -> int:
    """Validate the scenario, check the port, start the server, print the URL, wait for
    Ctrl-C."""
    from sim.scenario import shown

    path = Path(args.scenario)
    # a bad file or --buyers is a ScenarioError: one line and exit 2 (run.py)
    from sim.scenario import read_toml

    data = read_toml(path, "scenario or study")
    if is_study_data(data):
        # a DATA-loop study: its base scenario here; the page picks the policy variant
        from analysis.studies.dataloop import study as dl

        base = dl.load_study(path).scenario
        scenario = base if args.buyers is None else base.with_changes({"buyers.count": args.buyers})
    else:
        scenario = load_with_overrides(path, args.buyers)
    check_port(args.host, args.port)  # before any URL is printed
    host = f"[{args.host}]" if ":" in args.host else args.host
    url = f"http://{host}:{args.port}/"
    proc = subprocess.Popen(
        server_command(args.host, args.port),
        env=server_env(path, args.buyers),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=None,
        preexec_fn=_die_with_parent(os.getpid()),  # no threads here yet: preexec_fn is safe
    )
    print(f"live view of {shown(scenario.name)} at {url}  (Ctrl-C stops it)", flush=True)

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
