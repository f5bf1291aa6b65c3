"""Access control taken from the app itself rather than a hand-kept list: every admin operation
needs the key, the key check is constant-time, every public route is rate limited, and the
default limit is one a person chatting never reaches. (Headers, CSP and CORS: tests/api.)"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

import api.deps
from api.deps import keys_match, require_admin
from api.main import create_app
from api.ratelimit import TokenBucketLimiter
from assistant.core import Assistant
from assistant.settings import Settings
from tests.reliability.conftest import ADMIN_KEY

BODIES: dict[str, Any] = {
    "/v1/answer": {"question": "How do I do calf raises?"},
    "/v1/answer/stream": {"question": "How do I do calf raises?"},
    "/v1/search": {"query": "calf raises"},
    "/v1/feedback": {"answer_id": "ans_x", "helpful": True},
    "/v1/chat/completions": {"messages": [{"role": "user", "content": "calf raises?"}]},
}


def settings_for(kb_settings: Settings, **extra: object) -> Settings:
    return Settings(**{**kb_settings.model_dump(), "admin_api_key": ADMIN_KEY,
                       "rate_limit": "off", "admin_failure_limit": "off", **extra})  # fmt: skip


@pytest.fixture
def client(kb_settings: Settings, kb_assistant: Assistant) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(kb_settings), assistant=kb_assistant)) as test:
        yield test


def operations(client: TestClient, prefix: str) -> list[tuple[str, str]]:
    schema = client.get("/openapi.json").json()
    return [(method.upper(), path) for path, ops in schema["paths"].items()
            for method in ops if path.startswith(prefix)]  # fmt: skip


def concrete(path: str) -> str:
    return path.replace("{article_id}", "quadripod-balance").replace("{model_id}", "help-assistant")


def test_every_admin_operation_needs_the_key(client: TestClient) -> None:
    admin = operations(client, "/v1/admin")
    assert len(admin) >= 3
    for method, path in admin:
        missing = client.request(method, path)
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        for headers, status in [
            ({"Authorization": "Bearer "}, 401), ({"Authorization": f"Basic {ADMIN_KEY}"}, 401),
            ({"X-API-Key": ""}, 401), ({"X-API-Key": ADMIN_KEY[:-1]}, 403),
            ({"X-API-Key": ADMIN_KEY + "0"}, 403), ({"X-API-Key": ADMIN_KEY.upper()}, 403),
            ({"Authorization": f"Bearer {ADMIN_KEY}x"}, 403),
            ({"Authorization": "Bearer " + "x" * 4000}, 403),
        ]:  # fmt: skip
            response = client.request(method, path, headers=headers)
            assert response.status_code == status, (method, path, headers, response.text)
            assert ADMIN_KEY not in response.text


def test_admin_operations_do_not_exist_without_a_configured_key(
    kb_settings: Settings, kb_assistant: Assistant
) -> None:
    settings = settings_for(kb_settings, admin_api_key=None)
    with TestClient(create_app(settings, assistant=kb_assistant)) as client:
        for method, path in operations(client, "/v1/admin"):
            for headers in ({}, {"X-API-Key": ""}, {"Authorization": "Bearer None"}):
                assert client.request(method, path, headers=headers).status_code == 404


def test_only_admin_routes_carry_the_admin_check(client: TestClient) -> None:
    """Every route of the app (documented or not) that needs the key is under /v1/admin, every
    route under /v1/admin needs it, and the schema says so."""
    schema = client.get("/openapi.json").json()["paths"]
    routes = [r for r in client.app.routes if isinstance(r, APIRoute)]  # type: ignore[attr-defined]
    for route in routes:
        guarded = any(d.call is require_admin for d in route.dependant.dependencies)
        assert guarded == route.path.startswith("/v1/admin"), route.path
        for method in route.methods:
            secured = bool(schema.get(route.path, {}).get(method.lower(), {}).get("security"))
            assert secured == guarded, (method, route.path)


def test_the_key_check_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever is sent, hmac.compare_digest compares two 32-byte digests: no early exit on a
    length mismatch, no byte-by-byte ``==``."""
    seen: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(api.deps.hmac, "compare_digest", spy)
    for supplied in ("", "x", ADMIN_KEY[:-1], ADMIN_KEY, ADMIN_KEY * 50, "ключ-🔑"):
        assert keys_match(supplied, ADMIN_KEY) is (supplied == ADMIN_KEY)
    assert seen and set(seen) == {(hashlib.sha256().digest_size,) * 2}


def test_every_public_route_is_rate_limited(kb_settings: Settings, kb_assistant: Assistant) -> None:
    settings = settings_for(kb_settings, rate_limit="1/hour")
    with TestClient(create_app(settings, assistant=kb_assistant)) as client:
        public = [op for op in operations(client, "/v1/") if not op[1].startswith("/v1/admin")]
        assert len(public) >= 6
        client.get("/v1/articles")  # the client's one request this hour
        for method, path in public:
            response = client.request(method, concrete(path), json=BODIES.get(path))
            assert response.status_code == 429, (method, path, response.status_code)
            assert int(response.headers["retry-after"]) >= 1
            body = response.json()
            # The OpenAI-compatible routes answer in OpenAI's error shape.
            message = body["error"]["message"] if "error" in body else body["message"]
            assert "try again" in message
        # Operations, the chat page and the admin routes are not limited.
        for path in ("/healthz", "/readyz", "/", "/static/chat.js"):
            assert client.get(path).status_code == 200, path
        assert client.get("/v1/admin/feedback", headers={"X-API-Key": ADMIN_KEY}).status_code == 200


def test_rate_limit_is_per_client(kb_settings: Settings, kb_assistant: Assistant) -> None:
    settings = settings_for(kb_settings, rate_limit="2/hour")
    app = create_app(settings, assistant=kb_assistant)
    with TestClient(app, client=("203.0.113.1", 5000)) as first, TestClient(
        app, client=("203.0.113.2", 5000)
    ) as second:
        assert [first.get("/v1/articles").status_code for _ in range(3)] == [200, 200, 429]
        assert second.get("/v1/articles").status_code == 200
        # A forwarded-for header does not buy a new bucket (no proxy is trusted).
        spoofed = first.get("/v1/articles", headers={"X-Forwarded-For": "198.51.100.9"})
        assert spoofed.status_code == 429


def test_the_default_limit_never_stops_a_person_chatting() -> None:
    spec = Settings().rate_limit
    limiter = TokenBucketLimiter.parse(spec)
    assert limiter is not None, "rate limiting must be on by default"
    # A fast typist for an hour: a question every 5 s, each with a streamed answer and a rating,
    # plus opening two sources: 4 requests per question, bursts of 4 at once.
    now = 0.0
    for _ in range(720):
        for _ in range(4):
            assert limiter.take("person", now=now) == 0.0, f"{spec} blocked a person at {now} s"
        now += 5.0
    # ... while a script firing without pause is stopped within a few seconds' worth.
    blocked = next(i for i in range(10_000) if limiter.take("script", now=now) > 0)
    assert blocked <= limiter.capacity
