"""`/metrics` with two uvicorn workers: every scrape reports the sum of both workers
(prometheus_client's multiprocess mode, set up by ``api.metrics.prepare_multiprocess``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from assistant.settings import Settings
from eval.bench.server import ROOT, child_env, free_port
from tests.servers import wait_until_ready

LAUNCHER = """
import sys, uvicorn
from api.metrics import prepare_multiprocess
with prepare_multiprocess(2) as folder:
    print(folder, flush=True)
    uvicorn.run("api.main:create_app", factory=True, host="127.0.0.1", port=int(sys.argv[1]),
                workers=2, log_level="warning")
"""
HEALTHZ = re.compile(r'help_assistant_http_requests_total\{method="GET",route="/healthz",'
                     r'status="200"\} ([0-9.]+)')  # fmt: skip


def healthz_count(metrics: str) -> float:
    found = HEALTHZ.search(metrics)
    return float(found.group(1)) if found else 0.0


@pytest.mark.slow
@pytest.mark.server
def test_metrics_are_summed_across_workers(kb_settings: Settings, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "api.log"
    env = {**child_env(kb_settings), "ASSISTANT_DATABASE_URL": f"sqlite:///{tmp_path / 'a.sqlite'}"}
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as err:
        server = subprocess.Popen([sys.executable, "-c", LAUNCHER, str(port)], cwd=ROOT, env=env,
                                  stdout=subprocess.PIPE, stderr=err, text=True)  # fmt: skip
    try:
        assert server.stdout is not None
        folder = Path(server.stdout.readline().strip())
        assert folder.is_dir()
        wait_until_ready(url, server, log, in_a_row=6)  # both workers are up
        before = healthz_count(httpx.get(url + "/metrics").text)
        for _ in range(40):  # a new connection each: the kernel spreads them over the workers
            assert httpx.get(url + "/healthz", timeout=5).status_code == 200
        scrapes = []
        for _ in range(8):
            text = httpx.get(url + "/metrics", timeout=5).text
            scrapes.append(healthz_count(text))
        assert scrapes == [before + 40] * 8, scrapes
        assert len(list(folder.glob("*.db"))) >= 2  # both workers wrote their values
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert not folder.exists()  # the temporary folder is removed with the server
