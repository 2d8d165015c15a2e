"""Other studies' results as sections of the batch report, through one contract
(analysis.render.sections: each study package's `section.Section`).

A section shows the results of every folder near the sweep that holds its marker file:
the report's results folder, the sweep folder, and each folder right below either (not
the `table=` folders). A study without a section module adds nothing, so the report
works without it; a section that cannot be read says so in a note and the others still
show.

With --vendor, a section that filters by vendor itself (`by_vendor=True`) is asked for
that vendor; any other is left out when it names other vendors of the sweep but not the
one asked for (another vendor's study).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from pathlib import Path

from analysis.render.sections import Section
from analysis.reports import registry
from analysis.reports.sweep.data import SweepData


def near_folders(d: SweepData) -> list[Path]:
    """The folders whose study results join the report: the results folder and the sweep
    folder, each followed by the folders right below it (by name)."""
    folders: list[Path] = []
    for root in (d.path.parent, d.path):
        if not root.is_dir():
            continue
        for f in [root, *sorted(x for x in root.iterdir() if x.is_dir())]:
            if not f.name.startswith("table=") and f not in folders:
                folders.append(f)
    return folders


def study_sections(
    d: SweepData, vendor: str | None, sections: Iterable[Section] | None = None
) -> list[tuple[str, str]]:
    """(kind, HTML) of every section with results near the sweep, in the sections' order
    (default: every study's section, `analysis.reports.registry.all_sections()`)."""
    sections = registry.all_sections() if sections is None else sections
    folders = near_folders(d)
    every = d.vendors if d.vendors_all is None else d.vendors_all  # before a --vendor filter
    names = set(d.info.get("vendors", [])) | set(every["vendor"].unique())
    out = []
    for section in sections:
        for f in (f for f in folders if (f / section.marker).is_file()):
            text = _render(section, f, vendor)
            if not text:
                continue
            if vendor is not None and not section.by_vendor and _other_vendors(text, names, vendor):
                continue
            out.append((section.kind, text))
    return out


def _render(section: Section, folder: Path, vendor: str | None) -> str | None:
    """The section's HTML for one folder; a note if its results cannot be read."""
    try:
        return section.render(folder, vendor)
    except Exception as exc:  # noqa: BLE001 - one section must not sink the report
        return (
            f'<p class="note">{section.kind} results in {html.escape(str(folder))} could not '
            f"be read ({html.escape(type(exc).__name__)}).</p>"
        )


def _other_vendors(text: str, names: set[str], vendor: str) -> bool:
    """Whether `text` names vendors of the sweep, but not `vendor`."""
    mentioned = {n for n in names if n in text}
    return bool(mentioned) and vendor not in mentioned
