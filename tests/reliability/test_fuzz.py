"""Schemathesis fuzzes every operation of the OpenAPI schema, admin routes included: no 5xx, and
every response conforms to the schema (status code, content type, headers, body).

The longer run is ``python -m eval.fuzz --examples 200`` (figures in RELIABILITY.md).
"""

from __future__ import annotations

from pathlib import Path

from api.main import create_app
from assistant.core import Assistant
from assistant.settings import Settings
from eval.fuzz import fuzz_app
from tests.reliability.conftest import ADMIN, ADMIN_KEY

#: Per operation and mode (positive, negative): enough to hit every documented status quickly.
EXAMPLES = 6


def test_fuzz_every_operation(
    kb_settings: Settings, kb_assistant: Assistant, tmp_path: Path
) -> None:
    settings = Settings(**{
        **kb_settings.model_dump(), "admin_api_key": ADMIN_KEY, "rate_limit": "off",
        "database_url": f"sqlite:///{tmp_path / 'answers.sqlite'}",
    })  # fmt: skip
    app = create_app(settings, assistant=kb_assistant)

    report = fuzz_app(app, examples=EXAMPLES, headers=ADMIN, seed=0)

    operations = {o.operation for o in report.operations}
    assert len(operations) >= 13 and "POST /v1/admin/reindex" in operations
    assert report.requests >= len(operations) * 2
    assert report.server_errors == 0
    assert report.failures == []
    assert any(s.startswith("2") for o in report.operations for s in o.statuses)
