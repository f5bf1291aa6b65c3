"""A small version of ``python -m eval.bench.soak``: a real uvicorn under 600 mixed requests from 8
workers; no request fails and the server's resident memory does not grow. The long run (20,000
requests, 32 workers) and its figures are in RELIABILITY.md."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.settings import Settings
from eval.bench.server import UvicornServer, server_env
from eval.bench.soak import MAX_RSS_GROWTH, run_soak

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_small_soak(kb_settings: Settings, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(kb_settings.data_dir, data)  # the session's index; the server gets a copy
    log = tmp_path / "server.log"

    with UvicornServer(server_env(data), log=log, ready_path="/readyz") as server:
        report = run_soak(
            server.url, server.pid, requests=600, concurrency=8, warmup=100, max_seconds=300
        )
        assert server.process is not None and server.process.poll() is None, "server died"

    print("\nsmall soak:", report.summary())
    assert report.finished, f"only part of the run finished in time: {report.by_kind}"
    assert report.failures == 0, report.failure_examples
    assert set(report.by_kind) >= {"answer", "stream", "search", "article", "feedback"}
    assert report.rss_samples >= 4
    assert report.rss_growth < MAX_RSS_GROWTH, report.summary()
    assert "Traceback" not in log.read_text(encoding="utf-8", errors="replace")
