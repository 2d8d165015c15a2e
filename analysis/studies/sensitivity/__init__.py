"""The sensitivity study (`python run.py sensitivity FILE --out DIR`): global sensitivity
indices of a scenario's outcomes to its parameters, with SALib.

    from analysis.studies.sensitivity.report import summary_lines, write_outputs
    from analysis.studies.sensitivity.run import run_study
    from analysis.studies.sensitivity.spec import load_study

    study = load_study("scenarios/sensitivity_baseline.toml")   # spec: one-line errors
    result = run_study(study, "results/sens", workers=2)          # run (resumable): Result
    write_outputs(result, "results/sens")                         # report: page, CSVs, JSON

A study file names a base scenario, fixed changes, the parameters (dotted scenario paths
with [low, high] bounds) and the outcomes (`conversions.CommunityFirst`, `roi.AnalystLed`,
`no_decision_share`, ...: see outcomes.OUTCOME_HELP). Two methods, both from SALib:

- **sobol**: Sobol' first-order (S1) and total (ST) indices. The points are Saltelli's
  scheme on a scrambled Sobol' sequence (no second-order terms: N x (D + 2) points for D
  parameters and N base samples, N a power of 2); the indices are Saltelli 2010 / Jansen
  estimators with bootstrap 95% intervals (S1_conf, ST_conf: half-widths).
- **morris**: elementary effects on a grid of `levels` levels (N trajectories: N x (D + 1)
  points): mu* (mean absolute effect, with its bootstrap interval), mu and sigma (spread:
  interactions or non-linearity).

The modules, along the study's seams:

    spec       the sensitivity file as a pydantic model; `Study`, `load_study`
    outcomes   what a run measures (METRIC.VENDOR, the funnel, shares), in the worker
    indices    sample -> evaluate -> analyze with SALib (`analyse`), any evaluation function
    run        the model as the evaluation: every point on the engine, in one execution
               context (pool, progress bar, folder lock), resumable; `run_study` -> Result
    report     sensitivity.html, indices.csv, points.csv, sensitivity.json, summary lines
    figures    the bars of one outcome's indices
    section    the study as a section of a sweep's batch report

Only this package's shared names live here, so the command line builds its parser
without the study's modules.
"""

#: the methods a study may use (the file's `method`, the command's --method)
METHODS = ("sobol", "morris")
