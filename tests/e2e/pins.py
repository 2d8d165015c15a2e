"""Pinned commands: what a set of small commands prints and writes, normalised, so that a
refactor can show it changes no behaviour.

`capture(name, workdir)` runs one pinned command (and the commands it builds on) in a
fresh interpreter and returns {"stdout": ..., "files": {path: text or digest}}:
- timings (`3.2 s`, `runs/min`), the work folder and the project root are replaced by
  placeholders; nothing else is touched;
- every table of an experiment folder (`table=NAME/part-*.parquet`) is read whole, its rows
  sorted, the per-run `elapsed_s` dropped, and digested: the chunking of runs into part
  files is not behaviour;
- figures embedded in HTML pages become `<png>` (their pixels depend on the installed
  fonts); PNG files are listed, not read;
- JSON files lose keys that record time, host or process.

The expected captures live in tests/e2e/pins/NAME.json. Record them (before a change) with
    BJS_RECORD_PINS=1 .venv/bin/python -m pytest tests/e2e/test_pinned_outputs.py
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

from tests import builders

from .cli import ROOT, cli

PINS = Path(__file__).with_name("pins")
SCEN = builders.SCENARIOS

#: JSON keys whose values record when, where or how long, not what
VOLATILE_KEYS = {
    "elapsed_s",
    "startup_s",
    "overhead_s",
    "started",
    "finished",
    "written_at",
    "created",
    "host",
    "pid",
    "command",
    "seconds",
}
#: text files kept whole in the pin (others are digested)
TEXT_LIMIT = 40_000


# ----------------------------------------------------------------------------- normalising
def normalise(text: str, work: Path) -> str:
    """Text with the work folder, the project root and timings replaced."""
    text = text.replace(str(work), "<work>").replace(str(ROOT), "<root>")
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "<png>", text)
    text = re.sub(r"\d+(?:\.\d+)?\s?(?:s|ms|min)\b(?! ?=)", "<t>", text)
    text = re.sub(r"runs/min=[^,\]\s]*", "runs/min=<n>", text)
    text = re.sub(r"[\d,.]+ runs/min", "<n> runs/min", text)
    text = re.sub(r"\(\d+ kB\)", "(<n> kB)", text)
    return text


def _digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def _json(value, work: Path):
    if isinstance(value, dict):
        return {k: _json(v, work) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [_json(v, work) for v in value]
    if isinstance(value, str):
        return normalise(value, work)
    return value


def _table(files: list[Path]) -> str:
    """The rows of a table's part files as one canonical CSV text (sorted, no timings)."""
    import pandas as pd

    frames = [pd.read_parquet(f) for f in files]
    frames = [f for f in frames if len(f.columns)]
    if not frames:
        return ""
    df = pd.concat(frames, ignore_index=True)
    df = df.drop(columns=[c for c in ("elapsed_s",) if c in df])
    df = df[sorted(df.columns)]
    df = df.sort_values(list(df.columns), kind="stable", na_position="first")
    buf = io.StringIO()
    df.to_csv(buf, index=False, float_format="%.12g")
    return buf.getvalue()


def snapshot(folder: Path, work: Path) -> dict[str, str]:
    """Every file under `folder`, normalised (see the module doc), by relative path."""
    out: dict[str, str] = {}
    parts: dict[str, list[Path]] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if path.name.endswith(".lock") or "/quarantine/" in f"/{rel}":
            continue
        if path.parent.name.startswith("table=") and path.suffix == ".parquet":
            parts.setdefault(path.parent.relative_to(folder).as_posix(), []).append(path)
            continue
        if path.suffix == ".png":
            out[rel] = "<png file>"
        elif path.suffix == ".parquet":
            out[rel] = _digest(_table([path]))
        elif path.suffix == ".json":
            data = _json(json.loads(path.read_text(encoding="utf-8")), work)
            out[rel] = _digest(json.dumps(data, sort_keys=True))
        else:
            text = normalise(path.read_text(encoding="utf-8"), work)
            out[rel] = text if len(text) <= TEXT_LIMIT else _digest(text)
    for table, files in parts.items():
        out[f"{table}/*.parquet"] = _digest(_table(files))
    return out


# ----------------------------------------------------------------------------- the commands
def _run(work: Path, *args: str) -> str:
    proc = cli(*args, cwd=work)
    if proc.returncode != 0:
        raise AssertionError(f"run.py {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return normalise(proc.stdout, work)


def pin_summary(work: Path) -> dict:
    out = _run(work, "summary", str(SCEN / "baseline.toml"), "--reps", "3", "--buyers", "600",
               "--weeks", "26", "--workers", "2", "--quiet")  # fmt: skip
    return {"stdout": out, "files": {}}


def pin_simulate(work: Path) -> dict:
    out = _run(work, "simulate", str(SCEN / "baseline.toml"), "--seed", "3", "--buyers", "600",
               "--weeks", "26", "--out", str(work / "sim"), "--quiet")  # fmt: skip
    return {"stdout": out, "files": snapshot(work / "sim", work)}


def pin_validate(work: Path) -> dict:
    files = sorted(str(p) for p in SCEN.glob("*.toml"))
    return {"stdout": _run(work, "validate", *files), "files": {}}


def pin_sweep_report(work: Path) -> dict:
    f = builders.write(work, builders.grid_sweep("pinsweep"), "sweep.toml")
    out = _run(work, "sweep", str(f), "--out", str(work / "sw"), "--workers", "2", "--quiet")
    out += _run(work, "report", str(work / "sw"), "--out", str(work / "sw" / "report.html"),
                "--quiet")  # fmt: skip
    out += _run(work, "report", str(work / "sw"), "--out", str(work / "sw" / "revenue.html"),
                "--metric", "revenue", "--vendor", "CommunityFirst", "--quiet")  # fmt: skip
    return {"stdout": out, "files": snapshot(work / "sw", work)}


def pin_attribution(work: Path) -> dict:
    out = _run(work, "attribution", str(SCEN / "attribution_null_channel.toml"), "--reps", "2",
               "--buyers", "300", "--weeks", "26", "--out", str(work / "lab" / "lab.html"),
               "--workers", "2", "--quiet")  # fmt: skip
    return {"stdout": out, "files": snapshot(work / "lab", work)}


def pin_calibrate(work: Path) -> dict:
    t = builders.write(work, builders.targets_file(), "targets.toml")
    out = _run(work, "calibrate", str(SCEN / "baseline.toml"), "--targets", str(t),
               "--free", "choice.status_quo=1:3", "--buyers", "400", "--weeks", "30",
               "--replications", "2", "--validation", "2", "--max-evals", "4",
               "--out", str(work / "cal"), "--workers", "2", "--quiet")  # fmt: skip
    return {"stdout": out, "files": snapshot(work / "cal", work)}


def pin_optimize(work: Path) -> dict:
    f = builders.write(work, builders.optimize_study("pinopt"), "opt.toml")
    out = _run(work, "optimize", str(f), "--out", str(work / "opt"), "--workers", "2", "--quiet")
    return {"stdout": out, "files": snapshot(work / "opt", work)}


def pin_sensitivity(work: Path) -> dict:
    f = builders.write(work, builders.sensitivity_study("pinsens"), "sens.toml")
    out = _run(work, "sensitivity", str(f), "--out", str(work / "sobol"), "--workers", "2",
               "--quiet")  # fmt: skip
    out += _run(work, "sensitivity", str(f), "--out", str(work / "morris"), "--method", "morris",
                "--samples", "2", "--workers", "2", "--quiet")  # fmt: skip
    files = {f"sobol/{k}": v for k, v in snapshot(work / "sobol", work).items()}
    files |= {f"morris/{k}": v for k, v in snapshot(work / "morris", work).items()}
    return {"stdout": out, "files": files}


def pin_dataloop(work: Path) -> dict:
    f = builders.write(work, builders.dataloop_study("pinloop"), "loop.toml")
    out = _run(work, "dataloop", str(f), "--out", str(work / "loop"), "--workers", "2", "--quiet")
    return {"stdout": out, "files": snapshot(work / "loop", work)}


def pin_discover(work: Path) -> dict:
    f = builders.write(work, builders.sampled_sweep("pindisc"), "disc.toml")
    out = _run(work, "sweep", str(f), "--out", str(work / "disc"), "--workers", "2", "--quiet")
    out += _run(work, "discover", str(work / "disc"), "--when",
                "conversions.CommunityFirst@mix=forums > conversions.CommunityFirst@mix=analysts",
                "--out", str(work / "disc" / "discovery.html"))  # fmt: skip
    return {"stdout": out, "files": snapshot(work / "disc", work)}


PINNED: dict[str, Callable[[Path], dict]] = {
    "summary": pin_summary,
    "simulate": pin_simulate,
    "validate": pin_validate,
    "sweep_report": pin_sweep_report,
    "attribution": pin_attribution,
    "calibrate": pin_calibrate,
    "optimize": pin_optimize,
    "sensitivity": pin_sensitivity,
    "dataloop": pin_dataloop,
    "discover": pin_discover,
}
