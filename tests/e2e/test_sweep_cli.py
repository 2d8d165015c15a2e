"""`run.py sweep` as a user meets it: validate, one clear line for a bad file, and a
sweep killed with SIGKILL (driver or a worker) or Ctrl-C that, run again, ends with
exactly the rows of an uninterrupted sweep."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from analysis.engine.results import load_sweep
from tests.builders import budget_sweep, grid_sweep, write

from ..conftest import ROOT, SCENARIOS
from .cli import cli, default_ctrl_c

#: 3 budgets x 24 replications: 72 runs of 600 buyers, long enough to be interrupted
SWEEP = budget_sweep(
    "killme", (10000.0, 30000.0, 50000.0), replications=24, buyers=600, weeks=30, seed=99
)
TABLES = ("runs", "vendors", "source_use")


def start(*args: str) -> subprocess.Popen:
    """The sweep in its own process group, so the group holds the driver and workers."""
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=default_ctrl_c,
    )


def wait_for_parts(sdir: Path, proc: subprocess.Popen, n: int = 2) -> None:
    deadline = time.monotonic() + 120
    while len(list((sdir / "table=runs").glob("part-*.parquet"))) < n:
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.02)


def rows(out: Path) -> dict[str, pd.DataFrame]:
    result = {}
    for table in TABLES:
        df = load_sweep(out, table).drop(columns=["elapsed_s"], errors="ignore")
        keys = [c for c in ("run_id", "vendor", "stage", "channel") if c in df]
        result[table] = df.sort_values(keys).reset_index(drop=True)
    return result


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "killme.toml"
    path.write_text(SWEEP, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(sweep_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("ref") / "out"
    r = cli("sweep", str(sweep_file), "--out", str(out), "--workers", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "ran 72 runs" in r.stdout
    return rows(out)


def assert_same(out: Path, reference: dict) -> None:
    got = rows(out)
    assert got["runs"]["run_id"].is_unique
    assert len(got["runs"]) == 72
    for table in TABLES:
        pd.testing.assert_frame_equal(got[table], reference[table])


def test_validate_reports_sweep_files(tmp_path: Path) -> None:
    tiny = write(tmp_path, grid_sweep("tiny", replications=3), "tiny.toml")
    files = [str(tiny), *sorted(str(p) for p in SCENARIOS.glob("sweep_*.toml"))]
    r = cli("validate", *files)
    assert r.returncode == 0, r.stderr
    assert f"ok: {tiny}: sweep tiny (12 runs)" in r.stdout  # 2 x 2 variants x 3 replications
    assert len(r.stdout.strip().splitlines()) == len(files)


def test_bad_sweep_file_gets_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(budget_sweep("bad", (1000.0,), replications=0), encoding="utf-8")
    for args in (("validate", str(bad)), ("sweep", str(bad), "--out", str(tmp_path / "o"))):
        r = cli(*args)
        assert r.returncode == 2
        assert r.stderr.count("\n") == 1, r.stderr
        assert r.stderr.startswith(f"error: {bad}: sweep.replications: must be a whole number")
    assert not (tmp_path / "o").exists()


def test_unreachable_dask_scheduler_is_one_line(sweep_file: Path, tmp_path: Path) -> None:
    r = cli("sweep", str(sweep_file), "--out", str(tmp_path), "--dask", "tcp://127.0.0.1:9")
    assert r.returncode == 2
    assert r.stderr.startswith("error: --dask: cannot reach a Dask scheduler")
    assert r.stderr.count("\n") == 1, r.stderr


def test_resume_after_kill_9_of_driver_and_workers(
    sweep_file: Path, tmp_path: Path, reference: dict
) -> None:
    out = tmp_path / "out"
    proc = start("sweep", str(sweep_file), "--out", str(out), "--workers", "2", "--quiet")
    wait_for_parts(out / "sweep=killme", proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    partial = len(load_sweep(out))
    assert 0 < partial < 72
    r = cli("sweep", str(sweep_file), "--out", str(out), "--workers", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert f"({partial} were already there)" in r.stdout
    assert_same(out, reference)


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def _workers(driver: int) -> list[int]:
    """Pool workers: the driver's descendants without children of their own (workers are
    forked by the driver or by a forkserver), leaving out the resource tracker."""
    found, todo = [], _children(driver)
    while todo:
        pid = todo.pop()
        kids = _children(pid)
        todo.extend(kids)
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if not kids and b"resource_tracker" not in cmd:
            found.append(pid)
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc to find the workers")
def test_resume_after_kill_9_of_a_worker(sweep_file: Path, tmp_path: Path, reference: dict) -> None:
    out = tmp_path / "out"
    proc = start("sweep", str(sweep_file), "--out", str(out), "--workers", "2", "--quiet")
    wait_for_parts(out / "sweep=killme", proc, n=1)
    workers = _workers(proc.pid)
    assert workers
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    if proc.returncode != 0:  # the usual case: the pool breaks and the driver says so
        assert proc.returncode == 1, err
        assert "run the same command again" in err
    r = cli("sweep", str(sweep_file), "--out", str(out), "--workers", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert_same(out, reference)


def test_ctrl_c_stops_with_130_and_resumes(
    sweep_file: Path, tmp_path: Path, reference: dict
) -> None:
    out = tmp_path / "out"
    proc = start("sweep", str(sweep_file), "--out", str(out), "--workers", "2")
    wait_for_parts(out / "sweep=killme", proc)
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "run the same command again" in err.splitlines()[-1]
    assert "Traceback" not in err
    r = cli("sweep", str(sweep_file), "--out", str(out), "--workers", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert_same(out, reference)
