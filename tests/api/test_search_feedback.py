"""POST /v1/search and POST /v1/feedback; feedback survives a restart."""

from __future__ import annotations

from fastapi.testclient import TestClient

from assistant.settings import Settings
from tests.api.conftest import ADMIN, MakeClient, ask


def test_search_ranks_passages(client: TestClient) -> None:
    response = client.post("/v1/search", json={"query": "toe yoga", "k": 3})

    assert response.status_code == 200
    body = response.json()
    passages = body["passages"]
    assert [p["rank"] for p in passages] == [1, 2, 3]
    assert passages[0]["article_id"] == "toe-coordination-toe-yoga"
    scores = [p["score"] for p in passages]
    assert scores == sorted(scores, reverse=True)
    assert body["kb_version"]


def test_search_filters_by_collection(client: TestClient) -> None:
    body = {"query": "stretch", "k": 10, "filters": {"collection": "Mobility"}}
    passages = client.post("/v1/search", json=body).json()["passages"]

    assert passages and {p["collection"] for p in passages} == {"Mobility"}


def test_feedback_is_stored(client: TestClient) -> None:
    answer = ask(client, "How do I warm up before running?")

    response = client.post(
        "/v1/feedback",
        json={"answer_id": answer["answer_id"], "helpful": False, "comment": "Too long."},
    )

    assert response.status_code == 201
    stored = response.json()
    assert stored["answer_id"] == answer["answer_id"] and stored["helpful"] is False
    listed = client.get("/v1/admin/feedback", headers=ADMIN, params={"helpful": False}).json()
    mine = [f for f in listed if f["answer_id"] == answer["answer_id"]]
    assert mine and mine[0]["comment"] == "Too long."
    assert mine[0]["question"] == "How do I warm up before running?"


def test_feedback_for_an_unknown_answer_is_404(client: TestClient) -> None:
    response = client.post("/v1/feedback", json={"answer_id": "ans_unknown", "helpful": True})

    assert response.status_code == 404
    assert "ans_unknown" in response.json()["detail"]


def test_feedback_survives_a_restart(make_client: MakeClient, api_settings: Settings) -> None:
    # Both apps use the default answers database of the same data_dir.
    first = make_client(database_url=None)
    answer = ask(first, "What is toe splay?")
    first.post("/v1/feedback", json={"answer_id": answer["answer_id"], "helpful": True})
    first.__exit__(None, None, None)  # shut the first app down (lifespan exit)

    second = make_client(database_url=None)
    feedback = second.get("/v1/admin/feedback", headers=ADMIN, params={"limit": 500}).json()

    assert api_settings.answers_db_url.endswith("answers.sqlite")
    assert any(f["answer_id"] == answer["answer_id"] and f["helpful"] for f in feedback)
