"""The names other packages still import from here, now in the study's own modules
(spec, run, report): kept only until analysis/cli/validate.py imports `load_study` from
analysis.studies.sensitivity.spec and the batch report finds this study through its
section module (analysis.studies.sensitivity.section). Then this module goes.

Each name is looked up when asked for, so `run.py validate` reads a sensitivity file
without the study's heavy modules.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: name -> the module of analysis.studies.sensitivity that holds it
MOVED = {"load_study": "spec", "sensitivity_section": "report"}


def __getattr__(name: str) -> Any:
    if name not in MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"analysis.studies.sensitivity.{MOVED[name]}"), name)
