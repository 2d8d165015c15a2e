"""`python run.py sweep`: run a sweep file's design through the experiment engine.

The command line of analysis.studies.sweep: it parses and prints; the study computes.
"""

from __future__ import annotations

import argparse
import sys

from analysis.cli.options import (
    add_execution,
    add_out,
    add_posterior,
    add_quiet,
    add_retry_failed,
)
from analysis.engine.executors import default_workers
from analysis.errors import stopped_message


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python run.py sweep`."""
    parser.add_argument("file", help="sweep TOML file (see scenarios/sweep_*.toml)")
    add_out(parser)
    add_posterior(parser)
    add_execution(parser, default=None)
    parser.add_argument("--weekly", action="store_true", help="also write the weekly tables")
    add_retry_failed(parser)
    add_quiet(parser)


def command(args: argparse.Namespace) -> int:
    """`python run.py sweep FILE --out DIR`: run what is missing, print one summary line."""
    from analysis.engine.design import load_sweep_file
    from analysis.engine.folders import check_out_dir
    from analysis.studies.sweep.study import (
        check_same_posterior,
        run_sweep,
        sweep_dir,
        with_posterior,
    )

    sweep = load_sweep_file(args.file)
    if args.posterior is not None:  # a bad file is one line before anything runs
        sweep = with_posterior(sweep, args.posterior)
    check_out_dir(args.out)  # before anything runs
    check_out_dir(sweep_dir(args.out, sweep))
    check_same_posterior(sweep, args.out)
    workers = args.workers or default_workers()
    if not args.dask:  # local workers run side by side on this machine's memory
        from analysis.engine.limits import check_sweep_memory

        check_sweep_memory(sweep, runs_at_once=workers)
    outcome = run_sweep(
        sweep,
        args.out,
        workers=workers,
        dask=args.dask,
        weekly=True if args.weekly else None,
        retry_failed=args.retry_failed,
        progress=not args.quiet,
    )
    where = outcome.out_dir
    stopped = stopped_message(outcome)
    if stopped is not None:
        print(stopped[0], file=sys.stderr)
        return stopped[1]
    if outcome.ran == 0:
        print(f"sweep {sweep.name}: all {outcome.total} runs already in {where}")
        return 0
    rate = outcome.ran / max(outcome.elapsed_s, 1e-9) * 60
    failed = f", {outcome.failed} failed (status/error in the runs table)" if outcome.failed else ""
    resumed = f" ({outcome.already} were already there)" if outcome.already else ""
    across = (
        f" across {sweep.replications} draws of {sweep.draws.source}"
        if sweep.draws is not None
        else ""
    )
    print(
        f"sweep {sweep.name}{across}: ran {outcome.ran} runs{resumed}{failed} in "
        f"{outcome.elapsed_s:.1f} s ({rate:,.0f} runs/min, "
        f"{'dask ' + args.dask if args.dask else f'{workers} worker(s)'}) -> {where}"
    )
    return 0
