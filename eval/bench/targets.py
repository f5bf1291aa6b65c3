"""The issue's targets, checked against the figures of one ``help-assistant bench`` run.

Example::

    for t in targets(result):
        print(t.name, t.value, t.goal, status_mark(t.passed))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """One of the issue's targets; ``passed`` is None when this run did not measure it."""

    name: str
    value: str
    goal: str
    passed: bool | None


def _check(value: float | None, goal: float, higher: bool) -> bool | None:
    if value is None:
        return None
    return value >= goal if higher else value <= goal


def _num(value: float | None, unit: str, digits: int = 1) -> str:
    return "not measured" if value is None else f"{value:,.{digits}f} {unit}".strip()


def targets(result: dict[str, Any]) -> list[Target]:
    """The issue's targets against this run's figures."""
    ingest, ask, http = result["ingest"], result["ask"], result["http"]
    level = next((lv for lv in http["levels"] if lv["concurrency"] == 32), None)
    big = next((row for row in result["scale"] if row["chunks"] == 100_000), None)
    big_p95 = big["retrieval"]["p95_ms"] if big else None
    ratio = result["textbook"]["comparison"]["throughput_ratio_first"]
    cold_start = http["cold_start_s"]
    c32 = {k: level[k] if level else None for k in ("answers_per_s", "p95_ms", "errors")}
    rows = [
        ("Cold ingest (fresh data dir)", ingest["chunks_per_s"], "chunks/s", 150, True),
        ("No-op re-ingest (in process)", ingest["noop_s"], "s", 2, False),
        ("Ask p50, repeated questions", ask["repeat"]["p50_ms"], "ms", 8, False),
        ("Ask p95, repeated questions", ask["repeat"]["p95_ms"], "ms", 15, False),
        ("Retrieval p95 at 100k chunks", big_p95, "ms", 30, False),
        ("HTTP answers/s at concurrency 32", c32["answers_per_s"], "/s", 200, True),
        ("HTTP p95 at concurrency 32", c32["p95_ms"], "ms", 250, False),
        ("HTTP errors at concurrency 32", c32["errors"], "", 0, False),
        ("Throughput vs textbook (new questions)", ratio, "x", 3, True),
        ("Cold start to /readyz 200 (median)", cold_start, "s", 10, False),
    ]
    out = []
    for name, value, unit, goal, higher in rows:
        digits = 0 if unit in ("", "/s") and name.startswith("HTTP errors") else 2
        goal_text = f"{'≥' if higher else '≤'} {goal:g} {unit}".strip()
        out.append(Target(name, _num(value, unit, digits), goal_text, _check(value, goal, higher)))
    if big is not None and big["error"]:  # the product could not serve 100k chunks: a failure
        out[4] = Target(out[4].name, "failed (see Scale)", out[4].goal, False)
    return out


def targets_json(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [asdict(t) for t in targets(result)]


def status_mark(passed: bool | None) -> str:
    return {True: "pass", False: "**FAIL**", None: "n/a"}[passed]
