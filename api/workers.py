"""A bounded, first-come-first-served lane in front of the answers' CPU work.

Starlette's ``run_in_threadpool`` hands every request to anyio's shared pool of 40 threads: at 32
connections that is 32 answers computing at once on two cores, each slowed by the others and by
the GIL, so every one of them finishes late (the p95 was about twice the mean). Here at most
``answer_workers`` answers compute at a time; the others wait in a FIFO queue (anyio's
``CapacityLimiter`` wakes waiters in arrival order), so a request's latency is its queueing plus
one answer's own time, and the tail stays near the median. Past ``answer_queue`` waiting
requests a new one is refused at once with a 503 and ``Retry-After`` rather than queued for ever.

One lane per event loop (a server has one; each ``TestClient`` runs its own), sized by the
settings of the first request that uses it. Example::

    value, waited_ms = await lane_for(settings).run(assistant.answer, question)
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread
from fastapi import HTTPException

from assistant.settings import Settings

T = TypeVar("T")
#: Seconds a refused client is told to wait: the queue drains at hundreds of answers a second.
RETRY_AFTER_S = 1


class LaneFullError(HTTPException):
    """The queue is full: a 503 the client may retry."""

    def __init__(self, waiting: int) -> None:
        super().__init__(
            status_code=503,
            detail=f"the server is busy ({waiting} answers waiting); retry shortly",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )


class CpuLane:
    """At most ``workers`` calls run in threads at once; at most ``queue`` wait for one."""

    def __init__(self, workers: int, queue: int) -> None:
        self.limiter = anyio.CapacityLimiter(workers)
        self.queue = queue

    @property
    def waiting(self) -> int:
        return int(self.limiter.statistics().tasks_waiting)

    async def run(self, func: Callable[[], T]) -> tuple[T, float]:
        """``func()`` in a worker thread; returns its value and the ms it waited for a worker."""
        if self.limiter.available_tokens < 1 and self.waiting >= self.queue:
            raise LaneFullError(self.waiting)
        submitted = time.perf_counter()
        started = submitted

        def call() -> T:
            nonlocal started
            started = time.perf_counter()
            return func()

        value = await anyio.to_thread.run_sync(call, limiter=self.limiter)
        return value, round((started - submitted) * 1000, 2)


_LANES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, CpuLane] = weakref.WeakKeyDictionary()


def lane_for(settings: Settings) -> CpuLane:
    """The running event loop's lane (created on first use from ``settings``)."""
    loop = asyncio.get_running_loop()
    lane = _LANES.get(loop)
    if lane is None:
        lane = _LANES[loop] = CpuLane(settings.answer_workers, settings.answer_queue)
    return lane
