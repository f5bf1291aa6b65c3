"""The HTTP server's defences against slow and abusive clients, as ``uvicorn.Config`` options.

uvicorn has a keep-alive timeout, a concurrency limit and (with h11) a cap on the request head,
but no timeout for a request's headers or body: a client that sends one byte every few seconds
(slowloris) holds its socket for ever. :class:`GuardedH11Protocol` adds both timeouts and a hard
connection cap to uvicorn's h11 protocol. Use it with::

    uvicorn.run("api.main:create_app", factory=True, host=host, port=port,
                **uvicorn_options(settings))

Behind a reverse proxy (nginx, a cloud load balancer), let the proxy buffer requests and set its
own timeouts too, and name it in ``ASSISTANT_TRUSTED_PROXIES`` so rate limits see the client.
"""

from __future__ import annotations

import asyncio
import functools
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.server import ServerState

from assistant.settings import Settings

_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\ncontent-length: 16\r\n"
    b"connection: close\r\n\r\nRequest Timeout\n"
)


@dataclass(frozen=True)
class ConnectionLimits:
    """Seconds to send a request's head and its body, and connections open at most."""

    header_timeout: float
    body_timeout: float
    max_connections: int


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header timeout, a body timeout and a connection cap.

    The header clock starts when the connection opens (or the first byte of a keep-alive
    request arrives) and stops when the head is complete; the body clock runs until the whole
    body is in. When one runs out the connection is closed (with a 408 if nothing was sent).
    A connection beyond ``max_connections`` is closed at once, so idle sockets cannot use up
    the process's file descriptors.
    """

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: ConnectionLimits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self._read_timer: asyncio.TimerHandle | None = None
        self._phase: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.limits.max_connections:
            transport.close()
            return
        self._arm("headers")

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        state = self.conn.their_state
        if state is h11.IDLE:  # the head is not complete yet
            if self._phase != "headers":
                self._arm("headers")
        elif state is h11.SEND_BODY:
            if self._phase != "body":
                self._arm("body")
        else:
            self._disarm()

    def on_response_complete(self) -> None:
        self._disarm()  # idle until the next request: the keep-alive timeout applies
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, phase: str) -> None:
        self._disarm()
        self._phase = phase
        timeout = self.limits.header_timeout if phase == "headers" else self.limits.body_timeout
        self._read_timer = self.loop.call_later(timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
        self._read_timer = None
        self._phase = None

    def _timed_out(self) -> None:
        self._read_timer = None
        if self.transport.is_closing():
            return
        # While a head is read, the cycle (if any) is the previous, finished request's.
        answering = self._phase == "body" and self.cycle is not None and self.cycle.response_started
        if not answering:
            self.transport.write(_TIMEOUT_RESPONSE)  # nothing of a response sent: say why
        self.logger.info("closed a connection that sent its request too slowly (%s)",
                         self._phase)  # fmt: skip
        self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """``uvicorn.Config``/``uvicorn.run`` keyword arguments for ``settings``.

    - ``http``: :class:`GuardedH11Protocol` (header and body timeouts, connection cap);
    - ``h11_max_incomplete_event_size``: the largest request head (a 400 beyond);
    - ``timeout_keep_alive``: seconds an idle keep-alive connection stays open;
    - ``limit_concurrency``: at the connection cap, requests get a 503;
    - ``proxy_headers=False``: the app reads ``X-Forwarded-For`` itself, only from
      ``ASSISTANT_TRUSTED_PROXIES`` (``api.ratelimit``); ``ws="none"``: no WebSocket routes;
      ``server_header=False``: no server version in responses;
    - ``loop``: the event loop, asyncio unless ``ASSISTANT_SERVER_LOOP`` says otherwise: uvloop
      answered a burst of keep-alive requests out of order (``Settings.server_loop``).
    """
    limits = ConnectionLimits(
        header_timeout=settings.server_header_timeout,
        body_timeout=settings.server_body_timeout,
        max_connections=settings.server_max_connections,
    )
    return {
        "http": functools.partial(GuardedH11Protocol, limits=limits),
        "h11_max_incomplete_event_size": settings.server_max_header_bytes,
        "timeout_keep_alive": settings.server_keep_alive,
        "limit_concurrency": settings.server_max_connections,
        "proxy_headers": False,
        "ws": "none",
        "server_header": False,
        "timeout_graceful_shutdown": 10,
        "loop": settings.server_loop,
    }
