"""Load and soak test: a real uvicorn on 127.0.0.1 under a bounded mix of requests.

Starts ``uvicorn api.main:create_app --factory`` in a child process (rate limit off) on an index
of ``knowledge/articles``, sends ``--requests`` requests from ``--concurrency`` workers (answer,
stream, search, article list and pages, feedback, healthz) and samples the server's resident
memory (VmRSS in ``/proc/PID/status``). It fails (exit 1) on any failed request, on a resident
memory growth of 10 % or more between the first and the last quarter of the run, or when the
run did not finish within ``--max-seconds``; it always stops by itself. ::

    python -m eval.soak --requests 20000 --concurrency 32
    python -m eval.soak --requests 2000 --concurrency 8 --data-dir .data --json /tmp/soak.json

``tests/reliability/test_soak.py`` runs a small version (600 requests).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
DATASET = ROOT / "eval" / "datasets" / "dev.jsonl"
#: Request kinds and their share of the mix.
MIX: dict[str, float] = {
    "answer": 0.35, "stream": 0.15, "search": 0.2, "articles": 0.05, "article": 0.1,
    "feedback": 0.1, "healthz": 0.05,
}  # fmt: skip
MAX_RSS_GROWTH = 0.10
#: Requests sent before measuring: the first answers grow ONNX Runtime's arena and the caches,
#: which is start-up, not a leak.
DEFAULT_WARMUP = 200


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_kb(pid: int) -> int | None:
    """Resident memory of ``pid`` in kB (VmRSS), None once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class UvicornServer:
    """``python -m uvicorn api.main:create_app --factory`` on 127.0.0.1, in a child process.

    Settings come from ``env`` (``ASSISTANT_*``); the log goes to ``log``. Example::

        with UvicornServer({"ASSISTANT_DATA_DIR": "/tmp/kb"}, log=Path("/tmp/api.log")) as srv:
            httpx.get(srv.url + "/readyz")
    """

    def __init__(
        self,
        env: Mapping[str, str],
        log: Path,
        port: int | None = None,
        ready_path: str = "/healthz",
        start_timeout: float = 120.0,
    ) -> None:
        self.env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
                    "TOKENIZERS_PARALLELISM": "false", "ANONYMIZED_TELEMETRY": "False", **env}
        self.log = log
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready_path = ready_path
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def start(self) -> UvicornServer:
        command = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory",
                   "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "info",
                   "--timeout-graceful-shutdown", "5"]  # fmt: skip
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"uvicorn exited with {self.process.returncode}; see {self.log}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"uvicorn not ready within {self.start_timeout:.0f} s; see {self.log}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup (as a crash or the OOM killer would)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> UvicornServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class SoakReport:
    requests: int = 0
    concurrency: int = 0
    warmup: int = 0
    failures: int = 0
    failure_examples: list[str] = field(default_factory=list)
    by_kind: dict[str, int] = field(default_factory=dict)
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    rss_mb_first_quarter: float = 0.0
    rss_mb_last_quarter: float = 0.0
    rss_growth: float = 0.0
    rss_samples: int = 0
    seconds: float = 0.0
    throughput_rps: float = 0.0
    finished: bool = False

    @property
    def ok(self) -> bool:
        return self.finished and self.failures == 0 and self.rss_growth < MAX_RSS_GROWTH

    def summary(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "failure_examples"}
        out["rss_growth_percent"] = round(100 * self.rss_growth, 2)
        out["ok"] = self.ok
        out["failure_examples"] = self.failure_examples[:10]
        return out


def _questions() -> list[str]:
    rows = [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines() if line]
    return [str(r["question"]) for r in rows if r.get("question")]


def _percentiles(values: Sequence[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)

    def pick(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)

    return {"p50": pick(0.50), "p90": pick(0.90), "p99": pick(0.99), "max": round(ordered[-1], 1),
            "mean": round(statistics.fmean(ordered), 1)}  # fmt: skip


class _Load:
    """The request mix; every request checks its own response."""

    def __init__(self, client: httpx.AsyncClient, seed: int) -> None:
        self.client = client
        self.rng = random.Random(seed)
        self.questions = _questions()
        self.answer_ids: deque[str] = deque(maxlen=500)
        self.article_ids: list[str] = []
        self.kinds = list(MIX)
        self.weights = [MIX[k] for k in self.kinds]

    def pick(self) -> str:
        kind = self.rng.choices(self.kinds, self.weights)[0]
        if kind == "feedback" and not self.answer_ids:
            return "answer"
        if kind == "article" and not self.article_ids:
            return "articles"
        return kind

    async def send(self, kind: str) -> str | None:
        """None when the response is right, else what was wrong."""
        question = self.rng.choice(self.questions)
        if kind == "answer":
            r = await self.client.post("/v1/answer", json={"question": question})
            if r.status_code == 200:
                self.answer_ids.append(r.json()["answer_id"])
            return _expect(r, 200)
        if kind == "stream":
            r = await self.client.post("/v1/answer/stream", json={"question": question})
            problem = _expect(r, 200)
            if problem is None and "event: done" not in r.text:
                problem = "stream ended without a done event"
            return problem
        if kind == "search":
            r = await self.client.post("/v1/search", json={"query": question, "k": 5})
            return _expect(r, 200)
        if kind == "articles":
            r = await self.client.get("/v1/articles")
            if r.status_code == 200:
                self.article_ids = [a["article_id"] for a in r.json()["articles"]]
            return _expect(r, 200)
        if kind == "article":
            r = await self.client.get(f"/v1/articles/{self.rng.choice(self.article_ids)}")
            return _expect(r, 200)
        if kind == "feedback":
            answer_id = self.rng.choice(self.answer_ids)
            body = {"answer_id": answer_id, "helpful": self.rng.random() < 0.7}
            return _expect(await self.client.post("/v1/feedback", json=body), 201)
        return _expect(await self.client.get("/healthz"), 200)


def _expect(response: httpx.Response, status: int) -> str | None:
    if response.status_code == status:
        return None
    return f"{response.request.method} {response.request.url.path} -> {response.status_code}: " \
        f"{response.text[:200]}"  # fmt: skip


async def _run(
    url: str, pid: int, requests: int, concurrency: int, warmup: int, max_seconds: float,
    seed: int,
) -> SoakReport:  # fmt: skip
    report = SoakReport(requests=requests, concurrency=concurrency, warmup=warmup)
    latencies: dict[str, list[float]] = {}
    kinds: Counter[str] = Counter()
    samples: list[tuple[int, int]] = []  # (requests completed, VmRSS kB)
    issued = 0
    completed = 0
    deadline = time.monotonic() + max_seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    timeout = httpx.Timeout(60.0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:
        load = _Load(client, seed)

        async def phase(total: int, measured: bool) -> None:
            nonlocal issued, completed

            async def worker() -> None:
                nonlocal issued, completed
                while issued < total and time.monotonic() < deadline:
                    issued += 1
                    kind = load.pick()
                    started = time.perf_counter()
                    try:
                        problem = await load.send(kind)
                    except httpx.HTTPError as exc:
                        problem = f"{kind}: {type(exc).__name__}: {exc}"
                    elapsed = (time.perf_counter() - started) * 1000
                    if measured:
                        completed += 1
                        kinds[kind] += 1
                        latencies.setdefault(kind, []).append(elapsed)
                        latencies.setdefault("all", []).append(elapsed)
                    if problem is not None:
                        report.failures += 1
                        if len(report.failure_examples) < 20:
                            report.failure_examples.append(problem)

            await asyncio.gather(*(worker() for _ in range(concurrency)))

        await phase(warmup, measured=False)
        issued = 0

        async def sampler() -> None:
            while True:
                rss = rss_kb(pid)
                if rss is not None:
                    samples.append((completed, rss))
                await asyncio.sleep(0.25)

        sampling = asyncio.create_task(sampler())
        started = time.perf_counter()
        try:
            await phase(requests, measured=True)
        finally:
            sampling.cancel()
        report.seconds = round(time.perf_counter() - started, 1)
    report.finished = completed == requests
    report.by_kind = dict(kinds.most_common())
    report.latency_ms = {k: _percentiles(v) for k, v in sorted(latencies.items())}
    report.throughput_rps = round(completed / max(report.seconds, 1e-9), 1)
    first = [rss for done, rss in samples if done < requests / 4]
    last = [rss for done, rss in samples if done >= 3 * requests / 4]
    report.rss_samples = len(samples)
    if first and last:
        report.rss_mb_first_quarter = round(statistics.median(first) / 1024, 1)
        report.rss_mb_last_quarter = round(statistics.median(last) / 1024, 1)
        report.rss_growth = round(
            report.rss_mb_last_quarter / report.rss_mb_first_quarter - 1, 4
        )
    return report


def run_soak(
    url: str,
    pid: int,
    *,
    requests: int,
    concurrency: int,
    warmup: int = DEFAULT_WARMUP,
    max_seconds: float = 1800.0,
    seed: int = 0,
) -> SoakReport:
    """Soak the server at ``url`` (process ``pid``) and report; never runs past max_seconds."""
    return asyncio.run(_run(url, pid, requests, concurrency, warmup, max_seconds, seed))


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The child's settings: this data dir, the shipped articles, no rate limit."""
    env = {
        "ASSISTANT_DATA_DIR": str(data_dir),
        "ASSISTANT_ARTICLES_DIR": str(ROOT / "knowledge" / "articles"),
        "ASSISTANT_RATE_LIMIT": "off",
    }
    return {**env, **extra}


def _ingest(data_dir: Path, log: Path) -> None:
    env = {**os.environ, **server_env(data_dir), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    with log.open("ab") as out:
        done = subprocess.run(
            [sys.executable, "-m", "assistant.cli", "ingest"], cwd=ROOT, env=env, stdout=out,
            stderr=subprocess.STDOUT, timeout=900, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"ingest failed ({done.returncode}); see {log}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.soak", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP,
                        help=f"requests before measuring (default {DEFAULT_WARMUP})")  # fmt: skip
    parser.add_argument("--max-seconds", type=float, default=1800.0,
                        help="stop (and fail) after this long (default 1800)")  # fmt: skip
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="index to serve (ingested incrementally); default: temp")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args(argv)
    if args.requests < 4 or args.concurrency < 1:
        parser.error("--requests must be at least 4 and --concurrency at least 1")

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        log = Path(tmp) / "soak.log"
        _ingest(data_dir, log)
        with UvicornServer(server_env(data_dir), log=log, ready_path="/readyz") as server:
            report = run_soak(
                server.url, server.pid, requests=args.requests, concurrency=args.concurrency,
                warmup=args.warmup, max_seconds=args.max_seconds, seed=args.seed,
            )  # fmt: skip
            alive = server.process is not None and server.process.poll() is None
    summary = report.summary()
    summary["server_alive_at_end"] = alive
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0 if report.ok and alive else 1


if __name__ == "__main__":
    sys.exit(main())
