"""Server mode: ingest into and answer from a real `chroma run` on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from langchain_core.embeddings import Embeddings

from assistant.factory import build_assistant
from assistant.settings import Settings
from assistant.store import make_chroma_client
from knowledge.ingest import run_ingest
from tests.conftest import copy_articles


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[int]:
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert exe, "the chroma CLI (from the chromadb package) is missing"
    port = free_port()
    proc = subprocess.Popen(
        [
            exe,
            "run",
            "--path",
            str(tmp_path / "server"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).is_success:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("chroma run did not start within 60 s")
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.server
def test_ingest_and_answer_through_a_chroma_server(
    chroma_server: int, tmp_path: Path, embeddings: Embeddings
) -> None:
    articles = copy_articles(tmp_path / "articles", ["quadripod-balance", "calf-raises"])
    settings = Settings(
        data_dir=tmp_path / "data",
        articles_dir=[articles],
        chroma_host="127.0.0.1",
        chroma_port=chroma_server,
    )
    report = run_ingest(settings, embeddings)
    assert report.ok and report.chunks_added == report.chunks > 0
    assert not (settings.data_dir / "chroma").exists(), "server mode must not write a local store"
    again = run_ingest(settings, embeddings)
    assert again.chunks_added == 0 and again.chunks_skipped == report.chunks

    assistant = build_assistant(settings, embeddings=embeddings)
    answer = assistant.answer("how can I make one-leg balance harder?")
    assert answer.outcome == "answered"
    assert answer.citations[0].article_id == "quadripod-balance"
    assert "eyes" in answer.answer.lower()

    # the server's collection is a cosine index with the configured ef_search, applied again
    # when a client with another value opens it
    client = make_chroma_client(settings)
    hnsw = client.get_collection(settings.collection).configuration["hnsw"] or {}
    assert (hnsw["space"], hnsw["ef_search"]) == ("cosine", settings.hnsw_ef_search)
    wider = settings.model_copy(update={"hnsw_ef_search": 2 * settings.hnsw_ef_search})
    build_assistant(wider, embeddings=embeddings)
    hnsw = client.get_collection(settings.collection).configuration["hnsw"] or {}
    assert hnsw["ef_search"] == wider.hnsw_ef_search
