"""The hybrid retriever behind LangChain's retriever interface, for chains and agents.

Kept apart from :mod:`assistant.retrieval` so that serving never imports LangChain's runnable
machinery (see :meth:`~assistant.retrieval.HybridRetriever.as_langchain`). Example::

    docs = assistant.retriever.as_langchain().invoke("how do I do calf raises")
    docs[0].metadata["article_id"], docs[0].page_content
"""

from __future__ import annotations

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.retrieval import HybridRetriever


class LangChainRetriever(BaseRetriever):
    """``invoke(query)`` -> the hybrid retriever's passages as Documents (text as
    ``page_content``, the chunk id as ``id``, everything else in ``metadata``), with the
    hybrid retriever's ``k`` and ``filters``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hybrid: HybridRetriever

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [
            Document(page_content=p.text, id=p.chunk_id, metadata=p.model_dump(exclude={"text"}))
            for p in self.hybrid.search(query, k=self.hybrid.k, filters=self.hybrid.filters)
        ]
