"""Helpers for the agent console tests: a client of the app and a logged-in session."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.conftest import ADMIN_KEY, MakeClient


def console_client(make_client: MakeClient, **overrides: Any) -> TestClient:
    return make_client(**overrides)


def login(client: TestClient, name: str = "Sam") -> dict[str, str]:
    """Log in; the headers a write needs (the CSRF token)."""
    response = client.post("/agent/api/login", json={"key": ADMIN_KEY, "name": name})
    assert response.status_code == 200, response.text
    return {"X-CSRF-Token": response.json()["csrf_token"]}
