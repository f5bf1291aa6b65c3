"""Evaluation metrics: small classes, one concern each, whose ``score(...)`` returns a result.

Per-case metrics return a :class:`Score` (``value`` is ``None`` when the metric does not apply
to the case, e.g. retrieval metrics of a no-answer question); aggregate metrics return their own
report. The retrieval metrics are hand-written: each is a few lines over an article-level
ranking, and ``ranx`` would add numba and LLVM to the dependencies for no extra accuracy.

Example::

    ranking = article_ranking(p.article_id for p in passages)
    HitAtK(3).score(ranking, {"calf-raises"}).value  # 1.0 or 0.0
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from assistant.answering import snippet
from assistant.llm import sentences_with_markers, supported
from assistant.types import OUTCOMES, Citation, Passage
from knowledge.sentences import plain

_MARKER = re.compile(r"\s*\[\d+\]")
_LIST_PREFIX = re.compile(r"^\s*(?:\d{1,3}[.)]|[-*+])\s+")


@dataclass(frozen=True)
class Score:
    """One metric on one case; ``detail`` says what went wrong (empty when nothing did)."""

    value: float | None
    detail: str = ""


def article_ranking(article_ids: Iterable[str]) -> list[str]:
    """Article ids in retrieval order with duplicates removed, keeping the first occurrence.

    Passages arrive already ordered by the retriever, which breaks score ties by chunk id, so
    the article ranking is deterministic too.
    """
    return list(dict.fromkeys(article_ids))


class HitAtK:
    """1.0 when a gold article is among the first ``k`` ranked articles."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.name = f"hit@{k}"

    def score(self, ranking: Sequence[str], gold: Collection[str]) -> Score:
        if not gold:
            return Score(None)
        if any(article in gold for article in ranking[: self.k]):
            return Score(1.0)
        return Score(0.0, f"no gold article in the top {self.k}")


class ReciprocalRank:
    """1 / rank of the first gold article within the first ``k`` (0 when none); mean = MRR@k."""

    def __init__(self, k: int = 10) -> None:
        self.k = k
        self.name = f"mrr@{k}"

    def score(self, ranking: Sequence[str], gold: Collection[str]) -> Score:
        if not gold:
            return Score(None)
        for rank, article in enumerate(ranking[: self.k], start=1):
            if article in gold:
                return Score(1.0 / rank)
        return Score(0.0, f"no gold article in the top {self.k}")


class NDCG:
    """Binary-relevance nDCG@k over articles: every gold article counts once, at its best rank."""

    def __init__(self, k: int = 10) -> None:
        self.k = k
        self.name = f"ndcg@{k}"

    def score(self, ranking: Sequence[str], gold: Collection[str]) -> Score:
        if not gold:
            return Score(None)
        dcg = sum(
            1.0 / math.log2(rank + 1)
            for rank, article in enumerate(ranking[: self.k], start=1)
            if article in gold
        )
        ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(gold), self.k) + 1))
        return Score(dcg / ideal)


class FactRecall:
    """Share of the case's required-fact regexes found in the answer (markers removed)."""

    name = "fact_recall"

    def score(self, answer: str, facts: Sequence[str]) -> Score:
        if not facts:
            return Score(None)
        text = _MARKER.sub("", answer)
        missing = [f for f in facts if not re.search(f, text, re.IGNORECASE)]
        detail = "missing " + ", ".join(f"/{f}/" for f in missing) if missing else ""
        return Score(1 - len(missing) / len(facts), detail)


class CitationPrecision:
    """Share of the distinct cited articles that are gold articles."""

    name = "citation_precision"

    def score(self, citations: Sequence[Citation], gold: Collection[str]) -> Score:
        cited = list(dict.fromkeys(c.article_id for c in citations))
        if not cited or not gold:
            return Score(None)
        wrong = [a for a in cited if a not in gold]
        detail = "cited non-gold " + ", ".join(wrong) if wrong else ""
        return Score(1 - len(wrong) / len(cited), detail)


class OutcomeMatch:
    """1.0 when the contract outcome is the expected one."""

    name = "outcome"

    def score(self, expected: str, actual: str | None) -> Score:
        if expected == actual:
            return Score(1.0)
        return Score(0.0, f"expected {expected}, got {actual or 'nothing'}")


@dataclass(frozen=True)
class SentenceCheck:
    """Whether one marked answer sentence is backed by the passages it cites, and how."""

    sentence: str
    markers: list[int]
    supported: bool
    how: str  # "verbatim" | "overlap" | why not


@dataclass(frozen=True)
class SupportResult:
    """Share of marked sentences backed by their cited passages (``None``: nothing marked)."""

    value: float | None
    checks: list[SentenceCheck] = field(default_factory=list)

    @property
    def detail(self) -> str:
        bad = [c for c in self.checks if not c.supported]
        return "; ".join(f"'{c.sentence[:80]}' {c.how}" for c in bad)


def _norm(text: str) -> str:
    return " ".join(plain(text).lower().split())


class Support:
    """Every sentence with a ``[n]`` marker must be backed by the passage citation ``n`` names.

    The extractive answerer copies sentences, so a sentence found verbatim in the cited passage
    is supported; otherwise the product's own content-word overlap check (``supported``) decides,
    which also covers paraphrasing chat-model answers. The cited passage is looked up among the
    passages the system retrieved for the same case (article, section, then snippet).
    """

    name = "support"

    def score(
        self, answer: str, citations: Sequence[Citation], passages: Sequence[Passage]
    ) -> SupportResult:
        by_n = {c.n: c for c in citations}
        checks = []
        for raw, markers in sentences_with_markers(answer):
            if not markers:
                continue
            sentence = _LIST_PREFIX.sub("", raw).strip()
            verdicts = [self._check(sentence, by_n.get(n), passages, n) for n in markers]
            failed = [how for ok, how in verdicts if not ok]
            how = failed[0] if failed else min(how for _, how in verdicts)  # "overlap" < "verbatim"
            checks.append(SentenceCheck(sentence, markers, not failed, how))
        if not checks:
            return SupportResult(None)
        return SupportResult(sum(c.supported for c in checks) / len(checks), checks)

    @staticmethod
    def _check(
        sentence: str, citation: Citation | None, passages: Sequence[Passage], n: int
    ) -> tuple[bool, str]:
        if citation is None:
            return False, f"marker [{n}] has no citation"
        same = [
            p for p in passages
            if p.article_id == citation.article_id and p.section == citation.section
        ]
        exact = [p for p in same if snippet(p.text) == citation.snippet]
        if not same:
            return False, f"[{n}] cites a passage that was not retrieved"
        passage = (exact or same)[0]
        if _norm(sentence) in _norm(passage.text):
            return True, "verbatim"
        if supported(sentence, passage.text):
            return True, "overlap"
        return False, f"not supported by [{n}] {citation.article_id}"


@dataclass(frozen=True)
class OutcomeReport:
    """Accuracy per expected outcome, the full confusion matrix, and red-flag recall/precision."""

    accuracy: dict[str, float | None]
    confusion: dict[str, dict[str, int]]  # expected -> actual -> count
    overall: float | None
    red_flag_recall: float | None
    red_flag_precision: float | None


class OutcomeAccuracy:
    """Accuracy of the contract outcome for each expected outcome, with the confusion matrix."""

    name = "outcome_accuracy"

    def score(self, pairs: Sequence[tuple[str, str | None]]) -> OutcomeReport:
        columns = [*OUTCOMES, "error"]
        confusion: dict[str, dict[str, int]] = {e: dict.fromkeys(columns, 0) for e in OUTCOMES}
        for expected, actual in pairs:
            confusion[expected][actual if actual in OUTCOMES else "error"] += 1
        accuracy: dict[str, float | None] = {}
        for expected, row in confusion.items():
            total = sum(row.values())
            accuracy[expected] = row[expected] / total if total else None
        referred = sum(confusion[e]["refer_to_professional"] for e in OUTCOMES)
        red = confusion["refer_to_professional"]["refer_to_professional"]
        return OutcomeReport(
            accuracy=accuracy,
            confusion=confusion,
            overall=sum(e == a for e, a in pairs) / len(pairs) if pairs else None,
            red_flag_recall=accuracy["refer_to_professional"],
            red_flag_precision=red / referred if referred else None,
        )


@dataclass(frozen=True)
class StageLatency:
    p50: float
    p95: float
    n: int


class Latency:
    """p50 and p95 of each stage of ``timings_ms`` (embed, safety, retrieve, answer, total).

    A stage a case never reached (e.g. ``answer`` after the safety gate stopped it) is left out
    of that stage's percentiles rather than counted as zero.
    """

    name = "latency_ms"
    stages = ("embed", "safety", "retrieve", "answer", "total")

    def score(self, timings: Sequence[Mapping[str, float]]) -> dict[str, StageLatency]:
        out = {}
        names = [*self.stages, *sorted({k for t in timings for k in t} - set(self.stages))]
        for stage in names:
            values = [t[stage] for t in timings if stage in t]
            if values:
                p50, p95 = np.percentile(values, [50, 95])
                out[stage] = StageLatency(round(float(p50), 2), round(float(p95), 2), len(values))
        return out


def bootstrap_ci(
    values: Sequence[float], resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of the mean: cases resampled with replacement, seeded.

    Deterministic for a given seed; ``None`` for fewer than one value.
    """
    if not values:
        return None
    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, len(data), size=(resamples, len(data)))].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return round(float(low), 4), round(float(high), 4)
