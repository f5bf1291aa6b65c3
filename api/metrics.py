"""Prometheus metrics: request counts and latency by route and status, answers by outcome.

Each app gets its own ``CollectorRegistry`` (several apps in one process, as in tests, would
otherwise clash on metric names). With several uvicorn workers (``serve --workers N``),
:func:`prepare_multiprocess` sets ``PROMETHEUS_MULTIPROC_DIR`` before the workers start: each
worker writes its values there and every ``/metrics`` scrape sums all workers
(prometheus_client's multiprocess mode). A single process is unchanged.

Example (the CLI's ``serve``)::

    with prepare_multiprocess(workers):
        uvicorn.run("api.main:create_app", factory=True, workers=workers)
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The app's metrics; ``render()`` is the ``/metrics`` body."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "help_assistant_http_requests_total",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "help_assistant_http_request_duration_seconds",
            "HTTP request latency by route template and method (until the response ends).",
            ["route", "method"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.answers = Counter(
            "help_assistant_answers_total",
            "Answers given, by channel (answer, stream, chat) and contract outcome.",
            ["channel", "outcome"],
            registry=self.registry,
        )
        self.answers_not_stored = Counter(
            "help_assistant_answers_not_stored_total",
            "Answers given but not stored (the answer log was down), by reason.",
            ["reason"],
            registry=self.registry,
        )
        self.answer_latency = Histogram(
            "help_assistant_answer_duration_seconds",
            "Time to compute and store an answer, by contract outcome.",
            ["outcome"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )

        self.answer_cache = Counter(
            "help_assistant_answer_cache_total",
            "Answers looked up in the answer cache: hit (served again) or miss (computed).",
            ["result"],
            registry=self.registry,
        )

    def observe_answer(self, channel: str, outcome: str, seconds: float) -> None:
        self.answers.labels(channel, outcome).inc()
        self.answer_latency.labels(outcome).observe(seconds)

    def render(self) -> bytes:
        if os.environ.get(MULTIPROC_ENV):
            # Every worker's values, summed (the files of dead workers too: counters never drop).
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def prepare_multiprocess(workers: int) -> Iterator[str | None]:
    """With ``workers > 1`` and no ``PROMETHEUS_MULTIPROC_DIR`` of the operator's, a fresh
    temporary one for the workers (they inherit the environment), removed afterwards; yields
    the folder in use, or None for a single process (nothing changes)."""
    if workers <= 1:
        yield None
        return
    if os.environ.get(MULTIPROC_ENV):  # the operator's own folder: used as is, never removed
        yield os.environ[MULTIPROC_ENV]
        return
    folder = tempfile.mkdtemp(prefix="help-assistant-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    try:
        yield folder
    finally:
        os.environ.pop(MULTIPROC_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)


class MetricsMiddleware:
    """Counts every HTTP request under its route template (never the raw path: bounded labels)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = _route_template(scope)
            method = scope.get("method", "GET")
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(time.perf_counter() - started)


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    if route is None:
        # Answered before routing (429, 413): find the route the path would have reached.
        route = _find_route(getattr(scope.get("app"), "routes", ()), scope)
    path = getattr(route, "path", None)
    return str(path) if path is not None else "<unmatched>"


def _find_route(routes: Iterable[Any], scope: Scope) -> Any:
    """The route that fully matches ``scope``, looking inside FastAPI's included routers (which
    have no path of their own)."""
    for candidate in routes:
        match, _ = candidate.matches(scope)
        if match is not Match.FULL:
            continue
        inner = getattr(candidate, "original_router", None)
        if inner is None:
            return candidate
        found = _find_route(inner.routes, scope)
        if found is not None:
            return found
    return None
