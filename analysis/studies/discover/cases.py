"""A sweep folder read into cases: which sweep, its uncertainties, and the condition per
case (one replication at one point of the uncertainties, the compared variants side by
side).

    sweep_dir = sweep_folder(Path("results/sweeps"), None)   # the one sweep=NAME folder
    cases = build_cases(sweep_dir, "roi.A@mix=x > roi.A@mix=y")

A part file that cannot be read is named with its repair (the sweep run again moves it to
quarantine/ and runs its runs again); a condition that does not fit the sweep is an
ExprError.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.engine.folders import short
from analysis.engine.parts import combine_parts, part_files
from analysis.engine.results import sweep_dirs
from analysis.errors import UsageError
from analysis.studies.discover.conditions import ExprError, Ref, evaluate, parse, refs
from analysis.studies.sensitivity.outcomes import outcome_problem, wide_outcomes


@dataclass
class Cases:
    """The condition per case and the uncertainties (x) of each case."""

    x: pd.DataFrame
    y: np.ndarray
    uncertainties: list[dict[str, Any]]
    selected: list[str]
    dropped: int
    sweep: str


# ----------------------------------------------------------------------------- the folder
def sweep_folder(path: Path, name: str | None = None) -> Path:
    """The sweep=NAME folder to explore under `path` (the --out folder of `run.py sweep`,
    or one sweep=NAME folder); `name` chooses one when it holds several.

    Raises:
        UsageError: no such folder, no sweep results, no sweep `name`, or several sweeps
            and no name.
    """
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


def _rerun_advice(sweep_dir: Path, info: dict[str, Any]) -> str:
    """How to repair a damaged sweep folder: run the same sweep again."""
    source = info.get("source") or "FILE"
    return (
        f"run `run.py sweep {source} --out {short(sweep_dir.parent)}` again: it moves the "
        "damaged chunk to quarantine/ and runs its runs again"
    )


def _sweep_info(sweep_dir: Path) -> dict[str, Any]:
    """The sweep's sweep.json (its name, axes and source file)."""
    f = sweep_dir / "sweep.json"
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(
            f"{short(f)}: cannot be read ({type(exc).__name__}); run the sweep again "
            f"(`run.py sweep FILE --out {short(sweep_dir.parent)}`)"
        ) from None


def _table(sweep_dir: Path, table: str, info: dict[str, Any]) -> pd.DataFrame:
    """One table of the sweep folder, as analysis.engine.parts.load_table reads it; a
    part file that cannot be read is a UsageError naming it and the repair."""
    parts = {}
    for f in part_files(sweep_dir, table):
        try:
            parts[f.name] = pd.read_parquet(f)
        except Exception as exc:  # noqa: BLE001 - any failure to read is damage
            raise UsageError(
                f"{short(f)}: cannot be read ({type(exc).__name__}): the sweep folder is "
                f"damaged; {_rerun_advice(sweep_dir, info)}"
            ) from None
    return combine_parts(sweep_dir, table, parts, None)


# ----------------------------------------------------------------------------- the cases
def _value_matches(series: pd.Series, value: str, numeric: bool):
    if numeric:
        try:
            return series.astype(float) == float(value)
        except ValueError:
            return series.astype(float) != series.astype(float)  # nothing matches
    return series.astype(str) == value


def _selected_axes(
    the_refs: list[Ref], axes: dict[str, Any], vendors: tuple[str, ...]
) -> list[str]:
    """The axes the condition compares: every outcome known, every axis it selects in the
    sweep, and selected by each of its outcomes."""
    for r in the_refs:
        problem = outcome_problem(r.name, vendors)
        if problem:
            raise ExprError(problem)
    selected: list[str] = []
    for r in the_refs:
        for a, _ in r.selectors:
            if a not in axes:
                raise ExprError(
                    f"{r.text}: the sweep has no axis {a!r}; axes: {', '.join(axes) or 'none'}"
                )
            if a not in selected:
                selected.append(a)
    for r in the_refs:
        missing = [a for a in selected if a not in dict(r.selectors)]
        if missing:
            a = missing[0]
            raise ExprError(
                f"{r.text} names no value of axis {a!r} (another outcome does); write "
                f"{r.name}@{a}=VALUE so both sides compare the same case"
            )
    return selected


def build_cases(sweep_dir: Path, text: str) -> Cases:
    """Read a sweep folder and evaluate the condition per case.

    Raises:
        ExprError: the condition names an unknown outcome, axis or value, leaves an axis
            unselected, or the sweep has no uncertainty to explore.
        UsageError: the folder is damaged (a part file or sweep.json cannot be read).
    """
    node = parse(text)
    info = _sweep_info(sweep_dir)
    axes = {a["name"]: a for a in info["axes"]}
    runs = _table(sweep_dir, "runs", info)
    if not len(runs):
        raise ExprError(f"{sweep_dir}: no runs stored yet; run the sweep first")
    runs = runs[runs["status"] == "ok"]
    vendor_rows = _table(sweep_dir, "vendors", info)
    # the vendors as the runs name them ([sweep.set] may rename one)
    vendors = tuple(dict.fromkeys(vendor_rows["vendor"])) if len(vendor_rows) else ()
    the_refs = refs(node)
    selected = _selected_axes(the_refs, axes, vendors)
    uncertain = [a for a in axes if a not in selected]
    if not uncertain:
        raise ExprError(
            f"the sweep {info['name']!r} varies only {', '.join(selected)}, which the "
            "condition compares: discovery needs other sampled or grid axes (the "
            "uncertainties), e.g. {low =, high =} axes with samples in the sweep file"
        )
    wide = wide_outcomes(runs, vendor_rows)
    numeric = {a: runs[f"p:{a}"].dtype.kind in "fiu" for a in axes}
    for r in the_refs:
        for a, v in r.selectors:
            if not _value_matches(runs[f"p:{a}"], v, numeric[a]).any():
                have = sorted({str(x) for x in runs[f"p:{a}"]})
                shown = ", ".join(have[:12]) + (" ..." if len(have) > 12 else "")
                raise ExprError(f"{r.text}: axis {a!r} has no value {v!r}; values: {shown}")
    keys = ["replication"] + [f"p:{a}" for a in uncertain]
    cases = runs[keys].drop_duplicates().set_index(keys).sort_index()
    values = {}
    for r in the_refs:
        sub = runs
        for a, v in r.selectors:
            sub = sub[_value_matches(sub[f"p:{a}"], v, numeric[a])]
        col = wide[r.name] if r.name in wide else None
        if col is None:
            raise ExprError(f"{r.name}: not in this sweep's tables")
        s = sub.assign(_v=col.reindex(sub["run_id"].astype(str)).to_numpy()).set_index(keys)["_v"]
        s = s[~s.index.duplicated()]
        values[r] = s.reindex(cases.index).to_numpy(dtype=float)
    ok = np.ones(len(cases), dtype=bool)
    for v in values.values():
        ok &= np.isfinite(v)
    y = np.asarray(evaluate(node, {r: v[ok] for r, v in values.items()}), dtype=bool)
    if y.ndim == 0:
        y = np.full(int(ok.sum()), bool(y))
    x = cases.reset_index().drop(columns="replication")[ok].reset_index(drop=True)
    x.columns = [c.removeprefix("p:") for c in x.columns]
    for a in uncertain:
        if numeric[a]:
            x[a] = x[a].astype(float)
        else:
            x[a] = x[a].astype(str).astype("category")
    return Cases(
        x, y, _describe(x, uncertain, axes, numeric), selected, int((~ok).sum()), info["name"]
    )


def _describe(
    x: pd.DataFrame, uncertain: list[str], axes: dict[str, Any], numeric: dict[str, bool]
) -> list[dict[str, Any]]:
    """Each uncertainty as the cases explore it: its range, or its values."""
    described = []
    for a in uncertain:
        kind = axes[a]["kind"]
        if numeric[a]:
            described.append(
                {"name": a, "kind": kind, "low": float(x[a].min()), "high": float(x[a].max())}
            )
        else:
            described.append({"name": a, "kind": kind, "values": sorted(map(str, set(x[a])))})
    return described
