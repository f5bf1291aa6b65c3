"""Per-client limits: the public rate limit (a token bucket) and the admin-key guessing throttle,
both keyed on the client's address as :func:`client_address` determines it.

The app counts in a `limits` storage (``ASSISTANT_RATE_LIMIT_STORAGE``): ``memory://`` per
process, or ``redis://...`` shared by every worker and instance, so ``--workers N`` does not
multiply the limits. A Redis that cannot be reached lets requests through (logged), rather than
turning every request into an error. ``TokenBucketLimiter`` is the in-process reference.

The client is the TCP peer, unless the peer is one of ``ASSISTANT_TRUSTED_PROXIES``: then it is
the nearest untrusted address of ``X-Forwarded-For`` (proxies append, so it is read from the
right). A server that rewrote the peer from ``X-Forwarded-For`` itself (plain ``uvicorn``
trusts it from 127.0.0.1 by default) is recognised by the peer appearing in that header: such
requests all share one bucket, so random header values buy no new ones.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api.middleware import send_json

logger = logging.getLogger("api.ratelimit")
_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
#: The shared key of requests whose peer address came from a header nobody vouches for.
FORWARDED_UNTRUSTED = "forwarded-for-untrusted"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_rate(spec: str) -> tuple[int, float] | None:
    """``"60/minute"`` -> ``(60, 60.0)``; ``"off"`` -> None (Settings has validated the shape)."""
    if spec == "off":
        return None
    count, _, unit = spec.partition("/")
    return int(count), _SECONDS[unit]


class TrustedProxies:
    """The ``trusted_proxies`` setting as networks. Example::

    TrustedProxies(["10.0.0.0/8"]).client(scope)  # "203.0.113.7"
    """

    def __init__(self, networks: Iterable[str] = ()) -> None:
        self.networks: list[Network] = [ipaddress.ip_network(n, strict=False) for n in networks]

    def trusts(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host.strip().strip("[]"))
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def client(self, scope: Scope) -> str:
        peer = scope.get("client")
        host = str(peer[0]) if peer else "unknown"
        header = ",".join(Headers(scope=scope).getlist("x-forwarded-for"))
        forwarded = [_host(part) for part in header.split(",") if part.strip()]
        if host in forwarded:
            # The server replaced the peer with a value from X-Forwarded-For: the real peer is
            # unknown, so the value counts for nothing.
            return FORWARDED_UNTRUSTED
        if not self.trusts(host):
            return host
        for hop in reversed(forwarded):
            if not self.trusts(hop):
                return hop
        return forwarded[0] if forwarded else host


def _host(value: str) -> str:
    """``"203.0.113.7:5000"``, ``"[2001:db8::1]:80"`` -> the address alone."""
    value = value.strip()
    if value.startswith("["):
        return value[1:].partition("]")[0]
    if value.count(":") == 1:
        return value.partition(":")[0]
    return value


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """``count`` requests per ``period`` per key, refilled continuously (bursts up to ``count``).

    Example::

        limiter = TokenBucketLimiter.parse("60/minute")
        wait = limiter.take("203.0.113.7")  # 0.0 when allowed, else seconds to wait
    """

    blocking = False

    def __init__(self, count: int, period: float) -> None:
        self.capacity = float(count)
        self.rate = count / period
        self.period = period
        self._buckets: dict[str, _Bucket] = {}
        self._swept = time.monotonic()

    @classmethod
    def parse(cls, spec: str) -> TokenBucketLimiter | None:
        """``"60/minute"`` -> a limiter; ``"off"`` -> None."""
        rate = parse_rate(spec)
        return None if rate is None else cls(*rate)

    def take(self, key: str, now: float | None = None) -> float:
        now = time.monotonic() if now is None else now
        self._sweep(now)
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate

    def _sweep(self, now: float) -> None:
        # Forget clients whose bucket is full again, so memory stays bounded by active clients.
        if now - self._swept < self.period:
            return
        self._swept = now
        full = [k for k, b in self._buckets.items() if now - b.updated >= self.period]
        for key in full:
            del self._buckets[key]


class Limiter(Protocol):
    #: True when ``take`` does network I/O (run it off the event loop)
    blocking: bool

    def take(self, key: str) -> float: ...


class _LimitsWindow:
    """``count`` per ``period`` per key in a `limits` storage (a moving window). Storage errors
    (Redis down) allow the request and are logged at most once a minute."""

    def __init__(self, spec: str, storage_url: str, namespace: str) -> None:
        from limits import parse
        from limits.storage import storage_from_string
        from limits.strategies import MovingWindowRateLimiter

        self.item = parse(spec)
        self.namespace = namespace
        self.storage: Any = storage_from_string(storage_url)
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.blocking = not storage_url.startswith("memory://")
        self._warned = float("-inf")

    def _failed(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._warned >= 60:
            self._warned = now
            logger.warning("rate-limit storage unavailable, not limiting: %s", type(exc).__name__)

    def hit(self, key: str) -> bool:
        try:
            return bool(self.strategy.hit(self.item, self.namespace, key))
        except Exception as exc:  # noqa: BLE001 - any storage failure: fail open
            self._failed(exc)
            return True

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may hit again (0 when it may now)."""
        try:
            if self.strategy.test(self.item, self.namespace, key):
                return 0.0
            stats = self.strategy.get_window_stats(self.item, self.namespace, key)
        except Exception as exc:  # noqa: BLE001
            self._failed(exc)
            return 0.0
        return max(0.001, stats.reset_time - time.time())


class SharedRateLimiter:
    """The public rate limit in a `limits` storage. Example::

        limiter = SharedRateLimiter.parse("60/minute", "redis://127.0.0.1:6379/0")
        wait = limiter.take("203.0.113.7")  # 0.0 when allowed, else seconds to wait
    """

    def __init__(self, spec: str, storage_url: str = "memory://") -> None:
        self.window = _LimitsWindow(spec, storage_url, "help-assistant:rate")
        self.blocking = self.window.blocking

    @classmethod
    def parse(cls, spec: str, storage_url: str = "memory://") -> SharedRateLimiter | None:
        return None if spec == "off" else cls(spec, storage_url)

    def take(self, key: str) -> float:
        return 0.0 if self.window.hit(key) else self.window.wait(key)


class RateLimitMiddleware:
    """429 with Retry-After once a client exceeds the limit on public ``/v1`` routes."""

    def __init__(self, app: ASGIApp, limiter: Limiter, proxies: TrustedProxies) -> None:
        self.app = app
        self.limiter = limiter
        self.proxies = proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _limited(scope):
            await self.app(scope, receive, send)
            return
        key = self.proxies.client(scope)
        if self.limiter.blocking:
            wait = await run_in_threadpool(self.limiter.take, key)
        else:
            wait = self.limiter.take(key)
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        await send_json(
            send,
            429,
            {
                "detail": "rate limit exceeded",
                "message": f"Too many requests; try again in {retry_after} s.",
            },
            [(b"retry-after", str(retry_after).encode())],
            scope=scope,
        )


def _limited(scope: Scope) -> bool:
    if scope["type"] != "http" or scope.get("method") == "OPTIONS":
        return False
    path: str = scope.get("path", "")
    return path.startswith("/v1/") and not path.startswith("/v1/admin")


class FailureThrottle:
    """At most ``count`` failures per ``period`` per client (a sliding window), for admin keys.

    Example::

        throttle = FailureThrottle(10, 60.0)
        throttle.retry_after("203.0.113.7")  # 0 while allowed, else seconds until allowed
        throttle.fail("203.0.113.7")         # after a wrong key
    """

    #: Clients remembered at most (the oldest is forgotten first): memory stays bounded.
    MAX_CLIENTS = 10_000

    def __init__(self, count: int, period: float) -> None:
        self.count = count
        self.period = period
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    @classmethod
    def parse(cls, spec: str) -> FailureThrottle | None:
        rate = parse_rate(spec)
        return None if rate is None else cls(*rate)

    def retry_after(self, key: str, now: float | None = None) -> int:
        now = time.monotonic() if now is None else now
        times = self._failures.get(key)
        if times is None:
            return 0
        while times and now - times[0] >= self.period:
            times.popleft()
        if len(times) < self.count:
            return 0
        return max(1, math.ceil(self.period - (now - times[0])))

    def fail(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        times = self._failures.pop(key, None) or deque(maxlen=self.count)
        times.append(now)
        self._failures[key] = times  # most recent last
        while len(self._failures) > self.MAX_CLIENTS:
            self._failures.popitem(last=False)


class SharedFailureThrottle(FailureThrottle):
    """:class:`FailureThrottle` counted in a `limits` storage (shared across workers with Redis).

    Example::

        throttle = SharedFailureThrottle.parse("10/minute", "redis://127.0.0.1:6379/0")
    """

    def __init__(self, spec: str, storage_url: str = "memory://") -> None:
        count, period = parse_rate(spec) or (1, 1.0)
        super().__init__(count, period)
        self.window = _LimitsWindow(spec, storage_url, "help-assistant:admin-failures")

    @classmethod
    def parse(  # type: ignore[override]
        cls, spec: str, storage_url: str = "memory://"
    ) -> SharedFailureThrottle | None:
        return None if spec == "off" else cls(spec, storage_url)

    def retry_after(self, key: str, now: float | None = None) -> int:
        wait = self.window.wait(key)
        return 0 if wait <= 0 else max(1, math.ceil(wait))

    def fail(self, key: str, now: float | None = None) -> None:
        self.window.hit(key)
