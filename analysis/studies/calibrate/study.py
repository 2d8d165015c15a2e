"""`run.py calibrate` as a Python API: fit a scenario's free parameters to published
targets, spec -> run -> result -> report.

    from analysis.studies.calibrate.study import (
        Setup, calibrate, free_params, load_targets, write_outputs)
    scenario = load_scenario("scenarios/baseline.toml")
    targets = load_targets("scenarios/targets.toml")
    setup = Setup(scenario, targets, free_params(scenario), replications=10,
                  validation=20, max_evals=40)
    result = calibrate(setup, "results/cal", workers=4)   # runs, resumable
    write_outputs(result, "results/cal")                  # fit.md, fit.html, ...

Simulated method of moments (SMM). The free parameters are the scenario's
`[calibration] free = { "dotted.path" = [low, high], ... }` (or `--free PATH=LOW:HIGH`,
which replaces them: `spec`). The targets are a targets file (`targets`). At a parameter
point, R replications run and every target's moment (`moments`, computed inside each
worker) is averaged over them; the objective is the sum over targets of miss**2, the miss
of a point target being (mean - value) / tolerance and that of a band (mean's distance
outside the band) / tolerance, 0 inside (Target.miss). Targets the start point cannot
measure (a column the model does not write, no buying groups of six in a scenario without
accounts) are left out of the fit and reported as not measurable; a target that becomes
unmeasurable at a later point costs 25 (five tolerances).

Common random numbers: every point runs the same R replication seeds
(analysis.engine.design.replication_seed(scenario seed, r)), so two points differ only by
their parameters and the objective is a deterministic function of them: re-evaluating a
point gives the same value, and differences between nearby points are not swamped by
seed-to-seed noise.

The search (`fit`): scipy.optimize.minimize with Nelder-Mead on the box normalised to
[0, 1]^d (bounds given to scipy), starting at the scenario's own values with a simplex of
a quarter of each range. Why Nelder-Mead: calibrations free a handful of parameters; the
objective has no gradient (it is a simulation) and, even with common random numbers, is
only piecewise smooth (a parameter step flips discrete events), which defeats
finite-difference methods; Nelder-Mead needs one or two evaluations per step where
Powell's line searches need many more per direction; and a well-kept library does the
search. Its weakness: it finds a local minimum, so the report shows the whole trajectory.
`--max-evals` caps the distinct points evaluated (points are rounded to 6 significant
digits; a point seen before costs nothing).

Everything runs through one execution context and the engine's point evaluator
(analysis.engine.context, analysis.engine.evaluate): each point is a variant whose label
and id derive from its parameter values, its runs' ids hash the scenario, the targets,
the point and the seed, and all runs of a calibration live in one folder (DIR/table=runs,
DIR/table=moments). A killed calibration run again with the same --out replays the same
search (the same points in the same order, since the objective is deterministic) from the
stored runs and runs only what is missing.

At the best point, V fresh replications (seeds R..R+V-1, never used by the fit) give each
target's mean with a 95% t-interval: the validation the report shows (`report`). Written
to DIR: calibrated.toml (the scenario file with the fitted values, loadable by
load_scenario), fit.md and fit.html (targets vs simulation, parameters, objective
trajectory) and fit.json.
"""

from __future__ import annotations

from analysis.engine.scenario_toml import scenario_toml  # calibrated.toml's writer
from analysis.studies.calibrate.fit import Evaluation, Result, TargetStats, calibrate, search
from analysis.studies.calibrate.report import (
    calibrated_scenario,
    fit_html,
    fit_json,
    fit_markdown,
    fitted_text,
    summary_lines,
    write_outputs,
)
from analysis.studies.calibrate.spec import FreeParam, Setup, free_params, parse_free, with_ranges
from analysis.studies.calibrate.targets import Target, Targets, load_targets

__all__ = [
    "Evaluation",
    "FreeParam",
    "Result",
    "Setup",
    "Target",
    "TargetStats",
    "Targets",
    "calibrate",
    "calibrated_scenario",
    "fit_html",
    "fit_json",
    "fit_markdown",
    "fitted_text",
    "free_params",
    "load_targets",
    "parse_free",
    "scenario_toml",
    "search",
    "summary_lines",
    "with_ranges",
    "write_outputs",
]
