"""HTTP side of ``help-assistant bench``: a real uvicorn (:class:`eval.bench.server.UvicornServer`),
its cold start (process start to ``/readyz`` = 200) and ``POST /v1/answer`` under bounded
concurrent load.

Example::

    with UvicornServer(child_env(settings), log=out / "server.log", ready_path="/readyz") as srv:
        print(srv.cold_start_s)
        level = asyncio.run(load(srv.url, payloads, concurrency=8, requests=400))
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from eval.bench.measure import Status
from eval.bench.server import UvicornServer, child_env
from eval.bench.stats import median, rss_mb, summarize

if TYPE_CHECKING:
    from assistant.settings import Settings

#: Opens a stage of the bench: a status line while it runs (see ``eval.bench.cli._stage``).
Stage = Callable[[str], AbstractContextManager[Status]]
REQUEST_TIMEOUT_S = 60.0


def _start(settings: Settings, port: int, log: Path) -> UvicornServer:
    return UvicornServer(child_env(settings), log, port=port, ready_path="/readyz").start()


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
            server = _start(settings, port, log)
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
            rss = rss_mb(server.pid)
    finally:
        server.stop()
    return {
        "cold_start_runs_s": runs,
        "cold_start_s": round(median(runs), 3),
        "levels": results,
        "server_rss_mb": rss,
    }
