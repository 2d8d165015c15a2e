"""`python run.py report DIR`: write the HTML batch report of a sweep (analysis.reports.sweep).

    python run.py report results/sweeps --out report.html [--reference VARIANT]

Only light modules are imported at module level: run.py builds this parser for --help.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

from analysis.cli.options import add_out, add_posterior, add_quiet


# ------------------------------------------------------------------ command line
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `run.py report`."""
    parser.add_argument("dir", type=Path, help="results folder of `run.py sweep --out`")
    add_out(parser, help="HTML file to write (default: DIR/report.html)", required=False)
    parser.add_argument(
        "--reference", help="variant to compare the others with (default: the first)"
    )
    parser.add_argument(
        "--vendor", help="report on this vendor only (answers, figures, tables, sections)"
    )
    parser.add_argument(
        "--width",
        type=positive_number("--width"),
        help="half-width the replications line aims at (default: half the widest interval)",
    )
    parser.add_argument("--sweep", help="which sweep, when DIR holds several")
    parser.add_argument(
        "--metric",
        default="conversions",
        choices=METRICS,
        help="the answers' best variant by this vendor metric (default: conversions; "
        "cost_per_acquisition and break_even_volume: lowest is best)",
    )
    add_posterior(
        parser,
        help="optional: the posterior the sweep ran across (recorded in its sweep.json; "
        "the report says so without this flag). Given, it must be that same file: a report "
        "cannot apply a posterior to runs made without it",
    )
    parser.add_argument(
        "--truth",
        type=Path,
        help="dataloop_truth.csv of `run.py dataloop` (true returns next to a policy sweep's "
        "beliefs; default: one in DIR or the folder above)",
    )
    add_quiet(parser)


def positive_number(flag: str):
    """An argparse type: a finite number above 0, errors naming `flag`."""

    def parse(text: str) -> float:
        from sim.errors import shown

        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(
                f"{flag} must be a positive number, found {shown(text)}"
            )
        return value

    return parse


STEPS = 10
#: vendor metrics the answers can rank by (analysis.stats.compare.VENDOR_METRICS, without the
#: spend itself, which a strategy chooses rather than wins)
METRICS = (
    "conversions",
    "win_share",
    "revenue",
    "roi",
    "cost_per_acquisition",
    "break_even_volume",
    "originated_share",
)


def command(args: argparse.Namespace) -> int:
    """Write the report and print where it is."""
    from tqdm import tqdm

    from analysis.engine.folders import check_out_dir, check_out_file
    from analysis.reports.sweep.build import build_report, check_request
    from analysis.reports.sweep.data import check_posterior, load

    started = time.perf_counter()
    out = args.out or Path(args.dir) / "report.html"
    if args.out is not None or Path(args.dir).is_dir():  # before reading anything
        flag = "--out" if args.out is not None else ""
        check_out_file(out, flag)
        check_out_dir(out.with_name(f"{out.stem}_tables"), flag)
    data = load(Path(args.dir), args.sweep)  # input errors before the progress bar
    check_request(data, args.reference, args.vendor, args.truth, args.width)
    check_posterior(data, args.posterior)
    with tqdm(
        total=STEPS, desc="report", unit="step", file=sys.stderr, disable=args.quiet, leave=False
    ) as bar:

        def progress(name: str) -> None:
            bar.set_postfix_str(name)
            bar.update(1)

        rep = build_report(
            args.dir,
            out,
            args.reference,
            args.vendor,
            args.sweep,
            progress,
            data=data,
            width=args.width,
            truth=args.truth,
            metric=args.metric,
        )
        bar.update(max(bar.total - bar.n, 0))
    print(
        f"wrote {rep.html_path} ({rep.html_path.stat().st_size / 1e3:,.0f} kB) and "
        f"{len(rep.csv_paths)} CSV tables in {rep.csv_paths[0].parent}/ "
        f"({time.perf_counter() - started:.1f} s)"
    )
    return 0
