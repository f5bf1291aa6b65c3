"""Security headers, CSP of the chat page, CORS allow-list, rate limiting."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from api.ratelimit import TokenBucketLimiter
from api.routes.pages import STATIC_DIR
from tests.api.conftest import ADMIN, MakeClient


def test_security_headers_on_api_responses(client: TestClient) -> None:
    for response in (client.get("/healthz"), client.get("/v1/articles/nope")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"]
        assert response.headers["content-security-policy"].startswith("default-src 'none'")


def test_chat_page_has_a_strict_csp_and_no_inline_script(client: TestClient) -> None:
    response = client.get("/")

    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    page = response.text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline <script> blocks"
    assert not re.search(r"\son[a-z]+\s*=", page), "inline event handlers"
    assert '<meta name="support-url" content="https://help.example.com/contact">' in page


def test_support_url_is_escaped_into_the_page(make_client: MakeClient) -> None:
    client = make_client(support_url='https://x.example/"><script>alert(1)</script>')

    page = client.get("/").text

    assert "<script>alert(1)" not in page
    assert "&quot;&gt;&lt;script&gt;" in page


@pytest.mark.parametrize("name", ["render.js", "chat.js", "agent.js"])
def test_page_scripts_never_write_html(name: str) -> None:
    script = (STATIC_DIR / name).read_text(encoding="utf-8")

    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script
    assert "textContent" in script


def test_static_assets_are_served(client: TestClient) -> None:
    for name in ("render.js", "chat.js", "agent.js"):
        js = client.get(f"/static/{name}")
        assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    for name in ("base.css", "chat.css", "agent.css"):
        css = client.get(f"/static/{name}")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


@pytest.mark.parametrize(("path", "own"), [("/", "chat"), ("/agent", "agent")])
def test_both_pages_load_the_shared_files_before_their_own(
    client: TestClient, path: str, own: str
) -> None:
    page = client.get(path).text

    assets = re.findall(r'(?:href|src)="/static/([^"]+)"', page)
    assert assets == ["base.css", f"{own}.css", "render.js", f"{own}.js"]
    assert page.count("<script") == 2 and page.count(" defer>") == 2  # run in document order


def test_cors_allows_only_listed_origins(make_client: MakeClient) -> None:
    client = make_client(cors_origins=["https://app.example.com"])
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}  # fmt: skip

    allowed = client.options(
        "/v1/answer", headers={"Origin": "https://app.example.com", **preflight}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"

    denied = client.options("/v1/answer", headers={"Origin": "https://evil.example", **preflight})
    assert "access-control-allow-origin" not in denied.headers

    plain = client.get("/v1/articles", headers={"Origin": "https://app.example.com"})
    assert plain.headers["access-control-allow-origin"] == "https://app.example.com"


def test_rate_limit_per_client(make_client: MakeClient) -> None:
    client = make_client(rate_limit="3/minute")

    statuses = [client.get("/v1/articles").status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    limited = client.get("/v1/articles/quadripod-balance")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60  # a moving window of one minute
    assert "try again" in limited.json()["message"]
    # Operations and admin routes are not limited.
    assert client.get("/healthz").status_code == 200
    assert client.get("/v1/admin/feedback", headers=ADMIN).status_code == 200


def test_rate_limit_off(make_client: MakeClient) -> None:
    client = make_client(rate_limit="off")

    assert {client.get("/v1/articles").status_code for _ in range(30)} == {200}


def test_token_bucket_refills_over_time() -> None:
    limiter = TokenBucketLimiter(2, 60.0)

    assert limiter.take("a", now=0.0) == 0.0
    assert limiter.take("a", now=0.0) == 0.0
    assert limiter.take("a", now=0.0) == 30.0  # one token every 30 s
    assert limiter.take("b", now=0.0) == 0.0  # another client has its own bucket
    assert limiter.take("a", now=30.0) == 0.0
    assert TokenBucketLimiter.parse("off") is None
