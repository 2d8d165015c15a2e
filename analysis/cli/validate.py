"""`python run.py validate FILE...`: check scenario, sweep and study files as the commands
that run them do, before any model is built (graph files read and sized, memory
estimated); one line per file.

A file's kind (sim.filekinds.kind_of: its top-level table) picks the loader that checks
it; each loader is imported only for a file of its kind, so validate stays light.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from analysis.cli.main import printable


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `run.py validate`."""
    parser.add_argument(
        "files", nargs="+", help="scenario, sweep, sensitivity, optimisation or targets files"
    )


def command(args: argparse.Namespace) -> int:
    """Check each file; print one line per file."""
    from sim.filekinds import kind_of
    from sim.scenario import read_toml

    for file in args.files:
        path = Path(file)
        kind = kind_of(read_toml(path, "scenario, sweep or study"))
        print(f"ok: {printable(file)}: {CHECKS[kind.key](path)}")
    return 0


def scenario(path: Path) -> str:
    """A scenario file, its graph file and the memory of a run."""
    from analysis.engine.limits import check_memory
    from sim.network import check_graph_file
    from sim.scenario import load_scenario, shown

    sc = load_scenario(path)
    check_graph_file(sc)
    check_memory(sc)
    return (
        f"scenario {shown(sc.name)}, {sc.buyers.count:,} buyers, "
        f"{len(sc.vendors)} vendors, {sc.weeks} weeks"
    )


def sweep(path: Path) -> str:
    """A sweep file (or DATA-loop study): its design and its base's graph file."""
    from analysis.engine.design import load_sweep_file
    from sim.network import check_graph_file

    design = load_sweep_file(path)
    check_graph_file(design.scenario)
    return f"sweep {design.name} ({design.run_count():,} runs)"


def sensitivity(path: Path) -> str:
    """A sensitivity file."""
    from analysis.studies.sensitivity.spec import load_study

    load_study(path)
    return "sensitivity study"


def optimisation(path: Path) -> str:
    """An optimisation file."""
    from analysis.studies.optimize.spec import load_spec

    load_spec(path)
    return "optimisation study"


def targets(path: Path) -> str:
    """A calibration targets file."""
    from analysis.studies.calibrate.targets import load_targets

    found = load_targets(path)
    return f"calibration targets ({len(found.targets)} targets)"


#: file kind (sim.filekinds key) -> its check, which returns what the ok line says
CHECKS: dict[str, Callable[[Path], str]] = {
    "scenario": scenario,
    "sweep": sweep,
    "sensitivity": sensitivity,
    "optimize": optimisation,
    "targets": targets,
}
