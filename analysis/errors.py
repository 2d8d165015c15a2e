"""The two ways a command ends early, shared by every layer of the analysis wing.

- `UsageError`: bad input from the user (a flag, a port, a folder); the command line
  prints it as one line with exit code 2, like a `sim.scenario.ScenarioError`.
- `Stopped`: a long command stopped before its answer (the engine was interrupted or its
  pool broke, or a run it needs failed); the command line prints its one line and exits
  with its code (130 interrupted, 1 otherwise). What was saved stays for the next run.

Studies raise these; only the command line (analysis.cli.main) catches and prints them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from analysis.engine.experiment import Outcome


class UsageError(Exception):
    """Bad input from the user (a flag, a port, a folder): printed as one line, exit code 2."""


class Stopped(Exception):
    """A long command stopped before its answer: one line for stderr and an exit code."""

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
