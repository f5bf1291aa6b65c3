"""Our Chroma collections are cosine HNSW indexes with the configured ``ef_search``."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from assistant.settings import Settings
from assistant.store import make_chroma_client, make_collection_store, make_vectorstore


def _hnsw(settings: Settings) -> dict[str, object]:
    collection = make_chroma_client(settings).get_collection(settings.collection)
    return dict((collection.configuration or {})["hnsw"] or {})


def test_a_new_collection_is_cosine_with_the_configured_ef_search(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, hnsw_ef_search=321)
    make_collection_store(settings)
    hnsw = _hnsw(settings)
    # Chroma drops the legacy "hnsw:space" metadata once a configuration is given: an index
    # built with L2 would break every similarity the retriever computes from distances
    assert hnsw["space"] == "cosine"
    assert hnsw["ef_search"] == 321


def test_opening_an_existing_collection_applies_a_changed_ef_search(tmp_path: Path) -> None:
    make_collection_store(Settings(data_dir=tmp_path, hnsw_ef_search=100))
    make_collection_store(Settings(data_dir=tmp_path, hnsw_ef_search=400))
    assert _hnsw(Settings(data_dir=tmp_path))["ef_search"] == 400

    # ingest's LangChain vector store does the same, and keeps the stored records
    settings = Settings(data_dir=tmp_path, hnsw_ef_search=150)
    store = make_vectorstore(settings, DeterministicFakeEmbedding(size=16))
    store.add_texts(["calf raises"], ids=["a"])
    hnsw = _hnsw(settings)
    assert (hnsw["ef_search"], hnsw["space"]) == (150, "cosine")
    make_collection_store(Settings(data_dir=tmp_path, hnsw_ef_search=150))
    assert make_chroma_client(settings).get_collection(settings.collection).count() == 1


@pytest.mark.parametrize("failures", [1, 3])
def test_a_locked_database_still_opens_the_collection(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
    failures: int,
) -> None:  # fmt: skip
    from chromadb.api.models.Collection import Collection
    from chromadb.errors import InternalError

    settings = Settings(data_dir=tmp_path, hnsw_ef_search=100)
    make_collection_store(settings)
    # the update meets SQLite's lock (an ingest writing) ``failures`` times, as Chroma reports it
    real_modify, calls = Collection.modify, []

    def locked(self: Collection, **kwargs: object) -> None:
        calls.append(kwargs)
        if len(calls) <= failures:
            raise InternalError("Database error: (code: 5) database is locked")
        real_modify(self, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Collection, "modify", locked)
    with caplog.at_level(logging.WARNING, logger="assistant.store"):
        store = make_collection_store(settings.model_copy(update={"hnsw_ef_search": 300}))
    assert store._collection.name == settings.collection  # opened all the same
    if failures < 3:  # retried: applied
        assert _hnsw(settings)["ef_search"] == 300 and not caplog.text
    else:  # given up: the old value stays until the collection is next opened
        assert len(calls) == 3 and _hnsw(settings)["ef_search"] == 100
        assert "keeps HNSW ef_search 100" in caplog.text and "300 is applied" in caplog.text
