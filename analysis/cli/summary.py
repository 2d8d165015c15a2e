"""`run.py summary` (and bare `run.py`): a scenario's vendor scorecard over replications,
with 95% intervals, instead of one run that may be mostly noise.

The command line of analysis.studies.summary: it parses and prints; the study computes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.cli.options import (
    add_count,
    add_execution,
    add_overrides,
    add_posterior,
    add_quiet,
)
from analysis.paths import BASELINE, BASELINE_POSTERIOR
from analysis.studies.summary.study import DEFAULT_REPS, format_replicated, run_replicated


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python run.py summary`."""
    parser.add_argument("scenario", nargs="?", default=str(BASELINE), help="scenario TOML file")
    add_count(parser, "--reps", help=f"replications (default {DEFAULT_REPS})", default=DEFAULT_REPS)
    add_overrides(parser)
    add_posterior(
        parser,
        help="posterior.parquet of `run.py calibrate --method abc`: each replication runs "
        "under one parameter set drawn from it, the same for every vendor (answers carry "
        "parameter uncertainty). Default: the shipped baseline's posterior "
        "(scenarios/baseline_posterior.parquet) for the baseline, none for other files; "
        "`--posterior none`: one market, the scenario's own values",
    )
    add_execution(parser, default=None)
    add_quiet(parser)


def default_posterior(scenario: str, given: Path | None) -> Path | None:
    """The posterior a summary answers across: the one given (`none`: no posterior), else
    the shipped baseline's for the baseline itself (when the file is there)."""
    if given is not None:
        return None if str(given).lower() == "none" else given
    if Path(scenario).resolve() == BASELINE.resolve() and BASELINE_POSTERIOR.is_file():
        try:  # named as the user would type it from the checkout
            return BASELINE_POSTERIOR.relative_to(Path.cwd())
        except ValueError:
            return BASELINE_POSTERIOR
    return None


def command(args: argparse.Namespace) -> int:
    """`python run.py summary [FILE]`: the scorecard over replications, with intervals."""
    from analysis.cli.options import load_with_overrides

    scenario = load_with_overrides(Path(args.scenario), args.buyers, args.weeks)
    draws = None
    posterior = default_posterior(args.scenario, args.posterior)
    if posterior is not None:  # a bad file is one line before anything runs
        from analysis.studies.across.draws import load_draws

        draws = load_draws(posterior, scenario, scenario.seed)
    try:
        rep = run_replicated(
            scenario, args.reps, args.workers, args.dask, not args.quiet, draws=draws
        )
    except KeyboardInterrupt:
        print("interrupted; a summary keeps no runs, nothing was written", file=sys.stderr)
        return 130
    print(format_replicated(rep))
    return 0
