"""`python run.py discover SWEEP_DIR --when "EXPR"`: scenario discovery with PRIM.

    python run.py sweep scenarios/sweep_discover.toml --out results/sweeps
    python run.py discover results/sweeps --when \\
        "conversions.Challenger@mix=community > conversions.Challenger@mix=analyst_led"

The command line of analysis.studies.discover: it parses and prints; the study computes.
--out is checked before any work; a folder of it that does not exist yet is made when
the page is written.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from analysis.cli.options import add_out, add_quiet, int_arg
from analysis.studies.discover.spec import EXAMPLE, MAX_BOXES


def _density(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not 0 < v <= 1:
        raise argparse.ArgumentTypeError(f"--min-density must be a share in (0, 1], found {text!r}")
    return v


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `python run.py discover`."""
    parser.add_argument(
        "dir", type=Path, help="results folder of `run.py sweep --out` (or one sweep=NAME folder)"
    )
    parser.add_argument("--when", required=True, help=f"the condition per case, e.g. {EXAMPLE}")
    add_out(parser, help="HTML file to write (default: SWEEP/discovery.html)", required=False)
    parser.add_argument("--sweep", help="which sweep, when DIR holds several")
    parser.add_argument(
        "--boxes",
        type=int_arg("--boxes", maximum=MAX_BOXES),
        default=1,
        help="boxes to find (default 1)",
    )
    parser.add_argument(
        "--min-density",
        type=_density,
        help="report the widest box whose density reaches this share (default: the best "
        "balance of coverage and density)",
    )
    add_quiet(parser, help="(accepted for symmetry; nothing to show)")


def command(args: argparse.Namespace) -> int:
    """Evaluate the condition, run PRIM, write the page; print the boxes."""
    from analysis.engine.folders import check_out_file
    from analysis.errors import UsageError
    from analysis.studies.discover.cases import sweep_folder
    from analysis.studies.discover.conditions import ExprError
    from analysis.studies.discover.report import box_rule, write_outputs
    from analysis.studies.discover.run import discover
    from analysis.studies.discover.spec import Question

    started = time.perf_counter()
    sweep_dir = sweep_folder(Path(args.dir), args.sweep)
    out = args.out or sweep_dir / "discovery.html"
    check_out_file(out, "--out" if args.out else "")
    try:
        found = discover(sweep_dir, Question(args.when, args.boxes, args.min_density))
    except ExprError as exc:
        raise UsageError(f"--when {args.when!r}: {exc}") from None
    info = found.describe()
    written = write_outputs(info, Path(out))
    n, k = len(found.cases.y), found.holds
    print(
        f"{args.when}: holds in {k} of {n} cases ({100 * k / max(n, 1):.0f}%) of sweep {found.cases.sweep}"
    )
    if not found.boxes:
        print(f"it holds in {'every' if k == n else 'no'} case: no box to find")
    for b in info["boxes"]:
        rule = box_rule(b) or "(the whole space)"
        print(
            f"box {b['box']}: {rule}: coverage {b['coverage']:.2f}, density {b['density']:.2f} "
            f"(mass {b['mass']:.2f}, {b['cases']} cases)"
        )
    print(
        f"wrote {', '.join(str(p) for p in written[:1])} (+ json, csv) in {time.perf_counter() - started:.1f} s"
    )
    return 0
