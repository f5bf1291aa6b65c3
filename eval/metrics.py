"""Evaluation metrics: small classes, one concern each, whose ``score(...)`` returns a result.

Each returns a :class:`Score` for one case (``value`` is ``None`` when the metric does not
apply to the case, e.g. retrieval metrics of a no-answer question); the runner averages them.
Metrics over a whole set of cases (confusion matrix, latency, calibration) are in
``eval/aggregates.py``. The retrieval metrics are hand-written: each is a few lines over an
article-level ranking, and ``ranx`` would add numba and LLVM to the dependencies for no extra
accuracy.

Example::

    ranking = article_ranking(p.article_id for p in passages)
    HitAtK(3).score(ranking, {"calf-raises"}).value  # 1.0 or 0.0
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from assistant.answering import snippet
from assistant.chunks import plain
from assistant.llm import sentences_with_markers, supported
from assistant.types import Citation, Passage

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




# ----- answer-level rates (one value per case; the runner averages them) -----------------------
#: A sentence ends at . ! or ? followed by space and a capital, digit or quote: the same rule as
#: the product's splitter (knowledge/sentences.py), so "Barefoot Co. accepts returns" is one
#: sentence, not a lead of "Barefoot Co."
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])")


def first_sentence(answer: str) -> str:
    """The answer's first sentence: its first non-empty line (a list item counts as a line),
    cut at the first sentence end; citation markers and list numbering removed."""
    for line in _MARKER.sub("", answer).splitlines():
        line = _LIST_PREFIX.sub("", line).strip()
        if line:
            return _SENTENCE_END.split(line, maxsplit=1)[0]
    return ""


class AnsweredWithFacts:
    """1.0 when an answerable case was answered and every required fact is in the answer."""

    name = "answered_with_facts"

    def score(self, expected: str, actual: str | None, answer: str, facts: Sequence[str]) -> Score:
        if expected != "answered":
            return Score(None)
        if actual != "answered":
            return Score(0.0, f"not answered ({actual or 'nothing'})")
        missing = FactRecall().score(answer, facts).detail
        return Score(0.0, missing) if missing else Score(1.0)


class FirstSentence:
    """1.0 when the answer's first sentence matches every ``first_sentence_facts`` pattern:
    the reply leads with the answer instead of burying it."""

    name = "first_sentence"

    def score(self, answer: str, patterns: Sequence[str]) -> Score:
        if not patterns:
            return Score(None)
        lead = first_sentence(answer)
        missing = [p for p in patterns if not re.search(p, lead, re.IGNORECASE)]
        if missing:
            return Score(0.0, f"first sentence '{lead[:80]}' misses "
                              + ", ".join(f"/{p}/" for p in missing))  # fmt: skip
        return Score(1.0)


class NoAnswerPrecision:
    """Over the cases answered ``no_answer``: 1.0 when ``no_answer`` was the expected outcome
    (a refusal of a question the articles answer is the error this counts)."""

    name = "no_answer_precision"

    def score(self, expected: str, actual: str | None) -> Score:
        if actual != "no_answer":
            return Score(None)
        return Score(1.0) if expected == "no_answer" else Score(0.0, f"refused a {expected} case")


class NoAnswerRecall:
    """Over the cases expecting ``no_answer``: 1.0 when the assistant declined."""

    name = "no_answer_recall"

    def score(self, expected: str, actual: str | None) -> Score:
        if expected != "no_answer":
            return Score(None)
        return Score(1.0) if actual == "no_answer" else Score(0.0, f"got {actual or 'nothing'}")


class FalseReferral:
    """Over the cases that are not red flags: 1.0 when the assistant referred to a
    professional anyway (lower is better)."""

    name = "false_referral_rate"

    def score(self, expected: str, actual: str | None) -> Score:
        if expected == "refer_to_professional":
            return Score(None)
        if actual == "refer_to_professional":
            return Score(1.0, "referred a case that is not a red flag")
        return Score(0.0)


class HandoffOffered:
    """1.0 when a case that must offer a person (``expect_handoff``) got the offer."""

    name = "handoff_rate"

    def score(self, expect_handoff: bool | None, offered: bool) -> Score:
        if not expect_handoff:
            return Score(None)
        return Score(1.0) if offered else Score(0.0, "no person offered")


class IntentMatch:
    """Conversation cases (greeting, thanks, goodbye, human, language): the recognised intent
    when the assistant reports one; otherwise the reply must be ``no_answer`` and offer a
    person when one is expected (``human`` always expects it)."""

    name = "intent_accuracy"

    def score(
        self,
        intent: str | None,
        recognised: str | None,
        actual: str | None,
        offered: bool,
        expect_handoff: bool | None = None,
    ) -> Score:
        if intent is None:
            return Score(None)
        if recognised is not None:
            ok = recognised == intent
            return Score(1.0) if ok else Score(0.0, f"intent {recognised}, expected {intent}")
        wants_person = bool(expect_handoff) or intent == "human"
        if actual != "no_answer":
            return Score(0.0, f"expected no_answer for a {intent} message, got {actual}")
        if wants_person and not offered:
            return Score(0.0, f"a {intent} message must offer a person")
        return Score(1.0)


class Invariance:
    """A perturbed question (CheckList's invariance test) keeps the original's outcome and a
    gold article among its first three citations."""

    name = "invariance"

    def __init__(self, depth: int = 3) -> None:
        self.depth = depth

    def score(
        self,
        original: str | None,
        actual: str | None,
        citations: Sequence[Citation],
        gold: Collection[str],
    ) -> Score:
        if actual != original:
            return Score(0.0, f"outcome {actual or 'nothing'} instead of {original}")
        cited = article_ranking(c.article_id for c in citations)[: self.depth]
        if gold and not any(a in gold for a in cited):
            return Score(0.0, f"no gold article in the first {self.depth} citations")
        return Score(1.0)
