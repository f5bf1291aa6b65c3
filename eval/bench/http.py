"""HTTP side of ``help-assistant bench``: a real ``help-assistant serve`` (the product's uvicorn
options, through :class:`eval.bench.server.UvicornServer`),
its cold start (process start to ``/readyz`` = 200) and ``POST /v1/answer`` under bounded
concurrent load from :mod:`eval.bench.loadgen`, with repeated questions and with every question
new, and optionally with several uvicorn workers.

Example::

    env = child_env(settings)
    with UvicornServer(env, out / "server.log", ready_path="/readyz", serve=True) as srv:
        print(srv.cold_start_s)
        level = asyncio.run(load(srv.url, payloads, concurrency=8, requests=400))
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.bench.loadgen import load
from eval.bench.measure import Status
from eval.bench.server import UvicornServer, child_env
from eval.bench.stats import median, rss_mb

if TYPE_CHECKING:
    from assistant.settings import Settings

#: Opens a stage of the bench: a status line while it runs (see ``eval.bench.cli._stage``).
Stage = Callable[[str], AbstractContextManager[Status]]


def _start(
    settings: Settings,
    port: int,
    log: Path,
    extra: dict[str, str],
    args: Sequence[str] = (),
) -> UvicornServer:
    env = {**child_env(settings), **extra}
    return UvicornServer(env, log, port=port, ready_path="/readyz", args=args, serve=True).start()


def measure_http(
    settings: Settings,
    payloads: Sequence[dict[str, Any]],
    *,
    port: int,
    log: Path,
    cold_starts: int,
    levels: Sequence[tuple[int, int]],
    new_levels: Sequence[tuple[int, int]] = (),
    workers: Sequence[int] = (),
    stage: Stage,
) -> dict[str, Any]:
    """Start the server ``cold_starts`` times (timing each to ready), then load the last one:
    one untimed pass over the payloads, then each (concurrency, requests) level of repeated
    questions (served by the answer cache). Then a server whose query-vector and answer caches
    are off (``ASSISTANT_QUERY_CACHE_SIZE=0``, ``ASSISTANT_ANSWER_CACHE_SIZE=0``: every question
    is embedded and answered, as a question new to the process is) serves ``new_levels``.
    For each number in ``workers`` (e.g. 2), a server with that many uvicorn workers serves the
    last level of each kind. Every server sends ``Server-Timing``, so each level reports where
    its milliseconds went (``stages_ms``)."""
    runs = []
    timed = {"ASSISTANT_SERVER_TIMING": "true"}
    with stage(f"Cold start: help-assistant serve to /readyz 200, {cold_starts} run(s)") as step:
        for i in range(cold_starts):
            step(f"run {i + 1}")
            server = _start(settings, port, log, timed)
            runs.append(server.cold_start_s)
            if i < cold_starts - 1:
                server.stop()
    title = "HTTP: POST /v1/answer, repeated questions at concurrency "
    results, rss = _serve(server, payloads, levels, stage, title)
    out: dict[str, Any] = {
        "cold_start_runs_s": runs,
        "cold_start_s": round(median(runs), 3),
        "server_loop": settings.server_loop,  # the child's too: child_env hands it over
        "levels": results,
        "server_rss_mb": rss,
        "new_levels": [],
        "workers": {},
    }
    # Neither cache: every question is embedded and answered through the whole pipeline.
    uncached = {**timed, "ASSISTANT_QUERY_CACHE_SIZE": "0", "ASSISTANT_ANSWER_CACHE_SIZE": "0"}
    if new_levels:
        server = _start(settings, port, log, uncached)
        title = "HTTP: POST /v1/answer, every question new at concurrency "
        out["new_levels"], _ = _serve(server, payloads, new_levels, stage, title)
    for n in workers:
        row: dict[str, Any] = {}
        for kind, env, kind_levels in (
            ("repeat", timed, levels[-1:]),
            ("new", uncached, new_levels[-1:]),
        ):
            if not kind_levels:
                continue
            server = _start(settings, port, log, env, ["--workers", str(n)])
            title = f"HTTP: {n} workers, {kind} questions at concurrency "
            row[kind], _ = _serve(server, payloads, kind_levels, stage, title)
            row[kind] = row[kind][0]
        out["workers"][str(n)] = row
    return out


def _serve(
    server: UvicornServer,
    payloads: Sequence[dict[str, Any]],
    levels: Sequence[tuple[int, int]],
    stage: Stage,
    title: str,
) -> tuple[list[dict[str, Any]], float | None]:
    """The levels on an started server (stopped after); returns them and its RSS after."""
    results = []
    try:
        with stage(title + ", ".join(str(c) for c, _ in levels)) as step:
            step("untimed pass over the questions")
            asyncio.run(load(server.url, payloads, 4, len(payloads)))
            for concurrency, requests in levels:
                step(f"concurrency {concurrency}: {requests} requests")
                results.append(asyncio.run(load(server.url, payloads, concurrency, requests)))
            rss = rss_mb(server.pid)
    finally:
        server.stop()
    return results, rss
