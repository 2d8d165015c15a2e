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
    parser.add_argument(
        "scenario",
        help="scenario TOML file (its [calibration] free table, or priors for --method abc)",
    )
    parser.add_argument(
        "--method",
        choices=("smm", "abc"),
        default="smm",
        help="smm: a best point by simulated method of moments (Nelder-Mead, default); "
        "abc: a posterior over the scenario's [[calibration.priors]] by ABC-SMC (pyabc)",
    )
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
        help="replications per point: smm, the same seeds at every point (default "
        f"{DEFAULT_REPLICATIONS}); abc, fresh seeds per particle (default 1)",
        default=None,
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
    add_abc_options(parser)
    add_overrides(parser)
    add_execution(parser, default=None)
    add_retry_failed(parser)
    add_quiet(parser)


def add_abc_options(parser: argparse.ArgumentParser) -> None:
    """Options of --method abc."""
    from analysis.studies.calibrate import (
        DEFAULT_ACCEPTANCE,
        DEFAULT_GENERATIONS,
        DEFAULT_MAX_RUNS,
        DEFAULT_POPULATION,
        DEFAULT_PPC_DRAWS,
    )

    add_count(parser, "--population", default=DEFAULT_POPULATION, minimum=10,
              help=f"abc: particles per generation (default {DEFAULT_POPULATION})")  # fmt: skip
    add_count(parser, "--generations", default=DEFAULT_GENERATIONS, minimum=1, maximum=100,
              help="abc: 1 (default): rejection ABC, the --population closest of "
              "population / acceptance prior draws; more: ABC-SMC generations")  # fmt: skip
    parser.add_argument(
        "--acceptance",
        type=float,
        default=DEFAULT_ACCEPTANCE,
        help=f"abc, rejection: the share of prior draws kept (default {DEFAULT_ACCEPTANCE:g})",
    )
    add_count(parser, "--max-runs", default=DEFAULT_MAX_RUNS, minimum=10, maximum=1_000_000,
              help=f"abc: most fit runs (default {DEFAULT_MAX_RUNS})")  # fmt: skip
    add_count(parser, "--ppc", default=DEFAULT_PPC_DRAWS, minimum=0, maximum=10_000,
              help=f"abc: posterior predictive runs (default {DEFAULT_PPC_DRAWS})")  # fmt: skip
    parser.add_argument(
        "--min-epsilon",
        type=float,
        default=1.0,
        help="abc: stop when the distance threshold (in tolerances) reaches this (default 1)",
    )


def abc_command(args: argparse.Namespace) -> int:
    """`python run.py calibrate SCENARIO --targets FILE --out DIR --method abc`."""
    from analysis.cli.options import load_with_overrides
    from analysis.engine.folders import check_out_dir
    from analysis.studies.calibrate.abc import AbcSetup, run_abc
    from analysis.studies.calibrate.abc_report import summary_lines, write_abc_outputs
    from analysis.studies.calibrate.priors import Parameters
    from analysis.studies.calibrate.targets import load_targets
    from sim.errors import ScenarioError

    check_out_dir(args.out)  # before anything runs
    if args.free:
        raise ScenarioError("--free", "", "--method abc fits the scenario's priors; drop --free")
    if not (0 < args.acceptance <= 1):
        raise ScenarioError("--acceptance", "", "must be a share in (0, 1], e.g. 0.05")
    if not (args.min_epsilon >= 0):
        raise ScenarioError("--min-epsilon", "", "must be a number >= 0 (e.g. 1)")
    targets = load_targets(args.targets)
    scenario = load_with_overrides(Path(args.scenario), args.buyers, args.weeks)
    setup = AbcSetup(
        scenario,
        targets,
        Parameters.of(scenario),
        population=args.population,
        generations=args.generations,
        min_epsilon=args.min_epsilon,
        max_runs=args.max_runs,
        replications=args.replications or 1,
        ppc_draws=args.ppc,
        acceptance=args.acceptance,
    )
    _ = setup.fitted  # no fitted target: one line before anything runs
    result = run_abc(setup, args.out, workers=args.workers, dask=args.dask,
                     progress=not args.quiet, retry_failed=args.retry_failed)  # fmt: skip
    written = write_abc_outputs(result, args.out)
    for line in summary_lines(result):
        print(line)
    print(
        f"ran {result.ran} runs in {result.elapsed_s:.1f} s; "
        f"wrote {', '.join(p.name for p in written)} to {args.out}/"
    )
    return 0


def command(args: argparse.Namespace) -> int:
    """`python run.py calibrate SCENARIO --targets FILE --out DIR`."""
    if args.method == "abc":
        return abc_command(args)
    if args.replications is None:
        args.replications = DEFAULT_REPLICATIONS
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
