"""`python run.py validate FILE...`: check scenario, sweep and study files as the commands
that run them do, before any model is built (graph files read and sized, memory
estimated); one line per file."""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.cli.main import printable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `run.py validate`."""
    parser.add_argument("files", nargs="+", help="scenario or sweep TOML files")


def command(args: argparse.Namespace) -> int:
    """Check each file; print one line per file."""
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
