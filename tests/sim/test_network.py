"""The referral graph: generators, user files, and its sparse adjacency."""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np
import pytest

from sim.model import BuyerJourneyModel
from sim.network import build_referral_graph, read_graph_file, to_referral_graph
from sim.scenario import Network, ScenarioError, scenario_from_dict

VENDORS = [{"name": "A", "weekly_budget": 1000.0, "channel_mix": {"search": 1.0}}]


@pytest.mark.parametrize("kind", ["watts_strogatz", "barabasi_albert", "powerlaw_cluster"])
def test_generated_graphs_have_one_node_per_buyer_and_symmetric_adjacency(kind: str) -> None:
    ref = build_referral_graph(Network(kind=kind), 300, 7, None)
    a = ref.adjacency
    assert ref.graph.number_of_nodes() == 300 and a.shape == (300, 300)
    assert (a != a.T).nnz == 0
    assert a.sum() == 2 * ref.graph.number_of_edges()
    assert a.diagonal().sum() == 0


def test_same_seed_same_graph_different_seed_different_graph() -> None:
    spec = Network(kind="watts_strogatz")
    g1 = build_referral_graph(spec, 200, 1, None).graph
    g2 = build_referral_graph.__wrapped__(spec, 200, 1, None).graph
    g3 = build_referral_graph(spec, 200, 2, None).graph
    assert set(g1.edges()) == set(g2.edges())
    assert set(g1.edges()) != set(g3.edges())


def test_edge_list_file_with_names_is_relabelled(tmp_path: Path) -> None:
    p = tmp_path / "g.edgelist"
    p.write_text("# who knows whom\nalice bob\nbob carol\ncarol alice\ndave alice\n")
    ref = to_referral_graph(read_graph_file(p))
    assert sorted(ref.graph.nodes()) == [0, 1, 2, 3]
    assert set(ref.names) == {"alice", "bob", "carol", "dave"}
    assert ref.adjacency.sum() == 8


def test_graphml_file_runs_a_model(tmp_path: Path) -> None:
    g = nx.path_graph(50)
    nx.write_graphml(g, tmp_path / "g.graphml")
    sc = scenario_from_dict(
        {
            "buyers": {"count": 50},
            "weeks": 5,
            "network": {"kind": "file", "path": "g.graphml"},
            "vendors": VENDORS,
        },
        str(tmp_path / "s.toml"),
        tmp_path,
    )
    model = BuyerJourneyModel(sc).run()
    assert model.adjacency.sum() == 2 * 49


def test_graph_file_with_wrong_size_is_refused(tmp_path: Path) -> None:
    (tmp_path / "g.edgelist").write_text("1 2\n2 3\n")
    sc = scenario_from_dict(
        {
            "buyers": {"count": 50},
            "network": {"kind": "file", "path": "g.edgelist"},
            "vendors": VENDORS,
        },
        "s.toml",
        tmp_path,
    )
    with pytest.raises(ScenarioError, match="3 nodes but buyers.count is 50; set buyers.count = 3"):
        BuyerJourneyModel(sc)


def test_unreadable_graph_file_is_a_scenario_error(tmp_path: Path) -> None:
    p = tmp_path / "g.graphml"
    p.write_text("<not graphml")
    with pytest.raises(ScenarioError, match="cannot read as graphml"):
        read_graph_file(p)


def test_every_buyer_agent_sits_on_its_own_graph_node(small) -> None:
    from sim.agents import Buyer

    model = BuyerJourneyModel(small)
    rows = np.array([a.row for a in model.agents_by_type[Buyer]])
    assert sorted(rows) == list(range(small.buyers.count))
    agent = next(iter(model.agents_by_type[Buyer]))
    assert agent.cell.coordinate == agent.row
