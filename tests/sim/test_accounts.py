"""Accounts and buying groups: buyers work in accounts of a size class; an account's
people are its buying group; a need arises at the account, every member researches, and
the group decides together by a consensus rule under which disagreement ends in no
decision (docs/model.md §4a). The emergent facts (the CEB curve, journey lengths by size
class, the no-decision share) are checked in tests/sim/test_calibration.py."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import BuyerJourneyModel
from sim.processes.decision import BOUGHT, NO_CONSENSUS, STATUS_QUO, consensus
from sim.scenario import SIZE_CLASSES


@pytest.fixture(scope="module")
def model(baseline):
    sc = baseline.with_changes({"buyers.count": 3000, "weeks": 60})
    return BuyerJourneyModel(sc, seed=4).run()


def test_accounts_are_contiguous_rows_lead_first(model) -> None:
    b, acc = model.buyers, model.accounts
    assert acc.start[0] == 0 and acc.start[-1] == b.n
    assert (acc.size >= 1).all() and (acc.size <= model.spec.accounts.max_group).all()
    members, group = acc.members(np.arange(acc.n))
    np.testing.assert_array_equal(members, np.arange(b.n))
    np.testing.assert_array_equal(b.account, group)
    # the lead (first row) is the most senior member
    lead = b.seniority[acc.start[:-1]]
    most = np.maximum.reduceat(b.seniority, acc.start[:-1])
    np.testing.assert_array_equal(lead, most)


def test_group_sizes_grow_with_the_account_size_class(baseline) -> None:
    """Mean group size per class matches 1 + Poisson(mean - 1) (capped) within 4 standard
    errors, over a large market."""
    sc = baseline.with_changes({"buyers.count": 60_000, "weeks": 1})
    acc = BuyerJourneyModel(sc, seed=1, record_touches=False).accounts
    spec = sc.accounts
    sizes = acc.size[:-1]  # the last account takes what was left
    classes = acc.size_class[:-1]
    for k, name in enumerate(SIZE_CLASSES):
        s = sizes[classes == k]
        mean = getattr(spec.group_size, name)
        assert abs(s.mean() - mean) < 4 * s.std() / np.sqrt(s.size) + 0.05 * (mean > 6)
    share = np.bincount(classes, minlength=3) / classes.size
    np.testing.assert_allclose(share, spec.size_shares.as_tuple(), atol=0.02)


def test_colleagues_know_each_other(model) -> None:
    a, acc = model.adjacency, model.accounts
    big = np.flatnonzero(acc.size >= 3)[:50]
    for k in big:
        rows = np.arange(acc.start[k], acc.start[k + 1])
        block = a[rows][:, rows].toarray()
        assert (block + np.eye(rows.size) == 1).all()


def test_a_need_starts_one_journey_for_the_whole_group(model) -> None:
    b, acc = model.buyers, model.accounts
    open_rows = np.flatnonzero(b.journey >= 0)
    assert open_rows.size > 100
    per_journey = np.unique(b.account[open_rows], return_counts=True)
    # every member of an account in market has the same journey
    for k in per_journey[0][:200]:
        rows = np.arange(acc.start[k], acc.start[k + 1])
        assert np.unique(b.journey[rows]).size == 1 and b.journey[rows[0]] >= 0
    j = model.tables()["journeys"]
    assert j["journey_id"].is_unique


def test_the_group_decides_only_when_its_slowest_member_is_done(model) -> None:
    """No member of a closed journey's group was still short of the final stage: a group
    closes in the week its last member finished, so a closed group's journey lasts at least
    as long as its most demanding member needs."""
    j = model.tables()["journeys"]
    closed = j[j["outcome"] != "open"]
    weeks = (closed["end_week"] - closed["start_week"]).astype(float)
    small_groups = weeks[closed["group_size"] == 1].median()
    big_groups = weeks[closed["group_size"] >= 6].median()
    assert big_groups > small_groups


def test_consensus_rule_by_hand() -> None:
    """Weighted plurality with a backing threshold: three hand-made groups of 3, 2 and 1."""
    choice = np.array([0, 0, 1, -1, 1, 2])
    weight = np.array([1.0, 1.0, 3.0, 2.0, 1.0, 1.0])
    group = np.array([0, 0, 0, 1, 1, 2])
    verdict, reason = consensus(choice, weight, group, 3, 3, threshold=0.6)
    # group 0: vendor 1 holds 3 of 5 = 0.6 -> buys 1; group 1: status quo leads (2 of 3);
    # group 2: alone, buys its pick
    np.testing.assert_array_equal(verdict, [1, -1, 2])
    np.testing.assert_array_equal(reason, [BOUGHT, STATUS_QUO, BOUGHT])
    verdict, reason = consensus(choice, weight, group, 3, 3, threshold=0.7)
    np.testing.assert_array_equal(verdict, [-1, -1, 2])
    np.testing.assert_array_equal(reason, [NO_CONSENSUS, STATUS_QUO, BOUGHT])


def test_stricter_consensus_means_fewer_purchases_in_large_groups(baseline) -> None:
    """Paired seeds: raising the backing a vendor needs never helps large groups buy, and
    the extra no-decisions are for want of consensus."""
    sc = baseline.with_changes({"buyers.count": 2000, "weeks": 80})
    for seed in (1, 2, 3):
        out = {}
        for th in (0.5, 0.9):
            t = BuyerJourneyModel(sc.with_changes({"accounts.consensus": th}), seed=seed)
            j = t.run().tables()["journeys"]
            closed = j[(j["outcome"] != "open") & (j["group_size"] >= 5)]
            out[th] = closed
        assert (out[0.9]["outcome"] == "purchase").mean() < (
            out[0.5]["outcome"] == "purchase"
        ).mean()
        assert (out[0.9]["no_decision_reason"] == "no_consensus").mean() > (
            out[0.5]["no_decision_reason"] == "no_consensus"
        ).mean()


def test_a_file_without_accounts_has_one_person_groups(v1_format) -> None:
    """Users' scenario files written before accounts keep loading: each buyer is its own
    account and decides alone (journeys say so)."""
    sc = v1_format.with_changes({"buyers.count": 500, "weeks": 30})
    assert sc.accounts is None
    model = BuyerJourneyModel(sc, seed=1).run()
    assert model.accounts.singletons and model.accounts.n == 500
    j = model.tables()["journeys"]
    assert (j["group_size"] == 1).all() and (j["size_class"] == "single").all()
    assert set(j["no_decision_reason"]) <= {"", "status_quo"}
