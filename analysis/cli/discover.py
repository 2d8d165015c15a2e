"""`python run.py discover SWEEP_DIR --when "EXPR"`: scenario discovery with PRIM.

The command line of analysis.studies.discover: it parses and prints; the study computes.
"""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

from analysis.studies.discover.study import (
    EXAMPLE,
    MAX_BOXES,
    ExprError,
    build_cases,
    find_boxes,
    limit_text,
    results_json,
    write_outputs,
)


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
    from analysis.cli.options import add_out, add_quiet, int_arg

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


def _sweep_dir(path: Path, name: str | None) -> Path:
    from analysis.engine.results import sweep_dirs
    from analysis.errors import UsageError

    if not path.is_dir():
        raise UsageError(f"{path}: no such folder; give the --out folder of `run.py sweep`")
    dirs = [d for d in sweep_dirs(path) if (d / "sweep.json").is_file()]
    if name is not None:
        dirs = [d for d in dirs if d.name == f"sweep={name}"]
        if not dirs:
            have = ", ".join(d.name.removeprefix("sweep=") for d in sweep_dirs(path)) or "none"
            raise UsageError(f"{path}: --sweep {name!r} not found; sweeps: {have}")
    if not dirs:
        raise UsageError(
            f"{path}: no sweep results (no sweep=NAME/sweep.json); run `run.py sweep FILE --out {path}` first"
        )
    if len(dirs) > 1:
        have = ", ".join(d.name.removeprefix("sweep=") for d in dirs)
        raise UsageError(f"{path}: holds several sweeps ({have}); choose one with --sweep NAME")
    return dirs[0]


def command(args: argparse.Namespace) -> int:
    """Evaluate the condition, run PRIM, write the page; print the boxes."""
    from analysis.engine.folders import check_out_file
    from analysis.errors import UsageError

    started = time.perf_counter()
    sweep_dir = _sweep_dir(Path(args.dir), args.sweep)
    out = args.out or sweep_dir / "discovery.html"
    check_out_file(out, "--out" if args.out else "")
    try:
        cases = build_cases(sweep_dir, args.when)
    except ExprError as exc:
        raise UsageError(f"--when {args.when!r}: {exc}") from None
    n, k = len(cases.y), int(cases.y.sum())
    boxes = find_boxes(cases.x, cases.y, args.boxes, args.min_density) if 0 < k < n else []
    info = results_json(args.when, cases, boxes, sweep_dir)
    written = write_outputs(info, Path(out))
    print(
        f"{args.when}: holds in {k} of {n} cases ({100 * k / max(n, 1):.0f}%) of sweep {cases.sweep}"
    )
    if not boxes:
        print(f"it holds in {'every' if k == n else 'no'} case: no box to find")
    for b in info["boxes"]:
        rule = " and ".join(limit_text(lim) for lim in b["limits"]) or "(the whole space)"
        print(
            f"box {b['box']}: {rule}: coverage {b['coverage']:.2f}, density {b['density']:.2f} "
            f"(mass {b['mass']:.2f}, {b['cases']} cases)"
        )
    print(
        f"wrote {', '.join(str(p) for p in written[:1])} (+ json, csv) in {time.perf_counter() - started:.1f} s"
    )
    return 0
