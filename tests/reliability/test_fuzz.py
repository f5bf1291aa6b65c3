"""Schemathesis fuzzes every operation of the OpenAPI schema, admin routes included: no 5xx, and
every response conforms to the schema (status code, content type, headers, body).

The longer run is ``python -m eval.bench.fuzz --examples 200`` (figures in RELIABILITY.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.main import create_app
from assistant.core import Assistant
from assistant.settings import Settings
from eval.bench.fuzz import fuzz_app
from tests.reliability.conftest import ADMIN, ADMIN_KEY

#: Per operation and mode (positive, negative): enough to hit every documented status quickly.
EXAMPLES = 6


@pytest.fixture
def app(kb_settings: Settings, kb_assistant: Assistant, tmp_path: Path) -> FastAPI:
    settings = Settings(**{
        **kb_settings.model_dump(), "admin_api_key": ADMIN_KEY, "rate_limit": "off",
        "database_url": f"sqlite:///{tmp_path / 'answers.sqlite'}",
    })  # fmt: skip
    return create_app(settings, assistant=kb_assistant)


def test_fuzz_every_operation(app: FastAPI) -> None:
    report = fuzz_app(app, examples=EXAMPLES, headers=ADMIN, seed=0)

    operations = {o.operation for o in report.operations}
    assert len(operations) >= 13 and "POST /v1/admin/reindex" in operations
    assert report.requests >= len(operations) * 2
    assert report.server_errors == 0
    assert report.failures == []
    assert any(s.startswith("2") for o in report.operations for s in o.statuses)


@pytest.mark.parametrize(
    "target",
    ["/v1/admin/feedback?offset=1&offset=2", "/v1/admin/unanswered?limit=5&limit=6",
     "/v1/admin/feedback?helpful=true&helpful=false", "/v1/articles?collection=a&collection=b"],
)  # fmt: skip
def test_repeated_query_parameters_are_rejected(app: FastAPI, target: str) -> None:
    """Found by `eval.bench.fuzz --examples 1000`: FastAPI kept the last of repeated values."""
    with TestClient(app) as client:
        response = client.get(target, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert "more than once" in response.json()["message"]


def test_the_schema_states_no_length_limit_the_api_does_not_apply(app: FastAPI) -> None:
    """Found by `eval.bench.fuzz --examples 200`: the schema said maxLength 2000, but the contract's
    limit applies after trimming, so a padded question is valid; the schema no longer claims it."""
    question = "why " * 499 + "now"  # 1,999 characters
    with TestClient(app) as client:
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        padded = client.post("/v1/answer", json={"question": "   " + question + " " * 50})
        too_long = client.post("/v1/answer", json={"question": question + "??"})
    assert "maxLength" not in schema["AnswerRequest"]["properties"]["question"]
    assert padded.status_code == 200, padded.text
    assert too_long.status_code == 422


@pytest.mark.parametrize(
    ("path", "body"),
    [("/v1/search", {"query": "calf raises", "k": True}),
     ("/v1/search", {"query": "calf raises", "k": "5"}),
     ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}], "stream": 1})],
)  # fmt: skip
def test_numbers_and_booleans_are_not_coerced(app: FastAPI, path: str, body: object) -> None:
    """Found by `eval.bench.fuzz --examples 1000`: `"k": true` was read as k=1."""
    with TestClient(app) as client:
        response = client.post(path, json=body)
    assert response.status_code == 422, response.text
