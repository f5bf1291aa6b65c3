"""Request bodies: a size limit (413) and ``Content-Encoding: gzip`` decoding (415 for other
encodings), both before the routes read a byte."""

from __future__ import annotations

import zlib

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.middleware import send_json


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
            await self._reject(send, scope)
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
            await self._reject(send, scope)

    async def _reject(self, send: Send, scope: Scope) -> None:
        await send_json(
            send,
            413,
            {
                "detail": "request body too large",
                "message": f"The request body is larger than {self.max_bytes // 1024} KB.",
            },
            scope=scope,
        )


class GzipRequestMiddleware:
    """Decodes ``Content-Encoding: gzip`` request bodies; other encodings are a 415.

    The decoded body is bounded by ``max_bytes`` (413 beyond), however small the compressed one:
    a 64 KB gzip bomb inflating to gigabytes is stopped after ``max_bytes + 1`` bytes. Bodies
    are small (64 KB at most), so the whole body is read, then handed on decoded.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        encoding = Headers(scope=scope).get("content-encoding", "identity").strip().lower()
        if encoding in ("", "identity"):
            await self.app(scope, receive, send)
            return
        if encoding not in ("gzip", "x-gzip"):
            problem = {"detail": "unsupported content encoding",
                       "message": f"Content-Encoding {encoding[:40]!r} is not supported; send "
                       "the body as is or gzip-compressed."}  # fmt: skip
            await send_json(send, 415, problem, scope=scope)
            return
        compressed = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            compressed += message.get("body", b"")
            if not message.get("more_body", False):
                break
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            body = inflater.decompress(bytes(compressed), self.max_bytes + 1)
            complete = inflater.eof and not inflater.unconsumed_tail
        except zlib.error:
            body, complete = b"", False
        if len(body) > self.max_bytes:
            problem = {"detail": "request body too large",
                       "message": f"The decompressed body is larger than "
                       f"{self.max_bytes // 1024} KB."}  # fmt: skip
            await send_json(send, 413, problem, scope=scope)
            return
        if not complete:
            problem = {"detail": "malformed gzip body",
                       "message": "The body is not complete gzip data."}  # fmt: skip
            await send_json(send, 400, problem, scope=scope)
            return
        headers = [(k, v) for k, v in scope["headers"]
                   if k not in (b"content-encoding", b"content-length")]  # fmt: skip
        headers.append((b"content-length", str(len(body)).encode()))
        sent = False

        async def decoded_receive() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        scope["headers"] = headers  # in place: the metrics (outside) see the matched route
        await self.app(scope, decoded_receive, send)
