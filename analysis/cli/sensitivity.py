"""`python run.py sensitivity FILE --out DIR`: global sensitivity indices with SALib.

    python run.py sensitivity scenarios/sensitivity_baseline.toml --out results/sens
    python run.py sensitivity FILE --out DIR [--method sobol|morris] [--samples N]
        [--workers W] [--dask ADDRESS] [--retry-failed] [--quiet]

The command line of analysis.studies.sensitivity: it parses and prints; the study
computes. The study's modules are imported when the command runs, not to build the parser.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from analysis.cli.options import (
    add_count,
    add_execution,
    add_out,
    add_quiet,
    add_retry_failed,
)
from analysis.studies.sensitivity import METHODS

if TYPE_CHECKING:
    pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python run.py sensitivity`."""
    parser.add_argument("file", help="sensitivity TOML file (see scenarios/sensitivity_*.toml)")
    add_out(parser)
    parser.add_argument("--method", choices=METHODS, help="sobol or morris (default: the file's)")
    add_count(
        parser,
        "--samples",
        help="base samples (sobol, a power of 2) or trajectories (morris); default: the file's",
        maximum=1 << 16,
    )
    add_execution(parser, default=None)
    add_retry_failed(parser)
    add_quiet(parser)


def command(args: argparse.Namespace) -> int:
    """Run what is missing, compute the indices, write the page; one summary line."""
    from analysis.engine.executors import default_workers
    from analysis.engine.folders import check_out_dir
    from analysis.engine.limits import check_memory
    from analysis.studies.sensitivity.report import summary_lines, write_outputs
    from analysis.studies.sensitivity.run import run_study
    from analysis.studies.sensitivity.spec import load_study

    study = load_study(args.file, args.method, args.samples)
    check_out_dir(args.out)  # before anything runs
    workers = args.workers or default_workers()
    if not args.dask:
        check_memory(study.scenario, study.source, "sensitivity.set", runs_at_once=workers)
    result = run_study(
        study,
        args.out,
        workers=workers,
        dask=args.dask,
        progress=not args.quiet,
        retry_failed=args.retry_failed,
    )
    written = write_outputs(result, args.out)
    for line in summary_lines(result):
        print(line)
    resumed = f" ({result.already} were already there)" if result.already else ""
    print(
        f"sensitivity {study.name} ({study.method}, {study.points():,} points): ran "
        f"{result.ran} runs{resumed} in {result.elapsed_s:.1f} s; wrote "
        f"{', '.join(p.name for p in written)} to {args.out}/"
    )
    return 0
