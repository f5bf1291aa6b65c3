"""The answer log is written behind the responses (api/answer_writer.py), and nothing is lost:
every answer given before shutdown is in the log after it, and a reader sees the answers
given before its own request."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.answer_writer import AnswerWriter, writer_for
from api.main import create_app
from api.metrics import Metrics
from api.storage import Storage
from assistant.core import Assistant
from assistant.settings import Settings
from tests.api.conftest import settings_with
from tests.api.test_storage_backends import make_answer

QUESTIONS = ["How do I do calf raises?", "How should I warm up?", "What are box jumps?",
             "Can I lift weights barefoot?"]  # fmt: skip


def _app(api_settings: Settings, assistant: Assistant, tmp_path: Path) -> tuple[FastAPI, str]:
    """An app whose answer log is a SQLite file of this test, and that file's URL."""
    url = f"sqlite:///{tmp_path / 'answers.sqlite'}"
    return create_app(settings_with(api_settings, database_url=url), assistant=assistant), url


def test_every_answer_is_in_the_log_after_shutdown(
    api_settings: Settings, assistant: Assistant, tmp_path: Path
) -> None:
    app, url = _app(api_settings, assistant, tmp_path)
    with TestClient(app) as client:
        writer = app.state.answer_writer
        assert writer_for(app.state.storage) is writer

        def ask(i: int) -> str:
            response = client.post("/v1/answer", json={"question": QUESTIONS[i % 4]})
            assert response.status_code == 200, response.text
            return str(response.json()["answer_id"])

        with ThreadPoolExecutor(8) as pool:  # concurrent answers, so the writer gets batches
            ids = list(pool.map(ask, range(40)))
    # the lifespan's shutdown wrote what was still queued; a new connection reads it all
    storage = Storage(url)
    try:
        assert all(storage.get_answer(i) is not None for i in ids)
        assert storage.counts()["answers"] == 40
    finally:
        storage.close()
    assert writer_for(app.state.storage) is None  # the writer is gone with the app


def test_feedback_right_after_an_answer_finds_it(
    api_settings: Settings, assistant: Assistant, tmp_path: Path
) -> None:
    app, _ = _app(api_settings, assistant, tmp_path)
    with TestClient(app) as client:
        for question in QUESTIONS:
            answer_id = client.post("/v1/answer", json={"question": question}).json()["answer_id"]
            feedback = client.post("/v1/feedback", json={"answer_id": answer_id, "helpful": True})
            assert feedback.status_code == 201, feedback.text


def test_a_blocked_log_queues_answers_and_close_writes_them(tmp_path: Path) -> None:
    """While the database is held by another writer, answers queue up (the request path does
    not wait); close() waits for the database and writes every one."""
    storage = Storage(f"sqlite:///{tmp_path / 'answers.sqlite'}")
    storage.create_schema()
    writer = AnswerWriter(storage, Metrics())
    gate = threading.Lock()
    original = storage.record_answers

    def slow_record(*args: object, **kwargs: object) -> None:
        with gate:
            original(*args, **kwargs)  # type: ignore[arg-type]

    storage.record_answers = slow_record  # type: ignore[method-assign]
    gate.acquire()
    for i in range(20):
        writer.submit(make_answer(f"a{i}"), question="q", latency_ms=1.0, channel="answer")
    assert writer.pending == 20  # all queued, none written: the database is held
    assert not writer.flush(timeout=0.05)
    gate.release()
    writer.close()
    assert writer.pending == 0
    assert all(storage.get_answer(f"a{i}") is not None for i in range(20))
    storage.close()


def test_a_batch_with_one_bad_answer_stores_the_others_and_counts_that_one(
    tmp_path: Path,
) -> None:
    """A batch is one transaction; when it fails (here a duplicate answer id), the answers are
    stored one by one and only the bad one is counted as not stored."""
    storage = Storage(f"sqlite:///{tmp_path / 'answers.sqlite'}")
    storage.create_schema()
    storage.record_answer(make_answer("dup"), question="q", latency_ms=1.0, channel="answer")
    metrics = Metrics()
    writer = AnswerWriter(storage, metrics)
    gate = threading.Lock()
    original = storage.record_answers

    def held(*args: object, **kwargs: object) -> None:
        with gate:  # hold the first write so that all five are queued as one batch
            original(*args, **kwargs)  # type: ignore[arg-type]

    storage.record_answers = held  # type: ignore[method-assign]
    gate.acquire()
    for answer_id in ("b0", "b1", "dup", "b2", "b3"):
        writer.submit(make_answer(answer_id), question="q", latency_ms=1.0, channel="answer")
    gate.release()
    writer.close()
    try:
        assert all(storage.get_answer(f"b{i}") is not None for i in range(4))
        assert storage.counts()["answers"] == 5
        [sample] = [s for s in metrics.answers_not_stored.collect()[0].samples
                    if s.name.endswith("_total")]  # fmt: skip
        assert sample.value == 1.0
    finally:
        storage.close()
