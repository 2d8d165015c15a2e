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

from pathlib import Path
from typing import TYPE_CHECKING

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
    from analysis.engine.context import run_experiment

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
