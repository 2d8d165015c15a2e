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

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.engine.design import RunSpec
from analysis.engine.parts import CHUNK_META

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
        "drawn": spec.drawn,
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
    part): keys, seed, status, error, elapsed_s, `p:<param>` columns, the drawn posterior
    parameters as `post:<name>` columns (only with a posterior: every run of a design
    draws the same names), summary columns."""
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
    for name in dict.fromkeys(k for r in rows for k in r.get("drawn") or {}):
        df[f"post:{name}"] = np.array(
            [(r.get("drawn") or {}).get(name, np.nan) for r in rows], dtype=float
        )
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


def worker_modules(plan: RunPlan) -> tuple[str, ...]:
    """What a worker imports before its first chunk: the engine, the model, and the
    modules of the plan's functions (its `simulate` too, when it has one)."""
    funcs = [t.compute for t in plan.tables] + [plan.summarize, plan.simulate]
    names = {getattr(getattr(f, "func", f), "__module__", None) for f in funcs if f is not None}
    base = ("analysis.engine.experiment", "analysis.engine.store", "sim.model", "sim.tables")
    return base + tuple(sorted(n for n in names if n and n not in base and n != "__main__"))
