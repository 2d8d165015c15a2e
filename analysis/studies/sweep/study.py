"""The sweep study (`python run.py sweep FILE --out DIR`): a sweep file's design run
through the experiment engine, resumable.

    from analysis.engine.design import load_sweep_file
    from analysis.studies.sweep.study import run_sweep

    sweep = load_sweep_file("scenarios/sweep_channel_mix.toml")   # spec: one-line errors
    outcome = run_sweep(sweep, "results/sweeps", workers=2)        # run: the engine's Outcome
    # report: analysis.reports.sweep (`run.py report DIR`) reads what the sweep wrote

The design (the sweep file, axes, sampling, seeds, run ids) is analysis.engine.design and
analysis.engine.sweepfile; what each run yields is analysis.engine.outcomes; running,
chunked Parquet, resume and failure rows are the engine's (analysis.engine.context).
Results go to `DIR/sweep=<name>/` (see analysis.engine.results for the layout); running
the same sweep on the same DIR again runs only what is missing.
"""

from __future__ import annotations

from pathlib import Path

from analysis.engine.context import run_experiment
from analysis.engine.design import Sweep
from analysis.engine.experiment import Experiment, Outcome
from analysis.engine.outcomes import sweep_plan


def sweep_dir(out: str | Path, sweep: Sweep) -> Path:
    """Where a sweep's files go: DIR/sweep=<name>."""
    return Path(out) / f"sweep={sweep.name}"


def sweep_experiment(sweep: Sweep, weekly: bool | None = None) -> Experiment:
    """The sweep's run table with the sweep plan (weekly tables if asked or set in the
    file), ready for the engine."""
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
    weekly = sweep.weekly if weekly is None else weekly
    return run_experiment(
        sweep_experiment(sweep, weekly),
        sweep_dir(out, sweep),
        workers=workers,
        dask=dask,
        retry_failed=retry_failed,
        progress=progress,
        chunk_size=chunk_size,
        info={**sweep.describe(), "weekly": weekly},
        info_file="sweep.json",
    )
