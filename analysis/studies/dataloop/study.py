"""`python run.py dataloop FILE --out DIR`: the value of measurement (the DATA loop), as a
Python API.

    from analysis.studies.dataloop import study as dl
    s = dl.load_study("scenarios/data_loop.toml")   # the study file (one-line errors)
    res = dl.run_study(s, "results/dataloop")       # oracle plans, then the runs: StudyResult
    print(dl.format_study(res))                     # the terminal text
    dl.write_study(res, Path("results/dataloop"))   # the page and the CSVs

One focal vendor follows one policy per variant: static (its fixed plan), data_loop (it
measures with a tracking method and moves budget to what it believes returns most) or
oracle (it moves budget on the TRUE incremental return per channel, planned from
counterfactual runs); the other vendors are the market. The study lives in:

    spec.py      the study file: Study, PolicyVariant, LoopSettings     load_study
    oracle.py    the oracle planner                                    plan_oracle
    records.py   what each run records (focal numbers, mix, beliefs)   study_plan
    run.py       one execution context for the planning and the runs   run_study
    summary.py   the result and its tables                             summarize_study
    truth.py     the truth file, shared with the sweep report and the live view
    report.py    the terminal text, the HTML page, the CSVs            format_study, write_study
    figures.py   the page's figures

The study file's reader and types are imported here at once (spec.py is light: pydantic
and the standard library), so the live view and the command line may import this module
freely; the other names load their module (numpy, pandas, the model, matplotlib) when
they are first looked up.
"""

from __future__ import annotations

import importlib
from typing import Any

from analysis.studies.dataloop.spec import LoopSettings, PolicyVariant, Study, load_study

#: name -> the module of analysis.studies.dataloop that defines it (looked up when asked)
_LAZY = {
    "run_study": "run",
    "StudyResult": "summary",
    "summarize_study": "summary",
    "plan_oracle": "oracle",
    "OraclePlan": "oracle",
    "format_study": "report",
    "write_study": "report",
    "read_truth": "truth",
    "TRUTH_FILE": "truth",
}

__all__ = ["LoopSettings", "PolicyVariant", "Study", "load_study", *_LAZY]


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"analysis.studies.dataloop.{_LAZY[name]}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
