"""The bench's cold start alone: spawn ``help-assistant serve`` as ``help-assistant bench``
does (:class:`eval.bench.server.UvicornServer`, its environment) on an existing, ingested
data dir and time it to ``GET /readyz`` = 200, with the CPU seconds the server used until
then (steadier than wall time on a busy machine). Example::

    ASSISTANT_DATA_DIR=.data python -m eval.bench.cold_start --runs 5
"""

from __future__ import annotations

import argparse
import os
import statistics
from pathlib import Path

from assistant.settings import get_settings
from eval.bench.server import UvicornServer, child_env


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description="Cold start: help-assistant serve to /readyz 200.")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--log", type=Path, default=Path("/tmp/cold_start_server.log"))
    args = parser.parse_args()
    env = {**child_env(get_settings()), "ASSISTANT_SERVER_TIMING": "true"}
    walls, cpus = [], []
    for i in range(args.runs):
        with UvicornServer(env, args.log, ready_path="/readyz", serve=True) as server:
            walls.append(server.cold_start_s)
            cpus.append(round(cpu_seconds(server.pid), 2))
        print(f"run {i + 1}: {walls[-1]:.3f} s wall, {cpus[-1]:.2f} s CPU", flush=True)
    print(f"median {statistics.median(walls):.3f} s wall, {statistics.median(cpus):.2f} s CPU "
          f"over {len(walls)} runs (load average {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
