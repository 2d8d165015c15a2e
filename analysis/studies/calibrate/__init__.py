"""Calibration (`python run.py calibrate SCENARIO --targets FILE --out DIR`): fit a
scenario's free parameters to published targets by simulated method of moments. The
Python API is analysis.studies.calibrate.study; the modules: spec (free parameters, the
set-up), targets (the targets file), moments (what a run measures), fit (the search over
one execution context), report (fit.md, fit.html, fit.json, calibrated.toml).

Only the command line's defaults live here, so that `run.py --help` imports nothing else.
"""

#: defaults of the command line
DEFAULT_REPLICATIONS = 10
DEFAULT_VALIDATION = 20
DEFAULT_MAX_EVALS = 40
#: defaults of --method abc (analysis.studies.calibrate.abc)
DEFAULT_POPULATION = 150
DEFAULT_GENERATIONS = 1  # rejection ABC; > 1: ABC-SMC
DEFAULT_MAX_RUNS = 3000
DEFAULT_PPC_DRAWS = 30
DEFAULT_ACCEPTANCE = 0.05
