"""Article ids, static paths and query parameters cannot reach outside the knowledge base, and
reindex takes no path from a client. Raw request targets go through a real uvicorn (http.client
sends them byte for byte; httpx would normalise the dot segments away)."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tests.api.conftest import LiveServer
from tests.reliability.conftest import ADMIN, KnowledgeBase
from tests.reliability.payloads import PATH_TRAVERSALS

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parents[2]
#: Text that only a file outside the served folders would contain.
LEAKS = ("root:x:0:0", "[build-system]", "def create_app", "BEGIN RSA", "import ")
STATIC_TRAVERSALS = [
    "../main.py", "..%2fmain.py", "%2e%2e/main.py", "%2e%2e%2f%2e%2e%2fpyproject.toml",
    "..%5c..%5cpyproject.toml", "../../pyproject.toml", "/etc/passwd", "%2fetc%2fpasswd",
    "chat.js%00.png", "chat.js%00", "%00", "..%00/pyproject.toml", "....//....//pyproject.toml",
    "..;/..;/pyproject.toml", "%252e%252e/pyproject.toml", "%c0%ae%c0%ae/pyproject.toml",
]  # fmt: skip


@pytest.fixture(scope="module")
def server(poisoned_kb: KnowledgeBase) -> Iterator[LiveServer]:
    with LiveServer(create_app(poisoned_kb.settings, assistant=poisoned_kb.assistant)) as live:
        yield live


def raw_get(server: LiveServer, target: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.putrequest("GET", target, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


@pytest.mark.parametrize("attempt", PATH_TRAVERSALS)
def test_article_ids_cannot_traverse(server: LiveServer, attempt: str) -> None:
    for target in (f"/v1/articles/{attempt}", f"/v1/articles?collection={attempt}"):
        status, body = raw_get(server, target)
        assert status < 500, (target, status, body[:200])
        assert not any(leak in body for leak in LEAKS), (target, body[:200])
        if "?" not in target:
            assert status in (400, 404, 422), (target, status)


@pytest.mark.parametrize("attempt", STATIC_TRAVERSALS)
def test_static_files_cannot_traverse(server: LiveServer, attempt: str) -> None:
    for target in (f"/static/{attempt}", f"/{attempt}", f"/static/x/{attempt}"):
        status, body = raw_get(server, target)
        assert status in (400, 404, 405), (target, status, body[:200])
        assert not any(leak in body for leak in LEAKS), (target, body[:200])


def test_static_files_still_served(server: LiveServer) -> None:
    status, body = raw_get(server, "/static/chat.js")
    assert status == 200 and "textContent" in body


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("?paths=/etc", None),
        ("?articles_dir=/", None),
        ("", {"paths": ["/etc"]}),
        ("", {"articles_dir": str(ROOT)}),
        ("", ["/etc/passwd"]),
    ],
)
def test_reindex_takes_no_path_from_clients(
    poisoned_client: TestClient, poisoned_kb: KnowledgeBase, query: str, body: object
) -> None:
    before = poisoned_client.get("/v1/articles").json()["count"]

    response = poisoned_client.post(f"/v1/admin/reindex{query}", json=body, headers=ADMIN)

    assert response.status_code == 422, response.text
    assert "ASSISTANT_ARTICLES_DIR" in response.json()["message"]
    assert poisoned_client.get("/v1/articles").json()["count"] == before
    sources = {p.article_id for p in poisoned_kb.assistant.search("passwd root", k=20)}
    assert sources <= {a["article_id"] for a in poisoned_client.get("/v1/articles").json()[
        "articles"]}  # fmt: skip
