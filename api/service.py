"""One answer for every channel: compute off the event loop, store, count, log.

``/v1/answer``, ``/v1/answer/stream`` and ``/v1/chat/completions`` all go through
:meth:`AnswerService.answer`, so every answer they give has an ``answer_id`` that feedback can
refer to. The question is stored (the content-gap report needs it) but logged in full only with
``log_questions``. An agent's correction for the same standalone question is served before the
Assistant is asked (``api/corrections.py``).

The CPU work runs in the bounded FIFO lane of ``api/workers.py`` (not Starlette's shared pool),
and the answer log is written behind the response by ``api/answer_writer.py`` (synchronously
when no writer runs, as in a service built by hand). A repeated question is served from the
answer cache (``api/answer_cache.py``) without that work: on the event loop when the
knowledge-base version and the corrections are known without I/O and the log writer has room
(a lookup and a copy, tens of µs: a thread hop would cost more), else from the lane. Either way
it gets its own ``answer_id`` and is stored, counted and logged like any answer.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from api.answer_cache import AnswerCache, answer_key
from api.answer_writer import record_now, writer_for
from api.articles import safe_url
from api.correction_store import (
    copied_corrections_version,
    corrections_version,
    current_corrections,
)
from api.corrections import best_match, correction_answer
from api.metrics import Metrics
from api.storage import Storage
from api.workers import lane_for
from assistant.core import Assistant
from assistant.types import Answer, Filters, Passage, Turn

logger = logging.getLogger("api.answers")


@dataclass(frozen=True)
class _Ask:
    """One request as the service sees it: what its answer depends on, and when it began."""

    question: str
    history: Sequence[Turn] | None
    filters: Filters | None
    channel: str
    started: float
    key: str | None  # the answer cache's key; None without a cache


class AnswerService:
    """Answers and searches for the routes; the Assistant's CPU work runs in a worker thread."""

    def __init__(
        self,
        assistant: Assistant,
        storage: Storage,
        metrics: Metrics,
        *,
        log_questions: bool,
        cache: AnswerCache | None = None,
    ) -> None:
        self.assistant = assistant
        self.storage = storage
        self.metrics = metrics
        self.log_questions = log_questions
        self.cache = cache

    async def answer(
        self,
        question: str,
        history: Sequence[Turn] | None,
        filters: Filters | None,
        channel: str,
        stages: dict[str, float] | None = None,
    ) -> Answer:
        """The answer to ``question``; ``stages``, when given, gets the ms this layer adds
        around ``Answer.timings_ms``: ``queue`` (waiting for a worker), ``corrections`` (the
        agents' corrections looked up) and ``store`` (handing the answer to the log). A
        repeated question is served from the answer cache (``timings_ms``: ``cache``), on the
        event loop when that needs no I/O, else in the lane without computing it again."""
        started = time.perf_counter()
        key = answer_key(question, history, filters) if self.cache is not None else None
        ask = _Ask(question, history, filters, channel, started, key)
        served = self._cached_now(ask)
        if served is None:
            computed, queue_ms = await lane_for(self.assistant.settings).run(
                lambda: self._work(ask)
            )
            served = computed[0], {"queue": queue_ms, **computed[1]}
        answer, layer = served
        if stages is not None:
            stages.update(layer)
        for citation in answer.citations:
            citation.url = safe_url(citation.url)
        seconds = time.perf_counter() - started
        self.metrics.observe_answer(channel, answer.outcome, seconds)
        if key is not None:  # only a hit's timings have a "cache" stage
            result = "hit" if "cache" in answer.timings_ms else "miss"
            self.metrics.answer_cache.labels(result).inc()
        shown = repr(question) if self.log_questions else f"<{len(question)} chars>"
        logger.info(
            "answer %s channel=%s outcome=%s confidence=%.2f citations=%d ms=%.1f question=%s",
            answer.answer_id, channel, answer.outcome, answer.confidence,
            len(answer.citations), seconds * 1000, shown,
        )  # fmt: skip
        return answer

    def _cached_now(self, ask: _Ask) -> Served | None:
        """The cached answer, on the event loop, when nothing on the way can block it: the
        knowledge-base version and the corrections are known without asking a store (the
        embedded one; a Chroma server is asked from the lane), and the log writer takes the
        answer without waiting. Otherwise the lane's :meth:`_work`."""
        writer = writer_for(self.storage)
        if ask.key is None or self.cache is None or writer is None or self._remote_store:
            return None
        kb_version = self.assistant.settled_kb_version()
        corrections = (
            copied_corrections_version(self.storage)
            if standalone(ask.history, ask.filters)
            else "-"
        )
        if kb_version is None or corrections is None:
            return None
        answer = self.cache.get(ask.key, kb_version, corrections, ask.started)
        if answer is None:
            return None
        t0 = time.perf_counter()
        latency_ms = (t0 - ask.started) * 1000
        if not writer.offer(answer, question=ask.question.strip(), latency_ms=latency_ms,
                            channel=ask.channel):  # fmt: skip
            return None  # the log is far behind: the lane waits for room
        return answer, {"queue": 0.0, "store": (time.perf_counter() - t0) * 1000}

    def _work(self, ask: _Ask) -> Served:
        """In a worker: the cached answer, or the correction or the Assistant's, then stored."""
        key, question, history, filters = ask.key, ask.question, ask.history, ask.filters
        channel, started = ask.channel, ask.started
        kb_version = corrections = None
        if key is not None and self.cache is not None:
            kb_version = self.assistant.kb_version  # may ask the store: fine in a worker
            corrections = self._corrections_version(history, filters)
            cached = (
                self.cache.get(key, kb_version, corrections, started)
                if corrections is not None else None
            )  # fmt: skip
            if cached is not None and self._remote_store:
                # the answer replayed asked the store: a hit answers only while it would
                self.assistant.current_version()  # StoreUnavailableError: a 503, as without it
            if cached is not None:
                return cached, {"store": self._timed_store(cached, question, started, channel)}
        t0 = time.perf_counter()
        answer = self.corrected(question, history, filters, started)
        corrections_ms = (time.perf_counter() - t0) * 1000
        if answer is None:
            answer = self.assistant.answer(question, history, filters)
        if (
            key is not None and self.cache is not None and kb_version is not None
            and corrections is not None and kb_version == self.assistant.kb_version
            and corrections == self._corrections_version(history, filters)
        ):  # fmt: skip
            self.cache.put(key, kb_version, corrections, answer)  # built on what is current
        store_ms = self._timed_store(answer, question, started, channel)
        return answer, {"corrections": corrections_ms, "store": store_ms}

    @property
    def _remote_store(self) -> bool:
        """A Chroma server: every answer queries it, so while it is down every answer is a 503,
        and a hit must ask it too (one version request instead of the whole pipeline). The
        embedded store is in memory: an answer asks it nothing."""
        return bool(self.assistant.settings.chroma_host)

    def _corrections_version(
        self, history: Sequence[Turn] | None, filters: Filters | None
    ) -> str | None:
        """What the answer depends on of the corrections: their version for a standalone
        question, nothing for the others ("-"); None when they cannot be read."""
        if not standalone(history, filters):
            return "-"
        try:
            return corrections_version(self.storage)
        except SQLAlchemyError:  # corrected() logs it and answers without them: do not cache
            return None

    def _timed_store(self, answer: Answer, question: str, started: float, channel: str) -> float:
        t0 = time.perf_counter()
        self.store(answer, question, (t0 - started) * 1000, channel)
        return (time.perf_counter() - t0) * 1000

    def store(self, answer: Answer, question: str, latency_ms: float, channel: str) -> None:
        """Record the answer: queued for the app's background writer, or written here when
        there is none. When the answer log is down the answer still goes out, counted under
        ``help_assistant_answers_not_stored_total`` (feedback on it will be a 404)."""
        writer = writer_for(self.storage)
        if writer is not None:
            writer.submit(answer, question=question.strip(), latency_ms=latency_ms,
                          channel=channel)  # fmt: skip
        else:
            record_now(self.storage, self.metrics, answer, question.strip(), latency_ms, channel)

    def corrected(
        self,
        question: str,
        history: Sequence[Turn] | None,
        filters: Filters | None,
        started: float,
    ) -> Answer | None:
        """A stored correction for this question, or None. Only standalone questions (a
        follow-up means something else in another conversation), without filters, and never
        for a red flag or a rule-override attempt: the safety gate still decides those."""
        if not standalone(history, filters):
            return None
        try:
            corrections = current_corrections(self.storage)
        except SQLAlchemyError as exc:  # the answer itself must not depend on the corrections
            logger.warning("corrections unreadable, answering without them: %s", exc)
            return None
        if not corrections:
            return None
        question = self.assistant.validate(question, history)
        vector = self.assistant.embed(question)  # cached: the Assistant reuses it on a miss
        if self.assistant.check_safety(question, vector).kind != "ok":
            return None
        match = best_match(question, vector, corrections)
        if match is None:
            return None
        total = round((time.perf_counter() - started) * 1000, 2)
        return correction_answer(match, {"correction": total, "total": total})

    async def search(self, query: str, k: int, filters: Filters | None) -> list[Passage]:
        lane = lane_for(self.assistant.settings)
        passages, _ = await lane.run(lambda: self.assistant.search(query, k, filters))
        for passage in passages:
            passage.url = safe_url(passage.url)
        return passages


#: an answer and what this layer adds to its ``timings_ms`` (``queue``, ``store``...)
Served = tuple[Answer, dict[str, float]]


def standalone(history: Sequence[Turn] | None, filters: Filters | None) -> bool:
    """A question the agents' corrections may answer: no history, no filters."""
    return not history and (filters is None or filters.is_empty())


_WORDS = re.compile(r"\s*\S+\s*")


def pieces(text: str, words: int = 4) -> Iterator[str]:
    """The text in pieces of a few words; joined they give back exactly ``text``."""
    tokens = _WORDS.findall(text)
    if "".join(tokens) != text:  # only whitespace: send it as one piece
        tokens = [text]
    for i in range(0, len(tokens), words):
        yield "".join(tokens[i : i + words])
