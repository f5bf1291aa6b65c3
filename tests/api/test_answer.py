"""POST /v1/answer keeps the contract (CONTRACT.md) and stores every answer."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import MakeClient, ask

CONTRACT_KEYS = {"answer_id", "outcome", "answer", "citations", "confidence", "handoff",
                 "timings_ms"}  # fmt: skip


def test_answered_question_is_grounded_and_cited(client: TestClient) -> None:
    result = ask(client, "How do I make single-leg balance harder?")

    assert CONTRACT_KEYS <= result.keys()
    assert result["outcome"] == "answered"
    assert result["answer_id"].startswith("ans_")
    assert 0.0 <= result["confidence"] <= 1.0
    assert result["handoff"] == {"offered": False, "reason": None}
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", result["answer"])}
    numbers = {c["n"] for c in result["citations"]}
    assert markers and markers <= numbers
    assert "quadripod-balance" in {c["article_id"] for c in result["citations"]}
    assert all(c["url"].startswith("https://") for c in result["citations"])


def test_follow_up_uses_the_history(client: TestClient) -> None:
    first = ask(client, "What are pogo hops?")
    history = [
        {"role": "user", "content": "What are pogo hops?"},
        {"role": "assistant", "content": first["answer"]},
    ]
    follow_up = ask(client, "How do I make them harder?", history=history)

    assert follow_up["outcome"] == "answered"
    assert "pogo-hops" in {c["article_id"] for c in follow_up["citations"]}


def test_billing_question_gets_no_answer_and_a_human(client: TestClient) -> None:
    result = ask(client, "How do I get a refund for my subscription?")

    assert result["outcome"] == "no_answer"
    assert result["citations"] == []
    assert result["handoff"]["offered"] is True


def test_red_flag_is_referred_to_a_professional(client: TestClient) -> None:
    result = ask(client, "I felt a pop in my heel and now it is swollen and I can't walk, "
                         "should I keep running barefoot?")  # fmt: skip

    assert result["outcome"] == "refer_to_professional"
    assert result["handoff"]["offered"] is True


def test_filters_restrict_the_sources(client: TestClient) -> None:
    result = ask(
        client, "How should I warm up?", filters={"collection": "Warm-up and cool-down"}
    )

    assert result["citations"]
    article_ids = {c["article_id"] for c in result["citations"]}
    catalog = client.get("/v1/articles", params={"collection": "Warm-up and cool-down"}).json()
    assert article_ids <= {a["article_id"] for a in catalog["articles"]}


def test_every_answer_is_stored(client: TestClient, app: FastAPI) -> None:
    result = ask(client, "How often should I do calf raises?")

    stored = app.state.storage.get_answer(result["answer_id"])
    assert stored is not None
    assert stored.question == "How often should I do calf raises?"
    assert stored.outcome == result["outcome"]
    assert [c["n"] for c in stored.citations] == [c["n"] for c in result["citations"]]
    assert stored.latency_ms > 0 and stored.created_at is not None


def test_questions_are_logged_in_full_only_when_enabled(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    question = "How do I do the figure four hip stretch on a chair?"
    caplog.set_level(logging.INFO, logger="api.answers")

    ask(make_client(log_questions=False), question)
    assert question not in caplog.text
    assert f"question=<{len(question)} chars>" in caplog.text

    caplog.clear()
    ask(make_client(log_questions=True), question)
    assert question in caplog.text
