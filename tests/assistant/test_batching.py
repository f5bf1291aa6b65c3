"""Micro-batching of question embeddings (assistant/batching.py): the same vectors as direct
calls, batches formed when callers arrive together, errors handed to every caller."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from assistant.batching import MicroBatcher
from assistant.embeddings import make_query_embeddings
from assistant.settings import Settings

QUESTIONS = ["How do I warm up before a run?", "calf raises", "Can I run with a sore knee?",
             "What shoes for trail running?", "How long should a taper be?", "box jumps",
             "Is stretching after a run useful?", "How do I cancel my subscription?"]  # fmt: skip


def test_vectors_match_direct_calls_alone_and_in_batches(embeddings: Embeddings) -> None:
    direct = np.asarray([embeddings.embed_query(q) for q in QUESTIONS])
    batcher = MicroBatcher(embeddings, window_ms=20, max_batch=4)
    try:
        alone = np.asarray(batcher.embed_query(QUESTIONS[0]))
        assert np.array_equal(alone, direct[0])  # a lone question: the very same call
        start = threading.Barrier(len(QUESTIONS))

        def embed(q: str) -> list[float]:
            start.wait()
            return batcher.embed_query(q)

        with ThreadPoolExecutor(len(QUESTIONS)) as pool:
            together = np.asarray(list(pool.map(embed, QUESTIONS * 3)))
    finally:
        batcher.close()
    assert batcher.questions == 1 + 3 * len(QUESTIONS)
    assert batcher.batches < batcher.questions  # some calls shared a model call
    # padding to the longest question of a batch is masked out: equal to float precision
    np.testing.assert_allclose(together, np.tile(direct, (3, 1)), atol=1e-5)


class Failing(Embeddings):
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        raise RuntimeError("model down")

    def embed_query(self, text: str) -> list[float]:
        raise RuntimeError("model down")


def test_an_error_reaches_the_caller_and_the_batcher_goes_on(embeddings: Embeddings) -> None:
    batcher = MicroBatcher(Failing(), window_ms=1, max_batch=8)
    try:
        with pytest.raises(RuntimeError, match="model down"):
            batcher.embed_query("anything")
        with pytest.raises(RuntimeError, match="model down"):
            batcher.embed_query("again")  # the model thread survived the first error
    finally:
        batcher.close()
    with pytest.raises(RuntimeError, match="closed"):
        batcher.embed_query("after close")


def test_the_setting_switches_batching_off(embeddings: Embeddings) -> None:
    # the same data dir as the session's model (its ONNX export is already there)
    off = make_query_embeddings(Settings(embed_batch_window_ms=0))
    assert not isinstance(off, MicroBatcher)
    on = make_query_embeddings(Settings(embed_batch_window_ms=2, embed_batch_size=8))
    try:
        assert isinstance(on, MicroBatcher) and on.max_batch == 8
        assert np.array_equal(on.embed_query("warm up"), off.embed_query("warm up"))
    finally:
        on.close()
