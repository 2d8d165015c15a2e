"""Sweep designs: a sweep file validated once, expanded into the run table.

A sweep file names a base scenario, fixed overrides (`[sweep.set]`), axes (grid lists,
sampled ranges, named vendor strategies), a number of replications and a base seed.
`load_sweep_file` validates it once into a frozen `Sweep` (every problem is one line
naming the file and the key); `Sweep.variants()` gives the design points and
`Sweep.expand()` the run table (one `RunSpec` per variant x replication) before anything
executes.

Common random numbers: replication r of every variant runs with the same seed,
`replication_seed(base seed, r)` (numpy's SeedSequence), so variants are compared pair by
pair. Run ids hash the base scenario's content, the run's changes, its parameters and
its seed, so the same design always has the same ids (what resume relies on).

Only the standard library, pydantic (sim.scenario) and, when sampling, scipy are
imported here: `run.py validate` reads sweep files without the model.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.engine.limits import MAX_AXIS_VALUES, MAX_RUNS, check_runs, check_sweep_memory
from sim.scenario import (
    MAX_SEED,
    Scenario,
    ScenarioError,
    VendorSpec,
    load_scenario,
    read_toml,
    shown,
)

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
        return replication_seeds(self.seed, self.replications)

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

    def run_count(self) -> int:
        """The number of runs, without sampling (`run.py validate` stays fast: no scipy)."""
        n = self.samples if any(a.kind == "range" for a in self.axes) else 1
        for a in self.axes:
            if a.kind != "range":
                n *= len(a.values)
        return n * self.replications

    def axis_changes(self, axis: Axis, value: Any) -> dict[str, Any]:
        """The scenario changes (dotted path -> value) one axis value makes."""
        if axis.kind == "strategy":
            return {f"vendors.{axis.vendor}.{k}": v for k, v in self.strategies[value].items()}
        return {p: value for p in axis.paths}

    def expand(self) -> list[RunSpec]:
        """The run table: every variant x replication, replication-major (so a partial
        sweep covers all variants evenly)."""
        return expand_runs(self.scenario_hash, self.variants(), self.seeds())

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
    """Seed of replication r: derived from (base seed, r) only, never from the variant,
    so replication r of every variant shares its seed (common random numbers)."""
    import numpy as np

    return int(np.random.SeedSequence([base_seed, replication]).generate_state(1)[0])


def replication_seeds(base_seed: int, replications: int) -> list[int]:
    """The seeds of replications 0..n-1 (the same list for every variant).

    Raises:
        ScenarioError: more than MAX_RUNS replications (before any seed is made).
    """
    check_runs("design", "replications", 1, replications)
    return [replication_seed(base_seed, r) for r in range(replications)]


def expand_runs(scenario_hash: str, variants: list[Variant], seeds: list[int]) -> list[RunSpec]:
    """The run table of a design: every variant x replication, replication-major (so a
    partial run covers all variants evenly); replication r uses seeds[r] in every variant.

    Any design goes through here (sweeps, the attribution lab), so they share seeding and
    run ids."""
    check_runs("design", "runs", len(variants), len(seeds))
    runs = []
    for r, seed in enumerate(seeds):
        for v in variants:
            rid = run_id(scenario_hash, v.changes, v.params, seed)
            runs.append(RunSpec(rid, v.label, v.variant_id, r, seed, v.params, v.changes))
    return runs


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


@dataclass(frozen=True)
class StudyBase:
    """What a study file's base scenario entry gives: the scenario (with the `set`
    changes, if applied), the file it came from and the flattened `set` changes."""

    scenario: Scenario
    path: Path
    fixed: dict[str, Any]


def study_scenario(
    src: str, table: str, head: dict[str, Any], folder: Path, apply_set: bool = True
) -> StudyBase:
    """The base scenario a study file's [table] names (`scenario = "file"`, relative to
    the study file's folder), with the table's `set` changes ("dotted.path" = value)
    applied when `apply_set`. Sweeps, sensitivity, optimisation and DATA-loop studies all
    read their base this way; every problem is one line naming `<table>.scenario` or
    `<table>.set.<path>`."""
    scen = head.get("scenario")
    if not isinstance(scen, str) or not scen:
        raise ScenarioError(
            src,
            f"{table}.scenario",
            f'the base scenario file is needed, e.g. scenario = "baseline.toml" '
            f"(found {shown(scen)})",
        )
    path = Path(scen) if Path(scen).is_absolute() else folder / scen
    if not path.is_file():
        raise ScenarioError(
            src,
            f"{table}.scenario",
            f"scenario file {str(path)!r} not found (paths start at this file's folder)",
        )
    base = load_scenario(path)
    if not apply_set:
        return StudyBase(base, path, {})
    fixed = head.get("set", {})
    if not isinstance(fixed, dict):
        raise ScenarioError(src, f"{table}.set", 'must be a table of "dotted.path" = value')
    fixed = _flatten(fixed)
    try:
        return StudyBase(base.with_changes(fixed), path, fixed)
    except ScenarioError as exc:
        raise ScenarioError(src, f"{table}.set.{exc.field}", exc.problem) from None


def load_sweep_file(path: str | Path) -> Sweep:
    """Read and validate a sweep TOML file into a Sweep.

    Raises:
        ScenarioError: one line naming the file, the key and what is allowed.
    """
    p = Path(path)
    src = str(path)
    data = read_toml(p, "sweep")
    if "sweep" not in data:
        looks = "a scenario file" if "vendors" in data or "scenario" in data else "no sweep file"
        raise ScenarioError(
            src,
            "",
            f"not a sweep file: it has no [sweep] table (it looks like {looks}); a sweep "
            'file names its base scenario in [sweep] scenario = "FILE.toml" and sweeps '
            "it along [axes] (see scenarios/sweep_*.toml)",
        )
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
            f"a name of letters, digits, '_', '-', '.' is needed (found {shown(name)})",
        )
    study_base = study_scenario(src, "sweep", head, p.parent, apply_set=False)
    base, scen_path = study_base.scenario, study_base.path
    replications = _int(src, "sweep.replications", head.get("replications", 1), 1)
    seed = _int(src, "sweep.seed", head.get("seed", base.seed), 0, MAX_SEED)
    weekly = head.get("weekly", False)
    if not isinstance(weekly, bool):
        raise ScenarioError(src, "sweep.weekly", f"must be true or false (found {shown(weekly)})")
    description = head.get("description", "")
    if not isinstance(description, str):
        raise ScenarioError(src, "sweep.description", "must be a string")
    sampler = head.get("sampler", "lhs")
    if sampler not in ("lhs", "sobol"):
        raise ScenarioError(
            src, "sweep.sampler", f'must be "lhs" or "sobol" (found {shown(sampler)})'
        )

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
    _check_design_size(src, head, axes_data, replications)  # before any value is checked
    axes = tuple(_load_axis(src, str(k), v, fixed_base, strategies) for k, v in axes_data.items())
    _no_overlap(src, axes, fixed, strategies)

    ranged = any(a.kind == "range" for a in axes)
    samples = head.get("samples")
    if ranged:
        samples = _int(src, "sweep.samples", samples, 1)
    elif samples is not None:
        raise ScenarioError(src, "sweep.samples", "only used with range axes ({low=, high=})")
    sweep = Sweep(
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
    check_sweep_memory(sweep)  # the largest run must fit (the engine multiplies by workers)
    return sweep


def _check_design_size(
    src: str, head: dict[str, Any], axes: dict[str, Any], replications: int
) -> None:
    """Count variants x replications from the file's lists, before anything is built or
    checked value by value: at most MAX_RUNS runs, at most MAX_AXIS_VALUES per axis."""
    variants, ranged = 1, False
    for name, spec in axes.items():
        values = spec if isinstance(spec, list) else None
        if isinstance(spec, dict):
            values = spec.get("values", spec.get("strategies"))
            ranged = ranged or ("low" in spec and "high" in spec and values is None)
        if isinstance(values, list):
            if len(values) > MAX_AXIS_VALUES:
                raise ScenarioError(
                    src,
                    f"axes.{name}",
                    f"{len(values):,} values; an axis may list at most {MAX_AXIS_VALUES:,} "
                    "(use a range axis, {low =, high =} with samples, for more)",
                )
            variants *= max(len(values), 1)
    samples = head.get("samples")
    if ranged and isinstance(samples, int) and not isinstance(samples, bool) and samples > 0:
        variants *= samples
    check_runs(src, "sweep", variants, replications)
    if variants > MAX_RUNS:  # with replications = 1 still too many
        check_runs(src, "sweep", variants, 1)


def _no_unknown(src: str, prefix: str, data: dict, allowed: set[str], hint: str) -> None:
    for key in data:
        if key not in allowed:
            raise ScenarioError(src, f"{prefix}{key}", f"unknown key; {hint}")


def _int(src: str, field_: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ScenarioError(
            src, field_, f"must be a whole number >= {minimum} (found {shown(value)})"
        )
    if maximum is not None and value > maximum:
        raise ScenarioError(src, field_, f"must be at most {maximum:,} (found {value:,})")
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
        listed = ", ".join(f"{k} = {shown(v)}" for k, v in changes.items())
        if len(listed) > 120:
            listed = listed[:117] + "..."
        raise ScenarioError(src, where, f"{exc.field}: {exc.problem} (with {listed})") from None


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
            f" (found {shown(spec)})",
        )
    _no_unknown(src, where + ".", spec, _AXIS_KEYS, f"allowed: {', '.join(sorted(_AXIS_KEYS))}")

    if "strategies" in spec or "vendor" in spec:
        vendor, names = spec.get("vendor"), spec.get("strategies")
        if vendor not in base.vendor_names():
            raise ScenarioError(
                src,
                where + ".vendor",
                f"must name a vendor of the scenario: {', '.join(base.vendor_names())} "
                f"(found {shown(vendor)})",
            )
        _values_list(src, where + ".strategies", names)
        for s in names:
            if s not in strategies:
                known = ", ".join(strategies) or "none defined"
                raise ScenarioError(
                    src,
                    where + ".strategies",
                    f"unknown strategy {shown(s)}; define it as [strategies.{s}] (defined: {known})",
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
                raise ScenarioError(
                    src, where, f"values must be numbers or strings (found {shown(v)})"
                )
            _check_value(src, where, base, dict.fromkeys(paths, v))
        return Axis(name, "grid", paths=paths, values=tuple(values))

    if "low" not in spec or "high" not in spec:
        raise ScenarioError(
            src, where, "a range axis needs low and high (or give values = [...] for a grid)"
        )
    low, high = spec["low"], spec["high"]
    for key, v in (("low", low), ("high", high)):
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
            raise ScenarioError(src, f"{where}.{key}", f"must be a number (found {shown(v)})")
    if not low < high:
        raise ScenarioError(src, where, f"low must be below high (found low={low}, high={high})")
    log = spec.get("log", False)
    if not isinstance(log, bool):
        raise ScenarioError(src, where + ".log", f"must be true or false (found {shown(log)})")
    if log and low <= 0:
        raise ScenarioError(src, where + ".low", f"must be > 0 with log = true (found {low})")
    current = _current_value(base, paths[0])
    integer = spec.get("integer", isinstance(current, int) and not isinstance(current, bool))
    if not isinstance(integer, bool):
        raise ScenarioError(
            src, where + ".integer", f"must be true or false (found {shown(integer)})"
        )
    for v in (low, high):
        v = int(round(v)) if integer else float(v)
        _check_value(src, where, base, dict.fromkeys(paths, v))
    return Axis(
        name, "range", paths=paths, low=float(low), high=float(high), log=log, integer=integer
    )


def _values_list(src: str, where: str, values: Any) -> None:
    if not isinstance(values, list) or not values:
        raise ScenarioError(src, where, f"must be a non-empty list (found {shown(values)})")
    seen = [json.dumps(v, sort_keys=True, default=str) for v in values]
    if len(set(seen)) != len(seen):
        raise ScenarioError(src, where, f"values must be distinct (found {shown(values)})")


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
