"""Helpers for tests that start a real server process (several uvicorn workers, say)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx


def wait_until_ready(
    url: str, server: subprocess.Popen[bytes], log: Path, in_a_row: int, timeout: float = 180
) -> None:
    """Wait for ``in_a_row`` consecutive 200s from ``/readyz`` (with several workers, one ready
    answer may come from the first worker up); fail with the server's log if it exits or the
    time runs out."""
    deadline = time.monotonic() + timeout
    ready = 0
    while ready < in_a_row:
        assert server.poll() is None and time.monotonic() < deadline, log.read_text()
        try:
            ready = ready + 1 if httpx.get(url + "/readyz", timeout=5).status_code == 200 else 0
        except httpx.TransportError:
            ready = 0
        time.sleep(0.2)
