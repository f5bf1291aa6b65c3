"""The answer log stays bounded: retention at start-up, a capped content-gap report, and the
grouping's chunked embedding giving the same groups as embedding everything at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings
from sqlalchemy import update

import api.gaps
from api.gaps import group_gaps
from api.storage import AnswerRecord, GapQuestion, Storage
from tests.api.conftest import ADMIN, MakeClient
from tests.api.test_storage_backends import make_answer


def old_and_new(db: Path) -> None:
    storage = Storage(f"sqlite:///{db}")
    storage.create_schema()
    for answer_id in ("old", "new"):
        storage.record_answer(make_answer(answer_id), question="q", latency_ms=1, channel="answer")
    storage.add_feedback("old", helpful=False)
    with storage.engine.begin() as connection:
        connection.execute(
            update(AnswerRecord)
            .where(AnswerRecord.id == "old")
            .values(created_at=datetime.now(UTC) - timedelta(days=40))
        )
    storage.close()


@pytest.mark.parametrize(("days", "kept"), [(30, {"new"}), (0, {"old", "new"})])
def test_retention_prunes_at_start_up(
    make_client: MakeClient, tmp_path: Path, days: int, kept: set[str]
) -> None:
    db = tmp_path / "answers.sqlite"
    old_and_new(db)
    client = make_client(database_url=f"sqlite:///{db}", answer_retention_days=days)
    storage = client.app.state.storage  # type: ignore[attr-defined]
    assert {i for i in ("old", "new") if storage.get_answer(i)} == kept


def test_the_content_gap_report_is_capped(client: object) -> None:
    too_many = client.get("/v1/admin/unanswered", params={"limit": 5000}, headers=ADMIN)  # type: ignore[attr-defined]
    assert too_many.status_code == 422 and "2000" in too_many.text
    ok = client.get("/v1/admin/unanswered", params={"limit": 2000}, headers=ADMIN)  # type: ignore[attr-defined]
    assert ok.status_code == 200


def test_chunked_embedding_groups_as_one_call(
    embeddings: Embeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = datetime.now(UTC)
    texts = ["how do I cancel my plan", "cancel my subscription", "can I pause my plan",
             "do you ship to Canada", "shipping to canada?", "what size shoe", "refund please",
             "how do I get a refund"]  # fmt: skip
    questions = [GapQuestion(t, True, False, at) for t in texts]
    whole = group_gaps(questions, embeddings)
    monkeypatch.setattr(api.gaps, "EMBED_CHUNK", 3)
    chunked = group_gaps(questions, embeddings)
    assert [(g.representative, g.count) for g in chunked] == [
        (g.representative, g.count) for g in whole
    ]
    assert len(whole) < len(texts)  # paraphrases did group
