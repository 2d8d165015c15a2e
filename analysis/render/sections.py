"""Report sections: how a study's results join a sweep's batch report, with one contract.

A study package that has a `section` module (analysis/studies/<study>/section.py) defines
`SECTION = Section(...)` there; the batch report finds every such module
(analysis.reports.registry.all_sections: no list of study names to keep, and no import
from this layer up to the studies) and, for each folder near the sweep that holds the
section's marker file, asks it for HTML:

    Section(kind="sensitivity", marker="sensitivity.json", render=sensitivity_section, order=1)
    html = section.render(folder, vendor)      # "" or None: nothing to show

`render(folder, vendor)` reads the study's own files in `folder` (written by its command)
and returns an HTML fragment; `vendor` is the report's --vendor (None: all). A section
that filters by vendor itself says `by_vendor=True`; for the others the report leaves out
a section that names other vendors of the sweep but not the one asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Section:
    """A study's results as a section of the batch report (see the module doc)."""

    kind: str
    marker: str
    render: Callable[[Path, str | None], str | None]
    by_vendor: bool = False
    order: int = 100  # where the section stands among the others (lower first)
