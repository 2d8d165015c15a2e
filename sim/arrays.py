"""Scatter helpers the weekly processes share: accumulate into rows and cells of the
state's arrays, and read the rows of the referral graph's CSR adjacency.

numpy's `add.at` has a fast path only for 1-D targets; these helpers use it on the flat
view of a C-ordered 2-D array, so repeated indices accumulate (as they must when one buyer
gets two exposures in a week) at close to the speed of a plain fancy-index add.
"""

from __future__ import annotations

import numpy as np


def add_at(target: np.ndarray, rows: np.ndarray, cols: np.ndarray, values: np.ndarray) -> None:
    """target[rows, cols] += values, accumulating repeated cells (a 2-D C-ordered array).

    Same result as `np.add.at(target, (rows, cols), values)`, on the flat view where
    numpy's fast 1-D path applies."""
    np.add.at(target.reshape(-1), rows * target.shape[1] + cols, values)


def add_rows(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """target[rows] += values (one row of values per index), accumulating repeated rows,
    on the flat view where numpy's fast 1-D `add.at` path applies."""
    width = target.shape[1]
    flat = (rows[:, None] * width + np.arange(width)).reshape(-1)
    np.add.at(target.reshape(-1), flat, values.reshape(-1))


def rows_of(array: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """array[rows] for a 2-D array, as a new array: `np.take` along axis 0 is several
    times faster than fancy indexing for the row gathers of the weekly step."""
    return np.take(array, rows, axis=0)


def csr_rows(matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Column indices of the non-zeros in `rows` of a CSR matrix, and which row (position
    in `rows`) each belongs to; cheaper than slicing a new sparse matrix."""
    indptr = matrix.indptr
    start = indptr[rows]
    length = indptr[rows + 1] - start
    owner = np.repeat(np.arange(rows.size), length)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(length) - length, length)
    return matrix.indices[np.repeat(start, length) + offset], owner


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


def counter_uniforms(
    key: int, week: int, index: np.ndarray, lane: int | np.ndarray = 0
) -> np.ndarray:
    """Uniforms in [0, 1) that are a fixed function of (key, week, index, lane): the
    splitmix64 finaliser over a combined counter (counter-based random numbers, as in
    Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011).

    A process that needs a uniform for only SOME rows of a fixed-shape array (the
    consultations that showed a tracking vendor) computes them for those rows alone,
    and row i gets the same number whatever the strategy: the paired-draw rule holds
    without drawing for every row. `key` comes from the process's own stream; `lane`
    (one for all, or one per index, small non-negative integers) separates index
    spaces of different kinds."""
    i = np.asarray(index, dtype=np.uint64)
    # the scalar part in Python integers (numpy warns on scalar wrap-around): each
    # (key, week, lane) gets its own well-mixed starting point, so weeks never overlap
    start = _splitmix_int(_splitmix_int(int(key)) ^ int(week))
    if np.ndim(lane) == 0:
        base = np.uint64(_splitmix_int(start ^ int(lane)))
    else:
        lanes = np.asarray(lane, dtype=np.int64)
        top = int(lanes.max()) + 1 if lanes.size else 0
        table = np.array([_splitmix_int(start ^ j) for j in range(top)], dtype=np.uint64)
        base = table[lanes]
    z = i + np.uint64(1)
    z *= _GOLDEN  # uint64 arrays wrap silently
    z += base
    z ^= z >> np.uint64(30)
    z *= _MIX1
    z ^= z >> np.uint64(27)
    z *= _MIX2
    z ^= z >> np.uint64(31)
    z >>= np.uint64(11)
    return z.astype(np.float64) * (1.0 / 9007199254740992.0)


def _splitmix_int(x: int) -> int:
    """One splitmix64 step on a Python integer (64-bit wrap-around)."""
    m = 2**64
    z = (x + 0x9E3779B97F4A7C15) % m
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % m
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % m
    return z ^ (z >> 31)
