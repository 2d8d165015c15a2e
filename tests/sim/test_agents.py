"""Buyer and Vendor agents: registered with Mesa like any agent, cheap to create, and
each Buyer shows its journey."""

from __future__ import annotations

from sim.agents import Buyer, Vendor
from sim.channels import Stage
from sim.model import BuyerJourneyModel


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
