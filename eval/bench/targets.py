"""Issue 15's targets, checked against the figures of one ``help-assistant bench`` run.

Every target is a figure of this run, its goal, and pass, fail or n/a (not measured: a size
not asked for with ``--scale``, say). The HTTP new-question target is relative: a share of the
embedding ceiling measured in the same run (``result["ceiling"]``), since no answer can be
served faster than its question is embedded on the same machine.

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


def _level(levels: list[dict[str, Any]], concurrency: int) -> dict[str, Any]:
    return next((lv for lv in levels if lv["concurrency"] == concurrency), {})


def _scale_row(result: dict[str, Any], chunks: int) -> dict[str, Any]:
    return next((row for row in result.get("scale", []) if row["chunks"] == chunks), {})


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 3) if a is not None and b else None


def figures(result: dict[str, Any]) -> dict[str, float | None]:
    """The figures the targets are checked on (also the closing summary's ratios)."""
    http = result["http"]
    repeat32 = _level(http["levels"], 32)
    new32 = _level(http.get("new_levels", []), 32)
    one = _level(http["levels"], 1)
    ceiling = result.get("ceiling", {}).get("ceiling_per_s")
    big, huge = _scale_row(result, 100_000), _scale_row(result, 1_000_000)
    p99_p50 = [
        _ratio(lv.get("p99_ms"), lv.get("p50_ms")) for lv in (repeat32, new32) if lv.get("ok")
    ]
    return {
        "repeat32_per_s": repeat32.get("answers_per_s"),
        "repeat32_p95": repeat32.get("p95_ms"),
        "new32_per_s": new32.get("answers_per_s"),
        "new32_p95": new32.get("p95_ms"),
        "ceiling_per_s": ceiling,
        "new32_share": _ratio(new32.get("answers_per_s"), ceiling),
        "p99_over_p50": max((r for r in p99_p50 if r is not None), default=None),
        "errors32": (repeat32.get("errors", 0) + new32.get("errors", 0))
        if repeat32 or new32
        else None,
        "one_p50": one.get("p50_ms"),
        "scale100k_p95": big.get("retrieval", {}).get("p95_ms") if not big.get("error") else None,
        "scale1m_p95": huge.get("retrieval", {}).get("p95_ms") if not huge.get("error") else None,
        "scale1m_rss": huge.get("rss_mb"),
        "ingest_share": result["ingest"].get("embedding_share"),
        "textbook_ratio": result["textbook"]["comparison"]["throughput_ratio_first"],
        "cold_start_s": http["cold_start_s"],
    }


def targets(result: dict[str, Any]) -> list[Target]:
    """The issue's targets against this run's figures."""
    f = figures(result)
    ceiling = f["ceiling_per_s"]
    goal_new = round(0.7 * ceiling, 1) if ceiling else None
    rows: list[tuple[str, float | None, str, float | None, bool]] = [
        ("HTTP 32 conns, repeated: answers/s", f["repeat32_per_s"], "/s", 300, True),
        ("HTTP 32 conns, repeated: p95", f["repeat32_p95"], "ms", 150, False),
        ("HTTP 32 conns, new questions: answers/s", f["new32_per_s"], "/s", goal_new, True),
        ("HTTP 32 conns, new: share of embedding ceiling", f["new32_share"], "", 0.7, True),
        ("HTTP 32 conns, new questions: p95", f["new32_p95"], "ms", 250, False),
        ("HTTP 32 conns: p99 / p50 (worst of the two)", f["p99_over_p50"], "x", 3, False),
        ("HTTP 32 conns: errors", f["errors32"], "", 0, False),
        ("HTTP 1 conn, repeated: p50", f["one_p50"], "ms", 4, False),
        ("Retrieval p95 at 100k chunks", f["scale100k_p95"], "ms", 10, False),
        ("Ingest embedding: share of raw batch throughput", f["ingest_share"], "", 0.8, True),
        ("Throughput vs textbook (new questions)", f["textbook_ratio"], "x", 5, True),
        ("Cold start to /readyz 200 (median)", f["cold_start_s"], "s", 3, False),
    ]
    out = []
    for name, value, unit, goal, higher in rows:
        digits = 0 if name.endswith("errors") else 2
        if goal is None:
            goal_text = "≥ 0.7 × ceiling (not measured)"
            out.append(Target(name, _num(value, unit, digits), goal_text, None))
            continue
        goal_text = f"{'≥' if higher else '≤'} {goal:g} {unit}".strip()
        out.append(Target(name, _num(value, unit, digits), goal_text, _check(value, goal, higher)))
    big = _scale_row(result, 100_000)
    if big.get("error"):  # the product could not serve 100k chunks: a failure
        out[8] = Target(out[8].name, "failed (see Scale)", out[8].goal, False)
    huge = _scale_row(result, 1_000_000)
    if huge:
        p95, rss = _num(f["scale1m_p95"], "ms", 2), _num(f["scale1m_rss"], "MB", 0)
        shown = "failed (see Scale)" if huge.get("error") else f"p95 {p95}, RSS {rss}"
        out.append(Target("Retrieval at 1M chunks (measured)", shown, "measured",
                          None if huge.get("error") else True))  # fmt: skip
    else:
        out.append(Target("Retrieval at 1M chunks (measured)", "not measured (--scale 1000000)",
                          "measured", None))  # fmt: skip
    return out


def targets_json(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [asdict(t) for t in targets(result)]


def status_mark(passed: bool | None) -> str:
    return {True: "pass", False: "**FAIL**", None: "n/a"}[passed]
