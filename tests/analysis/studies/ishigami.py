"""The Ishigami function and its known answers, for the sensitivity tests.

    f(x) = sin x1 + a sin^2 x2 + b x3^4 sin x1,  a = 7, b = 0.1,  x_i uniform on [-pi, pi]

`ishigami_model` is the function a sensitivity `Study` runs instead of the simulator (its
`simulate`): module-level in a module with no test code, so worker processes unpickle
it by importing this light module. The known answers: the analytic Sobol' indices
(Ishigami and Homma 1990) and the exact Morris statistics on SALib's grid.
"""

from __future__ import annotations

import itertools
import math
import os
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from analysis.engine.design import RunSpec
    from sim.scenario import Scenario

A, B = 7.0, 0.1
NAMES = ("x1", "x2", "x3")
ISHIGAMI = {"num_vars": 3, "names": list(NAMES), "bounds": [[-math.pi, math.pi]] * 3}


def ishigami(x: np.ndarray) -> np.ndarray:
    """f at each row of x (points x 3), one outcome column."""
    y = np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])
    return y[:, None]


def ishigami_model(base: Scenario, spec: RunSpec) -> dict[str, float]:
    """One run of the Ishigami "model": the point's values are the spec's changes (plain
    names x1, x2, x3; the base scenario is not used). Outcomes: f, and pid (the process
    that ran it, so a test can see the runs ran in worker processes)."""
    x = np.array([[spec.changes[n] for n in NAMES]], dtype=float)
    return {"f": float(ishigami(x)[0, 0]), "pid": float(os.getpid())}


def ishigami_indices() -> tuple[list[float], list[float]]:
    """The analytic first-order and total indices of x1, x2, x3."""
    v1 = 0.5 * (1 + B * math.pi**4 / 5) ** 2
    v2 = A**2 / 8
    v13 = B**2 * math.pi**8 / 18 - B**2 * math.pi**8 / 50
    var = v1 + v2 + v13
    return [v1 / var, v2 / var, 0.0], [(v1 + v13) / var, v2 / var, v13 / var]


def morris_grid_values(levels: int = 4) -> dict[str, dict[str, float]]:
    """The exact Morris statistics of each parameter on SALib's grid of `levels` levels:
    every elementary effect (f(.., x_i + delta, ..) - f(..)) / delta a trajectory can take
    (x_i stepping from level k to level k + levels / 2, k < levels / 2; the other
    parameters on any level), equally weighted. Returns {name: {mu_star, mu, sigma}}
    (sigma: the population standard deviation of the effects)."""
    grid = np.linspace(-math.pi, math.pi, levels)
    half = levels // 2
    delta = levels / (2 * (levels - 1))  # the step on the unit scale, as SALib divides
    out = {}
    for i, name in enumerate(NAMES):
        effects = []
        for k in range(half):
            for others in itertools.product(grid, repeat=2):
                lo = list(others)
                lo.insert(i, grid[k])
                hi = list(others)
                hi.insert(i, grid[k + half])
                y = ishigami(np.array([lo, hi]))[:, 0]
                effects.append((y[1] - y[0]) / delta)
        e = np.array(effects)
        out[name] = {
            "mu_star": float(np.abs(e).mean()),
            "mu": float(e.mean()),
            "sigma": float(e.std()),
        }
    return out
