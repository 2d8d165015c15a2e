"""The indices with SALib: sample -> evaluate -> analyze.

`analyse(problem, evaluate, outcomes, method, ...)` samples the parameter space (Saltelli's
scheme on a scrambled Sobol' sequence, or Morris trajectories on a grid), asks `evaluate`
for the outcomes at every point (any function of the points x parameters array returning
points x outcomes: the model on the engine, analysis.studies.sensitivity.run, or a test
function) and computes each outcome's indices, one row per parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from SALib.analyze import morris as morris_analysis
from SALib.analyze import sobol as sobol_analysis
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from analysis.studies.sensitivity.spec import DEFAULT_LEVELS, DEFAULT_RESAMPLES

#: the index columns of each method
COLUMNS = {
    "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
    "morris": ["mu_star", "mu_star_conf", "mu", "sigma"],
}


def sample(problem: dict, method: str, samples: int, seed: int, levels: int = 4) -> np.ndarray:
    """The points (rows) at which to evaluate, from SALib."""
    if method == "sobol":
        return sobol_sample.sample(problem, samples, calc_second_order=False, seed=seed)
    return morris_sample.sample(problem, samples, num_levels=levels, seed=seed)


def analyze_one(
    problem: dict,
    method: str,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    levels: int = 4,
    resamples: int = DEFAULT_RESAMPLES,
) -> pd.DataFrame:
    """The indices of one outcome, one row per parameter.

    sobol: S1, S1_conf, ST, ST_conf (conf: half-width of the 95% bootstrap interval);
    morris: mu_star, mu_star_conf, mu, sigma. An outcome that does not vary has
    indices 0; one missing somewhere has none (NaN)."""
    names = problem["names"]
    if not np.all(np.isfinite(y)) or np.var(y) == 0:
        fill = np.nan if not np.all(np.isfinite(y)) else 0.0
        df = pd.DataFrame({c: fill for c in COLUMNS[method]}, index=range(len(names)))
        df.insert(0, "parameter", names)
        return df
    if method == "sobol":
        res = sobol_analysis.analyze(
            problem, y, calc_second_order=False, num_resamples=resamples, seed=seed
        )
    else:
        res = morris_analysis.analyze(
            problem, x, y, num_resamples=resamples, num_levels=levels, seed=seed
        )
    df = pd.DataFrame({k: np.asarray(res[k], dtype=float) for k in COLUMNS[method]})
    df.insert(0, "parameter", names)
    return df


@dataclass
class Analysis:
    """What `analyse` found: the points, the outcomes there and the indices (long)."""

    method: str
    x: np.ndarray
    y: np.ndarray
    outcomes: tuple[str, ...]
    indices: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)


def analyse(
    problem: dict,
    evaluate: Callable[[np.ndarray], np.ndarray],
    outcomes: tuple[str, ...] | list[str],
    method: str = "sobol",
    samples: int = 64,
    seed: int = 0,
    levels: int = DEFAULT_LEVELS,
    resamples: int = DEFAULT_RESAMPLES,
) -> Analysis:
    """sample -> evaluate -> analyze. `evaluate(X)` returns one column per outcome (any
    function: the model on the engine, or a test function)."""
    x = sample(problem, method, samples, seed, levels)
    y = np.asarray(evaluate(x), dtype=float)
    if y.ndim == 1:
        y = y[:, None]
    if y.shape != (len(x), len(outcomes)):
        raise ValueError(f"evaluate returned shape {y.shape}, expected {(len(x), len(outcomes))}")
    frames = []
    for j, name in enumerate(outcomes):
        df = analyze_one(problem, method, x, y[:, j], seed, levels, resamples)
        df.insert(0, "outcome", name)
        frames.append(df)
    return Analysis(method, x, y, tuple(outcomes), pd.concat(frames, ignore_index=True))
