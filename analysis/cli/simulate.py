"""`python run.py simulate [SCENARIO]`: run one scenario once (one seed), print its vendor
table and funnel, and with --out write its tables as Parquet.

With --out, the folder is checked before the run and replaced whole at the end
(analysis.engine.folders.StagedOut): a run that fails or is interrupted leaves it as it was.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from analysis.cli.options import add_out, add_overrides, add_quiet, int_arg
from analysis.paths import BASELINE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `run.py simulate`."""
    parser.add_argument("scenario", nargs="?", default=str(BASELINE), help="scenario TOML file")
    parser.add_argument(
        "--seed", type=int_arg("--seed", minimum=0), help="run seed (default: the scenario's)"
    )
    add_overrides(parser)
    add_out(parser, help="write Parquet tables to this folder", required=False)
    add_quiet(parser)


def progress_bar(total: int, desc: str, quiet: bool = False):
    """A tqdm bar on stderr that only appears if the work lasts more than ~2 seconds."""
    from tqdm import tqdm

    return tqdm(
        total=total, desc=desc, unit="wk", delay=2.0, disable=quiet, file=sys.stderr, leave=False
    )


def command(args: argparse.Namespace) -> int:
    """Run one scenario, print the vendor table and funnel, optionally write tables."""
    from analysis.cli.options import load_with_overrides
    from analysis.engine.folders import StagedOut
    from analysis.engine.writer import WriteError

    path = Path(args.scenario)
    scenario = load_with_overrides(path, args.buyers, args.weeks)
    staged = None if args.out is None else StagedOut(args.out)  # before any work
    try:
        return _simulate(args, path, scenario, staged)
    except BaseException as exc:
        if staged is not None:
            staged.discard()
            if isinstance(exc, WriteError):  # a table or file of the staged run
                raise staged.failure(exc.oserror) from None
            if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
                raise staged.failure(exc) from None
        raise


def _simulate(args: argparse.Namespace, path: Path, scenario, staged) -> int:
    from analysis.engine.store import ParquetStream, write_run
    from analysis.render.terminal import funnel_summary, horizon, vendor_summary
    from sim.model import BuyerJourneyModel
    from sim.recorders import TouchLog, default_recorders
    from sim.tables import funnel

    seed = scenario.seed if args.seed is None else args.seed
    recorders = default_recorders(record_touches=False)
    touches = None
    if staged is not None:  # touches stream to Parquet in week chunks as the run goes
        touches = ParquetStream(staged.stage / "touches.parquet", tmp=staged.touches_tmp)
        recorders.append(TouchLog(sink=touches))
    started = time.perf_counter()
    try:
        with progress_bar(scenario.weeks, scenario.name, args.quiet) as bar:
            model = BuyerJourneyModel(scenario, seed=seed, recorders=recorders)
            model.run(progress=lambda _week: bar.update(1))
    except BaseException:
        if touches is not None:
            touches.abort()  # an interrupted run leaves no partial touch table behind
        raise
    elapsed = time.perf_counter() - started
    tables = model.tables()
    if touches is not None:
        touches.close(empty=model.recorder("touches").table_of(model, []))
    b = scenario.buyers
    print(
        f"{scenario.name}: {b.count:,} buyers, {len(scenario.vendors)} vendors, "
        f"{horizon(scenario.weeks, scenario.market.spin_up_weeks)}, seed {seed}  ({elapsed:.2f} s)"
    )
    if scenario.description:
        print(scenario.description)
    print()
    print(vendor_summary(tables["vendors"]))
    print(
        f"(one run, seed {seed}: these figures move from seed to seed; "
        "`run.py summary` replicates it and gives intervals)"
    )
    print()
    print(funnel_summary(funnel(model)))
    if staged is not None:
        extra = {"weeks": scenario.weeks, "buyers": b.count, "scenario_name": scenario.name}
        written = write_run(tables, staged.stage, path, seed, extra, scenario) + [touches.path]
        staged.commit()  # the earlier run in --out is replaced only now, whole
        print(
            f"\nwrote {len(written)} files to {args.out}/ (tables as Parquet, scenario.toml, run.json)"
        )
    return 0
