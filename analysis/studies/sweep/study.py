"""`python run.py sweep`: run a sweep file's design through the experiment engine.

    python run.py sweep scenarios/sweep_channel_mix.toml --out results/sweeps
    python run.py sweep FILE --out DIR --workers 2
    python run.py sweep FILE --out DIR --dask local            # a Dask LocalCluster
    python run.py sweep FILE --out DIR --dask tcp://host:8786  # an existing Dask cluster

The design (validation, axes, sampling, seeds, run ids) is analysis.engine.design; what each run
yields is analysis.engine.outcomes; running, chunked Parquet, resume and failure rows are
analysis.engine.experiment. Results go to `DIR/sweep=<name>/` (see analysis.engine.results for the layout);
re-running the same command on the same DIR runs only what is missing.

Only light modules are imported at module level: run.py builds this parser for --help.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.cli.common import add_execution_arguments, stopped_message
from analysis.engine.executors import default_workers

if TYPE_CHECKING:
    from analysis.engine.design import Sweep
    from analysis.engine.experiment import Experiment, Outcome


def sweep_dir(out: str | Path, sweep: Sweep) -> Path:
    """Where a sweep's files go: DIR/sweep=<name>."""
    return Path(out) / f"sweep={sweep.name}"


def sweep_experiment(sweep: Sweep, weekly: bool | None = None) -> Experiment:
    """The sweep's run table with the sweep plan (weekly tables if asked or set in the
    file), ready for the engine."""
    from analysis.engine.experiment import Experiment
    from analysis.engine.outcomes import sweep_plan

    weekly = sweep.weekly if weekly is None else weekly
    return Experiment(
        name=f"sweep {sweep.name}",
        scenario=sweep.scenario,
        runs=tuple(sweep.expand()),
        plan=sweep_plan(weekly),
        params=tuple((a.name, a.numeric) for a in sweep.axes),
    )


def run_sweep(
    sweep: Sweep,
    out: str | Path,
    workers: int | None = None,
    dask: str | None = None,
    weekly: bool | None = None,
    retry_failed: bool = False,
    progress: bool = True,
    chunk_size: int | None = None,
) -> Outcome:
    """Run the runs of `sweep` that DIR does not hold yet; write them under DIR/sweep=<name>
    with the set-up as sweep.json.

    Returns:
        The engine's Outcome: runs in the sweep, already there, run now, failed.
    """
    from analysis.engine.experiment import run_experiment

    exp = sweep_experiment(sweep, weekly)
    weekly = sweep.weekly if weekly is None else weekly
    return run_experiment(
        exp,
        sweep_dir(out, sweep),
        workers=workers,
        dask=dask,
        retry_failed=retry_failed,
        progress=progress,
        chunk_size=chunk_size,
        info={**sweep.describe(), "weekly": weekly},
        info_file="sweep.json",
    )


# ------------------------------------------------------------------------ command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python run.py sweep`."""
    parser.add_argument("file", help="sweep TOML file (see scenarios/sweep_*.toml)")
    parser.add_argument("--out", type=Path, required=True, help="results folder (resumable)")
    add_execution_arguments(parser, default=None)
    parser.add_argument("--weekly", action="store_true", help="also write the weekly tables")
    parser.add_argument(
        "--retry-failed", action="store_true", help="run again the runs that ended in an error"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def command(args: argparse.Namespace) -> int:
    """`python run.py sweep FILE --out DIR`: run what is missing, print one summary line."""
    from analysis.engine.design import load_sweep_file
    from analysis.engine.folders import check_out_dir

    sweep = load_sweep_file(args.file)
    check_out_dir(args.out)  # before anything runs
    check_out_dir(sweep_dir(args.out, sweep))
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
    print(
        f"sweep {sweep.name}: ran {outcome.ran} runs{resumed}{failed} in "
        f"{outcome.elapsed_s:.1f} s ({rate:,.0f} runs/min, "
        f"{'dask ' + args.dask if args.dask else f'{workers} worker(s)'}) -> {where}"
    )
    return 0
