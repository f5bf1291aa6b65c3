"""GET /v1/articles and /v1/articles/{id}: metadata and sanitized HTML."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from fastapi.testclient import TestClient

from tests.api.conftest import MakeClient

EVIL_ARTICLE = """---
id: evil-article
title: Innocent looking article
collection: Safety
url: https://help.example.com/articles/evil-article
updated: 2026-01-01
tags: [test]
summary: Tries to smuggle script into the page.
---

## Hello

<script>alert("raw html")</script>

<img src="x" onerror="alert('img')">

[click me](javascript:alert('link')) and [a real link](https://example.com/ok).

<a href="https://example.com" onclick="alert('a')">inline anchor</a>
"""


def test_list_articles(client: TestClient) -> None:
    body = client.get("/v1/articles").json()

    assert body["count"] == len(body["articles"]) >= 30
    first = body["articles"][0]
    assert {"article_id", "title", "collection", "url", "updated", "tags", "summary"} <= set(first)
    assert "html" not in first and "markdown" not in first


def test_list_articles_by_collection(client: TestClient) -> None:
    body = client.get("/v1/articles", params={"collection": "safety"}).json()

    assert body["count"] > 0
    assert {a["collection"] for a in body["articles"]} == {"Safety"}


def test_get_article_renders_markdown(client: TestClient) -> None:
    body = client.get("/v1/articles/quadripod-balance").json()

    assert body["title"] == "Balance on the quadripod"
    assert "<h2>What is the quadripod?</h2>" in body["html"]
    assert "<li>" in body["html"]


def test_unknown_and_invalid_ids(client: TestClient) -> None:
    assert client.get("/v1/articles/no-such-article").status_code == 404
    invalid = client.get("/v1/articles/Not_Valid!")
    assert invalid.status_code == 422
    assert invalid.json()["message"].startswith("article_id:")


def test_article_html_is_sanitized(make_client: MakeClient, tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "evil-article.md").write_text(EVIL_ARTICLE, encoding="utf-8")
    client = make_client(articles_dir=[articles])

    html = client.get("/v1/articles/evil-article").json()["html"]

    elements = Elements()
    elements.feed(html)
    tags = {tag for tag, _ in elements.found}
    attributes = {name: value for _, attrs in elements.found for name, value in attrs}
    assert tags.isdisjoint({"script", "img", "iframe"}), tags
    assert not [name for name in attributes if name.startswith("on")]
    hrefs = [value for tag, attrs in elements.found if tag == "a" for name, value in attrs
             if name == "href"]  # fmt: skip
    assert hrefs == ["https://example.com/ok"]
    assert "alert(&quot;raw html&quot;)" in html or 'alert("raw html")' in html  # shown as text


class Elements(HTMLParser):
    """Every start tag with its attributes, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))
