"""The options several commands share, each defined once: --out, --quiet, --workers and
--dask, --buyers and --weeks, --retry-failed, --reps, --posterior; the argparse type of a
bounded whole number; and a scenario loaded with its overrides.

A flag means and checks the same thing in every command, and every bad value is one line
naming the flag. Nothing heavy is imported here: `run.py --help` builds every parser.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.engine.executors import default_workers
from analysis.engine.limits import WORKERS_PER_CORE, max_workers

if TYPE_CHECKING:
    from sim.scenario import Scenario


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


def add_out(
    parser: argparse.ArgumentParser,
    help: str = "results folder (resumable)",
    required: bool = True,
) -> None:
    """--out: where a command writes (a results folder, or a file where `help` says so)."""
    parser.add_argument("--out", type=Path, required=required, help=help)


def add_quiet(parser: argparse.ArgumentParser, help: str = "no progress bar") -> None:
    """--quiet: no progress bar on stderr."""
    parser.add_argument("--quiet", action="store_true", help=help)


def add_retry_failed(parser: argparse.ArgumentParser) -> None:
    """--retry-failed: run again the runs of a results folder that ended in an error."""
    parser.add_argument(
        "--retry-failed", action="store_true", help="run again the runs that ended in an error"
    )


def add_overrides(parser: argparse.ArgumentParser) -> None:
    """--buyers and --weeks: override the scenario's number of buyers and horizon."""
    parser.add_argument("--buyers", type=int_arg("--buyers"), help="override the number of buyers")
    parser.add_argument("--weeks", type=int_arg("--weeks"), help="override the horizon")


def add_posterior(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    """--posterior FILE: answers across plausible markets. Replication r of the command's
    design runs under ONE parameter set drawn from the posterior (seeded by the base seed
    and r alone), the same set for every strategy of that replication (pairing holds);
    a strategy's own explicit setting wins over the draw. The file is checked when the
    command starts (analysis.studies.across.draws.load_draws: one line, exit 2)."""
    parser.add_argument(
        "--posterior",
        type=Path,
        metavar="FILE",
        help=help
        or "posterior.parquet of `run.py calibrate --method abc`: each replication runs under "
        "one parameter set drawn from it, the same for every strategy (answers carry "
        "parameter uncertainty)",
    )


def add_count(
    parser: argparse.ArgumentParser,
    flag: str,
    help: str,
    default: int | None = None,
    minimum: int = 2,
    maximum: int = 10_000,
) -> None:
    """A count flag (--reps, --replications, --trials, --samples ...): a whole number in
    [minimum, maximum], the error naming the flag."""
    parser.add_argument(flag, type=int_arg(flag, minimum=minimum, maximum=maximum),
                        default=default, help=help)  # fmt: skip


def add_execution(parser: argparse.ArgumentParser, default: int | None = None) -> None:
    """--workers and --dask: how a command's runs are executed."""
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


def load_with_overrides(
    path: str | Path, buyers: int | None = None, weeks: int | None = None
) -> Scenario:
    """Load a scenario and apply --buyers / --weeks; an impossible value names its flag.

    A run of the result must fit in memory (analysis.engine.limits.check_memory), checked
    here, before any model is built."""
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
