"""When the answer log is down, answers still go out: counted as not stored, /readyz degraded."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from tests.api.conftest import MakeClient, ask
from tests.api.servers import free_port

QUESTION = "How do I do calf raises?"


def not_stored(metrics: str, reason: str) -> float:
    found = re.search(rf'help_assistant_answers_not_stored_total\{{reason="{reason}"\}} ([0-9.]+)',
                      metrics)  # fmt: skip
    return float(found.group(1)) if found else 0.0


def test_a_read_only_database_still_answers_and_reports_degraded(
    make_client: MakeClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "ro.sqlite"
    writable = make_client(database_url=f"sqlite:///{db}")
    assert writable.get("/readyz").json()["status"] == "ready"
    caplog.set_level(logging.INFO, logger="api")
    client = make_client(database_url=f"sqlite:///file:{db}?mode=ro&uri=true")
    [line] = [r.getMessage() for r in caplog.records if "read-only" in r.getMessage()]
    assert str(db) in line and "\n" not in line  # one line naming the file
    answer = ask(client, QUESTION)
    assert answer["outcome"] == "answered" and answer["citations"]
    assert not_stored(client.get("/metrics").text, "read_only") == 1
    ready = client.get("/readyz")
    assert ready.status_code == 200
    body = ready.json()
    assert body["status"] == "degraded" and body["answer_log"] == "unavailable"
    assert "read-only" in body["message"] and str(tmp_path) not in ready.text
    assert writable.get("/readyz").json()["status"] == "ready"


def test_an_unreachable_postgres_still_answers(make_client: MakeClient) -> None:
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/answers?connect_timeout=2"
    client = make_client(database_url=url)
    for channel_ask in (
        lambda: ask(client, QUESTION),
        lambda: client.post("/v1/chat/completions", json={
            "model": "help-assistant", "messages": [{"role": "user", "content": QUESTION}]}).json(),
    ):  # fmt: skip
        assert channel_ask()
    assert not_stored(client.get("/metrics").text, "unavailable") == 2
    body = client.get("/readyz").json()
    assert body["status"] == "degraded" and "cannot" in body["message"]


def test_a_working_log_is_ready_and_counts_nothing(make_client: MakeClient) -> None:
    client = make_client()
    ask(client, QUESTION)
    assert "answers_not_stored_total{" not in client.get("/metrics").text
    ready = client.get("/readyz").json()
    assert ready == {"status": "ready", "kb_version": ready["kb_version"]}  # shape unchanged
