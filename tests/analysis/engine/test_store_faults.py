"""Results folders under faults (issue 10), in-process and fast: the writer's lock, damaged
and duplicate parts (resume quarantines and reruns them; the report names them), readers
that count a run id once, a worker that may not commit, a full disk, output locations
checked before any work, and `simulate --out` replaced whole or not at all."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

import run
from analysis.engine import folders
from analysis.engine.context import ExecutionContext
from analysis.engine.design import load_sweep_file
from analysis.engine.experiment import ChunkTask, DriverGone, run_chunk
from analysis.engine.folders import FolderBusy, folder_lock
from analysis.engine.parts import inspect_parts, load_table
from analysis.engine.results import DuplicateRuns, load_sweep, query
from analysis.reports.sweep.data import load as load_report
from analysis.studies.sweep.study import run_sweep, sweep_experiment
from sim.scenario import ScenarioError
from tests import builders
from tests.conftest import ROOT

SWEEP = builders.budget_sweep(
    "faults", (10000.0, 40000.0), replications=4, buyers=250, weeks=10, seed=21
)
TABLES = ("runs", "vendors", "source_use")
RUNS = 8


def comparable(df: pd.DataFrame) -> pd.DataFrame:
    keys = [c for c in ("run_id", "vendor", "stage", "channel") if c in df]
    return df.drop(columns=["elapsed_s"], errors="ignore").sort_values(keys, ignore_index=True)


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("faults") / "faults.toml"
    path.write_text(SWEEP, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def done(sweep_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished sweep in chunks of 2 runs (4 parts per table): the reference."""
    out = tmp_path_factory.mktemp("done") / "out"
    outcome = run_sweep(load_sweep_file(sweep_file), out, workers=1, progress=False, chunk_size=2)
    assert outcome.ran == RUNS and outcome.complete
    return out


@pytest.fixture
def copy(done: Path, tmp_path: Path) -> Path:
    """A private copy of the finished sweep to damage."""
    out = tmp_path / "out"
    shutil.copytree(done, out)
    return out


def rerun(sweep_file: Path, out: Path):
    return run_sweep(load_sweep_file(sweep_file), out, workers=1, progress=False, chunk_size=2)


def assert_whole(out: Path, done: Path) -> None:
    """Every run id exactly once, and the same rows as the undamaged sweep."""
    runs = load_sweep(out)
    assert runs["run_id"].is_unique and len(runs) == RUNS
    for table in TABLES:
        pd.testing.assert_frame_equal(
            comparable(load_sweep(out, table)), comparable(load_sweep(done, table))
        )


def parts(out: Path, table: str) -> list[Path]:
    return sorted((out / "sweep=faults" / f"table={table}").glob("part-*.parquet"))


# --------------------------------------------------------------------------- the lock
def test_a_second_writer_gets_one_line_naming_the_holder(sweep_file: Path, tmp_path: Path):
    sdir = tmp_path / "out" / "sweep=faults"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from analysis.engine.folders import folder_lock\n"
            f"with folder_lock({str(sdir)!r}):\n    print('held', flush=True); sys.stdin.read()",
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(FolderBusy) as err:
            run_sweep(load_sweep_file(sweep_file), tmp_path / "out", workers=1, progress=False)
        msg = str(err.value)
        assert "\n" not in msg and msg.startswith(f"{sdir}: in use by another run")
        assert f"pid {holder.pid} on {socket.gethostname()}, started " in msg
        assert "-c" in msg  # the holder's command
        assert not parts(tmp_path / "out", "runs")  # nothing ran, nothing was removed
    finally:
        holder.communicate("", timeout=30)
    # the holder is gone: the folder is free, and the lock is re-entrant in one process
    with folder_lock(sdir) as token, folder_lock(sdir) as again:
        assert token == again
    assert (sdir / ".lock").read_text() == ""  # released cleanly


def test_a_dead_holders_lock_is_taken_over_with_a_note(
    sweep_file: Path, tmp_path: Path, capsys
) -> None:
    sdir = tmp_path / "out" / "sweep=faults"
    sdir.mkdir(parents=True)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    stale = {
        "pid": int(dead.stdout),
        "host": socket.gethostname(),
        "started": 1.7e9,
        "command": "run.py sweep x.toml --out y",
        "token": "abc",
    }
    (sdir / ".lock").write_text(json.dumps(stale))
    outcome = run_sweep(load_sweep_file(sweep_file), tmp_path / "out", workers=1, progress=False)
    assert outcome.complete
    notes = [ln for ln in capsys.readouterr().err.splitlines() if "taking over" in ln]
    assert len(notes) == 1 and f"pid {stale['pid']} on " in notes[0]


def test_a_worker_whose_driver_lost_the_folder_commits_nothing(
    sweep_file: Path, tmp_path: Path
) -> None:
    exp = sweep_experiment(load_sweep_file(sweep_file))
    out = tmp_path / "exp"
    with folder_lock(out) as token:
        task = ChunkTask(str(out), "c0", exp.scenario, exp.runs[:1], exp.params, exp.plan, "x")
        assert token != "x"
        with pytest.raises(DriverGone):
            run_chunk(task)
        assert not [f for f in out.rglob("*") if f.is_file() and f.name != ".lock"]
        ok = run_chunk(
            ChunkTask(str(out), "c1", exp.scenario, exp.runs[:1], exp.params, exp.plan, token)
        )
        assert ok.ok == 1


# --------------------------------------------------------------------------- damaged parts
def _truncate(f: Path) -> None:
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def _empty(f: Path) -> None:
    f.write_bytes(b"")


def _noise(f: Path) -> None:
    f.write_bytes(os.urandom(3000))


def _short_rows(f: Path) -> None:
    t = pq.read_table(f)
    pq.write_table(t.slice(0, len(t) - 1), f)


DAMAGE = {
    "truncated runs part": ("runs", _truncate, "unreadable"),
    "empty vendors part": ("vendors", _empty, "unreadable"),
    "random-bytes source_use part": ("source_use", _noise, "unreadable"),
    "vendors part missing": ("vendors", Path.unlink, "missing"),
    "vendors part short of rows": ("vendors", _short_rows, "rows, the chunk wrote"),
}


@pytest.mark.parametrize("case", DAMAGE, ids=list(DAMAGE))
def test_a_resume_quarantines_a_damaged_chunk_and_reruns_it(
    case: str, sweep_file: Path, copy: Path, done: Path, capsys
) -> None:
    table, damage, why = DAMAGE[case]
    victim = parts(copy, table)[1]
    damage(victim)
    # the report refuses, naming the file, in one line
    with pytest.raises(ScenarioError) as err:
        load_report(copy)
    assert str(err.value).startswith(f"{victim}: damaged result file: ")
    assert why in str(err.value) and "\n" not in str(err.value)
    # a resume moves the chunk aside (one line naming it) and runs its 2 runs again
    outcome = rerun(sweep_file, copy)
    assert (outcome.already, outcome.ran) == (RUNS - 2, 2)
    notes = [ln for ln in capsys.readouterr().err.splitlines() if "quarantine" in ln]
    assert len(notes) == 1 and victim.name in notes[0] and "1 damaged chunk" in notes[0]
    qdir = copy / "sweep=faults" / "quarantine"
    assert {p.name.split(".")[0] for p in qdir.rglob("*.quarantined")} == {victim.stem}
    assert not list(qdir.rglob("*.parquet"))  # no reader's glob picks them up
    assert_whole(copy, done)
    assert load_report(copy).runs["run_id"].is_unique


def test_a_broken_sweep_json_is_one_line_and_a_resume_rewrites_it(
    sweep_file: Path, copy: Path, done: Path
) -> None:
    info = copy / "sweep=faults" / "sweep.json"
    info.write_text('{"name": "fau')
    with pytest.raises(ScenarioError) as err:
        load_report(copy)
    msg = str(err.value)
    assert msg.startswith(f"{info}: damaged (JSONDecodeError") and "run.py sweep" in msg
    assert "\n" not in msg
    assert rerun(sweep_file, copy).ran == 0
    assert load_report(copy).info["name"] == "faults"


# --------------------------------------------------------------------------- duplicates
def _duplicate_chunk(out: Path) -> str:
    """What two writers on one folder leave: a chunk's runs again under another part name
    (another chunking), in every table."""
    for table in TABLES:
        src = parts(out, table)[0]
        shutil.copyfile(src, src.with_name("part-zzzz.parquet"))
    return "part-zzzz.parquet"


def test_readers_count_a_run_stored_twice_once_and_say_so(copy: Path, done: Path, capsys):
    name = _duplicate_chunk(copy)
    capsys.readouterr()
    for table in TABLES:
        pd.testing.assert_frame_equal(
            comparable(load_sweep(copy, table)), comparable(load_sweep(done, table))
        )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all("2 run ids" in ln and name in ln for ln in err)
    with pytest.raises(DuplicateRuns):
        load_sweep(copy, duplicates="raise")
    assert query("SELECT count(*) AS n, count(DISTINCT run_id) AS d FROM runs", copy).iloc[
        0
    ].tolist() == [RUNS, RUNS]
    assert query("SELECT count(*) AS n FROM vendors", copy)["n"][0] == len(
        load_sweep(done, "vendors")
    )
    sdir = copy / "sweep=faults"
    assert load_table(sdir, "runs")["run_id"].is_unique
    assert len(load_table(sdir, "vendors")) == len(load_sweep(done, "vendors"))
    # the report's n per variant is the number of replications, not twice that
    d = load_report(copy)
    assert len(d.runs) == RUNS and d.vendors.groupby(["variant", "vendor"]).size().max() == 4


def test_a_resume_quarantines_a_duplicate_chunk(sweep_file: Path, copy: Path, done: Path, capsys):
    name = _duplicate_chunk(copy)
    damaged, duplicates = inspect_parts(copy / "sweep=faults")
    assert not damaged and [d.part for d in duplicates] == [name]
    assert rerun(sweep_file, copy).ran == 0
    note = [ln for ln in capsys.readouterr().err.splitlines() if "quarantine" in ln]
    assert len(note) == 1 and "1 duplicate chunk" in note[0] and name in note[0]
    assert not (copy / "sweep=faults" / "table=runs" / name).exists()
    assert_whole(copy, done)


# --------------------------------------------------------------------------- full disk
def test_a_full_disk_when_a_sweep_starts_is_one_line_and_leaves_no_temp_file(
    sweep_file: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    real = Path.write_bytes

    def full(self: Path, data: bytes, *args, **kwargs):
        if self.name.startswith(".sweep.json"):
            real(self, data[:10], *args, **kwargs)  # a partial file, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_bytes", full)
    out = tmp_path / "out"
    code = run.main(["sweep", str(sweep_file), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"error: {out / 'sweep=faults'}: cannot write sweep.json")
    assert "No space left on device (ENOSPC)" in err[0] and "nothing ran" in err[0]
    leftovers = [p.name for p in out.rglob("*") if p.is_file() and p.name != ".lock"]
    assert leftovers == []


# --------------------------------------------------------------------------- output checks
def _long(tmp: Path) -> str:
    return str(tmp / ("x" * 5000))


OUT_PLACES = {
    "an existing file": (lambda tmp: str(tmp / "file"), "is a file"),
    "below a file": (lambda tmp: str(tmp / "file" / "sub"), "is a file, so nothing can be"),
    "/dev/null": (lambda tmp: "/dev/null", "not a"),
    "a 5,000-character name": (_long, "too long"),
    "a read-only place": (lambda tmp: str(tmp / "ro" / "sub"), "cannot be written"),
}


@pytest.mark.parametrize("command", ["sweep", "report", "simulate"])
@pytest.mark.parametrize("place", OUT_PLACES, ids=list(OUT_PLACES))
def test_a_bad_output_location_is_one_line_before_any_work(
    place: str, command: str, sweep_file: Path, done: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    make, words = OUT_PLACES[place]
    (tmp_path / "file").write_text("not a folder")
    (tmp_path / "ro").mkdir()
    real = folders._writable
    monkeypatch.setattr(folders, "_writable", lambda p: p != tmp_path / "ro" and real(p))

    def must_not_run(*args, **kwargs):
        raise AssertionError("work started before the output location was checked")

    monkeypatch.setattr(ExecutionContext, "run", must_not_run)
    monkeypatch.setattr("sim.model.BuyerJourneyModel.__init__", must_not_run)
    monkeypatch.setattr("analysis.reports.sweep.data.load", must_not_run)
    out = make(tmp_path)
    if command == "report" and place == "an existing file":
        out = str(tmp_path)  # a folder where the page should go
        words = "is a folder"
    args = {
        "sweep": ["sweep", str(sweep_file), "--out", out, "--quiet"],
        "report": ["report", str(done), "--out", out, "--quiet"],
        "simulate": ["simulate", "--weeks", "2", "--buyers", "50", "--out", out, "--quiet"],
    }[command]
    code = run.main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("error: ") and words in err[0]
    assert len(err[0]) < 400  # a long name is cut
    assert out[:40] in err[0]


# --------------------------------------------------------------------------- simulate --out
SIM = ["simulate", "--weeks", "4", "--buyers", "120", "--quiet"]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_simulate_out_replaces_an_earlier_run_whole_or_not_at_all(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    out = tmp_path / "res"
    assert run.main([*SIM, "--seed", "1", "--out", str(out)]) == 0
    first = snapshot(out)
    assert json.loads(first["run.json"])["seed"] == 1
    # a later run replaces it whole
    assert run.main([*SIM, "--seed", "2", "--out", str(out)]) == 0
    second = snapshot(out)
    assert set(second) == set(first) and json.loads(second["run.json"])["seed"] == 2
    assert second["buyers.parquet"] != first["buyers.parquet"]
    # a write that fails half-way (the disk fills up at the second table) changes nothing
    import analysis.engine.store

    real, calls = analysis.engine.store.write_parquet, []

    def fail_second(df, path):
        calls.append(path)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(df, path)

    monkeypatch.setattr(analysis.engine.store, "write_parquet", fail_second)
    capsys.readouterr()
    assert run.main([*SIM, "--seed", "3", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: {out}: --out: cannot write (No space left on device (ENOSPC)); "
        "the earlier run in it is unchanged"
    ]
    assert snapshot(out) == second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]  # no staging folder left


def test_simulate_out_refuses_a_folder_that_is_not_an_earlier_run(tmp_path: Path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert run.main([*SIM, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not the output of an earlier `run.py simulate`" in err[0]
    assert "notes.txt" in err[0]
    assert snapshot(out) == {"notes.txt": b"keep me"}
    # an empty folder is fine
    empty = tmp_path / "empty"
    empty.mkdir()
    assert run.main([*SIM, "--out", str(empty)]) == 0
    assert (empty / "run.json").is_file()
