"""The referral graph: generators, user files, and its sparse adjacency."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import sim.network
from sim.model import BuyerJourneyModel
from sim.network import ReferralGraph, build_referral_graph, read_graph_file, to_referral_graph
from sim.scenario import Network, ScenarioError, scenario_from_dict

VENDORS = [{"name": "A", "weekly_budget": 1000.0, "channel_mix": {"search": 1.0}}]


KINDS = ["watts_strogatz", "barabasi_albert", "powerlaw_cluster"]


def spec(kind: str, generator: str) -> Network:
    return Network(kind=kind).model_copy(update={"generator": generator})


def edge_set(ref: ReferralGraph) -> set[tuple[int, int]]:
    return {(int(i), int(j)) for i, j in ref.edges}


@pytest.mark.parametrize("generator", ["fast", "networkx"])
@pytest.mark.parametrize("kind", KINDS)
def test_generated_graphs_have_one_node_per_buyer_and_symmetric_adjacency(
    kind: str, generator: str
) -> None:
    ref = build_referral_graph(spec(kind, generator), 300, 7, None)
    a, e = ref.adjacency, ref.edges
    assert ref.n == 300 and a.shape == (300, 300) and a.dtype == np.float32
    assert e.dtype == np.int64 and np.all(e[:, 0] < e[:, 1])
    assert (a != a.T).nnz == 0 and a.has_sorted_indices
    assert a.sum() == 2 * len(e) == 2 * len(edge_set(ref))
    assert a.diagonal().sum() == 0
    assert set(zip(*a.nonzero(), strict=True)) == edge_set(ref) | {(j, i) for i, j in edge_set(ref)}


@pytest.mark.parametrize("kind", KINDS)
def test_networkx_generator_gives_the_networkx_graph_and_its_csr(kind: str) -> None:
    """generator = "networkx" keeps the graphs (and CSR) of earlier versions bit for bit."""
    s = spec(kind, "networkx")
    ref = build_referral_graph(s, 300, 7, None)
    g = sim.network.generate_graph(s, 300, 7)
    assert edge_set(ref) == {(min(u, v), max(u, v)) for u, v in g.edges()}
    expected = nx.to_scipy_sparse_array(
        g, nodelist=range(300), dtype=np.float32, weight=None, format="csr"
    )
    assert np.array_equal(ref.adjacency.indptr, expected.indptr)
    assert np.array_equal(ref.adjacency.indices, expected.indices)
    assert np.array_equal(ref.adjacency.data, expected.data)


def test_scenarios_use_the_fast_generator_unless_they_ask_for_networkx() -> None:
    from sim.scenario import Network

    assert Network().generator == "fast"
    ref = build_referral_graph(Network(generator="networkx"), 200, 3, None)
    assert edge_set(ref) == {
        tuple(sorted(e)) for e in nx.watts_strogatz_graph(200, 10, 0.1, 3).edges()
    }


@pytest.mark.parametrize("generator", ["fast", "networkx"])
def test_same_seed_same_graph_different_seed_different_graph(generator: str) -> None:
    s = spec("watts_strogatz", generator)
    g1 = build_referral_graph(s, 200, 1, None)
    g2 = build_referral_graph(s, 200, 1, None)
    g3 = build_referral_graph(s, 200, 2, None)
    assert g1 is not g2  # no shared cache: each model owns its graph
    assert np.array_equal(g1.edges, g2.edges)
    assert edge_set(g1) != edge_set(g3)


def test_to_networkx_is_a_new_graph_with_the_same_edges() -> None:
    ref = build_referral_graph(spec("barabasi_albert", "fast"), 100, 4, None)
    g = ref.to_networkx()
    assert list(g.nodes()) == list(range(100))
    assert {tuple(sorted(e)) for e in g.edges()} == edge_set(ref)
    assert ref.to_networkx() is not g


def test_small_buyer_counts_cap_the_degree_parameters() -> None:
    for kind in KINDS:
        ref = build_referral_graph(spec(kind, "fast"), 4, 0, None)
        assert ref.n == 4 and ref.adjacency.shape == (4, 4)


def test_edge_list_file_with_names_is_relabelled(tmp_path: Path) -> None:
    p = tmp_path / "g.edgelist"
    p.write_text("# who knows whom\nalice bob\nbob carol\ncarol alice\ndave alice\n")
    ref = to_referral_graph(read_graph_file(p))
    assert ref.n == 4 and ref.names == ("alice", "bob", "carol", "dave")
    assert edge_set(ref) == {(0, 1), (1, 2), (0, 2), (0, 3)}
    assert ref.adjacency.sum() == 8
    assert ref.to_networkx().nodes[3]["name"] == "dave"


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


def test_importing_the_network_module_does_not_import_networkx() -> None:
    code = "import sys, sim.network; assert 'networkx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])
