"""A lean HTTP/1.1 load generator for ``POST /v1/answer``: one keep-alive socket per connection,
requests written and responses read with asyncio streams, nothing else.

The client shares the two cores with the server, so every microsecond it spends is taken from
the figure it measures. httpx's ``AsyncClient`` costs about a millisecond of CPU per request
(connection pool, header models, event hooks); this costs a few tens of microseconds, close to
``wrk``, which the issue's own figures came from. Responses are checked (status, length) and
their ``Server-Timing`` header kept, so the bench can say where the server's milliseconds went.

Example::

    level = asyncio.run(load("http://127.0.0.1:8000", payloads, concurrency=32, requests=800))
    level["answers_per_s"], level["p95_ms"], level["stages_ms"]["embed"]
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from eval.bench.stats import summarize

PATH = "/v1/answer"
TIMEOUT_S = 60.0


def _request(host: str, payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload).encode()
    head = (f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")  # fmt: skip
    return head.encode() + body


def parse_server_timing(value: str) -> dict[str, float]:
    """``name;dur=1.2, other;dur=3`` -> {"name": 1.2, "other": 3.0}; entries without dur skipped."""
    out: dict[str, float] = {}
    for entry in value.split(","):
        name, *params = (part.strip() for part in entry.split(";"))
        for param in params:
            key, _, number = param.partition("=")
            if key == "dur" and name:
                try:
                    out[name] = float(number)
                except ValueError:
                    pass
    return out


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, dict[str, float]]:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length, timing = 0, {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "server-timing":
            timing = parse_server_timing(value)
    await reader.readexactly(length)
    return status, timing


async def load(
    url: str, payloads: Sequence[dict[str, Any]], concurrency: int, requests: int
) -> dict[str, Any]:
    """Exactly ``requests`` POST /v1/answer calls over ``concurrency`` keep-alive connections
    (payloads cycled in order). An error is any non-200 status or transport failure (the
    connection is then reopened); its latency is left out of the percentiles, and answers/s
    counts only 200s over the wall time of the whole level."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    encoded = [_request(f"{host}:{port}", p) for p in payloads]
    latencies: list[float] = []
    timings: list[dict[str, float]] = []
    errors: Counter[str] = Counter()
    counter = itertools.count()

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while (i := next(counter)) < requests:
                started = time.perf_counter()
                try:
                    status, timing = await asyncio.wait_for(
                        _exchange(reader, writer, encoded[i % len(encoded)]), TIMEOUT_S
                    )
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
                    errors[type(exc).__name__] += 1
                    writer.close()
                    reader, writer = await asyncio.open_connection(host, port)
                    continue
                if status == 200:
                    latencies.append(time.perf_counter() - started)
                    timings.append(timing)
                else:
                    errors[f"HTTP {status}"] += 1
        finally:
            writer.close()

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
        "stages_ms": stage_breakdown(latencies, timings),
    }


def stage_breakdown(latencies: Sequence[float], timings: Sequence[dict[str, float]]) -> dict:
    """Mean ms per stage of the responses' ``Server-Timing``, plus ``outside``: the client's
    latency minus the app's (the socket both ways, h11 parsing the request, the event loop
    getting round to it). Empty when the server sent no timings."""
    rows = [t for t in timings if "app" in t]
    if not rows:
        return {}
    names = list(dict.fromkeys(name for row in rows for name in row))
    out = {name: round(sum(row.get(name, 0.0) for row in rows) / len(rows), 3) for name in names}
    client_ms = sum(latencies) / len(latencies) * 1000
    out["outside"] = round(client_ms - out["app"], 3)
    out["client"] = round(client_ms, 3)
    return out
