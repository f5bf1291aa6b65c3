"""Exact dense search over chunk vectors held in memory.

Chroma stays the store of record (ingest writes there, the vectors are read from there), but
for a help center's few hundred to a hundred thousand chunks one matrix product is exact and
far cheaper than a query through Chroma's HNSW index and SQLite metadata layer: measured with
``help-assistant bench`` at 203 chunks, ~1.3 ms per Chroma query against ~0.05 ms here; at 100k
chunks the product is ~10 ms on two cores and the matrix takes 150 MB. Above
``MAX_IN_MEMORY`` chunks the retriever queries Chroma instead.

Example::

    index = MatrixIndex(np.asarray(vectors, dtype=np.float32))
    rows, sims = index.top(query_vector, 20)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Above this many chunks dense search goes through Chroma's approximate index.
MAX_IN_MEMORY = 500_000


class MatrixIndex:
    """Cosine similarity against L2-normalised rows, best first, ties broken by row."""

    def __init__(self, vectors: np.ndarray) -> None:
        if vectors.ndim != 2:
            raise ValueError("vectors must be a 2-D matrix")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)

    def __len__(self) -> int:
        return int(self.vectors.shape[0])

    def top(
        self, query: Sequence[float], k: int, mask: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Row numbers and similarities of the ``k`` nearest rows (only rows where ``mask``)."""
        if not len(self):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32)
        q = np.asarray(query, dtype=np.float32)
        q = q / max(float(np.linalg.norm(q)), 1e-12)
        sims = self.vectors @ q
        if mask is not None:
            sims = np.where(mask, sims, -np.inf)
        k = min(k, len(self))
        candidates = np.argpartition(-sims, k - 1)[:k]
        order = np.lexsort((candidates, -sims[candidates]))
        rows = candidates[order]
        keep = np.isfinite(sims[rows])
        return rows[keep], sims[rows][keep]
