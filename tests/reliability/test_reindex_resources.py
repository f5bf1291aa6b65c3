"""Reindexing gives back what it takes (issue 12, 4): 30 reindexes through the admin route, each
publishing a new version that the running assistant then loads, leave the process's open file
descriptors where they were (each one used to leak two: the record managers' engines)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from langchain_core.embeddings import Embeddings

from api.main import create_app
from assistant.factory import build_assistant
from assistant.settings import Settings
from eval.bench.stats import rss_mb
from knowledge.ingest import run_ingest
from tests.conftest import copy_articles
from tests.reliability.conftest import ADMIN, ADMIN_KEY

pytestmark = pytest.mark.slow

REINDEXES = 30
#: Reindexes before the first count: the first ones open what stays open (the answers database,
#: the tokenizer's files, SQLAlchemy's pool of the app's own storage).
WARMUP = 3


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_reindexes_leave_file_descriptors_stable(tmp_path: Path, embeddings: Embeddings) -> None:
    articles = copy_articles(tmp_path / "articles", ["calf-raises", "pogo-hops"])
    settings = Settings(
        data_dir=tmp_path / "data", articles_dir=[articles], admin_api_key=ADMIN_KEY,
        rate_limit="off", refresh_seconds=0,
    )  # fmt: skip
    assert run_ingest(settings, embeddings).ok
    assistant = build_assistant(settings, embeddings=embeddings)
    pogo = articles / "pogo-hops.md"
    counts: list[int] = []
    versions: set[str] = set()
    with TestClient(create_app(settings, assistant=assistant)) as client:
        for n in range(WARMUP + REINDEXES):
            # A new sentence each time: a new version, which the assistant then loads (a new
            # Chroma client for the reader, the old one closed).
            pogo.write_text(pogo.read_text() + f"\n\nRest day number {n} comes after hops.\n")
            response = client.post("/v1/admin/reindex", headers=ADMIN)
            assert response.status_code == 200, response.text
            versions.add(response.json()["kb_version"])
            answer = client.post("/v1/answer", json={"question": "What are pogo hops?"})
            assert answer.status_code == 200, answer.text
            assert client.get("/readyz").json()["kb_version"] == response.json()["kb_version"]
            if n == WARMUP - 1:
                first_fds, first_rss = open_fds(), rss_mb()
            counts.append(open_fds())
    last_fds, last_rss = open_fds(), rss_mb()
    print(f"\n{REINDEXES} reindexes: fds {first_fds} -> {last_fds} (max {max(counts)}), "
          f"RSS {first_rss} -> {last_rss} MB")  # fmt: skip
    assert len(versions) == WARMUP + REINDEXES  # every reindex published a new version
    assert last_fds - first_fds <= 2, counts  # was +2 per reindex: +60
    assert max(counts[WARMUP:]) - first_fds <= 4, counts
