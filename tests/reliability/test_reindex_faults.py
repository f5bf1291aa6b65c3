"""Reindexing through the admin route: killed half-way and restarted, the index is exactly a clean
ingest's; run while answers are being served, no request fails and the edit is answered after;
two at once across workers, one runs and the other gets a 409."""

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

from api.main import create_app
from assistant.chunks import UNITS_SUFFIX
from assistant.factory import build_assistant
from assistant.settings import Settings
from assistant.store import writer_active
from eval.bench.server import ROOT, UvicornServer, child_env, free_port
from knowledge.ingest import run_ingest
from tests.api.conftest import LiveServer
from tests.conftest import copy_articles
from tests.knowledge.test_ingest import _records, store_ids
from tests.reliability.conftest import ADMIN, ADMIN_KEY
from tests.servers import wait_until_ready

pytestmark = [pytest.mark.server, pytest.mark.slow]

#: Enough articles that the reindex runs for several seconds (most time goes to the units).
ARTICLES = ["calf-raises", "quadripod-balance", "pogo-hops", "box-jumps", "tiptoe-walks",
            "warm-up-before-running", "toe-coordination-toe-yoga", "plyometrics-for-runners",
            "training-progression", "transition-to-minimalist-shoes"]  # fmt: skip


def test_reindex_killed_midway_then_restarted(tmp_path: Path, embeddings: Embeddings) -> None:
    articles = copy_articles(tmp_path / "articles", ARTICLES)
    killed = Settings(data_dir=tmp_path / "killed", articles_dir=[articles])
    env = {"ASSISTANT_DATA_DIR": str(killed.data_dir), "ASSISTANT_ARTICLES_DIR": str(articles),
           "ASSISTANT_ADMIN_API_KEY": ADMIN_KEY, "ASSISTANT_RATE_LIMIT": "off"}  # fmt: skip
    log = tmp_path / "api.log"
    db = killed.data_dir / "records.sqlite"

    server = UvicornServer(env, log).start()
    try:
        outcome: list[object] = []

        def reindex() -> None:
            try:
                outcome.append(httpx.post(server.url + "/v1/admin/reindex", headers=ADMIN,
                                          timeout=600).status_code)  # fmt: skip
            except httpx.HTTPError as exc:
                outcome.append(exc)

        caller = threading.Thread(target=reindex, daemon=True)
        caller.start()
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and caller.is_alive() and _records(db) == 0:
            time.sleep(0.05)
        assert caller.is_alive(), f"the reindex ended before it could be killed: {outcome}"
        server.kill()  # SIGKILL in the middle of the reindex
        caller.join(timeout=30)
    finally:
        server.kill()
    assert isinstance(outcome[0], httpx.HTTPError), outcome  # the request died with the server
    assert _records(db) > 0

    restarted = UvicornServer(env, log).start()
    try:
        response = httpx.post(restarted.url + "/v1/admin/reindex", headers=ADMIN, timeout=600)
        assert response.status_code == 200, response.text
        ready = httpx.get(restarted.url + "/readyz", timeout=30).json()
    finally:
        restarted.stop()

    clean = Settings(data_dir=tmp_path / "clean", articles_dir=[articles])
    reference = run_ingest(clean, embeddings)
    assert reference.ok and response.json()["rejected"] == []
    assert store_ids(killed) == store_ids(clean)
    assert store_ids(killed, UNITS_SUFFIX) == store_ids(clean, UNITS_SUFFIX)
    assert len(store_ids(killed)) == reference.chunks
    assert response.json()["kb_version"] == reference.kb_version == ready["kb_version"]
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")


def test_reindex_while_serving(tmp_path: Path, embeddings: Embeddings) -> None:
    articles = copy_articles(tmp_path / "articles", ARTICLES)
    settings = Settings(
        data_dir=tmp_path / "data", articles_dir=[articles], admin_api_key=ADMIN_KEY,
        rate_limit="off", refresh_seconds=0.2,
    )  # fmt: skip
    assert run_ingest(settings, embeddings).ok
    assistant = build_assistant(settings, embeddings=embeddings)
    question = {"question": "how many calf raises should I do?"}
    others = ["What are pogo hops?", "How do I do box jumps?", "What is the quadripod?",
              "How should I warm up before running?"]  # fmt: skip

    with LiveServer(create_app(settings, assistant=assistant)) as server:
        before = httpx.post(server.url + "/v1/answer", json=question, timeout=60).json()
        assert "10 to 15" in before["answer"]
        # The edit: one fact changes; three more articles change so the reindex has work to do.
        calf = articles / "calf-raises.md"
        calf.write_text(calf.read_text().replace("2 to 3 sets of 10 to 15 slow",
                                                 "2 to 3 sets of 12 to 20 slow"))  # fmt: skip
        for name in ("pogo-hops", "box-jumps", "tiptoe-walks"):
            path = articles / f"{name}.md"
            path.write_text(path.read_text() + "\n\nRest a day between hard sessions.\n")

        statuses: Counter[str] = Counter()
        during = 0
        reindexing = threading.Event()
        stop = threading.Event()
        deadline = time.monotonic() + 300

        def load(worker: int) -> None:
            nonlocal during
            with httpx.Client(base_url=server.url, timeout=60) as client:
                for i in range(2000):  # bounded in count and in time
                    if stop.is_set() or time.monotonic() > deadline:
                        return
                    text = others[(i + worker) % len(others)] if i % 2 else question["question"]
                    try:
                        status = str(client.post("/v1/answer", json={"question": text}).status_code)
                    except httpx.HTTPError as exc:
                        status = type(exc).__name__
                    statuses[status] += 1
                    during += reindexing.is_set()

        workers = [threading.Thread(target=load, args=(n,), daemon=True) for n in range(3)]
        for worker in workers:
            worker.start()
        time.sleep(1.0)
        reindexing.set()
        started = time.monotonic()
        report = httpx.post(server.url + "/v1/admin/reindex", headers=ADMIN, timeout=300)
        seconds = time.monotonic() - started
        reindexing.clear()
        time.sleep(1.0)  # keep serving across the switch to the new version
        stop.set()
        for worker in workers:
            worker.join(timeout=120)

        assert report.status_code == 200, report.text
        assert "calf-raises" in report.json()["articles_changed"]
        assert set(statuses) == {"200"}, statuses
        assert during >= 5, f"only {during} answers overlapped the {seconds:.1f} s reindex"

        def edited() -> bool:
            answer = httpx.post(server.url + "/v1/answer", json=question, timeout=60).json()
            return "12 to 20" in answer["answer"] and "10 to 15 slow" not in answer["answer"]

        waited = time.monotonic()
        while not edited():
            assert time.monotonic() - waited < 10, "the edited fact is not answered"
            time.sleep(0.2)
        print(f"\nreindex while serving: {seconds:.1f} s, {during} answers during it, "
              f"{sum(statuses.values())} in all, statuses {dict(statuses)}")  # fmt: skip


def test_two_reindexes_at_once_across_workers_one_is_refused(
    tmp_path: Path, embeddings: Embeddings
) -> None:
    """`serve --workers 2`: a reindex sent while another is running (on either worker) gets a 409,
    never a second writer; the running one finishes with a 200.

    The second request goes out once the first holds the data dir's writer lock, so the two
    overlap however fast the host is (sent at the same instant, a quick first reindex could
    finish before the second arrived, and both got a 200)."""
    articles = copy_articles(tmp_path / "articles", ARTICLES)
    settings = Settings(data_dir=tmp_path / "data", articles_dir=[articles])
    assert run_ingest(settings, embeddings).ok
    for path in articles.glob("*.md"):  # work for the reindex: every article changed
        path.write_text(path.read_text() + "\n\nRest a day between hard sessions.\n")
    port = free_port()
    env = {**child_env(settings), "ASSISTANT_ADMIN_API_KEY": ADMIN_KEY}
    log = tmp_path / "api.log"
    command = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_ready(url, server, log, in_a_row=4)  # both workers are up
        first: list[int] = []

        def reindex() -> None:
            with httpx.Client(base_url=url, timeout=300) as client:
                first.append(client.post("/v1/admin/reindex", headers=ADMIN).status_code)

        caller = threading.Thread(target=reindex)
        caller.start()
        deadline = time.monotonic() + 120
        while not writer_active(settings.data_dir) and caller.is_alive():
            assert time.monotonic() < deadline, "the first reindex never took the writer lock"
            time.sleep(0.01)
        assert caller.is_alive(), f"the first reindex ended before the second was sent: {first}"
        with httpx.Client(base_url=url, timeout=300) as client:  # a new connection
            second = client.post("/v1/admin/reindex", headers=ADMIN)
        caller.join(timeout=300)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert second.status_code == 409, second.text
    assert first == [200], first
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")
