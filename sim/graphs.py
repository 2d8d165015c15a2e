"""Fast random referral graphs with the same distribution as networkx's generators.

networkx builds its random graphs one Python dict operation at a time (about 7 s for a
1,000,000-node Watts-Strogatz graph, plus as long again for the sparse matrix), too slow
for a one-minute 1M-buyer run. The functions here draw from the *same models*, step for
step, but return a plain edge array, so the model never needs a networkx object:

* `watts_strogatz_edges`   == `nx.watts_strogatz_graph(n, k, p)`, vectorised with numpy.
* `barabasi_albert_edges`  == `nx.barabasi_albert_graph(n, m)`, a tight array loop.
* `powerlaw_cluster_edges` == `nx.powerlaw_cluster_graph(n, m, p)`, a tight array loop.

"Same" means equal in distribution, not bit for bit: the random numbers come from a
`numpy.random.Generator` and are consumed in another order. No C-backed library is used
because none reproduces these three models: igraph's `Watts_Strogatz` rewires either
end point of every edge and may leave multi-edges (`allowed_edge_types`), and its
Barabasi game starts from one node and draws with replacement, unlike networkx's star
seed and `_random_subset`.

Edges come back as an (E, 2) int64 array with i < j in each row, rows unique and sorted;
`adjacency_from_edges` turns them into the symmetric float32 CSR matrix the model uses.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

_CHUNK = 1 << 16  # most uniforms drawn per refill of a sequential loop's random stream


# --------------------------------------------------------------------------- helpers


def canonical_edges(i: np.ndarray, j: np.ndarray, n: int) -> np.ndarray:
    """Rows (min, max) sorted lexicographically, duplicates and self-loops dropped."""
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    keep = lo != hi
    key = np.sort(lo[keep] * n + hi[keep])  # a plain sort: far faster than np.unique
    key = key[np.concatenate([[True], key[1:] != key[:-1]])] if key.size else key
    return np.stack([key // n, key % n], axis=1) if n else np.empty((0, 2), np.int64)


def adjacency_from_edges(n: int, edges: np.ndarray) -> sp.csr_matrix:
    """The symmetric (n, n) float32 CSR adjacency of an undirected edge array.

    Equal to `nx.to_scipy_sparse_array(g, nodelist=range(n), dtype=np.float32,
    weight=None, format="csr")` for the graph with these edges: one 1.0 per direction
    of each edge, indices sorted within each row, no explicit zeros.
    """
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    i, j = edges[:, 0], edges[:, 1]
    key = np.sort(np.concatenate([i * n + j, j * n + i]))  # row-major, sorted columns
    rows, cols = key // n if n else key, key % n if n else key
    idx_dtype = np.int32 if max(n, rows.size) < np.iinfo(np.int32).max else np.int64
    indptr = np.zeros(n + 1, dtype=idx_dtype)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    data = np.ones(rows.size, dtype=np.float32)
    a = sp.csr_matrix((data, cols.astype(idx_dtype), indptr), shape=(n, n))
    a.has_sorted_indices = True
    return a


def edges_from_adjacency(a: sp.csr_matrix) -> np.ndarray:
    """The upper triangle of a symmetric CSR matrix as sorted (i, j) rows, i < j."""
    a = sp.csr_matrix(a)
    rows = np.repeat(np.arange(a.shape[0], dtype=np.int64), np.diff(a.indptr))
    cols = a.indices.astype(np.int64)
    upper = rows < cols
    return np.stack([rows[upper], cols[upper]], axis=1)


def _uniform_stream(rng: np.random.Generator) -> Callable[[], float]:
    """A cheap `random()` for sequential loops: floats in [0, 1) drawn in chunks.

    Chunks start small and double, so a tiny graph does not pay for 65k numbers.
    """
    buf: list[float] = []
    size = [16]

    def draw() -> float:
        if not buf:
            buf.extend(rng.random(size[0]).tolist())
            buf.reverse()
            size[0] = min(2 * size[0], _CHUNK)
        return buf.pop()

    return draw


def _complete_edges(n: int) -> np.ndarray:
    i, j = np.triu_indices(n, k=1)
    return np.stack([i, j], axis=1).astype(np.int64)


# --------------------------------------------------------------------- Watts-Strogatz


def watts_strogatz_edges(n: int, k: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """A Watts-Strogatz small world, the model of `nx.watts_strogatz_graph(n, k, p)`.

    Ring lattice: node u is joined to u+1 .. u+k//2 (mod n). Then every lattice edge
    (u, u+j), in networkx's order (j outer, u inner), is rewired with probability p to
    (u, w), w uniform over the nodes that are neither u nor u's neighbours *at that
    moment* (networkx redraws until it finds one); the edge count stays n * (k//2).

    Vectorised: the coins are independent, and whether a candidate w is blocked by u
    itself or by a lattice edge still in place depends only on the coins and on the
    position in the order, so all candidates are drawn and checked at once. Only a
    clash with an edge added by an *earlier* rewiring couples the draws; those clashes
    are rare (about E^2 / n^2 of them) and are redrawn one at a time, earliest first,
    against the exact graph of that moment. Tiny dense graphs, where a node can be
    joined to everyone (networkx then skips the rewiring), use the sequential rule.
    """
    if k > n:
        raise ValueError(f"k > n: k = {k}, n = {n}")
    if k == n:
        return _complete_edges(n)
    h = k // 2
    if h == 0 or n == 0:
        return np.empty((0, 2), np.int64)
    if n <= 2 * k + 2:
        return _watts_strogatz_sequential(n, k, p, rng)
    coins = rng.random(h * n) < p
    events = np.flatnonzero(coins)  # lattice-edge order numbers (j - 1) * n + u
    u = events % n
    w = _draw_clear_of_lattice(u, events, coins, n, h, rng)
    if w is None or not _resolve_added_clashes(u, w, events, coins, n, h, rng, k):
        return _watts_strogatz_sequential(n, k, p, rng)
    kept = np.flatnonzero(~coins)
    ku = kept % n
    return canonical_edges(
        np.concatenate([ku, u]), np.concatenate([(ku + kept // n + 1) % n, w]), n
    )


def _lattice_present(
    u: np.ndarray, w: np.ndarray, order: np.ndarray, coins: np.ndarray, n: int, h: int
) -> np.ndarray:
    """Whether (u, w) is a lattice edge still in place when edge number `order` is rewired.

    A lattice edge (a, a+j) has order number (j-1)*n + a; it has been removed iff its
    coin said rewire and its number is smaller (it came earlier).
    """
    d = (w - u) % n
    fwd = (d >= 1) & (d <= h)  # (u, u+d)
    bwd = d >= n - h  # (w, w+(n-d))
    num = np.where(fwd, (d - 1) * n + u, (n - d - 1) * n + w)
    lattice = fwd | bwd
    num = np.where(lattice, num, 0)
    return lattice & (~coins[num] | (num >= order))


def _draw_clear_of_lattice(
    u: np.ndarray,
    order: np.ndarray,
    coins: np.ndarray,
    n: int,
    h: int,
    rng: np.random.Generator,
    max_rounds: int = 10_000,
) -> np.ndarray | None:
    """Uniform w per event, redrawn until it is neither u nor a lattice edge in place."""
    w = rng.integers(0, n, size=u.size)
    bad = np.flatnonzero((w == u) | _lattice_present(u, w, order, coins, n, h))
    for _ in range(max_rounds):
        if bad.size == 0:
            return w
        w[bad] = rng.integers(0, n, size=bad.size)
        still = (w[bad] == u[bad]) | _lattice_present(u[bad], w[bad], order[bad], coins, n, h)
        bad = bad[still]
    return None


def _resolve_added_clashes(
    u: np.ndarray,
    w: np.ndarray,
    order: np.ndarray,
    coins: np.ndarray,
    n: int,
    h: int,
    rng: np.random.Generator,
    k: int,
) -> bool:
    """Redraw, in order, every rewiring that lands on an edge an earlier one added.

    Works in place on w. Returns False if a node could have been joined to every other
    node at some point (networkx's skip rule would then apply): the caller falls back to
    the sequential algorithm.
    """
    key = np.minimum(u, w) * n + np.maximum(u, w)
    while True:
        srt = np.argsort(key, kind="stable")  # ties keep event order
        dup = np.flatnonzero(key[srt[1:]] == key[srt[:-1]])
        if dup.size == 0:
            break
        t = int(srt[1:][dup].min())  # the earliest clash; all events before it are final
        earlier = set(key[:t].tolist())
        ut, ot = u[t : t + 1], order[t : t + 1]
        for _ in range(100_000):
            cand = rng.integers(0, n, size=1)
            c = int(cand[0])
            ck = min(int(ut[0]), c) * n + max(int(ut[0]), c)
            if (
                c != ut[0]
                and ck not in earlier
                and not _lattice_present(ut, cand, ot, coins, n, h)[0]
            ):
                break
        else:
            return False
        w[t], key[t] = c, ck
    # degree of a node never exceeds k + the rewirings that chose it: below n - 1, no
    # node was ever joined to all others, so networkx's skip rule never fired
    return k + int(np.bincount(w, minlength=n).max(initial=0)) < n - 1


def _watts_strogatz_sequential(n: int, k: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """networkx's Watts-Strogatz loop, line for line, on Python sets (tiny graphs only)."""
    adj: list[set[int]] = [set() for _ in range(n)]
    h = k // 2
    for j in range(1, h + 1):
        for a in range(n):
            b = (a + j) % n
            adj[a].add(b)
            adj[b].add(a)
    rand = _uniform_stream(rng)
    for j in range(1, h + 1):
        for a in range(n):
            b = (a + j) % n
            if rand() < p:
                c = int(rand() * n)
                skipped = False
                while c == a or c in adj[a]:
                    c = int(rand() * n)
                    if len(adj[a]) >= n - 1:
                        skipped = True
                        break
                if not skipped:
                    adj[a].discard(b)
                    adj[b].discard(a)
                    adj[a].add(c)
                    adj[c].add(a)
    src = [a for a in range(n) for b in adj[a] if a < b]
    dst = [b for a in range(n) for b in adj[a] if a < b]
    return canonical_edges(np.array(src, np.int64), np.array(dst, np.int64), n)


# -------------------------------------------------------------------- Barabasi-Albert


def barabasi_albert_edges(n: int, m: int, rng: np.random.Generator) -> np.ndarray:
    """Preferential attachment, the model of `nx.barabasi_albert_graph(n, m)`.

    Starts from a star on m + 1 nodes (hub 0); each new node s = m+1 .. n-1 links to m
    distinct existing nodes, each drawn with probability proportional to its degree:
    uniform draws from the list of edge end points ("repeated nodes"), redrawn when a
    node repeats, exactly networkx's `_random_subset`. That list is the array of
    Batagelj and Brandes (2005); its length before node s is 2m(s - m), known in
    advance, so all first draws are computed as indices at once and the loop only
    looks them up. Exactly m(n - m) edges.
    """
    if m < 1 or m >= n:
        raise ValueError(f"Barabasi-Albert needs 1 <= m < n, m = {m}, n = {n}")
    repeated: list[int] = [0] * m + list(range(1, m + 1))
    src_first = np.arange(m + 1, n, dtype=np.int64)
    length = 2 * m * (src_first - m)  # len(repeated) before each new node
    first = (rng.random((src_first.size, m)) * length[:, None]).astype(np.int64).tolist()
    rand = _uniform_stream(rng)
    targets: list[int] = []
    s = m + 1
    for row in first:
        t = [repeated[i] for i in row]
        if len(set(t)) < m:  # a repeat: keep the first of each, draw on (rare)
            t = list(dict.fromkeys(t))
            size = len(repeated)
            while len(t) < m:
                x = repeated[int(rand() * size)]
                if x not in t:
                    t.append(x)
        targets.extend(t)
        repeated.extend(t)
        repeated.extend([s] * m)
        s += 1
    src = np.concatenate([np.zeros(m, np.int64), np.repeat(src_first, m)])
    dst = np.concatenate([np.arange(1, m + 1, dtype=np.int64), np.array(targets, np.int64)])
    return canonical_edges(src, dst, n)


# ------------------------------------------------------------------- powerlaw cluster


def powerlaw_cluster_edges(n: int, m: int, p: float, rng: np.random.Generator) -> np.ndarray:
    """Holme-Kim clustered preferential attachment, as `nx.powerlaw_cluster_graph(n, m, p)`.

    Starts from m isolated nodes. Each new node s draws a set of m distinct nodes by
    degree (networkx's `_random_subset`, into a real Python set so that `set.pop()`
    hands them out in the same order as in networkx), links to the first popped, then
    makes m - 1 more links: with probability p a triangle (a uniform neighbour of the
    last preferential target not yet linked to s), else the next popped node. As in
    networkx, a popped node already linked through a triangle adds no edge but still
    counts, and still enters the repeated-nodes list, so a node can get fewer than m
    edges. The list's length before node s is m + 2m(s - m), so the first m draws of
    every node are computed at once.
    """
    if m < 1 or n < m:
        raise ValueError(f"powerlaw_cluster needs 1 <= m <= n, m = {m}, n = {n}")
    if not 0 <= p <= 1:
        raise ValueError(f"powerlaw_cluster needs 0 <= p <= 1, p = {p}")
    adj: list[list[int]] = [[] for _ in range(n)]
    repeated: list[int] = list(range(m))
    sources = np.arange(m, n, dtype=np.int64)
    length = m + 2 * m * (sources - m)
    first = (rng.random((sources.size, m)) * length[:, None]).astype(np.int64).tolist()
    rand = _uniform_stream(rng)
    src: list[int] = []
    dst: list[int] = []
    source = m
    for row in first:
        chosen: set[int] = set()
        for i in row:  # same insertion order as networkx's draws, hence same pop order
            chosen.add(repeated[i])
        if len(chosen) < m:
            size = len(repeated)
            while len(chosen) < m:
                chosen.add(repeated[int(rand() * size)])
        linked: list[int] = []
        target = chosen.pop()
        _link(adj, src, dst, linked, source, target)
        repeated.append(target)
        count = 1
        while count < m:
            if rand() < p:
                nbr = _free_neighbour(adj[target], source, linked, rand)
                if nbr >= 0:
                    _link(adj, src, dst, linked, source, nbr)
                    repeated.append(nbr)
                    count += 1
                    continue
            target = chosen.pop()
            if target not in linked:
                _link(adj, src, dst, linked, source, target)
            repeated.append(target)
            count += 1
        repeated.extend([source] * m)
        source += 1
    return canonical_edges(np.array(src, np.int64), np.array(dst, np.int64), n)


def _free_neighbour(
    nbrs: list[int], source: int, linked: list[int], rand: Callable[[], float]
) -> int:
    """A uniform neighbour not yet linked to source (and not source), or -1 if none.

    At most len(linked) + 1 neighbours are excluded, so for a hub (more than twice that
    many neighbours) uniform draws redrawn on an excluded one are cheap and give the
    same uniform choice as networkx's list of candidates, without scanning the hub.
    """
    if len(nbrs) > 2 * (len(linked) + 1):
        while True:
            x = nbrs[int(rand() * len(nbrs))]
            if x != source and x not in linked:
                return x
    hood = [x for x in nbrs if x != source and x not in linked]
    return hood[int(rand() * len(hood))] if hood else -1


def _link(
    adj: list[list[int]], src: list[int], dst: list[int], linked: list[int], s: int, t: int
) -> None:
    """Add the edge (s, t) to the adjacency lists and the output."""
    adj[s].append(t)
    adj[t].append(s)
    linked.append(t)
    src.append(s)
    dst.append(t)
