"""Faults a command meets while it writes, made real: a file size limit (`ulimit -f`, as a
full disk: every write past the limit fails with EFBIG), in a fresh interpreter.

    proc = cli_with_file_limit(20_000, "optimize", FILE, "--out", DIR)
    assert_one_line_error(proc, "cannot write")
    assert_nothing_half_written(DIR)
"""

from __future__ import annotations

import resource
import signal
import subprocess
import sys
from pathlib import Path

from .cli import ROOT


def cli_with_file_limit(limit_bytes: int, *args: str) -> subprocess.CompletedProcess:
    """`python run.py ARGS...` where no file may grow past `limit_bytes` (a write past it
    fails as on a full disk)."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=limit,
    )


def assert_one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit code 2, one line on stderr starting with 'error: ', no traceback; returns it."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip() and "\r" not in ln]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr[-2000:]
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]


def temporary_files(folder: Path) -> list[Path]:
    """Files a writer leaves when it fails half-way: `.NAME.PID.tmp` and the like."""
    return [p for p in Path(folder).rglob("*") if p.is_file() and p.name.endswith(".tmp")]


def assert_nothing_half_written(folder: Path, before: dict[str, bytes] | None = None) -> None:
    """No temporary file under `folder`, no empty file, and (given `before`, path ->
    bytes) every file that was there before is still there, whole and unchanged or
    replaced whole."""
    assert temporary_files(folder) == [], temporary_files(folder)
    empty = [p for p in Path(folder).rglob("*") if p.is_file() and p.stat().st_size == 0
             and p.name != ".lock"]  # fmt: skip
    assert empty == [], empty
    for rel, data in (before or {}).items():
        assert (Path(folder) / rel).read_bytes() == data, rel


def snapshot_bytes(folder: Path, suffixes: tuple[str, ...] = (".csv", ".html", ".json", ".md",
                                                               ".toml")) -> dict[str, bytes]:  # fmt: skip
    """The answer files directly in `folder` (relative path -> bytes)."""
    return {p.name: p.read_bytes() for p in Path(folder).iterdir()
            if p.is_file() and p.suffix in suffixes}  # fmt: skip
