"""Every endpoint is versioned, documented, and documented with examples."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

ENDPOINTS = {
    ("post", "/v1/answer"), ("post", "/v1/answer/stream"), ("post", "/v1/search"),
    ("post", "/v1/feedback"), ("get", "/v1/articles"), ("get", "/v1/articles/{article_id}"),
    ("post", "/v1/chat/completions"), ("post", "/v1/admin/reindex"),
    ("get", "/v1/admin/feedback"), ("get", "/v1/admin/unanswered"), ("get", "/healthz"),
    ("get", "/readyz"), ("get", "/metrics"),
}  # fmt: skip


def _with_refs(node: Any, schema: dict[str, Any], seen: set[str] | None = None) -> str:
    """The JSON of ``node`` plus every component it refers to, recursively."""
    seen = seen if seen is not None else set()
    text = json.dumps(node)
    for ref in {part.split('"')[0] for part in text.split('"$ref": "')[1:]}:
        if ref in seen:
            continue
        seen.add(ref)
        name = ref.rsplit("/", 1)[-1]
        text += _with_refs(schema["components"]["schemas"][name], schema, seen)
    return text


def test_every_endpoint_is_documented_with_examples(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    operations = {(m, p): op for p, ops in schema["paths"].items() for m, op in ops.items()}

    assert ENDPOINTS <= operations.keys()
    for key, op in operations.items():
        request = op.get("requestBody")
        if request is not None:
            assert "example" in _with_refs(request, schema), f"{key}: request without example"
        success = {c: r for c, r in op["responses"].items() if c.startswith("2")}
        assert "example" in _with_refs(success, schema), f"{key}: response without example"


def test_admin_routes_declare_their_security(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()

    assert {"HTTPBearer", "APIKeyHeader"} <= schema["components"]["securitySchemes"].keys()
    assert schema["paths"]["/v1/admin/feedback"]["get"]["security"]
