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

Across a posterior (`run.py sweep FILE --out DIR --posterior POST`, `with_posterior`):
replication r of every variant runs under the r-th parameter set drawn from POST (the
variant's own settings win), the runs table records the drawn values as `post:<name>`
columns, and sweep.json records the posterior (file, SHA-256, parameters) under
"posterior" for the report. A sweep folder holds runs of one market model only:
`check_same_posterior` refuses to add runs under another posterior (or none) to it.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from analysis.engine.context import run_experiment
from analysis.engine.design import Sweep
from analysis.engine.experiment import Experiment, Outcome
from analysis.engine.outcomes import sweep_plan


def sweep_dir(out: str | Path, sweep: Sweep) -> Path:
    """Where a sweep's files go: DIR/sweep=<name>."""
    return Path(out) / f"sweep={sweep.name}"


def with_posterior(sweep: Sweep, posterior: str | Path) -> Sweep:
    """The sweep across a posterior's draws: replication r draws one parameter set from
    it, seeded by the sweep's seed and r (analysis.studies.across.draws).

    Raises:
        ScenarioError: a bad posterior file, or one that does not apply to the sweep's
            base scenario (one line naming the file and the fix).
    """
    from analysis.studies.across.draws import load_draws

    draws = load_draws(posterior, sweep.scenario, sweep.seed)
    return dataclasses.replace(sweep, draws=draws, _cache={})


def recorded_posterior(sdir: str | Path) -> dict | None:
    """The posterior a sweep folder's sweep.json records (None: none, or no readable
    sweep.json)."""
    try:
        info = json.loads((Path(sdir) / "sweep.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    post = info.get("posterior") if isinstance(info, dict) else None
    return post if isinstance(post, dict) else None


def check_same_posterior(sweep: Sweep, out: str | Path) -> None:
    """Refuse to add runs to a sweep folder that holds runs under another posterior (or
    under none, or none now where it had one): the report would pool answers of
    different market models. One line naming the folder; give another --out.

    Raises:
        ScenarioError: the folder's runs were drawn from another posterior (or none).
    """
    from analysis.engine.parts import part_files
    from sim.errors import ScenarioError

    sdir = sweep_dir(out, sweep)
    if not sdir.is_dir() or not part_files(sdir, "runs"):
        return
    old = recorded_posterior(sdir)
    new = sweep.draws.describe() if sweep.draws is not None else None
    if (old or {}).get("sha256") == (new or {}).get("sha256"):
        return
    had = f"under the posterior {old.get('file')}" if old else "without a posterior"
    now = f"--posterior {new['file']}" if new else "no --posterior"
    raise ScenarioError(
        str(sdir), "--posterior" if new else "", f"holds runs of this sweep {had}; with {now} "
        "the report would pool answers of different markets: give another --out",
    )  # fmt: skip


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
