"""How dense and BM25 scores become one ranking: chosen by name with :func:`make_fusion`.

Each fusion takes the two candidate lists as ``{chunk_id: score in [0, 1]}`` and returns one such
mapping; ``uses_dense`` / ``uses_bm25`` tell the retriever which sides to compute at all.

Example::

    fusion = make_fusion("weighted")
    fused = fusion({"a": 0.8, "b": 0.6}, {"b": 0.5})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

Scores = Mapping[str, float]

#: Weight of the dense similarity in the weighted fusion; the rest goes to BM25. Measured on
#: eval/datasets/dev.jsonl (the 189-case set of the first evaluation, eval/README.md): hit@1 0.930
#: at 0.7 against 0.906 for RRF; dense carries paraphrases and typos, BM25 exact terms.
DENSE_WEIGHT = 0.7
#: RRF's rank constant, the value of Cormack et al. (SIGIR 2009), which most libraries keep.
RRF_K = 60


@dataclass(frozen=True)
class Fusion:
    """Base: ``fusion(dense, sparse) -> fused``; subclasses override :meth:`__call__`."""

    name: str = "weighted"
    uses_dense: bool = True
    uses_bm25: bool = True

    def __call__(self, dense: Scores, sparse: Scores) -> dict[str, float]:
        raise NotImplementedError


@dataclass(frozen=True)
class WeightedFusion(Fusion):
    """``w * dense + (1 - w) * bm25``: the scores keep their meaning across questions, so the
    answerability model can read them."""

    dense_weight: float = DENSE_WEIGHT

    def __call__(self, dense: Scores, sparse: Scores) -> dict[str, float]:
        w = self.dense_weight
        return {
            c: w * dense.get(c, 0.0) + (1 - w) * sparse.get(c, 0.0)
            for c in dense.keys() | sparse.keys()
        }


@dataclass(frozen=True)
class RRFFusion(Fusion):
    """Reciprocal-rank fusion decides the order; the reported score is the weighted one scaled
    down by rank, so score thresholds keep their meaning."""

    name: str = "rrf"
    k: int = RRF_K

    def __call__(self, dense: Scores, sparse: Scores) -> dict[str, float]:
        rrf: dict[str, float] = {}
        for ranking in (dense, sparse):
            ordered = sorted(ranking, key=lambda c: (-ranking[c], c))
            for rank, chunk_id in enumerate(ordered):
                rrf[chunk_id] = rrf.get(chunk_id, 0.0) + 1.0 / (self.k + rank + 1)
        top = max(WeightedFusion()(dense, sparse).values(), default=0.0)
        order = sorted(rrf, key=lambda c: (-rrf[c], c))
        return {c: top * (1 - i / (len(order) + 1)) for i, c in enumerate(order)}


@dataclass(frozen=True)
class SingleFusion(Fusion):
    """One side only (``dense`` or ``bm25``), for comparisons."""

    def __call__(self, dense: Scores, sparse: Scores) -> dict[str, float]:
        return dict(dense if self.uses_dense else sparse)


FUSIONS: dict[str, Fusion] = {
    "weighted": WeightedFusion(),
    "rrf": RRFFusion(),
    "dense": SingleFusion("dense", uses_dense=True, uses_bm25=False),
    "bm25": SingleFusion("bm25", uses_dense=False, uses_bm25=True),
}


def make_fusion(name: str) -> Fusion:
    """The fusion called ``name``; a ``ValueError`` lists the supported choices."""
    try:
        return FUSIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown fusion {name!r}; supported: {', '.join(FUSIONS)}"
        ) from None
