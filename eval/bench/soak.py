"""Load and soak test: a real uvicorn on 127.0.0.1 under a bounded mix of requests.

Starts ``uvicorn api.main:create_app --factory`` in a child process (rate limit off) on an index
of ``knowledge/articles``, sends ``--requests`` requests from ``--concurrency`` workers (answer,
stream, search, article list and pages, feedback, healthz) and samples the server's resident
memory (VmRSS in ``/proc/PID/status``) and open file descriptors. It fails (exit 1) on any failed
request, on a resident memory growth of 10 % or more between the first and the last quarter of
the run, or when the run did not finish within ``--max-seconds``; it always stops by itself.

With ``--ingest-midway`` the server serves a copy of the articles; half-way through the measured
requests a new section with a unique fact is appended to one of them and ``help-assistant
ingest`` runs in another process while the load goes on. The run then fails when that ingest
fails, when ``/readyz`` does not report its new ``kb_version``, when the new fact is not
answered within ``MIDWAY_SERVE_TIMEOUT_S`` of the ingest's end, on a failed request, or when the
server holds more than ``MAX_FD_GROWTH`` more file descriptors at the end than at the start;
the resident-memory growth is reported but not a criterion there (the server builds the new
version's snapshot beside the old one, a step up, not growth per request). ::

    python -m eval.bench.soak --requests 20000 --concurrency 32
    python -m eval.bench.soak --requests 2000 --concurrency 8 --data-dir .data --json /tmp/soak.json
    python -m eval.bench.soak --requests 4000 --concurrency 16 --ingest-midway

``tests/reliability/test_soak.py`` runs a small version (600 requests).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from assistant.settings import offline_env
from eval.bench.server import INGEST_COMMAND, ROOT, UvicornServer, server_env
from eval.bench.stats import median, open_fds, percentiles, rss_kb, rss_mb

DATASET = ROOT / "eval" / "datasets" / "dev.jsonl"
#: Request kinds and their share of the mix.
MIX: dict[str, float] = {
    "answer": 0.35, "stream": 0.15, "search": 0.2, "articles": 0.05, "article": 0.1,
    "feedback": 0.1, "healthz": 0.05,
}  # fmt: skip
MAX_RSS_GROWTH = 0.10
#: File descriptors the server may hold beyond its count at the start of the measured phase
#: (client connections come and go; a leak per reindex or per request grows without bound).
MAX_FD_GROWTH = 8
#: Requests sent before measuring: the first answers grow ONNX Runtime's arena and the caches,
#: which is start-up, not a leak.
DEFAULT_WARMUP = 200
SAMPLE_EVERY_S = 0.25
#: The midway ingest's new fact must be answered this long after the ingest ends (the server
#: checks for a new version every ``ASSISTANT_REFRESH_SECONDS``, 2 s by default, then rebuilds).
MIDWAY_SERVE_TIMEOUT_S = 30.0
MIDWAY_ARTICLE = "calf-raises.md"
MIDWAY_SECTION = """

## How many times should I zorbulate the kettlebell?

Zorbulate the kettlebell exactly 37 times before every long run.
"""
MIDWAY_QUESTION = "how many times should I zorbulate the kettlebell?"
MIDWAY_FACT = "37 times"


@dataclass
class MidwayIngest:
    """What the ingest run half-way through the measured requests did and what it changed."""

    returncode: int | None = None
    seconds: float = 0.0
    requests_before: int = 0
    kb_version_before: str = ""
    kb_version_after: str = ""
    fact_served_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return (
            self.returncode == 0
            and self.fact_served_after_s is not None
            and self.kb_version_after not in ("", self.kb_version_before)
        )


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
    open_fds_start: int | None = None
    open_fds_end: int | None = None
    rss_mb_start: float | None = None
    rss_mb_end: float | None = None
    ingest_midway: MidwayIngest | None = None
    seconds: float = 0.0
    throughput_rps: float = 0.0
    finished: bool = False

    @property
    def fds_stable(self) -> bool:
        if self.open_fds_start is None or self.open_fds_end is None:
            return True  # not measurable here (no /proc)
        return self.open_fds_end - self.open_fds_start <= MAX_FD_GROWTH

    @property
    def ok(self) -> bool:
        if not (self.finished and self.failures == 0 and self.fds_stable):
            return False
        if self.ingest_midway is not None:
            return self.ingest_midway.ok
        return self.rss_growth < MAX_RSS_GROWTH

    def summary(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "failure_examples"}
        if self.ingest_midway is not None:
            out["ingest_midway"] = {**self.ingest_midway.__dict__, "ok": self.ingest_midway.ok}
        out["rss_growth_percent"] = round(100 * self.rss_growth, 2)
        out["fds_stable"] = self.fds_stable
        out["ok"] = self.ok
        out["failure_examples"] = self.failure_examples[:10]
        return out


def _questions() -> list[str]:
    rows = [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines() if line]
    return [str(r["question"]) for r in rows if r.get("question")]


def _latency(values: Sequence[float]) -> dict[str, float]:
    """p50, p90, p99, max and mean of latencies in ms, to 0.1 ms (percentiles by
    :func:`eval.bench.stats.percentiles`)."""
    if not values:
        return {}
    p50, p90, p99 = percentiles(values, [50, 90, 99])
    return {"p50": round(p50, 1), "p90": round(p90, 1), "p99": round(p99, 1),
            "max": round(max(values), 1), "mean": round(statistics.fmean(values), 1)}  # fmt: skip


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


class _Soak:
    """One run: workers sending the mix, and what they and the memory sampler recorded."""

    def __init__(
        self,
        load: _Load,
        pid: int,
        report: SoakReport,
        deadline: float,
        midway: _Midway | None = None,
    ) -> None:
        self.load = load
        self.pid = pid
        self.report = report
        self.deadline = deadline
        self.midway = midway
        self.issued = 0
        self.completed = 0  # measured requests only
        self.latencies: dict[str, list[float]] = {}
        self.kinds: Counter[str] = Counter()
        self.samples: list[tuple[int, int]] = []  # (requests completed, VmRSS kB)

    async def phase(self, total: int, measured: bool) -> None:
        """``total`` requests from ``report.concurrency`` workers (fewer past the deadline)."""
        self.issued = 0
        workers = [self._worker(total, measured) for _ in range(self.report.concurrency)]
        await asyncio.gather(*workers)

    async def _worker(self, total: int, measured: bool) -> None:
        while self.issued < total and time.monotonic() < self.deadline:
            self.issued += 1
            kind = self.load.pick()
            started = time.perf_counter()
            try:
                problem = await self.load.send(kind)
            except httpx.HTTPError as exc:
                problem = f"{kind}: {type(exc).__name__}: {exc}"
            elapsed = (time.perf_counter() - started) * 1000
            if measured:
                self.completed += 1
                self.kinds[kind] += 1
                self.latencies.setdefault(kind, []).append(elapsed)
                self.latencies.setdefault("all", []).append(elapsed)
            if problem is not None:
                self.report.failures += 1
                if len(self.report.failure_examples) < 20:
                    self.report.failure_examples.append(problem)

    async def sample(self) -> None:
        """The server's resident memory every ``SAMPLE_EVERY_S``, until cancelled."""
        while True:
            rss = rss_kb(self.pid)
            if rss is not None:
                self.samples.append((self.completed, rss))
            await asyncio.sleep(SAMPLE_EVERY_S)

    async def measure(self) -> None:
        """The measured phase with the sampler running; the figures go into ``report``."""
        report = self.report
        report.open_fds_start, report.rss_mb_start = open_fds(self.pid), rss_mb(self.pid)
        sampling = asyncio.create_task(self.sample())
        midway = asyncio.create_task(self.midway.run(self)) if self.midway else None
        started = time.perf_counter()
        try:
            await self.phase(report.requests, measured=True)
            if midway is not None:  # the load ended first: the ingest's outcome still counts
                await asyncio.wait_for(midway, timeout=max(1.0, self.deadline - time.monotonic()))
        finally:
            sampling.cancel()
            if midway is not None:
                midway.cancel()
        report.seconds = round(time.perf_counter() - started, 1)
        report.open_fds_end, report.rss_mb_end = open_fds(self.pid), rss_mb(self.pid)
        report.finished = self.completed == report.requests
        report.by_kind = dict(self.kinds.most_common())
        report.latency_ms = {k: _latency(v) for k, v in sorted(self.latencies.items())}
        report.throughput_rps = round(self.completed / max(report.seconds, 1e-9), 1)
        self._memory()

    def _memory(self) -> None:
        """RSS growth: the median of the last quarter's samples over the first quarter's."""
        report, requests = self.report, self.report.requests
        first = [rss for done, rss in self.samples if done < requests / 4]
        last = [rss for done, rss in self.samples if done >= 3 * requests / 4]
        report.rss_samples = len(self.samples)
        if first and last:
            report.rss_mb_first_quarter = round(median(first) / 1024, 1)
            report.rss_mb_last_quarter = round(median(last) / 1024, 1)
            report.rss_growth = round(
                report.rss_mb_last_quarter / report.rss_mb_first_quarter - 1, 4
            )


class _Midway:
    """Half-way through the measured requests: append a section with a new fact to an article
    of ``articles`` and run ``help-assistant ingest`` (``INGEST_COMMAND``) in another process
    while the load goes on; then time how long until the server answers the fact."""

    def __init__(self, articles: Path, env: dict[str, str], log: Path) -> None:
        self.articles, self.env, self.log = articles, env, log

    async def run(self, soak: _Soak) -> None:
        result = soak.report.ingest_midway = MidwayIngest()
        while soak.completed < soak.report.requests // 2 and time.monotonic() < soak.deadline:
            await asyncio.sleep(0.05)
        client = soak.load.client
        result.requests_before = soak.completed
        result.kb_version_before = await _kb_version(client)
        path = self.articles / MIDWAY_ARTICLE
        path.write_text(path.read_text(encoding="utf-8") + MIDWAY_SECTION, encoding="utf-8")
        started = time.monotonic()
        with self.log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                *INGEST_COMMAND, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
            result.returncode = await process.wait()
        ended = time.monotonic()
        result.seconds = round(ended - started, 2)
        while time.monotonic() - ended < MIDWAY_SERVE_TIMEOUT_S:
            r = await client.post("/v1/answer", json={"question": MIDWAY_QUESTION})
            if r.status_code == 200 and MIDWAY_FACT in r.json()["answer"]:
                result.fact_served_after_s = round(time.monotonic() - ended, 2)
                break
            await asyncio.sleep(0.1)
        result.kb_version_after = await _kb_version(client)


async def _kb_version(client: httpx.AsyncClient) -> str:
    r = await client.get("/readyz")
    return str(r.json().get("kb_version", "")) if r.status_code == 200 else ""


async def _run(
    url: str, pid: int, requests: int, concurrency: int, warmup: int, max_seconds: float,
    seed: int, midway: _Midway | None = None,
) -> SoakReport:  # fmt: skip
    report = SoakReport(requests=requests, concurrency=concurrency, warmup=warmup)
    deadline = time.monotonic() + max_seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=httpx.Timeout(60.0)) as c:
        soak = _Soak(_Load(c, seed), pid, report, deadline, midway)
        await soak.phase(warmup, measured=False)
        await soak.measure()
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
    ingest_midway: tuple[Path, dict[str, str], Path] | None = None,
) -> SoakReport:
    """Soak the server at ``url`` (process ``pid``) and report; never runs past max_seconds.

    ``ingest_midway`` (the articles dir the server reads, the ingest's environment, its log):
    edit an article and ingest it in another process half-way (see the module's docstring)."""
    midway = _Midway(*ingest_midway) if ingest_midway else None
    return asyncio.run(_run(url, pid, requests, concurrency, warmup, max_seconds, seed, midway))


def _ingest(env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        done = subprocess.run(
            INGEST_COMMAND, cwd=ROOT, env=env, stdout=out,
            stderr=subprocess.STDOUT, timeout=900, check=False,
        )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"ingest failed ({done.returncode}); see {log}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m eval.bench.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=DEFAULT_WARMUP,
                        help=f"requests before measuring (default {DEFAULT_WARMUP})")  # fmt: skip
    parser.add_argument("--max-seconds", type=float, default=1800.0,
                        help="stop (and fail) after this long (default 1800)")  # fmt: skip
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="index to serve (ingested incrementally); default: temp")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ingest-midway", action="store_true",
                        help="edit an article and run `help-assistant ingest` in another "
                        "process half-way (the server serves a copy of the articles)")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args(argv)
    if args.requests < 4 or args.concurrency < 1:
        parser.error("--requests must be at least 4 and --concurrency at least 1")

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        data_dir = args.data_dir or Path(tmp) / "data"
        log = Path(tmp) / "soak.log"
        settings = server_env(data_dir)
        if args.ingest_midway:  # never edit the shipped articles: a copy is served and edited
            articles = Path(tmp) / "articles"
            shutil.copytree(ROOT / "knowledge" / "articles", articles)
            settings["ASSISTANT_ARTICLES_DIR"] = str(articles)
        env = offline_env({**os.environ, **settings})
        _ingest(env, log)
        with UvicornServer(settings, log=log, ready_path="/readyz") as server:
            report = run_soak(
                server.url, server.pid, requests=args.requests, concurrency=args.concurrency,
                warmup=args.warmup, max_seconds=args.max_seconds, seed=args.seed,
                ingest_midway=(articles, env, log) if args.ingest_midway else None,
            )  # fmt: skip
            alive = server.alive()
    summary = report.summary()
    summary["server_alive_at_end"] = alive
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0 if report.ok and alive else 1


if __name__ == "__main__":
    sys.exit(main())
