"""The one server harness of the speed and robustness tools: a real uvicorn serving
``api.main:create_app`` on 127.0.0.1 in a child process, and the environments children get.

The bench times its cold start, the soak loads it, and the reliability tests kill it mid-way.
Every child runs with :data:`assistant.settings.OFFLINE_ENV` (a model-hub lookup for the
packaged model would otherwise hang for about a minute). Example::

    with UvicornServer(server_env(data_dir), log=tmp / "api.log", ready_path="/readyz") as srv:
        httpx.get(srv.url + "/v1/articles")
        print(srv.cold_start_s, rss_mb(srv.pid))
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import httpx

from assistant.settings import offline_env
from eval.bench.errors import BenchError

if TYPE_CHECKING:
    from assistant.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
#: The server loads the model and indexes before it is ready; beyond this it is broken.
READY_TIMEOUT_S = 180.0
#: ``help-assistant ingest`` as a new process (the CLI's module: no PATH lookup of the script).
INGEST_COMMAND = (sys.executable, "-m", "cli.main", "ingest")
#: ``help-assistant serve`` as a new process: what a deployment runs (api/server_options.py's
#: protocol, limits and event loop), where plain ``python -m uvicorn`` would take uvicorn's own.
SERVE_COMMAND = (sys.executable, "-m", "cli.main", "serve")
#: Readiness poll interval: short, since the bench reports the cold start to this precision.
POLL_S = 0.02


def free_port(port: int = 0) -> int:
    """``port`` if it can be bound on 127.0.0.1 (0: any free port); a busy port is an error."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            raise BenchError(
                f"port {port} on {HOST} is busy; pass --port with a free port (0 picks one)"
            ) from None
        return int(sock.getsockname()[1])


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Settings of a server on ``data_dir`` and the shipped articles, rate limit off."""
    env = {
        "ASSISTANT_DATA_DIR": str(data_dir),
        "ASSISTANT_ARTICLES_DIR": str(ROOT / "knowledge" / "articles"),
        "ASSISTANT_RATE_LIMIT": "off",
    }
    return {**env, **extra}


def child_env(settings: Settings) -> dict[str, str]:
    """The whole environment of a child process (API server, CLI) working on ``settings``'
    data dir, embedding backend and event loop: offline, no rate limit, the embedded store and
    the default extractive answerer."""
    env = offline_env(dict(os.environ))
    env.update(
        ASSISTANT_DATA_DIR=str(settings.data_dir),
        ASSISTANT_ARTICLES_DIR=",".join(str(p.resolve()) for p in settings.articles_dir),
        ASSISTANT_EMBEDDING_BACKEND=settings.embedding_backend,
        ASSISTANT_SERVER_LOOP=settings.server_loop,
        ASSISTANT_RATE_LIMIT="off",
        ASSISTANT_CHROMA_HOST="",
        ASSISTANT_DATABASE_URL="",
        ASSISTANT_LLM="",
    )
    return env


class UvicornServer:
    """``python -m uvicorn api.main:create_app --factory`` on 127.0.0.1, in a child process.

    With ``serve=True`` the child is ``help-assistant serve`` instead (the product's own uvicorn
    options; it refuses to start without an index), as the bench measures it; ``args`` then are
    its options (``--workers 2``).

    Settings come from ``env`` (``ASSISTANT_*``, over this process's environment); output goes
    to ``log``. :meth:`start` (or entering) waits until ``ready_path`` answers 200 and records
    ``cold_start_s``, the wall time from spawning the process; a server that exits or is not
    ready within ``ready_timeout`` is stopped and raises :class:`BenchError`. ``/healthz`` is
    the default because an empty index is never ready (``/readyz``); the bench and the soak
    wait for ``/readyz``.
    """

    def __init__(
        self,
        env: Mapping[str, str],
        log: Path,
        port: int = 0,
        ready_path: str = "/healthz",
        ready_timeout: float = READY_TIMEOUT_S,
        args: Sequence[str] = (),
        app: str = "api.main:create_app",
        serve: bool = False,
    ) -> None:
        self.env = offline_env({**os.environ, **env})
        self.args = list(args)  # more uvicorn options, e.g. ["--workers", "2"]
        self.app = app  # the app factory, module:function
        self.serve = serve  # `help-assistant serve`: the product's own uvicorn options
        self.log = log
        self.port = free_port(port)
        self.url = f"http://{HOST}:{self.port}"
        self.ready_path = ready_path
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.cold_start_s = 0.0

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def start(self) -> UvicornServer:
        """Spawn the server and wait until it is ready (a failure stops it and raises)."""
        if self.serve:
            command = [*SERVE_COMMAND, "--host", HOST, "--port", str(self.port), *self.args]
        else:
            command = [sys.executable, "-m", "uvicorn", self.app, "--factory",
                       "--host", HOST, "--port", str(self.port), "--log-level", "info",
                       "--timeout-graceful-shutdown", "5", *self.args]  # fmt: skip
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            started = time.perf_counter()
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise
        self.cold_start_s = round(time.perf_counter() - started, 3)
        return self

    def _wait_ready(self, started: float) -> None:
        assert self.process is not None
        with httpx.Client(base_url=self.url, timeout=5.0) as client:
            while time.perf_counter() - started < self.ready_timeout:
                code = self.process.poll()
                if code is not None:
                    raise BenchError(
                        f"the API server exited with code {code} before {self.ready_path} was "
                        f"200: {self._last_log_line()} (log: {self.log})"
                    )
                try:
                    if client.get(self.ready_path).status_code == 200:
                        return
                except httpx.TransportError:
                    pass  # not listening yet
                time.sleep(POLL_S)
        raise BenchError(
            f"{self.ready_path} was not 200 within {self.ready_timeout:.0f} s (log: {self.log})"
        )

    def _last_log_line(self) -> str:
        try:
            lines = self.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1] if lines else "no output"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup (as a crash or the OOM killer would)."""
        if self.alive():
            assert self.process is not None
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM (uvicorn's graceful shutdown, at most 5 s), then SIGKILL after 20 s."""
        if not self.alive():
            return
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> UvicornServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
