"""The optimisation's old single module, kept only for callers not yet moved to its parts
(analysis/cli/validate.py reads `load_spec`, the batch report's hook `html_section`).

The study now lives in:
    spec.py        the optimisation file (pydantic) and its Spec      load_spec
    candidates.py  mixes at a budget and the softmax parametrisation  Candidate, make_candidate
    evaluators.py  the model (EngineEvaluator) or a function          FunctionEvaluator
    search.py      Optuna's ask-and-tell search and DIR/trials.jsonl  search
    optimizer.py   the study's API: search, top-k, final comparison   optimize -> Result
    report.py      the printed lines, tables, page and files          write_outputs
    section.py     its section of the sweep's batch report            SECTION

Names are looked up lazily (PEP 562), so importing this module for `load_spec` stays as
light as spec.py. Delete it once those callers import from the parts.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOME = {
    "load_spec": "spec",
    "Spec": "spec",
    "OBJECTIVES": "spec",
    "html_section": "section",
    "SUMMARY_FILE": "section",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"analysis.studies.optimize.{_HOME[name]}"), name)
