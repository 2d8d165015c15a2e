"""A posterior's parameter sets as a design's per-replication draws (the
analysis.engine.design.Draws a run table takes).

Replication r's set is `Posterior.draw(r, seed)` (seeded by the study's seed and r alone:
every variant of replication r gets it, and a rerun draws it again) and its scenario
changes are `Posterior.changes(scenario, values)`, expanded against the study's BASE
scenario: a scale prior multiplies the base scenario's own value. A variant's own
settings (a strategy, an axis, `[sweep.set]`) are applied after the draw and win.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.errors import ScenarioError

if TYPE_CHECKING:
    from analysis.studies.calibrate.posterior import Posterior
    from sim.scenario import Scenario

FLAG = "--posterior"


@dataclass
class PosteriorDraws:
    """Replication r -> (drawn values, the scenario changes they make), cached per
    distinct parameter set. `sha256` identifies the file's content (what a sweep folder
    records, and `run.py report --posterior` compares)."""

    posterior: Posterior
    scenario: Scenario
    seed: int
    sha256: str = ""
    _changes: dict[tuple[float, ...], dict[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def source(self) -> str:
        return self.posterior.source

    @property
    def names(self) -> tuple[str, ...]:
        return self.posterior.names

    def at(self, replication: int) -> tuple[dict[str, float], dict[str, Any]]:
        """Replication `replication`'s parameter set and its scenario changes."""
        values = self.posterior.draw(replication, self.seed)
        key = tuple(values[n] for n in self.names)
        if key not in self._changes:
            self._changes[key] = self.posterior.changes(self.scenario, values)
        return values, dict(self._changes[key])

    def describe(self) -> dict[str, Any]:
        """What a study's set-up records of its posterior (sweep.json, optimize.json)."""
        return {
            "file": self.source,
            "sha256": self.sha256,
            "parameters": list(self.names),
            "particles": len(self.posterior.weights),
            "seed": self.seed,
        }


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (a posterior's identity, wherever it lies)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_draws(path: str | Path, scenario: Scenario, seed: int) -> PosteriorDraws:
    """Read a posterior file and check that it applies to `scenario` (every field its
    priors change exists there, and the first drawn set gives a valid scenario).

    Raises:
        ScenarioError: one line naming the file and the fix (a missing or unreadable
            file, not a posterior, or priors the scenario has no fields for).
    """
    from analysis.studies.calibrate.posterior import load_posterior

    post = load_posterior(path)
    draws = PosteriorDraws(post, scenario, int(seed), file_sha256(path))
    try:
        _values, changes = draws.at(0)
        scenario.with_changes(changes)
    except ScenarioError as exc:
        raise ScenarioError(
            str(path), FLAG, f"does not apply to scenario {scenario.name!r} ({exc.problem}); "
            "give a posterior fitted to this scenario (or one with its fields)",
        ) from None  # fmt: skip
    return draws
