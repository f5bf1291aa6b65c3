"""A running assistant never answers from an article that was edited or deleted."""

from __future__ import annotations

from pathlib import Path

from langchain_core.embeddings import Embeddings

from assistant.factory import build_assistant
from assistant.settings import Settings
from knowledge.ingest import run_ingest
from tests.conftest import copy_articles


def test_edits_and_deletions_reach_bm25_and_answers(tmp_path: Path, embeddings: Embeddings) -> None:
    articles = copy_articles(tmp_path / "articles", ["calf-raises", "box-jumps", "pogo-hops"])
    settings = Settings(data_dir=tmp_path / "data", articles_dir=[articles], refresh_seconds=0)
    run_ingest(settings, embeddings)
    assistant = build_assistant(settings, embeddings=embeddings)
    assert any(p.article_id == "box-jumps" for p in assistant.search("box jumps height", k=3))
    old = assistant.answer("how many calf raises should I do?")
    assert "10 to 15" in old.answer

    path = articles / "calf-raises.md"
    path.write_text(
        path.read_text().replace("2 to 3 sets of 10 to 15 slow", "2 to 3 sets of 12 to 20 slow"),
        encoding="utf-8",
    )
    (articles / "box-jumps.md").unlink()
    run_ingest(settings, embeddings)

    new = assistant.answer("how many calf raises should I do?")
    assert "12 to 20" in new.answer and "10 to 15 slow" not in new.answer
    assert all(p.article_id != "box-jumps" for p in assistant.search("box jumps height", k=10))
    sparse = assistant.retriever
    sparse.fusion = "bm25"  # the setter takes a fusion name
    try:
        assert all(p.article_id != "box-jumps" for p in sparse.search("box jumps", k=10))
    finally:
        sparse.fusion = settings.fusion
