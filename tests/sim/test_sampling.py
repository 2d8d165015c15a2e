"""The guide-table sampler gives exactly the plain inverse-CDF answer, draw for draw."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.sampling import BINS, DiscreteSampler


def naive(u: np.ndarray, group: np.ndarray, cdfs: np.ndarray) -> np.ndarray:
    return (u[:, None] >= cdfs[group]).sum(1)


def test_matches_naive_inverse_cdf_on_random_tables() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        g, k = rng.integers(1, 13), rng.integers(1, 10)
        w = rng.random((g, k)) * (rng.random((g, k)) < 0.8)
        cdfs = np.cumsum(w, 1) / (w.sum(1, keepdims=True) + rng.random((g, 1)))  # rows < 1
        u = rng.random(5000)
        group = rng.integers(0, g, 5000)
        np.testing.assert_array_equal(DiscreteSampler(cdfs).draw(u, group), naive(u, group, cdfs))


def test_draws_exactly_on_steps_and_bin_edges() -> None:
    cdfs = np.array([[0.25, 0.5, 0.5, 1.0], [0.0, 3 / BINS, 0.999, 0.999]])
    u = np.array([0.0, 0.25, 0.5, 0.75, 3 / BINS, 2 / BINS, 0.999, 0.9995, 1 - 1e-16])
    for g in (0, 1):
        group = np.full(u.size, g)
        np.testing.assert_array_equal(DiscreteSampler(cdfs).draw(u, group), naive(u, group, cdfs))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=9),
    st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=50),
)
def test_any_single_distribution(weights: list[float], us: list[float]) -> None:
    cdf = np.maximum.accumulate(np.array(weights))[None, :]
    u = np.array(us)
    group = np.zeros(u.size, dtype=np.int64)
    np.testing.assert_array_equal(DiscreteSampler(cdf).draw(u, group), naive(u, group, cdf))


def test_add_rows_accumulates_repeated_rows_like_add_at() -> None:
    from sim.arrays import add_rows

    rng = np.random.default_rng(3)
    rows = np.sort(rng.integers(0, 50, 400))
    values = rng.random((400, 4))
    expected = np.zeros((50, 4))
    np.add.at(expected, rows, values)
    got = np.zeros((50, 4))
    add_rows(got, rows, values)
    np.testing.assert_allclose(got, expected)
