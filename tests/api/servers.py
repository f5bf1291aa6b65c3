"""Real database servers for the tests: a throwaway PostgreSQL cluster and a Redis server.

Each runs on a free loopback port from a temporary folder and is stopped and removed at the end.
``make test`` installs Debian's ``postgresql`` and ``redis-server`` (the Makefile's ``postgres``
and ``redis`` targets); where one is missing its tests are skipped with the reason. PostgreSQL
refuses to run as root, so as root the cluster belongs to the ``postgres`` user (``runuser``).

Example::

    with PostgresServer.start() as server:
        url = server.create_database("answers")  # postgresql+psycopg://postgres@127.0.0.1:P/answers
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class ServerMissing(RuntimeError):
    """The server's binaries are not installed (the message says which and how to get them)."""


class PostgresServer:
    """A PostgreSQL cluster in a temporary folder, trust auth on 127.0.0.1 only."""

    def __init__(self, root: Path, port: int, as_user: list[str]) -> None:
        self.root = root
        self.port = port
        self.as_user = as_user
        self._databases = 0

    @classmethod
    @contextmanager
    def start(cls) -> Iterator[PostgresServer]:
        initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise ServerMissing(
                "PostgreSQL is not installed (make postgres: apt-get install postgresql)"
            )
        root = Path(tempfile.mkdtemp(prefix="pg-test-"))
        as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
            as_user = ["runuser", "-u", "postgres", "--"]
        server = cls(root, free_port(), as_user)
        data, log = root / "data", root / "server.log"

        def run(*args: str) -> None:
            subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

        try:
            run(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
            options = (
                f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off"
            )
            run(pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60", "start")
            try:
                yield server
            finally:
                subprocess.run(
                    [*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                    capture_output=True, timeout=60, check=False,
                )  # fmt: skip
        finally:
            shutil.rmtree(root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, prefix: str = "test") -> str:
        """A new empty database; its SQLAlchemy URL."""
        import psycopg

        self._databases += 1
        name = f"{prefix}_{self._databases}"
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


class RedisServer:
    """``redis-server`` on a free loopback port, nothing persisted."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"

    @classmethod
    @contextmanager
    def start(cls) -> Iterator[RedisServer]:
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServerMissing(
                "redis-server is not installed (make redis: apt-get install redis-server)"
            )
        server = cls(free_port())
        process = subprocess.Popen(
            [binary, "--port", str(server.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--protected-mode", "yes"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    with socket.create_connection(("127.0.0.1", server.port), timeout=1) as sock:
                        sock.sendall(b"PING\r\n")
                        if sock.recv(16).startswith(b"+PONG"):
                            break
                except OSError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("redis-server did not start")
                time.sleep(0.05)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
