"""The bounded lane in front of the answers' CPU work (api/workers.py): at most ``workers`` at
once, first come first served, and a 503 with Retry-After once ``queue`` are waiting."""

from __future__ import annotations

import threading

import anyio
import pytest

from api.workers import CpuLane, LaneFullError


def test_the_lane_bounds_concurrency_keeps_order_and_refuses_past_the_queue() -> None:
    lane = CpuLane(workers=1, queue=2)
    release = threading.Event()
    running: list[int] = []
    finished: list[int] = []
    refused: list[LaneFullError] = []

    def job(i: int) -> int:
        running.append(i)
        assert len(running) - len(finished) == 1  # never two at once
        release.wait(10)
        finished.append(i)
        return i

    async def submit(i: int) -> None:
        try:
            value, waited_ms = await lane.run(lambda: job(i))
        except LaneFullError as exc:
            refused.append(exc)
            return
        assert value == i and waited_ms >= 0

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for i in range(4):  # one runs, two wait, the fourth is refused at once
                tg.start_soon(submit, i)
                await anyio.sleep(0.05)
            assert lane.waiting == 2 and len(refused) == 1
            release.set()

    anyio.run(main)
    assert finished == [0, 1, 2]  # first come, first served
    [error] = refused
    assert error.status_code == 503 and error.headers == {"Retry-After": "1"}


def test_a_failing_job_raises_in_the_caller() -> None:
    lane = CpuLane(workers=2, queue=0)

    def broken() -> None:
        raise ValueError("bad question")

    async def main() -> None:
        with pytest.raises(ValueError, match="bad question"):
            await lane.run(broken)

    anyio.run(main)
