"""LangChain's Chroma vector store as ingest uses it (the indexing API writes through it).

Imported only where a vector store is made (:func:`assistant.store.make_vectorstore`): its
import pulls in LangChain's runnables, tracers and langsmith, which serving does not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_chroma import Chroma

from assistant.store import StoreUnavailableError, apply_ef_search, resolve_collection

if TYPE_CHECKING:
    from chromadb.api.models.Collection import Collection


class ResilientChroma(Chroma):
    """LangChain's Chroma, except that the collection is fetched again whenever it is needed and
    missing (the server was down when the store was made), and that with a server address every
    collection call that cannot reach the server raises :class:`StoreUnavailableError`."""

    def __init__(self, *, address: str | None = None, **kwargs: Any) -> None:
        self._address = address
        try:
            super().__init__(**kwargs)
            if self._chroma_collection is not None:  # an existing one keeps its stored ef_search
                apply_ef_search(self._chroma_collection, self._collection_configuration)
        except StoreUnavailableError:
            # Chroma.__init__ stopped at fetching the collection; finish what it skipped.
            self._chroma_collection = None
            self.override_relevance_score_fn = kwargs.get("relevance_score_fn")

    @property
    def _collection(self) -> Collection:
        return resolve_collection(self)
