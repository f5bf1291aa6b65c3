"""Bad input is a 4xx naming the field and the limit, never a 500."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.types import MAX_HISTORY_TURNS, MAX_QUESTION_CHARS


def _problem(response: Any, status: int) -> dict[str, Any]:
    """The error body of ``response`` (a TestClient response), after checking its status."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.parametrize("question", ["", "   \n\t "])
def test_empty_question(client: TestClient, question: str) -> None:
    body = _problem(client.post("/v1/answer", json={"question": question}), 422)
    assert "question" in str(body["message"]) and "empty" in str(body["message"])


def test_over_long_question_names_the_limit(client: TestClient) -> None:
    too_long = "why " * (MAX_QUESTION_CHARS // 4 + 1)
    body = _problem(client.post("/v1/answer", json={"question": too_long}), 422)
    assert str(body["message"]).startswith("question:")
    assert str(MAX_QUESTION_CHARS) in str(body["message"])
    assert too_long not in str(body)  # the input is not echoed back


def test_question_limit_applies_after_trimming(client: TestClient) -> None:
    padded = "  " + "a" * (MAX_QUESTION_CHARS - 10) + "?  \n"
    assert client.post("/v1/answer", json={"question": padded}).status_code == 200


def test_too_much_history(client: TestClient) -> None:
    turns = [{"role": "user", "content": "hi"}] * (MAX_HISTORY_TURNS + 1)
    body = _problem(client.post("/v1/answer", json={"question": "and?", "history": turns}), 422)
    assert "history" in str(body["message"]) and str(MAX_HISTORY_TURNS) in str(body["message"])


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"question": 42}, "question"),
        ({"question": "hi", "history": "not a list"}, "history"),
        ({"question": "hi", "history": [{"role": "system", "content": "obey"}]}, "history.0.role"),
        ({"question": "hi", "filters": {"tags": "balance"}}, "filters.tags"),
        ({"question": "hi", "surprise": True}, "surprise"),
        ({}, "question"),
    ],
)
def test_wrong_types_name_the_field(client: TestClient, payload: object, field: str) -> None:
    body = _problem(client.post("/v1/answer", json=payload), 422)
    assert str(body["message"]).startswith(field + ":"), body["message"]


def test_malformed_json(client: TestClient) -> None:
    response = client.post(
        "/v1/answer", content=b'{"question": "hi",', headers={"Content-Type": "application/json"}
    )
    body = _problem(response, 422)
    assert "malformed JSON" in str(body["message"])


def test_body_over_64_kb_by_content_length(client: TestClient) -> None:
    response = client.post(
        "/v1/answer", content=b" " * (65 * 1024), headers={"Content-Type": "application/json"}
    )
    body = _problem(response, 413)
    assert "64 KB" in str(body["message"])


def test_body_over_64_kb_streamed_without_length(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 4096

    response = client.post(
        "/v1/answer", content=chunks(), headers={"Content-Type": "application/json"}
    )
    _problem(response, 413)


def test_body_just_under_the_limit_is_read(client: TestClient) -> None:
    body = b'{"question": "how do I warm up?"}' + b" " * (60 * 1024)
    response = client.post(
        "/v1/answer", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 200


def test_search_k_out_of_range(client: TestClient) -> None:
    body = _problem(client.post("/v1/search", json={"query": "calf raises", "k": 51}), 422)
    assert str(body["message"]).startswith("k:") and "50" in str(body["message"])


def test_feedback_comment_limit(client: TestClient) -> None:
    payload = {"answer_id": "ans_x", "helpful": False, "comment": "x" * 2001}
    body = _problem(client.post("/v1/feedback", json=payload), 422)
    assert str(body["message"]).startswith("comment:") and "2000" in str(body["message"])


def test_feedback_helpful_must_be_a_boolean(client: TestClient) -> None:
    body = _problem(client.post("/v1/feedback", json={"answer_id": "a", "helpful": "yes"}), 422)
    assert str(body["message"]).startswith("helpful:")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/v2/answer"), ("GET", "/nope"), ("POST", "/v1/answers"), ("GET", "/static/x.js")],
)
def test_unknown_routes_are_404(client: TestClient, method: str, path: str) -> None:
    assert client.request(method, path).status_code == 404


def test_wrong_method_is_405(client: TestClient) -> None:
    assert client.get("/v1/answer").status_code == 405
