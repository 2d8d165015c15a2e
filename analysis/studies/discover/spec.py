"""What discover asks of a sweep (its input is the sweep's folder): the condition that
should hold, how many boxes to find, and the density a reported box must reach.

    question = Question("conversions.A@mix=x > conversions.A@mix=y", boxes=2)

Only the standard library: the command line builds its parser from these names.
"""

from __future__ import annotations

from dataclasses import dataclass

#: a condition, as the command's help and an empty condition's message show it
EXAMPLE = '"conversions.Challenger@mix=community > conversions.Challenger@mix=analyst_led"'
#: the most boxes one question may ask for
MAX_BOXES = 5


@dataclass(frozen=True)
class Question:
    """The condition (`when`, in the language of analysis.studies.discover.conditions),
    up to `boxes` boxes (each found after removing the cases of the ones before), and
    `min_density`: report the widest box whose density reaches it (None: the box with
    the best balance of coverage and density).

    Raises:
        ValueError: boxes outside 1..MAX_BOXES or min_density outside (0, 1].
    """

    when: str
    boxes: int = 1
    min_density: float | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.boxes <= MAX_BOXES:
            raise ValueError(f"boxes must be 1-{MAX_BOXES}, found {self.boxes}")
        if self.min_density is not None and not 0 < self.min_density <= 1:
            raise ValueError(f"min_density must be a share in (0, 1], found {self.min_density}")
