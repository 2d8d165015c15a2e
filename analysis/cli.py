"""Shared pieces of the command line: argument types and scenario overrides from flags.

run.py and every subcommand module use these, so a flag means and checks the same thing
everywhere, and every bad value is one line naming the flag.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sim.scenario import Scenario, ScenarioError, load_scenario


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
    scenario = load_scenario(path)
    for flag, field, value in (("--buyers", "buyers.count", buyers), ("--weeks", "weeks", weeks)):
        if value is None:
            continue
        try:
            scenario = scenario.with_changes({field: value})
        except ScenarioError as exc:
            raise ScenarioError(str(path), flag, exc.problem) from None
    return scenario
