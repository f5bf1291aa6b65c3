"""Slow and abusive connections against a real uvicorn started with ``uvicorn_options``
(issue 12 §3): header and body read timeouts, a header size cap and a connection cap, and
``/healthz`` answering throughout a bounded slowloris on loopback."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.main import create_app
from api.server_options import GuardedH11Protocol, uvicorn_options
from assistant.core import Assistant
from assistant.settings import Settings

pytestmark = [pytest.mark.server, pytest.mark.slow]
HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 1.5
MAX_CONNECTIONS = 150


class GuardedServer:
    """uvicorn with ``uvicorn_options(settings)`` on a free loopback port, in a thread."""

    def __init__(self, app: FastAPI, settings: Settings) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", **uvicorn_options(settings))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> GuardedServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()


@pytest.fixture(scope="module")
def server(kb_settings: Settings, kb_assistant: Assistant) -> Iterator[GuardedServer]:
    settings = Settings(**{**kb_settings.model_dump(), "rate_limit": "off",
                           "server_header_timeout": HEADER_TIMEOUT,
                           "server_body_timeout": BODY_TIMEOUT,
                           "server_max_connections": MAX_CONNECTIONS})  # fmt: skip
    with GuardedServer(create_app(settings, assistant=kb_assistant), settings) as running:
        yield running


def connect(server: GuardedServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def read_all(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes (or ``timeout`` passes)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def healthz_ms(server: GuardedServer) -> float:
    started = time.perf_counter()
    response = httpx.get(server.url + "/healthz", timeout=5)
    assert response.status_code == 200
    return (time.perf_counter() - started) * 1000


def test_the_options_use_the_guarded_protocol() -> None:
    options = uvicorn_options(Settings())
    assert options["http"].func is GuardedH11Protocol
    assert options["h11_max_incomplete_event_size"] == 16 * 1024
    assert options["proxy_headers"] is False and options["limit_concurrency"] == 1000
    config = uvicorn.Config("api.main:create_app", factory=True, **options)
    assert config.timeout_keep_alive == 5
    assert options["loop"] == "asyncio"  # uvloop served a burst out of order (Settings)
    assert uvicorn_options(Settings(server_loop="uvloop"))["loop"] == "uvloop"


def test_healthz_answers_through_a_bounded_slowloris(server: GuardedServer) -> None:
    attackers = [connect(server) for _ in range(100)]
    for sock in attackers:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    latencies = []
    started = time.monotonic()
    while time.monotonic() - started < HEADER_TIMEOUT + 1.0:
        for sock in attackers:  # one more header line each, never the blank line
            try:
                sock.sendall(b"X-a: b\r\n")
            except OSError:
                pass
        latencies.append(healthz_ms(server))
        time.sleep(0.2)

    # Every attacker was cut off at the header timeout, with a 408.
    replies = [read_all(sock, timeout=HEADER_TIMEOUT + 2) for sock in attackers]
    for sock in attackers:
        sock.close()
    assert all(r.startswith(b"HTTP/1.1 408") for r in replies), {r[:40] for r in replies}
    assert max(latencies) < 1000, latencies
    assert healthz_ms(server) < 1000


def test_a_body_that_never_completes_is_cut_off(server: GuardedServer) -> None:
    sock = connect(server)
    sock.sendall(b"POST /v1/answer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 200\r\n\r\n{\"question\": ")  # fmt: skip
    started = time.monotonic()

    read_all(sock, timeout=BODY_TIMEOUT + 3)
    sock.close()

    assert time.monotonic() - started < BODY_TIMEOUT + 2.5
    assert healthz_ms(server) < 1000


def test_a_huge_header_is_refused(server: GuardedServer) -> None:
    sock = connect(server)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1024 * 1024))
    except OSError:
        pass  # the server may close before all of it is sent
    reply = read_all(sock, timeout=5)
    sock.close()

    assert reply.startswith(b"HTTP/1.1 400"), reply[:80]


def test_connections_beyond_the_cap_are_closed_at_once(server: GuardedServer) -> None:
    idle = [connect(server) for _ in range(MAX_CONNECTIONS + 50)]
    time.sleep(0.3)
    closed = 0
    for sock in idle:
        sock.settimeout(0.05)
        try:
            closed += sock.recv(1) == b""
        except TimeoutError:
            pass
        except ConnectionResetError:
            closed += 1
    for sock in idle:
        sock.close()

    assert closed >= 50
    time.sleep(HEADER_TIMEOUT + 0.5)
    assert healthz_ms(server) < 1000


def test_ordinary_clients_are_unaffected(server: GuardedServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for _ in range(3):  # one keep-alive connection, several requests
            assert client.get("/healthz").status_code == 200
        time.sleep(HEADER_TIMEOUT + 0.3)  # idle longer than the header timeout, within keep-alive
        answer = client.post("/v1/answer", json={"question": "How do I do calf raises?"})
        assert answer.status_code == 200 and answer.json()["outcome"] == "answered"
        assert "server" not in answer.headers
