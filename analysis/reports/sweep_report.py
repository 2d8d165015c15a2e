"""The sweep's batch report moved to the package analysis.reports.sweep (data, tables,
answers, figures, policy, page, build). This name stays only for importers outside the
report's owners that still use it (tests/analysis/engine/test_store_faults.py); new code
imports from the package."""

from analysis.reports.sweep.build import build_report
from analysis.reports.sweep.data import load

__all__ = ["build_report", "load"]
