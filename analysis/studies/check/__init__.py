"""The check (`python run.py check SCENARIO [--targets FILE] [--reps N] [--json]`): every
calibration target's simulated value with its 95% interval, pass or fail, at the
scenario as it is, without fitting anything.

    from analysis.studies.check.run import check
    from analysis.studies.check.report import format_check
    result = check("scenarios/baseline.toml", "scenarios/targets.toml", reps=10)
    print(format_check(result))          # the table `run.py check` prints
    result.to_json()                     # the list `run.py check --json` prints
    result.exit_code                     # 0: every measurable target passes, 1: some fail

The modules: spec (the scenario, the targets, the replications and their seeds), run (the
replications through one execution context, measured with the calibration's moments),
result (one row per target), report (the text table and the JSON).

Only the command line's defaults live here, so that `run.py --help` imports nothing else.
"""

from analysis.paths import SCENARIOS

#: replications of `run.py check` unless --reps says otherwise: the calibration's
#: --replications and the summary's --reps default, so replication r of a check runs the
#: seed replication r of a calibration's fit runs at every point
DEFAULT_REPS = 10
#: the targets file `run.py check` reads unless --targets names another
DEFAULT_TARGETS = SCENARIOS / "targets.toml"
