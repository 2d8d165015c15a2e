"""A discovery from a sweep folder and a question: the cases, then PRIM's boxes.

    found = discover(sweep_dir, Question("roi.A@mix=x > roi.A@mix=y"))
    found.holds, found.boxes

A condition that holds in every case or in none has no box to find; PRIM runs only when
it holds in some cases and not in others.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.studies.discover.cases import Cases, build_cases
from analysis.studies.discover.report import results_json
from analysis.studies.discover.spec import Question

if TYPE_CHECKING:
    from analysis.studies.discover.prim import Box


@dataclass
class Discovery:
    """What a question found in a sweep: its cases and the boxes (maybe none)."""

    question: Question
    sweep_dir: Path
    cases: Cases
    boxes: list[Box]

    @property
    def holds(self) -> int:
        """The cases where the condition holds."""
        return int(self.cases.y.sum())

    def describe(self) -> dict[str, Any]:
        """The question, the cases and the boxes as plain data (<stem>.json)."""
        return results_json(self.question.when, self.cases, self.boxes, self.sweep_dir)


def discover(sweep_dir: Path, question: Question) -> Discovery:
    """Evaluate the question's condition per case of the sweep in `sweep_dir` (a
    sweep=NAME folder: analysis.studies.discover.cases.sweep_folder) and find its boxes.

    Raises:
        ExprError: the condition does not parse or does not fit the sweep.
        UsageError: the sweep folder is damaged.
    """
    cases = build_cases(sweep_dir, question.when)
    n, k = len(cases.y), int(cases.y.sum())
    boxes: list[Box] = []
    if 0 < k < n:
        from analysis.studies.discover.prim import find_boxes  # the EMA Workbench: seconds

        boxes = find_boxes(cases.x, cases.y, question.boxes, question.min_density)
    return Discovery(question, sweep_dir, cases, boxes)
