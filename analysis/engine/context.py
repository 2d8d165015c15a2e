"""One execution context per study: the worker pool (or Dask cluster) and the progress bar
that every experiment of the study shares, as a context manager in the spirit of the EMA
Workbench's evaluators.

    with ExecutionContext(workers=2, dask=None, progress=True, desc="calibrate") as ctx:
        outcome = ctx.run(experiment, out_dir)        # runs what out_dir does not hold
        outcome = ctx.run(next_experiment, out_dir)   # the same pool, no new start-up

- The executor (in-process for one worker, a process pool, or Dask: analysis.engine.
  executors) is opened at the first run that has anything to run, and kept until the
  context ends; a `dask="local"` LocalCluster is started once.
- Every folder the study runs in is locked (analysis.engine.folders.folder_lock) at its
  first run and stays locked until the context ends, after the pool is shut down: pool
  workers forked while a lock is held share it, so one study keeps its folders to itself
  from the first run to the last.
- The progress bar counts runs (`count_runs=True`: its total grows with each run's work)
  or whatever the study advances it by (`advance`, `note`).
- Ctrl-C or a broken pool stops at once: the pool is ended, the chunks finished so far
  stay on disk, the Outcome says so, and the context runs nothing more.

`run_experiment` is one experiment in a context of its own.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import math
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from analysis.engine.design import RunSpec
from analysis.engine.experiment import (
    MAX_CHUNK,
    ChunkTask,
    Experiment,
    Outcome,
    run_chunk,
    worker_modules,
)


class ExecutionContext:
    """The pool or cluster and the progress bar of a whole study (see the module doc).

    Args:
        workers: worker processes (None: the cores this process may use).
        dask: None (local processes), "local" (a LocalCluster) or a scheduler address.
        progress: show the bar on stderr.
        desc: the bar's label.
        unit: what the bar counts ("run", or e.g. "trial" when the study advances it).
        total: the bar's total when the study knows it; None grows it as runs are asked.
        count_runs: advance the bar by the runs each experiment runs (else the study
            advances it with `advance`).
    """

    def __init__(
        self,
        workers: int | None = None,
        dask: str | None = None,
        progress: bool = True,
        desc: str = "runs",
        unit: str = "run",
        total: int | None = None,
        count_runs: bool = True,
    ) -> None:
        from analysis.engine.executors import default_workers

        self.workers = workers or default_workers()
        self.dask = dask
        self.progress = progress
        self.desc, self.unit, self.total, self.count_runs = desc, unit, total, count_runs
        self.bar: Any = None
        self.stopped = False
        self._executor: cf.Executor | None = None
        self._exec = ExitStack()  # the executor (and a local Dask cluster): closed first
        self._locks = ExitStack()  # the folders' locks: released last
        self._owners: dict[str, str] = {}
        self._started = time.perf_counter()
        self._ran = 0
        self._failed = 0

    # -- the context
    def __enter__(self) -> ExecutionContext:
        self._locks.__enter__()
        self._exec.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        try:
            self._exec.__exit__(*exc)  # the pool ends (at once on an error) before ...
        finally:
            self._executor = None
            if self.bar is not None:
                self.bar.close()
            self._locks.__exit__(None, None, None)  # ... the folders it wrote are released

    def advance(self, n: int) -> None:
        """Move the bar on by `n` of the study's units."""
        self._show().update(n)

    def note(self, text: str) -> None:
        """Show `text` after the bar (the study's own progress: evaluations, best so far)."""
        self._show().set_postfix_str(text)

    def _show(self):
        """The bar, made at its first use (after the pool has started, as the user sees
        it: an input error found while starting shows no bar)."""
        if self.bar is None:
            self.bar = _bar(self.desc, self.unit, self.total, self.progress)
        return self.bar

    # -- running
    def lock(self, out: Path) -> str:
        """Hold `out`'s writer lock until the context ends; returns the holder's token."""
        from analysis.engine.folders import folder_lock

        key = str(out.resolve()) if out.exists() else str(out.absolute())
        if key not in self._owners:
            self._owners[key] = self._locks.enter_context(folder_lock(out))
        return self._owners[key]

    def run(
        self,
        exp: Experiment,
        out_dir: str | Path,
        retry_failed: bool = False,
        chunk_size: int | None = None,
        info: dict[str, Any] | None = None,
        info_file: str = "experiment.json",
        note_stale: bool = True,
    ) -> Outcome:
        """Run the runs of `exp` that `out_dir` does not hold yet; write them under it.

        `info` (plain data describing the set-up) is written as `out_dir/info_file` first.
        `note_stale`: say when the folder holds runs the experiment does not name (off for
        a study that grows its experiment point by point).
        """
        from analysis.engine.folders import FolderError, check_out_dir, oserror_message
        from analysis.engine.parts import (
            completed_runs,
            drop_failed_runs,
            remove_incomplete,
            repair,
        )
        from analysis.engine.writer import WriteError, write_json

        if self.stopped:
            raise RuntimeError("this execution context was stopped; open a new one")
        out = check_out_dir(out_dir)
        try:
            owner = self.lock(out)
            remove_incomplete(out)
            repair(out)
            if info is not None:
                write_json(out / info_file, info)
            if retry_failed:
                drop_failed_runs(out)
            done = completed_runs(out)
        except (OSError, WriteError) as exc:
            if isinstance(exc, WriteError):
                what, exc = f" {_rel(exc.path, out)}", exc.oserror
            else:
                what = f" {_rel(Path(exc.filename), out)}" if exc.filename else ""
            raise FolderError(
                out,
                f"cannot write{what} ({oserror_message(exc)}); nothing ran: fix that and "
                "run the command again",
            ) from None
        if note_stale:
            _note_stale(out, set(done) - {s.run_id for s in exp.runs})
        todo = [s for s in exp.runs if s.run_id not in done]
        outcome = Outcome(out, len(exp.runs), len(exp.runs) - len(todo))
        if todo:
            self._run_todo(exp, out, todo, owner, chunk_size, outcome)
        return outcome

    def _executor_for(self, exp: Experiment) -> cf.Executor:
        """The study's executor, opened at its first use and kept to the end. Its workers
        import what they need themselves (a forkserver or Dask worker is told the modules
        of the first experiment's plan): importing pyarrow or Mesa here, before a fork,
        would fork a process with native threads."""
        from analysis.engine.executors import open_executor

        if self._executor is None:
            self._executor = self._exec.enter_context(
                open_executor(self.workers, self.dask, preload=worker_modules(exp.plan))
            )
        return self._executor

    def _abort(self, why: BaseException) -> None:
        """End the executor at once (running chunks are lost; a resume reruns them)."""
        self.stopped = True
        self._exec.__exit__(type(why), why, None)
        self._executor = None

    def _run_todo(
        self,
        exp: Experiment,
        out: Path,
        todo: list[RunSpec],
        owner: str,
        chunk_size: int | None,
        outcome: Outcome,
    ) -> None:
        from analysis.engine.parts import completed_runs

        size = chunk_size or max(1, min(MAX_CHUNK, math.ceil(len(todo) / (self.workers * 4))))
        tasks = (
            ChunkTask(
                str(out), _chunk_id(chunk), exp.scenario, tuple(chunk), exp.params, exp.plan, owner
            )
            for chunk in _chunks(todo, size)
        )
        started = time.perf_counter()
        try:
            executor = self._executor_for(exp)
            outcome.startup_s = time.perf_counter() - started
            if self.count_runs:
                bar = self._show()
                if self.total is None:
                    bar.total = (bar.total or 0) + len(todo)
                    bar.refresh()
            self._drive(executor, tasks, self.workers * 2, outcome)
        except KeyboardInterrupt as exc:
            outcome.interrupted = True
            self._abort(exc)
        finally:
            outcome.elapsed_s = time.perf_counter() - started
        if outcome.broken and not self.stopped:
            self._abort(RuntimeError(outcome.broken))
        if outcome.interrupted or outcome.broken:
            # chunks in flight may have been committed after the last receipt: count the disk
            try:
                ids = {s.run_id for s in exp.runs}
                outcome.stored = len(ids.intersection(completed_runs(out)))
            except Exception:  # noqa: BLE001 - the count is a courtesy; the receipts stand
                outcome.stored = None

    def _drive(self, executor: cf.Executor, tasks, window: int, outcome: Outcome) -> None:
        """Keep `window` chunks in flight; count receipts as they come back."""
        pending: dict[cf.Future, int] = {}
        tasks = iter(tasks)
        exhausted = False
        while True:
            while not exhausted and len(pending) < window:
                task = next(tasks, None)
                if task is None:
                    exhausted = True
                    break
                pending[executor.submit(run_chunk, task)] = len(task.runs)
            if not pending:
                return
            finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in finished:
                n = pending.pop(fut)
                try:
                    receipt = fut.result()
                except Exception as exc:  # the chunk's process died or its files failed
                    outcome.lost += n
                    if isinstance(exc, cf.BrokenExecutor) or "Broken" in type(exc).__name__:
                        outcome.broken = f"{type(exc).__name__}: {exc}"
                        for other in pending:
                            other.cancel()
                        outcome.lost += sum(pending.values())
                        return
                    outcome.broken = outcome.broken or f"{type(exc).__name__}: {exc}"
                    continue
                outcome.ran += receipt.ok + receipt.failed
                outcome.failed += receipt.failed
                self._ran += receipt.ok + receipt.failed
                self._failed += receipt.failed
                if self.count_runs and self.bar is not None:
                    minutes = (time.perf_counter() - self._started) / 60
                    self.bar.set_postfix_str(
                        f"failed={self._failed}, runs/min={self._ran / max(minutes, 1e-9):,.0f}",
                        refresh=False,
                    )
                    self.bar.update(n)


def run_experiment(
    exp: Experiment,
    out_dir: str | Path,
    workers: int | None = None,
    dask: str | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    chunk_size: int | None = None,
    info: dict[str, Any] | None = None,
    info_file: str = "experiment.json",
) -> Outcome:
    """Run the runs of `exp` that `out_dir` does not hold yet, in an execution context of
    its own (analysis.engine.context): one experiment, one pool, one progress bar.

    `info` (plain data describing the set-up) is written as `out_dir/info_file` first.
    Ctrl-C (or a broken pool) stops at once: chunks finished so far stay on disk and the
    Outcome says so; running the same experiment again runs the rest.
    """
    with ExecutionContext(workers, dask, progress, desc=exp.name) as ctx:
        return ctx.run(exp, out_dir, retry_failed, chunk_size, info, info_file)


def _bar(desc: str, unit: str, total: int | None, enabled: bool):
    """A tqdm bar on stderr: units done, time left, and the study's note. It starts no
    monitor thread, so a process pool opened later can still start by fork."""
    from tqdm import tqdm

    class Bar(tqdm):
        monitor_interval = 0

    fmt = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} " + (
        "runs " if unit == "run" else f"{unit}s "
    )
    return Bar(
        total=total,
        desc=desc,
        unit=unit,
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
        leave=False,
        bar_format=fmt + "[{elapsed}<{remaining} left{postfix}]",
        postfix="failed=0, runs/min=-" if unit == "run" else None,
    )


def _note_stale(out: Path, stale: set[str]) -> None:
    if stale:
        print(
            f"note: {out} holds {len(stale)} runs that are not in this design any more "
            "(an earlier version of the file?); they stay on disk",
            file=sys.stderr,
        )


def _chunks(items: list[RunSpec], size: int) -> Iterator[list[RunSpec]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _chunk_id(chunk: list[RunSpec]) -> str:
    return hashlib.sha256("".join(s.run_id for s in chunk).encode()).hexdigest()[:16]


def _rel(f: Path, base: str | Path) -> str:
    try:
        return str(Path(f).relative_to(base))
    except ValueError:
        return str(f)
