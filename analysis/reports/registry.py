"""The registry of report sections: every study package's `section` module, found by
convention (analysis/studies/<study>/section.py defines SECTION, an
analysis.render.sections.Section), so a new study joins the batch report by adding that
module, with no list of names to keep."""

from __future__ import annotations

import importlib
import pkgutil

import analysis.studies as studies
from analysis.render.sections import Section


def all_sections() -> list[Section]:
    """Every study's section, by `order` (then by the study package's name)."""
    found = []
    for info in sorted(pkgutil.iter_modules(studies.__path__), key=lambda m: m.name):
        if not info.ispkg:
            continue
        name = f"analysis.studies.{info.name}.section"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        found.append(module.SECTION)
    return sorted(found, key=lambda s: s.order)
