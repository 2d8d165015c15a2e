"""The sensitivity study as a section of a sweep's batch report (the contract:
analysis.render.sections): a folder holding sensitivity.json is shown as its set-up and,
per outcome, the sentence, the figure and the table of its indices."""

from __future__ import annotations

from pathlib import Path

from analysis.render.sections import Section
from analysis.studies.sensitivity.report import sensitivity_section


def render(folder: Path, vendor: str | None) -> str:
    """The study in `folder` as HTML; `vendor` plays no part (the report leaves out a
    study that names only other vendors)."""
    return sensitivity_section(folder)


SECTION = Section(kind="sensitivity", marker="sensitivity.json", render=render, order=1)
