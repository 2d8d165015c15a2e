"""The live view's tests run small models and see every model the page builds."""

from __future__ import annotations

import functools

import pytest

from analysis.live.inputs import BUYERS_ENV, SCENARIO_ENV
from analysis.live.state import VizModel

from .driver import BUYERS, MODELS


@pytest.fixture(autouse=True)
def small_model(monkeypatch):
    """The page starts on the baseline with BUYERS buyers, whatever the environment."""
    monkeypatch.setenv(BUYERS_ENV, str(BUYERS))
    monkeypatch.delenv(SCENARIO_ENV, raising=False)


@pytest.fixture(autouse=True)
def track_models(monkeypatch):
    """Remember every model the page builds (the page keeps its model private)."""
    MODELS.clear()
    original = VizModel.__init__

    @functools.wraps(original)  # keeps the signature SolaraViz checks
    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        MODELS.append(self)

    monkeypatch.setattr(VizModel, "__init__", init)
