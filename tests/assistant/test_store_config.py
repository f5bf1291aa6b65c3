"""Our Chroma collections are cosine HNSW indexes with the configured ``ef_search``."""

from __future__ import annotations

from pathlib import Path

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
