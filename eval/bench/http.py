"""HTTP side of ``help-assistant bench``: a real uvicorn in a child process, its cold start
(process start to ``/readyz`` = 200) and ``POST /v1/answer`` under bounded concurrent load.

Example::

    with ApiServer(settings, port=0, log=out / "server.log") as server:
        print(server.cold_start_s)
        level = asyncio.run(load(server.url, payloads, concurrency=8, requests=400))
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from eval.bench_measure import BenchError, Status, child_env, summarize

if TYPE_CHECKING:
    from assistant.settings import Settings

#: Opens a stage of the bench: a status line while it runs (see ``eval.bench._stage``).
Stage = Callable[[str], AbstractContextManager[Status]]
HOST = "127.0.0.1"
#: The server loads the model and indexes before /readyz turns 200; beyond this it is broken.
READY_TIMEOUT_S = 180.0
POLL_S = 0.02
REQUEST_TIMEOUT_S = 60.0


def free_port(port: int) -> int:
    """``port`` if it can be bound on 127.0.0.1 (0: any free port); a busy port is an error."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            raise BenchError(
                f"port {port} on {HOST} is busy; pass --port with a free port (0 picks one)"
            ) from None
        return int(sock.getsockname()[1])


def rss_mb(pid: int | str = "self") -> float | None:
    """Resident set size of a process in MB, from /proc (None where there is no /proc)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


class ApiServer:
    """``python -m uvicorn api.main:create_app --factory`` on 127.0.0.1, started on enter and
    stopped on exit; ``cold_start_s`` is the wall time from spawning it to ``/readyz`` = 200."""

    def __init__(self, settings: Settings, port: int, log: Path) -> None:
        self.settings = settings
        self.port = free_port(port)
        self.log = log
        self.url = f"http://{HOST}:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.cold_start_s = 0.0

    def __enter__(self) -> ApiServer:
        return self.start()

    def start(self) -> ApiServer:
        """Spawn the server and wait for ``/readyz`` = 200 (a failure stops it and raises)."""
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:create_app",
            "--factory",
            "--host",
            HOST,
            "--port",
            str(self.port),
        ]
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as log:
            started = time.perf_counter()
            self.process = subprocess.Popen(
                command, env=child_env(self.settings), stdout=log, stderr=subprocess.STDOUT
            )
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise
        self.cold_start_s = round(time.perf_counter() - started, 3)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _wait_ready(self, started: float) -> None:
        assert self.process is not None
        with httpx.Client(base_url=self.url, timeout=5.0) as client:
            while time.perf_counter() - started < READY_TIMEOUT_S:
                code = self.process.poll()
                if code is not None:
                    raise BenchError(
                        f"the API server exited with code {code} before /readyz was 200: "
                        f"{self._last_log_line()} (log: {self.log})"
                    )
                try:
                    if client.get("/readyz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass  # not listening yet
                time.sleep(POLL_S)
        raise BenchError(f"/readyz was not 200 within {READY_TIMEOUT_S:.0f} s (log: {self.log})")

    def _last_log_line(self) -> str:
        try:
            lines = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1] if lines else "no output"

    def rss_mb(self) -> float | None:
        return rss_mb(self.process.pid) if self.process is not None else None

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


async def load(
    url: str, payloads: Sequence[dict[str, Any]], concurrency: int, requests: int
) -> dict[str, Any]:
    """Exactly ``requests`` POST /v1/answer calls from ``concurrency`` workers (payloads cycled).

    An error is any non-200 status or transport failure; its latency is left out of the
    percentiles, and answers/s counts only 200s over the wall time of the whole level.
    """
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    counter = itertools.count()
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=REQUEST_TIMEOUT_S, limits=limits) as client:

        async def worker() -> None:
            while (i := next(counter)) < requests:
                started = time.perf_counter()
                try:
                    response = await client.post("/v1/answer", json=payloads[i % len(payloads)])
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] += 1
                    continue
                if response.status_code == 200:
                    latencies.append(time.perf_counter() - started)
                else:
                    errors[f"HTTP {response.status_code}"] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    stats = summarize(latencies)
    stats.pop("per_s")  # sequential throughput means nothing under concurrency
    return {
        "concurrency": concurrency,
        "requests": requests,
        "ok": len(latencies),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "wall_s": round(wall, 3),
        "answers_per_s": round(len(latencies) / wall, 2),
        **stats,
    }


def measure_http(
    settings: Settings,
    payloads: Sequence[dict[str, Any]],
    *,
    port: int,
    log: Path,
    cold_starts: int,
    levels: Sequence[tuple[int, int]],
    stage: Stage,
) -> dict[str, Any]:
    """Start the server ``cold_starts`` times (timing each to ready), then load the last one:
    one untimed pass over the payloads, then each (concurrency, requests) level."""
    runs = []
    with stage(f"Cold start: uvicorn to /readyz 200, {cold_starts} run(s)") as step:
        for i in range(cold_starts):
            step(f"run {i + 1}")
            server = ApiServer(settings, port, log).start()
            runs.append(server.cold_start_s)
            if i < cold_starts - 1:
                server.stop()
    results = []
    try:  # the last server started serves the load
        title = "HTTP: POST /v1/answer at concurrency " + ", ".join(str(c) for c, _ in levels)
        with stage(title) as step:
            step("untimed pass over the questions")
            asyncio.run(load(server.url, payloads, 4, len(payloads)))
            for concurrency, requests in levels:
                step(f"concurrency {concurrency}: {requests} requests")
                results.append(asyncio.run(load(server.url, payloads, concurrency, requests)))
            rss = server.rss_mb()
    finally:
        server.stop()
    return {
        "cold_start_runs_s": runs,
        "cold_start_s": round(statistics.median(runs), 3),
        "levels": results,
        "server_rss_mb": rss,
    }
