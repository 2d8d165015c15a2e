"""`python run.py calibrate`: fit a scenario's free parameters to published targets.

The command line of analysis.studies.calibrate: it parses and prints; the study computes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.cli.options import (
    add_count,
    add_execution,
    add_out,
    add_overrides,
    add_quiet,
    add_retry_failed,
)
from analysis.studies.calibrate import (
    DEFAULT_MAX_EVALS,
    DEFAULT_REPLICATIONS,
    DEFAULT_VALIDATION,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python run.py calibrate`."""
    parser.add_argument("scenario", help="scenario TOML file (its [calibration] free table)")
    parser.add_argument(
        "--targets", type=Path, required=True, help="targets TOML file (scenarios/targets.toml)"
    )
    add_out(parser)
    parser.add_argument(
        "--free",
        action="append",
        metavar="PATH=LOW:HIGH",
        help="a free parameter and its range, e.g. choice.status_quo=1:5 (repeatable; "
        "replaces the scenario's [calibration] free table)",
    )
    add_count(
        parser,
        "--replications",
        help=f"replications per point, the same seeds at every point (default {DEFAULT_REPLICATIONS})",
        default=DEFAULT_REPLICATIONS,
        minimum=1,
    )
    add_count(
        parser,
        "--validation",
        help=f"fresh replications at the fitted point for the report (default {DEFAULT_VALIDATION})",
        default=DEFAULT_VALIDATION,
    )
    add_count(
        parser,
        "--max-evals",
        help=f"most parameter points to evaluate (default {DEFAULT_MAX_EVALS})",
        default=DEFAULT_MAX_EVALS,
        minimum=1,
        maximum=100_000,
    )
    add_overrides(parser)
    add_execution(parser, default=None)
    add_retry_failed(parser)
    add_quiet(parser)


def command(args: argparse.Namespace) -> int:
    """`python run.py calibrate SCENARIO --targets FILE --out DIR`."""
    from analysis.cli.options import load_with_overrides
    from analysis.engine.folders import check_out_dir
    from analysis.studies.calibrate.fit import calibrate
    from analysis.studies.calibrate.report import fitted_text, summary_lines, write_outputs
    from analysis.studies.calibrate.spec import Setup, free_params, parse_free, with_ranges
    from analysis.studies.calibrate.targets import load_targets
    from sim.scenario import load_scenario

    check_out_dir(args.out)  # before anything runs
    targets = load_targets(args.targets)
    original = load_scenario(args.scenario)
    scenario = load_with_overrides(Path(args.scenario), args.buyers, args.weeks)
    free = free_params(scenario, parse_free(args.free))
    if args.free:  # the calibrated file records the ranges it was fitted in
        original = with_ranges(original, free)
    setup = Setup(scenario, targets, free, args.replications, args.validation, args.max_evals)
    result = calibrate(
        setup,
        args.out,
        workers=args.workers,
        dask=args.dask,
        progress=not args.quiet,
        retry_failed=args.retry_failed,
        original=original,
    )
    written = write_outputs(result, args.out)
    for line in summary_lines(result):
        print(line)
    resumed = f" ({result.already} were already there)" if result.already else ""
    print(f"fitted: {fitted_text(result)}")
    print(
        f"ran {result.ran} runs{resumed} in {result.elapsed_s:.1f} s; "
        f"wrote {', '.join(p.name for p in written)} to {args.out}/"
    )
    return 0
