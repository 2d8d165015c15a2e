"""Start-up time of the light commands: `run.py --help` and `run.py validate FILE`.

    .venv/bin/python benchmarks/bench_cli.py             # ~10 s
    .venv/bin/python benchmarks/bench_cli.py --repeats 9

Each command runs in a fresh interpreter (as a user starts it) `--repeats` times; the
median wall-clock time is reported, with the modules it loaded from the heavy set (Mesa,
pandas, matplotlib, Dask), read with `python -X importtime`. Target: under 1 s each.
Writes benchmarks/results/cli.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "results" / "cli.md"
HEAVY = ("mesa", "pandas", "matplotlib", "dask", "distributed")
COMMANDS: dict[str, list[str]] = {
    "run.py --help": ["--help"],
    "run.py validate scenarios/baseline.toml": ["validate", "scenarios/baseline.toml"],
    "run.py validate scenarios/sweep_sensitivity.toml": [
        "validate",
        "scenarios/sweep_sensitivity.toml",
    ],
}
TARGET_S = 1.0


def wall_seconds(args: list[str]) -> float:
    """Wall-clock seconds of `python run.py ARGS` in a fresh process (must succeed)."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def heavy_imports(args: list[str]) -> list[str]:
    """The heavy top-level packages the command imports (from -X importtime)."""
    r = subprocess.run(
        [sys.executable, "-X", "importtime", str(ROOT / "run.py"), *args],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    found = set()
    for line in r.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip().split(".")[0]
            if name in HEAVY:
                found.add(name)
    return sorted(found)


def baseline_python() -> float:
    """Median seconds of a bare `python -c pass` (the floor of any command)."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    """Time every command, print the table and write benchmarks/results/cli.md."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per command (median)")
    args = parser.parse_args()
    rows = []
    for label, argv in COMMANDS.items():
        wall_seconds(argv)  # warm the file cache
        times = [wall_seconds(argv) for _ in range(args.repeats)]
        median = statistics.median(times)
        heavy = heavy_imports(argv)
        rows.append((label, median, min(times), max(times), heavy))
        print(f"{label}: median {median:.2f} s (min {min(times):.2f}, max {max(times):.2f})")
    floor = baseline_python()
    lines = [
        "# Light commands: start-up time",
        "",
        f"`.venv/bin/python benchmarks/bench_cli.py --repeats {args.repeats}` on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}: each command in a fresh process, median of "
        f"{args.repeats} (wall clock, Python start-up included). Target: under "
        f"{TARGET_S:.0f} s. A bare `python -c pass` takes {floor:.2f} s here.",
        "",
        "| command | median (s) | min (s) | max (s) | heavy modules loaded |",
        "|---|---:|---:|---:|---|",
    ]
    for label, median, low, high, heavy in rows:
        lines.append(
            f"| `{label}` | {median:.2f} | {low:.2f} | {high:.2f} | {', '.join(heavy) or 'none'} |"
        )
    lines += [
        "",
        "Mesa, pandas, matplotlib and Dask are imported only where a model or a figure is",
        "built: run.py and every subcommand module's `add_arguments` import none of them",
        "(tests/test_layering.py checks it), and `validate` reads scenario and sweep",
        "files with pydantic only (a sweep's run count needs no sampling, so no scipy).",
        "",
    ]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {OUT}")
    slow = [label for label, median, *_ in rows if median >= TARGET_S]
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
