"""The statistics every speed and robustness report uses (bench, HTTP load, soak): one
percentile definition, one latency summary, and the process figures read from ``/proc``.

Percentiles are numpy's default ``method="linear"`` (type 7 of Hyndman and Fan, the definition
of ``numpy.percentile``, R's default and Excel's ``PERCENTILE.INC``): the value at rank
``q / 100 * (n - 1)`` of the sorted samples, interpolated between its two neighbours. The
quality evaluation (``eval/metrics.py``) uses the same, so a p95 means one thing in every report.

Example::

    summarize([0.010, 0.012, 0.030])["p95_ms"]   # 28.2
    percentiles([1.0, 2.0, 3.0, 4.0], [50, 90])  # 2.5 and 3.7
    rss_mb(server.pid), open_fds(server.pid)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from assistant.types import TIMING_STAGES

#: The stages the Assistant reports in ``Answer.timings_ms``, in the order they run.
STAGES = TIMING_STAGES


def percentiles(values: Sequence[float], qs: Sequence[float]) -> list[float]:
    """The ``qs`` percentiles (0-100) of ``values``, by the module's one definition (linear)."""
    found = np.percentile(np.asarray(values, dtype=np.float64), list(qs), method="linear")
    return [float(v) for v in found]


def median(values: Sequence[float]) -> float:
    """The 50th percentile (equal to ``statistics.median``)."""
    return percentiles(values, [50])[0]


def summarize(samples_s: Sequence[float]) -> dict[str, float | int | None]:
    """Latency percentiles in ms and throughput of sequential calls (n / summed seconds)."""
    if not samples_s:
        return {
            "n": 0,
            "mean_ms": None,
            "p50_ms": None,
            "p95_ms": None,
            "p99_ms": None,
            "max_ms": None,
            "per_s": None,
        }
    ms = np.asarray(samples_s, dtype=np.float64) * 1000
    p50, p95, p99 = percentiles(ms.tolist(), [50, 95, 99])
    return {
        "n": int(ms.size),
        "mean_ms": round(float(ms.mean()), 3),
        "p50_ms": round(p50, 3),
        "p95_ms": round(p95, 3),
        "p99_ms": round(p99, 3),
        "max_ms": round(float(ms.max()), 3),
        "per_s": round(float(ms.size / (ms.sum() / 1000)), 2),
    }


def stage_means(rows: Sequence[dict[str, float]]) -> dict[str, float]:
    """Mean ms per stage of ``Answer.timings_ms``; a stage an answer skipped (e.g. the gate
    stopped it) counts as 0."""
    if not rows:
        return {}
    return {s: round(sum(r.get(s, 0.0) for r in rows) / len(rows), 3) for s in STAGES}


# ----- process figures (Linux /proc; None elsewhere or once the process is gone) -------------
def _status_kb(pid: int | str, key: str) -> int | None:
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(key + ":"):
            try:
                return int(line.split()[1])
            except (IndexError, ValueError):
                return None
    return None


def rss_kb(pid: int | str = "self") -> int | None:
    """Resident set size (``VmRSS``) of a process in kB."""
    return _status_kb(pid, "VmRSS")


def rss_mb(pid: int | str = "self") -> float | None:
    """Resident set size of a process in MB, to 0.1 MB."""
    kb = rss_kb(pid)
    return None if kb is None else round(kb / 1024, 1)


def peak_rss_mb(pid: int | str = "self") -> float | None:
    """Peak resident set size (``VmHWM``) of a process in MB, to 0.1 MB."""
    kb = _status_kb(pid, "VmHWM")
    return None if kb is None else round(kb / 1024, 1)


def open_fds(pid: int | str = "self") -> int | None:
    """How many file descriptors a process holds open (entries of ``/proc/PID/fd``)."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None
