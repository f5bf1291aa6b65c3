"""Rate limits and the admin-key throttle shared across workers through a real Redis server.

Two apps stand for two workers: with ``memory://`` each counts alone (the limit doubles), with
``redis://`` they share one count. A Redis that cannot be reached limits nothing."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from tests.api.conftest import MakeClient
from tests.api.servers import free_port

WRONG = {"Authorization": "Bearer wrong-key-wrong-key-wrong-key-0000"}


@pytest.fixture
def redis_url(redis_server: Any) -> str:
    redis.Redis.from_url(redis_server.url).flushdb()
    return str(redis_server.url)


def allowed(client: Any, n: int) -> list[int]:
    return [client.get("/v1/articles").status_code for _ in range(n)]


def test_memory_storage_counts_per_process(make_client: MakeClient) -> None:
    first = make_client(rate_limit="3/minute", rate_limit_storage="memory://")
    second = make_client(rate_limit="3/minute", rate_limit_storage="memory://")
    assert allowed(first, 4) == [200, 200, 200, 429]
    assert allowed(second, 4) == [200, 200, 200, 429]  # its own count: the limit doubles


def test_redis_storage_shares_the_limit_between_workers(
    make_client: MakeClient, redis_url: str
) -> None:
    first = make_client(rate_limit="3/minute", rate_limit_storage=redis_url)
    second = make_client(rate_limit="3/minute", rate_limit_storage=redis_url)
    assert allowed(first, 2) == [200, 200]
    assert allowed(second, 2) == [200, 429]
    response = first.get("/v1/articles")
    assert response.status_code == 429 and int(response.headers["retry-after"]) >= 1
    # The 429 is counted under its route, not "<unmatched>".
    metrics = first.get("/metrics").text
    assert 'route="/v1/articles",status="429"' in metrics
    assert "<unmatched>" not in metrics


def test_redis_storage_shares_the_admin_key_throttle(
    make_client: MakeClient, redis_url: str
) -> None:
    first = make_client(admin_failure_limit="3/minute", rate_limit_storage=redis_url)
    second = make_client(admin_failure_limit="3/minute", rate_limit_storage=redis_url)
    codes = [first.get("/v1/admin/feedback", headers=WRONG).status_code for _ in range(3)]
    assert codes == [403, 403, 403]
    assert second.get("/v1/admin/feedback", headers=WRONG).status_code == 429


def test_an_unreachable_redis_limits_nothing(make_client: MakeClient) -> None:
    client = make_client(rate_limit="2/minute",
                         rate_limit_storage=f"redis://127.0.0.1:{free_port()}/0")  # fmt: skip
    assert allowed(client, 4) == [200, 200, 200, 200]
