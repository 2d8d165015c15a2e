"""The command line: summary | simulate | validate | sweep | report | attribution | calibrate |
dataloop | sensitivity | discover | optimize | viz.

    python run.py                                   # the baseline over 10 replications
    python run.py summary scenarios/X.toml --reps 30
    python run.py simulate scenarios/X.toml --seed 7 --weeks 52 --out results/x
    python run.py validate scenarios/X.toml

The parser and every subcommand live in analysis/cli/ (one module per subcommand); this
file only starts them.
"""

from __future__ import annotations

import sys

from analysis.cli.main import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
