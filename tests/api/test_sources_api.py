"""The reindex trap: after `ingest exports/`, /v1/articles serves those articles and
POST /v1/admin/reindex keeps them; an emptied source is refused with 409, nothing wiped."""

from __future__ import annotations

import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from langchain_core.embeddings import Embeddings

from api.main import create_app
from assistant.factory import build_assistant
from assistant.settings import Settings
from knowledge.ingest import run_ingest
from tests.api.conftest import ADMIN, ADMIN_KEY
from tests.conftest import ARTICLES

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "loaders" / "zendesk"


def test_reindex_and_articles_use_the_recorded_sources(
    tmp_path: Path, embeddings: Embeddings
) -> None:
    exports = tmp_path / "exports"
    shutil.copytree(FIXTURE, exports)
    settings = Settings(
        data_dir=tmp_path / "data", articles_dir=[ARTICLES], admin_api_key=ADMIN_KEY,
        rate_limit="off",
    )  # fmt: skip
    assert run_ingest(settings, embeddings, [exports]).ok  # help-assistant ingest exports/
    assistant = build_assistant(settings, embeddings=embeddings)
    with TestClient(create_app(settings, assistant=assistant)) as client:
        listed = client.get("/v1/articles").json()
        assert {a["article_id"] for a in listed["articles"]} == {"zendesk-360001",
                                                                "zendesk-360003"}  # fmt: skip
        assert client.get("/v1/articles/zendesk-360001").status_code == 200

        reindex = client.post("/v1/admin/reindex", headers=ADMIN)
        assert reindex.status_code == 200, reindex.text
        assert reindex.json()["articles_removed"] == []
        assert client.get("/v1/articles/zendesk-360001").status_code == 200

        for path in exports.iterdir():  # the volume comes up empty
            path.unlink()
        refused = client.post("/v1/admin/reindex", headers=ADMIN)
        assert refused.status_code == 409
        assert "holds no articles now" in refused.json()["detail"]
        assert "--allow-empty" in refused.json()["detail"]
        assert client.get("/v1/articles/zendesk-360001").status_code == 200
        answer = client.post("/v1/search", json={"query": "knee to wall drill"}).json()
        assert any(p["article_id"] == "zendesk-360001" for p in answer["passages"])
