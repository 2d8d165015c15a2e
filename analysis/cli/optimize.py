"""`python run.py optimize FILE --out DIR`: the channel mix (and optionally the budget) that
maximises one vendor's objective, competitors fixed.

The command line of analysis.studies.optimize: it parses and prints; the study computes.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from analysis.cli.options import add_count, add_execution, add_out, add_posterior, add_quiet

if TYPE_CHECKING:
    pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python run.py optimize`."""
    parser.add_argument("file", help="optimisation TOML file (scenarios/optimize_*.toml)")
    add_out(parser)
    add_count(parser, "--trials", "trials to run (default: the file's)", minimum=1, maximum=100_000)
    add_posterior(parser)
    add_execution(parser, default=None)
    add_quiet(parser)


def command(args: argparse.Namespace) -> int:
    """`python run.py optimize FILE --out DIR`."""
    from analysis.engine.folders import check_out_dir
    from analysis.studies.optimize.spec import load_spec

    # a bad file (or posterior) is one line before the study loads
    spec = load_spec(args.file, args.trials, args.posterior)
    check_out_dir(args.out)
    from analysis.studies.optimize.optimizer import optimize
    from analysis.studies.optimize.report import summary_lines, write_outputs

    result = optimize(spec, args.out, workers=args.workers, dask=args.dask, progress=not args.quiet)
    written = write_outputs(result, args.out)
    for line in summary_lines(result):
        print(line)
    again = f" ({result.already} reused from disk)" if result.already else ""
    print(
        f"asked {result.asked} new trials, ran {result.ran} runs{again} in {result.elapsed_s:.1f} s; "
        f"wrote {', '.join(p.name for p in written)} to {args.out}/"
    )
    return 0
