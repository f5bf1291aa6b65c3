"""A locked or read-only answers database: a clear 503, no crash, no lost feedback."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import OperationalError

import api.storage
from api.main import create_app
from api.storage import with_retry
from assistant.core import Assistant
from assistant.settings import Settings
from tests.reliability.conftest import ADMIN, ADMIN_KEY

QUESTION = {"question": "How do I do calf raises?"}


def app_settings(kb_settings: Settings, url: str) -> Settings:
    return Settings(**{**kb_settings.model_dump(), "admin_api_key": ADMIN_KEY,
                       "rate_limit": "off", "database_url": url})  # fmt: skip


@contextmanager
def client_for(kb_settings: Settings, assistant: Assistant, url: str) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings(kb_settings, url), assistant=assistant)) as client:
        yield client


@contextmanager
def write_lock(db: Path, seconds: float) -> Iterator[threading.Thread]:
    """Another connection holds the database's write lock for ``seconds``."""
    held = threading.Event()

    def hold() -> None:
        connection = sqlite3.connect(db, timeout=10, isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            held.set()
            time.sleep(seconds)
            connection.execute("COMMIT")
        finally:
            connection.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert held.wait(10), "could not take the write lock"
    try:
        yield thread
    finally:
        thread.join(timeout=seconds + 10)


def feedback_ids(client: TestClient) -> set[str]:
    response = client.get("/v1/admin/feedback", headers=ADMIN, params={"limit": 500})
    assert response.status_code == 200, response.text
    return {f["answer_id"] for f in response.json()}


def test_feedback_waits_out_a_short_lock(
    kb_settings: Settings, kb_assistant: Assistant, tmp_path: Path
) -> None:
    db = tmp_path / "answers.sqlite"
    with client_for(kb_settings, kb_assistant, f"sqlite:///{db}") as client:
        answer_id = client.post("/v1/answer", json=QUESTION).json()["answer_id"]
        with write_lock(db, 1.5):
            started = time.monotonic()
            response = client.post("/v1/feedback", json={"answer_id": answer_id, "helpful": True})
            waited = time.monotonic() - started
        assert response.status_code == 201, response.text
        assert waited >= 1.0, "the lock was not contended: the test proves nothing"
        assert answer_id in feedback_ids(client)


def test_feedback_is_retried_past_the_busy_timeout(
    kb_settings: Settings, kb_assistant: Assistant, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """With SQLite's own wait cut to 0.2 s, a 1 s lock is outlasted by the retries alone."""
    monkeypatch.setattr(api.storage, "BUSY_TIMEOUT", 0.2)
    monkeypatch.setattr(api.storage, "WRITE_ATTEMPTS", 6)
    db = tmp_path / "answers.sqlite"
    with client_for(kb_settings, kb_assistant, f"sqlite:///{db}") as client:
        answer_id = client.post("/v1/answer", json=QUESTION).json()["answer_id"]
        with write_lock(db, 1.0):
            response = client.post("/v1/feedback", json={"answer_id": answer_id, "helpful": False})
        assert response.status_code == 201, response.text
        assert answer_id in feedback_ids(client)


def test_a_long_lock_is_a_clear_503_and_the_retry_succeeds(
    kb_settings: Settings, kb_assistant: Assistant, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setattr(api.storage, "BUSY_TIMEOUT", 0.2)
    monkeypatch.setattr(api.storage, "WRITE_ATTEMPTS", 2)
    db = tmp_path / "answers.sqlite"
    with client_for(kb_settings, kb_assistant, f"sqlite:///{db}") as client:
        answer_id = client.post("/v1/answer", json=QUESTION).json()["answer_id"]
        body = {"answer_id": answer_id, "helpful": True, "comment": "kept"}
        with write_lock(db, 3.0):
            locked = client.post("/v1/feedback", json=body)
        assert locked.status_code == 503
        assert "locked" in locked.json()["message"] and locked.headers["retry-after"] == "2"
        assert client.get("/healthz").status_code == 200  # no crash
        again = client.post("/v1/feedback", json=body)  # what the client does on Retry-After
        assert again.status_code == 201, again.text
        assert answer_id in feedback_ids(client)


def test_read_only_database(
    kb_settings: Settings, kb_assistant: Assistant, tmp_path: Path
) -> None:
    db = tmp_path / "answers.sqlite"
    with client_for(kb_settings, kb_assistant, f"sqlite:///{db}") as client:
        answer_id = client.post("/v1/answer", json=QUESTION).json()["answer_id"]
        stored = client.post("/v1/feedback", json={"answer_id": answer_id, "helpful": True})
        assert stored.status_code == 201

    # The same file opened read-only (as on a read-only mount; root ignores file modes).
    read_only = f"sqlite:///file:{db}?mode=ro&uri=true"
    with client_for(kb_settings, kb_assistant, read_only) as client:
        feedback = client.post("/v1/feedback", json={"answer_id": answer_id, "helpful": False})
        assert feedback.status_code == 503
        assert "read-only" in feedback.json()["message"]
        assert int(feedback.headers["retry-after"]) > 0
        # The runner still gets an answer; it is counted as not stored, and /readyz says so.
        answer = client.post("/v1/answer", json=QUESTION)
        assert answer.status_code == 200 and answer.json()["answer"]
        assert 'answers_not_stored_total{reason="read_only"}' in client.get("/metrics").text
        # Stored feedback is still readable, and the service keeps serving what needs no writes.
        assert answer_id in feedback_ids(client)
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert client.post("/v1/search", json={"query": "calf raises"}).status_code == 200


def test_an_unopenable_database_does_not_stop_the_service(
    kb_settings: Settings, kb_assistant: Assistant, tmp_path: Path
) -> None:
    missing = f"sqlite:///file:{tmp_path / 'nowhere' / 'answers.sqlite'}?mode=ro&uri=true"
    with client_for(kb_settings, kb_assistant, missing) as client:
        response = client.post("/v1/answer", json=QUESTION)
        assert response.status_code == 200 and response.json()["answer"]
        assert str(tmp_path) not in response.text
        ready = client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["status"] == "degraded"
        assert str(tmp_path) not in ready.text


def test_with_retry_retries_only_locks() -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
        return "stored"

    assert with_retry(flaky, attempts=4) == "stored" and len(calls) == 3

    def read_only() -> None:
        calls.append(1)
        raise OperationalError("INSERT", {}, sqlite3.OperationalError("readonly database"))

    calls.clear()
    with pytest.raises(OperationalError):
        with_retry(read_only, attempts=4)
    assert len(calls) == 1
