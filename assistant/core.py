"""The Assistant: question (+ history) in, an :class:`~assistant.types.Answer` out.

It runs the safety gate, resolves follow-ups, retrieves, and lets the answerer compose a cited
reply, deciding the contract's outcome on the way. Build it with
:func:`assistant.factory.build_assistant`.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from threading import Lock
from typing import Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.answering import Draft, ExtractiveAnswerer
from assistant.confidence import answerability
from assistant.followups import resolve
from assistant.retrieval import HybridRetriever
from assistant.safety import SafetyDecision, SafetyGate
from assistant.settings import Settings
from assistant.synonyms import Synonyms
from assistant.trace import AnswerTrace
from assistant.types import (
    MAX_HISTORY_TURNS,
    MAX_QUESTION_CHARS,
    Answer,
    Filters,
    Handoff,
    Passage,
    Turn,
)

NOT_COVERED = (
    "I couldn't find an answer to that in our help articles, so I won't guess. "
    'A person from our support team can help: choose "Talk to a person".'
)
ACCOUNT = (
    "I can't help with account, billing or subscription questions here, and we have no help "
    'article on that. A person from our support team can sort it out: choose "Talk to a person".'
)
RULES = (
    "I can only answer questions about running, foot strength, mobility and footwear from our "
    "help articles. For anything else, a person from our support team can help: choose "
    '"Talk to a person".'
)


class Answerer(Protocol):
    name: str

    def compose(
        self, question: str, query_vector: Sequence[float], passages: Sequence[Passage]
    ) -> Draft | None: ...


class InvalidQuestionError(ValueError):
    """The question or history breaks the contract's limits (a client error, never a 500)."""


def new_answer_id() -> str:
    return "ans_" + uuid.uuid4().hex[:24]


class Assistant:
    """Answers runners' questions from the knowledge base.

    Example::

        assistant = build_assistant(get_settings())
        answer = assistant.answer("How do I make single-leg balance harder?")
        print(answer.outcome, answer.answer)
    """

    def __init__(
        self,
        settings: Settings,
        embeddings: Embeddings,
        retriever: HybridRetriever,
        answerer: Answerer,
        fallback: ExtractiveAnswerer,
        gate: SafetyGate,
        synonyms: Synonyms | None = None,
    ) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.retriever = retriever
        self.answerer = answerer
        self.fallback = fallback
        self.gate = gate
        self.synonyms = synonyms or Synonyms()
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._vector_lock = Lock()
        self._version = ""

    # ----- helpers -----------------------------------------------------------------------------
    def embed(self, text: str) -> np.ndarray:
        """Query embedding, cached by the normalised text (the model is deterministic)."""
        key = " ".join(text.lower().split())
        with self._vector_lock:
            hit = self._vectors.get(key)
            if hit is not None:
                self._vectors.move_to_end(key)
                return hit
        vector = np.asarray(self.embeddings.embed_query(text), dtype=np.float32)
        with self._vector_lock:
            self._vectors[key] = vector
            if len(self._vectors) > 10_000:
                self._vectors.popitem(last=False)
        return vector

    def _sync(self) -> None:
        corpus = self.retriever.corpus()
        if corpus.version != self._version:
            self.fallback.units.clear()
            self._version = corpus.version

    @property
    def kb_version(self) -> str:
        return self.retriever.corpus().version

    def ready(self) -> bool:
        try:
            return len(self.retriever.corpus()) > 0
        except Exception:  # noqa: BLE001 - readiness must answer, whatever the store says
            return False

    @staticmethod
    def validate(question: str, history: Sequence[Turn] | None) -> str:
        question = (question or "").strip()
        if not question:
            raise InvalidQuestionError("question must not be empty")
        if len(question) > MAX_QUESTION_CHARS:
            raise InvalidQuestionError(
                f"question is {len(question)} characters; the limit is {MAX_QUESTION_CHARS}"
            )
        if history and len(history) > MAX_HISTORY_TURNS:
            raise InvalidQuestionError(
                f"history has {len(history)} turns; the limit is {MAX_HISTORY_TURNS}"
            )
        return question

    # ----- the two entry points ------------------------------------------------------------------
    def search(
        self, query: str, k: int | None = None, filters: Filters | None = None
    ) -> list[Passage]:
        """Ranked passages for support agents."""
        query = self.validate(query, None)
        self._sync()
        return self.retriever.search(
            query, k=k, filters=filters, query_vector=self.embed(query).tolist()
        )

    def answer(
        self,
        question: str,
        history: Sequence[Turn] | None = None,
        filters: Filters | None = None,
        trace: AnswerTrace | None = None,
    ) -> Answer:
        """Answer ``question`` in the context of ``history``; ``trace``, when given, is filled
        in with what the answer was built from (the evaluation's seam)."""
        started = time.perf_counter()
        question = self.validate(question, history)
        self._sync()
        timings: dict[str, float] = {}
        trace = trace if trace is not None else AnswerTrace()
        trace.question, trace.filters = question, filters

        resolved = resolve(question, history)
        followup = resolved.query if resolved.topic else None
        t0 = time.perf_counter()
        qvec = self.embed(question)
        if resolved.topic:
            mixed = resolved.weight * qvec + (1 - resolved.weight) * self.embed(resolved.topic)
            qvec_retrieval = mixed / max(float(np.linalg.norm(mixed)), 1e-9)
        else:
            qvec_retrieval = qvec
        timings["embed"] = _ms(t0)

        t0 = time.perf_counter()
        decision = self.gate.check(question, qvec.tolist())
        timings["safety"] = _ms(t0)
        trace.decision = decision.kind
        if decision.kind in ("out_of_scope", "injection"):
            return self._no_answer(decision, started, timings, followup)

        t0 = time.perf_counter()
        passages = self.retriever.search(
            self.synonyms.expand(resolved.query),
            filters=filters,
            query_vector=qvec_retrieval.tolist(),
        )
        timings["retrieve"] = _ms(t0)
        trace.query, trace.query_vector = resolved.query, qvec_retrieval.tolist()
        trace.passages = list(passages)

        if decision.kind == "red_flag":
            return self._referral(
                decision, passages, qvec_retrieval, started, timings, resolved.query
            )

        t0 = time.perf_counter()
        draft = self.answerer.compose(
            self.synonyms.expand(resolved.lexical), qvec_retrieval.tolist(), passages
        )
        if draft is not None:
            vocabulary = self.retriever.corpus().vocabulary
            unknown = vocabulary.unknown_terms(self.synonyms.strip(question))
            trace.unknown_terms = unknown
            trace.features = {**draft.signals, "unknown": float(len(unknown))}
            draft.confidence = round(
                answerability(
                    draft.signals.get("dense", 0.0),
                    draft.signals.get("unit", 0.0),
                    draft.signals.get("heading", 0.0),
                    len(unknown),
                ),
                4,
            )
        timings["answer"] = _ms(t0)
        trace.confidence = draft.confidence if draft else 0.0
        if draft is None or draft.confidence < self.settings.answer_threshold:
            confidence = draft.confidence if draft else 0.0
            return self._no_answer(None, started, timings, followup, confidence)
        timings["total"] = _ms(started)
        return Answer(
            answer_id=new_answer_id(),
            outcome="answered",
            answer=draft.text,
            citations=draft.citations,
            confidence=draft.confidence,
            handoff=Handoff(offered=False),
            timings_ms=timings,
            answerer=draft.answerer,
            resolved_question=resolved.query if resolved.topic else None,
        )

    # ----- the other outcomes ------------------------------------------------------------------
    def _no_answer(
        self,
        decision: SafetyDecision | None,
        started: float,
        timings: dict[str, float],
        resolved: str | None,
        confidence: float = 0.0,
    ) -> Answer:
        if decision is not None and decision.kind == "out_of_scope":
            text, reason = ACCOUNT, "account_or_billing"
        elif decision is not None:
            text, reason = RULES, "out_of_scope"
        else:
            text, reason = NOT_COVERED, "not_covered"
        timings["total"] = _ms(started)
        return Answer(
            answer_id=new_answer_id(),
            outcome="no_answer",
            answer=text,
            citations=[],
            confidence=round(max(0.0, min(1.0, confidence)), 4),
            handoff=Handoff(offered=True, reason=reason),
            timings_ms=timings,
            answerer="none",
            resolved_question=resolved,
        )

    def _referral(
        self,
        decision: SafetyDecision,
        passages: Sequence[Passage],
        qvec: np.ndarray,
        started: float,
        timings: dict[str, float],
        resolved: str,
    ) -> Answer:
        text = self.gate.referral_text(decision)
        citations = []
        # Safe general guidance: the best sentence of a Safety article, cited.
        safety = [p for p in passages if p.collection == "Safety"]
        if safety:
            draft = self.fallback.compose(resolved, qvec.tolist(), safety[:1])
            if draft is not None and draft.units:
                n, unit = draft.units[0]
                text += "\n\nFrom our help center: " + _marked(unit, n)
                citations = draft.citations[:1]
        timings["total"] = _ms(started)
        return Answer(
            answer_id=new_answer_id(),
            outcome="refer_to_professional",
            answer=text,
            citations=citations,
            confidence=round(max(0.0, min(1.0, decision.score)), 4),
            handoff=Handoff(offered=True, reason=f"medical_red_flag:{decision.category}"),
            timings_ms=timings,
            answerer="safety",
        )


def _marked(text: str, n: int) -> str:
    from assistant.answering import with_marker

    return with_marker(text, n)


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)
