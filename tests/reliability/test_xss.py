"""XSS payloads in articles (Markdown with raw HTML, Intercom and Zendesk HTML bodies) and in
questions never reach /v1/articles, /v1/answer, the SSE stream or the other JSON routes as live
markup. (The chat page in a real browser: ``test_xss_browser.py``.)"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from tests.reliability.conftest import KnowledgeBase
from tests.reliability.payloads import DANGEROUS_SCHEMES, FORBIDDEN_TAGS, XSS_PAYLOADS

POISONED_IDS = ["poisoned-zebra-drill", "intercom-901", "zendesk-77"]
QUESTIONS = ["How do I do the zebra drill?", "How do I do the intercom marble pickup?",
             "How do I do the zendesk marble pickup?"]  # fmt: skip


class Elements(HTMLParser):
    """Every start tag with its attributes, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {k.lower(): (v or "") for k, v in attrs}))


def live_markup(html: str) -> list[str]:
    """What in ``html`` could run script or load something: tags, handlers, URLs, styles."""
    parser = Elements()
    parser.feed(html)
    problems = []
    for tag, attrs in parser.found:
        if tag in FORBIDDEN_TAGS:
            problems.append(f"<{tag}>")
        for name, value in attrs.items():
            squeezed = "".join(value.split()).lower()
            if name.startswith("on") or name in ("style", "srcdoc", "formaction"):
                problems.append(f"{tag}[{name}]")
            elif squeezed.startswith(DANGEROUS_SCHEMES):
                problems.append(f"{tag}[{name}={value[:40]}]")
    return problems


def assert_inert_json(response: Response) -> Any:
    """A JSON (or SSE) body with no raw '<' or '>' at all, served so no browser renders it."""
    assert response.headers["content-type"].startswith(("application/json", "text/event-stream"))
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert b"<" not in response.content and b">" not in response.content, response.text[:300]
    return response.json() if "json" in response.headers["content-type"] else response.text


def test_poisoned_articles_were_ingested(poisoned_kb: KnowledgeBase) -> None:
    """The corpus really reaches the index (else every test below would pass vacuously)."""
    ids = {p.article_id for q in QUESTIONS for p in poisoned_kb.assistant.search(q, k=3)}
    assert set(POISONED_IDS) <= ids


@pytest.mark.parametrize("article_id", POISONED_IDS)
def test_article_html_is_sanitized(poisoned_client: TestClient, article_id: str) -> None:
    body = assert_inert_json(poisoned_client.get(f"/v1/articles/{article_id}"))

    assert live_markup(body["html"]) == []
    assert "marble" in body["html"] or "zebra" in body["html"]  # the article itself survived
    for field in ("title", "summary", "url"):
        assert not str(body[field]).lower().startswith(DANGEROUS_SCHEMES)
    assert body["url"] == "" or body["url"].startswith("https://")


def test_article_list_is_inert(poisoned_client: TestClient) -> None:
    body = assert_inert_json(poisoned_client.get("/v1/articles"))
    urls = {a["article_id"]: a["url"] for a in body["articles"]}
    assert urls["poisoned-zebra-drill"] == "" and urls["zendesk-77"] == ""  # javascript: dropped


@pytest.mark.parametrize("question", QUESTIONS)
def test_answers_from_poisoned_articles_are_inert(
    poisoned_client: TestClient, question: str
) -> None:
    answer = assert_inert_json(poisoned_client.post("/v1/answer", json={"question": question}))

    assert answer["outcome"] == "answered", answer
    assert {c["article_id"] for c in answer["citations"]} & set(POISONED_IDS)
    for citation in answer["citations"]:
        assert not citation["url"].lower().startswith(DANGEROUS_SCHEMES)


def test_the_answer_carries_payload_text_only_as_escaped_data(poisoned_client: TestClient) -> None:
    """The Markdown article's raw HTML is text in the answer: '<' arrives as \\u003c."""
    response = poisoned_client.post("/v1/answer", json={"question": QUESTIONS[0]})
    answer = assert_inert_json(response)
    assert "<img src=x onerror=" in answer["answer"] or "<script>" in answer["answer"]
    assert b"\\u003c" in response.content


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payloads_in_questions_are_inert_everywhere(
    poisoned_client: TestClient, payload: str
) -> None:
    question = f"How do I do the zebra drill? {payload}"
    for path, body in [
        ("/v1/answer", {"question": question, "history": [{"role": "user", "content": payload}]}),
        ("/v1/search", {"query": question}),
        ("/v1/chat/completions", {"messages": [{"role": "user", "content": question}]}),
        ("/v1/answer", {"question": payload, "filters": {"collection": payload}}),
        ("/v1/answer", {"question": question, "history": [{"role": payload, "content": "x"}]}),
        ("/v1/feedback", {"answer_id": payload, "helpful": True}),
    ]:
        response = poisoned_client.post(path, json=body)
        assert response.status_code in (200, 422), (path, response.text)
        assert_inert_json(response)
    article = poisoned_client.get("/v1/articles", params={"collection": payload})
    assert_inert_json(article)


def test_sse_stream_is_inert(poisoned_client: TestClient) -> None:
    question = f"How do I do the zebra drill? {XSS_PAYLOADS[0]}"
    response = poisoned_client.post("/v1/answer/stream", json={"question": question})

    assert response.status_code == 200
    text = assert_inert_json(response)
    done = [line for line in text.splitlines() if line.startswith("data: {\"answer_id\"")]
    assert done, text[:300]
    final = json.loads(done[-1][len("data: "):])
    assert "<" in final["answer"]  # the payload is there as data, decoded by the client


def test_openai_stream_is_inert(poisoned_client: TestClient) -> None:
    body = {"messages": [{"role": "user", "content": QUESTIONS[0]}], "stream": True}
    response = poisoned_client.post("/v1/chat/completions", json=body)

    assert response.status_code == 200
    assert_inert_json(response)
