"""The experiment engine: a design's runs -> an executor -> chunked Parquet, resumable.

An `Experiment` is a base scenario, a run table (variants x replications, `RunSpec`s from
analysis.design, seeded with SeedSequence so replication r shares its seed across
variants) and a `RunPlan` naming what each run computes: the long tables it yields (one
`Table` each: a function of the finished model) and the summary columns of its `runs`
row. Sweeps, the attribution lab and any later calibration go through `run_experiment`.

Layout under the experiment folder DIR:

    DIR/table=<table>/part-<chunk id>.parquet   one file per chunk per table
    DIR/table=runs/part-<chunk id>.parquet      one row per run, written last

Each file is written under a temporary name, then renamed; the `runs` part is renamed
last, so its presence means the chunk is complete. Workers send back counts only. On a
rerun, what a killed chunk left is removed and only the runs whose ids are missing run.
A run that raises is a `runs` row with status "error" and its message (and no rows in
the other tables); the experiment goes on.

pandas, numpy and the model are imported when an experiment runs, Dask only inside its
executor (analysis.executors).
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.design import RunSpec

if TYPE_CHECKING:
    import pandas as pd

    from sim.scenario import Scenario

#: the largest chunk (runs per task and per part file)
MAX_CHUNK = 25
#: the columns every `runs` row starts with
RUN_KEYS = ("run_id", "variant", "variant_id", "replication")


# ----------------------------------------------------------------------------- what runs
@dataclass(frozen=True)
class Table:
    """One long table the runs of an experiment yield.

    `compute(model, spec)` returns the rows of one finished run; the engine puts the run's
    keys (run_id, variant, variant_id, replication, and seed when `with_seed`) in front.
    `touches`: the table needs the model's touch records. `variants`: the variant ids it
    is computed for (None: every run). The function must be picklable (a module-level
    function or a functools.partial of one) to reach worker processes.
    """

    name: str
    compute: Callable[[Any, RunSpec], pd.DataFrame]
    with_seed: bool = False
    touches: bool = False
    variants: frozenset[int] | None = None

    def applies(self, spec: RunSpec) -> bool:
        """Whether this run yields rows of this table."""
        return self.variants is None or spec.variant_id in self.variants


@dataclass(frozen=True)
class RunPlan:
    """What each run computes: its long tables and the summary columns of its `runs` row.

    `summarize(model, spec)` returns {column: value} for the names in `columns`
    (column -> pandas dtype, e.g. "Int64"); failed runs leave them missing.
    """

    tables: tuple[Table, ...] = ()
    columns: Mapping[str, str] = field(default_factory=dict)
    summarize: Callable[[Any, RunSpec], dict[str, Any]] | None = None

    def record_touches(self, spec: RunSpec) -> bool:
        """Whether a run must record touches (only when one of its tables needs them)."""
        return any(t.touches and t.applies(spec) for t in self.tables)


@dataclass(frozen=True)
class Experiment:
    """A design ready to run: the base scenario, the run table, parameter columns and
    the plan. `params`: (name, numeric) of each `p:<name>` column of the runs table."""

    name: str
    scenario: Scenario
    runs: tuple[RunSpec, ...]
    plan: RunPlan
    params: tuple[tuple[str, bool], ...] = ()


# ----------------------------------------------------------------------------- one run
def execute_run(
    base: Scenario, spec: RunSpec, plan: RunPlan
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Run one spec; return its `runs` row and its long tables (none if it failed)."""
    from sim.model import BuyerJourneyModel

    started = time.perf_counter()
    row: dict[str, Any] = {
        **{k: getattr(spec, k) for k in RUN_KEYS},
        "seed": spec.seed,
        "status": "ok",
        "error": None,
        "params": spec.params,
    }
    keys = {k: getattr(spec, k) for k in RUN_KEYS}
    tables: dict[str, pd.DataFrame] = {}
    try:
        scenario = base.with_changes(spec.changes)
        model = BuyerJourneyModel(
            scenario, seed=spec.seed, record_touches=plan.record_touches(spec)
        )
        model.run()
        summary = plan.summarize(model, spec) if plan.summarize is not None else {}
        for table in plan.tables:
            if table.applies(spec):
                front = {**keys, "seed": spec.seed} if table.with_seed else keys
                tables[table.name] = _keyed(table.compute(model, spec), front)
        row.update(summary)  # only a run that finished whole has its summary columns
    except Exception as exc:  # a failed run is a row with its error, not a crashed experiment
        row["status"] = "error"
        row["error"] = f"{type(exc).__name__}: {exc}"
        tables = {}
    row["elapsed_s"] = time.perf_counter() - started
    return row, tables


def _keyed(df: pd.DataFrame, keys: dict[str, Any]) -> pd.DataFrame:
    """The run's keys as the first columns of its rows, with fixed types."""
    import numpy as np
    import pandas as pd

    front = pd.DataFrame({k: [v] * len(df) for k, v in keys.items()})
    out = pd.concat([front, df.reset_index(drop=True)], axis=1)
    for k in ("run_id", "variant"):
        out[k] = out[k].astype("string")
    for k in ("variant_id", "replication", "seed"):
        if k in out:
            out[k] = out[k].astype(np.int64)
    return out


def runs_frame(
    rows: list[dict[str, Any]], params: tuple[tuple[str, bool], ...], columns: Mapping[str, str]
) -> pd.DataFrame:
    """The `runs` rows of a chunk with a fixed schema (same columns and types in every
    part): keys, seed, status, error, elapsed_s, `p:<param>` columns, summary columns."""
    import numpy as np
    import pandas as pd

    df = pd.DataFrame(
        {
            "run_id": pd.array([r["run_id"] for r in rows], dtype="string"),
            "variant": pd.array([r["variant"] for r in rows], dtype="string"),
            "variant_id": np.array([r["variant_id"] for r in rows], dtype=np.int64),
            "replication": np.array([r["replication"] for r in rows], dtype=np.int64),
            "seed": np.array([r["seed"] for r in rows], dtype=np.int64),
            "status": pd.array([r["status"] for r in rows], dtype="string"),
            "error": pd.array([r["error"] for r in rows], dtype="string"),
            "elapsed_s": np.array([r["elapsed_s"] for r in rows], dtype=float),
        }
    )
    for name, numeric in params:
        values = [r["params"][name] for r in rows]
        if numeric:
            df[f"p:{name}"] = np.array(values, dtype=float)
        else:
            df[f"p:{name}"] = pd.array([str(v) for v in values], dtype="string")
    for col, dtype in columns.items():
        df[col] = pd.array([r.get(col) for r in rows], dtype=dtype)
    return df


# ----------------------------------------------------------------------------- one chunk
@dataclass(frozen=True)
class ChunkTask:
    """What a worker needs to run a chunk and write its part files."""

    out_dir: str
    chunk_id: str
    scenario: Scenario
    runs: tuple[RunSpec, ...]
    params: tuple[tuple[str, bool], ...]
    plan: RunPlan


@dataclass(frozen=True)
class Receipt:
    """What a worker sends back: counts only, never result rows."""

    chunk_id: str
    ok: int
    failed: int


def run_chunk(task: ChunkTask) -> Receipt:
    """Run every run of a chunk and write its part files (the `runs` part last)."""
    import pandas as pd

    from analysis.store import write_parquet

    frames: dict[str, list[pd.DataFrame]] = {t.name: [] for t in task.plan.tables}
    run_rows = []
    for spec in task.runs:
        row, tables = execute_run(task.scenario, spec, task.plan)
        run_rows.append(row)
        for name, df in tables.items():
            frames[name].append(df)
    base = Path(task.out_dir)
    for name, parts in frames.items():
        if parts:
            df = pd.concat(parts, ignore_index=True)
            write_parquet(df, base / f"table={name}" / f"part-{task.chunk_id}.parquet")
    runs = runs_frame(run_rows, task.params, task.plan.columns)
    write_parquet(runs, base / "table=runs" / f"part-{task.chunk_id}.parquet")
    failed = int((runs["status"] != "ok").sum())
    return Receipt(task.chunk_id, len(runs) - failed, failed)


# ----------------------------------------------------------------------------- resume
def part_files(out_dir: Path, table: str) -> list[Path]:
    """The complete Parquet parts of one table (temporary files are hidden dot-files)."""
    return sorted((Path(out_dir) / f"table={table}").glob("part-*.parquet"))


def completed_runs(out_dir: Path) -> dict[str, str]:
    """run_id -> status of every run already written (reads only two columns)."""
    import pyarrow.parquet as pq

    done: dict[str, str] = {}
    for f in part_files(out_dir, "runs"):
        t = pq.read_table(f, columns=["run_id", "status"])
        done.update(
            zip(t.column("run_id").to_pylist(), t.column("status").to_pylist(), strict=True)
        )
    return done


def remove_incomplete(out_dir: Path) -> int:
    """Delete what a killed chunk left behind: temporary files, and parts of other tables
    whose `runs` part (written last) is missing. Returns the number of files removed."""
    removed = 0
    runs = {f.name for f in (out_dir / "table=runs").glob("part-*.parquet")}
    for tdir in out_dir.glob("table=*"):
        for f in tdir.iterdir():
            stale_tmp = f.name.startswith(".") and f.name.endswith(".tmp")
            orphan = tdir.name != "table=runs" and f.suffix == ".parquet" and f.name not in runs
            if stale_tmp or orphan:
                f.unlink(missing_ok=True)
                removed += 1
    return removed


def drop_failed_runs(out_dir: Path) -> int:
    """Remove the rows of failed runs from the `runs` parts so they run again.

    Failed runs have rows only in `runs`. Returns the number of rows removed.
    """
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    removed = 0
    for f in part_files(out_dir, "runs"):
        t = pq.read_table(f)
        keep = pc.equal(t.column("status"), "ok")
        n_bad = len(t) - pc.sum(keep).as_py() if len(t) else 0
        if not n_bad:
            continue
        removed += n_bad
        kept = t.filter(keep)
        if len(kept) == 0:
            _remove_chunk(out_dir, f.name)
        else:
            tmp = f.with_name(f".{f.name}.{os.getpid()}.tmp")
            pq.write_table(kept, tmp, compression="zstd")
            os.replace(tmp, f)
    return removed


def _remove_chunk(out_dir: Path, part: str) -> None:
    # the runs part goes first, so an interruption leaves orphans, removed on resume
    (out_dir / "table=runs" / part).unlink(missing_ok=True)
    for tdir in out_dir.glob("table=*"):
        (tdir / part).unlink(missing_ok=True)


# ----------------------------------------------------------------------------- the driver
@dataclass
class Outcome:
    """What an experiment did: totals over its folder and over this invocation."""

    out_dir: Path
    total: int
    already: int
    ran: int = 0
    failed: int = 0
    lost: int = 0
    elapsed_s: float = 0.0
    startup_s: float = 0.0
    interrupted: bool = False
    broken: str = ""

    @property
    def saved(self) -> int:
        """Runs of the experiment now on disk."""
        return self.already + self.ran

    @property
    def complete(self) -> bool:
        """Whether every run of the experiment is on disk."""
        return self.saved >= self.total and not (self.interrupted or self.broken)


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
    """Run the runs of `exp` that `out_dir` does not hold yet; write them under it.

    `info` (plain data describing the set-up) is written as `out_dir/info_file` first.
    Ctrl-C (or a broken pool) stops at once: chunks finished so far stay on disk and the
    Outcome says so; running the same experiment again runs the rest.
    """
    from analysis.executors import default_workers, open_executor

    workers = workers or default_workers()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    remove_incomplete(out)
    if info is not None:
        write_json(out / info_file, info)
    if retry_failed:
        drop_failed_runs(out)
    done = completed_runs(out)
    _note_stale(out, set(done) - {s.run_id for s in exp.runs})
    todo = [s for s in exp.runs if s.run_id not in done]
    outcome = Outcome(out, len(exp.runs), len(exp.runs) - len(todo))
    if not todo:
        return outcome
    size = chunk_size or max(1, min(MAX_CHUNK, math.ceil(len(todo) / (workers * 4))))
    tasks = (
        ChunkTask(str(out), _chunk_id(chunk), exp.scenario, tuple(chunk), exp.params, exp.plan)
        for chunk in _chunks(todo, size)
    )
    started = time.perf_counter()
    bar = None
    try:
        with open_executor(workers, dask, preload=worker_modules(exp.plan)) as executor:
            outcome.startup_s = time.perf_counter() - started
            bar = _progress(len(todo), exp.name, progress)
            _drive(executor, tasks, workers * 2, outcome, bar, started)
    except KeyboardInterrupt:
        outcome.interrupted = True
    finally:
        if bar is not None:
            bar.close()
        outcome.elapsed_s = time.perf_counter() - started
    return outcome


def worker_modules(plan: RunPlan) -> tuple[str, ...]:
    """What a worker imports before its first chunk: the engine, the model, and the
    modules of the plan's functions."""
    funcs = [t.compute for t in plan.tables] + [plan.summarize]
    names = {getattr(getattr(f, "func", f), "__module__", None) for f in funcs if f is not None}
    base = ("analysis.engine", "analysis.store", "sim.model", "sim.tables")
    return base + tuple(sorted(n for n in names if n and n not in base and n != "__main__"))


def _note_stale(out: Path, stale: set[str]) -> None:
    if stale:
        print(
            f"note: {out} holds {len(stale)} runs that are not in this design any more "
            "(an earlier version of the file?); they stay on disk",
            file=sys.stderr,
        )


def _drive(executor, tasks, window: int, outcome: Outcome, bar, started: float) -> None:
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
            if bar is not None:
                minutes = (time.perf_counter() - started) / 60
                bar.set_postfix_str(
                    f"failed={outcome.failed}, runs/min={outcome.ran / max(minutes, 1e-9):,.0f}",
                    refresh=False,
                )
                bar.update(n)


def _progress(total: int, name: str, enabled: bool):
    """A tqdm bar on stderr: runs done, failures, runs per minute, time left."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=name,
        unit="run",
        file=sys.stderr,
        disable=not enabled,
        dynamic_ncols=True,
        leave=False,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} runs "
        "[{elapsed}<{remaining} left{postfix}]",
        postfix="failed=0, runs/min=-",
    )


def _chunks(items: list[RunSpec], size: int) -> Iterator[list[RunSpec]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _chunk_id(chunk: list[RunSpec]) -> str:
    return hashlib.sha256("".join(s.run_id for s in chunk).encode()).hexdigest()[:16]


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write plain data as JSON atomically (temporary name, then rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def load_table(out_dir: str | Path, table: str, run_ids: set[str] | None = None) -> pd.DataFrame:
    """One table of an experiment folder as a DataFrame (empty if it has no parts),
    restricted to `run_ids` when given, sorted by variant_id, replication, run_id."""
    import pandas as pd

    files = part_files(Path(out_dir), table)
    if not files:
        return pd.DataFrame()
    df = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    if run_ids is not None:
        df = df[df["run_id"].isin(run_ids)]
    keys = [k for k in ("variant_id", "replication", "run_id") if k in df]
    return df.sort_values(keys, kind="stable").reset_index(drop=True)
