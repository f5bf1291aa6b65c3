"""Vector store factory: embedded Chroma by default, a Chroma server when a host is set."""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from assistant.settings import Settings

if TYPE_CHECKING:
    from chromadb.api import ClientAPI


def make_chroma_client(settings: Settings) -> ClientAPI:
    """A Chroma client with telemetry off: persistent on disk, or HTTP to ``chroma run``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        return chromadb.HttpClient(
            host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings
        )
    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)


def make_vectorstore(
    settings: Settings,
    embeddings: Embeddings,
    client: ClientAPI | None = None,
    collection: str | None = None,
) -> Chroma:
    """The LangChain Chroma store over our collection, always with our own embeddings.

    Chroma's default embedding function would download a model, so ``embeddings`` is required.
    Example::

        store = make_vectorstore(settings, make_embeddings(settings))
        store.similarity_search("calf raises", k=3)
    """
    return Chroma(
        collection_name=collection or settings.collection,
        embedding_function=embeddings,
        client=client or make_chroma_client(settings),
        collection_metadata={"hnsw:space": "cosine"},
        # Cosine distance d in [0, 2] -> similarity 1 - d; we clip to [0, 1] where we use it.
        relevance_score_fn=lambda distance: 1.0 - distance,
    )
