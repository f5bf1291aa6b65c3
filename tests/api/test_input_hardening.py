"""Input that used to get a 500 or a surprise: lone surrogates, over-long chat messages, HEAD,
trailing slashes, gzip bodies, booleans where numbers belong (issue 12 §2)."""

from __future__ import annotations

import gzip
import json
import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import MakeClient

SURROGATE = '"\\ud800 how do I do calf raises?"'  # the JSON escape, as a client sends it
#: (path, raw JSON body holding a lone surrogate, the field the 422 must name)
SURROGATE_BODIES = [
    ("/v1/answer", '{"question": %s}', "question"),
    ("/v1/answer/stream", '{"question": %s}', "question"),
    ("/v1/search", '{"query": %s}', "query"),
    ("/v1/chat/completions", '{"messages": [{"role": "user", "content": %s}]}',
     "messages.0.content"),
    ("/v1/chat/completions", '{"messages": [{"role": "user", "content": [{"type": "text", '
     '"text": %s}]}]}', "messages.0.content"),
    ("/v1/chat/completions", '{"messages": [{"role": "user", "content": %s}, {"role": "user", '
     '"content": "and?"}]}', "messages.0.content"),
]  # fmt: skip
MARKER = "qwxzv-user-text-marker"


def _post_raw(client: TestClient, path: str, body: str, **headers: str) -> Any:
    return client.post(
        path, content=body.encode(), headers={"Content-Type": "application/json", **headers}
    )


def _field_of(path: str, body: dict[str, Any]) -> str:
    if path.startswith("/v1/chat/"):
        return str(body["error"]["param"])
    return str(body["message"]).split(":", 1)[0]


@pytest.mark.parametrize(("path", "template", "field"), SURROGATE_BODIES)
def test_lone_surrogate_is_a_422_naming_the_field(
    client: TestClient, caplog: pytest.LogCaptureFixture, path: str, template: str, field: str
) -> None:
    caplog.set_level(logging.INFO)

    response = _post_raw(client, path, template % SURROGATE)

    assert response.status_code == 422, response.text
    assert _field_of(path, response.json()) == field
    assert "Unicode" in response.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert "Traceback" not in caplog.text


def test_long_earlier_chat_message_is_a_422_and_never_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    long_text = (MARKER + " ") * (20_001 // (len(MARKER) + 1) + 1)
    messages = [
        {"role": "user", "content": long_text},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "how do I do calf raises?"},
    ]

    response = client.post("/v1/chat/completions", json={"messages": messages})

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["param"] == "messages.0.content" and "20000" in error["message"]
    assert MARKER not in response.text
    assert MARKER not in caplog.text and "Traceback" not in caplog.text


def test_long_message_in_parts_is_a_422(client: TestClient) -> None:
    parts = [{"type": "text", "text": "a" * 15_000}, {"type": "text", "text": "b" * 15_000}]
    messages = [{"role": "user", "content": parts}, {"role": "user", "content": "and?"}]

    response = client.post("/v1/chat/completions", json={"messages": messages})

    assert response.status_code == 422, response.text
    assert response.json()["error"]["param"] == "messages.0.content"


def test_an_earlier_message_at_the_limit_is_accepted(client: TestClient) -> None:
    messages = [
        {"role": "user", "content": "a" * 20_000},
        {"role": "user", "content": "how do I do calf raises?"},
    ]
    assert client.post("/v1/chat/completions", json={"messages": messages}).status_code == 200


@pytest.mark.parametrize(
    "path", ["/healthz", "/readyz", "/v1/articles", "/v1/articles/calf-raises", "/v1/models", "/"]
)
def test_head_answers_like_get_without_a_body(client: TestClient, path: str) -> None:
    get = client.get(path)
    head = client.head(path)

    assert head.status_code == get.status_code == 200
    assert head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.headers["content-length"] == str(len(get.content))


def test_head_is_counted_under_its_route(make_client: MakeClient) -> None:
    client = make_client()
    client.head("/v1/articles")
    gzipped = gzip.compress(b'{"query": "calf raises"}')
    client.post(
        "/v1/search",
        content=gzipped,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
    )

    metrics = client.get("/metrics").text
    assert 'method="HEAD",route="/v1/articles",status="200"} 1.0' in metrics
    assert 'method="POST",route="/v1/search",status="200"} 1.0' in metrics


def test_head_on_a_post_route_is_still_405(client: TestClient) -> None:
    assert client.head("/v1/answer").status_code == 405


@pytest.mark.parametrize(("method", "path"), [("GET", "/healthz/"), ("POST", "/v1/answer/"),
                                              ("GET", "/v1/articles/")])  # fmt: skip
def test_trailing_slash_is_a_404_not_a_redirect(client: TestClient, method: str, path: str) -> None:
    response = client.request(
        method, path, headers={"Host": "evil.example"}, json={}, follow_redirects=False
    )

    assert response.status_code == 404
    assert "location" not in response.headers


def test_gzip_body_is_decoded(client: TestClient) -> None:
    body = gzip.compress(json.dumps({"question": "How do I do calf raises?"}).encode())

    response = client.post(
        "/v1/answer",
        content=body,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["outcome"] == "answered"


def test_gzip_bomb_is_a_413(client: TestClient) -> None:
    bomb = gzip.compress(b'{"question": "' + b" " * (50 * 1024 * 1024) + b'"}')
    assert len(bomb) < 64 * 1024  # under the limit on the wire

    response = client.post(
        "/v1/answer",
        content=bomb,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )

    assert response.status_code == 413
    assert "decompressed" in response.json()["message"]


@pytest.mark.parametrize(
    ("encoding", "body", "status"),
    [("br", b"\x0b\x02\x80{}\x03", 415), ("deflate", b"x\x9c\xab\xae\x05\x00\x01u\x00\xf9", 415),
     ("gzip", b"not gzip at all", 400), ("gzip", gzip.compress(b'{"question": "x"}')[:-6], 400)],
)  # fmt: skip
def test_other_encodings_and_broken_gzip_are_refused(
    client: TestClient, encoding: str, body: bytes, status: int
) -> None:
    response = client.post(
        "/v1/answer",
        content=body,
        headers={"Content-Type": "application/json", "Content-Encoding": encoding},
    )

    assert response.status_code == status, response.text
    assert response.json()["message"]


def test_gzip_on_the_chat_route_errs_in_openai_shape(client: TestClient) -> None:
    response = client.post(
        "/v1/chat/completions", content=b"{}", headers={"Content-Encoding": "br"}
    )

    assert response.status_code == 415
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}


@pytest.mark.parametrize(
    ("path", "payload", "field"),
    [
        ("/v1/search", {"query": "calf raises", "k": True}, "k"),
        ("/v1/search", {"query": "calf raises", "k": 2.5}, "k"),
        ("/v1/search", {"query": "calf raises", "k": "3"}, "k"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}],
                                  "max_tokens": True}, "max_tokens"),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}],
                                  "n": True}, "n"),
    ],
)  # fmt: skip
def test_booleans_are_not_numbers(
    client: TestClient, path: str, payload: dict[str, Any], field: str
) -> None:
    response = client.post(path, json=payload)

    assert response.status_code == 422, response.text
    assert _field_of(path, response.json()) == field


def test_rate_limited_chat_errs_in_openai_shape(make_client: MakeClient) -> None:
    client = make_client(rate_limit="1/hour")
    body = {"messages": [{"role": "user", "content": "calf raises?"}]}
    client.post("/v1/chat/completions", json=body)

    limited = client.post("/v1/chat/completions", json=body)

    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
