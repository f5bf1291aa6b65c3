"""Measure the cosine threshold at which a stored correction is served for a new question.

Reads labelled question pairs (``same``: a rewording the same corrected answer must answer;
``different``: a question that needs another answer, often on the same topic), embeds them with
the assistant's own model and prints the cosine of each pair, then precision and recall of
"serve the correction" at each candidate threshold::

    .venv/bin/python -m api.correction_threshold tests/fixtures/correction_pairs.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from api.corrections import same_request


@dataclass(frozen=True)
class PairScore:
    a: str
    b: str
    same: bool
    cosine: float
    #: whether :func:`api.corrections.same_request` lets the pair through
    guard: bool = True


@dataclass(frozen=True)
class Operating:
    threshold: float
    precision: float
    recall: float
    false_matches: int


def load_pairs(path: Path) -> list[tuple[str, str, bool]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return [(p["a"], p["b"], p["label"] == "same") for p in data["pairs"]]


def score_pairs(pairs: Sequence[tuple[str, str, bool]], embeddings: Embeddings) -> list[PairScore]:
    """The cosine of each pair, as the correction matcher computes it (``embed_query``)."""
    texts = sorted({t for a, b, _ in pairs for t in (a, b)})
    vectors = np.asarray([embeddings.embed_query(t) for t in texts], dtype=np.float32)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    index = {t: i for i, t in enumerate(texts)}
    return [
        PairScore(a, b, same, float(vectors[index[a]] @ vectors[index[b]]), same_request(a, b))
        for a, b, same in pairs
    ]


def operating_point(
    scores: Sequence[PairScore], threshold: float, *, guard: bool = True
) -> Operating:
    """Precision and recall of serving a correction at ``threshold`` (with the word guard)."""
    served = [s for s in scores if s.cosine >= threshold and (s.guard or not guard)]
    true = sum(s.same for s in served)
    positives = sum(s.same for s in scores)
    precision = true / len(served) if served else 1.0
    recall = true / positives if positives else 0.0
    return Operating(threshold, precision, recall, len(served) - true)


def sweep(scores: Sequence[PairScore], *, guard: bool = True) -> list[Operating]:
    thresholds = np.arange(0.70, 1.0 + 1e-9, 0.01)
    return [operating_point(scores, round(float(t), 2), guard=guard) for t in thresholds]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pairs", type=Path)
    parser.add_argument("--no-guard", action="store_true", help="cosine alone, no word guard")
    args = parser.parse_args(argv)
    from assistant.embeddings import make_embeddings
    from assistant.settings import Settings

    scores = score_pairs(load_pairs(args.pairs), make_embeddings(Settings()))
    for s in sorted(scores, key=lambda s: -s.cosine):
        label = "same     " if s.same else "different"
        print(f"{s.cosine:.3f}  {label}  {'' if s.guard else 'guard'}\t{s.a!r} / {s.b!r}")
    print("\nthreshold  precision  recall  false matches")
    for op in sweep(scores, guard=not args.no_guard):
        print(f"{op.threshold:9.2f}  {op.precision:9.3f}  {op.recall:6.3f}  {op.false_matches:13d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
