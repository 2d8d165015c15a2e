"""The referral graph: who can recommend (or warn against) a vendor to whom.

Generators for the usual social-network shapes (small-world, scale-free, clustered
scale-free) and a loader for a graph the user gives as an edge list or GraphML file.
The model uses the graph as a sparse adjacency matrix (CSR) so neighbour influence is a
sparse product, never a Python loop over neighbours.

A `ReferralGraph` holds plain arrays (edges and CSR), not a networkx graph: the fast
generators of `sim.graphs` draw 1M-buyer graphs in about a second, and a networkx graph
is built only on demand (`to_networkx`, for layouts and Mesa's Network space). Nothing
is cached at module level: every model gets its own graph. networkx is imported lazily,
so `import sim.network` stays cheap.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from sim.graphs import (
    adjacency_from_edges,
    barabasi_albert_edges,
    canonical_edges,
    powerlaw_cluster_edges,
    watts_strogatz_edges,
)
from sim.scenario import Network, ScenarioError, read_file_bytes, shown

if TYPE_CHECKING:
    import networkx as nx

    from sim.scenario import Scenario

#: The largest graph file that is read (an edge list of 1M buyers with 5 links each is
#: about 70 MB; networkx holds a graph in roughly 20 times its file size).
MAX_GRAPH_BYTES = 128 * 2**20
FIELD = "network.path"


@dataclass(frozen=True, eq=False)
class ReferralGraph:
    """A referral graph on integer nodes 0..n-1: its edges and its CSR adjacency."""

    n: int
    edges: np.ndarray  # (E, 2) int64, i < j, rows unique and sorted
    adjacency: sp.csr_matrix  # (n, n) float32, symmetric, 1 where two buyers know each other
    names: tuple[str, ...] | None = None  # original node names of a loaded file

    def to_networkx(self) -> nx.Graph:
        """A new networkx graph with nodes 0..n-1 (and a "name" per node for a file)."""
        import networkx as nx

        g = nx.Graph()
        if self.names is None:
            g.add_nodes_from(range(self.n))
        else:
            g.add_nodes_from((i, {"name": name}) for i, name in enumerate(self.names))
        g.add_edges_from(self.edges.tolist())
        return g


def generate_edges(spec: Network, n: int, seed: int) -> np.ndarray:
    """Draw a synthetic graph of n buyers as sorted (i, j) edges, i < j.

    `spec.generator` picks the fast generators of `sim.graphs` (same models, seeded
    with `np.random.default_rng(seed)`) or networkx's own (bit-for-bit the graphs of
    earlier versions of this simulator).
    """
    if spec.generator == "networkx":
        return graph_edges(generate_graph(spec, n, seed))
    rng = np.random.default_rng(seed)
    if spec.kind == "watts_strogatz":
        return watts_strogatz_edges(n, min(spec.k, n - 1), spec.p, rng)
    if spec.kind == "barabasi_albert":
        return barabasi_albert_edges(n, min(spec.m, n - 1), rng)
    if spec.kind == "powerlaw_cluster":
        return powerlaw_cluster_edges(n, min(spec.m, n - 1), spec.triangle_p, rng)
    raise ValueError(f"not a generated graph kind: {spec.kind}")


def generate_graph(spec: Network, n: int, seed: int) -> nx.Graph:
    """Draw a synthetic graph of n buyers with networkx's generators."""
    import networkx as nx

    if spec.kind == "watts_strogatz":
        return nx.watts_strogatz_graph(n, min(spec.k, n - 1), spec.p, seed=seed)
    if spec.kind == "barabasi_albert":
        return nx.barabasi_albert_graph(n, min(spec.m, n - 1), seed=seed)
    if spec.kind == "powerlaw_cluster":
        return nx.powerlaw_cluster_graph(n, min(spec.m, n - 1), spec.triangle_p, seed=seed)
    raise ValueError(f"not a generated graph kind: {spec.kind}")


def graph_edges(g: nx.Graph) -> np.ndarray:
    """The edges of a graph on nodes 0..n-1 as sorted (i, j) rows, i < j."""
    e = np.array(list(g.edges()), dtype=np.int64).reshape(-1, 2)
    return canonical_edges(e[:, 0], e[:, 1], g.number_of_nodes())


def graph_kind(path: Path, fmt: str = "auto") -> str:
    """ "graphml" or "edgelist": the format set in the scenario, else by the file's suffix."""
    if fmt != "auto":
        return fmt
    return "graphml" if path.suffix.lower() in (".graphml", ".xml") else "edgelist"


def read_graph_file(path: Path, fmt: str = "auto") -> nx.Graph:
    """Read an edge list (two node names per line, '#' comments) or a GraphML file.

    Only a regular file of at most MAX_GRAPH_BYTES is read. Node names may not contain
    spaces in an edge list: a line with more or fewer than two names is refused (networkx
    would silently keep the first two words of "alice smith bob jones").

    Raises:
        ScenarioError: the file is missing, is not a file, is too large, or cannot be
            parsed; one line naming the file and the problem.
    """
    import networkx as nx

    kind = graph_kind(path, fmt)
    raw = read_file_bytes(path, "graph (edge list or GraphML)", MAX_GRAPH_BYTES, FIELD)
    if b"\0" in raw:
        raise ScenarioError(
            str(path), FIELD, f"a binary file, not an edge list or GraphML file (read as {kind})"
        )
    if kind == "graphml":
        if not raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
            raise ScenarioError(
                str(path),
                FIELD,
                "not GraphML (an XML file starting with '<'); an edge list needs a name "
                'ending in .edgelist or .txt, or set format = "edgelist" in [network]',
            )
        try:
            g = nx.read_graphml(io.BytesIO(raw))
        except Exception as exc:  # networkx and ElementTree raise many types for a bad file
            raise ScenarioError(
                str(path), FIELD, f"cannot read as graphml: {exc}".splitlines()[0]
            ) from None
    else:
        g = nx.Graph()
        g.add_edges_from(_edge_list(path, raw))
    g = nx.Graph(g)  # undirected, no multi-edges: a referral tie is mutual
    g.remove_edges_from(nx.selfloop_edges(g))
    if g.number_of_nodes() == 0:
        raise ScenarioError(
            str(path), FIELD, f"graph file has no nodes (read as {kind}: only comments or blanks)"
        )
    return g


def _edge_list(path: Path, raw: bytes) -> list[tuple[str, str]]:
    """The (a, b) name pairs of an edge list: two names per line, '#' starts a comment."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            str(path), FIELD, f"not a UTF-8 text edge list (undecodable byte at {exc.start})"
        ) from None
    edges = []
    for number, line in enumerate(text.splitlines(), 1):
        names = line.split("#", 1)[0].split()
        if not names:
            continue
        if len(names) != 2:
            found = " ".join(names)
            raise ScenarioError(
                str(path),
                FIELD,
                f"line {number}: {len(names)} names ({shown(found)}); each line of an edge "
                "list is two node names separated by spaces, so a name cannot contain a "
                "space: write 'alice_smith', or give a GraphML file",
            )
        edges.append((names[0], names[1]))
    return edges


def check_graph_file(scenario: Scenario) -> int:
    """Read a scenario's graph file as a run would and check it fits buyers.count;
    returns its number of nodes (0 for a generated graph). `run.py validate` calls this,
    so it refuses every graph file that `simulate` refuses, before any model is built."""
    path = scenario.graph_path()
    if scenario.network.kind != "file" or path is None:
        return 0
    g = read_graph_file(path, scenario.network.format)
    n = g.number_of_nodes()
    if n != scenario.buyers.count:
        raise ScenarioError(
            scenario.source,
            "buyers.count",
            f"the graph file has {n} nodes but buyers.count is "
            f"{scenario.buyers.count}; set buyers.count = {n}",
        )
    return n


def to_referral_graph(g: nx.Graph) -> ReferralGraph:
    """Relabel nodes to 0..n-1 in the graph's node order and take edges and CSR.

    Node names that are not already 0..n-1 (in order) are kept in `names`.
    """
    import networkx as nx

    nodes = list(g.nodes())
    names = None
    if nodes != list(range(len(nodes))):
        names = tuple(str(x) for x in nodes)
        g = nx.convert_node_labels_to_integers(g, ordering="default")
    return from_edges(g.number_of_nodes(), graph_edges(g), names)


def from_edges(n: int, edges: np.ndarray, names: tuple[str, ...] | None = None) -> ReferralGraph:
    """A ReferralGraph of n nodes from sorted (i, j) edges, i < j."""
    return ReferralGraph(n=n, edges=edges, adjacency=adjacency_from_edges(n, edges), names=names)


def build_referral_graph(spec: Network, n: int, seed: int, path: str | None) -> ReferralGraph:
    """The referral graph for a scenario: read from `path` or drawn from the seed.

    Built afresh on every call (no cache): each model owns its graph.
    """
    if spec.kind == "file":
        assert path is not None
        return to_referral_graph(read_graph_file(Path(path), spec.format))
    return from_edges(n, generate_edges(spec, n, seed))


def colleague_edges(start: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """Links inside accounts: each pair of members of an account (rows start[a] to
    start[a + 1] - 1) know each other with chance p. Accounts of one size are handled
    together, so the work is one vectorised pass per group size. Draws one uniform per
    pair of colleagues when p < 1."""
    sizes = np.diff(start)
    parts = []
    for s in np.unique(sizes[sizes > 1]):
        i, j = np.triu_indices(int(s), 1)
        first = start[:-1][sizes == s]
        parts.append(np.stack([(first[:, None] + i).ravel(), (first[:, None] + j).ravel()], 1))
    if not parts:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(parts).astype(np.int64)
    if p < 1.0:
        pairs = pairs[rng.random(pairs.shape[0]) < p]
    return pairs


def with_colleagues(graph: ReferralGraph, start: np.ndarray, p: float, seed: int) -> ReferralGraph:
    """The referral graph plus the links between colleagues of each account: dense
    inside accounts, the scenario's generated (or file) graph across them."""
    rng = np.random.default_rng([seed, 1])
    both = np.concatenate([graph.edges, colleague_edges(start, p, rng)])
    edges = canonical_edges(both[:, 0], both[:, 1], graph.n)
    return from_edges(graph.n, edges, graph.names)
