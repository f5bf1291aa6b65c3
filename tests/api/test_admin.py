"""Admin routes: API key handling, feedback list, content gaps, reindex."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN, ADMIN_KEY, MakeClient, ask

ADMIN_ROUTES = [("POST", "/v1/admin/reindex"), ("GET", "/v1/admin/feedback"),
                ("GET", "/v1/admin/unanswered")]  # fmt: skip


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_admin_routes_need_the_key(client: TestClient, method: str, path: str) -> None:
    missing = client.request(method, path)
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"

    for headers, status in [
        ({"X-API-Key": "wrong"}, 403),
        ({"Authorization": "Bearer wrong"}, 403),
        ({"Authorization": "Basic abc"}, 401),
    ]:
        assert client.request(method, path, headers=headers).status_code == status


def test_key_is_accepted_as_bearer_or_x_api_key(client: TestClient) -> None:
    assert client.get("/v1/admin/feedback", headers=ADMIN).status_code == 200
    assert client.get("/v1/admin/feedback", headers={"X-API-Key": ADMIN_KEY}).status_code == 200


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES)
def test_admin_routes_are_404_without_a_configured_key(
    make_client: MakeClient, method: str, path: str
) -> None:
    client = make_client(admin_api_key=None)

    assert client.request(method, path, headers=ADMIN).status_code == 404


def test_unanswered_groups_similar_questions(make_client: MakeClient) -> None:
    client = make_client()  # its own database: only these questions
    for question in [
        "How do I cancel my subscription?",
        "how do i cancel my subscription",
        "How can I cancel my subscription plan?",
        "Can I change the email address of my account?",
    ]:
        assert ask(client, question)["outcome"] == "no_answer"
    answered = ask(client, "How do I do calf raises?")
    client.post("/v1/feedback", json={"answer_id": answered["answer_id"], "helpful": False})
    liked = ask(client, "What are pogo hops?")
    client.post("/v1/feedback", json={"answer_id": liked["answer_id"], "helpful": True})

    report = client.get("/v1/admin/unanswered", headers=ADMIN).json()

    assert report["questions"] == 5  # four no_answer, one thumbs down; the liked one is not a gap
    groups = report["groups"]
    biggest = groups[0]
    assert biggest["count"] == 3 and biggest["no_answer"] == 3
    assert "cancel my subscription" in biggest["representative"].lower()
    assert len(biggest["examples"]) == 2  # the two spellings of the same question count once
    others = {g["representative"]: g for g in groups[1:]}
    assert others["How do I do calf raises?"]["thumbs_down"] == 1
    assert "Can I change the email address of my account?" in others
    assert sum(g["count"] for g in groups) == 5


def test_reindex_reports_counts(client: TestClient) -> None:
    response = client.post("/v1/admin/reindex", headers=ADMIN)

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["articles"] >= 30 and report["rejected"] == []
    # Nothing changed since the session's ingest: every chunk is skipped, none re-embedded.
    assert report["chunks_added"] == 0 and report["chunks_skipped"] == report["chunks"]
    assert report["kb_version"] == client.get("/readyz").json()["kb_version"]


def test_one_reindex_at_a_time_per_app(make_client: MakeClient) -> None:
    busy, other = make_client(), make_client()
    assert isinstance(busy.app, FastAPI)

    with busy.app.state.reindex_lock:  # as if a reindex of `busy` were running
        refused = busy.post("/v1/admin/reindex", headers=ADMIN)
        elsewhere = other.post("/v1/admin/reindex", headers=ADMIN)

    assert refused.status_code == 409
    assert refused.json()["detail"] == "a reindex is already running"
    assert elsewhere.status_code == 200, elsewhere.text  # another app's lock is its own
