"""The one error type of the speed and robustness tools."""

from __future__ import annotations


class BenchError(RuntimeError):
    """A condition that stops a run, reported as one line (port busy, no articles, a server
    that exited before it was ready...)."""
