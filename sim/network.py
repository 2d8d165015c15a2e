"""The referral graph: who can recommend (or warn against) a vendor to whom.

Generators for the usual social-network shapes (small-world, scale-free, clustered
scale-free) and a loader for a graph the user gives as an edge list or GraphML file.
The model uses the graph as a sparse adjacency matrix (CSR) so neighbour influence is a
sparse product, never a Python loop over neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp

from sim.scenario import Network, ScenarioError


@dataclass(frozen=True)
class ReferralGraph:
    """A referral graph with integer nodes 0..n-1 and its CSR adjacency matrix."""

    graph: nx.Graph
    adjacency: sp.csr_matrix  # (n, n) float32, symmetric, 1 where two buyers know each other
    names: tuple[str, ...] | None = None  # original node names of a loaded file


def generate_graph(spec: Network, n: int, seed: int) -> nx.Graph:
    """Draw a synthetic graph of n buyers; the seed comes from the run's Generator."""
    if spec.kind == "watts_strogatz":
        return nx.watts_strogatz_graph(n, min(spec.k, n - 1), spec.p, seed=seed)
    if spec.kind == "barabasi_albert":
        return nx.barabasi_albert_graph(n, min(spec.m, n - 1), seed=seed)
    if spec.kind == "powerlaw_cluster":
        return nx.powerlaw_cluster_graph(n, min(spec.m, n - 1), spec.triangle_p, seed=seed)
    raise ValueError(f"not a generated graph kind: {spec.kind}")


def read_graph_file(path: Path, fmt: str = "auto") -> nx.Graph:
    """Read an edge list (two node names per line, '#' comments) or a GraphML file.

    Raises:
        ScenarioError: the file is missing or cannot be parsed.
    """
    if not path.is_file():
        raise ScenarioError(str(path), "network.path", "graph file not found")
    kind = fmt
    if kind == "auto":
        kind = "graphml" if path.suffix.lower() in (".graphml", ".xml") else "edgelist"
    try:
        if kind == "graphml":
            g = nx.read_graphml(path)
        else:
            g = nx.read_edgelist(path, comments="#", data=False)
    except Exception as exc:  # networkx raises many types for a bad file
        raise ScenarioError(
            str(path), "network.path", f"cannot read as {kind}: {exc}".splitlines()[0]
        ) from None
    g = nx.Graph(g)  # undirected, no multi-edges: a referral tie is mutual
    g.remove_edges_from(nx.selfloop_edges(g))
    if g.number_of_nodes() == 0:
        raise ScenarioError(str(path), "network.path", "graph file has no nodes")
    return g


def to_referral_graph(g: nx.Graph) -> ReferralGraph:
    """Relabel nodes to 0..n-1 (renderers need integers) and build the CSR adjacency."""
    nodes = list(g.nodes())
    names = None
    if nodes != list(range(len(nodes))):
        names = tuple(str(x) for x in nodes)
        g = nx.convert_node_labels_to_integers(g, ordering="default", label_attribute="name")
    adjacency = nx.to_scipy_sparse_array(
        g, nodelist=range(g.number_of_nodes()), dtype=np.float32, weight=None, format="csr"
    )
    return ReferralGraph(graph=g, adjacency=sp.csr_matrix(adjacency), names=names)


@lru_cache(maxsize=8)
def build_referral_graph(spec: Network, n: int, seed: int, path: str | None) -> ReferralGraph:
    """The referral graph for a scenario, cached by its parameters and seed.

    A sweep's variants share the graph of each replication seed, so it is built once per
    process. Callers must not mutate the returned graph.
    """
    if spec.kind == "file":
        assert path is not None
        return to_referral_graph(read_graph_file(Path(path), spec.format))
    return to_referral_graph(generate_graph(spec, n, seed))
