"""Exact in-memory dense search agrees with a brute-force ranking."""

from __future__ import annotations

import numpy as np

from assistant.dense import MatrixIndex


def grid_vectors() -> np.ndarray:
    """Deterministic unit vectors: angles around a circle in the first two dimensions."""
    angles = np.linspace(0, np.pi, 12, endpoint=False)
    vectors = np.zeros((12, 4), dtype=np.float32)
    vectors[:, 0], vectors[:, 1] = np.cos(angles), np.sin(angles)
    return vectors


def test_top_rows_are_the_nearest_in_order() -> None:
    index = MatrixIndex(grid_vectors() * 3.0)  # rows are normalised on the way in
    rows, sims = index.top([1.0, 0.0, 0.0, 0.0], 3)
    assert rows.tolist() == [0, 1, 2]  # 0, 15 and 30 degrees away
    assert np.all(np.diff(sims) <= 0) and abs(float(sims[0]) - 1.0) < 1e-6


def test_mask_excludes_rows_and_k_is_capped() -> None:
    index = MatrixIndex(grid_vectors())
    mask = np.zeros(12, dtype=bool)
    mask[[5, 6]] = True
    rows, _ = index.top([1.0, 0.0, 0.0, 0.0], 10, mask=mask)
    assert sorted(rows.tolist()) == [5, 6]
    empty = MatrixIndex(np.zeros((0, 4), dtype=np.float32))
    assert len(empty.top([1.0, 0, 0, 0], 5)[0]) == 0
