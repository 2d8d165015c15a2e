"""The experiment engine: a design's runs -> an executor -> chunked Parquet, resumable.

An `Experiment` is a base scenario, a run table (variants x replications, `RunSpec`s from
analysis.engine.design, seeded with SeedSequence so replication r shares its seed across
variants) and a `RunPlan` naming what each run computes: the long tables it yields (one
`Table` each: a function of the finished model) and the summary columns of its `runs`
row. Sweeps, the attribution lab and any later calibration go through `run_experiment`.
The model is the buyer-journey simulator unless the plan names another (`RunPlan.simulate`:
the sensitivity tests run the Ishigami function through this same engine).

Layout under the experiment folder DIR:

    DIR/table=<table>/part-<chunk id>.parquet   one file per chunk per table
    DIR/table=runs/part-<chunk id>.parquet      one row per run, written last

Each file is written under a temporary name, then renamed; the `runs` part is renamed
last, so its presence means the chunk is complete, and it records (Parquet metadata) the
chunk's run ids and the row count of each other table's part. Workers send back counts
only, and commit a chunk only while the driver that gave it to them still holds the
folder. A run that raises is a `runs` row with status "error" and its message (and no rows
in the other tables); the experiment goes on.

One writer at a time: `run_experiment` holds the folder's lock (analysis.engine.folders). On a
rerun, what a killed chunk left is removed, every chunk counted as done is checked
(readable parts, the recorded row counts, no run id stored twice) and a damaged or
duplicate chunk is moved to DIR/quarantine/ (one line names it) so its runs run again;
then only the runs whose ids are missing run. Readers (`load_table`, analysis.engine.results)
count a run id stored twice once, and say so.

pandas, numpy and the model are imported when an experiment runs, Dask only inside its
executor (analysis.engine.executors).
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
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.engine.design import RunSpec

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

    `simulate(base, spec)`: what "the model" of a run is, when it is not the simulator.
    It builds and runs whatever it likes for one run spec (reading `spec.changes` and
    `spec.seed` itself) and returns the object `summarize` and the tables' `compute`
    then receive; it decides itself what it records (`record_touches` is not passed).
    None (the default, and every command's plan): the buyer-journey model of the base
    scenario with the spec's changes, seeded with the spec's seed. It exists so a
    known-answer function (the sensitivity tests' Ishigami function) runs through the
    very same engine path as the model: worker processes, chunked Parquet, resume. Like
    the other functions it must be picklable (module-level, or a partial of one).
    """

    tables: tuple[Table, ...] = ()
    columns: Mapping[str, str] = field(default_factory=dict)
    summarize: Callable[[Any, RunSpec], dict[str, Any]] | None = None
    simulate: Callable[[Scenario, RunSpec], Any] | None = None

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
    """Run one spec; return its `runs` row and its long tables (none if it failed).

    The run is the plan's `simulate(base, spec)` when it has one, else the buyer-journey
    model of `base` with the spec's changes and seed."""
    if plan.simulate is None:
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
        if plan.simulate is not None:
            model = plan.simulate(base, spec)
        else:
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
    owner: str = ""  # the driver's lock token: commit only while it holds the folder


@dataclass(frozen=True)
class Receipt:
    """What a worker sends back: counts only, never result rows."""

    chunk_id: str
    ok: int
    failed: int


def run_chunk(task: ChunkTask) -> Receipt:
    """Run every run of a chunk and write its part files (the `runs` part last).

    Every part is written under a temporary name first; they are renamed into place only
    if the driver still holds the folder (a worker whose driver died commits nothing).
    """
    import pandas as pd

    frames: dict[str, list[pd.DataFrame]] = {t.name: [] for t in task.plan.tables}
    run_rows = []
    for spec in task.runs:
        row, tables = execute_run(task.scenario, spec, task.plan)
        run_rows.append(row)
        for name, df in tables.items():
            frames[name].append(df)
    base = Path(task.out_dir)
    part = f"part-{task.chunk_id}.parquet"
    staged: list[tuple[Path, Path]] = []
    try:
        counts: dict[str, int] = {}
        for name, parts in frames.items():
            if parts:
                df = pd.concat(parts, ignore_index=True)
                staged.append(_stage(df, base / f"table={name}" / part))
                counts[name] = len(df)
        runs = runs_frame(run_rows, task.params, task.plan.columns)
        meta = {"runs": [s.run_id for s in task.runs], "rows": counts}
        staged.append(_stage(runs, base / "table=runs" / part, meta))
        if not _may_commit(task):
            raise DriverGone(f"{base}: the driver of chunk {task.chunk_id} is gone; not saved")
        for tmp, final in staged:  # the runs part last: its presence marks the chunk done
            os.replace(tmp, final)
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    failed = int((runs["status"] != "ok").sum())
    return Receipt(task.chunk_id, len(runs) - failed, failed)


class DriverGone(RuntimeError):
    """A worker's driver died (or lost the folder): the chunk is not committed."""


#: the key of a runs part's Parquet metadata: {"runs": [run ids], "rows": {table: rows}}
CHUNK_META = b"bjs.chunk"


def _stage(df: pd.DataFrame, path: Path, meta: dict | None = None) -> tuple[Path, Path]:
    """Write `df` to a temporary name next to `path`; return (temporary, final)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    table = pa.Table.from_pandas(df, preserve_index=False)
    if meta is not None:
        table = table.replace_schema_metadata(
            {**(table.schema.metadata or {}), CHUNK_META: json.dumps(meta).encode()}
        )
    try:
        pq.write_table(table, tmp, compression="zstd")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp, path


def _may_commit(task: ChunkTask) -> bool:
    """Whether the driver that sent `task` still runs (pool workers) and still holds the
    folder (any worker, read from the lock file)."""
    from analysis.engine.executors import driver_alive
    from analysis.engine.folders import still_owner

    return driver_alive() and still_owner(task.out_dir, task.owner)


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


@dataclass(frozen=True)
class Damage:
    """A chunk that cannot be counted as done: its part name, the file at fault, why."""

    part: str
    file: Path
    why: str


#: files already found sound in this process: (path, size, mtime_ns) (calibration asks
#: again after every point; a file that changes is read again)
_SOUND: set[tuple[str, int, int]] = set()
_RUNS_SEEN: dict[tuple[str, int, int], tuple[list[str], dict | None]] = {}


def _signature(f: Path) -> tuple[str, int, int]:
    st = f.stat()
    return (str(f), st.st_size, st.st_mtime_ns)


def _read_part(f: Path):
    """A whole Parquet part (every column decoded), or the reason it cannot be read."""
    import pyarrow.parquet as pq

    try:
        return pq.read_table(f), ""
    except Exception as exc:  # noqa: BLE001 - any failure to read is damage
        text = " ".join(str(exc).split())
        return None, f"unreadable ({type(exc).__name__}: {text[:120]})"


def inspect_parts(out_dir: str | Path) -> tuple[list[Damage], list[Damage]]:
    """Check every chunk counted as done (a `runs` part exists).

    Returns (damaged, duplicates). Damaged: a part that does not read as Parquet, a
    `runs` part whose rows are not the chunk's runs, or another table's part that is
    missing or has another row count than the `runs` part recorded. Duplicates: a chunk
    whose run ids an earlier chunk (by part name) already holds.
    """
    out = Path(out_dir)
    damaged: list[Damage] = []
    duplicates: list[Damage] = []
    owner: dict[str, str] = {}
    others = [d for d in sorted(out.glob("table=*")) if d.name != "table=runs"]
    for f in part_files(out, "runs"):
        try:
            sig = _signature(f)
        except OSError:
            continue  # removed meanwhile
        if sig in _RUNS_SEEN:
            ids, meta = _RUNS_SEEN[sig]
        else:
            table, why = _read_part(f)
            if table is None:
                damaged.append(Damage(f.name, f, why))
                continue
            try:
                ids = [str(x) for x in table.column("run_id").to_pylist()]
                raw = (table.schema.metadata or {}).get(CHUNK_META)
                meta = json.loads(raw) if raw else None
            except (KeyError, ValueError) as exc:
                damaged.append(Damage(f.name, f, f"not a runs part ({exc})"))
                continue
            _RUNS_SEEN[sig] = (ids, meta)
        if meta is not None and (len(ids) > len(meta["runs"]) or not set(ids) <= set(meta["runs"])):
            damaged.append(Damage(f.name, f, "its rows are not the runs of its chunk"))
            continue
        bad = _check_siblings(out, f.name, meta, others)
        if bad is not None:
            damaged.append(bad)
            continue
        earlier = {owner[i] for i in ids if i in owner}
        if earlier:
            duplicates.append(
                Damage(f.name, f, f"its runs are already in {', '.join(sorted(earlier))}")
            )
            continue
        owner.update(dict.fromkeys(ids, f.name))
    return damaged, duplicates


def _check_siblings(out: Path, part: str, meta: dict | None, others: list[Path]) -> Damage | None:
    """The other tables' parts of one chunk: present with the recorded row counts (when
    the runs part recorded them) and readable."""
    expected: dict[str, int] = dict(meta["rows"]) if meta is not None else {}
    for tdir in others:
        name = tdir.name.removeprefix("table=")
        f = tdir / part
        if not f.exists():
            if name in expected:
                return Damage(part, f, "missing (the chunk's runs part lists it)")
            continue
        try:
            sig = _signature(f)
        except OSError:
            return Damage(part, f, "missing")
        if sig in _SOUND:
            continue
        table, why = _read_part(f)
        if table is None:
            return Damage(part, f, why)
        if name in expected and len(table) != expected[name]:
            return Damage(part, f, f"has {len(table)} rows, the chunk wrote {expected[name]}")
        _SOUND.add(sig)
    return None


def quarantine(out_dir: str | Path, chunks: list[Damage]) -> Path:
    """Move every file of these chunks (all tables) to DIR/quarantine/<table>/, renamed so
    no reader globbing *.parquet picks them up. Returns the quarantine folder."""
    out = Path(out_dir)
    qdir = out / "quarantine"
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for d in chunks:
        # the runs part first: an interruption then leaves parts that resume removes
        tdirs = [
            out / "table=runs",
            *(t for t in sorted(out.glob("table=*")) if t.name != "table=runs"),
        ]
        for tdir in tdirs:
            f = tdir / d.part
            if f.exists():
                dest = qdir / tdir.name.removeprefix("table=") / f"{d.part}.{stamp}.quarantined"
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(f, dest)
    return qdir


def repair(out_dir: str | Path) -> int:
    """Quarantine damaged and duplicate chunks (one line on stderr names them); their
    runs then count as missing. Returns the number of chunks moved."""
    damaged, duplicates = inspect_parts(out_dir)
    chunks = damaged + duplicates
    if not chunks:
        return 0
    qdir = quarantine(out_dir, chunks)
    shown = "; ".join(f"{_rel(d.file, out_dir)}: {d.why}" for d in chunks[:3])
    more = f"; and {len(chunks) - 3} more" if len(chunks) > 3 else ""
    what = []
    if damaged:
        what.append(f"{len(damaged)} damaged")
    if duplicates:
        what.append(f"{len(duplicates)} duplicate")
    print(
        f"note: {_short(out_dir)}: moved {' and '.join(what)} chunk(s) to {_short(qdir)}/ "
        f"({shown}{more}); their runs run again",
        file=sys.stderr,
    )
    return len(chunks)


def _rel(f: Path, base: str | Path) -> str:
    try:
        return str(Path(f).relative_to(base))
    except ValueError:
        return str(f)


def _short(path: str | Path) -> str:
    from analysis.engine.folders import short

    return short(path)


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
            try:
                pq.write_table(kept, tmp, compression="zstd")
                os.replace(tmp, f)
            finally:
                tmp.unlink(missing_ok=True)
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
    stored: int | None = None  # counted on disk after a stop (chunks still in flight count)

    @property
    def saved(self) -> int:
        """Runs of the experiment now on disk."""
        return self.stored if self.stored is not None else self.already + self.ran

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
    from analysis.engine.executors import default_workers
    from analysis.engine.folders import FolderError, check_out_dir, folder_lock, oserror_message

    workers = workers or default_workers()
    out = check_out_dir(out_dir)
    with ExitStack() as stack:
        try:
            owner = stack.enter_context(folder_lock(out))
            remove_incomplete(out)
            repair(out)
            if info is not None:
                write_json(out / info_file, info)
            if retry_failed:
                drop_failed_runs(out)
            done = completed_runs(out)
        except OSError as exc:
            what = f" {_rel(Path(exc.filename), out)}" if exc.filename else ""
            raise FolderError(
                out,
                f"cannot write{what} ({oserror_message(exc)}); nothing ran: fix that and "
                "run the command again",
            ) from None
        return _run_missing(exp, out, done, owner, workers, dask, progress, chunk_size)


def _run_missing(
    exp: Experiment,
    out: Path,
    done: dict[str, str],
    owner: str,
    workers: int,
    dask: str | None,
    progress: bool,
    chunk_size: int | None,
) -> Outcome:
    from analysis.engine.executors import open_executor

    _note_stale(out, set(done) - {s.run_id for s in exp.runs})
    todo = [s for s in exp.runs if s.run_id not in done]
    outcome = Outcome(out, len(exp.runs), len(exp.runs) - len(todo))
    if not todo:
        return outcome
    size = chunk_size or max(1, min(MAX_CHUNK, math.ceil(len(todo) / (workers * 4))))
    tasks = (
        ChunkTask(
            str(out), _chunk_id(chunk), exp.scenario, tuple(chunk), exp.params, exp.plan, owner
        )
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
    if outcome.interrupted or outcome.broken:
        # chunks in flight may have been committed after the last receipt: count the disk
        try:
            ids = {s.run_id for s in exp.runs}
            outcome.stored = len(ids.intersection(completed_runs(out)))
        except Exception:  # noqa: BLE001 - the count is a courtesy; the receipts stand
            outcome.stored = None
    return outcome


def worker_modules(plan: RunPlan) -> tuple[str, ...]:
    """What a worker imports before its first chunk: the engine, the model, and the
    modules of the plan's functions (its `simulate` too, when it has one)."""
    funcs = [t.compute for t in plan.tables] + [plan.summarize, plan.simulate]
    names = {getattr(getattr(f, "func", f), "__module__", None) for f in funcs if f is not None}
    base = ("analysis.engine.experiment", "analysis.engine.store", "sim.model", "sim.tables")
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
    try:
        tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)  # a full disk leaves no stray temporary file


def load_table(out_dir: str | Path, table: str, run_ids: set[str] | None = None) -> pd.DataFrame:
    """One table of an experiment folder as a DataFrame (empty if it has no parts),
    restricted to `run_ids` when given, sorted by variant_id, replication, run_id."""
    import pandas as pd

    files = part_files(Path(out_dir), table)
    if not files:
        return pd.DataFrame()
    frames = [pd.read_parquet(f).assign(__part=f.name) for f in files]
    df = pd.concat(frames, ignore_index=True)
    if "run_id" in df and len(df):  # a run id stored twice counts once (its first part)
        extra = df["__part"] != df.groupby("run_id")["__part"].transform("min")
        if extra.any():
            print(
                f"note: {_short(out_dir)}: {df.loc[extra, 'run_id'].nunique()} run ids of "
                f"the {table!r} table are stored more than once (extra copies in "
                f"{', '.join(sorted(set(df.loc[extra, '__part'])))}); each run is counted once",
                file=sys.stderr,
            )
            df = df.loc[~extra]
    df = df.drop(columns="__part")
    if run_ids is not None:
        df = df[df["run_id"].isin(run_ids)]
    keys = [k for k in ("variant_id", "replication", "run_id") if k in df]
    return df.sort_values(keys, kind="stable").reset_index(drop=True)
