"""Buying groups in the live view: group stages, the votes the view keeps (the core's own
ballots) and the read-outs of closed group journeys."""

from __future__ import annotations

import numpy as np
import pytest

from analysis.live.groups import group_stage, purchase_rate_by_size, reasons_by_week, vote_shares
from analysis.live.state import VizModel
from sim.processes.base import ClosedJourneys

from .driver import BUYERS
from .scenarios import scenario_file


def closed(week, reason, size, outcome=None, account=None) -> ClosedJourneys:
    """Closed journeys with the given end weeks, reasons and group sizes."""
    week, reason, size = (np.asarray(x, dtype=np.int64) for x in (week, reason, size))
    n = week.size
    outcome = (reason == 0).astype(np.int8) if outcome is None else np.asarray(outcome)
    z = np.zeros(n, dtype=np.int64)
    return ClosedJourneys(
        journey_id=z,
        buyer_id=z,
        start_week=z,
        end_week=week,
        outcome=outcome,
        vendor=np.where(outcome == 1, 0, -1),
        deal_value=np.zeros(n),
        share_at_contact=np.zeros(n),
        originated=np.zeros(n, dtype=bool),
        referred=np.zeros(n, dtype=bool),
        account_id=np.arange(n) if account is None else np.asarray(account),
        group_size=size,
        size_class=z,
        reason=reason.astype(np.int8),
    )


def test_group_stage_is_the_furthest_members_stage():
    start = np.array([0, 3, 4, 6])
    stage = np.array([1, 3, 2, 0, 5, 5], dtype=np.int8)
    np.testing.assert_array_equal(group_stage(stage, start), [3, 3, 3, 0, 5, 5])
    # one-person accounts: the buyer's own stage
    single = np.arange(len(stage) + 1)
    np.testing.assert_array_equal(group_stage(stage, single), stage)


def test_no_decision_reasons_by_week_and_purchase_rate_by_group_size():
    blocks = [
        closed([0, 0, 0], [0, 1, 2], [1, 2, 3]),
        closed([2, 2, 2, 2], [2, 2, 1, 0], [3, 3, 1, 3]),
    ]
    by_week = reasons_by_week(blocks, 4)
    np.testing.assert_array_equal(by_week, [[1, 1], [0, 0], [1, 2], [0, 0]])
    assert reasons_by_week(blocks, 1).tolist() == [[1, 1]]  # later weeks left out
    assert reasons_by_week([], 3).tolist() == [[0, 0]] * 3
    n, rate = purchase_rate_by_size(blocks, 4)
    assert n.tolist() == [0, 2, 1, 4, 0]
    assert rate[1] == 0.5 and rate[2] == 0.0 and rate[3] == 0.25
    assert np.isnan(rate[0]) and np.isnan(rate[4])


def test_vote_shares_are_each_groups_weight_behind_each_option():
    choice = np.array([-1, 0, 0, 1, -1])
    weight = np.array([1.0, 2.0, 1.0, 1.0, 3.0])
    group = np.array([0, 0, 0, 1, 1])
    shares = vote_shares(choice, weight, group, 2, 2)
    np.testing.assert_allclose(shares, [[0.25, 0.75, 0.0], [0.75, 0.0, 0.25]])


def test_the_view_decides_as_the_core_and_keeps_each_groups_votes(tmp_path):
    """The view's Decision is the core's (same draws, same outcomes) and keeps the votes
    of every group that decided; the votes explain each verdict."""
    from sim.model import BuyerJourneyModel
    from sim.scenario import load_scenario

    path = scenario_file(tmp_path, accounts=True)
    m = VizModel(path, BUYERS)
    core = BuyerJourneyModel(load_scenario(path).with_changes({"buyers.count": BUYERS}))
    for _ in range(30):
        m.step()
        core.step()
    np.testing.assert_array_equal(m.market.conversions, core.market.conversions)
    np.testing.assert_array_equal(m.buyers.stage, core.buyers.stage)
    log = m.recorder("journeys")
    assert log.column("account_id").size
    threshold = m.spec.accounts.consensus
    for c in log.closed:
        for k, a in enumerate(c.account_id.tolist()):
            shares = m.votes.of(a, int(c.end_week[k]))
            if shares is None:  # a later decision of the account replaced them
                assert m.votes.week[a] > c.end_week[k]
                continue
            assert shares.sum() == pytest.approx(1.0)
            top = int(np.argmax(shares))
            if c.reason[k] == 1:  # status quo
                assert top == 0
            elif c.reason[k] == 2:  # no consensus: a vendor led without enough backing
                assert top > 0 and shares[top] < threshold
            else:
                assert top == c.vendor[k] + 1 and shares[top] >= threshold - 1e-12
