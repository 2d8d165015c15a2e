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

from analysis.engine.executors import default_workers
from analysis.engine.limits import WORKERS_PER_CORE, max_workers

if TYPE_CHECKING:
    from analysis.engine.experiment import Outcome
    from sim.scenario import Scenario


class UsageError(Exception):
    """Bad input from the user (a flag, a port, a folder): printed as one line, exit code 2
    (run.py catches it like a ScenarioError)."""


def int_arg(flag: str, minimum: int = 1, maximum: int | None = None, why: str = ""):
    """An argparse type: a whole number in [minimum, maximum], errors naming `flag`
    (and `why` the maximum is what it is)."""

    def parse(text: str) -> int:
        from sim.scenario import shown

        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag} must be a whole number, found {shown(text)}"
            ) from None
        if value < minimum or (maximum is not None and value > maximum):
            allowed = f"{minimum}-{maximum}" if maximum is not None else f"at least {minimum}"
            reason = f" ({why})" if why and maximum is not None and value > maximum else ""
            raise argparse.ArgumentTypeError(f"{flag} must be {allowed}, found {value}{reason}")
        return value

    return parse


def load_with_overrides(
    path: str | Path, buyers: int | None = None, weeks: int | None = None
) -> Scenario:
    """Load a scenario and apply --buyers / --weeks; an impossible value names its flag.

    A run of the result must fit in memory (analysis.engine.limits.check_memory), checked here,
    before any model is built."""
    from analysis.engine.limits import check_memory
    from sim.scenario import ScenarioError, load_scenario

    scenario = load_scenario(path)
    for flag, field, value in (("--buyers", "buyers.count", buyers), ("--weeks", "weeks", weeks)):
        if value is None:
            continue
        try:
            scenario = scenario.with_changes({field: value})
        except ScenarioError as exc:
            raise ScenarioError(str(path), flag, exc.problem) from None
    check_memory(scenario, str(path), "--buyers" if buyers is not None else "buyers.count")
    return scenario


def add_execution_arguments(parser: argparse.ArgumentParser, default: int | None) -> None:
    """--workers and --dask: how an experiment's runs are executed (sweep, attribution)."""
    shown = default if default is not None else f"the core count, {default_workers()} here"
    cores = default_workers()
    parser.add_argument(
        "--workers",
        type=int_arg(
            "--workers",
            maximum=max_workers(),
            why=f"at most {WORKERS_PER_CORE} per core; {cores} core(s) here",
        ),
        default=default,
        help=f"worker processes (default: {shown})",
    )
    parser.add_argument(
        "--dask",
        metavar="ADDRESS",
        help='run on Dask: "local" starts a LocalCluster, or a scheduler address tcp://host:8786',
    )


class Stopped(Exception):
    """A long command stopped before its answer (the engine was interrupted or its pool
    broke, or a run it needs failed): `run.py` prints the one line and exits with `code`
    (130 interrupted, 1 otherwise); what was saved stays for the next run."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def raise_if_stopped(outcome: Outcome) -> None:
    """Raise Stopped (stopped_message's line and code) if the experiment stopped."""
    stopped = stopped_message(outcome)
    if stopped is not None:
        raise Stopped(*stopped)


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
