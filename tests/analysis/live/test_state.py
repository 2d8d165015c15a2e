"""A session's model and settings: a strategy set in the view holds after Reset."""

from __future__ import annotations

import pytest

from analysis.live.state import Strategies, Strategy, VizModel
from analysis.paths import SCENARIOS

from .driver import BUYERS


def test_strategy_override_is_static_after_reset_even_with_a_schedule():
    """A vendor with a schedule (flighted budget) keeps the budget set in the view."""
    scenario = str(SCENARIOS / "flighted_budgets.toml")
    strategies = Strategies()
    m = VizModel(scenario, BUYERS, strategies=strategies)
    i = m.vendor_names.index("Flighted")
    assert m.vendors[i].policy.plan(13).spend_array().sum() == 0  # dark in week 13
    strategies.set(m, i, Strategy(5000.0, {"search": 1.0}))
    m2 = VizModel(scenario, BUYERS, strategies=strategies)
    for _ in range(15):
        m2.step()
    assert m2.market.spend[i].sum() == pytest.approx(5000.0)
    assert m2.market.spent[i].sum() == pytest.approx(15 * 5000.0)
