"""The command line: one parser, one module per subcommand, one place that turns errors
into one line.

Each subcommand lives in analysis/cli/<name>.py with `add_arguments(parser)` and
`command(args) -> int`; those modules parse and print, the studies below them compute.
Every input error is one line on stderr naming the file, the field and what is allowed,
with exit code 2 and no traceback. Only light modules are imported to build the parser,
so `run.py --help` and `run.py validate` start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from analysis.errors import Stopped, UsageError

#: subcommand -> one-line help; its module is analysis.cli.<subcommand>
COMMANDS: dict[str, str] = {
    "simulate": "run one scenario once (one seed) and print its tables",
    "validate": "check scenario, sweep and study files (sensitivity, optimisation, targets)",
    "summary": "a scenario's scorecard over replications, with 95%% intervals (the default "
    "command)",
    "sweep": "run a scenario sweep in parallel (processes or Dask)",
    "report": "write the HTML batch report of a sweep",
    "attribution": "measured attribution vs counterfactual lift",
    "calibrate": "fit a scenario's free parameters to published targets (simulated method of "
    "moments)",
    "check": "every calibration target's simulated value with its 95%% interval, pass or fail "
    "(nothing fitted)",
    "dataloop": "the value of measurement: a vendor's policies (static, data loop, oracle) "
    "compared",
    "sensitivity": "Sobol' or Morris sensitivity indices of outcomes to parameters (SALib)",
    "discover": "scenario discovery: PRIM boxes of a sweep's uncertainties where a condition holds",
    "optimize": "the channel mix (and budget) that maximises one vendor's objective (Optuna, "
    "paired)",
    "viz": "start the Solara live visualization",
}


class Parser(argparse.ArgumentParser):
    """argparse that reports errors as one line with exit code 2 (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


def command_module(name: str):
    """The module of a subcommand (analysis.cli.<name>)."""
    return importlib.import_module(f"analysis.cli.{name}")


def build_parser() -> argparse.ArgumentParser:
    """The full command-line parser."""
    parser = Parser(prog="run.py", description="B2B buyer-journey simulator")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    for name, help_text in COMMANDS.items():
        command_module(name).add_arguments(sub.add_parser(name, help=help_text))
    return parser


def printable(text: object) -> str:
    """A file name or message made safe for one terminal line (sim.scenario.printable)."""
    from sim.scenario import printable as safe

    return safe(str(text), 2000)


def main(argv: list[str] | None = None) -> int:
    """Entry point: parse, dispatch, and turn input errors into one line + exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)  # --help and usage errors end here, before any import
    if args.command is None:
        args = parser.parse_args(["summary", *(argv or [])])
    from sim.filekinds import WrongKind
    from sim.scenario import ScenarioError

    try:
        return command_module(args.command).command(args)
    except WrongKind as exc:  # a file of another kind: say which command it was given to
        print(f"error: {printable(exc.for_command(args.command))}", file=sys.stderr)
        return 2
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
    except OSError as exc:  # any other failure to read or write a file: one line
        from analysis.engine.folders import oserror_message

        where = f"{printable(exc.filename)}: " if exc.filename else ""
        print(f"error: {where}{oserror_message(exc)}", file=sys.stderr)
        return 2
