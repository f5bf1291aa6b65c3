"""The Assistant: question (+ history) in, an :class:`~assistant.types.Answer` out.

It runs the safety gate, resolves follow-ups, retrieves, and lets the answerer compose a cited
reply, deciding the contract's outcome on the way. Build it with
:func:`assistant.factory.build_assistant`.
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from threading import Lock
from typing import Protocol

import numpy as np
from langchain_core.embeddings import Embeddings

from assistant.answering import Draft, ExtractiveAnswerer, content_words, snippet, with_marker
from assistant.chunks import plain
from assistant.confidence import AnswerabilityModel, informative_overlap, missing_information
from assistant.conversation import (
    Intent,
    classify,
    goodbye_text,
    language_text,
    person_text,
    thanks_text,
    welcome_text,
)
from assistant.focus import focus
from assistant.followups import resolve
from assistant.qtype import QType, question_type
from assistant.replies import NOT_COVERED, PROFESSIONAL, RULES, ms, reply
from assistant.retrieval import HybridRetriever
from assistant.safety import SafetyDecision, SafetyGate, judged_text
from assistant.settings import Settings
from assistant.spelling import SpellCorrector
from assistant.synonyms import Synonyms
from assistant.trace import AnswerTrace
from assistant.types import (
    MAX_HISTORY_TURNS,
    MAX_QUESTION_CHARS,
    Answer,
    Citation,
    Filters,
    Passage,
    Turn,
)

logger = logging.getLogger(__name__)


class Answerer(Protocol):
    name: str

    def compose(
        self,
        question: str,
        query_vector: Sequence[float],
        passages: Sequence[Passage],
        qtype: QType = "other",
        previous: Sequence[str] = (),
        token_text: str = "",
    ) -> Draft | None: ...


class InvalidQuestionError(ValueError):
    """The question or history breaks the contract's limits (a client error, never a 500)."""


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
        conversation: Callable[[str, Sequence[float]], Intent] = classify,
        model: AnswerabilityModel | None = None,
    ) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self.retriever = retriever
        self.answerer = answerer
        self.fallback = fallback
        self._warm_stop = threading.Event()
        self._warming: threading.Thread | None = None
        self.gate = gate
        self.synonyms = synonyms or Synonyms()
        self.classify_intent = conversation
        self.model = model or AnswerabilityModel.load()
        #: the settings' threshold wins over the one calibrated with the model
        self.threshold = (
            settings.answer_threshold
            if settings.answer_threshold is not None
            else self.model.threshold
        )
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._vector_lock = Lock()
        self._version = ""
        self._spelling: SpellCorrector | None = None
        self._topics: list[str] = []

    # ----- helpers -----------------------------------------------------------------------------
    def embed(self, text: str) -> np.ndarray:
        """Query embedding, cached by the normalised text (the model is deterministic)."""
        key = _cache_key(text)
        with self._vector_lock:
            hit = self._vectors.get(key)
            if hit is not None:
                self._vectors.move_to_end(key)
                return hit
        return self._remember(key, np.asarray(self.embeddings.embed_query(text), dtype=np.float32))

    def embed_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """Query vectors of the texts one message needs (the question, its focused or corrected
        form, its words without notes about the asker, a follow-up's topic), by text; empty
        ones are skipped, and texts that share a cache key ("How..." and "how...") are embedded
        once. Those not cached go to the model in one call when it embeds a query as it embeds
        a document (``queries_as_documents``, the ONNX backend's): for a misspelt question one
        call instead of two (BENCHMARKS.md). Other backends get one ``embed_query`` per text."""
        first: dict[str, str] = {}  # cache key -> the first text with it
        for text in texts:
            if text:
                first.setdefault(_cache_key(text), text)
        with self._vector_lock:
            vectors = {key: self._vectors[key] for key in first if key in self._vectors}
            for key in vectors:
                self._vectors.move_to_end(key)
        missing = [key for key in first if key not in vectors]
        if len(missing) > 1 and getattr(self.embeddings, "queries_as_documents", False):
            rows = self.embeddings.embed_documents([first[key] for key in missing])
            for key, row in zip(missing, rows, strict=True):
                vectors[key] = self._remember(key, np.asarray(row, dtype=np.float32))
        for key in missing:
            if key not in vectors:
                vectors[key] = self.embed(first[key])
        return {text: vectors[_cache_key(text)] for text in texts if text}

    def clear_query_cache(self) -> None:
        """Forget every cached query vector (a benchmark's "new question" rounds)."""
        with self._vector_lock:
            self._vectors.clear()

    def _remember(self, key: str, vector: np.ndarray) -> np.ndarray:
        with self._vector_lock:
            self._vectors[key] = vector
            if len(self._vectors) > self.settings.query_cache_size:
                self._vectors.popitem(last=False)
        return vector

    def check_safety(self, question: str, vector: np.ndarray) -> SafetyDecision:
        """The safety gate's decision on a message embedded as ``vector``; what the gate judges
        of a message with notes about the asker is embedded through the cache too."""
        return self.gate.check(
            question, vector.tolist(), embed=lambda text: self.embed(text).tolist()
        )

    def _sync(self) -> None:
        corpus = self.retriever.corpus()
        if corpus.version != self._version:
            self.fallback.units.clear()
            self._spelling = None
            self._topics = sorted({str(m.get("collection", "")) for m in corpus.metas} - {""})
            self._version = corpus.version

    def prepare(self) -> None:
        """Load the current knowledge-base version and build what the first question would
        otherwise build: the spelling dictionary of its words. The API server calls it at
        start-up, where what it builds is frozen out of the garbage collector's scans with the
        rest of the start-up (api/startup_gc.py); built by a request instead, its ~20k lists
        were walked by every full collection (``python -m eval.bench.gc_pause``)."""
        self._sync()
        self._speller()

    def start_warming(self) -> None:
        """:meth:`warm_answerer` on a thread (the server's start-up: it is ready meanwhile, and
        a question that comes first computes its own sections). :meth:`stop_warming` ends it,
        as does the interpreter's exit: a thread killed inside ONNX Runtime aborts the process."""
        if self._warming is not None:
            return
        stop = self._warm_stop

        def run() -> None:
            try:
                self.warm_answerer(stop)
            except Exception as exc:  # noqa: BLE001 - an optimisation: questions compute theirs
                logger.warning("section token vectors not computed ahead: %s", exc)
            finally:
                atexit.unregister(halt)

        def halt() -> None:
            stop.set()
            thread.join(timeout=10)

        thread = threading.Thread(target=run, name="warm-sections", daemon=True)
        self._warming = thread
        atexit.register(halt)
        thread.start()

    def stop_warming(self, timeout: float = 10.0) -> None:
        """End :meth:`start_warming`'s thread after the batch in hand, and wait for it."""
        self._warm_stop.set()
        if self._warming is not None:
            self._warming.join(timeout=timeout)

    def warm_answerer(self, stop: threading.Event | None = None) -> int:
        """The extractive answerer's token vectors for every section of the current knowledge
        base (see :meth:`ExtractiveAnswerer.warm`), so new questions do not compute them one
        section at a time; ``stop`` ends it after the batch in hand."""
        corpus = self.retriever.corpus()
        sections = (self.retriever.passage(corpus, i) for i in range(len(corpus)))
        started = time.perf_counter()
        done = self.fallback.warm(sections, stop=stop)
        took = time.perf_counter() - started
        logger.info("section token vectors: %d computed in %.1f s", done, took)
        return done

    def _speller(self) -> SpellCorrector:
        """Built from the current knowledge base's own words, once per version."""
        if self._spelling is None:
            corpus = self.retriever.corpus()
            titles = [f"{m.get('title', '')} {m.get('section', '')}" for m in corpus.metas]
            self._spelling = SpellCorrector.from_texts([*corpus.bodies, *titles])
        return self._spelling

    def topics(self) -> list[str]:
        """The knowledge base's collections, for the welcome text."""
        return self._topics

    def current_version(self) -> str:
        """The knowledge-base version the store publishes now (asks it; raises when down)."""
        return self.retriever.current_version()

    @property
    def kb_version(self) -> str:
        return self.retriever.corpus().version

    def settled_kb_version(self) -> str | None:
        """:attr:`kb_version` when knowing it needs no check against the store, else None."""
        return self.retriever.settled_version()

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

        # What to retrieve with is worked out from the text alone (focus, spelling, follow-up),
        # so every vector the message needs is known before the model runs: one call for all.
        query = self._query(question, history, trace)
        t0 = time.perf_counter()
        vectors = self.embed_many(
            [question, query.standalone, query.bare, judged_text(question), query.topic or ""]
        )
        qvec = vectors[question]
        timings["embed"] = ms(t0)
        t0 = time.perf_counter()
        intent = self.classify_intent(question, qvec.tolist())
        decision = self.check_safety(question, qvec)
        timings["safety"] = ms(t0)
        trace.decision = decision.kind
        early = self._early_reply(question, intent, decision, started, timings, trace)
        if early is not None:
            return early

        previous = [t.content for t in history or [] if t.role == "assistant"][-1:]
        # Read as a follow-up, a message leans on the previous turn; a question that stands on
        # its own after an unrelated exchange ("return policy?" after a plan question) is pulled
        # off topic by that. So a follow-up is also read alone, and the reading alone wins when
        # the answerability model is surer of it by a margin chosen on the tune split
        # (settings.followup_alone_margin; python -m eval.followup_reading). Both readings are
        # composed by the extractive answerer, whose confidence any answerer's draft carries.
        both = query.topic is not None
        found = self._retrieve(query, vectors, qvec, filters, trace, timings)
        if decision.kind == "red_flag":
            return self._referral(decision, found.passages, started, timings, query.text)
        first = self.fallback if both else self.answerer
        read = self._compose(query, found, previous, trace, timings, first)
        if both:
            alone_trace = replace(trace)  # what the message alone retrieves and composes
            alone_query = query.alone()
            alone_found = self._retrieve(alone_query, vectors, qvec, filters, alone_trace, timings)
            # read alone, it is a new question: the previous answer is about something else
            alone = self._compose(alone_query, alone_found, (), alone_trace, timings,
                                  self.fallback)  # fmt: skip
            readings = {
                name: (r.confidence, r.draft.text if r.draft is not None else "")
                for name, r in (("followup", read), ("alone", alone))
            }
            if alone.confidence > read.confidence + self.settings.followup_alone_margin:
                query, found, read, previous = alone_query, alone_found, alone, []
                trace.__dict__.update(alone_trace.__dict__)  # the caller holds `trace`
            trace.readings = readings
            if self.answerer is not self.fallback:
                read = self._compose(query, found, previous, trace, timings, self.answerer)
        draft, confidence = read.draft, read.confidence
        wants = _handoff_reason(intent)
        asked_for = "human" if intent.wants_person else None
        resolved = query.text if query.text != question else None
        if draft is None or confidence < self.threshold:
            text = person_text() if intent.wants_person else NOT_COVERED
            return reply(
                "no_answer", text, started, timings, handoff=wants or "not_covered",
                confidence=confidence, intent=asked_for, resolved=resolved,
            )  # fmt: skip
        return reply(
            "answered", draft.text, started, timings, handoff=wants, confidence=confidence,
            citations=draft.citations, answerer=draft.answerer, intent=asked_for,
            resolved=resolved,
        )  # fmt: skip

    # ----- the steps of an answer ----------------------------------------------------------------
    def _retrieve(
        self,
        query: Query,
        vectors: Mapping[str, np.ndarray],
        qvec: np.ndarray,
        filters: Filters | None,
        trace: AnswerTrace,
        timings: dict[str, float],
    ) -> Retrieved:
        """The passages for one reading of the message, and the vector that found them."""
        # Retrieval embeds what is asked (focused, typos corrected), not a ramble's chatter.
        own = vectors[query.standalone] if query.standalone else qvec
        if query.bare:
            # a thin question beside a note about the asker ("I'm 47 ... return policy?"): the
            # note must not pick the article, nor be lost (age can change the answer), so the
            # message and its question alone count equally
            own = _unit(own + vectors[query.bare])
        vector = self._query_vector(own, query.topic, query.weight).tolist()
        t0 = time.perf_counter()
        passages = self.retriever.search(
            self.synonyms.expand(query.text), filters=filters, query_vector=vector
        )
        timings["retrieve"] = timings.get("retrieve", 0.0) + ms(t0)
        trace.query, trace.query_vector, trace.passages = query.text, vector, list(passages)
        return Retrieved(passages, vector)

    def _compose(
        self,
        query: Query,
        found: Retrieved,
        previous: Sequence[str],
        trace: AnswerTrace,
        timings: dict[str, float],
        answerer: Answerer,
    ) -> Reading:
        """One reading's draft, composed by ``answerer``, and its confidence."""
        t0 = time.perf_counter()
        qtype = question_type(query.asking or query.lexical)
        trace.question_type = qtype
        draft = answerer.compose(
            self.synonyms.expand(query.lexical), found.vector, found.passages,
            qtype=qtype, previous=previous,
            # word-for-word matching reads the question alone beside a note about the asker:
            # "running for years" must not match a return-to-running section (the note still
            # counts through the vector, `own`)
            token_text=query.bare or query.text,
        )  # fmt: skip
        confidence = self._confidence(draft, query.text, trace)
        if draft is not None:
            trace.sections, trace.leads = draft.sections, draft.leads
        timings["answer"] = timings.get("answer", 0.0) + ms(t0)
        return Reading(draft, confidence)

    def _early_reply(
        self,
        question: str,
        intent: Intent,
        decision: SafetyDecision,
        started: float,
        timings: dict[str, float],
        trace: AnswerTrace,
    ) -> Answer | None:
        """Small talk, another language and rule-override attempts end before retrieval."""
        if decision.kind == "injection":
            return reply("no_answer", RULES, started, timings, handoff="out_of_scope")
        if decision.kind == "red_flag":
            return None  # a symptom told in small talk ("hi, my foot went numb") is still one
        if intent.language != "en":
            trace.decision = "language"
            text = language_text(intent.language)
            return reply("no_answer", text, started, timings, handoff="language", intent="language")
        if intent.kind == "question":
            return None
        trace.decision = intent.kind
        if intent.kind == "person":  # nothing asked but a person: hand over straight away
            return reply(
                "no_answer", person_text(), started, timings, handoff="requested_person",
                intent="human",
            )  # fmt: skip
        if intent.kind == "greeting":
            text = welcome_text(self.topics())
        else:
            text = thanks_text() if intent.kind == "thanks" else goodbye_text()
        return reply("no_answer", text, started, timings, handoff="small_talk", intent=intent.kind)

    def _query(self, question: str, history: Sequence[Turn] | None, trace: AnswerTrace) -> Query:
        """The standalone text to retrieve with: the asking sentences of a long message, key
        words spelt as the knowledge base spells them, a follow-up joined to its topic."""
        focused = focus(question)
        speller = self._speller()
        corrected = speller.correct(focused.query)
        trace.corrections = list(corrected.changes)
        resolved = resolve(corrected.text, history)
        trace.query = resolved.query
        # the question type comes from the sentences that ask, not from a ramble's chatter
        asking = speller.correct(" ".join(focused.asking)).text if focused.asking else ""
        bare = speller.correct(focused.bare).text if focused.bare else ""
        return Query(
            resolved.query, resolved.lexical, resolved.topic, resolved.weight, asking,
            standalone=corrected.text, bare=bare,
        )  # fmt: skip

    def _query_vector(self, qvec: np.ndarray, topic: str | None, weight: float) -> np.ndarray:
        if not topic:
            return qvec
        return _unit(weight * qvec + (1 - weight) * self.embed(topic))

    def _confidence(self, draft: Draft | None, query: str, trace: AnswerTrace) -> float:
        if draft is None:
            trace.confidence = 0.0
            return 0.0
        vocabulary = self.retriever.corpus().vocabulary
        words = self.synonyms.strip(query)
        unknown = vocabulary.unknown_terms(words)
        section = content_words(" ".join(text for _, text in draft.units))
        chosen = draft.sections[0][0] if draft.sections else None
        source = " ".join(
            f"{p.title} {p.section} {p.text}" for p in trace.passages if p.chunk_id == chosen
        )
        qwords = content_words(words)
        features = {
            **draft.signals,
            "unknown": float(len(unknown)),
            "overlap": informative_overlap(qwords, section),
            "missing": missing_information(qwords, section | content_words(source)),
        }
        trace.unknown_terms, trace.features = unknown, features
        confidence = round(self.model.probability(features), 4)
        draft.confidence = trace.confidence = confidence
        return confidence

    def _referral(
        self,
        decision: SafetyDecision,
        passages: Sequence[Passage],
        started: float,
        timings: dict[str, float],
        resolved: str,
    ) -> Answer:
        """Stop and see a professional; the best passage that names one, cited, as safe
        general guidance."""
        text = self.gate.referral_text(decision)
        citations = []
        passage = next((p for p in passages if PROFESSIONAL.search(p.text)), None)
        if passage is not None:
            sentences = _SENTENCE.split(plain(passage.text))
            sentence = next((s for s in sentences if PROFESSIONAL.search(s)), None)
            if sentence:
                text += "\n\nFrom our help center: " + with_marker(sentence, 1)
                citations = [_citation(passage, 1)]
        return reply(
            "refer_to_professional", text, started, timings,
            handoff=f"medical_red_flag:{decision.category}", confidence=decision.score,
            citations=citations, answerer="safety",
        )  # fmt: skip


_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Query:
    text: str  # what retrieval sees
    lexical: str  # the words answer sentences are matched against
    topic: str | None  # the previous topic a follow-up leans on
    weight: float  # of the question's own vector in a follow-up's mixed vector
    asking: str = ""  # the sentences of a long message that ask
    standalone: str = ""  # the message focused and spelt right, before any follow-up topic
    bare: str = ""  # a short message without its notes about the asker (Focus.bare)

    def alone(self) -> Query:
        """The message read on its own, without the previous topic a follow-up leans on."""
        return replace(self, text=self.standalone or self.text,
                       lexical=self.standalone or self.text, topic=None, weight=1.0)  # fmt: skip


@dataclass(frozen=True)
class Retrieved:
    """What one reading of a message retrieved (Assistant._retrieve)."""

    passages: Sequence[Passage]
    vector: list[float]


@dataclass(frozen=True)
class Reading:
    """What one reading of a message composed (Assistant._compose)."""

    draft: Draft | None
    confidence: float


def _cache_key(text: str) -> str:
    """The query-vector cache's key: the text lower-cased, its whitespace collapsed."""
    return " ".join(text.lower().split())


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-9)


def _handoff_reason(intent: Intent) -> str | None:
    if intent.wants_person:
        return "requested_person"
    return "account_action" if intent.account_action else None


def _citation(passage: Passage, n: int) -> Citation:
    return Citation(
        n=n, article_id=passage.article_id, title=passage.title, url=passage.url,
        section=passage.section, snippet=snippet(passage.text), score=passage.score,
    )  # fmt: skip
