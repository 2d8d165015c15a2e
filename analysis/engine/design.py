"""Sweep designs: the design types and the run table they expand into.

A sweep file (analysis.engine.sweepfile reads and checks it) names a base scenario, fixed
overrides (`[sweep.set]`), axes (grid lists, sampled ranges, named vendor strategies), a
number of replications and a base seed. `load_sweep_file` makes a frozen `Sweep` of it;
`Sweep.variants()` gives the design points and `Sweep.expand()` the run table (one
`RunSpec` per variant x replication) before anything executes. Other designs (the
attribution lab, summaries, studies) use `Variant`, `expand_runs` and the seeds directly.

Common random numbers: replication r of every variant runs with the same seed,
`replication_seed(base seed, r)` (numpy's SeedSequence), so variants are compared pair by
pair. Run ids hash the base scenario's content, the run's changes, its parameters and
its seed, so the same design always has the same ids (what resume relies on).

Answers across plausible markets: a design may carry `Draws` (a posterior's parameter
sets, analysis.studies.across.draws). Replication r then draws ONE parameter set,
from (base seed, r) alone, and `run_spec` (the one place a run's changes are put
together) puts its scenario changes UNDER the variant's own: a setting the variant (a
strategy, an axis, `[sweep.set]`) makes explicitly wins over the draw. The drawn values
are the run's `post:<name>` columns; the changes are in the run id, so a design with a
posterior has other run ids than without, and one without keeps its ids.

Only the standard library, pydantic (sim.scenario, the sweep file) and, when seeding or
sampling, numpy and scipy are imported here: `run.py validate` reads sweep files without
the model.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from analysis.engine.limits import check_runs, check_sweep_memory
from analysis.engine.sweepfile import read_sweep_file
from sim.scenario import Scenario


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
    """One run of the run table: a variant's changes plus a replication's seed (and,
    with a posterior, the replication's drawn parameter set: `drawn`, the runs table's
    `post:<name>` columns; its changes are in `changes`)."""

    run_id: str
    variant: str
    variant_id: int
    replication: int
    seed: int
    params: dict[str, Any]
    changes: dict[str, Any]
    drawn: dict[str, float] = field(default_factory=dict)


class Draws(Protocol):
    """Per replication, one parameter set and the scenario changes it makes (a
    posterior's draws: analysis.studies.across.draws.PosteriorDraws). `at(r)` must
    depend on the replication alone (never the variant), so pairing holds."""

    source: str

    @property
    def names(self) -> tuple[str, ...]: ...

    def at(self, replication: int) -> tuple[dict[str, float], dict[str, Any]]: ...

    def describe(self) -> dict[str, Any]: ...


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
    draws: Draws | None = field(default=None, compare=False)
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
        return expand_runs(self.scenario_hash, self.variants(), self.seeds(), self.draws)

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
        extra = {"posterior": self.draws.describe()} if self.draws is not None else {}
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
            **extra,
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


def expand_runs(
    scenario_hash: str, variants: list[Variant], seeds: list[int], draws: Draws | None = None
) -> list[RunSpec]:
    """The run table of a design: every variant x replication, replication-major (so a
    partial run covers all variants evenly); replication r uses seeds[r] in every variant
    (and, with `draws`, the same drawn parameter set in every variant).

    Any design goes through here (sweeps, the attribution lab), so they share seeding and
    run ids."""
    check_runs("design", "runs", len(variants), len(seeds))
    runs = []
    for r, seed in enumerate(seeds):
        for v in variants:
            runs.append(
                run_spec(scenario_hash, v.label, v.variant_id, r, seed, v.params, v.changes, draws)
            )
    return runs


def run_spec(
    design: str,
    label: str,
    variant_id: int,
    replication: int,
    seed: int,
    params: dict[str, Any],
    changes: dict[str, Any],
    draws: Draws | None = None,
) -> RunSpec:
    """One run: a variant's changes on replication `replication` (seed `seed`).

    The one place a run's scenario changes are put together: with `draws`, replication
    r's drawn parameter set (`draws.at(r)`, the same for every variant) changes the
    scenario first and the variant's own changes come after it, so a field the variant
    sets explicitly keeps the variant's value. The run id hashes the merged changes."""
    drawn: dict[str, float] = {}
    if draws is not None:
        drawn, drawn_changes = draws.at(replication)
        merged = {k: v for k, v in drawn_changes.items() if k not in changes}
        merged.update(changes)  # the variant's own settings last: they win
        changes = merged
    rid = run_id(design, changes, params, seed)
    return RunSpec(rid, label, variant_id, replication, seed, params, changes, dict(drawn))


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
    # a calibration's priors change no run (and leave the ids of runs before them as they were)
    data.get("calibration", {}).pop("priors", None)
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
    """Read and validate a sweep TOML file into a Sweep (analysis.engine.sweepfile reads
    and checks it; the largest run must fit in memory).

    Raises:
        ScenarioError: one line naming the file, the key and what is allowed.
    """
    checked = read_sweep_file(path)
    head = checked.table
    sweep = Sweep(
        name=head.name,
        source=checked.source,
        scenario_path=str(checked.scenario_path),
        scenario=checked.scenario,
        scenario_hash=scenario_hash(checked.scenario),
        fixed=checked.fixed,
        axes=tuple(Axis(**fields) for fields in checked.axes),
        strategies=checked.strategies,
        replications=head.replications,
        seed=checked.seed,
        sampler=head.sampler,
        samples=head.samples or 0,
        weekly=head.weekly,
        description=head.description,
    )
    check_sweep_memory(sweep)  # the largest run must fit (the engine multiplies by workers)
    return sweep
