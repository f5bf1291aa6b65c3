"""Exact dense search over chunk vectors held in memory.

Chroma stays the store of record (ingest writes there, the vectors are read from there), but
for a help center's few hundred to tens of thousands of chunks one matrix product is exact and
cheaper than a query through Chroma's HNSW index and SQLite metadata layer: measured with
``help-assistant bench`` at 203 chunks, ~1.3 ms per Chroma query against ~0.05 ms here.

The product reads every vector once per query, so its cost grows with the corpus (about 9 ms
at 100k chunks on two idle cores, bandwidth-bound), while HNSW's barely grows. The bench's scale
stage times both on the same queries (``exact p95``, ``HNSW p95``, ``HNSW recall@20``): on a
loaded 2-core machine, 7.0 against 8.7 ms at 10k chunks (HNSW recall 0.998), 37.9 against
12.6 ms at 100k (recall 0.988). Exact search therefore stops at ``MAX_IN_MEMORY`` = 50k chunks,
where it still costs a few milliseconds; above, the retriever queries Chroma's HNSW index.

Example::

    index = MatrixIndex(np.asarray(vectors, dtype=np.float32))
    rows, sims = index.top(query_vector, 20)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Above this many chunks dense search goes through Chroma's approximate index (see above).
MAX_IN_MEMORY = 50_000


class MatrixIndex:
    """Cosine similarity against L2-normalised rows, best first, ties broken by row."""

    def __init__(self, vectors: np.ndarray) -> None:
        if vectors.ndim != 2:
            raise ValueError("vectors must be a 2-D matrix")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        # float32, C-contiguous: one BLAS matrix-vector product reads the rows in order
        # (a product over 100k x 384 floats is bound by memory bandwidth, ~150 MB per query).
        normalised = (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
        self.vectors = np.ascontiguousarray(normalised)

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
        sims = self.vectors @ q  # a fresh array: masked and partitioned in place, no copies
        if mask is not None:
            sims[~mask] = -np.inf
        n = len(self)
        k = min(k, n)
        # the k largest, unordered (the same set as partitioning -sims; ties at the k-th value
        # were already arbitrary), then ordered by similarity and row below
        candidates = np.argpartition(sims, n - k)[n - k :] if k < n else np.arange(n)
        order = np.lexsort((candidates, -sims[candidates]))
        rows = candidates[order]
        keep = np.isfinite(sims[rows])
        return rows[keep], sims[rows][keep]
