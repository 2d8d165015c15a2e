"""Buyer and Vendor agents: registered with Mesa like any agent, cheap to create, and
each Buyer shows its journey."""

from __future__ import annotations

import numpy as np

from sim.agents import Buyer, Vendor
from sim.channels import Stage
from sim.model import BuyerJourneyModel
from sim.scenario import SIZE_CLASSES


def test_one_buyer_agent_per_buyer_registered_with_mesa(small) -> None:
    model = BuyerJourneyModel(small, seed=1)
    buyers = model.agents_by_type[Buyer]
    assert len(buyers) == small.buyers.count
    assert len(model.agents_by_type[Vendor]) == len(small.vendors)
    assert len(model.agents) == small.buyers.count + len(small.vendors)
    ids = [a.unique_id for a in model.agents]
    assert len(set(ids)) == len(ids)
    assert sorted(a.row for a in buyers) == list(range(small.buyers.count))
    # Mesa's own operations work on them
    assert len(model.agents.select(lambda a: isinstance(a, Buyer) and a.row < 10)) == 10
    # a Vendor made afterwards through Mesa's own path gets the next id
    extra = Vendor(model, 0, small.vendors[0])
    assert extra.unique_id == max(ids) + 1


def test_a_buyer_sits_on_its_node_and_knows_its_contacts(small) -> None:
    model = BuyerJourneyModel(small, seed=1)
    b = model.buyer(7)
    row = model.adjacency[[7]].indices
    assert sorted(c.row for c in b.contacts) == sorted(row.tolist())
    assert b.cell.coordinate == 7


def test_a_buyer_in_market_shows_its_journey(small) -> None:
    model = BuyerJourneyModel(small, seed=1)
    for _ in range(12):
        model.step()
    rows = (model.buyers.stage >= Stage.MIDDLE) & (model.buyers.stage <= Stage.FINAL)
    b = model.buyer(int(rows.nonzero()[0][0]))
    j = b.journey()
    assert j["stage"] in ("middle", "final")
    assert 0 < j["research_share"] <= 1
    assert j["journey_id"] == int(model.buyers.journey[b.row])
    assert len(j["touches"]) >= small.buyers.consultations_per_week * 2
    assert all(v in model.vendor_names for v in j["considered"])
    assert set(j["preference"]) <= set(model.vendor_names)


def test_an_idle_buyer_has_no_open_journey(small) -> None:
    model = BuyerJourneyModel(small, seed=1)
    idle = int((model.buyers.stage == Stage.IDLE).nonzero()[0][0])
    j = model.buyer(idle).journey()
    assert j["stage"] == "idle" and j["journey_id"] is None and j["touches"] is None


def test_a_buyer_shows_its_account_and_buying_group(small) -> None:
    scenario = small.with_changes({"accounts.consensus": 0.67})
    model = BuyerJourneyModel(scenario, seed=1)
    for _ in range(12):
        model.step()
    acc = model.accounts
    a = int(np.flatnonzero(acc.size >= 3)[0])
    row = int(acc.start[a]) + 1  # not the lead
    b = model.buyer(row)
    assert b.account == a
    assert [m.row for m in b.group] == list(range(acc.start[a], acc.start[a + 1]))
    assert b.size_class == SIZE_CLASSES[int(acc.size_class[a])]
    info = b.journey()["account"]
    assert info["account"] == a and info["group_size"] == int(acc.size[a])
    assert info["size_class"] == b.size_class
    members = info["members"]
    assert [m["buyer"] for m in members] == [m.row for m in b.group]
    assert [m["lead"] for m in members] == [True] + [False] * (len(members) - 1)
    stages = model.buyers.stage[acc.start[a] : acc.start[a + 1]]
    assert info["group_stage"] == Stage(int(stages.max())).label
    for m in members:
        assert m["stage"] == model.buyer(m["buyer"]).stage.label
        assert m["research_share"] == model.buyer(m["buyer"]).research_share
    # a member in a journey reports its research share, like its own journey does
    open_rows = np.flatnonzero(model.buyers.journey >= 0)
    j = model.buyer(int(open_rows[0])).journey()
    mine = [m for m in j["account"]["members"] if m["buyer"] == int(open_rows[0])]
    assert mine[0]["research_share"] == j["research_share"] > 0


def test_a_buyer_without_accounts_is_a_one_person_group(small) -> None:
    model = BuyerJourneyModel(small.with_changes({"accounts": None}), seed=1)
    b = model.buyer(5)
    assert b.account == 5 and [m.row for m in b.group] == [5]
    assert b.size_class is None
    info = b.journey()["account"]
    assert info["group_size"] == 1 and info["size_class"] is None
    assert info["members"][0]["buyer"] == 5 and info["members"][0]["lead"]
