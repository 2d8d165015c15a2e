"""`python -m analysis.cli.kinds SCENARIO`: the target-kinds probe of
analysis.studies.calibrate.kinds (is a target emergent, or an input check?) as a table.

The command line of the probe: it parses and prints; the study computes.
"""

from __future__ import annotations

import argparse

from analysis.studies.calibrate.kinds import format_probe, format_slopes, input_slopes, probe_kinds


def main(argv: list[str] | None = None) -> int:
    """`python -m analysis.cli.kinds SCENARIO [--targets FILE] [--reps N]
    [--slope PATH=DELTA ...]`: the kinds probe's table, then each slope's."""
    from analysis.paths import SCENARIOS
    from analysis.studies.calibrate.targets import load_targets
    from sim.scenario import load_scenario

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("--targets", default=str(SCENARIOS / "targets.toml"))
    parser.add_argument("--reps", type=int, default=4)
    parser.add_argument("--buyers", type=int, default=None)
    parser.add_argument("--weeks", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--slope", action="append", default=[], metavar="PATH=DELTA",
                        help="also each target's slope in the input PATH (value + DELTA)")  # fmt: skip
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario)
    sizes = {"buyers.count": args.buyers, "weeks": args.weeks}
    scenario = scenario.with_changes({k: v for k, v in sizes.items() if v is not None})
    targets = load_targets(args.targets)
    result = probe_kinds(scenario, targets, args.reps, args.workers, progress=not args.quiet)
    print(format_probe(result), end="")
    for spec in args.slope:
        path, _, delta = spec.partition("=")
        slopes = input_slopes(scenario, targets, path, float(delta), args.reps, args.workers,
                              progress=not args.quiet)  # fmt: skip
        print()
        print(format_slopes(slopes), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
