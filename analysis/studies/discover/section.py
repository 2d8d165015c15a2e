"""Scenario discovery as a section of a sweep's batch report (the contract:
analysis.render.sections): a folder holding discovery.json is shown as its question, its
boxes and their peeling trajectories."""

from __future__ import annotations

from pathlib import Path

from analysis.render.sections import Section
from analysis.studies.discover.report import discovery_section


def render(folder: Path, vendor: str | None) -> str:
    """The discovery in `folder` as HTML; `vendor` plays no part (the report leaves out a
    discovery that names only other vendors)."""
    return discovery_section(folder)


SECTION = Section(kind="discovery", marker="discovery.json", render=render, order=3)
