"""/v1/answer encodes its answer once (api/routes/answer.py): pydantic's JSON, HTML-escaped,
which the HTML-safe middleware then leaves alone; with ASSISTANT_SERVER_TIMING it says where
the request's milliseconds went."""

from __future__ import annotations

import json

from api.middleware import html_safe
from assistant.types import Answer
from tests.api.conftest import MakeClient
from tests.api.test_storage_backends import make_answer


def test_the_escaped_body_decodes_to_the_same_answer() -> None:
    answer = make_answer("a1", text='Use <script>alert("x")</script> & "tape" [1].')
    body = html_safe(answer.model_dump_json().encode())
    assert not any(c in body for c in (b"<", b">", b"&"))
    assert Answer.model_validate(json.loads(body)) == answer


def test_answers_are_escaped_once_and_timed_on_request(make_client: MakeClient) -> None:
    question = "How do I do calf raises & box jumps <safely>?"
    plain = make_client()
    response = plain.post("/v1/answer", json={"question": question})
    assert response.status_code == 200 and "server-timing" not in response.headers
    assert not any(c in response.content for c in (b"<", b">", b"&"))
    assert b"\\\\u003c" not in response.content  # never escaped twice
    assert Answer.model_validate(response.json()).answer
    assert int(response.headers["content-length"]) == len(response.content)

    timed = make_client(server_timing=True)
    response = timed.post("/v1/answer", json={"question": question})
    stages = dict(
        part.strip().split(";dur=") for part in response.headers["server-timing"].split(",")
    )
    assert {"parse", "queue", "corrections", "embed", "retrieve", "store", "json", "app"} <= set(
        stages
    )
    assert all(float(ms) >= 0 for ms in stages.values())
