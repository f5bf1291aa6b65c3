"""Learned choices inside the extractive answerer: which section answers, which sentence leads.

Two linear scorers over named features that the answerer computes anyway (retrieval scores,
heading and sentence similarity, word overlap, fit to the question type). Their weights are
data, not code: ``python -m eval.train_rankers`` fits them on the ``tune`` split of every
knowledge base in the evaluation and writes ``assistant/models/section_ranker.json`` and
``assistant/models/lead_ranker.json`` with the training-set hash and cross-validated figures.

- **Section ranker:** a candidate section is a positive when its text holds every required
  fact of the case; the answer is built from the best-scoring candidate.
- **Lead ranker:** a sentence or list item is a positive when it holds the case's
  ``first_sentence_facts``; the best-scoring unit of the chosen section leads the answer.

Example::

    ranker = LinearRanker.load(SECTION_RANKER)
    best = max(candidates, key=lambda features: ranker.score(features))
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MODELS = Path(__file__).parent / "models"
SECTION_RANKER = MODELS / "section_ranker.json"
LEAD_RANKER = MODELS / "lead_ranker.json"

#: Inputs of the section ranker, per candidate section (see ``ExtractiveAnswerer``).
SECTION_FEATURES = (
    "retrieval",  # the retriever's fused score
    "dense",  # cosine of the question and the chunk
    "bm25",  # the chunk's normalised BM25 score
    "rank",  # 1 / (1 + retrieval rank)
    "heading",  # cosine of the question and the section heading
    "heading_overlap",  # share of the question's content words in the heading
    "unit_best",  # best cosine of the question and one of the section's units
    "overlap",  # share of the question's content words in the section
    "fit_best",  # best fit of a unit to the question type (assistant/answer_fit.py)
    "same_article",  # 1 when the section is in the top passage's article
    "heading_type",  # 1 when the heading asks the question's kind of question (qtype.py)
    "said",  # share of the section's words the previous answer used (0 when none)
    "maxsim",  # late interaction: question tokens' best cosine in the section, averaged
)
#: Inputs of the lead ranker, per unit of the chosen section.
LEAD_FEATURES = (
    "cosine",  # cosine of the question and the unit
    "overlap",  # share of the question's content words in the unit
    "fit",  # fit of the unit to the question type
    "first",  # 1 for the section's first unit
    "position",  # reading position in the section, 0 (first) to 1 (last)
    "item",  # 1 for a list item
    "words",  # log(1 + word count)
    "colon",  # 1 when the unit ends with ":" (it introduces a list)
    "number",  # 1 when the unit holds a digit or a number word
)


@dataclass(frozen=True)
class LinearRanker:
    """A linear score over named features; only the order of the scores matters."""

    features: tuple[str, ...]
    coefficients: tuple[float, ...]
    intercept: float = 0.0
    #: the section ranker's hedge: when the probability that the best candidate beats the
    #: runner-up is below this, the runner-up may add a unit to the answer (0: never)
    hedge_below: float = 0.0

    @classmethod
    def load(cls, path: Path) -> LinearRanker:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            ranker = cls(
                tuple(raw["features"]),
                tuple(float(c) for c in raw["coefficients"]),
                float(raw.get("intercept", 0.0)),
                float(raw.get("hedge_below", 0.0)),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"cannot read the ranking model {path}: {exc}; refit it with "
                "`python -m eval.train_rankers`"
            ) from exc
        if len(ranker.features) != len(ranker.coefficients):
            raise ValueError(f"ranking model {path}: features and coefficients differ in length")
        return ranker

    def score(self, features: Mapping[str, float]) -> float:
        return self.intercept + sum(
            c * features.get(name, 0.0)
            for name, c in zip(self.features, self.coefficients, strict=True)
        )

    def probability(self, features: Mapping[str, float]) -> float:
        return _sigmoid(self.score(features))

    def beats(self, first: Mapping[str, float], second: Mapping[str, float]) -> float:
        """Probability that ``first`` is the better candidate (pairwise-trained scores)."""
        return _sigmoid(self.score(first) - self.score(second))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))
