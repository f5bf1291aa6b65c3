"""Small ASGI middlewares: HEAD as GET, security headers, HTML-safe JSON, the request clock and
one-line start-up errors, and ``send_json`` for errors sent before routing (request bodies:
``api.bodies``; rate limits: ``api.ratelimit``)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.openai_errors import from_problem, is_openai_path
from assistant.settings import StartupError

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


async def send_json(
    send: Send,
    status: int,
    payload: dict[str, str],
    headers: Sequence[tuple[bytes, bytes]] = (),
    scope: Scope | None = None,
) -> None:
    """Send a JSON error; on the OpenAI-compatible routes in OpenAI's error shape."""
    shaped: dict[str, Any] = payload
    if scope is not None and is_openai_path(scope.get("path", "")):
        shaped = from_problem(status, payload)
    body = json.dumps(shaped).encode()
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


class SecurityHeadersMiddleware:
    """nosniff, no framing, no referrer leaks; a strict CSP on the chat page and the API."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        csp = None if path.startswith(_DOCS_PATHS) else (
            CHAT_PAGE_CSP if path in ("/", "/agent") else API_CSP
        )

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


#: Set in ``scope["state"]`` by a route whose JSON body is already escaped (``/v1/answer``
#: encodes its answer once, escaped): the middleware passes that body through untouched.
HTML_SAFE_DONE = "html_safe_done"


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
                rewrite = content_type.encode().startswith(_JSON_TYPES) and not scope.get(
                    "state", {}
                ).get(HTML_SAFE_DONE)
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


#: ``scope["state"]`` key: ``time.perf_counter()`` when the request reached the app.
RECEIVED_AT = "received_at"


class RequestClockMiddleware:
    """Notes when a request reached the app (its head parsed by the server), so a route can
    tell how long reading and validating the body took (``Server-Timing``, see the answer
    route). Outermost but one: only the start-up error filter runs before it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("state", {})[RECEIVED_AT] = time.perf_counter()
        await self.app(scope, receive, send)


class HeadAsGetMiddleware:
    """``HEAD`` on a GET route answers as GET without the body (FastAPI routes answer 405)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "HEAD":
            await self.app(scope, receive, send)
            return

        async def send_headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # In place, restored after: the metrics (outside) see the route the router matched.
        scope["method"] = "GET"
        try:
            await self.app(scope, receive, send_headers_only)
        finally:
            scope["method"] = "HEAD"


class StartupErrorMiddleware:
    """A :class:`StartupError` (or a factory's ``ValueError``) in the lifespan is reported to
    the server as its one-line message, not as a traceback.

    Starlette sends ``lifespan.startup.failed`` with the formatted traceback, which uvicorn
    logs; the message is replaced while the exception is being handled.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def one_line(message: Message) -> None:
            error = sys.exc_info()[1]
            if message["type"] == "lifespan.startup.failed" and isinstance(
                error, StartupError | ValueError
            ):
                message = {**message, "message": f"cannot start: {error}"}
            await send(message)

        await self.app(scope, receive, one_line)
