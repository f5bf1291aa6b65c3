"""Chroma server mode with the server stopped: the service starts anyway, /readyz and answers are
503 "the vector store at HOST:PORT is unreachable", and it recovers by itself when the server is
back on the same port and path (a real ``chroma run`` on 127.0.0.1)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from langchain_core.embeddings import Embeddings

from api.main import create_app
from assistant.factory import build_assistant
from assistant.settings import Settings
from eval.bench.server import free_port
from knowledge.ingest import run_ingest
from tests.conftest import copy_articles

pytestmark = [pytest.mark.server, pytest.mark.slow]

#: How long the service may take to notice the server is back (the retriever re-reads the
#: index version at most every refresh_seconds; nothing else is cached).
RECOVERY_LIMIT = 15.0
QUESTION = {"question": "how can I make one-leg balance harder?"}


class ChromaServer:
    """``chroma run`` on 127.0.0.1:port over ``path``; stop and start it again at will."""

    def __init__(self, path: Path, port: int) -> None:
        exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which(
            "chroma"
        )
        assert exe, "the chroma CLI (from the chromadb package) is missing"
        self.command = [exe, "run", "--path", str(path), "--host", "127.0.0.1",
                        "--port", str(port)]  # fmt: skip
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        until(lambda: self.up(), 60, "chroma run did not start")

    def up(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.port}/api/v2/heartbeat"
            return httpx.get(url, timeout=1).is_success
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        assert not self.up()


def until(check: Callable[[], bool], seconds: float, message: str) -> float:
    """Poll ``check`` until it holds; the seconds it took (fails after ``seconds``)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    pytest.fail(f"{message} within {seconds:.0f} s")


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    server = ChromaServer(tmp_path / "server", free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def assert_unreachable(response: httpx.Response, port: int) -> None:
    assert response.status_code == 503, response.text
    body = response.json()
    body = body.get("error", body)  # the OpenAI-compatible route: OpenAI's error shape
    text = body.get("message", "") + str(body.get("detail", ""))
    assert f"the vector store at 127.0.0.1:{port} is unreachable" in text.lower(), body
    assert int(response.headers["retry-after"]) > 0


def test_outage_is_a_503_and_the_service_recovers(
    chroma: ChromaServer, tmp_path: Path, embeddings: Embeddings
) -> None:
    articles = copy_articles(tmp_path / "articles", ["quadripod-balance", "calf-raises"])
    settings = Settings(
        data_dir=tmp_path / "data", articles_dir=[articles], chroma_host="127.0.0.1",
        chroma_port=chroma.port, refresh_seconds=0.5, rate_limit="off",
    )  # fmt: skip
    assert run_ingest(settings, embeddings).ok
    chroma.stop()

    # The service starts while the server is down...
    assistant = build_assistant(settings, embeddings=embeddings)
    with TestClient(create_app(settings, assistant=assistant)) as client:
        assert client.get("/healthz").status_code == 200
        assert_unreachable(client.get("/readyz"), chroma.port)
        assert_unreachable(client.post("/v1/answer", json=QUESTION), chroma.port)

        # ... and recovers by itself when the server is back on the same port and path.
        chroma.start()
        first = until(lambda: client.get("/readyz").status_code == 200, RECOVERY_LIMIT,
                      "not ready again")  # fmt: skip
        answer = client.post("/v1/answer", json=QUESTION)
        assert answer.status_code == 200 and answer.json()["outcome"] == "answered"

        # An outage while serving: every kind of request says so, none is a 500.
        chroma.stop()
        assert_unreachable(client.get("/readyz"), chroma.port)
        for path, body in [("/v1/answer", QUESTION), ("/v1/answer/stream", QUESTION),
                           ("/v1/search", {"query": "calf raises"}),
                           ("/v1/chat/completions",
                            {"messages": [{"role": "user", "content": QUESTION["question"]}]})]:
            assert_unreachable(client.post(path, json=body), chroma.port)  # fmt: skip

        chroma.start()
        second = until(
            lambda: client.post("/v1/answer", json=QUESTION).status_code == 200,
            RECOVERY_LIMIT, "answers did not come back",
        )  # fmt: skip
        assert client.get("/readyz").status_code == 200
        print(f"\nrecovery after the chroma server restarted: {first:.2f} s (started while "
              f"down), {second:.2f} s (outage while serving)")  # fmt: skip
