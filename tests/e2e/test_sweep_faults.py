"""`run.py sweep` and `run.py report` under faults (issue 10), as a user meets them: two
sweeps on one folder at once, kill -9 of the driver alone (its workers must not outlive
it), Ctrl-C that reports the runs really saved, and damaged files that `report` names and
a resume sets aside and reruns. Every case ends with each run id stored exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from analysis.engine.results import load_sweep
from tests import builders

from ..conftest import ROOT
from .cli import cli, default_ctrl_c

SWEEP = builders.budget_sweep(
    "faults", (10000.0, 30000.0, 50000.0), replications=20, buyers=600, weeks=30
)
RUNS = 60

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "faults.toml"
    path.write_text(SWEEP, encoding="utf-8")
    return path


def start(sweep_file: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "sweep", str(sweep_file), "--out", str(out), *extra],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=default_ctrl_c,
    )


def runs_parts(out: Path) -> list[Path]:
    return sorted((out / "sweep=faults" / "table=runs").glob("part-*.parquet"))


def wait_for_parts(out: Path, proc: subprocess.Popen, n: int = 1) -> None:
    deadline = time.monotonic() + 120
    while len(runs_parts(out)) < n:
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.01)


def rows_on_disk(out: Path) -> int:
    return sum(pq.read_metadata(f).num_rows for f in runs_parts(out))


def assert_each_run_once(out: Path, total: int = RUNS) -> None:
    runs = load_sweep(out)
    assert len(runs) == total and runs["run_id"].is_unique
    assert (runs["status"] == "ok").all()
    assert rows_on_disk(out) == total  # on disk too, not only after the readers' dedup
    for table in ("vendors", "source_use"):
        df = load_sweep(out, table)
        assert df["run_id"].nunique() == total


def test_two_sweeps_on_one_folder_at_once(sweep_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = start(sweep_file, out, "--workers", "2", "--quiet")
    second = start(sweep_file, out, "--workers", "1", "--quiet")
    results = [(p, *p.communicate(timeout=120)) for p in (first, second)]
    codes = sorted(p.returncode for p, _, _ in results)
    assert codes == [0, 2], results
    loser = next(r for r in results if r[0].returncode == 2)
    winner = next(r for r in results if r[0].returncode == 0)
    lines = loser[2].strip().splitlines()
    assert len(lines) == 1, loser[2]
    assert lines[0].startswith(f"error: {out / 'sweep=faults'}: in use by another run (pid ")
    assert f"pid {winner[0].pid} on " in lines[0] and "run.py sweep" in lines[0]
    assert f"ran {RUNS} runs" in winner[1]
    assert_each_run_once(out)
    # once the first is done the folder is free: a rerun runs nothing
    again = cli("sweep", str(sweep_file), "--out", str(out), "--quiet")
    assert again.returncode == 0 and f"all {RUNS} runs already" in again.stdout


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for f in Path(f"/proc/{pid}/task").glob("*/children"):
        kids += [int(x) for x in f.read_text().split()]
    return kids


def _running(pid: int) -> bool:
    """Alive and not a zombie (a dead orphan waits for init to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_workers_do_not_outlive_a_killed_driver(sweep_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = start(sweep_file, out, "--workers", "2", "--quiet")
    wait_for_parts(out, proc)
    workers = _children(proc.pid)
    assert len(workers) >= 2
    os.kill(proc.pid, signal.SIGKILL)  # the driver alone, not its process group
    proc.wait(timeout=30)
    killed = time.monotonic()
    while any(_running(w) for w in workers) and time.monotonic() - killed < 60:
        time.sleep(0.05)  # a guard against a hang, not a timing claim: they end by themselves
    survivors = [w for w in workers if _running(w)]
    for w in survivors:  # do not leave them behind if the test fails
        os.kill(w, signal.SIGKILL)
    assert not survivors, "workers went on running after their driver was killed"
    partial = rows_on_disk(out)
    assert 0 < partial < RUNS
    time.sleep(0.5)
    assert rows_on_disk(out) == partial  # nothing is committed after the driver died
    r = cli("sweep", str(sweep_file), "--out", str(out), "--workers", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert f"({partial} were already there)" in r.stdout
    assert "taking over the lock left by pid" in r.stderr
    assert_each_run_once(out)


def test_ctrl_c_stops_at_once_and_counts_the_runs_on_disk(sweep_file: Path, tmp_path: Path):
    out = tmp_path / "out"
    proc = start(sweep_file, out, "--workers", "2")
    wait_for_parts(out, proc, n=2)
    os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    last = err.strip().splitlines()[-1]
    saved = rows_on_disk(out)
    assert saved < RUNS  # it stopped: the runs not yet started never ran
    assert last.startswith(f"interrupted: {saved} of {RUNS} runs are saved"), (last, saved)
    assert "Traceback" not in err
    r = cli("sweep", str(sweep_file), "--out", str(out), "--workers", "2", "--quiet")
    assert r.returncode == 0 and f"({saved} were already there)" in r.stdout
    assert_each_run_once(out)


def test_report_names_a_damaged_file_and_a_resume_reruns_its_chunk(tmp_path: Path) -> None:
    sweep_file = tmp_path / "small.toml"  # 12 small runs: the damage is the point here
    sweep_file.write_text(
        SWEEP.replace("replications = 20", "replications = 4")
        .replace('"buyers.count" = 600', '"buyers.count" = 300')
        .replace("weeks = 30", "weeks = 15"),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert (
        cli("sweep", str(sweep_file), "--out", str(out), "--workers", "2", "--quiet").returncode
        == 0
    )
    sdir = out / "sweep=faults"
    victim = sorted((sdir / "table=vendors").glob("part-*.parquet"))[0]
    victim.write_bytes(victim.read_bytes()[:100])  # truncated
    (sdir / "sweep.json").write_text("{ not json")
    page = tmp_path / "report.html"
    r = cli("report", str(out), "--out", str(page), "--quiet")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert r.stderr.startswith(f"error: {victim}: damaged result file: unreadable")
    assert not page.exists()
    r = cli("sweep", str(sweep_file), "--out", str(out), "--workers", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    assert f"table=vendors/{victim.name}: unreadable" in r.stderr and "quarantine" in r.stderr
    assert "were already there" in r.stdout
    assert_each_run_once(out, 12)
    r = cli("report", str(out), "--out", str(page), "--quiet")
    assert r.returncode == 0, r.stderr
    assert page.is_file()
