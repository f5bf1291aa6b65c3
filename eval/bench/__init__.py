"""Tools that measure the product's speed and robustness, apart from answer-quality evaluation.

- ``help-assistant bench`` (:func:`bench_command`, in :mod:`eval.bench.cli`): ingest, ask, HTTP,
  scale, cold start and the textbook pipeline (:mod:`~eval.bench.measure`,
  :mod:`~eval.bench.http`, :mod:`~eval.bench.scale`), reported by :mod:`~eval.bench.report`,
  :mod:`~eval.bench.targets` and :mod:`~eval.bench.plot` into ``BENCHMARKS.md``;
- ``python -m eval.bench.soak``: a long mixed load on a real server, with its memory watched;
- ``python -m eval.bench.fuzz``: every API operation fuzzed from its OpenAPI schema.

They share one server harness (:mod:`eval.bench.server`) and one statistics module
(:mod:`eval.bench.stats`: percentiles, latency summaries, RSS and open file descriptors).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eval.bench.cli import bench_command

__all__ = ["bench_command"]


def __getattr__(name: str) -> Any:
    # Lazy: the soak, the fuzzer and the bench's scale children import this package too, and
    # must not pay for Typer and Rich (a child's resident memory is one of the figures).
    if name == "bench_command":
        from eval.bench.cli import bench_command

        return bench_command
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
