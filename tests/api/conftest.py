"""Fixtures for the API tests: one real index and one model per session, real apps around them.

``tests/conftest.py`` loads the embedding model once (``embeddings``), ingests knowledge/articles
once into a temporary data dir (``kb_settings``) and builds one Assistant (``kb_assistant``);
every app built here shares them. Apps with other settings (rate limit, no admin key, another
database...) are cheap: ``make_client(**overrides)``.
"""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import socket  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import ExitStack  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from api.main import create_app  # noqa: E402
from assistant.core import Assistant  # noqa: E402
from assistant.settings import Settings  # noqa: E402
from tests.browser import browser, page  # noqa: E402, F401 - the Chromium fixtures

ADMIN_KEY = "test-admin-key-0123456789abcdef0123"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}

MakeClient = Callable[..., TestClient]


@pytest.fixture(scope="session", autouse=True)
def _clean_env() -> Iterator[None]:
    """No ASSISTANT_* variable of the developer's shell may leak into the settings under test."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("ASSISTANT_"):
                mp.delenv(name)
        yield


@pytest.fixture(scope="session")
def api_settings(kb_settings: Settings) -> Settings:
    """The shared index of knowledge/articles (tests/conftest.py ingests it once per session),
    with an admin key and no rate limit; answers are stored in its data dir."""
    return settings_with(
        kb_settings, admin_api_key=ADMIN_KEY, rate_limit="off", admin_failure_limit="off"
    )


@pytest.fixture(scope="session")
def assistant(kb_assistant: Assistant) -> Assistant:
    """The session's one Assistant (model loaded once), shared by every app built here."""
    return kb_assistant


@pytest.fixture(scope="session")
def app(api_settings: Settings, assistant: Assistant) -> FastAPI:
    return create_app(api_settings, assistant=assistant)


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    """The session's app (answers stored in the kb data dir), lifespan entered once."""
    with TestClient(app) as test_client:
        yield test_client


def settings_with(base: Settings, **overrides: Any) -> Settings:
    """A validated copy of ``base`` with some fields changed."""
    return Settings(**{**base.model_dump(), **overrides})


@pytest.fixture
def make_client(
    api_settings: Settings, assistant: Assistant, tmp_path: Path
) -> Iterator[MakeClient]:
    """Build a client of a fresh app on the shared index; its answers go to tmp_path."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> TestClient:
            overrides.setdefault("database_url", f"sqlite:///{tmp_path / 'answers.sqlite'}")
            settings = settings_with(api_settings, **overrides)
            return stack.enter_context(TestClient(create_app(settings, assistant=assistant)))

        yield make


def ask(client: TestClient, question: str, **body: Any) -> dict[str, Any]:
    response = client.post("/v1/answer", json={"question": question, **body})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


class LiveServer:
    """A real uvicorn serving ``app`` on a free loopback port, in a background thread."""

    def __init__(self, app: FastAPI) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))  # bound before uvicorn starts: no port race
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = app
        self.server = uvicorn.Server(
            uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=5)
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        self.sock.close()
        assert not self.thread.is_alive(), "uvicorn did not stop"


@pytest.fixture(scope="session")
def live_server(api_settings: Settings, assistant: Assistant) -> Iterator[LiveServer]:
    """One uvicorn for the server and browser tests (its own app, same index and storage)."""
    with LiveServer(create_app(api_settings, assistant=assistant)) as server:
        yield server


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """One throwaway PostgreSQL cluster for the session (skipped, with the reason, without one)."""
    from tests.api.servers import PostgresServer, ServerMissing

    try:
        with PostgresServer.start() as server:
            yield server
    except ServerMissing as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def redis_server() -> Iterator[Any]:
    """One ``redis-server`` for the session (skipped, with the reason, without one)."""
    from tests.api.servers import RedisServer, ServerMissing

    try:
        with RedisServer.start() as server:
            yield server
    except ServerMissing as exc:
        pytest.skip(str(exc))


@pytest.fixture(params=["sqlite", "postgres"])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty answers database: a SQLite file, then a fresh database on the real Postgres."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'answers.sqlite'}"
    server = request.getfixturevalue("postgres_server")
    return str(server.create_database("answers"))
