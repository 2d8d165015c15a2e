"""A posterior sample on disk (Parquet) and the parameter sets drawn from it.

The file holds one row per particle: a column per parameter and its normalised `weight`.
Its schema metadata (key `bjs_posterior`) keeps the priors (what each parameter changes
in a scenario, sim/scenario/priors.py), the scenario and targets it was fitted to, and
how (generations, final epsilon). So a posterior applies to any scenario that has the
fields its priors name: `Posterior.changes(scenario, values)` expands them against it.

Answers across plausible markets: replication r of a study draws ONE parameter set,
`Posterior.draw(r, seed)`, from a generator seeded by (the study's seed, r) alone, so
every strategy of replication r gets the same set (pairing holds) and a rerun draws the
same sets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import ScenarioError
from sim.scenario import Scenario
from sim.scenario.priors import Prior

META_KEY = b"bjs_posterior"
#: the generator stream of replication draws (distinct from every other use of the seed)
DRAW_STREAM = 0x9057E


@dataclass(frozen=True)
class Posterior:
    """A weighted posterior sample (see the module doc)."""

    source: str
    draws: pd.DataFrame
    weights: np.ndarray
    priors: tuple[Prior, ...]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.priors)

    @property
    def effective_size(self) -> float:
        """Kish's effective sample size of the weights, 1 / sum(w^2): how many equally
        weighted particles the sample is worth."""
        return float(1.0 / np.sum(self.weights**2))

    def draw(self, replication: int, seed: int) -> dict[str, float]:
        """Replication `replication`'s parameter set: one particle drawn by weight from a
        generator seeded by (seed, replication) only."""
        rng = np.random.default_rng([int(seed) % 2**63, DRAW_STREAM, int(replication)])
        i = int(rng.choice(len(self.weights), p=self.weights))
        return {n: float(self.draws[n].iloc[i]) for n in self.names}

    def resample(self, n: int, seed: int) -> list[dict[str, float]]:
        """`n` parameter sets drawn by weight (with replacement), reproducibly."""
        return [self.draw(r, seed) for r in range(n)]

    def changes(self, scenario: Scenario, values: dict[str, float]) -> dict[str, Any]:
        """The scenario changes of one parameter set, expanded against `scenario`."""
        from analysis.studies.calibrate.priors import Parameters

        with_priors = scenario.with_changes(
            {"calibration.priors": [p.model_dump(exclude_none=True) for p in self.priors]}
        )
        return Parameters.of(with_priors).changes(values)

    def quantiles(self, qs: tuple[float, ...] = (0.05, 0.5, 0.95)) -> pd.DataFrame:
        """Weighted quantiles of each parameter (rows: parameters; columns: qs)."""
        rows = {
            n: weighted_quantiles(self.draws[n].to_numpy(float), self.weights, qs)
            for n in self.names
        }
        return pd.DataFrame.from_dict(rows, orient="index", columns=list(qs))


def weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: tuple[float, ...]) -> list[float]:
    """Quantiles of a weighted sample (the inverse of its weighted CDF, midpoint rule)."""
    order = np.argsort(x, kind="stable")
    x, w = np.asarray(x, float)[order], np.asarray(w, float)[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return [float(np.interp(q, cdf, x)) for q in qs]


def write_posterior(
    path: str | Path, draws: pd.DataFrame, weights: np.ndarray, priors: tuple[Prior, ...],
    meta: dict[str, Any],
) -> Path:  # fmt: skip
    """Write a posterior sample (atomically: a temporary name, then a rename)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    frame = draws[[p.name for p in priors]].astype(float).copy()
    frame["weight"] = np.asarray(weights, float) / float(np.sum(weights))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    info = {**meta, "priors": [p.model_dump(exclude_none=True) for p in priors]}
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), META_KEY: json.dumps(info).encode()}
    )
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)
    return path


def load_posterior(path: str | Path) -> Posterior:
    """Read a posterior file.

    Raises:
        ScenarioError: one line naming the file: missing, not Parquet, or not a
            posterior written by `run.py calibrate --method abc`.
    """
    import pyarrow.parquet as pq

    path = Path(path)
    if not path.is_file():
        raise ScenarioError(
            str(path), "--posterior", "no such file; give the posterior.parquet a "
            "`run.py calibrate --method abc` wrote",
        )  # fmt: skip
    try:
        table = pq.read_table(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is one line
        raise ScenarioError(str(path), "--posterior", f"not a Parquet file ({exc})") from None
    raw = (table.schema.metadata or {}).get(META_KEY)
    if raw is None:
        raise ScenarioError(
            str(path), "--posterior", "not a posterior (no priors in its metadata); give "
            "the posterior.parquet a `run.py calibrate --method abc` wrote",
        )  # fmt: skip
    info = json.loads(raw)
    priors = tuple(Prior.model_validate(p) for p in info.pop("priors"))
    frame = table.to_pandas()
    missing = [p.name for p in priors if p.name not in frame.columns] + (
        [] if "weight" in frame.columns else ["weight"]
    )
    if missing or not len(frame):
        raise ScenarioError(
            str(path), "--posterior", f"a damaged posterior (missing {missing or 'rows'})"
        )
    w = frame["weight"].to_numpy(float)
    if not np.all(np.isfinite(w)) or w.min() < 0 or w.sum() <= 0:
        raise ScenarioError(str(path), "--posterior", "a damaged posterior (bad weights)")
    return Posterior(str(path), frame[[p.name for p in priors]], w / w.sum(), priors, info)
