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
