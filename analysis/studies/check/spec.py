"""What a check is asked to do: a scenario, a targets file and a number of replications,
as a `Spec`.

The replications are the calibration's (analysis.studies.calibrate.spec.Setup with no
free parameter): replication r runs with `replication_seed(scenario seed, r)`, the seed
replication r of a calibration's fit runs with at every point, and the runs' ids hash
what a calibration's ids hash (the scenario and what each target measures).

Only the standard library, pydantic (sim.scenario) and the light engine modules are
imported here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from analysis.errors import UsageError
from analysis.studies.calibrate.spec import Setup
from analysis.studies.calibrate.targets import Targets, load_targets

if TYPE_CHECKING:
    from sim.scenario import Scenario

#: the fewest replications that give an interval (a t-interval needs two values)
MIN_REPS = 2


@dataclass(frozen=True)
class Spec:
    """A check ready to run: the scenario as it is, its targets, the replications."""

    scenario: Scenario
    targets: Targets
    reps: int

    @cached_property
    def setup(self) -> Setup:
        """The calibration set-up these replications are: no free parameter, `reps` fit
        replications (their seeds and the runs' design hash come from it)."""
        return Setup(self.scenario, self.targets, (), self.reps, 0, 1)

    def seeds(self) -> list[int]:
        """The seeds of replications 0..reps-1 (the calibration's fit seeds)."""
        return self.setup.fit_seeds()


def make_spec(scenario: Scenario | str | Path, targets: Targets | str | Path, reps: int) -> Spec:
    """A Spec from a scenario and a targets file, each loaded if given as a path.

    Raises:
        ScenarioError: a file that cannot be used (WrongKind for a file of another kind).
        UsageError: fewer than MIN_REPS replications.
    """
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < MIN_REPS:
        raise UsageError(
            f"reps: at least {MIN_REPS} replications are needed for an interval (found {reps!r})"
        )
    if isinstance(targets, str | Path):
        targets = load_targets(targets)
    if isinstance(scenario, str | Path):
        from sim.scenario import load_scenario

        scenario = load_scenario(scenario)
    return Spec(scenario, targets, reps)
