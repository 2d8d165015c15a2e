"""The execution context and the point evaluator (analysis.engine.context, .evaluate):
one pool for a whole study, its folders locked from the first run to the last, what is
on disk never run twice, a broken pool ending the study's runs.

The model here is a plain function run through the real engine (`RunPlan.simulate`): it
returns the worker's pid and a value of the point, so the tests see where each run ran.
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import partial

import pytest

from analysis.engine.context import ExecutionContext, run_experiment
from analysis.engine.design import RunSpec, Variant, expand_runs
from analysis.engine.evaluate import Point, PointEvaluator
from analysis.engine.experiment import Experiment, RunPlan
from analysis.engine.parts import load_table
from analysis.errors import Stopped
from tests.conftest import ROOT


def pid_model(_base, spec: RunSpec) -> dict[str, float]:
    """The 'model' of a run: which process ran it, and 2x + seed mod 7."""
    return {"pid": os.getpid(), "y": 2 * spec.changes["x"] + spec.seed % 7}


def dying_model(_base, spec: RunSpec) -> dict[str, float]:
    """A run whose worker process dies (a broken pool)."""
    os._exit(3)


def row(values: dict[str, float], _spec: RunSpec) -> dict[str, float]:
    return {"pid": int(values["pid"]), "y": float(values["y"])}


PLAN = RunPlan(columns={"pid": "Int64", "y": "Float64"}, summarize=row, simulate=pid_model)


def experiment(baseline, xs, seeds=(1, 2, 3), plan=PLAN, name="t") -> Experiment:
    variants = [Variant(i, f"x={x}", {"x": x}, {"x": x}) for i, x in enumerate(xs)]
    return Experiment(name, baseline, tuple(expand_runs("h", variants, list(seeds))), plan,
                      (("x", True),))  # fmt: skip


def test_one_pool_serves_every_experiment_of_a_context(baseline, tmp_path):
    with ExecutionContext(workers=2, progress=False) as ctx:
        first = ctx.run(experiment(baseline, [0.0, 1.0]), tmp_path / "a")
        second = ctx.run(experiment(baseline, [2.0, 3.0]), tmp_path / "b")
    assert (first.ran, second.ran) == (6, 6)
    pids_a = set(load_table(tmp_path / "a", "runs")["pid"])
    pids_b = set(load_table(tmp_path / "b", "runs")["pid"])
    assert os.getpid() not in pids_a | pids_b  # runs ran in worker processes ...
    assert len(pids_a | pids_b) <= 2  # ... of one pool of two, for both experiments


def test_a_separate_experiment_gets_a_pool_of_its_own(baseline, tmp_path):
    run_experiment(experiment(baseline, [0.0, 1.0]), tmp_path / "a", workers=2, progress=False)
    run_experiment(experiment(baseline, [2.0, 3.0]), tmp_path / "b", workers=2, progress=False)
    pids_a = set(load_table(tmp_path / "a", "runs")["pid"])
    pids_b = set(load_table(tmp_path / "b", "runs")["pid"])
    assert not pids_a & pids_b  # the contrast: two contexts, two pools


LOCK_PROBE = """
import sys
sys.path.insert(0, {root!r})
from analysis.engine.folders import FolderBusy, folder_lock
try:
    with folder_lock({folder!r}, wait_orphans=0.1):
        print("free")
except FolderBusy:
    print("busy")
"""


def probe(folder) -> str:
    code = LOCK_PROBE.format(root=str(ROOT), folder=str(folder))
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip()  # fmt: skip


def test_a_study_keeps_its_folders_locked_until_it_ends(baseline, tmp_path):
    with ExecutionContext(workers=2, progress=False) as ctx:
        ctx.run(experiment(baseline, [0.0]), tmp_path / "a")
        ctx.run(experiment(baseline, [1.0]), tmp_path / "b")
        assert probe(tmp_path / "a") == "busy"  # the first folder is still the study's
        ctx.run(experiment(baseline, [2.0]), tmp_path / "a")  # and it may write there again
    assert probe(tmp_path / "a") == "free" and probe(tmp_path / "b") == "free"


def test_what_is_on_disk_is_never_run_again(baseline, tmp_path):
    exp = experiment(baseline, [0.0, 1.0])
    with ExecutionContext(workers=1, progress=False) as ctx:
        assert ctx.run(exp, tmp_path).ran == 6
        again = ctx.run(exp, tmp_path)
    assert (again.ran, again.already, again.total) == (0, 6, 6)


def test_a_broken_pool_ends_the_context(baseline, tmp_path):
    dying = RunPlan(columns={"pid": "Int64", "y": "Float64"}, summarize=row, simulate=dying_model)
    with ExecutionContext(workers=2, progress=False) as ctx:
        outcome = ctx.run(experiment(baseline, [0.0], plan=dying), tmp_path / "a")
        assert outcome.broken and not outcome.complete and ctx.stopped
        with pytest.raises(RuntimeError, match="stopped"):
            ctx.run(experiment(baseline, [1.0]), tmp_path / "b")


# ----------------------------------------------------------------------------- evaluator
def evaluator(ctx, baseline, out) -> PointEvaluator:
    return PointEvaluator(ctx, out, baseline, PLAN, (("x", True),), design="h", name="pts")


def test_the_evaluator_runs_a_point_once_and_reads_its_values(baseline, tmp_path):
    seeds = [11, 12, 13]
    with ExecutionContext(workers=2, progress=False) as ctx:
        ev = evaluator(ctx, baseline, tmp_path)
        p = Point("x=1.5", 7, {"x": 1.5}, {"x": 1.5})
        specs = ev.specs(p, seeds, first=4)
        ev.run(specs)
        ev.run(specs)  # asked again: nothing more runs
        rows = ev.runs(s.run_id for s in specs)
    assert ev.ran == 3
    assert list(rows["replication"]) == [4, 5, 6] and set(rows["variant_id"]) == {7}
    assert list(rows["y"]) == [3.0 + s % 7 for s in seeds]


def test_a_second_evaluator_in_the_same_folder_finds_every_run(baseline, tmp_path):
    p = Point("x=2", 1, {"x": 2.0}, {"x": 2.0})
    with ExecutionContext(workers=1, progress=False) as ctx:
        evaluator(ctx, baseline, tmp_path).run(evaluator(ctx, baseline, tmp_path).specs(p, [1, 2]))
    with ExecutionContext(workers=1, progress=False) as ctx:
        ev = evaluator(ctx, baseline, tmp_path)
        specs = ev.specs(p, [1, 2])
        ev.run(specs)
        assert ev.ran == 0 and len(ev.runs(s.run_id for s in specs)) == 2


def test_the_evaluator_stops_the_study_when_the_pool_breaks(baseline, tmp_path):
    with ExecutionContext(workers=2, progress=False) as ctx:
        ev = PointEvaluator(ctx, tmp_path, baseline,
                            RunPlan(columns={}, summarize=None, simulate=dying_model),
                            (("x", True),), design="h")  # fmt: skip
        with pytest.raises(Stopped) as stop:
            ev.run(ev.specs(Point("x=0", 0, {"x": 0.0}, {"x": 0.0}), [1]))
    assert stop.value.code == 1 and "stopped" in str(stop.value)


def test_run_ids_follow_the_design_the_values_and_the_seed(baseline, tmp_path):
    with ExecutionContext(workers=1, progress=False) as ctx:
        ev = evaluator(ctx, baseline, tmp_path)
        a = ev.specs(Point("a", 0, {"x": 1.0}, {"x": 1.0}), [1, 2])
        b = ev.specs(Point("b", 9, {"x": 1.0}, {"x": 1.0}), [1, 2])  # another label, same point
        c = ev.specs(Point("a", 0, {"x": 2.0}, {"x": 2.0}), [1, 2])
        other = partial(PointEvaluator, ctx, tmp_path, baseline, PLAN, (("x", True),))
        d = other(design="h2").specs(Point("a", 0, {"x": 1.0}, {"x": 1.0}), [1, 2])
    ids = [s.run_id for s in a]
    assert ids == [s.run_id for s in b] and len(set(ids)) == 2
    assert not set(ids) & {s.run_id for s in c + d}
