"""The agent console's API through TestClient: login cookie, CSRF, expiry, disabled console,
search, suggested replies, review and exports."""

from __future__ import annotations

import csv
import io
import time

import pytest
from fastapi.testclient import TestClient

from api.agent_session import COOKIE, SESSION_SECONDS, issue, verify
from tests.api.agent_fixtures import console_client, login
from tests.api.conftest import ADMIN_KEY, MakeClient


@pytest.fixture
def console(make_client: MakeClient) -> TestClient:
    return console_client(make_client)


def test_console_is_off_without_an_admin_key(make_client: MakeClient) -> None:
    client = console_client(make_client, admin_api_key=None)
    assert client.get("/agent").status_code == 404
    assert client.post("/agent/api/login", json={"key": "x", "name": "Sam"}).status_code == 404
    assert client.get("/agent/api/session").status_code == 404
    assert client.get("/agent/api/review/gaps.csv").status_code == 404


def test_page_loads_its_script_and_style_from_static_without_inline_code(
    console: TestClient,
) -> None:
    page = console.get("/agent")
    assert page.status_code == 200
    html = page.text
    assert '<script src="/static/render.js" defer></script>' in html
    assert '<script src="/static/agent.js" defer></script>' in html
    assert "<style" not in html and " on" + "click=" not in html and "style=" not in html
    assert html.count("<script") == 2
    for asset in ("render.js", "agent.js", "base.css", "agent.css"):
        assert console.get(f"/static/{asset}").status_code == 200


def test_login_sets_an_httponly_strict_expiring_cookie(console: TestClient) -> None:
    assert console.post("/agent/api/login", json={"key": "wrong", "name": "Sam"}).status_code == 403
    response = console.post("/agent/api/login", json={"key": ADMIN_KEY, "name": "Sam"})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "max-age", "path"} <= flags
    assert "samesite=strict" in cookie.lower()
    assert f"Max-Age={SESSION_SECONDS}" in cookie
    assert "secure" not in flags  # plain http (a local console): a Secure cookie would be dropped
    assert console.get("/agent/api/session").json()["name"] == "Sam"


def test_cookie_is_secure_over_https(make_client: MakeClient) -> None:
    client = console_client(make_client)
    client.base_url = client.base_url.copy_with(scheme="https")
    response = client.post("/agent/api/login", json={"key": ADMIN_KEY, "name": "Sam"})
    assert "secure" in response.headers["set-cookie"].lower()


def test_reads_need_a_session(console: TestClient) -> None:
    assert console.get("/agent/api/session").status_code == 401
    assert console.get("/agent/api/corrections").status_code == 401
    assert console.get("/agent/api/review/briefs.md").status_code == 401


def test_writes_need_the_csrf_token_and_the_same_origin(console: TestClient) -> None:
    headers = login(console)
    body = {"message": "How many calf raises should I do?"}
    assert console.post("/agent/api/suggest", json=body).status_code == 403
    wrong = {"X-CSRF-Token": "x" + headers["X-CSRF-Token"][1:]}
    assert console.post("/agent/api/suggest", json=body, headers=wrong).status_code == 403
    foreign = {**headers, "Origin": "https://evil.example"}
    assert console.post("/agent/api/suggest", json=body, headers=foreign).status_code == 403
    own = {**headers, "Origin": "http://testserver"}
    assert console.post("/agent/api/suggest", json=body, headers=own).status_code == 200


def test_an_expired_or_forged_session_is_refused(console: TestClient) -> None:
    old = issue("Sam", key=ADMIN_KEY, now=time.time() - SESSION_SECONDS - 1)
    console.cookies.set(COOKIE, old, path="/agent")
    assert console.get("/agent/api/session").status_code == 401
    fresh = issue("Sam", key=ADMIN_KEY)
    assert verify(fresh, key=ADMIN_KEY) is not None
    assert verify(fresh, key=ADMIN_KEY + "-rotated") is None  # a new key ends every session
    payload, mac = fresh.split(".")
    assert verify(payload[:-2] + "xx." + mac, key=ADMIN_KEY) is None
    console.cookies.clear()
    console.cookies.set(COOKIE, issue("Sam", key="another-key-0123456789abcdef0123"), path="/agent")
    assert console.get("/agent/api/session").status_code == 401


def test_logout_ends_the_session(console: TestClient) -> None:
    headers = login(console)
    assert console.post("/agent/api/logout", headers=headers).status_code == 204
    assert console.get("/agent/api/session").status_code == 401


def test_search_with_collection_and_tag_filters(console: TestClient) -> None:
    headers = login(console)
    filters = console.get("/agent/api/filters").json()
    assert filters["collections"] and filters["tags"]
    hits = console.post("/agent/api/search", json={"query": "calf raises"}, headers=headers).json()
    top = hits[0]
    assert top["article_id"] == "calf-raises" and top["section"] and 0 < top["score"] <= 1
    assert top["url"] == "https://help.example.com/articles/calf-raises"
    other = next(c for c in filters["collections"] if c != top["collection"])
    body = {"query": "calf raises", "collection": other}
    filtered = console.post("/agent/api/search", json=body, headers=headers).json()
    assert filtered and all(h["collection"] == other for h in filtered)
    tag = top["tags"][0]
    body = {"query": "calf raises", "tags": [tag]}
    tagged = console.post("/agent/api/search", json=body, headers=headers).json()
    assert tagged and all(tag in h["tags"] for h in tagged)


def test_suggested_reply_is_the_answer_contract(console: TestClient) -> None:
    headers = login(console)
    body = {"message": "How many calf raises should I do?"}
    answer = console.post("/agent/api/suggest", json=body, headers=headers).json()
    assert answer["outcome"] == "answered" and answer["answer_id"].startswith("ans_")
    assert answer["citations"][0]["article_id"] == "calf-raises"


def _gap(client: TestClient, question: str, *, thumbs_down: bool = False) -> dict[str, object]:
    answer: dict[str, object] = client.post("/v1/answer", json={"question": question}).json()
    if thumbs_down:
        body = {"answer_id": answer["answer_id"], "helpful": False}
        assert client.post("/v1/feedback", json=body).status_code in (200, 201)
    return answer


def test_review_groups_gaps_with_answers_trend_and_exports(console: TestClient) -> None:
    login(console)
    off_topic = _gap(console, "What is the best pizza topping in Naples?")
    assert off_topic["outcome"] == "no_answer"
    _gap(console, "what's the best pizza topping in naples")
    down = _gap(console, "How many calf raises should I do?", thumbs_down=True)
    _gap(console, '=HYPERLINK("https://evil.example")')
    report = console.get("/agent/api/review").json()
    items = {i["answer_id"]: i for i in report["items"]}
    assert items[down["answer_id"]]["answer"] == down["answer"]  # the answer text given
    assert items[down["answer_id"]]["thumbs_down"] is True
    assert items[off_topic["answer_id"]]["answer"] == off_topic["answer"]
    pizza = next(g for g in report["groups"] if "pizza" in g["representative"].lower())
    assert pizza["count"] == 2 and pizza["no_answer"] == 2
    assert len(pizza["trend"]) == 30 and pizza["trend"][-1] == 2 and sum(pizza["trend"]) == 2
    calf = next(g for g in report["groups"] if "calf" in g["representative"].lower())
    assert calf["nearest_article"]["article_id"] == "calf-raises"

    gaps = console.get("/agent/api/review/gaps.csv")
    assert gaps.headers["content-type"].startswith("text/csv")
    assert "attachment" in gaps.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(gaps.text)))
    pizza_row = next(r for r in rows if "pizza" in r["gap"].lower())
    assert pizza_row["count"] == "2" and pizza_row["last_30_days"] == "2"
    assert all(not r["gap"].startswith("=") for r in rows)  # no formula a spreadsheet would run
    questions = list(
        csv.DictReader(io.StringIO(console.get("/agent/api/review/questions.csv").text))
    )
    assert any(r["answer_given"] == down["answer"] for r in questions)

    briefs = console.get("/agent/api/review/briefs.md").text
    assert "## " in briefs and "Example questions" in briefs
    assert "Nearest existing article: Calf raises (calf-raises)" in briefs


def test_wrong_keys_at_login_are_throttled_like_the_admin_routes(make_client: MakeClient) -> None:
    client = console_client(make_client, admin_failure_limit="3/minute")
    for _ in range(3):
        assert (
            client.post("/agent/api/login", json={"key": "guess", "name": "x"}).status_code == 403
        )
    right = client.post("/agent/api/login", json={"key": ADMIN_KEY, "name": "Sam"})
    assert right.status_code == 429 and int(right.headers["retry-after"]) > 0
