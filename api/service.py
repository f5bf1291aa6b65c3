"""One answer for every channel: compute off the event loop, store, count, log.

``/v1/answer``, ``/v1/answer/stream`` and ``/v1/chat/completions`` all go through
:meth:`AnswerService.answer`, so every answer they give has an ``answer_id`` that feedback can
refer to. The question is stored (the content-gap report needs it) but logged in full only with
``log_questions``. An agent's correction for the same standalone question is served before the
Assistant is asked (``api/corrections.py``).

The CPU work runs in the bounded FIFO lane of ``api/workers.py`` (not Starlette's shared pool),
and the answer log is written behind the response by ``api/answer_writer.py`` (synchronously
when no writer runs, as in a service built by hand).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence

from sqlalchemy.exc import SQLAlchemyError

from api.answer_writer import record_now, writer_for
from api.articles import safe_url
from api.correction_store import current_corrections
from api.corrections import best_match, correction_answer
from api.metrics import Metrics
from api.storage import Storage
from api.workers import lane_for
from assistant.core import Assistant
from assistant.types import Answer, Filters, Passage, Turn

logger = logging.getLogger("api.answers")


class AnswerService:
    """Answers and searches for the routes; the Assistant's CPU work runs in a worker thread."""

    def __init__(
        self, assistant: Assistant, storage: Storage, metrics: Metrics, *, log_questions: bool
    ) -> None:
        self.assistant = assistant
        self.storage = storage
        self.metrics = metrics
        self.log_questions = log_questions

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
        agents' corrections looked up) and ``store`` (handing the answer to the log)."""
        started = time.perf_counter()

        def work() -> tuple[Answer, float, float]:
            t0 = time.perf_counter()
            answer = self.corrected(question, history, filters, started)
            corrections_ms = (time.perf_counter() - t0) * 1000
            if answer is None:
                answer = self.assistant.answer(question, history, filters)
            latency_ms = (time.perf_counter() - started) * 1000
            t0 = time.perf_counter()
            self.store(answer, question, latency_ms, channel)
            return answer, corrections_ms, (time.perf_counter() - t0) * 1000

        work_done, queue_ms = await lane_for(self.assistant.settings).run(work)
        answer, corrections_ms, store_ms = work_done
        if stages is not None:
            stages.update(queue=queue_ms, corrections=corrections_ms, store=store_ms)
        for citation in answer.citations:
            citation.url = safe_url(citation.url)
        seconds = time.perf_counter() - started
        self.metrics.observe_answer(channel, answer.outcome, seconds)
        shown = repr(question) if self.log_questions else f"<{len(question)} chars>"
        logger.info(
            "answer %s channel=%s outcome=%s confidence=%.2f citations=%d ms=%.1f question=%s",
            answer.answer_id, channel, answer.outcome, answer.confidence,
            len(answer.citations), seconds * 1000, shown,
        )  # fmt: skip
        return answer

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
        if history or (filters is not None and not filters.is_empty()):
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
        if self.assistant.gate.check(question, vector.tolist()).kind != "ok":
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


_WORDS = re.compile(r"\s*\S+\s*")


def pieces(text: str, words: int = 4) -> Iterator[str]:
    """The text in pieces of a few words; joined they give back exactly ``text``."""
    tokens = _WORDS.findall(text)
    if "".join(tokens) != text:  # only whitespace: send it as one piece
        tokens = [text]
    for i in range(0, len(tokens), words):
        yield "".join(tokens[i : i + words])
