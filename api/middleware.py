"""Small ASGI middlewares: request-body limit, per-client rate limiting, security headers and
HTML-safe JSON."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_SECONDS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}

#: The chat page runs only our own script and style; nothing may frame it.
CHAT_PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
#: JSON responses never need to load anything.
API_CSP = "default-src 'none'; frame-ancestors 'none'"
#: Swagger UI and ReDoc load their assets from a CDN and run inline script.
_DOCS_PATHS = ("/docs", "/redoc")


class BodyTooLargeError(HTTPException):
    """Raised from ``receive`` once the body passes the limit; the app answers it with a 413."""

    def __init__(self) -> None:
        super().__init__(status_code=413, detail="request body too large")


class BodyLimitMiddleware:
    """413 for bodies over ``max_bytes``: by Content-Length up front, else by counting chunks.

    Counting matters for chunked uploads, which announce no length. The error is raised inside
    the app's ``receive`` so FastAPI's handlers render it as JSON; if it escapes anyway (the
    body read somewhere without handlers) and nothing was sent yet, the 413 is sent here.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLargeError()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLargeError:
            if started:
                raise
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        await _send_json(
            send,
            413,
            {
                "detail": "request body too large",
                "message": f"The request body is larger than {self.max_bytes // 1024} KB.",
            },
        )


async def _send_json(
    send: Send, status: int, payload: dict[str, str], headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


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

    def __init__(self, count: int, period: float) -> None:
        self.capacity = float(count)
        self.rate = count / period
        self.period = period
        self._buckets: dict[str, _Bucket] = {}
        self._swept = time.monotonic()

    @classmethod
    def parse(cls, spec: str) -> TokenBucketLimiter | None:
        """``"60/minute"`` -> a limiter; ``"off"`` -> None (Settings has validated the shape)."""
        if spec == "off":
            return None
        count, _, unit = spec.partition("/")
        return cls(int(count), _SECONDS[unit])

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


class RateLimitMiddleware:
    """429 with Retry-After once a client IP exceeds the limit on public ``/v1`` routes."""

    def __init__(self, app: ASGIApp, limiter: TokenBucketLimiter) -> None:
        self.app = app
        self.limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _limited(scope):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        wait = self.limiter.take(client[0] if client else "unknown")
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        await _send_json(
            send,
            429,
            {
                "detail": "rate limit exceeded",
                "message": f"Too many requests; try again in {retry_after} s.",
            },
            [(b"retry-after", str(retry_after).encode())],
        )


def _limited(scope: Scope) -> bool:
    if scope["type"] != "http" or scope.get("method") == "OPTIONS":
        return False
    path: str = scope.get("path", "")
    return path.startswith("/v1/") and not path.startswith("/v1/admin")


class SecurityHeadersMiddleware:
    """nosniff, no framing, no referrer leaks; a strict CSP on the chat page and the API."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = None if path.startswith(_DOCS_PATHS) else (CHAT_PAGE_CSP if path == "/" else API_CSP)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"strict-origin-when-cross-origin"),
                ]
                if csp is not None:
                    headers.append((b"content-security-policy", csp.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_wrapper)


#: ``<``, ``>`` and ``&`` only ever occur inside JSON strings, where their \u escapes mean the
#: same; escaped, no JSON or SSE body holds a byte sequence a browser could read as markup.
_HTML_SAFE = ((b"<", b"\\u003c"), (b">", b"\\u003e"), (b"&", b"\\u0026"))
_JSON_TYPES = (b"application/json", b"text/event-stream")


def html_safe(body: bytes) -> bytes:
    """``body`` (JSON, or SSE whose data lines are JSON) with ``<``, ``>``, ``&`` escaped."""
    for raw, escaped in _HTML_SAFE:
        body = body.replace(raw, escaped)
    return body


class HtmlSafeJsonMiddleware:
    """Escapes ``<``, ``>`` and ``&`` in JSON and event-stream bodies (as Go's encoder does).

    Clients decode the same values, but an answer quoting ``<script>`` from a poisoned article
    can never be markup, even to a client that sniffs or pastes the body into a page. UTF-8
    multi-byte sequences never contain these bytes, so the rewrite is safe at any chunk boundary.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") == "HEAD":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        rewrite = False

        async def send_wrapper(message: Message) -> None:
            nonlocal start, rewrite
            if message["type"] == "http.response.start":
                content_type = Headers(raw=message.get("headers", [])).get("content-type", "")
                rewrite = content_type.encode().startswith(_JSON_TYPES)
                if not rewrite:
                    await send(message)
                else:
                    start = message  # sent with the first body, once its length is known
                return
            if message["type"] == "http.response.body" and rewrite:
                body = html_safe(message.get("body", b""))
                message = {**message, "body": body}
                if start is not None:
                    headers = [(k, v) for k, v in start.get("headers", [])
                               if k.lower() != b"content-length"]  # fmt: skip
                    if not message.get("more_body", False):
                        headers.append((b"content-length", str(len(body)).encode()))
                    await send({**start, "headers": headers})
                    start = None
            await send(message)

        await self.app(scope, receive, send_wrapper)
