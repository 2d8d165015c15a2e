"""Shared pieces of the command line: argument types, scenario overrides from flags, the
execution flags (--workers, --dask) and the message of a stopped experiment.

run.py and every subcommand module use these, so a flag means and checks the same thing
everywhere, and every bad value is one line naming the flag. Nothing heavy is imported at
module level: `run.py --help` builds every subcommand's parser with this module.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.executors import default_workers

if TYPE_CHECKING:
    from analysis.engine import Outcome
    from sim.scenario import Scenario


def int_arg(flag: str, minimum: int = 1, maximum: int | None = None):
    """An argparse type: a whole number in [minimum, maximum], errors naming `flag`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag} must be a whole number, found {text!r}"
            ) from None
        if value < minimum or (maximum is not None and value > maximum):
            allowed = f"{minimum}-{maximum}" if maximum is not None else f"at least {minimum}"
            raise argparse.ArgumentTypeError(f"{flag} must be {allowed}, found {value}")
        return value

    return parse


def load_with_overrides(
    path: str | Path, buyers: int | None = None, weeks: int | None = None
) -> Scenario:
    """Load a scenario and apply --buyers / --weeks; an impossible value names its flag."""
    from sim.scenario import ScenarioError, load_scenario

    scenario = load_scenario(path)
    for flag, field, value in (("--buyers", "buyers.count", buyers), ("--weeks", "weeks", weeks)):
        if value is None:
            continue
        try:
            scenario = scenario.with_changes({field: value})
        except ScenarioError as exc:
            raise ScenarioError(str(path), flag, exc.problem) from None
    return scenario


def add_execution_arguments(parser: argparse.ArgumentParser, default: int | None) -> None:
    """--workers and --dask: how an experiment's runs are executed (sweep, attribution)."""
    shown = default if default is not None else f"the core count, {default_workers()} here"
    parser.add_argument(
        "--workers",
        type=int_arg("--workers"),
        default=default,
        help=f"worker processes (default: {shown})",
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help='run on Dask: "local" starts a LocalCluster, or a scheduler address tcp://host:8786',
    )


def stopped_message(outcome: Outcome) -> tuple[str, int] | None:
    """For a stopped experiment: the line for stderr and the exit code; else None."""
    if not (outcome.interrupted or outcome.broken):
        return None
    why = "interrupted" if outcome.interrupted else f"stopped ({outcome.broken})"
    line = (
        f"{why}: {outcome.saved} of {outcome.total} runs are saved in {outcome.out_dir}; "
        "run the same command again to run the rest"
    )
    return line, 130 if outcome.interrupted else 1
