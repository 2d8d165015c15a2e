"""The fast generators draw the same random graphs as networkx's.

Equality is in distribution (other random numbers), checked two ways:

1. On tiny graphs, where every step of the model matters (rewirings often clash, sets
   of targets repeat), the distribution of the whole degree sequence is compared with
   networkx's over thousands of draws by a chi-square test of homogeneity; the same
   test must reject a generator with a wrong parameter, so it has power.
2. On small graphs over several seeds: exact edge counts where the model fixes them,
   pooled degree histograms (two-sample Kolmogorov-Smirnov) and the mean clustering
   coefficient within a stated tolerance.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import networkx as nx
import numpy as np
import pytest
from scipy import stats

from sim.graphs import (
    adjacency_from_edges,
    barabasi_albert_edges,
    powerlaw_cluster_edges,
    watts_strogatz_edges,
)

Fast = Callable[[int, np.random.Generator], np.ndarray]
Slow = Callable[[int, int], nx.Graph]

# (name, fast generator of n nodes, networkx generator of n nodes)
KINDS: dict[str, tuple[Fast, Slow]] = {
    "watts_strogatz": (
        lambda n, rng: watts_strogatz_edges(n, 10, 0.2, rng),
        lambda n, s: nx.watts_strogatz_graph(n, 10, 0.2, seed=s),
    ),
    "barabasi_albert": (
        lambda n, rng: barabasi_albert_edges(n, 3, rng),
        lambda n, s: nx.barabasi_albert_graph(n, 3, seed=s),
    ),
    "powerlaw_cluster": (
        lambda n, rng: powerlaw_cluster_edges(n, 3, 0.5, rng),
        lambda n, s: nx.powerlaw_cluster_graph(n, 3, 0.5, seed=s),
    ),
}


def degrees(n: int, edges: np.ndarray) -> np.ndarray:
    return np.bincount(edges.ravel(), minlength=n)


def fast_graph(n: int, edges: np.ndarray) -> nx.Graph:
    g = nx.empty_graph(n)
    g.add_edges_from(edges.tolist())
    return g


def homogeneity_p(a: Counter, b: Counter, min_count: int = 10) -> float:
    """Chi-square p-value that two samples of categories come from one distribution.

    Categories seen fewer than min_count times in both samples together are pooled into
    one cell, so every expected count is large enough for the chi-square approximation.
    """
    cells = sorted(set(a) | set(b), key=repr)
    common = [c for c in cells if a[c] + b[c] >= min_count]
    rare = [c for c in cells if a[c] + b[c] < min_count]
    table = [[a[c] for c in common], [b[c] for c in common]]
    if rare:
        table[0].append(sum(a[c] for c in rare))
        table[1].append(sum(b[c] for c in rare))
    return float(stats.chi2_contingency(np.array(table)).pvalue)


def labelled_degrees(n: int, edges: np.ndarray) -> tuple:
    """Who has which degree: the finest summary that still has few enough values."""
    return tuple(degrees(n, edges).tolist())


def degrees_and_triangles(n: int, edges: np.ndarray) -> tuple:
    """Sorted degree sequence and triangle count (labelled degrees have too many values)."""
    a = adjacency_from_edges(n, edges)
    return (*sorted(degrees(n, edges).tolist()), int((a @ a).multiply(a).sum()) // 6)


def fast_summaries(gen: Fast, n: int, draws: int, seed: int, summary) -> Counter:
    rng = np.random.default_rng(seed)
    return Counter(summary(n, gen(n, rng)) for _ in range(draws))


def nx_summaries(gen: Slow, n: int, draws: int, seed: int, summary) -> Counter:
    def edges(g: nx.Graph) -> np.ndarray:
        return np.array(list(g.edges()), dtype=np.int64).reshape(-1, 2)

    return Counter(summary(n, edges(gen(n, seed + i))) for i in range(draws))


# --- 1. whole-graph distribution on tiny graphs -------------------------------------------

DRAWS = 3000
P_MIN = 1e-3  # a true difference this test must not miss gives p < 1e-10 (see below)

TINY: dict[str, tuple[int, Fast, Slow, Fast, Callable]] = {
    # n = 9 > 2k + 2 keeps Watts-Strogatz on its vectorised path; p = 0.7 makes rewirings
    # clash with each other often, exercising the in-order redraws
    "watts_strogatz": (
        9,
        lambda n, rng: watts_strogatz_edges(n, 2, 0.7, rng),
        lambda n, s: nx.watts_strogatz_graph(n, 2, 0.7, seed=s),
        lambda n, rng: watts_strogatz_edges(n, 2, 0.4, rng),
        degrees_and_triangles,
    ),
    # n <= 2k + 2: the sequential rule, where a node joined to all others is skipped
    "watts_strogatz_dense": (
        7,
        lambda n, rng: watts_strogatz_edges(n, 4, 0.7, rng),
        lambda n, s: nx.watts_strogatz_graph(n, 4, 0.7, seed=s),
        lambda n, rng: watts_strogatz_edges(n, 4, 0.2, rng),
        degrees_and_triangles,
    ),
    "barabasi_albert": (
        8,
        lambda n, rng: barabasi_albert_edges(n, 2, rng),
        lambda n, s: nx.barabasi_albert_graph(n, 2, seed=s),
        lambda n, rng: barabasi_albert_edges(n, 1, rng),
        labelled_degrees,
    ),
    # labels < 8 sit in set slots in label order: this checks set.pop() order too
    "powerlaw_cluster": (
        8,
        lambda n, rng: powerlaw_cluster_edges(n, 3, 0.5, rng),
        lambda n, s: nx.powerlaw_cluster_graph(n, 3, 0.5, seed=s),
        lambda n, rng: powerlaw_cluster_edges(n, 3, 0.0, rng),
        labelled_degrees,
    ),
}


@pytest.mark.parametrize("kind", list(TINY))
def test_tiny_graphs_have_networkx_distribution(kind: str) -> None:
    n, fast, slow, wrong, summary = TINY[kind]
    theirs = nx_summaries(slow, n, DRAWS, 10_000, summary)
    assert homogeneity_p(fast_summaries(fast, n, DRAWS, 1, summary), theirs) > P_MIN
    # power: the same test tells a wrong parameter apart
    assert homogeneity_p(fast_summaries(wrong, n, DRAWS, 2, summary), theirs) < 1e-10


# --- 2. small graphs over seeds -------------------------------------------------------

N = 400
SEEDS = range(8)
CLUSTERING_TOL = 0.02  # |mean clustering, fast - networkx| over 8 graphs each


@pytest.fixture(scope="module", params=list(KINDS))
def samples(request) -> tuple[str, list[np.ndarray], list[nx.Graph]]:
    fast, slow = KINDS[request.param]
    ours = [fast(N, np.random.default_rng(s)) for s in SEEDS]
    theirs = [slow(N, 1000 + s) for s in SEEDS]
    return request.param, ours, theirs


def test_edge_count_is_the_models(samples) -> None:
    kind, ours, theirs = samples
    fixed = {"watts_strogatz": N * 10 // 2, "barabasi_albert": 3 * (N - 3)}
    counts = [len(e) for e in ours]
    if kind in fixed:  # exact, as in networkx
        assert counts == [fixed[kind]] * len(ours)
        assert [g.number_of_edges() for g in theirs] == [fixed[kind]] * len(theirs)
    else:  # powerlaw_cluster: at most m per node, a popped target may already be linked
        nx_counts = [g.number_of_edges() for g in theirs]
        assert max(counts) <= 3 * (N - 3)
        assert abs(np.mean(counts) - np.mean(nx_counts)) < 3.0


def test_pooled_degree_distribution_matches_networkx(samples) -> None:
    """Two-sample KS on all degrees of 8 graphs each (3,200 values): p > 0.001."""
    _, ours, theirs = samples
    d_ours = np.concatenate([degrees(N, e) for e in ours])
    d_theirs = np.concatenate([[d for _, d in g.degree()] for g in theirs])
    assert stats.ks_2samp(d_ours, d_theirs).pvalue > 1e-3
    assert abs(d_ours.var() - d_theirs.var()) < 0.15 * d_theirs.var()


def test_mean_clustering_matches_networkx(samples) -> None:
    _, ours, theirs = samples
    c_ours = np.mean([nx.average_clustering(fast_graph(N, e)) for e in ours])
    c_theirs = np.mean([nx.average_clustering(g) for g in theirs])
    assert abs(c_ours - c_theirs) < CLUSTERING_TOL


def test_no_self_loops_no_duplicates_sorted_rows(samples) -> None:
    _, ours, _ = samples
    for e in ours:
        assert e.dtype == np.int64 and e.shape[1] == 2
        assert np.all(e[:, 0] < e[:, 1])
        assert len(np.unique(e, axis=0)) == len(e)
        assert np.array_equal(e, e[np.lexsort((e[:, 1], e[:, 0]))])


@pytest.mark.parametrize("kind", list(KINDS))
def test_same_seed_same_graph_other_seed_other_graph(kind: str) -> None:
    fast, _ = KINDS[kind]
    a = fast(300, np.random.default_rng(5))
    assert np.array_equal(a, fast(300, np.random.default_rng(5)))
    assert not np.array_equal(a, fast(300, np.random.default_rng(6)))


# --- Watts-Strogatz specifics -----------------------------------------------------------


def test_watts_strogatz_without_rewiring_is_the_ring_lattice() -> None:
    e = watts_strogatz_edges(50, 6, 0.0, np.random.default_rng(0))
    expected = nx.watts_strogatz_graph(50, 6, 0.0, seed=0)
    assert {tuple(x) for x in e.tolist()} == {tuple(sorted(x)) for x in expected.edges()}


def test_watts_strogatz_rewiring_keeps_the_first_end_point() -> None:
    """networkx rewires (u, v) to (u, w): each node keeps >= k/2 of its edges' ends."""
    n, k = 2000, 10
    e = watts_strogatz_edges(n, k, 1.0, np.random.default_rng(3))
    assert len(e) == n * k // 2 and degrees(n, e).min() >= k // 2


def test_watts_strogatz_dense_graphs_match_networkx_edge_cases() -> None:
    rng = np.random.default_rng(0)
    assert len(watts_strogatz_edges(6, 6, 0.5, rng)) == 15  # k == n: complete graph
    assert len(watts_strogatz_edges(6, 5, 0.9, rng)) == 12  # sequential rule, skips
    with pytest.raises(ValueError):
        watts_strogatz_edges(5, 6, 0.1, rng)


# --- the sparse adjacency -----------------------------------------------------------


@pytest.mark.parametrize("kind", list(KINDS))
def test_adjacency_is_networkx_csr_for_the_same_edges(kind: str) -> None:
    fast, _ = KINDS[kind]
    n = 300
    e = fast(n, np.random.default_rng(9))
    a = adjacency_from_edges(n, e)
    expected = nx.to_scipy_sparse_array(
        fast_graph(n, e), nodelist=range(n), dtype=np.float32, weight=None, format="csr"
    )
    assert a.dtype == np.float32 and a.shape == (n, n) and a.has_sorted_indices
    assert np.array_equal(a.indptr, expected.indptr)
    assert np.array_equal(a.indices, expected.indices)
    assert np.array_equal(a.data, expected.data)
    assert (a != a.T).nnz == 0 and a.diagonal().sum() == 0
