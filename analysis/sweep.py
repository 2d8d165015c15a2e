"""Scenario sweeps: a sweep file expanded into a run table, run in parallel, resumable.

    python run.py sweep scenarios/sweep_channel_mix.toml --out results/sweeps
    python run.py sweep FILE --out DIR --workers 2
    python run.py sweep FILE --out DIR --dask local            # a Dask LocalCluster
    python run.py sweep FILE --out DIR --dask tcp://host:8786  # an existing Dask cluster

A sweep file names a base scenario, fixed overrides, axes (grid lists, sampled ranges,
named vendor strategies), a number of replications and a base seed. `load_sweep_file`
validates it once into a frozen `Sweep`; `Sweep.expand()` turns it into the run table
(one `RunSpec` per variant x replication) before anything executes.

Common random numbers: replication r of every variant runs with the same seed, so
variants are compared pair by pair.

Execution sits behind a `concurrent.futures.Executor` (in-process for one worker, a
process pool, or Dask's executor). Each task runs a chunk of runs and writes one Parquet
file per table (temporary name, then rename) under
`DIR/sweep=<name>/table=<table>/part-<chunk id>.parquet`; the `runs` part is renamed
last, so its presence means the chunk is complete. The driver keeps only small receipts.
Run ids hash the base scenario, the run's changes and its seed, so re-running the same
command on the same DIR runs only what is missing. A run that raises is a row with
status "error" and its message; the sweep goes on.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import re
import signal
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.scenario import Scenario, ScenarioError, VendorSpec, load_scenario, read_toml

#: tables a sweep writes; `runs` is written last by every chunk.
TABLES = ("vendors", "source_use", "weekly", "weekly_vendors", "runs")
FUNNEL_COLUMNS = (
    "journeys",
    "reached_early",
    "reached_middle",
    "reached_final",
    "decided",
    "purchases",
    "no_decisions",
    "open",
)
MAX_CHUNK = 25

_TOP_KEYS = {"sweep", "axes", "strategies"}
_SWEEP_KEYS = {
    "name",
    "description",
    "scenario",
    "replications",
    "seed",
    "weekly",
    "sampler",
    "samples",
    "set",
}
_AXIS_KEYS = {"path", "paths", "values", "low", "high", "log", "integer", "vendor", "strategies"}
_STRATEGY_KEYS = set(VendorSpec.model_fields) - {"name"}
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


# ----------------------------------------------------------------------------- types
@dataclass(frozen=True)
class Axis:
    """One swept dimension.

    kind "grid": `values` listed in the file, set at every path in `paths`.
    kind "range": `samples` points between `low` and `high` (Latin hypercube or Sobol).
    kind "strategy": `values` are strategy names, each swapped in for `vendor`.
    """

    name: str
    kind: str
    paths: tuple[str, ...] = ()
    values: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    integer: bool = False
    vendor: str = ""

    @property
    def numeric(self) -> bool:
        """Whether the axis column `p:<name>` holds numbers (else strings)."""
        if self.kind == "range":
            return True
        if self.kind == "strategy":
            return False
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in self.values)


@dataclass(frozen=True)
class RunSpec:
    """One run of the run table: a variant's changes plus a replication's seed."""

    run_id: str
    variant: str
    variant_id: int
    replication: int
    seed: int
    params: dict[str, Any]
    changes: dict[str, Any]


@dataclass(frozen=True)
class Variant:
    """One point of the design: axis values (params) and the scenario changes they make."""

    variant_id: int
    label: str
    params: dict[str, Any]
    changes: dict[str, Any]


@dataclass(frozen=True)
class Sweep:
    """A validated sweep file. `expand()` gives the run table."""

    name: str
    source: str
    scenario_path: str
    scenario: Scenario
    scenario_hash: str
    fixed: dict[str, Any]
    axes: tuple[Axis, ...]
    strategies: dict[str, dict[str, Any]]
    replications: int
    seed: int
    sampler: str = "lhs"
    samples: int = 0
    weekly: bool = False
    description: str = ""
    _cache: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def seeds(self) -> list[int]:
        """The seed of each replication, shared by all variants (common random numbers)."""
        return [replication_seed(self.seed, r) for r in range(self.replications)]

    def variants(self) -> list[Variant]:
        """Every design point: the product of grid and strategy values and sampled points."""
        if "variants" not in self._cache:
            self._cache["variants"] = self._variants()
        return self._cache["variants"]

    def _variants(self) -> list[Variant]:
        listed = [a for a in self.axes if a.kind != "range"]
        ranged = [a for a in self.axes if a.kind == "range"]
        points = sample_points(ranged, self.samples, self.sampler, self.seed) if ranged else [()]
        out = []
        for combo in itertools.product(*(a.values for a in listed)):
            for point in points:
                values = dict(zip([a.name for a in listed], combo, strict=True))
                values.update(zip([a.name for a in ranged], point, strict=True))
                params = {a.name: values[a.name] for a in self.axes}
                changes = dict(self.fixed)
                for a in self.axes:
                    changes.update(self.axis_changes(a, params[a.name]))
                label = ",".join(f"{k}={_fmt(v)}" for k, v in params.items()) or "base"
                out.append(Variant(len(out), label, params, changes))
        return out

    def axis_changes(self, axis: Axis, value: Any) -> dict[str, Any]:
        """The scenario changes (dotted path -> value) one axis value makes."""
        if axis.kind == "strategy":
            return {f"vendors.{axis.vendor}.{k}": v for k, v in self.strategies[value].items()}
        return {p: value for p in axis.paths}

    def expand(self) -> list[RunSpec]:
        """The run table: every variant x replication, replication-major (so a partial
        sweep covers all variants evenly)."""
        variants = self.variants()
        runs = []
        for r, seed in enumerate(self.seeds()):
            for v in variants:
                rid = run_id(self.scenario_hash, v.changes, v.params, seed)
                runs.append(RunSpec(rid, v.label, v.variant_id, r, seed, v.params, v.changes))
        return runs

    def describe(self) -> dict[str, Any]:
        """The set-up as plain data (written as sweep.json next to the results)."""
        axes = []
        for a in self.axes:
            d: dict[str, Any] = {"name": a.name, "kind": a.kind, "column": f"p:{a.name}"}
            if a.kind == "range":
                d.update(paths=list(a.paths), low=a.low, high=a.high, log=a.log, integer=a.integer)
            elif a.kind == "strategy":
                d.update(vendor=a.vendor, values=list(a.values))
            else:
                d.update(paths=list(a.paths), values=list(a.values))
            axes.append(d)
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "scenario": self.scenario_path,
            "scenario_name": self.scenario.name,
            "scenario_hash": self.scenario_hash,
            "set": self.fixed,
            "axes": axes,
            "strategies": self.strategies,
            "replications": self.replications,
            "seed": self.seed,
            "seeds": self.seeds(),
            "sampler": self.sampler if any(a.kind == "range" for a in self.axes) else None,
            "samples": self.samples,
            "weekly": self.weekly,
            "vendors": list(self.scenario.vendor_names()),
            "variants": [
                {"variant_id": v.variant_id, "variant": v.label, "params": v.params}
                for v in self.variants()
            ],
            "runs": len(self.variants()) * self.replications,
        }


# ------------------------------------------------------------------------ the design
def replication_seed(base_seed: int, replication: int) -> int:
    """Seed of replication r: derived from (base seed, r) only, never from the variant."""
    return int(np.random.SeedSequence([base_seed, replication]).generate_state(1)[0])


def run_id(scenario_hash: str, changes: dict[str, Any], params: dict[str, Any], seed: int) -> str:
    """A run's id: a hash of the base scenario's content, the run's changes and its seed."""
    text = json.dumps(
        {"scenario": scenario_hash, "changes": changes, "params": params, "seed": seed},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def scenario_hash(scenario: Scenario) -> str:
    """Hash of a scenario's content (not where its file lives)."""
    data = scenario.model_dump(mode="json", exclude={"source", "base_dir"})
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def sample_points(axes: list[Axis], n: int, sampler: str, seed: int) -> list[tuple[Any, ...]]:
    """`n` points of the range axes from scipy.stats.qmc, seeded by the base seed."""
    from scipy.stats import qmc

    d = len(axes)
    if sampler == "sobol":
        engine = qmc.Sobol(d, scramble=True, seed=seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # balance is best at powers of 2; any n works
            unit = engine.random(n)
    else:
        unit = qmc.LatinHypercube(d, seed=seed).random(n)
    points = []
    for row in unit:
        point = []
        for a, u in zip(axes, row, strict=True):
            if a.log:
                x = math.exp(math.log(a.low) + float(u) * (math.log(a.high) - math.log(a.low)))
            else:
                x = a.low + float(u) * (a.high - a.low)
            point.append(int(round(x)) if a.integer else x)
        points.append(tuple(point))
    return points


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


# ------------------------------------------------------------------------ loading
def load_sweep_file(path: str | Path) -> Sweep:
    """Read and validate a sweep TOML file into a Sweep.

    Raises:
        ScenarioError: one line naming the file, the key and what is allowed.
    """
    p = Path(path)
    src = str(path)
    data = read_toml(p, "sweep")
    _no_unknown(src, "", data, _TOP_KEYS, "allowed tables: [sweep], [axes], [strategies.NAME]")
    head = data.get("sweep")
    if not isinstance(head, dict):
        raise ScenarioError(src, "sweep", "a sweep file needs a [sweep] table")
    _no_unknown(src, "sweep.", head, _SWEEP_KEYS, f"allowed: {', '.join(sorted(_SWEEP_KEYS))}")

    name = head.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise ScenarioError(
            src,
            "sweep.name",
            f"a name of letters, digits, '_', '-', '.' is needed (found {name!r})",
        )
    scen = head.get("scenario")
    if not isinstance(scen, str) or not scen:
        raise ScenarioError(
            src, "sweep.scenario", f"the base scenario file is needed (found {scen!r})"
        )
    scen_path = Path(scen) if Path(scen).is_absolute() else p.parent / scen
    if not scen_path.is_file():
        raise ScenarioError(
            src,
            "sweep.scenario",
            f"scenario file {str(scen_path)!r} not found (paths start at the sweep file's folder)",
        )
    base = load_scenario(scen_path)
    replications = _int(src, "sweep.replications", head.get("replications", 1), 1)
    seed = _int(src, "sweep.seed", head.get("seed", base.seed), 0)
    weekly = head.get("weekly", False)
    if not isinstance(weekly, bool):
        raise ScenarioError(src, "sweep.weekly", f"must be true or false (found {weekly!r})")
    description = head.get("description", "")
    if not isinstance(description, str):
        raise ScenarioError(src, "sweep.description", "must be a string")
    sampler = head.get("sampler", "lhs")
    if sampler not in ("lhs", "sobol"):
        raise ScenarioError(src, "sweep.sampler", f'must be "lhs" or "sobol" (found {sampler!r})')

    fixed = head.get("set", {})
    if not isinstance(fixed, dict):
        raise ScenarioError(src, "sweep.set", 'must be a table of "dotted.path" = value')
    fixed = _flatten(fixed)
    try:
        fixed_base = base.with_changes(fixed)
    except ScenarioError as exc:
        raise ScenarioError(src, f"sweep.set.{exc.field}", exc.problem) from None

    strategies = _load_strategies(src, data.get("strategies", {}))
    axes_data = data.get("axes", {})
    if not isinstance(axes_data, dict):
        raise ScenarioError(src, "axes", "must be a table ([axes])")
    axes = tuple(_load_axis(src, str(k), v, fixed_base, strategies) for k, v in axes_data.items())
    _no_overlap(src, axes, fixed, strategies)

    ranged = any(a.kind == "range" for a in axes)
    samples = head.get("samples")
    if ranged:
        samples = _int(src, "sweep.samples", samples, 1)
    elif samples is not None:
        raise ScenarioError(src, "sweep.samples", "only used with range axes ({low=, high=})")
    return Sweep(
        name=name,
        source=src,
        scenario_path=str(scen_path),
        scenario=base,
        scenario_hash=scenario_hash(base),
        fixed=fixed,
        axes=axes,
        strategies=strategies,
        replications=replications,
        seed=seed,
        sampler=sampler,
        samples=samples or 0,
        weekly=weekly,
        description=description,
    )


def _no_unknown(src: str, prefix: str, data: dict, allowed: set[str], hint: str) -> None:
    for key in data:
        if key not in allowed:
            raise ScenarioError(src, f"{prefix}{key}", f"unknown key; {hint}")


def _int(src: str, field_: str, value: Any, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ScenarioError(src, field_, f"must be a whole number >= {minimum} (found {value!r})")
    return value


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """`{"buyers": {"count": 3}}` and `{"buyers.count": 3}` both give {"buyers.count": 3};
    a channel_mix table stays whole (it replaces the vendor's mix)."""
    out: dict[str, Any] = {}
    for k, v in table.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and not key.endswith("channel_mix"):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def _check_value(src: str, where: str, base: Scenario, changes: dict[str, Any]) -> None:
    try:
        base.with_changes(changes)
    except ScenarioError as exc:
        shown = ", ".join(f"{k} = {v!r}" for k, v in changes.items())
        if len(shown) > 120:
            shown = shown[:117] + "..."
        raise ScenarioError(src, where, f"{exc.field}: {exc.problem} (with {shown})") from None


def _load_strategies(src: str, data: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(data, dict):
        raise ScenarioError(src, "strategies", "must be tables [strategies.NAME]")
    out = {}
    for name, body in data.items():
        where = f"strategies.{name}"
        if not isinstance(body, dict) or not body:
            raise ScenarioError(
                src, where, "must be a table of vendor fields (channel_mix, weekly_budget, ...)"
            )
        _no_unknown(
            src, where + ".", body, _STRATEGY_KEYS, f"allowed: {', '.join(sorted(_STRATEGY_KEYS))}"
        )
        out[str(name)] = dict(body)
    return out


def _load_axis(
    src: str, name: str, spec: Any, base: Scenario, strategies: dict[str, dict[str, Any]]
) -> Axis:
    where = f"axes.{name}"
    if not _NAME.match(name) or "=" in name or "," in name:
        raise ScenarioError(src, where, "axis names use letters, digits, '_', '-', '.'")
    if isinstance(spec, list):
        spec = {"path": name, "values": spec}
    if not isinstance(spec, dict):
        raise ScenarioError(
            src,
            where,
            "must be a list of values, {low =, high =}, or {vendor =, strategies = [...]}"
            f" (found {spec!r})",
        )
    _no_unknown(src, where + ".", spec, _AXIS_KEYS, f"allowed: {', '.join(sorted(_AXIS_KEYS))}")

    if "strategies" in spec or "vendor" in spec:
        vendor, names = spec.get("vendor"), spec.get("strategies")
        if vendor not in base.vendor_names():
            raise ScenarioError(
                src,
                where + ".vendor",
                f"must name a vendor of the scenario: {', '.join(base.vendor_names())} "
                f"(found {vendor!r})",
            )
        _values_list(src, where + ".strategies", names)
        for s in names:
            if s not in strategies:
                known = ", ".join(strategies) or "none defined"
                raise ScenarioError(
                    src,
                    where + ".strategies",
                    f"unknown strategy {s!r}; define it as [strategies.{s}] (defined: {known})",
                )
        for s in names:
            changes = {f"vendors.{vendor}.{k}": v for k, v in strategies[s].items()}
            _check_value(src, f"strategies.{s}", base, changes)
        extra = set(spec) - {"vendor", "strategies"}
        if extra:
            raise ScenarioError(
                src,
                where,
                f"a strategy axis takes only vendor and strategies ({', '.join(sorted(extra))} given)",
            )
        return Axis(name, "strategy", values=tuple(names), vendor=vendor)

    paths = spec.get("paths", spec.get("path", name))
    if "path" in spec and "paths" in spec:
        raise ScenarioError(src, where, "give path or paths, not both")
    if isinstance(paths, str):
        paths = [paths]
    if not isinstance(paths, list) or not paths or not all(isinstance(x, str) for x in paths):
        raise ScenarioError(src, where + ".paths", 'must be a list of "dotted.path" strings')
    paths = tuple(paths)

    if "values" in spec:
        if {"low", "high", "log", "integer"} & set(spec):
            raise ScenarioError(src, where, "give values = [...] or low/high, not both")
        values = spec["values"]
        _values_list(src, where, values)
        for v in values:
            if isinstance(v, dict | list):
                raise ScenarioError(src, where, f"values must be numbers or strings (found {v!r})")
            _check_value(src, where, base, dict.fromkeys(paths, v))
        return Axis(name, "grid", paths=paths, values=tuple(values))

    if "low" not in spec or "high" not in spec:
        raise ScenarioError(
            src, where, "a range axis needs low and high (or give values = [...] for a grid)"
        )
    low, high = spec["low"], spec["high"]
    for key, v in (("low", low), ("high", high)):
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
            raise ScenarioError(src, f"{where}.{key}", f"must be a number (found {v!r})")
    if not low < high:
        raise ScenarioError(src, where, f"low must be below high (found low={low}, high={high})")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ScenarioError(src, where + ".log", f"must be true or false (found {log!r})")
    if log and low <= 0:
        raise ScenarioError(src, where + ".low", f"must be > 0 with log = true (found {low})")
    current = _current_value(base, paths[0])
    integer = spec.get("integer", isinstance(current, int) and not isinstance(current, bool))
    if not isinstance(integer, bool):
        raise ScenarioError(src, where + ".integer", f"must be true or false (found {integer!r})")
    for v in (low, high):
        v = int(round(v)) if integer else float(v)
        _check_value(src, where, base, dict.fromkeys(paths, v))
    return Axis(
        name, "range", paths=paths, low=float(low), high=float(high), log=log, integer=integer
    )


def _values_list(src: str, where: str, values: Any) -> None:
    if not isinstance(values, list) or not values:
        raise ScenarioError(src, where, f"must be a non-empty list (found {values!r})")
    seen = [json.dumps(v, sort_keys=True, default=str) for v in values]
    if len(set(seen)) != len(seen):
        raise ScenarioError(src, where, f"values must be distinct (found {values!r})")


def _current_value(base: Scenario, dotted: str) -> Any:
    """The base scenario's value at a dotted path (None if it has none)."""
    node: Any = base.model_dump()
    for part in dotted.split("."):
        if isinstance(node, list):
            node = next((v for v in node if v.get("name") == part), None)
        elif isinstance(node, dict):
            node = node.get(part) if part != "vendors" else node["vendors"]
        if node is None:
            return None
    return node


def _no_overlap(
    src: str, axes: tuple[Axis, ...], fixed: dict[str, Any], strategies: dict[str, dict]
) -> None:
    owner: dict[str, str] = {}
    for a in axes:
        if a.kind == "strategy":
            paths = {f"vendors.{a.vendor}.{k}" for s in a.values for k in strategies[s]}
        else:
            paths = set(a.paths)
        for path in sorted(paths):
            if path in owner:
                raise ScenarioError(
                    src, f"axes.{a.name}", f"{path} is already swept by axis {owner[path]!r}"
                )
            if path in fixed:
                raise ScenarioError(src, f"axes.{a.name}", f"{path} is also fixed in [sweep.set]")
            owner[path] = a.name


# ------------------------------------------------------------------------ one chunk
@dataclass(frozen=True)
class ChunkTask:
    """What a worker needs to run a chunk and write its part files."""

    sweep_dir: str
    chunk_id: str
    scenario: Scenario
    runs: tuple[RunSpec, ...]
    axes: tuple[tuple[str, bool], ...]  # (axis name, numeric)
    weekly: bool


@dataclass(frozen=True)
class Receipt:
    """What a worker sends back: counts only, never result rows."""

    chunk_id: str
    ok: int
    failed: int


def run_chunk(task: ChunkTask) -> Receipt:
    """Run every run of a chunk and write its part files (the `runs` part last)."""
    from analysis.store import write_parquet

    rows: dict[str, list[pd.DataFrame]] = {t: [] for t in TABLES if t != "runs"}
    run_rows = []
    for spec in task.runs:
        row, tables = execute_run(task.scenario, spec, task.weekly)
        run_rows.append(row)
        for name, df in tables.items():
            rows[name].append(df)
    base = Path(task.sweep_dir)
    for name, frames in rows.items():
        if frames:
            df = pd.concat(frames, ignore_index=True)
            write_parquet(df, base / f"table={name}" / f"part-{task.chunk_id}.parquet")
    runs = runs_frame(run_rows, task.axes)
    write_parquet(runs, base / "table=runs" / f"part-{task.chunk_id}.parquet")
    failed = int((runs["status"] != "ok").sum())
    return Receipt(task.chunk_id, len(runs) - failed, failed)


def execute_run(
    base: Scenario, spec: RunSpec, weekly: bool = False
) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """Run one spec; return its `runs` row and its long tables (none if it failed)."""
    from sim.model import BuyerJourneyModel
    from sim.tables import funnel, source_use_table, vendors_table, weekly_table

    started = time.perf_counter()
    row: dict[str, Any] = {
        "run_id": spec.run_id,
        "variant": spec.variant,
        "variant_id": spec.variant_id,
        "replication": spec.replication,
        "seed": spec.seed,
        "status": "ok",
        "error": None,
        "params": spec.params,
    }
    keys = {
        "run_id": spec.run_id,
        "variant": spec.variant,
        "variant_id": spec.variant_id,
        "replication": spec.replication,
    }
    tables: dict[str, pd.DataFrame] = {}
    try:
        scenario = base.with_changes(spec.changes)
        model = BuyerJourneyModel(scenario, seed=spec.seed, record_touches=False)
        model.run()
        row.update(funnel(model))
        vendors = vendors_table(model)
        tables["vendors"] = _keyed(vendors, {**keys, "seed": spec.seed})
        tables["source_use"] = _keyed(source_use_table(model), keys)
        if weekly:
            wk = weekly_table(model)
            conv = [c for c in wk.columns if c.startswith("conversions_")]
            tables["weekly"] = _keyed(wk.drop(columns=conv), keys)
            long = wk.melt(
                id_vars="week", value_vars=conv, var_name="vendor", value_name="conversions"
            )
            long["vendor"] = long["vendor"].str.removeprefix("conversions_").astype("string")
            long = long.sort_values(["week", "vendor"], kind="stable").reset_index(drop=True)
            tables["weekly_vendors"] = _keyed(long, keys)
    except Exception as exc:  # a failed run is a row with its error, not a crashed sweep
        row["status"] = "error"
        row["error"] = f"{type(exc).__name__}: {exc}"
        tables = {}
    row["elapsed_s"] = time.perf_counter() - started
    return row, tables


def _keyed(df: pd.DataFrame, keys: dict[str, Any]) -> pd.DataFrame:
    front = pd.DataFrame({k: [v] * len(df) for k, v in keys.items()})
    out = pd.concat([front, df.reset_index(drop=True)], axis=1)
    for k in ("run_id", "variant"):
        out[k] = out[k].astype("string")
    for k in ("variant_id", "replication", "seed"):
        if k in out:
            out[k] = out[k].astype(np.int64)
    return out


def runs_frame(rows: list[dict[str, Any]], axes: tuple[tuple[str, bool], ...]) -> pd.DataFrame:
    """The `runs` rows of a chunk with a fixed schema (same columns and types in every part)."""
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
    for name, numeric in axes:
        values = [r["params"][name] for r in rows]
        if numeric:
            df[f"p:{name}"] = np.array(values, dtype=float)
        else:
            df[f"p:{name}"] = pd.array([str(v) for v in values], dtype="string")
    for col in FUNNEL_COLUMNS:
        df[col] = pd.array([r.get(col) for r in rows], dtype="Int64")
    return df


# ------------------------------------------------------------------------ executors
class InlineExecutor(cf.Executor):
    """Runs each task at submit time in this process (one worker; tests; debugging)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller via the future
            if isinstance(exc, KeyboardInterrupt):
                raise
            future.set_exception(exc)
        return future


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the driver, which stops the sweep cleanly."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def default_workers() -> int:
    """The number of cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextmanager
def open_executor(workers: int, dask: str | None = None) -> Iterator[cf.Executor]:
    """The executor for a sweep: in-process (1 worker), a process pool, or Dask.

    `dask="local"` starts a LocalCluster with `workers` single-threaded worker processes;
    any other value is the address of a running scheduler (tcp://host:8786). Dask is
    imported only here.
    """
    if dask is not None:
        with _dask_executor(workers, dask) as ex:
            yield ex
        return
    if workers == 1:
        yield InlineExecutor()
        return
    ctx = multiprocessing.get_context(_start_method())
    if ctx.get_start_method() == "forkserver":
        ctx.set_forkserver_preload(["analysis.sweep", "sim.model", "sim.tables"])
    pool = cf.ProcessPoolExecutor(workers, mp_context=ctx, initializer=_ignore_sigint)
    try:
        pool.submit(int).result()  # start the workers now, before the progress bar's thread
        yield pool
    except BaseException:
        # stop at once: running chunks are lost (their runs are rerun on resume)
        pool.shutdown(wait=False, cancel_futures=True)
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.terminate()
        raise
    else:
        pool.shutdown(wait=True)


def _start_method() -> str:
    """fork where it is safe (Linux, no other Python threads yet): workers start at once
    with the model imported; else forkserver (a clean server imports the model once and
    forks the workers from it), else spawn."""
    import threading

    methods = multiprocessing.get_all_start_methods()
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else "spawn"


#: Dask settings for sweep workers. The sampling profiler interrupts a run every 10 ms to
#: walk its stack, and the event-loop tick and monitors wake every 20-500 ms to take the
#: GIL: together ~15-20% of a run's time, for nothing a sweep user looks at.
DASK_WORKER_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "5s",
}


def _check_reachable(address: str) -> None:
    """Fail at once, in one line, when nothing listens at a tcp:// scheduler address
    (Dask itself retries for its whole connect timeout before giving up)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(address if "://" in address else f"tcp://{address}")
    if parts.scheme != "tcp" or not parts.hostname:
        return  # other protocols: leave it to Dask
    try:
        with socket.create_connection((parts.hostname, parts.port or 8786), timeout=5):
            pass
    except OSError as exc:
        raise ScenarioError(
            "--dask", "", f"cannot reach a Dask scheduler at {address!r} ({exc.strerror or exc})"
        ) from None


def _warm_worker() -> None:
    """Import what a chunk needs, so a Dask worker's first chunk runs at full speed."""
    import analysis.store  # noqa: F401
    import sim.model  # noqa: F401
    import sim.tables  # noqa: F401


@contextmanager
def _dask_executor(workers: int, address: str) -> Iterator[cf.Executor]:
    import logging

    try:
        from distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - dask is a dependency
        raise ScenarioError(
            "--dask", "", "needs dask.distributed: pip install 'dask[distributed]'"
        ) from None
    import dask

    cluster = None
    dask.config.set(DASK_WORKER_CONFIG)
    try:
        if address == "local":
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
        else:
            _check_reachable(address)
            try:
                client = Client(address, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise ScenarioError(
                    "--dask", "", f"cannot reach a Dask scheduler at {address!r} ({exc})"
                ) from None
        try:
            # import the model on every worker now (part of start-up, not of the first
            # chunk): fresh worker processes would otherwise pay it inside the sweep
            client.run(_warm_worker)
            yield client.get_executor(pure=False)
        finally:
            client.close()
    finally:
        if cluster is not None:
            cluster.close()


# ------------------------------------------------------------------------ the driver
@dataclass
class SweepOutcome:
    """What a sweep did: totals over the directory and over this invocation."""

    sweep_dir: Path
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
        return self.already + self.ran


def sweep_dir(out: Path, sweep: Sweep) -> Path:
    """Where a sweep's files go: DIR/sweep=<name>."""
    return Path(out) / f"sweep={sweep.name}"


def run_sweep(
    sweep: Sweep,
    out: str | Path,
    workers: int | None = None,
    dask: str | None = None,
    weekly: bool | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    chunk_size: int | None = None,
) -> SweepOutcome:
    """Run the runs of `sweep` that DIR does not hold yet; write them under DIR.

    Returns:
        SweepOutcome with counts (runs in the sweep, already there, run now, failed).
    """
    from analysis.results import completed_runs, drop_failed_runs, remove_incomplete

    workers = workers or default_workers()
    weekly = sweep.weekly if weekly is None else weekly
    sdir = sweep_dir(Path(out), sweep)
    sdir.mkdir(parents=True, exist_ok=True)
    remove_incomplete(sdir)
    _write_json(sdir / "sweep.json", {**sweep.describe(), "weekly": weekly})
    if retry_failed:
        drop_failed_runs(sdir)
    done = completed_runs(sdir)
    specs = sweep.expand()
    wanted = {s.run_id for s in specs}
    stale = len(set(done) - wanted)
    if stale:
        print(
            f"note: {sdir} holds {stale} runs that are not in this sweep any more "
            "(an earlier version of the file?); they stay on disk",
            file=sys.stderr,
        )
    todo = [s for s in specs if s.run_id not in done]
    outcome = SweepOutcome(sdir, len(specs), len(specs) - len(todo))
    if not todo:
        return outcome
    size = chunk_size or max(1, min(MAX_CHUNK, math.ceil(len(todo) / (workers * 4))))
    axes = tuple((a.name, a.numeric) for a in sweep.axes)
    tasks = (
        ChunkTask(str(sdir), _chunk_id(chunk), sweep.scenario, tuple(chunk), axes, weekly)
        for chunk in _chunks(todo, size)
    )
    started = time.perf_counter()
    bar = None
    try:
        with open_executor(workers, dask) as executor:
            outcome.startup_s = time.perf_counter() - started
            bar = _progress(len(todo), sweep.name, progress)
            _drive(executor, tasks, workers * 2, outcome, bar, started)
    except KeyboardInterrupt:
        outcome.interrupted = True
    finally:
        if bar is not None:
            bar.close()
        outcome.elapsed_s = time.perf_counter() - started
    return outcome


def _drive(executor, tasks, window, outcome: SweepOutcome, bar, started: float) -> None:
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
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=f"sweep {name}",
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


def _write_json(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


# ------------------------------------------------------------------------ command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python run.py sweep`."""
    from analysis.cli import int_arg

    parser.add_argument("file", help="sweep TOML file (see scenarios/sweep_*.toml)")
    parser.add_argument("--out", type=Path, required=True, help="results folder (resumable)")
    parser.add_argument(
        "--workers",
        type=int_arg("--workers"),
        help=f"worker processes (default: the core count, {default_workers()} here)",
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help='run on Dask: "local" starts a LocalCluster, or a scheduler address tcp://host:8786',
    )
    parser.add_argument("--weekly", action="store_true", help="also write the weekly tables")
    parser.add_argument(
        "--retry-failed", action="store_true", help="run again the runs that ended in an error"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def command(args: argparse.Namespace) -> int:
    """`python run.py sweep FILE --out DIR`: run what is missing, print one summary line."""
    sweep = load_sweep_file(args.file)
    workers = args.workers or default_workers()
    outcome = run_sweep(
        sweep,
        args.out,
        workers=workers,
        dask=args.dask,
        weekly=True if args.weekly else None,
        retry_failed=args.retry_failed,
        progress=not args.quiet,
    )
    where = outcome.sweep_dir
    if outcome.interrupted or outcome.broken:
        why = "interrupted" if outcome.interrupted else f"stopped ({outcome.broken})"
        print(
            f"{why}: {outcome.saved} of {outcome.total} runs are saved in {where}; "
            "run the same command again to run the rest",
            file=sys.stderr,
        )
        return 130 if outcome.interrupted else 1
    if outcome.ran == 0:
        print(f"sweep {sweep.name}: all {outcome.total} runs already in {where}")
        return 0
    rate = outcome.ran / max(outcome.elapsed_s, 1e-9) * 60
    failed = f", {outcome.failed} failed (status/error in the runs table)" if outcome.failed else ""
    resumed = f" ({outcome.already} were already there)" if outcome.already else ""
    print(
        f"sweep {sweep.name}: ran {outcome.ran} runs{resumed}{failed} in "
        f"{outcome.elapsed_s:.1f} s ({rate:,.0f} runs/min, "
        f"{'dask ' + args.dask if args.dask else f'{workers} worker(s)'}) -> {where}"
    )
    return 0
