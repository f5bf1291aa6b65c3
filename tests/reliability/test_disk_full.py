"""A full disk is one line naming the data dir or the setting (issue 12 §7), on a real tmpfs that
fills up: ``help-assistant ingest`` prints one error line (no traceback), a reindex through the
API is a 507 with the same line while the previous index keeps serving, and the answer-store
message appears only when the answers database is the one on the full disk (answers still go
out). Skipped where a tmpfs cannot be mounted (not root, no CAP_SYS_ADMIN)."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from langchain_core.embeddings import Embeddings
from sqlalchemy import create_engine
from sqlalchemy import text as sql_text
from sqlalchemy.exc import OperationalError

from api.main import create_app
from api.storage import ANSWERS_DISK_FULL, describe_storage_error, error_kind
from assistant.chunks import UNITS_SUFFIX
from assistant.core import Assistant
from assistant.factory import build_assistant
from assistant.settings import Settings
from eval.bench.server import ROOT, child_env
from knowledge.diskfull import DiskFullError, is_disk_full
from knowledge.ingest import run_ingest
from tests.conftest import copy_articles
from tests.knowledge.test_ingest import store_ids
from tests.reliability.conftest import ADMIN, ADMIN_KEY

QUESTION = {"question": "How do I do calf raises?"}
#: Indexed first, while the disk has room.
FIRST = ["calf-raises", "quadripod-balance", "pogo-hops", "contact-support"]
#: Added for the reindex that runs out of disk.
MORE = ["box-jumps", "tiptoe-walks", "warm-up-before-running", "toe-coordination-toe-yoga",
        "plyometrics-for-runners", "training-progression"]  # fmt: skip


@contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted on ``where`` for the test, unmounted after it."""
    if shutil.which("mount") is None:
        pytest.skip("mount (util-linux) is not installed")
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        if subprocess.run(["umount", str(where)], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", str(where)], check=False)  # still in use: detach


def fill(disk: Path, leave: int = 0) -> Path:
    """Write a file until the disk is full (ENOSPC), then give back ``leave`` bytes."""
    filler = disk / "filler"
    block = b"\xa5" * 65536
    with filler.open("wb", buffering=0) as out:
        with pytest.raises(OSError) as caught:  # noqa: PT012 - the loop ends by raising
            while True:
                out.write(block)
        assert caught.value.errno == errno.ENOSPC
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler


def one_line_naming(message: str, data_dir: Path) -> None:
    assert "\n" not in message
    assert message.lower().startswith("the disk is full: "), message
    assert f"{data_dir} (ASSISTANT_DATA_DIR)" in message, message
    assert "Answers and feedback" not in message  # not the answer store's message


@pytest.mark.slow
def test_the_cli_ingest_on_a_full_disk_is_one_line_naming_the_data_dir(tmp_path: Path) -> None:
    """The data dir on a 1 MiB tmpfs: the ONNX export (into ``models/``) fills it."""
    with tmpfs(tmp_path / "disk", "1m") as disk:
        data = disk / "data"
        articles = copy_articles(tmp_path / "articles", FIRST)
        env = {**child_env(Settings(data_dir=data, articles_dir=[articles])),
               "ASSISTANT_EMBEDDING_BACKEND": "onnx"}  # fmt: skip
        run = subprocess.run([sys.executable, "-m", "cli.main", "ingest"], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=600, check=False)  # fmt: skip
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    [line] = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    one_line_naming(line.removeprefix("error: "), data)
    print(f"\ncli: {line}")


def test_run_ingest_on_a_full_disk_raises_one_line(tmp_path: Path, embeddings: Embeddings) -> None:
    """The embedded Chroma store (its SQLite, its vector files) fills a 1 MiB tmpfs; the first
    ingest has nothing published, and the store's own error is kept as the cause."""
    with tmpfs(tmp_path / "disk", "1m") as disk:
        settings = Settings(
            data_dir=disk / "data",
            articles_dir=[copy_articles(tmp_path / "articles", FIRST + MORE)],
        )
        with pytest.raises(DiskFullError) as caught:
            run_ingest(settings, embeddings)
    one_line_naming(str(caught.value), settings.data_dir)
    assert caught.value.errno == errno.ENOSPC
    print(f"\nrun_ingest: {caught.value} (cause: {type(caught.value.__cause__).__name__}: "
          f"{caught.value.__cause__})")  # fmt: skip


def test_a_reindex_that_fills_the_disk_is_a_507_and_the_previous_index_keeps_serving(
    tmp_path: Path, embeddings: Embeddings
) -> None:
    articles = copy_articles(tmp_path / "articles", FIRST)
    with tmpfs(tmp_path / "disk", "16m") as disk:
        settings = Settings(
            data_dir=disk / "data", articles_dir=[articles], admin_api_key=ADMIN_KEY,
            rate_limit="off", refresh_seconds=0.2,
            database_url=f"sqlite:///{tmp_path / 'answers.sqlite'}",  # on another disk
        )  # fmt: skip
        assert run_ingest(settings, embeddings).ok
        app = create_app(settings, assistant=build_assistant(settings, embeddings=embeddings))
        with TestClient(app) as client:
            before = client.post("/v1/answer", json=QUESTION).json()
            version = client.get("/readyz").json()["kb_version"]
            copy_articles(articles, MORE)
            filler = fill(disk, leave=128 * 1024)  # the reindex starts, then runs out

            failed = client.post("/v1/admin/reindex", headers=ADMIN)

            assert failed.status_code == 507, failed.text
            body = failed.json()
            assert body["detail"] == "disk full"
            assert body["message"].endswith(".")
            one_line_naming(body["message"].removesuffix("."), settings.data_dir)
            # The previous version keeps serving: the same answer, the same kb_version, and the
            # answer log (on another disk) is not reported as down.
            after = client.post("/v1/answer", json=QUESTION)
            assert after.status_code == 200
            assert after.json()["answer"] == before["answer"]
            ready = client.get("/readyz").json()
            assert ready == {"status": "ready", "kb_version": version}, ready

            filler.unlink()  # space again: the same reindex succeeds
            again = client.post("/v1/admin/reindex", headers=ADMIN)
            assert again.status_code == 200, again.text
            assert again.json()["rejected"] == []
            # ... and leaves exactly a clean ingest's index (content-hash ids converge).
            recovered = (store_ids(settings), store_ids(settings, UNITS_SUFFIX))
    clean = Settings(data_dir=tmp_path / "clean", articles_dir=[articles])
    reference = run_ingest(clean, embeddings)
    assert recovered == (store_ids(clean), store_ids(clean, UNITS_SUFFIX))
    assert again.json()["kb_version"] == reference.kb_version != version
    print(f"\nreindex: {failed.status_code} {body}")


def test_a_full_answer_log_disk_still_answers(
    kb_settings: Settings, kb_assistant: Assistant, tmp_path: Path
) -> None:
    """The answers database alone on a full tmpfs (the index elsewhere): answers go out,
    counted as not stored under ``disk_full``; feedback is a 503 with the answer-store line."""
    with tmpfs(tmp_path / "disk", "2m") as disk:
        db = disk / "answers.sqlite"
        settings = Settings(**{**kb_settings.model_dump(), "admin_api_key": ADMIN_KEY,
                               "rate_limit": "off", "database_url": f"sqlite:///{db}"})  # fmt: skip
        with TestClient(create_app(settings, assistant=kb_assistant)) as client:
            stored = client.post("/v1/answer", json=QUESTION).json()["answer_id"]
            assert client.get("/readyz").json()["status"] == "ready"
            with sqlite3.connect(db) as connection:  # the WAL emptied: new writes must grow it
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            fill(disk)

            answer = client.post("/v1/answer", json=QUESTION)
            feedback = client.post("/v1/feedback", json={"answer_id": stored, "helpful": True})
            metrics = client.get("/metrics").text
            ready = client.get("/readyz").json()

    assert answer.status_code == 200 and answer.json()["answer"]
    assert 'answers_not_stored_total{reason="disk_full"} 1.0' in metrics
    assert feedback.status_code == 503, feedback.text
    assert feedback.json()["message"] == ANSWERS_DISK_FULL
    assert str(disk) not in feedback.text  # the setting is named, never the path
    assert ready["status"] == "degraded" and ready["message"] == ANSWERS_DISK_FULL, ready
    print(f"\nanswer log: answer {answer.status_code}, feedback {feedback.status_code} "
          f"{feedback.json()['message']!r}, readyz {ready['status']}")  # fmt: skip


def test_an_answer_log_on_a_full_disk_at_start_up_serves_degraded(
    kb_settings: Settings, kb_assistant: Assistant, tmp_path: Path
) -> None:
    """The answers database cannot even be created: the app starts, answers, and /readyz says
    why in the answer-store line."""
    with tmpfs(tmp_path / "disk", "1m") as disk:
        fill(disk)
        url = f"sqlite:///{disk / 'answers.sqlite'}"
        settings = Settings(**{**kb_settings.model_dump(), "rate_limit": "off",
                               "database_url": url})  # fmt: skip
        with TestClient(create_app(settings, assistant=kb_assistant)) as client:
            answer = client.post("/v1/answer", json=QUESTION)
            ready = client.get("/readyz").json()
    assert answer.status_code == 200 and answer.json()["answer"]
    assert ready["status"] == "degraded" and ready["message"] == ANSWERS_DISK_FULL, ready


def test_sqlite_full_is_read_from_the_error_code(tmp_path: Path) -> None:
    """A real SQLITE_FULL (a SQLite file on a full tmpfs) is recognised by its code; other
    errors that mention a disk are not."""
    with tmpfs(tmp_path / "disk", "1m") as disk:
        engine = create_engine(f"sqlite:///{disk / 'full.sqlite'}")
        try:
            with engine.begin() as connection:
                connection.execute(sql_text("CREATE TABLE t (x TEXT)"))
            fill(disk)
            with pytest.raises(OperationalError) as caught, engine.begin() as connection:
                connection.execute(sql_text("INSERT INTO t VALUES (:x)"), {"x": "y" * 200_000})
        finally:
            engine.dispose()
    assert is_disk_full(caught.value)
    assert error_kind(caught.value) == "disk_full"
    assert describe_storage_error(caught.value).message == ANSWERS_DISK_FULL
    other = sqlite3.OperationalError("no such table: disk_full_report")
    assert not is_disk_full(other) and error_kind(other) != "disk_full"


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.parametrize("backend", ["torch", "onnx"])
def test_serve_on_a_full_disk_is_one_line_naming_the_data_dir(
    tmp_path: Path, embeddings: Embeddings, caplog: pytest.LogCaptureFixture, backend: str
) -> None:
    """An index built, then the disk filled: Chroma cannot open its SQLite (torch), or the
    ONNX export has no room in ``models/`` (onnx, nothing exported yet)."""
    with tmpfs(tmp_path / "disk", "8m") as disk:
        settings = Settings(
            data_dir=disk / "data",
            rate_limit="off",
            embedding_backend=backend,
            articles_dir=[copy_articles(tmp_path / "articles", FIRST)],
        )
        assert run_ingest(settings, embeddings).ok
        fill(disk)
        config = uvicorn.Config(create_app(settings), port=0, log_config=None, lifespan="on")
        with caplog.at_level(logging.INFO), pytest.raises(SystemExit):
            uvicorn.Server(config).run()
        assert not list(settings.data_dir.rglob("*.tmp"))  # a failed export leaves no file
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert "Traceback" not in caplog.text
    [line] = [m for m in errors if m.startswith("cannot start: ")]
    one_line_naming(line.removeprefix("cannot start: "), settings.data_dir)
