"""Updating content while the server runs (issue 12, 1): `help-assistant ingest` in another process
while 16 clients ask a real uvicorn. No request fails, the new fact is answered within
``refresh_seconds`` plus the rebuild, ``/readyz`` reports the new version, and a reindex sent while
that ingest writes is refused with a 409 (one writer across processes)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from langchain_core.embeddings import Embeddings

from assistant.settings import Settings
from assistant.store import writer_active
from eval.bench.server import ROOT, UvicornServer, child_env
from knowledge.ingest import run_ingest
from tests.conftest import copy_articles
from tests.reliability.conftest import ADMIN, ADMIN_KEY

pytestmark = [pytest.mark.server, pytest.mark.slow]

ARTICLES = ["calf-raises", "pogo-hops", "box-jumps"]
CLIENTS = 16
REFRESH_SECONDS = 0.5
#: Reading a new version (a fresh Chroma client, chunks, units, BM25) of these few articles takes
#: well under a second; the rest is room for two loaded cores.
REBUILD_BUDGET_S = 5.0
FACT_SECTION = """

## How many times should I zorbulate the kettlebell?

Zorbulate the kettlebell exactly 37 times before every long run.
"""
FACT_QUESTION = "how many times should I zorbulate the kettlebell?"
QUESTIONS = ["how many calf raises should I do?", "What are pogo hops?",
             "How do I do box jumps?", "Are pogo hops a plyometric drill?"]  # fmt: skip
#: `help-assistant ingest` as the README runs it (the console script of this venv).
INGEST = [str(Path(sys.executable).with_name("help-assistant")), "ingest"]


def test_ingest_in_another_process_while_clients_ask(
    tmp_path: Path, embeddings: Embeddings
) -> None:
    articles = copy_articles(tmp_path / "articles", ARTICLES)
    settings = Settings(data_dir=tmp_path / "data", articles_dir=[articles])
    assert run_ingest(settings, embeddings).ok
    env = {**child_env(settings), "ASSISTANT_ADMIN_API_KEY": ADMIN_KEY,
           "ASSISTANT_REFRESH_SECONDS": str(REFRESH_SECONDS)}  # fmt: skip
    log = tmp_path / "api.log"

    with UvicornServer(env, log, ready_path="/readyz") as server:
        old_version = httpx.get(server.url + "/readyz", timeout=30).json()["kb_version"]
        statuses: Counter[str] = Counter()
        problems: list[str] = []
        stop = threading.Event()
        deadline = time.monotonic() + 120

        def ask(worker: int) -> None:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                i = 0
                while not stop.is_set() and time.monotonic() < deadline:
                    i += 1
                    question = QUESTIONS[(i + worker) % len(QUESTIONS)]
                    try:
                        if i % 3:
                            r = client.post("/v1/answer", json={"question": question})
                        else:
                            r = client.post("/v1/search", json={"query": question, "k": 5})
                        status = str(r.status_code)
                        if r.status_code != 200:
                            problems.append(f"{r.request.url.path} {status}: {r.text[:200]}")
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                        problems.append(repr(exc))
                    statuses[status] += 1

        clients = [threading.Thread(target=ask, args=(n,), daemon=True) for n in range(CLIENTS)]
        try:
            for client in clients:
                client.start()
            time.sleep(1.0)
            path = articles / "calf-raises.md"
            path.write_text(path.read_text(encoding="utf-8") + FACT_SECTION, encoding="utf-8")

            ingest = subprocess.Popen(INGEST, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True)  # fmt: skip
            refused = None
            while ingest.poll() is None and refused is None:
                if writer_active(settings.data_dir):  # the CLI ingest holds the writer lock
                    refused = httpx.post(server.url + "/v1/admin/reindex", headers=ADMIN,
                                         timeout=60)  # fmt: skip
                time.sleep(0.02)
            output, _ = ingest.communicate(timeout=300)
            ingest_end = time.monotonic()
            assert ingest.returncode == 0, output

            served_after = None
            while time.monotonic() - ingest_end < REFRESH_SECONDS + REBUILD_BUDGET_S:
                answer = httpx.post(server.url + "/v1/answer", json={"question": FACT_QUESTION},
                                    timeout=60).json()  # fmt: skip
                if "37 times" in answer.get("answer", ""):
                    served_after = time.monotonic() - ingest_end
                    break
                time.sleep(0.05)
            time.sleep(1.0)  # keep asking across the switch
            ready = httpx.get(server.url + "/readyz", timeout=30).json()
        finally:
            stop.set()
            for client in clients:
                client.join(timeout=90)

    print(f"\nlive update: {sum(statuses.values())} requests from {CLIENTS} clients, "
          f"{dict(statuses)}; new fact served {served_after} s after the ingest ended; "
          f"reindex during the ingest: {refused and refused.status_code}")  # fmt: skip
    assert set(statuses) == {"200"}, (dict(statuses), problems[:5])
    assert served_after is not None, "the new fact was not answered after the ingest"
    assert refused is not None and refused.status_code == 409, refused and refused.text
    published = run_ingest(settings, embeddings)  # nothing to do: the version the CLI published
    assert published.chunks_added == 0
    assert ready["kb_version"] == published.kb_version != old_version
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")
