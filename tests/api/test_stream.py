"""POST /v1/answer/stream: the answer in delta events, then a done event with the whole Answer."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient


def read_events(client: TestClient, body: dict[str, Any]) -> list[tuple[str, str]]:
    """(event, data) pairs of an SSE response, parsed as a browser would."""
    with client.stream("POST", "/v1/answer/stream", json=body) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        text = response.read().decode().replace("\r\n", "\n")
    events = []
    for block in text.split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
        if data:
            events.append((name, "\n".join(data)))
    return events


def test_stream_sends_pieces_then_the_whole_answer(client: TestClient) -> None:
    events = read_events(client, {"question": "How do I do calf raises?"})

    names = [name for name, _ in events]
    assert names[-1] == "done" and names.count("done") == 1
    deltas = [json.loads(data)["text"] for name, data in events if name == "delta"]
    assert len(deltas) > 3  # really in pieces
    done = json.loads(events[-1][1])
    assert "".join(deltas) == done["answer"]
    assert done["outcome"] == "answered"
    assert done["citations"] and done["answer_id"].startswith("ans_")


def test_streamed_answer_is_stored_for_feedback(client: TestClient) -> None:
    events = read_events(client, {"question": "What is a minimalist shoe?"})
    answer_id = json.loads(events[-1][1])["answer_id"]

    response = client.post("/v1/feedback", json={"answer_id": answer_id, "helpful": True})
    assert response.status_code == 201


def test_errors_come_before_the_stream_as_json(client: TestClient) -> None:
    response = client.post("/v1/answer/stream", json={"question": ""})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/json"
    assert response.json()["message"].startswith("question:")
