"""Hostile clients inside the app (issue 12 §3): admin-key guessing is throttled per client
address, and the rate limit keys on the peer address unless a trusted proxy names the client,
however the app is launched (plain uvicorn trusts X-Forwarded-For from loopback)."""

from __future__ import annotations

import itertools

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.ratelimit import FailureThrottle, TrustedProxies
from assistant.core import Assistant
from assistant.settings import Settings
from tests.api.conftest import LiveServer
from tests.reliability.conftest import ADMIN_KEY

RIGHT = {"X-API-Key": ADMIN_KEY}


def settings_for(kb_settings: Settings, **extra: object) -> Settings:
    return Settings(**{**kb_settings.model_dump(), "admin_api_key": ADMIN_KEY,
                       "rate_limit": "off", **extra})  # fmt: skip


def test_admin_key_guessing_is_throttled_per_client(
    kb_settings: Settings, kb_assistant: Assistant
) -> None:
    app = create_app(settings_for(kb_settings, admin_failure_limit="5/minute"),
                     assistant=kb_assistant)  # fmt: skip
    with (
        TestClient(app, client=("203.0.113.1", 4000)) as guesser,
        TestClient(app, client=("203.0.113.2", 4000)) as admin,
    ):
        statuses = [guesser.get("/v1/admin/feedback", headers={"X-API-Key": f"guess-{i}"})
                    .status_code for i in range(8)]  # fmt: skip
        assert statuses == [403] * 5 + [429] * 3
        locked = guesser.get("/v1/admin/feedback", headers=RIGHT)
        # Even the right key waits: otherwise the lock-out would still answer "right or wrong".
        assert locked.status_code == 429
        assert 1 <= int(locked.headers["retry-after"]) <= 60
        assert "try again" in locked.json()["message"]
        assert ADMIN_KEY not in locked.text
        # Another address is not affected.
        assert admin.get("/v1/admin/feedback", headers=RIGHT).status_code == 200


def test_right_keys_are_never_counted(kb_settings: Settings, kb_assistant: Assistant) -> None:
    app = create_app(settings_for(kb_settings, admin_failure_limit="2/minute"),
                     assistant=kb_assistant)  # fmt: skip
    with TestClient(app) as client:
        assert {client.get("/v1/admin/feedback", headers=RIGHT).status_code
                for _ in range(10)} == {200}  # fmt: skip


def test_failure_window_slides() -> None:
    throttle = FailureThrottle(3, 60.0)
    for t in (0.0, 10.0, 20.0):
        assert throttle.retry_after("a", now=t) == 0
        throttle.fail("a", now=t)
    assert throttle.retry_after("a", now=30.0) == 30  # until the first failure is 60 s old
    assert throttle.retry_after("b", now=30.0) == 0
    assert throttle.retry_after("a", now=60.0) == 0
    assert FailureThrottle.parse("off") is None


@pytest.mark.server
def test_300_wrong_keys_on_a_real_server_end_in_429s(
    kb_settings: Settings, kb_assistant: Assistant
) -> None:
    app = create_app(settings_for(kb_settings), assistant=kb_assistant)  # default 10/minute
    with LiveServer(app) as server, httpx.Client(base_url=server.url) as client:
        statuses = [client.get("/v1/admin/feedback", headers={"X-API-Key": f"k{i}",
                    "X-Forwarded-For": f"198.51.100.{i % 250}"}).status_code
                    for i in range(300)]  # fmt: skip
    assert statuses.count(403) == 10
    assert statuses.count(429) == 290


@pytest.mark.server
def test_forwarded_for_does_not_buy_buckets_under_plain_uvicorn(
    kb_settings: Settings, kb_assistant: Assistant
) -> None:
    """LiveServer runs uvicorn with its defaults: proxy headers on, trusted from 127.0.0.1, so
    uvicorn itself rewrites the peer from the header before the app sees it."""
    app = create_app(settings_for(kb_settings, rate_limit="3/minute"), assistant=kb_assistant)
    with LiveServer(app) as server, httpx.Client(base_url=server.url) as client:
        spoofed = [client.get("/v1/articles", headers={"X-Forwarded-For": f"192.0.2.{i}"})
                   .status_code for i in range(8)]  # fmt: skip
        plain = [client.get("/v1/articles").status_code for _ in range(4)]
    assert spoofed == [200] * 3 + [429] * 5
    assert plain == [200] * 3 + [429]  # the peer's own bucket, not a fresh one per header


def test_trusted_proxy_names_the_client(kb_settings: Settings, kb_assistant: Assistant) -> None:
    settings = settings_for(kb_settings, rate_limit="2/hour", trusted_proxies=["10.0.0.0/24"])
    app = create_app(settings, assistant=kb_assistant)
    with (
        TestClient(app, client=("10.0.0.5", 4000)) as proxy,
        TestClient(app, client=("198.51.100.7", 4000)) as direct,
    ):

        def via(forwarded: str) -> int:
            return proxy.get("/v1/articles", headers={"X-Forwarded-For": forwarded}).status_code

        assert [via("203.0.113.1") for _ in range(3)] == [200, 200, 429]
        assert via("203.0.113.2") == 200  # another client behind the proxy
        # A client-made entry on the left does not change who the proxy says connected.
        assert via("192.0.2.99, 203.0.113.1") == 429
        # Several trusted hops: the nearest untrusted address is the client.
        assert via("203.0.113.3, 10.0.0.9") == 200
        # A peer that is not a trusted proxy is the client, whatever it forwards.
        assert [direct.get("/v1/articles", headers={"X-Forwarded-For": f"192.0.2.{i}"})
                .status_code for i in range(3)] == [200, 200, 429]  # fmt: skip


def test_client_address_rules() -> None:
    proxies = TrustedProxies(["10.0.0.0/8", "::1"])

    def scope(peer: str, *forwarded: str) -> dict[str, object]:
        headers = [(b"x-forwarded-for", f.encode()) for f in forwarded]
        return {"type": "http", "client": (peer, 1), "headers": headers}

    assert proxies.client(scope("203.0.113.1")) == "203.0.113.1"
    assert proxies.client(scope("10.1.2.3", "203.0.113.1:5555")) == "203.0.113.1"
    assert proxies.client(scope("::1", "[2001:db8::1]:80")) == "2001:db8::1"
    assert proxies.client(scope("10.1.2.3", "192.0.2.1", "203.0.113.1")) == "203.0.113.1"
    assert proxies.client(scope("10.1.2.3")) == "10.1.2.3"  # a proxy's own request
    assert proxies.client(scope("10.1.2.3", "10.0.0.1")) == "10.0.0.1"  # all trusted
    assert TrustedProxies().client(scope("192.0.2.1", "192.0.2.1")) != "192.0.2.1"
    keys = {TrustedProxies().client(scope(f"192.0.2.{i}", f"192.0.2.{i}"))
            for i in itertools.islice(range(256), 50)}  # fmt: skip
    assert len(keys) == 1  # rewritten from the header: one shared bucket
