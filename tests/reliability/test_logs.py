"""No secret in the logs, and questions only in full with ASSISTANT_LOG_QUESTIONS: the app's
records (caplog) and a real uvicorn's output (access log included), with a known admin key."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from assistant.core import Assistant
from assistant.settings import Settings
from eval.bench.server import UvicornServer, server_env

KEY = "log-secret-admin-key-93e1f0c2-5d7a9b"
MARKER = "zyzzyva-question-marker"
QUESTIONS = [f"How do I do calf raises? {MARKER}", f"{MARKER} what about my subscription?",
             f"I felt a pop in my calf {MARKER}", f"my admin key is {KEY}, what are pogo hops?"]


def exercise(client: TestClient | httpx.Client) -> None:
    """Questions on every channel, admin calls with the right and wrong keys, some errors."""
    for question in QUESTIONS:
        answer = client.post("/v1/answer", json={"question": question})
        assert answer.status_code == 200, answer.text
        client.post("/v1/answer/stream", json={"question": question})
        client.post("/v1/search", json={"query": question})
        client.post("/v1/chat/completions", json={"messages": [
            {"role": "user", "content": question}]})  # fmt: skip
        client.post("/v1/feedback", json={"answer_id": answer.json()["answer_id"],
                                          "helpful": False, "comment": question})  # fmt: skip
    client.post("/v1/answer", json={"question": MARKER * 200})  # 422, too long
    client.post("/v1/answer", json={"question": MARKER, "history": [{"role": "x"}]})  # 422
    for headers in ({"Authorization": f"Bearer {KEY}"}, {"X-API-Key": KEY},
                    {"X-API-Key": KEY + "x"}, {"Authorization": f"Bearer {KEY[:-1]}"}):
        client.get("/v1/admin/feedback", headers=headers)
        client.get("/v1/admin/unanswered", headers=headers)


def settings_for(kb_settings: Settings, tmp_path: Path, **extra: object) -> Settings:
    return Settings(**{**kb_settings.model_dump(), "admin_api_key": KEY, "rate_limit": "off",
                       "database_url": f"sqlite:///{tmp_path / 'answers.sqlite'}", **extra})


def test_app_logs_hold_no_key_and_no_question(
    kb_settings: Settings, kb_assistant: Assistant, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.DEBUG)
    with TestClient(create_app(settings_for(kb_settings, tmp_path), assistant=kb_assistant)) as c:
        exercise(c)

    assert "chars> " in caplog.text or "chars>" in caplog.text  # the answers were logged...
    assert MARKER not in caplog.text  # ... without their questions
    assert KEY not in caplog.text and KEY[:-1] not in caplog.text


def test_questions_are_logged_only_when_asked_for(
    kb_settings: Settings, kb_assistant: Assistant, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    caplog.set_level(logging.INFO)
    settings = settings_for(kb_settings, tmp_path, log_questions=True)
    with TestClient(create_app(settings, assistant=kb_assistant)) as client:
        client.post("/v1/answer", json={"question": QUESTIONS[0]})
        client.get("/v1/admin/feedback", headers={"X-API-Key": KEY})

    assert MARKER in caplog.text
    assert KEY not in caplog.text


@pytest.mark.server
@pytest.mark.slow
def test_server_output_holds_no_key_and_no_question(kb_settings: Settings, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(kb_settings.data_dir, data)
    log = tmp_path / "server.log"
    env = server_env(data, ASSISTANT_ADMIN_API_KEY=KEY)

    with UvicornServer(env, log=log, ready_path="/readyz") as server:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            exercise(client)

    output = log.read_text(encoding="utf-8", errors="replace")
    assert "POST /v1/answer HTTP/1.1" in output and "/v1/admin/feedback" in output  # access log
    assert "chars>" in output  # the app's own answer log
    assert MARKER not in output
    assert KEY not in output and KEY[:-1] not in output
