"""The answer log written behind the answers: one background thread, in batches, nothing lost.

An answer used to be written to the answer log (a SQLite or Postgres transaction) in the
request's own worker, before the response went out. Now :meth:`AnswerWriter.submit` queues it
and returns at once; one thread takes everything queued (up to ``batch``) and writes it with
:meth:`api.storage.Storage.record_answers` in one transaction (answer by answer with
:meth:`~api.storage.Storage.record_answer` when that fails), so a failure is still counted under
``help_assistant_answers_not_stored_total`` and logged. Nothing queued is lost:

- on shutdown, the app's lifespan calls :meth:`close`, which writes every queued answer first
  (uvicorn finishes the requests in flight before it runs the lifespan's shutdown);
- readers see their writes: :class:`WriteBehindStorage`'s reads (feedback on an answer just
  given, the admin reports, the readiness probe, a test reading the log) first wait until the
  answers submitted before them are written, and :class:`AnswerLogBarrier` does the same for
  any request other than an answer (``/metrics`` counts the answers not stored);
- past ``max_pending`` queued answers (the database far behind), :meth:`submit` blocks, so
  memory stays bounded and load slows down instead of answers being dropped.

What a write-behind log cannot keep is a crash: a process killed outright (SIGKILL, the OOM
killer) loses the answers still queued, normally those of the last few milliseconds, whose
feedback will then be a 404. A graceful stop (SIGTERM, Ctrl-C) loses none.

Example::

    storage = WriteBehindStorage(url)
    writer = AnswerWriter(storage, metrics)
    writer.submit(answer, question="How?", latency_ms=4.2, channel="answer")
    writer.close()  # everything submitted is in the log
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import deque
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from api.metrics import Metrics
from api.storage import Storage, describe_storage_error, error_kind
from assistant.types import Answer

logger = logging.getLogger("api.answers")

#: Paths that never read the answer log: they do not wait for the writer.
ANSWER_PATHS = ("/v1/answer", "/v1/answer/stream", "/v1/chat/completions", "/v1/search")
UNBLOCKED_PREFIXES = ("/static", "/healthz")


@dataclass(frozen=True)
class _Entry:
    answer: Answer
    question: str
    latency_ms: float
    channel: str


def record_now(
    storage: Storage,
    metrics: Metrics,
    answer: Answer,
    question: str,
    latency_ms: float,
    channel: str,
) -> None:
    """Write one answer on the calling thread (no writer running)."""
    record(storage, metrics, _Entry(answer, question, latency_ms, channel))


#: The writer of each open storage (registered by the app's lifespan).
_WRITERS: weakref.WeakKeyDictionary[Storage, AnswerWriter] = weakref.WeakKeyDictionary()


def writer_for(storage: Storage) -> AnswerWriter | None:
    return _WRITERS.get(storage)


def record(storage: Storage, metrics: Metrics, entry: _Entry) -> None:
    """Write one answer; when the answer log is down the answer has still gone out, and it is
    counted under ``help_assistant_answers_not_stored_total`` (feedback on it will be a 404)."""
    try:
        storage.record_answer(
            entry.answer, question=entry.question, latency_ms=entry.latency_ms,
            channel=entry.channel,
        )  # fmt: skip
    except SQLAlchemyError as exc:
        reason = error_kind(exc)
        metrics.answers_not_stored.labels(reason).inc()
        logger.warning("answer %s not stored (%s): %s", entry.answer.answer_id, reason,
                       describe_storage_error(exc).message)  # fmt: skip


class AnswerWriter:
    """Answers queued by the request path, written by one background thread."""

    def __init__(
        self, storage: Storage, metrics: Metrics, *, batch: int = 256, max_pending: int = 10_000
    ) -> None:
        self.storage = storage
        self.metrics = metrics
        self.batch = batch
        self.max_pending = max_pending
        self._queue: deque[_Entry] = deque()
        self._cond = threading.Condition()
        self._submitted = 0
        self._written = 0  # written or counted as not stored
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="answer-writer", daemon=True)
        self._thread.start()
        _WRITERS[storage] = self

    @property
    def pending(self) -> int:
        return self._submitted - self._written

    def submit(self, answer: Answer, *, question: str, latency_ms: float, channel: str) -> None:
        entry = _Entry(answer, question, latency_ms, channel)
        with self._cond:
            if self._closed:  # after shutdown (a straggler): write it here, lose nothing
                record(self.storage, self.metrics, entry)
                return
            while len(self._queue) >= self.max_pending:
                self._cond.wait()
            self._append(entry)

    def offer(self, answer: Answer, *, question: str, latency_ms: float, channel: str) -> bool:
        """:meth:`submit` for a caller that must not block (the event loop): False, and nothing
        queued, when the queue is full or the writer closed; the caller then submits from a
        worker thread."""
        entry = _Entry(answer, question, latency_ms, channel)
        with self._cond:
            if self._closed or len(self._queue) >= self.max_pending:
                return False
            self._append(entry)
            return True

    def _append(self, entry: _Entry) -> None:  # holding self._cond
        self._queue.append(entry)
        self._submitted += 1
        self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything submitted so far is written; False on timeout."""
        with self._cond:
            target = self._submitted
            return self._cond.wait_for(lambda: self._written >= target, timeout)

    def close(self, timeout: float | None = 60.0) -> None:
        """Write everything queued, then stop the thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)
        if _WRITERS.get(self.storage) is self:
            del _WRITERS[self.storage]
        if self._thread.is_alive():
            logger.error("the answer log writer did not finish: %d answers unwritten",
                         self.pending)  # fmt: skip

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closed:
                    self._cond.wait()
                if not self._queue:
                    return  # closed and drained
                count = min(self.batch, len(self._queue))
                entries = [self._queue.popleft() for _ in range(count)]
                self._cond.notify_all()  # room for blocked submitters
            self._write(entries)
            with self._cond:
                self._written += len(entries)
                self._cond.notify_all()


    def _write(self, entries: list[_Entry]) -> None:
        """One transaction for the batch; answer by answer when it fails, so one bad answer
        (or a full disk) is counted and logged for each answer it concerns."""
        try:
            self.storage.record_answers(
                [(e.answer, e.question, e.latency_ms, e.channel) for e in entries]
            )
            return
        except SQLAlchemyError:
            pass
        except Exception:  # noqa: BLE001 - the writer must outlive any one bad answer
            logger.exception("a batch of %d answers failed; storing them one by one",
                             len(entries))  # fmt: skip
        for entry in entries:
            try:
                record(self.storage, self.metrics, entry)
            except Exception:  # noqa: BLE001 - the writer must outlive any one bad answer
                logger.exception("answer %s not stored", entry.answer.answer_id)


class AnswerLogBarrier:
    """Requests that may read the answer log wait until the answers before them are written."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope.get("path", "")
            writer: AnswerWriter | None = getattr(scope["app"].state, "answer_writer", None)
            if (
                writer is not None
                and writer.pending
                and path not in ANSWER_PATHS
                and not path.startswith(UNBLOCKED_PREFIXES)
            ):
                await run_in_threadpool(writer.flush, 30.0)
        await self.app(scope, receive, send)


class WriteBehindStorage(Storage):
    """:class:`Storage` whose reads of the answer log wait for its writer's queued answers."""

    def _settled(self) -> None:
        writer = writer_for(self)
        if writer is not None and writer.pending:
            writer.flush(30.0)

    def get_answer(self, answer_id: str) -> Any:
        self._settled()
        return super().get_answer(answer_id)

    def add_feedback(self, *args: Any, **kwargs: Any) -> Any:
        self._settled()
        return super().add_feedback(*args, **kwargs)

    def list_feedback(self, *args: Any, **kwargs: Any) -> Any:
        self._settled()
        return super().list_feedback(*args, **kwargs)

    def gap_questions(self, *args: Any, **kwargs: Any) -> Any:
        self._settled()
        return super().gap_questions(*args, **kwargs)

    def counts(self) -> dict[str, int]:
        self._settled()
        return super().counts()

    def probe(self) -> str | None:
        self._settled()
        return super().probe()
