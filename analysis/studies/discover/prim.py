"""PRIM boxes via the EMA Workbench (`ema_workbench.analysis.prim.Prim`): each box peeled
down from the whole uncertainty space, the point of its peeling trajectory that is
reported (`choose`), and its restricted dimensions with quasi-p values.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "ipyparallel not installed": not used here
    from ema_workbench.analysis import prim
logging.getLogger("EMA").setLevel(logging.WARNING)


@dataclass
class Box:
    """One PRIM box: its chosen point on the peeling trajectory and the limits there."""

    number: int
    chosen: int
    coverage: float
    density: float
    mass: float
    n: int
    k: int
    limits: list[dict[str, Any]]  # restricted dimensions: name, low, high, full range, qp
    trajectory: pd.DataFrame


def choose(traj: pd.DataFrame, min_density: float | None) -> int:
    """Which point of a peeling trajectory to report: with `min_density`, the box of
    highest coverage whose density reaches it (else the densest); without, the box with
    the best balance of coverage and density (their harmonic mean)."""
    cov = traj["coverage"].to_numpy(float)
    den = traj["density"].to_numpy(float)
    if min_density is not None:
        ok = np.flatnonzero(den >= min_density)
        if len(ok):
            return int(ok[np.argmax(cov[ok])])
        return int(np.argmax(den))
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(cov + den > 0, 2 * cov * den / (cov + den), 0.0)
    return int(np.argmax(f))


def find_boxes(
    x: pd.DataFrame,
    y: np.ndarray,
    boxes: int = 1,
    min_density: float | None = None,
    peel_alpha: float = 0.05,
    mass_min: float = 0.05,
) -> list[Box]:
    """Up to `boxes` PRIM boxes (each after removing the cases of the ones before); a
    later box no denser than the whole space is not reported."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the library's own pandas deprecations
        p = prim.Prim(x, np.asarray(y, dtype=int), peel_alpha=peel_alpha, mass_min=mass_min)
    out: list[Box] = []
    for number in range(1, boxes + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            box = p.find_box()
        if box is None:
            break
        traj = box.peeling_trajectory.copy()
        i = choose(traj, min_density)
        box.select(i)
        row = traj.iloc[i]
        if out and float(row["density"]) <= float(np.mean(y)):
            break  # a later box no denser than the whole space: not reported
        out.append(
            Box(
                number,
                i,
                float(row["coverage"]),
                float(row["density"]),
                float(row["mass"]),
                int(row["n"]),
                int(row["k"]),
                _limits(box.box_lims[i], p.box_init, box.p_values[i]),
                traj,
            )
        )
        if float(row["density"]) <= float(np.mean(y)):
            break  # no better than the whole space: no further boxes
    return out


def _limits(lim: pd.DataFrame, init: pd.DataFrame, qp: dict[str, Any]) -> list[dict[str, Any]]:
    """The box's restricted dimensions: a range cut (low, high and the full range) or a
    subset of categories, each with its quasi-p values."""
    limits = []
    for col in lim.columns:
        lo, hi = lim[col].iloc[0], lim[col].iloc[1]
        flo, fhi = init[col].iloc[0], init[col].iloc[1]
        if isinstance(lo, set):
            if lo == flo:
                continue
            limits.append(
                {
                    "name": col,
                    "values": sorted(map(str, lo)),
                    "all": sorted(map(str, flo)),
                    "qp": [float(v) for v in qp.get(col, [math.nan])] if col in qp else [],
                }
            )
            continue
        if lo == flo and hi == fhi:
            continue
        limits.append(
            {
                "name": col,
                "low": float(lo),
                "high": float(hi),
                "full_low": float(flo),
                "full_high": float(fhi),
                "qp": [float(v) for v in qp.get(col, [])],
            }
        )
    return limits
