"""How the optimiser learns a candidate's value: per-replication outcomes of candidates,
replication r run on seed replication_seed(spec.seed, r) for every candidate (common
random numbers).

- `EngineEvaluator` runs the model: the candidates' runs go through the study's point
  evaluator (analysis.engine.evaluate) into DIR/runs, one growing experiment, so a rerun
  finds every run on disk and runs nothing twice.
- `FunctionEvaluator` calls f(mix, budget, seed): the tests and the benchmark use it for
  objectives with a known optimum, and to time the search alone.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import pandas as pd

from analysis.engine.evaluate import Point, PointEvaluator
from analysis.engine.experiment import RunPlan
from analysis.errors import Stopped
from analysis.studies.optimize.candidates import Candidate
from analysis.studies.optimize.spec import Spec

if TYPE_CHECKING:
    from analysis.engine.context import ExecutionContext
    from analysis.engine.design import RunSpec

#: what a candidate's value is: {candidate key: {replication: {outcome: value}}}
Values = dict[str, dict[int, dict[str, float]]]

#: the vendor's outcomes each run records (its `runs` row)
OUTCOME_COLUMNS = {
    "conversions": "Int64",
    "market_conversions": "Float64",
    "originated": "Int64",
    "revenue": "Float64",
    "marketing_spend": "Float64",
    "profit": "Float64",
}


class Evaluator(Protocol):
    """Per-replication objective values of candidates: {key: {replication: value}}
    (replication r uses seed replication_seed(spec.seed, r) for every candidate).
    `ran` counts evaluations made, `already` those found done."""

    ran: int
    already: int

    def evaluate(self, cands: list[Candidate], reps: range) -> Values: ...


class FunctionEvaluator:
    """Calls f(mix, budget, seed) -> value (or a dict of outcomes with the objective's
    name); for tests and benchmarks of the search itself."""

    def __init__(self, spec: Spec, f: Callable[[dict[str, float], float, int], Any]) -> None:
        self.spec, self.f = spec, f
        self.cache: dict[tuple[str, int], dict[str, float]] = {}
        self.ran = 0
        self.already = 0
        self.calls = 0

    def evaluate(self, cands: list[Candidate], reps: range) -> Values:
        """Each candidate's values on `reps`, each (candidate, replication) computed once."""
        out: Values = {}
        for c in cands:
            row = out.setdefault(c.key, {})
            for r, seed in zip(reps, self.spec.seeds(reps.start, len(reps)), strict=True):
                if (c.key, r) not in self.cache:
                    v = self.f(c.shares(), c.budget, seed)
                    self.calls += 1
                    self.ran += 1
                    self.cache[(c.key, r)] = (
                        v if isinstance(v, dict) else {self.spec.objective: float(v)}
                    )
                row[r] = self.cache[(c.key, r)]
        return out


def vendor_outcome(model: Any, _spec: RunSpec, index: int, variable_cost: float) -> dict[str, Any]:
    """A run's `runs` row summary: the vendor's outcomes (market-scaled money)."""
    m, scale = model.market, model.market_scale
    revenue = float(m.revenue[index] * scale)
    spend = float(m.marketing_spend()[index])
    return {
        "conversions": int(m.conversions[index]),
        "market_conversions": float(m.conversions[index] * scale),
        "originated": int(m.originated[index]),
        "revenue": revenue,
        "marketing_spend": spend,
        "profit": revenue * (1.0 - variable_cost) - spend,
    }


def outcome_plan(spec: Spec) -> RunPlan:
    """What each run computes: the optimised vendor's outcomes."""
    v = next(x for x in spec.scenario.vendors if x.name == spec.vendor)
    index = spec.scenario.vendor_names().index(spec.vendor)
    return RunPlan(
        columns=OUTCOME_COLUMNS,
        summarize=partial(vendor_outcome, index=index, variable_cost=float(v.variable_cost)),
    )


def candidate_point(c: Candidate, vendor: str) -> Point:
    """A candidate as a point of the study: labelled by its key, its variant id a hash of
    the key, its runs' params the key and the budget."""
    vid = int(hashlib.sha256(c.key.encode()).hexdigest()[:12], 16)
    return Point(c.key, vid, {"candidate": c.key, "budget": c.budget}, c.changes(vendor))


class EngineEvaluator:
    """Runs candidates through the study's execution context into `out` (DIR/runs) and
    reads their outcomes back; `ran` counts runs run now, `already` runs asked for again
    that were on disk (from an earlier command, or an earlier stage of this one)."""

    def __init__(self, spec: Spec, out: Path, ctx: ExecutionContext) -> None:
        self.spec = spec
        self.points = PointEvaluator(
            ctx,
            out,
            spec.scenario,
            outcome_plan(spec),
            params=(("candidate", False), ("budget", True)),
            design=spec.scenario_hash,
            name=f"optimize {spec.name}",
            draws=spec.draws,
        )
        self.already = 0

    @property
    def ran(self) -> int:
        return self.points.ran

    def evaluate(self, cands: list[Candidate], reps: range) -> Values:
        """The candidates' outcomes on `reps`; runs missing from disk are run first.
        Raises Stopped when the engine stops or every run of a candidate failed."""
        seeds = self.spec.seeds(reps.start, len(reps))
        wanted = {
            c.key: self.points.specs(candidate_point(c, self.spec.vendor), seeds, reps.start)
            for c in cands
        }
        asked = {s.run_id for ss in wanted.values() for s in ss}
        outcome = self.points.run([s for ss in wanted.values() for s in ss])
        # every run asked before this call is on disk, so those not run now were there
        self.already += len(asked) - (outcome.total - outcome.already)
        rows = _rows(self.points.runs(asked))
        return {key: self._values(key, ss, rows) for key, ss in wanted.items()}

    def _values(
        self, key: str, specs: list[RunSpec], rows: dict[str, dict[str, Any]]
    ) -> dict[int, dict[str, float]]:
        """One candidate's outcomes by replication (its runs that ended well)."""
        got = {
            s.replication: _outcomes(rows[s.run_id])
            for s in specs
            if rows.get(s.run_id, {}).get("status") == "ok"
        }
        if not got:
            row = rows.get(specs[0].run_id, {"status": "missing", "error": "not on disk"})
            error = row["error"] if isinstance(row["error"], str) else ""
            raise Stopped(
                f"every run of candidate {key} failed (e.g. {row['status']}: {error}); "
                f"see {self.points.out}/table=runs",
                1,
            )
        return got


def _rows(df: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The runs table as run id -> row."""
    if df.empty:
        return {}
    return {r["run_id"]: r for r in df.to_dict("records")}


def _outcomes(row: dict[str, Any]) -> dict[str, float]:
    """A run's outcomes as floats (NaN where it recorded none)."""
    return {k: math.nan if pd.isna(row[k]) else float(row[k]) for k in OUTCOME_COLUMNS}
