"""`run.py calibrate --method abc`: a posterior over the scenario's priors by ABC.

Why pyabc: its ABC-SMC (Del Moral et al. 2012; Beaumont et al. 2009; Klinger, Rickert &
Hasenauer 2018) is maintained, tested and documented, with adaptive epsilon schedules and
transition kernels we would otherwise write ourselves; it needs no gradient and no
surrogate, which suits a simulator whose moments are piecewise constant in the
parameters. sbi (neural posterior estimation) would need PyTorch (gigabytes here) and a
trained network whose fit is harder to audit; ELFI's SMC is batch-native but less kept.
pyabc's own samplers run the model in their own processes, so `batching.EngineSampler`
routes its model calls through the experiment engine instead (resume, processes or Dask,
one progress bar).

What one particle is: a parameter set drawn by pyabc, turned into scenario changes by the
priors (`priors.Parameters`), run for R replications (default 1) whose seeds derive from
the scenario's seed and the parameter set (fresh noise per particle, as ABC needs; the
same parameter set always gets the same seeds, so a rerun replays from stored runs). Its
summary statistics are the fitted targets' moments (mean over its replications), and its
distance is sqrt(sum of miss^2) over the fitted targets (Target.miss: in tolerances, 0
inside a band): a particle at distance <= 1 is within about one tolerance of every fact.
Two algorithms, both pyabc's:
- generations = 1 (the default): **rejection ABC**. pyabc draws population / acceptance
  parameter sets from the prior (one generation, every draw accepted and stored with its
  distance); the posterior is the `population` draws of smallest distance, with equal
  weights (Pritchard et al. 1999; the threshold is the largest kept distance).
- generations > 1: **ABC-SMC**. Epsilon falls by pyabc's QuantileEpsilon (the median
  distance of the last population) until `min_epsilon`, `generations` or `max_runs`
  stops it; the proposal is pyabc's Gaussian kernel in prior-quantile space. Its
  importance weights (prior / proposal) degenerate with many parameters: on the
  baseline's twelve, the effective sample fell to 1-3 particles of 60-150 by the third
  generation (pyabc's local kernel did no better), so the baseline uses rejection, whose weights
  are equal and whose threshold is simply coarser. The report states the effective
  sample either way.

Then the posterior predictive check: `ppc_draws` parameter sets drawn by weight from the
posterior, each run once with fresh seeds, measuring EVERY target (fitted, held out and
input checks), so each target's predictive distribution is compared with its goal.

    setup = AbcSetup(scenario, targets, Parameters.of(scenario), population=150)
    result = run_abc(setup, "results/abc", workers=2)
    write_abc_outputs(result, "results/abc")     # analysis.studies.calibrate.abc_report
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.engine.context import ExecutionContext
from analysis.engine.design import RunSpec
from analysis.engine.evaluate import Point, PointEvaluator
from analysis.engine.experiment import RunPlan
from analysis.engine.folders import check_out_dir
from analysis.studies.calibrate import (
    DEFAULT_ACCEPTANCE,
    DEFAULT_GENERATIONS,
    DEFAULT_MAX_RUNS,
    DEFAULT_POPULATION,
    DEFAULT_PPC_DRAWS,
)
from analysis.studies.calibrate.batching import EngineSampler, Gateway
from analysis.studies.calibrate.fit import UNMEASURED_PENALTY, check_ran, point_id, point_label
from analysis.studies.calibrate.moments import calibration_plan
from analysis.studies.calibrate.posterior import Posterior, write_posterior
from analysis.studies.calibrate.priors import Parameters
from analysis.studies.calibrate.spec import Setup
from analysis.studies.calibrate.targets import Targets
from sim.errors import ScenarioError
from sim.scenario import Scenario

DEFAULT_MIN_EPSILON = 1.0
#: the seed stream of the posterior predictive runs (distinct from the fit's particles)
PPC_STREAM = "ppc"


@dataclass(frozen=True)
class AbcSetup:
    """An ABC calibration ready to run (see the module doc).

    plan, ppc_plan: what each run computes (default: the targets' moments,
    moments.calibration_plan); a test gives a known-answer model here, to run through
    the very same path.
    """

    scenario: Scenario
    targets: Targets
    parameters: Parameters
    population: int = DEFAULT_POPULATION
    generations: int = DEFAULT_GENERATIONS
    min_epsilon: float = DEFAULT_MIN_EPSILON
    max_runs: int = DEFAULT_MAX_RUNS
    replications: int = 1
    ppc_draws: int = DEFAULT_PPC_DRAWS
    acceptance: float = DEFAULT_ACCEPTANCE
    plan: RunPlan | None = None
    ppc_plan: RunPlan | None = None

    @cached_property
    def fitted(self) -> Targets:
        """The targets the fit uses: emergent ones not held out (Target.fitted)."""
        chosen = tuple(t for t in self.targets.targets if t.fitted)
        if not chosen:
            raise ScenarioError(
                self.targets.source,
                "targets",
                'no target to fit: every target is kind = "input_check" or use = "validate"; '
                'give at least one emergent target with use = "fit"',
            )
        return replace(self.targets, targets=chosen)

    def design_hash(self, targets: Targets) -> str:
        """The hash behind run ids: the scenario's content and what `targets` measure."""
        return Setup(self.scenario, targets, (), 1, 0, 0).design_hash

    @property
    def rejection(self) -> bool:
        """One generation: rejection ABC (the `acceptance` share of prior draws closest to
        the targets, equal weights), else ABC-SMC."""
        return self.generations == 1

    @property
    def prior_draws(self) -> int:
        """Rejection ABC's prior sample: population / acceptance, within max_runs."""
        return min(self.max_runs, max(self.population, round(self.population / self.acceptance)))

    @property
    def seed(self) -> int:
        return int(self.scenario.seed)

    def particle_seeds(self, label: str, stream: str = "fit") -> list[int]:
        """The seeds of a parameter set's R runs: fresh for every parameter set, the same
        for the same set (a rerun finds its runs)."""
        return [
            int(hashlib.sha256(f"{self.seed}|{stream}|{label}|{r}".encode()).hexdigest()[:15], 16)
            for r in range(self.replications)
        ]

    def describe(self) -> dict[str, Any]:
        """The set-up as plain data (DIR/abc.json)."""
        return {
            "method": "abc-smc (pyabc)",
            "scenario": self.scenario.source,
            "scenario_name": self.scenario.name,
            "buyers": self.scenario.buyers.count,
            "weeks": self.scenario.weeks,
            "targets": self.targets.source,
            "fitted_targets": list(self.fitted.names()),
            "parameters": {p.name: p.prior.describe() for p in self.parameters.items},
            "population": self.population,
            "generations": self.generations,
            "min_epsilon": self.min_epsilon,
            "max_runs": self.max_runs,
            "replications": self.replications,
            "ppc_draws": self.ppc_draws,
            "algorithm": (
                f"rejection ABC: the {self.population} closest of {self.prior_draws} prior draws"
                if self.rejection
                else "ABC-SMC (quantile 0.5 epsilon, local transitions)"
            ),
            "seed": self.seed,
        }


@dataclass
class Generation:
    """One population of the SMC: its epsilon, particles and simulations."""

    t: int
    epsilon: float
    particles: int
    simulations: int

    @property
    def acceptance(self) -> float:
        return self.particles / self.simulations if self.simulations else math.nan


@dataclass
class AbcResult:
    """A finished ABC calibration: the posterior, its generations and the predictive
    check (one row per posterior draw and target: the draw, target, value)."""

    setup: AbcSetup
    posterior: Posterior
    generations: list[Generation]
    predictive: pd.DataFrame
    stop_reason: str
    ran: int
    runs: int
    elapsed_s: float
    distances: np.ndarray = field(default_factory=lambda: np.zeros(0))


class _Batches:
    """Runs parameter sets through the engine as batches and reads their moments back."""

    def __init__(
        self,
        setup: AbcSetup,
        points: PointEvaluator,
        targets: Targets,
        stream: str,
        unit: bool = True,
    ):
        self.setup, self.points, self.targets, self.stream = setup, points, targets, stream
        self.unit = unit  # sets come as prior quantiles (pyabc's), else natural values
        self.runs = 0
        self.refused = 0

    def valid(self, point: Point) -> bool:
        """Whether the scenario takes the set's changes (a prior's tail may not: installed
        bases summing past every buyer); a refused set counts as unmeasurable."""
        try:
            self.setup.scenario.with_changes(dict(point.changes))
        except ScenarioError:
            self.refused += 1
            return False
        return True

    def natural(self, values: dict[str, float]) -> dict[str, float]:
        """A set in natural units: pyabc's unit coordinates through each prior's ppf."""
        if not self.unit:
            return dict(values)
        return natural_values(self.setup.parameters, values)

    def point(self, values: dict[str, float]) -> Point:
        """The point of a parameter set given in natural units."""
        vals = {k: float(f"{v:.6g}") for k, v in values.items()}
        return Point(point_label(vals), point_id(vals), vals, self.setup.parameters.changes(vals))

    def __call__(
        self, sets: list[dict[str, float]], keys: list[str] | None = None
    ) -> list[dict[str, float]]:
        """Each set's statistics; `keys` (one per set) make sets' seeds distinct even
        when the same set comes twice (the predictive check's draws)."""
        groups: list[list[RunSpec]] = []
        for i, values in enumerate(sets):
            point = self.point(self.natural(values))
            if not self.valid(point):
                groups.append([])  # a set the scenario refuses: unmeasurable, never run
                continue
            stream = self.stream if keys is None else f"{self.stream}{keys[i]}"
            groups.append(self.points.specs(point, self.setup.particle_seeds(point.label, stream)))
        specs = [s for g in groups for s in g]
        self.points.run(specs)
        check_ran(self.points, specs)
        self.runs += len(specs)
        means = moment_means(self.points, [s.run_id for s in specs])
        names = self.targets.names()
        out = []
        for g in groups:
            if not g:
                out.append({n: math.nan for n in names})
                continue
            rows = means.reindex([s.run_id for s in g])
            out.append({n: float(np.nanmean(rows[n])) if rows[n].notna().any() else math.nan
                        for n in names})  # fmt: skip
        return out


def moment_means(points: PointEvaluator, run_ids: list[str]) -> pd.DataFrame:
    """Each run's moment values: rows run ids, columns targets (NaN: not measurable)."""
    table = points.table("moments", run_ids)
    if not len(table):
        return pd.DataFrame(index=pd.Index(run_ids, name="run_id"))
    values = table[table["stat"] == "value"]
    return values.pivot_table(index="run_id", columns="target", values="value", aggfunc="first",
                              dropna=False)  # fmt: skip


def distance_to(targets: Targets):
    """The ABC distance: sqrt(sum over the fitted targets of miss^2), in tolerances; a
    target the particle cannot measure counts UNMEASURED_PENALTY."""
    fitted = targets.targets

    def distance(x: dict[str, float], _x0: dict[str, float]) -> float:
        total = 0.0
        for t in fitted:
            v = x.get(t.name, math.nan)
            total += UNMEASURED_PENALTY if v is None or math.isnan(v) else t.miss(float(v)) ** 2
        return math.sqrt(total)

    return distance


def _unit_priors(parameters: Parameters):
    """pyabc's prior: every parameter uniform on [0, 1], its prior quantile.

    ABC-SMC's importance weights are prior / proposal; with twelve parameters of mixed
    scales (log-uniform need rates beside shares) a Gaussian kernel in natural units
    leaves a few particles with nearly all the weight (the baseline's first try: an
    effective sample of 2.6 of 100). In quantile space every prior is flat, so the kernel
    sees one scale and the weights stay even; each set is mapped back through the
    prior's ppf (`natural_values`) before it runs and in the posterior file."""
    import pyabc

    return pyabc.Distribution(**{p.name: pyabc.RV("uniform", 0.0, 1.0) for p in parameters.items})


def _transition():
    """ABC-SMC's proposal: pyabc's default MultivariateNormalTransition (in prior-quantile
    space). With many parameters no kernel kept the weights usable: on the baseline's
    twelve, the effective sample fell to 1-3 particles of 60-150 by the third generation
    with this global kernel and with pyabc's LocalTransition alike, which is why rejection
    ABC is the default; in a few dimensions SMC is sharper (the known-posterior test)."""
    import pyabc

    return pyabc.MultivariateNormalTransition()


def natural_values(parameters: Parameters, unit: dict[str, float]) -> dict[str, float]:
    """Prior quantiles -> values: each parameter through its prior's ppf."""
    return {p.name: float(p.frozen().ppf(min(max(float(unit[p.name]), 0.0), 1.0)))
            for p in parameters.items}  # fmt: skip


def run_abc(
    setup: AbcSetup,
    out: str | Path,
    workers: int | None = None,
    dask: str | None = None,
    progress: bool = True,
    retry_failed: bool = False,
) -> AbcResult:
    """Fit the posterior, run its predictive check and write DIR/posterior.parquet.

    Raises:
        Stopped: the engine stopped or a run failed (the runs so far stay on disk; the
            same command resumes).
        ScenarioError: no fitted target.
    """
    import pyabc

    out = check_out_dir(out)
    started = time.perf_counter()
    fitted = setup.fitted
    for name in ("ABC", "pyabc"):
        logging.getLogger(name).setLevel(logging.WARNING)
    fit_runs = setup.prior_draws if setup.rejection else setup.max_runs
    total = fit_runs * setup.replications + setup.ppc_draws
    with ExecutionContext(
        workers, dask, progress, desc="calibrate abc", unit="run", total=total, count_runs=True
    ) as ctx:
        params = tuple((n, True) for n in setup.parameters.names)
        fit_points = PointEvaluator(
            ctx, out, setup.scenario, setup.plan or calibration_plan(fitted), params=params,
            design=setup.design_hash(fitted), name="abc", info=setup.describe(),
            info_file="abc-setup.json", retry_failed=retry_failed,
        )  # fmt: skip
        batches = _Batches(setup, fit_points, fitted, "fit")
        gens: dict[int, int] = {}

        def on_batch(t: int, sims: int, accepted: int) -> None:
            gens[t] = sims
            ctx.note(f"generation {t}: {accepted}/{setup.population} accepted of {sims}")

        sampler = EngineSampler(Gateway(batches), setup.seed, 2 * ctx.workers, on_batch)
        abc = pyabc.ABCSMC(
            Gateway(batches),
            _unit_priors(setup.parameters),
            distance_to(fitted),
            population_size=setup.prior_draws if setup.rejection else setup.population,
            sampler=sampler,
            eps=pyabc.QuantileEpsilon(initial_epsilon=math.inf, alpha=0.5),
            transitions=_transition(),
        )
        np.random.seed(setup.seed % 2**32)  # noqa: NPY002 - pyabc draws from the global one
        out.mkdir(parents=True, exist_ok=True)
        db = out / "abc.db"
        db.unlink(missing_ok=True)  # the runs are the store; the history is rebuilt
        abc.new(f"sqlite:///{db}", {t.name: 0.0 for t in fitted.targets})
        with warnings.catch_warnings():  # pyabc compares the first epsilon (inf) with inf
            warnings.simplefilter("ignore", RuntimeWarning)
            history = abc.run(
                minimum_epsilon=setup.min_epsilon,
                max_nr_populations=setup.generations,
                max_total_nr_simulations=setup.max_runs,
            )
        unit, weights = _final_population(setup, history)
        frame = pd.DataFrame(
            [natural_values(setup.parameters, row) for row in unit.to_dict("records")]
        )
        generations = _generations(history)
        reason = _stop_reason(setup, generations, batches.runs)
        if batches.refused:
            reason += f"; {batches.refused} drawn sets the scenario refuses counted as misses"
        posterior = Posterior(
            str(out / "posterior.parquet"),
            frame.reset_index(drop=True)[list(setup.parameters.names)],
            np.asarray(weights, float) / float(np.sum(weights)),
            tuple(p.prior for p in setup.parameters.items),
            _meta(setup, generations, reason),
        )
        write_posterior(out / "posterior.parquet", posterior.draws, posterior.weights,
                        posterior.priors, posterior.meta)  # fmt: skip
        distances = _final_distances(history)
        predictive = _predictive(setup, ctx, out, posterior, params, retry_failed)
        ran = fit_points.ran
    return AbcResult(
        setup, posterior, generations, predictive, reason, ran, batches.runs,
        time.perf_counter() - started, distances,
    )  # fmt: skip


def _final_population(setup: AbcSetup, history: Any) -> tuple[pd.DataFrame, np.ndarray]:
    """The posterior in prior quantiles, with its weights: SMC's last population, or for
    rejection ABC the `population` prior draws of smallest distance (equal weights; ties
    in draw order)."""
    if not setup.rejection:
        unit, weights = history.get_distribution(m=0, t=history.max_t)
        return unit.reset_index(drop=True), np.asarray(weights, float)
    particles = history.get_population(t=0).particles
    order = sorted(range(len(particles)), key=lambda i: (particles[i].distance, i))
    kept = [particles[i] for i in order[: setup.population]]
    unit = pd.DataFrame([{n: float(p.parameter[n]) for n in setup.parameters.names} for p in kept])
    setup_threshold[id(setup)] = float(kept[-1].distance)
    return unit, np.full(len(kept), 1.0 / len(kept))


#: rejection ABC's threshold (the largest kept distance), by set-up, for the stop reason
setup_threshold: dict[int, float] = {}


def _generations(history: Any) -> list[Generation]:
    pops = history.get_all_populations()
    pops = pops[pops["t"] >= 0]
    return [
        Generation(int(r.t), float(r.epsilon), int(r.particles), int(r.samples))
        for r in pops.itertuples()
    ]


def _final_distances(history: Any) -> np.ndarray:
    try:
        d = history.get_weighted_distances(t=history.max_t)
        return d["distance"].to_numpy(float)
    except Exception:  # noqa: BLE001 - a report detail, never worth failing the study
        return np.zeros(0)


def _stop_reason(setup: AbcSetup, generations: list[Generation], runs: int) -> str:
    if setup.rejection:
        cut = setup_threshold.get(id(setup), math.nan)
        return (
            f"rejection ABC: the {setup.population} closest of {setup.prior_draws} prior "
            f"draws ({setup.population / setup.prior_draws:.0%}; distance <= {cut:.3g})"
        )
    last = generations[-1]
    if last.epsilon <= setup.min_epsilon:
        return f"epsilon {last.epsilon:.3g} reached the minimum {setup.min_epsilon:g}"
    if len(generations) >= setup.generations:
        return f"{setup.generations} generations run (epsilon {last.epsilon:.3g})"
    return f"run budget spent ({runs} runs of --max-runs {setup.max_runs})"


def _meta(setup: AbcSetup, generations: list[Generation], reason: str) -> dict[str, Any]:
    return {
        **setup.describe(),
        "epsilon": generations[-1].epsilon,
        "generations_run": len(generations),
        "simulations": sum(g.simulations for g in generations),
        "stop_reason": reason,
    }


def _predictive(
    setup: AbcSetup,
    ctx: ExecutionContext,
    out: Path,
    posterior: Posterior,
    params: tuple[tuple[str, bool], ...],
    retry_failed: bool,
) -> pd.DataFrame:
    """Posterior predictive runs: `ppc_draws` sets drawn by weight, one fresh-seeded run
    each, every target measured. Rows: draw, target, value."""
    if setup.ppc_draws <= 0:
        return pd.DataFrame(columns=["draw", "target", "value"])
    points = PointEvaluator(
        ctx, out, setup.scenario, setup.ppc_plan or calibration_plan(setup.targets),
        params=params, design=setup.design_hash(setup.targets), name="abc-predictive",
        info=setup.describe(), info_file="abc-setup.json", retry_failed=retry_failed,
    )  # fmt: skip
    one = replace(setup, replications=1)
    batches = _Batches(one, points, setup.targets, PPC_STREAM, unit=False)
    sets = posterior.resample(setup.ppc_draws, setup.seed)
    ctx.note("posterior predictive check")
    stats = batches(sets, [str(i) for i in range(len(sets))])
    rows = [(i, n, v) for i, s in enumerate(stats) for n, v in s.items()]
    return pd.DataFrame(rows, columns=["draw", "target", "value"])
