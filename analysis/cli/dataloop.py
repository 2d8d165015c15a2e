"""`python run.py dataloop FILE --out DIR`: the value of measurement (the DATA loop).

The command line of analysis.studies.dataloop: it parses and prints; the study computes.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from analysis.cli.options import add_count, add_execution, add_out, add_quiet

if TYPE_CHECKING:
    pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `run.py dataloop`."""
    parser.add_argument(
        "study", help="study file (a sweep file over policies: scenarios/data_loop.toml)"
    )
    add_out(parser)
    add_count(parser, "--reps", "paired replications (default: the file's)")
    add_count(
        parser, "--oracle-reps", "planning replications of each oracle adjustment (default: --reps)"
    )
    add_execution(parser, default=None)
    add_quiet(parser)


def command(args: argparse.Namespace) -> int:
    """Run the study, print it, write DIR/dataloop.html and CSVs."""
    from analysis.engine.folders import check_out_dir
    from analysis.studies.dataloop.spec import load_study

    study = load_study(args.study)  # a bad file is one line before the study loads
    out = check_out_dir(args.out)
    from analysis.studies.dataloop.report import format_study, write_study
    from analysis.studies.dataloop.run import run_study

    res = run_study(
        study,
        out,
        reps=args.reps,
        oracle_reps=args.oracle_reps,
        workers=args.workers,
        dask=args.dask,
        progress=not args.quiet,
    )
    print(format_study(res))
    written = write_study(res, out)
    print(
        f"\nwrote {', '.join(str(p) for p in written[:1])} and {len(written) - 1} CSV files to {out}/"
    )
    return 0
