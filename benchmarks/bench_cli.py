"""Start-up time of the commands: `run.py --help`, `run.py validate FILE` and the default
summary (`run.py summary`, the baseline over 10 replications), with and without compiled
bytecode.

    .venv/bin/python benchmarks/bench_cli.py             # ~2 minutes
    .venv/bin/python benchmarks/bench_cli.py --repeats 9

Each command runs in a fresh interpreter (as a user starts it) `--repeats` times and the
median wall-clock time is reported, with the modules it loaded from the heavy set (Mesa,
pandas, matplotlib, Dask), read with `python -X importtime`. Two conditions:

- compiled: the set-up compiles every installed package and the project to bytecode at
  install time (scripts/setup.sh: `uv pip install --compile-bytecode`, compileall);
- not compiled: as before that change, on a machine where PYTHONDONTWRITEBYTECODE is
  set: every start recompiles numpy, scipy, pandas, Mesa and the project from source. It
  is measured in a scratch virtual environment made here with uv, the project and its
  packages installed as the set-up did before (no bytecode), and a copy of run.py.

Target: `--help` and `validate` under 1 s. Writes benchmarks/results/cli.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
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
    "run.py summary (baseline, 10 replications)": ["summary", "scenarios/baseline.toml", "--quiet"],
}
#: commands that must start in under TARGET_S seconds
LIGHT = ("run.py --help", "run.py validate")
TARGET_S = 1.0


def wall_seconds(args: list[str], condition: tuple[list[str], dict[str, str]]) -> float:
    """Wall-clock seconds of `python run.py ARGS` in a fresh process (must succeed);
    `condition` is (the interpreter and run.py to start, the environment)."""
    command, env = condition
    started = time.perf_counter()
    subprocess.run(
        [*command, *args],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
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


def uncompiled(scratch: Path) -> list[str]:
    """A virtual environment in `scratch` with the project and its packages installed
    without bytecode (the set-up before it compiled them), and a copy of run.py that
    imports the project from there; returns the command that starts it."""
    uv = Path(sys.executable).parent / "uv"
    venv = scratch / "venv"
    python = venv / "bin" / "python"
    subprocess.run([str(uv), "venv", "-q", "--python", sys.executable, str(venv)], check=True)
    src = scratch / "src"  # a copy, so that the build leaves nothing in the checkout
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".venv", ".git", "results", "tests",
                                                              "__pycache__", "build"))  # fmt: skip
    subprocess.run([str(uv), "pip", "install", "-q", "--python", str(python), str(src)],
                   check=True)  # fmt: skip
    app = scratch / "app"
    app.mkdir()
    shutil.copy(ROOT / "run.py", app / "run.py")
    return [str(python), str(app / "run.py")]


def conditions(scratch: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """The two conditions (see the module doc): the command that starts run.py, and its
    environment (PYTHONDONTWRITEBYTECODE set in both)."""
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPYCACHEPREFIX", None)
    return {
        "compiled": ([sys.executable, str(ROOT / "run.py")], env),
        "not compiled": (uncompiled(scratch), env),
    }


def measure(repeats: int) -> list[tuple[str, str, float, float, float, list[str]]]:
    """(command, condition, median, min, max, heavy modules) for every pair."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="bjs-no-pyc-") as scratch:
        envs = conditions(Path(scratch))
        for label, argv in COMMANDS.items():
            heavy = heavy_imports(argv)
            for cond, how in envs.items():
                wall_seconds(argv, how)  # warm the file cache
                n = repeats if argv[0] != "summary" else max(3, repeats // 2)
                times = [wall_seconds(argv, how) for _ in range(n)]
                median = statistics.median(times)
                rows.append((label, cond, median, min(times), max(times), heavy))
                print(f"{label} [{cond}]: median {median:.2f} s "
                      f"(min {min(times):.2f}, max {max(times):.2f})", flush=True)  # fmt: skip
    return rows


def baseline_python() -> float:
    """Median seconds of a bare `python -c pass` (the floor of any command)."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    """Time every command in both conditions, print them, write benchmarks/results/cli.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per command (median)")
    args = parser.parse_args()
    rows = measure(args.repeats)
    floor = baseline_python()
    lines = [
        "# Commands: start-up time, with and without compiled bytecode",
        "",
        f"`.venv/bin/python benchmarks/bench_cli.py --repeats {args.repeats}` on "
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d')}: each command in a fresh "
        f"process with PYTHONDONTWRITEBYTECODE=1, median of {args.repeats} (the summary: "
        f"of {max(3, args.repeats // 2)}; wall clock, Python start-up included). Target: "
        f"`--help` and `validate` under {TARGET_S:.0f} s. A bare `python -c pass` takes "
        f"{floor:.2f} s here.",
        "",
        "- compiled: the set-up now compiles every installed package and the project to "
        "bytecode at install time (`uv pip install --compile-bytecode`, `compileall`);",
        "- not compiled: as before, where PYTHONDONTWRITEBYTECODE is set and the packages "
        "carry no bytecode: every start recompiles numpy, scipy, pandas, Mesa and the "
        "project (a scratch venv installed without bytecode, as the set-up did before).",
        "",
        "| command | bytecode | median (s) | min (s) | max (s) | heavy modules loaded |",
        "|---|---|---:|---:|---:|---|",
    ]
    for label, cond, median, low, high, heavy in rows:
        lines.append(
            f"| `{label}` | {cond} | {median:.2f} | {low:.2f} | {high:.2f} | "
            f"{', '.join(heavy) or 'none'} |"
        )
    lines += [
        "",
        "Mesa, pandas, matplotlib and Dask are imported only where a model or a figure is",
        "built: run.py and every subcommand module's `add_arguments` import none of them",
        "(tests/test_layering.py checks it), and `validate` reads scenario and study files",
        "with pydantic only.",
        "",
    ]
    OUT.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {OUT}")
    slow = [
        label
        for label, cond, median, *_ in rows
        if cond == "compiled" and label.startswith(LIGHT) and median >= TARGET_S
    ]
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
