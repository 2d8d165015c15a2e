"""`python run.py attribution SCENARIO`: the attribution lab (analysis.studies.lab) on the command line.

    python run.py attribution scenarios/attribution_null_channel.toml --vendor Focal --reps 10
    python run.py attribution FILE --out lab/attribution.html --workers 2   # resumable
    python run.py attribution FILE --out lab/attribution.html --dask local

Prints measured credit by rule against the true incremental lift per channel. With --out
it writes the page (plus .csv and .parquet) and keeps the lab's runs as chunked Parquet in
`<out stem>_runs/` next to it: the same command again runs only what is missing. Only
light modules are imported at module level: run.py builds this parser for --help.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from analysis.cli.options import (
    add_count,
    add_execution,
    add_out,
    add_overrides,
    add_quiet,
    add_retry_failed,
    load_with_overrides,
)
from analysis.errors import stopped_message


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `run.py attribution`."""
    parser.add_argument("scenario", help="scenario TOML file")
    parser.add_argument("--vendor", help="vendor whose conversions to attribute (default: first)")
    add_count(parser, "--reps", "paired replications (default 10)", default=10, minimum=1)
    add_execution(parser, default=1)
    add_overrides(parser)
    add_out(
        parser,
        help="write an HTML page (plus .csv and .parquet) to this path, and keep the runs "
        "in <stem>_runs/ next to it (a rerun runs only what is missing)",
        required=False,
    )
    parser.add_argument(
        "--save",
        type=Path,
        help="save the lab's table into a sweep results folder; `report` then includes it",
    )
    add_retry_failed(parser)
    add_quiet(parser)


def runs_folder(out: Path | None) -> Path | None:
    """Where the lab keeps its runs: `<stem>_runs/` next to the --out page (None: nowhere)."""
    return None if out is None else out.with_name(f"{out.stem}_runs")


def command(args: argparse.Namespace) -> int:
    """Run the attribution lab and print (and optionally write) its table and figure."""
    from analysis.studies.lab.files import save_lab, write_lab
    from analysis.studies.lab.render import format_lab
    from analysis.studies.lab.run import run_lab
    from analysis.studies.lab.spec import check_lab

    scenario = load_with_overrides(Path(args.scenario), args.buyers, args.weeks)
    vendor = args.vendor or scenario.vendor_names()[0]
    check_lab(scenario, vendor, args.reps)
    runs = runs_folder(args.out)
    lab = run_lab(
        scenario,
        vendor,
        args.reps,
        out=runs,
        workers=args.workers,
        dask=args.dask,
        retry_failed=args.retry_failed,
        progress=not args.quiet,
    )
    stopped = stopped_message(lab.outcome)
    if stopped is not None:
        if runs is None:
            why = "interrupted" if lab.outcome.interrupted else f"stopped ({lab.outcome.broken})"
            line = f"{why}; without --out the lab keeps no runs"
        else:
            line = stopped[0]
        print(line, file=sys.stderr)
        return stopped[1]
    print(format_lab(lab.table))
    if lab.failed:
        print(
            f"note: {lab.failed} runs failed (status/error in the runs table); the table uses "
            "the runs that finished",
            file=sys.stderr,
        )
    if args.out is not None:
        written = [*write_lab(lab.table, args.out), runs]
        print(f"\nwrote {', '.join(str(p) for p in written)}")
    if args.save is not None:
        print(f"saved {save_lab(lab, args.save)}")
    return 0
