"""The live view as `run.py viz` serves it (`solara run analysis/live/app.py`): the page,
which opens scenario and DATA-loop study files alike."""

from __future__ import annotations

from analysis.live.page import Page

__all__ = ["Page"]
