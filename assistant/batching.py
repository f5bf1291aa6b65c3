"""Micro-batching of concurrent query embeddings: questions that arrive while the model is busy
(or within a short window of each other) go to the model as one batch.

Every request of the API embeds its question in a worker thread. Run one at a time, each call
pays the model's fixed costs (tokenizer, session dispatch, thread-pool wake-up); run at the same
time, the calls fight over the same cores through ONNX Runtime's intra-op pool. One thread
(:class:`MicroBatcher`'s) runs every model call instead: it takes the first waiting question,
whatever else is already waiting, and, when recent batches had company, waits up to
``window_ms`` for more, bounded by ``max_batch``. A lone caller never waits for the window, so
the latency at one connection stays that of a direct call plus a thread hand-over.

Each question's vector is the same as a direct ``embed_query`` (the model pools per text; only
padding differs, which the attention mask hides); ``tests/assistant/test_batching.py`` checks it.

Example::

    batched = MicroBatcher(make_embeddings(settings), window_ms=2, max_batch=16)
    batched.embed_query("how do I warm up?")   # from many threads at once
    batched.close()
"""

from __future__ import annotations

import threading
import time
from collections import deque
from concurrent.futures import Future
from typing import Any

from langchain_core.embeddings import Embeddings

#: A batch counts as "with company" when it held more than one question; the window is only
#: waited for while recent batches had company (an exponential average of their sizes).
_SMOOTHING = 0.3


class MicroBatcher(Embeddings):
    """``embed_query`` from any thread, run in batches by one model thread; ``embed_documents``
    (ingest, already batched) goes straight to the inner model."""

    def __init__(self, inner: Embeddings, window_ms: float, max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.inner = inner
        self.window_s = max(0.0, window_ms) / 1000
        self.max_batch = max_batch
        self._queue: deque[tuple[str, Future[list[float]]]] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._recent = 1.0  # average batch size
        #: counters for the bench and the tests: model calls and questions embedded
        self.batches = 0
        self.questions = 0
        self._thread = threading.Thread(target=self._loop, name="embed-batcher", daemon=True)
        self._thread.start()

    # ----- the Embeddings interface --------------------------------------------------------
    def embed_query(self, text: str) -> list[float]:
        future: Future[list[float]] = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the embedding batcher is closed")
            self._queue.append((text, future))
            self._cond.notify()
        return future.result()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(texts)

    def close(self) -> None:
        """Stop the model thread once the questions already queued are answered."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout=10)

    def __getattr__(self, name: str) -> Any:  # the inner model's own attributes (session...)
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)

    # ----- the model thread ----------------------------------------------------------------
    def _take(self) -> list[tuple[str, Future[list[float]]]] | None:
        with self._cond:
            while not self._queue:
                if self._closed:
                    return None
                self._cond.wait()
            batch = [self._queue.popleft()]
            deadline = time.perf_counter() + self.window_s
            while len(batch) < self.max_batch:
                if self._queue:
                    batch.append(self._queue.popleft())
                    continue
                left = deadline - time.perf_counter()
                if left <= 0 or self._recent < 1.5 or self._closed:
                    break  # alone lately: a direct call, no waiting
                self._cond.wait(left)
            return batch

    def _loop(self) -> None:
        while (batch := self._take()) is not None:
            self._recent += _SMOOTHING * (len(batch) - self._recent)
            texts = [text for text, _ in batch]
            try:
                vectors = (
                    [self.inner.embed_query(texts[0])]
                    if len(texts) == 1
                    else self.inner.embed_documents(texts)
                )
            except BaseException as exc:  # noqa: BLE001 - every waiting caller gets the error
                for _, future in batch:
                    future.set_exception(exc)
                continue
            self.batches += 1
            self.questions += len(batch)
            for (_, future), vector in zip(batch, vectors, strict=True):
                future.set_result(vector)
