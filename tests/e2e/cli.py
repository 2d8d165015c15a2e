"""Run the command line as a user does: a fresh interpreter, output captured."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """`python run.py ARGS...` in `cwd`; returns the finished process (never raises)."""
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def default_ctrl_c() -> None:
    """In a child about to run a command: Ctrl-C (SIGINT) acts as in a terminal.

    A test runner started in the background (`nohup ... &`, some CI runners) inherits
    SIGINT ignored, and so would every command it starts: Python then never raises
    KeyboardInterrupt. The tests that press Ctrl-C start their command with this."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)
