"""`python run.py optimize FILE --out DIR`: the channel mix (and optionally the budget) that
maximises one vendor's objective, competitors fixed.

    python run.py optimize scenarios/optimize_challenger_mix.toml --out results/opt \\
        [--trials N] [--workers W] [--dask local | --dask tcp://host:8786] [--quiet]

The file (scenarios/optimize_*.toml) names a base scenario, the vendor, the objective
(`conversions`; `profit` = revenue - marketing spend - variable cost, i.e. the contribution
after marketing, fixed costs left out as the mix does not change them; `originated`:
marketing-originated customers), the channels the mix may use, the weekly budget (or a
range, to search the budget too) and the search's size.

**Parametrisation.** One free logit per channel in [-LOGIT_BOUND, LOGIT_BOUND]; the mix is
their softmax, shares below `min_share` are set to 0 and the rest rounded to 0.1% (the
evaluated mix is the rounded one, so two trials that round alike share their runs). The
softmax treats every channel alike (stick-breaking orders them: the last channel's share
is a product of the others' remainders, a lopsided prior), reaches every corner of the
simplex, and a candidate is a point of a box, which is what the sampler searches.

**Sampler.** Optuna's TPE (multivariate, with the constant liar for batches) through the
ask-and-tell interface: `batch` trials are asked at once, their runs go to the experiment
engine together (processes or Dask, in parallel), and their means are told back. Why TPE:
the search has tens of evaluations, not the hundreds CMA-ES needs to adapt its covariance
(Optuna's CMA-ES also needs the `cmaes` package, which is not installed here); TPE models
the whole history, so noisy values are averaged over neighbours rather than followed, and
the constant liar keeps a batch's points apart.

**Noise.** Every candidate runs the same R replication seeds (common random numbers:
replication_seed(seed, r)), so two candidates differ by their mix, not their luck. The
top-k candidates by search mean get `top_replications` more (the same seeds for all of
them) and the best mean over all its replications is recommended. A final paired
comparison of the recommended mix, the vendor's current mix and an equal split runs on
fresh seeds never used to choose (so the winner's curse does not inflate the uplift):
paired differences with 95% t intervals, Holm-adjusted over that family of comparisons.
The response curve of each channel varies its spend (others fixed at the recommended
spend) over `curve` multiples and gives the marginal cost per acquisition.

**Resume.** The study's state is DIR/trials.jsonl: every trial's parameters as it is asked
(written before its runs start) and its value as it is told; a rerun rebuilds the Optuna
study in memory from it (Optuna's own journal or SQLite storage cost 40 ms per trial here,
12% of a run; this costs under 1%). The runs live in DIR/runs (the engine's chunked
Parquet, one growing experiment). A killed optimisation
run again with the same command tells the trials it had asked (their runs are mostly on
disk), asks only the trials still missing and runs only missing runs; a finished one asks
nothing and runs nothing. DIR is locked for the whole optimisation (analysis.engine.folders).

Evaluation is pluggable (`Evaluator`): `EngineEvaluator` runs the model; a
`FunctionEvaluator` calls f(mix, budget, seed), which the tests use for objectives with
a known optimum.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from analysis.errors import Stopped

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from analysis.engine.design import RunSpec
    from sim.scenario import Scenario

OBJECTIVES = {
    "conversions": "conversions",
    "profit": "profit (revenue - marketing spend - variable cost)",
    "originated": "marketing-originated customers",
}
LOGIT_BOUND = 5.0
STUDY_FILE = "trials.jsonl"
SUMMARY_FILE = "optimize.json"
_TOP_KEYS = {"optimize"}
_KEYS = {
    "name",
    "description",
    "scenario",
    "vendor",
    "objective",
    "channels",
    "budget",
    "budget_range",
    "trials",
    "batch",
    "replications",
    "top_k",
    "top_replications",
    "final_replications",
    "curve",
    "curve_replications",
    "min_share",
    "seed",
    "set",
}


# ----------------------------------------------------------------------------- the file
@dataclass(frozen=True)
class Spec:
    """A validated optimisation file."""

    name: str
    source: str
    scenario: Scenario
    vendor: str
    objective: str
    channels: tuple[str, ...]
    budget: float
    budget_range: tuple[float, float] | None
    trials: int
    batch: int
    replications: int
    top_k: int
    top_replications: int
    final_replications: int
    curve: tuple[float, ...]
    curve_replications: int
    min_share: float
    seed: int
    description: str = ""

    @property
    def scenario_hash(self) -> str:
        from analysis.engine.design import scenario_hash

        return scenario_hash(self.scenario)

    @property
    def study_key(self) -> str:
        """What the search's values depend on (not trials, nor the later stages)."""
        text = json.dumps(
            [
                self.scenario_hash,
                self.vendor,
                self.objective,
                self.channels,
                self.budget,
                self.budget_range,
                self.replications,
                self.min_share,
                self.seed,
                self.batch,
            ],
            default=str,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def current_mix(self) -> dict[str, float]:
        v = next(x for x in self.scenario.vendors if x.name == self.vendor)
        total = sum(v.channel_mix.values())
        return {k: s / total for k, s in v.channel_mix.items() if s > 0} if total else {}

    def current_budget(self) -> float:
        return float(next(x for x in self.scenario.vendors if x.name == self.vendor).weekly_budget)

    def seeds(self, first: int, n: int) -> list[int]:
        from analysis.engine.design import replication_seed

        return [replication_seed(self.seed, r) for r in range(first, first + n)]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "scenario": self.scenario.name,
            "scenario_hash": self.scenario_hash,
            "vendor": self.vendor,
            "objective": self.objective,
            "channels": list(self.channels),
            "budget": self.budget,
            "budget_range": list(self.budget_range) if self.budget_range else None,
            "trials": self.trials,
            "batch": self.batch,
            "replications": self.replications,
            "top_k": self.top_k,
            "top_replications": self.top_replications,
            "final_replications": self.final_replications,
            "curve": list(self.curve),
            "curve_replications": self.curve_replications,
            "min_share": self.min_share,
            "seed": self.seed,
            "buyers": self.scenario.buyers.count,
            "weeks": self.scenario.weeks,
        }


def _int(src: str, key: str, value: Any, minimum: int, maximum: int = 100_000) -> int:
    from sim.scenario import ScenarioError, shown

    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise ScenarioError(
            src,
            f"optimize.{key}",
            f"must be a whole number {minimum}-{maximum} (found {shown(value)})",
        )
    return value


def _num(src: str, key: str, value: Any, minimum: float, strict: bool = True) -> float:
    from sim.scenario import ScenarioError, shown

    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (value <= minimum if strict else value < minimum) or value > 1e15:
        rel = ">" if strict else ">="
        raise ScenarioError(
            src, f"optimize.{key}", f"must be a number {rel} {minimum:g} (found {shown(value)})"
        )
    return float(value)


def load_spec(path: str | Path, trials: int | None = None) -> Spec:
    """Read and validate an optimisation file; every problem is one line (ScenarioError)."""
    from analysis.engine.design import study_scenario
    from analysis.engine.limits import check_memory
    from sim.channels import CHANNELS
    from sim.scenario import ScenarioError, read_toml, shown

    p = Path(path)
    src = str(path)
    data = read_toml(p, "optimisation")
    if "optimize" not in data or not isinstance(data["optimize"], dict):
        raise ScenarioError(
            src,
            "",
            "not an optimisation file: it has no [optimize] table (see scenarios/optimize_*.toml)",
        )
    for k in data:
        if k not in _TOP_KEYS:
            raise ScenarioError(src, k, "unknown key; allowed tables: [optimize], [optimize.set]")
    head = data["optimize"]
    for k in head:
        if k not in _KEYS:
            raise ScenarioError(
                src, f"optimize.{k}", f"unknown key; allowed: {', '.join(sorted(_KEYS))}"
            )
    name = head.get("name", p.stem)
    if not isinstance(name, str) or not name:
        raise ScenarioError(
            src, "optimize.name", f"must be a non-empty string (found {shown(name)})"
        )
    scenario = study_scenario(src, "optimize", head, p.parent).scenario
    vendor = head.get("vendor", scenario.vendor_names()[0])
    if vendor not in scenario.vendor_names():
        raise ScenarioError(
            src,
            "optimize.vendor",
            f"no vendor named {shown(vendor)}; vendors: {', '.join(scenario.vendor_names())}",
        )
    v = next(x for x in scenario.vendors if x.name == vendor)
    if v.schedule or v.policy != "static":
        raise ScenarioError(
            src,
            "optimize.vendor",
            f"{vendor} has a schedule or a non-static policy; the optimiser sets one mix for "
            'the whole horizon (remove the schedule, policy = "static")',
        )
    objective = head.get("objective", "conversions")
    if objective not in OBJECTIVES:
        raise ScenarioError(
            src,
            "optimize.objective",
            f"must be one of {', '.join(OBJECTIVES)} (found {shown(objective)})",
        )
    paid = [c.name for c in CHANNELS if c.paid]
    channels = head.get("channels", paid)
    if (
        not isinstance(channels, list)
        or len(channels) < 2
        or len(set(channels)) != len(channels)
        or not all(isinstance(c, str) for c in channels)
    ):
        raise ScenarioError(
            src,
            "optimize.channels",
            f"must list at least 2 distinct paid channels (found {shown(channels)})",
        )
    for c in channels:
        if c not in paid:
            raise ScenarioError(
                src,
                "optimize.channels",
                f"{shown(c)} is not a paid channel; allowed: {', '.join(paid)}",
            )
    channels = tuple(c for c in paid if c in channels)  # the model's channel order
    budget = _num(src, "budget", head.get("budget", v.weekly_budget), 0.0)
    brange = head.get("budget_range")
    if brange is not None:
        if not isinstance(brange, list) or len(brange) != 2:
            raise ScenarioError(
                src, "optimize.budget_range", f"must be [low, high] (found {shown(brange)})"
            )
        lo = _num(src, "budget_range", brange[0], 0.0)
        hi = _num(src, "budget_range", brange[1], 0.0)
        if not lo < hi:
            raise ScenarioError(
                src, "optimize.budget_range", f"low must be below high (found {lo:g}, {hi:g})"
            )
        brange = (lo, hi)
    n_trials = _int(src, "trials", head.get("trials", 40), 1)
    if trials is not None:
        n_trials = trials
    curve = head.get("curve", [0.0, 0.5, 1.0, 1.5, 2.0])
    if (
        not isinstance(curve, list)
        or not 2 <= len(curve) <= 20
        or not all(
            isinstance(x, int | float) and not isinstance(x, bool) and 0 <= x <= 100 for x in curve
        )
        or 1.0 not in [float(x) for x in curve]
    ):
        raise ScenarioError(
            src,
            "optimize.curve",
            f"must list 2-20 spend multiples in [0, 100] including 1.0 (found {shown(curve)})",
        )
    min_share = _num(src, "min_share", head.get("min_share", 0.02), 0.0, strict=False)
    if min_share >= 1.0 / len(channels):
        raise ScenarioError(
            src,
            "optimize.min_share",
            f"must be below 1/{len(channels)} (one share per channel; found {min_share:g})",
        )
    from sim.scenario import MAX_SEED

    spec = Spec(
        name=name,
        source=src,
        scenario=scenario,
        vendor=vendor,
        objective=objective,
        channels=channels,
        budget=budget,
        budget_range=brange,
        trials=n_trials,
        batch=_int(src, "batch", head.get("batch", 8), 1, 1000),
        replications=_int(src, "replications", head.get("replications", 8), 2, 10_000),
        top_k=_int(src, "top_k", head.get("top_k", 3), 1, 100),
        top_replications=_int(src, "top_replications", head.get("top_replications", 16), 0, 10_000),
        final_replications=_int(
            src, "final_replications", head.get("final_replications", 20), 2, 10_000
        ),
        curve=tuple(sorted({float(x) for x in curve})),
        curve_replications=_int(
            src, "curve_replications", head.get("curve_replications", 6), 2, 10_000
        ),
        min_share=min_share,
        seed=_int(src, "seed", head.get("seed", scenario.seed), 0, MAX_SEED),
        description=str(head.get("description", "")),
    )
    check_memory(scenario, src, "optimize.set")
    return spec


# ----------------------------------------------------------------------------- candidates
@dataclass(frozen=True)
class Candidate:
    """A mix (channel -> share, summing to 1) at a weekly budget."""

    mix: tuple[tuple[str, float], ...]
    budget: float

    @property
    def key(self) -> str:
        shares = ",".join(f"{c}={s:.3f}" for c, s in self.mix if s > 0)
        return f"{shares}@{self.budget:.6g}"

    def shares(self) -> dict[str, float]:
        return {c: s for c, s in self.mix if s > 0}

    def changes(self, vendor: str) -> dict[str, Any]:
        return {
            f"vendors.{vendor}.channel_mix": self.shares(),
            f"vendors.{vendor}.weekly_budget": self.budget,
        }


def make_candidate(
    shares: dict[str, float], budget: float, channels: tuple[str, ...], min_share: float = 0.0
) -> Candidate:
    """Normalise shares (drop those below min_share, round to 0.1%, exact sum 1)."""
    total = sum(max(0.0, shares.get(c, 0.0)) for c in channels)
    raw = {c: max(0.0, shares.get(c, 0.0)) / total for c in channels}
    raw = {c: (s if s >= min_share else 0.0) for c, s in raw.items()}
    total = sum(raw.values())
    rounded = {c: round(s / total, 3) for c, s in raw.items()}
    top = max(rounded, key=lambda c: rounded[c])
    rounded[top] = round(1.0 - sum(s for c, s in rounded.items() if c != top), 3)
    return Candidate(tuple((c, rounded[c]) for c in channels), float(f"{budget:.6g}"))


def candidate_from_params(params: dict[str, float], spec: Spec) -> Candidate:
    """The candidate of a trial: softmax of its logits, its budget (or the fixed one)."""
    logits = [params[f"logit:{c}"] for c in spec.channels]
    m = max(logits)
    w = [math.exp(x - m) for x in logits]
    shares = dict(zip(spec.channels, w, strict=True))
    budget = params.get("budget", spec.budget) if spec.budget_range else spec.budget
    return make_candidate(shares, budget, spec.channels, spec.min_share)


def params_of(
    shares: dict[str, float], spec: Spec, budget: float | None = None
) -> dict[str, float]:
    """Logits whose softmax is (about) these shares: a trial to enqueue."""
    top = max(shares.values())
    out = {}
    for c in spec.channels:
        s = shares.get(c, 0.0)
        out[f"logit:{c}"] = (
            LOGIT_BOUND
            if s >= top
            else max(-LOGIT_BOUND, LOGIT_BOUND + math.log(s / top))
            if s > 0
            else -LOGIT_BOUND
        )
    if spec.budget_range:
        lo, hi = spec.budget_range
        out["budget"] = min(hi, max(lo, budget if budget is not None else spec.budget))
    return out


def distributions(spec: Spec) -> dict[str, Any]:
    from optuna.distributions import FloatDistribution

    d = {f"logit:{c}": FloatDistribution(-LOGIT_BOUND, LOGIT_BOUND) for c in spec.channels}
    if spec.budget_range:
        d["budget"] = FloatDistribution(*spec.budget_range)
    return d


def equal_split(spec: Spec, budget: float | None = None) -> Candidate:
    return make_candidate(dict.fromkeys(spec.channels, 1.0), budget or spec.budget, spec.channels)


def current(spec: Spec) -> Candidate:
    """The vendor's own mix (channels outside the search set kept as they are) at the
    optimisation's budget, or at its own budget when the budget is searched too."""
    mix = spec.current_mix()
    chans = tuple(dict.fromkeys([*spec.channels, *mix]))
    budget = spec.current_budget() if spec.budget_range else spec.budget
    return make_candidate(mix, budget, chans)


# ----------------------------------------------------------------------------- evaluation
class Evaluator(Protocol):
    """Per-replication objective values of candidates: {key: {replication: value}}
    (replication r uses seed replication_seed(spec.seed, r) for every candidate)."""

    ran: int
    already: int

    def evaluate(
        self, cands: list[Candidate], reps: range
    ) -> dict[str, dict[int, dict[str, float]]]: ...


class FunctionEvaluator:
    """Calls f(mix, budget, seed) -> value (or a dict of outcomes with the objective's
    name); for tests and benchmarks of the search itself."""

    def __init__(self, spec: Spec, f: Callable[[dict[str, float], float, int], Any]) -> None:
        self.spec, self.f = spec, f
        self.cache: dict[tuple[str, int], dict[str, float]] = {}
        self.ran = 0
        self.already = 0
        self.calls = 0

    def evaluate(self, cands, reps):
        out: dict[str, dict[int, dict[str, float]]] = {}
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


OUTCOME_COLUMNS = {
    "conversions": "Int64",
    "market_conversions": "Float64",
    "originated": "Int64",
    "revenue": "Float64",
    "marketing_spend": "Float64",
    "profit": "Float64",
}


class EngineEvaluator:
    """Runs candidates through the experiment engine into DIR/runs (one growing
    experiment: resume finds every run) and reads their outcomes back."""

    def __init__(
        self, spec: Spec, out: Path, workers: int, dask: str | None, bar: Any = None
    ) -> None:
        from analysis.engine.experiment import RunPlan
        from analysis.engine.parts import completed_runs

        self.spec, self.out, self.workers, self.dask, self.bar = spec, out, workers, dask, bar
        v = next(x for x in spec.scenario.vendors if x.name == spec.vendor)
        index = spec.scenario.vendor_names().index(spec.vendor)
        self.plan = RunPlan(
            columns=OUTCOME_COLUMNS,
            summarize=partial(vendor_outcome, index=index, variable_cost=float(v.variable_cost)),
        )
        self.hash = spec.scenario_hash
        self.runs: dict[str, RunSpec] = {}
        self.values: dict[str, dict[str, float]] = {}
        self.status: dict[str, tuple[str, str]] = {}
        self.read: set[str] = set()
        self.ran = 0
        self.already = 0
        out.mkdir(parents=True, exist_ok=True)
        self._adopt(completed_runs(out) if (out / "table=runs").is_dir() else {})

    def _adopt(self, done: dict[str, str]) -> None:
        """Stored runs join the experiment as placeholders (never run again)."""
        from analysis.engine.design import RunSpec

        for rid in done:
            self.runs[rid] = RunSpec(rid, "stored", 0, 0, 0, {"candidate": "", "budget": 0.0}, {})

    def specs(self, c: Candidate, reps: range) -> list[RunSpec]:
        from analysis.engine.design import RunSpec, run_id

        changes = c.changes(self.spec.vendor)
        params = {"candidate": c.key, "budget": c.budget}
        vid = int(hashlib.sha256(c.key.encode()).hexdigest()[:12], 16)
        return [
            RunSpec(run_id(self.hash, changes, params, s), c.key, vid, r, s, params, changes)
            for r, s in zip(reps, self.spec.seeds(reps.start, len(reps)), strict=True)
        ]

    def evaluate(self, cands, reps):
        from analysis.engine.experiment import Experiment, run_experiment
        from analysis.errors import raise_if_stopped

        wanted = {c.key: self.specs(c, reps) for c in cands}
        todo = list({s.run_id: s for ss in wanted.values() for s in ss}.values())
        for s in todo:
            self.runs[s.run_id] = s
        self._read()
        missing = [s for s in todo if s.run_id not in self.status]
        self.already += len(todo) - len(missing)
        if missing:
            exp = Experiment(
                name=f"optimize {self.spec.name}",
                scenario=self.spec.scenario,
                runs=tuple(self.runs.values()),
                plan=self.plan,
                params=(("candidate", False), ("budget", True)),
            )
            outcome = run_experiment(
                exp,
                self.out,
                workers=max(1, min(self.workers, len(missing))),
                dask=self.dask,
                progress=False,
            )
            self.ran += outcome.ran
            raise_if_stopped(outcome)
            self._read()
        result: dict[str, dict[int, dict[str, float]]] = {}
        for key, ss in wanted.items():
            row = {
                s.replication: self.values[s.run_id]
                for s in ss
                if self.status.get(s.run_id, ("", ""))[0] == "ok"
            }
            if not row:
                st, err = self.status.get(ss[0].run_id, ("missing", "not on disk"))
                raise Stopped(
                    f"every run of candidate {key} failed (e.g. {st}: {err}); see {self.out}/table=runs",
                    1,
                )
            result[key] = row
        return result

    def _read(self) -> None:
        import pyarrow.parquet as pq

        from analysis.engine.parts import part_files

        cols = ["run_id", "status", "error", *OUTCOME_COLUMNS]
        for f in part_files(self.out, "runs"):
            if f.name in self.read:
                continue
            self.read.add(f.name)
            t = pq.read_table(f, columns=cols).to_pydict()
            for i, rid in enumerate(t["run_id"]):
                self.status[rid] = (t["status"][i], t["error"][i] or "")
                self.values[rid] = {
                    k: math.nan if t[k][i] is None else float(t[k][i]) for k in OUTCOME_COLUMNS
                }


# ----------------------------------------------------------------------------- the search
@dataclass
class Trial:
    number: int
    candidate: Candidate
    score: float


@dataclass
class Result:
    """A finished optimisation."""

    spec: Spec
    trials: list[Trial]
    top: pd.DataFrame  # the re-evaluated top-k
    recommended: Candidate
    comparison: pd.DataFrame  # paired differences, the final family
    final: pd.DataFrame  # final runs: variant, replication, objective
    curves: pd.DataFrame
    asked: int
    ran: int
    already: int
    elapsed_s: float
    overhead_s: float = 0.0
    notes: list[str] = field(default_factory=list)


def _sampler(spec: Spec):
    import optuna

    return optuna.samplers.TPESampler(
        seed=spec.seed,
        multivariate=True,
        constant_liar=True,
        n_startup_trials=max(2, min(10, spec.trials // 3)),
    )


def read_log(out: Path, spec: Spec) -> tuple[dict[int, dict], dict[int, float]]:
    """The study's state in DIR/trials.jsonl: trials asked (number -> params) and told
    (number -> value), of this study only (a line cut by a kill is ignored)."""
    asked: dict[int, dict] = {}
    told: dict[int, float] = {}
    f = out / STUDY_FILE
    if not f.is_file():
        return asked, told
    for line in f.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if row.get("study") != spec.study_key:
            continue
        if row["state"] == "asked":
            asked[int(row["number"])] = row["params"]
        elif row["state"] == "complete":
            told[int(row["number"])] = float(row["value"])
    return asked, told


def log_trials(out: Path, spec: Spec, rows: list[dict]) -> None:
    """Append trial records to DIR/trials.jsonl (flushed to disk before going on)."""
    import os

    with open(out / STUDY_FILE, "a", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps({"study": spec.study_key, **r}) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def open_study(spec: Spec, out: Path):
    """An in-memory Optuna study rebuilt from DIR/trials.jsonl (its told trials added as
    finished; the first trials queued when new). Returns (study, asked-not-told)."""
    import optuna
    from optuna.trial import create_trial

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=_sampler(spec), direction="maximize")
    asked, told = read_log(out, spec)
    dists = distributions(spec)
    for n in sorted(told):
        study.add_trial(create_trial(params=asked[n], distributions=dists, value=told[n]))
    if not asked:
        cur = spec.current_mix()
        if set(cur) <= set(spec.channels):
            study.enqueue_trial(params_of(cur, spec, current(spec).budget))
        study.enqueue_trial(params_of(dict.fromkeys(spec.channels, 1.0), spec))
    pending = {n: p for n, p in asked.items() if n not in told}
    return study, pending, len(asked)


def mean_objective(values: dict[int, dict[str, float]], objective: str) -> float:
    xs = [v[objective] for v in values.values() if not math.isnan(v[objective])]
    return sum(xs) / len(xs) if xs else math.nan


def search(spec: Spec, ev: Evaluator, out: Path, bar: Any = None) -> tuple[list[Trial], int, float]:
    """Ask-and-tell in batches until `spec.trials` trials are told. Asked trials are
    logged before they run, told ones after, so a killed search resumes: trials asked and
    not told are evaluated first (their runs mostly on disk). Returns (told trials, trials
    asked now, seconds spent outside the evaluations)."""
    from optuna.trial import create_trial

    t0 = time.perf_counter()
    study, pending, n_asked = open_study(spec, out)
    dists = distributions(spec)
    overhead = time.perf_counter() - t0
    asked_now = 0
    reps = range(0, spec.replications)
    told = sum(1 for t in study.trials if t.state.is_finished())
    if bar is not None:
        bar.update(min(told, spec.trials))
    while True:
        t0 = time.perf_counter()
        live = {}
        if not pending:
            n = min(spec.batch, spec.trials - told)
            if n <= 0:
                overhead += time.perf_counter() - t0
                break
            rows = []
            for _ in range(n):
                tr = study.ask(dists)
                live[n_asked] = tr
                pending[n_asked] = tr.params
                rows.append({"number": n_asked, "state": "asked", "params": tr.params})
                n_asked += 1
            log_trials(out, spec, rows)
            asked_now += n
        cands = {num: candidate_from_params(p, spec) for num, p in pending.items()}
        overhead += time.perf_counter() - t0
        values = ev.evaluate(list({c.key: c for c in cands.values()}.values()), reps)
        t0 = time.perf_counter()
        rows = []
        for num, c in cands.items():
            value = mean_objective(values[c.key], spec.objective)
            if num in live:
                study.tell(live[num], value)
            else:
                study.add_trial(create_trial(params=pending[num], distributions=dists, value=value))
            rows.append({"number": num, "state": "complete", "value": value})
        log_trials(out, spec, rows)
        told += len(cands)
        pending = {}
        overhead += time.perf_counter() - t0
        if bar is not None:
            bar.update(len(cands))
            bar.set_postfix_str(f"best={study.best_value:,.4g}", refresh=False)
    asked, values_told = read_log(out, spec)
    out_trials = [
        Trial(n, candidate_from_params(asked[n], spec), v) for n, v in sorted(values_told.items())
    ]
    return out_trials, asked_now, overhead


def _frame(
    values: dict[str, dict[int, dict[str, float]]], names: dict[str, str], objective: str
) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for key, reps in values.items():
        for r, v in reps.items():
            rows.append(
                {
                    "variant": names.get(key, key),
                    "candidate": key,
                    "replication": r,
                    "vendor": "",
                    **v,
                }
            )
    df = pd.DataFrame(rows)
    return df


def final_comparison(spec: Spec, df: pd.DataFrame) -> pd.DataFrame:
    """Recommended vs current vs equal split (paired by replication): each pair's mean
    difference with its 95% t interval and p-value, Holm-adjusted over the family."""
    import numpy as np
    import pandas as pd

    from analysis.stats import compare

    pairs = [("recommended", "current"), ("recommended", "equal split"), ("equal split", "current")]
    present = set(df["variant"])
    rows = []
    for a, b in pairs:
        if a not in present or b not in present:
            continue
        sub = df[df["variant"].isin([a, b])]
        r = compare.paired_differences(sub, b, spec.objective).iloc[0]
        rows.append(r)
    out = pd.DataFrame(rows).reset_index(drop=True)
    out["p_holm"] = compare.holm(out["p_value"].to_numpy(float))
    out["verdict"] = [
        compare.verdict(p, d, n)
        for p, d, n in zip(out["p_holm"], out["diff"], out["n_pairs"], strict=True)
    ]
    out["plain"] = [
        compare.plain_sentence(
            r.variant, r.reference, spec.objective, r.diff, r.ci_low, r.ci_high, r.verdict
        )
        for r in out.itertuples()
    ]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["relative"] = out["diff"] / out["mean_reference"]
    return out.drop(columns=["sentence"])


def curve_candidates(spec: Spec, rec: Candidate) -> list[tuple[str, float, Candidate]]:
    """(channel, multiple, candidate) for each channel's response curve: the channel's
    weekly spend at each multiple of its recommended spend (or of an equal share if it
    gets none), the others' spend fixed."""
    spend = {c: s * rec.budget for c, s in rec.mix}
    chans = tuple(dict.fromkeys([*spec.channels, *spend]))
    out = []
    for c in spec.channels:
        ref = spend.get(c, 0.0) or rec.budget / len(spec.channels)
        for m in spec.curve:
            s = dict(spend)
            s[c] = m * ref
            total = sum(s.values())
            if total <= 0:
                continue
            out.append(
                (c, s[c], make_candidate({k: v / total for k, v in s.items()}, total, chans))
            )
    return out


def optimize(
    spec: Spec,
    out: str | Path,
    evaluator: Evaluator | None = None,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = True,
    curves: bool = True,
) -> Result:
    """Search, re-evaluate the top-k, compare on fresh seeds, trace response curves."""
    import numpy as np
    import pandas as pd

    from analysis.engine.executors import default_workers
    from analysis.engine.folders import check_out_dir, folder_lock

    started = time.perf_counter()
    out = check_out_dir(out)
    workers = workers or default_workers()
    with (
        folder_lock(out),
        _scheduler(workers, dask, evaluator) as address,
        _bar(spec.trials, progress) as bar,
    ):
        from analysis.engine.writer import write_json

        write_json(out / "optimize_setup.json", spec.describe())
        ev = evaluator or EngineEvaluator(spec, out / "runs", workers, address)
        trials, asked, overhead = search(spec, ev, out, bar)
        obj = spec.objective
        # more replications near the optimum: the top-k distinct candidates
        best: dict[str, Trial] = {}
        for t in sorted(trials, key=lambda t: -t.score):
            best.setdefault(t.candidate.key, t)
        top = list(best.values())[: spec.top_k]
        n_top = spec.replications + spec.top_replications
        values = ev.evaluate([t.candidate for t in top], range(0, n_top))
        top_rows = []
        for t in top:
            xs = np.array([v[obj] for v in values[t.candidate.key].values()], float)
            top_rows.append(
                {
                    "candidate": t.candidate.key,
                    "trial": t.number,
                    "search_mean": t.score,
                    "replications": len(xs),
                    "mean": float(np.nanmean(xs)),
                    "half_width": float(_hw(xs)),
                }
            )
        top_df = (
            pd.DataFrame(top_rows)
            .sort_values("mean", ascending=False, kind="stable")
            .reset_index(drop=True)
        )
        rec = next(t.candidate for t in top if t.candidate.key == top_df["candidate"].iloc[0])
        # the final, paired comparison on fresh seeds
        first = n_top
        named = {
            "recommended": rec,
            "current": current(spec),
            "equal split": equal_split(spec, rec.budget),
        }
        fvals: dict[str, dict[int, dict[str, float]]] = {}
        uniq = {c.key: c for c in named.values()}
        got = ev.evaluate(list(uniq.values()), range(first, first + spec.final_replications))
        for name, c in named.items():
            fvals[name] = got[c.key]
        rows = [
            {
                "variant": name,
                "candidate": named[name].key,
                "replication": r,
                "vendor": spec.vendor,
                **v,
            }
            for name, reps in fvals.items()
            for r, v in reps.items()
        ]
        final = pd.DataFrame(rows)
        comparison = final_comparison(spec, final)
        # response curves (common seeds: the first curve_replications of the final seeds)
        curve_df = pd.DataFrame()
        if curves:
            cc = curve_candidates(spec, rec)
            reps = range(first, first + spec.curve_replications)
            cv = ev.evaluate(list({c.key: c for _, _, c in cc}.values()), reps)
            crow = []
            for ch, spend, c in cc:
                for r, v in cv[c.key].items():
                    crow.append(
                        {"channel": ch, "spend": spend, "budget": c.budget, "replication": r, **v}
                    )
            curve_df = summarize_curves(pd.DataFrame(crow), spec)
    return Result(
        spec=spec,
        trials=trials,
        top=top_df,
        recommended=rec,
        comparison=comparison,
        final=final,
        curves=curve_df,
        asked=asked,
        ran=ev.ran,
        already=ev.already,
        elapsed_s=time.perf_counter() - started,
        overhead_s=overhead,
    )


def _hw(xs: np.ndarray) -> float:
    import numpy as np

    from analysis.stats.compare import t_half_width

    xs = xs[~np.isnan(xs)]
    return float(
        t_half_width(np.array([xs.std(ddof=1) if len(xs) > 1 else math.nan]), np.array([len(xs)]))[
            0
        ]
    )


def summarize_curves(df: pd.DataFrame, spec: Spec) -> pd.DataFrame:
    """Per channel and spend level: mean conversions (95% CI) and the marginal cost per
    acquisition of the step from the level below (extra spend / extra market conversions)."""
    import numpy as np
    import pandas as pd

    if df.empty:
        return df
    rows = []
    for (ch, spend), g in df.groupby(["channel", "spend"], sort=True):
        rows.append(
            {
                "channel": ch,
                "weekly_spend": spend,
                "weekly_budget": g["budget"].iloc[0],
                "replications": len(g),
                "conversions": g["conversions"].mean(),
                "conversions_half_width": _hw(g["conversions"].to_numpy(float)),
                spec.objective: g[spec.objective].mean(),
                "market_conversions": g["market_conversions"].mean(),
                "marketing_spend": g["marketing_spend"].mean(),
            }
        )
    out = pd.DataFrame(rows)
    mcpa = []
    for _ch, g in out.groupby("channel", sort=False):
        prev = None
        for r in g.itertuples():
            if prev is None:
                mcpa.append(math.nan)
            else:
                dc = r.market_conversions - prev.market_conversions
                ds = r.marketing_spend - prev.marketing_spend
                mcpa.append(ds / dc if dc > 0 else math.inf)
            prev = r
    out["marginal_cpa"] = mcpa
    return out.replace({np.inf: math.inf})


@contextmanager
def _scheduler(workers: int, dask: str | None, evaluator: Any) -> Iterator[str | None]:
    if evaluator is not None or dask != "local":
        yield dask
        return
    from analysis.studies.calibrate.study import _scheduler as calibrate_scheduler

    with calibrate_scheduler(workers, dask) as address:
        yield address


def _bar(total: int, enabled: bool):
    from tqdm import tqdm

    class Bar(tqdm):
        monitor_interval = 0  # no monitor thread: each batch's pool can still fork

    return Bar(
        total=total,
        desc="optimize",
        unit="trial",
        file=sys.stderr,
        disable=not enabled,
        leave=False,
    )


# ----------------------------------------------------------------------------- outputs
def _fmt(x: float, objective: str = "conversions") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    if objective == "profit" or abs(x) >= 1e5:
        return f"{x / 1e6:,.2f}M" if abs(x) >= 1e6 else f"{x:,.0f}"
    return f"{x:,.1f}"


def mix_table(result: Result) -> pd.DataFrame:
    """Shares and weekly spend per channel: recommended, current, equal split."""
    import pandas as pd

    spec = result.spec
    cands = {
        "recommended": result.recommended,
        "current": current(spec),
        "equal split": equal_split(spec, result.recommended.budget),
    }
    chans = list(dict.fromkeys([*spec.channels, *current(spec).shares()]))
    rows = []
    for c in chans:
        row = {"channel": c}
        for name, cand in cands.items():
            s = cand.shares().get(c, 0.0)
            row[f"{name} share"] = s
            row[f"{name} weekly spend"] = s * cand.budget
        rows.append(row)
    return pd.DataFrame(rows)


def summary_lines(result: Result) -> list[str]:
    spec = result.spec
    obj = OBJECTIVES[spec.objective]
    rec = result.recommended
    lines = [
        f"{spec.vendor}: the mix that maximises {obj} at {rec.budget:,.0f} a week "
        f"({len(result.trials)} trials x {spec.replications} replications, top {spec.top_k} "
        f"re-run with {spec.replications + spec.top_replications}):",
    ]
    for c, s in sorted(rec.shares().items(), key=lambda kv: -kv[1]):
        lines.append(f"  {c:<24}{100 * s:5.1f}%  {s * rec.budget:>10,.0f} a week")
    lines.append(
        f"final comparison on {spec.final_replications} fresh replications (paired; 95% CI; "
        "Holm over these comparisons):"
    )
    for r in result.comparison.itertuples():
        lines.append(f"  {r.plain}")
    up = result.comparison[
        (result.comparison["variant"] == "recommended")
        & (result.comparison["reference"] == "current")
    ]
    if len(up):
        u = up.iloc[0]
        lines.append(
            f"expected uplift over the current mix: {_fmt(u['diff'], spec.objective)} {obj} "
            f"(95% CI {_fmt(u.ci_low, spec.objective)} to {_fmt(u.ci_high, spec.objective)}; "
            f"{100 * u.relative:+.1f}%)"
        )
    if len(result.curves):
        at = result.curves
        lines.append("marginal cost per acquisition at the recommended spend (next step up):")
        for ch, g in at.groupby("channel", sort=False):
            g = g.reset_index(drop=True)
            here = rec.shares().get(ch, 0.0) * rec.budget
            i = int((g["weekly_spend"] - here).abs().idxmin())
            nxt = g["marginal_cpa"].iloc[i + 1] if i + 1 < len(g) else math.nan
            txt = "no gain" if math.isinf(nxt) else ("-" if math.isnan(nxt) else f"{nxt:,.0f}")
            lines.append(f"  {ch:<24}{txt}")
    return lines


def curves_figure(result: Result):
    from analysis.render.html import pyplot

    plt = pyplot()
    cur = result.curves
    chans = list(dict.fromkeys(cur["channel"]))
    cols = min(3, len(chans))
    rows = math.ceil(len(chans) / cols)
    fig, axes = plt.subplots(
        rows, cols, figsize=(3.6 * cols, 2.6 * rows), dpi=80, squeeze=False, sharey=True
    )
    rec = result.recommended
    for ax, ch in zip(axes.ravel(), chans, strict=False):
        g = cur[cur["channel"] == ch]
        ax.errorbar(
            g["weekly_spend"] / 1e3,
            g["conversions"],
            yerr=g["conversions_half_width"].fillna(0),
            marker="o",
            capsize=3,
        )
        here = rec.shares().get(ch, 0.0) * rec.budget / 1e3
        ax.axvline(here, color="C3", ls=":", lw=1)
        ax.set_title(ch, fontsize=9)
        ax.set_xlabel("weekly spend (k)", fontsize=8)
    for ax in axes.ravel()[len(chans) :]:
        ax.axis("off")
    axes[0, 0].set_ylabel("conversions per run", fontsize=8)
    fig.suptitle("Response curves (others fixed; dotted: recommended spend)", fontsize=10)
    fig.tight_layout()
    return fig


def trials_figure(result: Result):
    from analysis.render.html import pyplot

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 3), dpi=80)
    xs = [t.number for t in result.trials]
    ys = [t.score for t in result.trials]
    ax.plot(xs, ys, "o", ms=3, color="grey", label="trial (search mean)")
    best, run = [], -math.inf
    for y in ys:
        run = max(run, y)
        best.append(run)
    ax.plot(xs, best, color="C0", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(result.spec.objective)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def html_section(folder: Path, vendor: str | None = None, heading: str = "h2") -> str | None:
    """The optimisation stored in `folder` (its optimize.json and CSVs) as an HTML
    section for the sweep report; None if there is none (or it is another vendor's)."""
    import pandas as pd

    from analysis.render.html import html_table

    f = Path(folder) / SUMMARY_FILE
    if not f.is_file():
        return None
    try:
        s = json.loads(f.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if vendor is not None and s.get("vendor") != vendor:
        return None
    parts = [f"<{heading}>Mix optimisation: {html.escape(str(s.get('vendor')))}</{heading}>"]
    parts.append("<p><b>" + html.escape(s.get("headline", "")) + "</b></p>")
    parts.append(
        "<ul>" + "".join(f"<li>{html.escape(x)}</li>" for x in s.get("comparisons", [])) + "</ul>"
    )
    mix = Path(folder) / "optimize.csv"
    if mix.is_file():
        parts.append(
            html_table(
                pd.read_csv(mix),
                percent=[c for c in pd.read_csv(mix).columns if c.endswith("share")],
            )
        )
    parts.append(
        f'<p class="note">From {html.escape(str(folder))}/optimize.html ({html.escape(s.get("setup", ""))}).</p>'
    )
    return "\n".join(parts)


def optimize_html(result: Result) -> str:
    from analysis.render.html import fig_to_img, html_page, html_table

    spec = result.spec
    obj = OBJECTIVES[spec.objective]
    parts = [f"<h1>Mix optimisation: {html.escape(spec.vendor)} ({html.escape(spec.name)})</h1>"]
    if spec.description:
        parts.append(f"<p>{html.escape(spec.description)}</p>")
    parts.append("<h2>Answer</h2><p><b>" + html.escape(headline(result)) + "</b></p>")
    parts.append(
        "<ul>"
        + "".join(f"<li>{html.escape(r.plain)}</li>" for r in result.comparison.itertuples())
        + "</ul>"
    )
    mt = mix_table(result)
    parts.append(html_table(mt, percent=[c for c in mt.columns if c.endswith("share")]))
    parts.append(
        '<p class="note">Paired differences over the same fresh replications (seeds never used to '
        "choose the mix), 95% t intervals; Holm's adjustment over the comparisons listed "
        "(one family: this vendor and objective).</p>"
    )
    cmp_cols = [
        "variant",
        "reference",
        "n_pairs",
        "mean_variant",
        "mean_reference",
        "diff",
        "ci_low",
        "ci_high",
        "p_value",
        "p_holm",
        "verdict",
    ]
    parts.append(html_table(result.comparison[cmp_cols]))
    if len(result.curves):
        parts.append("<h2>Response curves and marginal cost per acquisition</h2>")
        parts.append(fig_to_img(curves_figure(result), "response curves per channel"))
        parts.append(
            html_table(
                result.curves[
                    [
                        "channel",
                        "weekly_spend",
                        "weekly_budget",
                        "replications",
                        "conversions",
                        "conversions_half_width",
                        "marginal_cpa",
                    ]
                ]
            )
        )
        parts.append(
            '<p class="note">Marginal cost per acquisition: extra marketing spend over the run / '
            "extra conversions (market-scaled) from the spend level above; inf: no gain.</p>"
        )
    parts.append("<h2>Search</h2>")
    parts.append(fig_to_img(trials_figure(result), "objective by trial"))
    parts.append(html_table(result.top))
    parts.append(
        f'<p class="note">Optuna TPE (multivariate, constant liar) over softmax logits, '
        f"{spec.batch} trials per batch; each trial {spec.replications} replications with "
        f"common seeds; objective: {html.escape(obj)}; top {spec.top_k} re-run with "
        f"{spec.replications + spec.top_replications} replications.</p>"
    )
    return html_page(f"Mix optimisation: {spec.vendor}", "\n".join(parts))


def headline(result: Result) -> str:
    spec = result.spec
    rec = result.recommended
    mix = ", ".join(
        f"{c} {100 * s:.0f}%" for c, s in sorted(rec.shares().items(), key=lambda kv: -kv[1])
    )
    up = result.comparison[
        (result.comparison["variant"] == "recommended")
        & (result.comparison["reference"] == "current")
    ]
    tail = ""
    if len(up):
        u = up.iloc[0]
        tail = (
            f"; expected uplift over the current mix {_fmt(u['diff'], spec.objective)} "
            f"(95% CI {_fmt(u.ci_low, spec.objective)} to {_fmt(u.ci_high, spec.objective)})"
        )
    return f"{spec.vendor} at {rec.budget:,.0f} a week: {mix}{tail}"


def write_outputs(result: Result, out: str | Path) -> list[Path]:
    from analysis.engine.writer import write_json

    out = Path(out)
    spec = result.spec
    written = []

    def put(name: str, text: str) -> None:
        p = out / name
        tmp = p.with_name(f".{p.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(p)
        written.append(p)

    put("optimize.html", optimize_html(result))
    put("optimize.csv", mix_table(result).to_csv(index=False))
    put("optimize_comparison.csv", result.comparison.to_csv(index=False))
    put("optimize_curves.csv", result.curves.to_csv(index=False))
    trials = [
        {
            "trial": t.number,
            "candidate": t.candidate.key,
            "budget": t.candidate.budget,
            spec.objective: t.score,
            **{f"share:{c}": s for c, s in t.candidate.mix},
        }
        for t in result.trials
    ]
    import pandas as pd

    put("optimize_trials.csv", pd.DataFrame(trials).to_csv(index=False))
    summary = {
        **spec.describe(),
        "recommended": result.recommended.shares(),
        "recommended_budget": result.recommended.budget,
        "headline": headline(result),
        "comparisons": [r.plain for r in result.comparison.itertuples()],
        "setup": f"{len(result.trials)} trials x {spec.replications} replications, objective {spec.objective}",
    }
    write_json(out / SUMMARY_FILE, summary)
    written.append(out / SUMMARY_FILE)
    return written


# ----------------------------------------------------------------------------- command line
