"""The command line: summary | simulate | validate | sweep | report | attribution | calibrate |
dataloop | sensitivity | discover | viz.

    python run.py                                   # the baseline over 10 replications
    python run.py summary scenarios/X.toml --reps 30
    python run.py simulate scenarios/X.toml --seed 7 --weeks 52 --out results/x
    python run.py validate scenarios/X.toml

Every input error is one line on stderr naming the file, the field and what is allowed,
with exit code 2 and no traceback. Subcommands other than simulate and validate live in
their own modules (analysis/...), each exposing `add_arguments(parser)` and
`command(args) -> int`; they are imported only when used.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

from analysis.cli.common import Stopped, UsageError, int_arg

ROOT = Path(__file__).resolve().parent
BASELINE = ROOT / "scenarios" / "baseline.toml"

#: subcommand -> (module, one-line help); the module provides add_arguments and command.
PLUGINS: dict[str, tuple[str, str]] = {
    "summary": (
        "analysis.studies.summary.study",
        "a scenario's scorecard over replications, with 95%% intervals (the default command)",
    ),
    "sweep": (
        "analysis.studies.sweep.study",
        "run a scenario sweep in parallel (processes or Dask)",
    ),
    "report": ("analysis.cli.report", "write the HTML batch report of a sweep"),
    "attribution": ("analysis.cli.attribution", "measured attribution vs counterfactual lift"),
    "calibrate": (
        "analysis.studies.calibrate.study",
        "fit a scenario's free parameters to published targets (simulated method of moments)",
    ),
    "dataloop": (
        "analysis.studies.dataloop.study",
        "the value of measurement: a vendor's policies (static, data loop, oracle) compared",
    ),
    "sensitivity": (
        "analysis.studies.sensitivity.study",
        "Sobol' or Morris sensitivity indices of outcomes to parameters (SALib)",
    ),
    "discover": (
        "analysis.studies.discover.study",
        "scenario discovery: PRIM boxes of a sweep's uncertainties where a condition holds",
    ),
    "optimize": (
        "analysis.studies.optimize.study",
        "the channel mix (and budget) that maximises one vendor's objective (Optuna, paired)",
    ),
    "viz": ("analysis.cli.viz", "start the Solara live visualization"),
}


class Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line with exit code 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full command-line parser."""
    parser = Parser(prog="run.py", description="B2B buyer-journey simulator")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)

    sim = sub.add_parser("simulate", help="run one scenario once (one seed) and print its tables")
    sim.add_argument("scenario", nargs="?", default=str(BASELINE), help="scenario TOML file")
    sim.add_argument(
        "--seed", type=int_arg("--seed", minimum=0), help="run seed (default: the scenario's)"
    )
    sim.add_argument("--weeks", type=int_arg("--weeks"), help="override the horizon")
    sim.add_argument("--buyers", type=int_arg("--buyers"), help="override the number of buyers")
    sim.add_argument("--out", type=Path, help="write Parquet tables to this folder")
    sim.add_argument("--quiet", action="store_true", help="no progress bar")

    val = sub.add_parser("validate", help="check a scenario or sweep file")
    val.add_argument("files", nargs="+", help="scenario or sweep TOML files")

    for name, (module, help_text) in PLUGINS.items():
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(plugin=module)
        try:
            importlib.import_module(module).add_arguments(p)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            p.set_defaults(missing=True)
    return parser


def progress_bar(total: int, desc: str, quiet: bool = False):
    """A tqdm bar on stderr that only appears if the work lasts more than ~2 seconds."""
    from tqdm import tqdm

    return tqdm(
        total=total, desc=desc, unit="wk", delay=2.0, disable=quiet, file=sys.stderr, leave=False
    )


def cmd_simulate(args: argparse.Namespace) -> int:
    """Run one scenario, print the vendor table and funnel, optionally write tables.

    With --out, the folder is checked before the run and replaced whole at the end
    (analysis.engine.folders.StagedOut): a run that fails or is interrupted leaves it as it was.
    """
    from analysis.cli.common import load_with_overrides
    from analysis.engine.folders import StagedOut

    path = Path(args.scenario)
    scenario = load_with_overrides(path, args.buyers, args.weeks)
    staged = None if args.out is None else StagedOut(args.out)  # before any work
    try:
        return _simulate(args, path, scenario, staged)
    except BaseException as exc:
        if staged is not None:
            staged.discard()
            if isinstance(exc, OSError) and not isinstance(exc, BrokenPipeError):
                raise staged.failure(exc) from None
        raise


def _simulate(args: argparse.Namespace, path: Path, scenario, staged) -> int:
    from analysis.engine.store import ParquetStream, write_run
    from analysis.render.terminal import funnel_summary, vendor_summary
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
        f"{scenario.weeks} weeks, seed {seed}  ({elapsed:.2f} s)"
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


def cmd_validate(args: argparse.Namespace) -> int:
    """Check scenario and sweep files as the commands that run them do, before any model
    is built (graph files read and sized, memory estimated); print one line per file."""
    from analysis.engine.limits import check_memory
    from sim.network import check_graph_file
    from sim.scenario import load_scenario, read_toml, shown

    for file in args.files:
        path = Path(file)
        data = read_toml(path, "scenario, sweep or study")
        if "sweep" in data:
            from analysis.engine.design import load_sweep_file

            sweep = load_sweep_file(path)
            check_graph_file(sweep.scenario)
            print(f"ok: {printable(file)}: sweep {sweep.name} ({sweep.run_count():,} runs)")
        elif "sensitivity" in data:
            from analysis.studies.sensitivity.study import load_study

            load_study(path)
            print(f"ok: {printable(file)}: sensitivity study")
        elif "optimize" in data:
            from analysis.studies.optimize.study import load_spec

            load_spec(path)
            print(f"ok: {printable(file)}: optimisation study")
        elif "targets" in data:
            from analysis.studies.calibrate.targets import load_targets

            targets = load_targets(path)
            print(f"ok: {printable(file)}: calibration targets ({len(targets.targets)} targets)")
        else:
            sc = load_scenario(path)
            check_graph_file(sc)
            check_memory(sc)
            print(
                f"ok: {printable(file)}: scenario {shown(sc.name)}, {sc.buyers.count:,} buyers, "
                f"{len(sc.vendors)} vendors, {sc.weeks} weeks"
            )
    return 0


def printable(text: str) -> str:
    """A file name or message made safe for one terminal line (sim.scenario.printable)."""
    from sim.scenario import printable as safe

    return safe(str(text), 2000)


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, dispatch, and turn input errors into one line + exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)  # --help and usage errors end here, before any import
    if args.command is None:
        args = parser.parse_args(["summary", *(argv or [])])
    from sim.scenario import ScenarioError

    try:
        if args.command == "simulate":
            return cmd_simulate(args)
        if args.command == "validate":
            return cmd_validate(args)
        if getattr(args, "missing", False):
            raise UsageError(f"the {args.command} command is not available in this version")
        return importlib.import_module(args.plugin).command(args)
    except (ScenarioError, UsageError) as exc:
        print(f"error: {printable(exc)}", file=sys.stderr)
        return 2
    except Stopped as exc:  # a long command stopped: its one line, what it saved is kept
        print(printable(exc), file=sys.stderr)
        return exc.code
    except PermissionError as exc:  # e.g. --out in a folder the user cannot write
        print(
            f"error: {printable(exc.filename)}: permission denied; choose a writable folder",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("interrupted; results written so far are kept", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
