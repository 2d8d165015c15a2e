"""The name another package still imports from here, now in the study's own module
(report): kept only until the batch report finds this study through its section module
(analysis.studies.discover.section). Then this module goes."""

from __future__ import annotations

from analysis.studies.discover.report import discovery_section

__all__ = ["discovery_section"]
