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


def test_top_k_equals_a_full_sort_on_a_large_random_matrix() -> None:
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((5000, 32)).astype(np.float32)
    index = MatrixIndex(vectors)
    assert index.vectors.flags["C_CONTIGUOUS"] and index.vectors.dtype == np.float32
    mask = rng.random(5000) < 0.3
    for query in rng.standard_normal((5, 32)):
        for k, rows_mask in ((20, None), (50, mask), (6000, mask)):
            sims = index.vectors @ (query / np.linalg.norm(query)).astype(np.float32)
            allowed = np.ones(5000, bool) if rows_mask is None else rows_mask
            expected = sorted(np.flatnonzero(allowed), key=lambda r: (-sims[r], r))[:k]
            rows, got = index.top(query, k, rows_mask)
            assert rows.tolist() == expected
            np.testing.assert_allclose(got, sims[expected], atol=1e-5)
