"""`python run.py check SCENARIO [--targets FILE] [--reps N] [--json]`: every calibration
target's simulated value with its 95% interval, pass or fail, without fitting anything.

The command line of analysis.studies.check: it parses and prints; the study computes.
Exit code 0 when every measurable target passes, 1 when some fail, 2 for bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.cli.options import add_count, add_execution, add_overrides, add_quiet
from analysis.studies.check import DEFAULT_REPS, DEFAULT_TARGETS

EPILOG = (
    "exit status: 0 when every measurable target passes, 1 when some fail (or the runs "
    "stopped: a line on stderr says so), 2 for bad input. A target the scenario cannot "
    "measure is listed as not measurable (null in --json) and is never a failure."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python run.py check`."""
    parser.epilog = EPILOG
    parser.add_argument("scenario", help="scenario TOML file")
    parser.add_argument(
        "--targets",
        type=Path,
        default=DEFAULT_TARGETS,
        help="targets TOML file (default: the shipped scenarios/targets.toml)",
    )
    add_count(
        parser,
        "--reps",
        help=f"replications (default {DEFAULT_REPS}: the calibration's and the summary's "
        "default, so replication r runs the seed a calibration's fit runs as r; t(9) "
        "makes the 95%% interval 15%% wider than a normal one; the shipped targets' two "
        "elasticities rerun each run twice per vendor, so the baseline's 10 runs make 150 "
        "and take one to two minutes on 2 cores)",
        default=DEFAULT_REPS,
    )
    parser.add_argument(
        "--json",
        action="store_true",
        help="print a JSON list instead of the table: per target name, measure, simulated, "
        "ci_low, ci_high, goal (as the targets file states it, with its tolerance), passed "
        "(null: not measurable), note; no progress bar",
    )
    add_overrides(parser)
    add_execution(parser, default=None)
    add_quiet(parser)


def command(args: argparse.Namespace) -> int:
    """`python run.py check SCENARIO`: print the check; 0 if every measurable target
    passes, 1 if some fail."""
    from analysis.cli.options import load_with_overrides
    from analysis.studies.calibrate.targets import load_targets
    from analysis.studies.check.report import format_check, json_text
    from analysis.studies.check.run import check

    targets = load_targets(_shown(args.targets))
    scenario = load_with_overrides(Path(args.scenario), args.buyers, args.weeks)
    result = check(
        scenario,
        targets,
        args.reps,
        workers=args.workers,
        dask=args.dask,
        progress=not (args.quiet or args.json),
    )
    print(json_text(result) if args.json else format_check(result))
    return result.exit_code


def _shown(path: Path) -> Path:
    """`path` relative to the working folder when it is under it (the default targets
    file is named scenarios/targets.toml when run from the checkout)."""
    try:
        return path.relative_to(Path.cwd()) if path.is_absolute() else path
    except ValueError:
        return path
