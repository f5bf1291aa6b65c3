"""/healthz, /readyz (and the 503s of an unbuilt or broken index), /metrics."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from langchain_core.embeddings import Embeddings

from api.deps import get_assistant
from assistant.core import Assistant
from assistant.factory import build_assistant
from assistant.settings import Settings
from assistant.store import make_chroma_client
from tests.api.conftest import ask


@pytest.fixture
def empty_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "empty", refresh_seconds=0)


@pytest.fixture
def unbuilt(
    app: FastAPI, empty_settings: Settings, embeddings: Embeddings
) -> Iterator[Assistant]:
    """The session app, answering from a data dir where nothing was ever ingested."""
    assistant = build_assistant(empty_settings, embeddings=embeddings)
    app.dependency_overrides[get_assistant] = lambda: assistant
    yield assistant
    app.dependency_overrides.clear()


def test_healthz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_when_ready(client: TestClient, assistant: Assistant) -> None:
    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "kb_version": assistant.kb_version}


def test_readyz_and_answers_when_nothing_was_ingested(
    client: TestClient, unbuilt: Assistant
) -> None:
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert "help-assistant ingest" in ready.json()["detail"]

    answer = client.post("/v1/answer", json={"question": "How do I do calf raises?"})
    assert answer.status_code == 503
    assert "help-assistant ingest" in answer.json()["message"]
    stream = client.post("/v1/answer/stream", json={"question": "How do I do calf raises?"})
    assert stream.status_code == 503


def test_readyz_when_the_store_raises(
    client: TestClient, unbuilt: Assistant, empty_settings: Settings
) -> None:
    make_chroma_client(empty_settings).delete_collection(empty_settings.collection)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert "index store is unavailable" in response.json()["detail"]


def test_metrics_count_requests_by_route_and_outcome(client: TestClient) -> None:
    ask(client, "How do I get a refund for my subscription?")
    client.get("/v1/articles/no-such-article")

    text = client.get("/metrics").text

    assert 'route="/v1/answer",status="200"' in text
    assert 'route="/v1/articles/{article_id}",status="404"' in text
    assert 'help_assistant_answers_total{channel="answer",outcome="no_answer"}' in text
    assert "help_assistant_http_request_duration_seconds_bucket" in text
