"""Hybrid retrieval: dense search in Chroma plus BM25 (bm25s) over the same chunks, fused.

The BM25 index and the in-memory view of the chunks are rebuilt whenever ingest publishes a new
knowledge-base version (a ``kb_version`` in the Chroma collection's metadata), checked at most
every ``refresh_seconds``, so results never come from articles that were edited or deleted.

With a Chroma server, every call that cannot reach it raises
:class:`~assistant.store.StoreUnavailableError` (the store's guard translates httpx and chromadb
connection errors); a failed version check is not remembered, so the next request tries again
and the retriever recovers by itself when the server is back.

Example::

    retriever = HybridRetriever(store, embeddings, settings)
    passages = retriever.search("how do I do calf raises", k=5)
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import bm25s
import numpy as np
from langchain_chroma import Chroma
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, PrivateAttr

from assistant.chunks import body_of, tag_key
from assistant.confidence import Vocabulary
from assistant.dense import MAX_IN_MEMORY, MatrixIndex
from assistant.fusion import Fusion, make_fusion
from assistant.settings import Settings
from assistant.store import collection_metadata, get_records, query_distances
from assistant.types import Filters, Passage

#: BM25 scores are unbounded; s / (s + BM25_HALF) maps them to [0, 1) on the same scale for
#: every question (a per-question max-normalisation would give an off-topic question's best
#: accidental match the score 1.0). 6.0 is about the median top BM25 score of answerable
#: questions in eval/datasets/dev.jsonl.
BM25_HALF = 6.0
#: Candidates taken from each side before fusion: at least 4 per passage returned and never
#: fewer than 20, so a chunk ranked low by one side but high by the other still meets fusion
#: (at k=5, 20 candidates held every gold chunk of the dev set's hits within the top 10).
POOL_PER_RESULT, MIN_POOL = 4, 20


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str], stemmer: Any) -> list[list[str]]:
    result = bm25s.tokenize(
        list(texts), stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
    )
    return result  # type: ignore[return-value]


@dataclass
class Corpus:
    """The chunks of one knowledge-base version, with their BM25 index."""

    version: str
    ids: list[str]
    metas: list[dict[str, Any]]
    bodies: list[str]
    bm25: bm25s.BM25 | None
    position: dict[str, int] = field(default_factory=dict)
    matrix: MatrixIndex | None = None
    vocabulary: Vocabulary = field(default_factory=lambda: Vocabulary.from_texts([]))

    def __len__(self) -> int:
        return len(self.ids)


class IndexNotBuiltError(RuntimeError):
    """The knowledge base has never been ingested (or the collection is empty)."""


class HybridRetriever(BaseRetriever):
    """Dense + BM25 retrieval with score fusion, filters and duplicate removal.

    A LangChain ``BaseRetriever``: ``retriever.invoke("calf raises")`` returns Documents (the
    passage text with its metadata and scores); :meth:`search` returns :class:`Passage` objects
    and takes a precomputed query vector, which is what the Assistant uses.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any
    embeddings: Any
    settings: Any
    #: defaults for ``invoke``; :meth:`search` takes them per call
    k: int | None = None
    filters: Filters | None = None

    _fusion: Fusion = PrivateAttr()
    _stemmer: Any = PrivateAttr()
    _lock: Any = PrivateAttr(default_factory=threading.Lock)
    _corpus: Corpus | None = PrivateAttr(default=None)
    _checked_at: float = PrivateAttr(default=0.0)

    def __init__(self, store: Chroma, embeddings: Embeddings, settings: Settings, **kw: Any):
        super().__init__(store=store, embeddings=embeddings, settings=settings, **kw)
        self._fusion = make_fusion(settings.fusion)
        self._stemmer = _stemmer()

    @property
    def fusion(self) -> Fusion:
        return self._fusion

    @fusion.setter
    def fusion(self, value: Fusion | str) -> None:
        self._fusion = make_fusion(value) if isinstance(value, str) else value

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        return [
            Document(
                page_content=p.text,
                id=p.chunk_id,
                metadata=p.model_dump(exclude={"text"}),
            )
            for p in self.search(query, k=self.k, filters=self.filters)
        ]

    # ----- keeping in step with ingest ---------------------------------------------------------
    def current_version(self) -> str:
        """The published knowledge-base version; always asks the store (no cache)."""
        return str(collection_metadata(self.store).get("kb_version", ""))

    def corpus(self) -> Corpus:
        """The current corpus, reloaded when ingest has published a new version."""
        now = time.monotonic()
        corpus = self._corpus
        if corpus is not None and now - self._checked_at < self.settings.refresh_seconds:
            return corpus
        with self._lock:
            version = self.current_version()
            self._checked_at = time.monotonic()
            if self._corpus is None or self._corpus.version != version:
                self._corpus = self._load(version)
            return self._corpus

    def _load(self, version: str) -> Corpus:
        ids: list[str] = []
        metas: list[dict[str, Any]] = []
        texts: list[str] = []
        vectors: list[Any] = []
        # Paged: one unbounded get() fails beyond ~32k rows ("too many SQL variables").
        page, offset = 5000, 0
        while True:
            include = ["documents", "metadatas"]
            if not self.settings.chroma_host:
                include.append("embeddings")
            got = get_records(self.store, include, limit=page, offset=offset)
            ids.extend(got["ids"])
            metas.extend(dict(m or {}) for m in got["metadatas"] or [])
            texts.extend(d or "" for d in got["documents"] or [])
            if got["embeddings"] is not None:
                vectors.extend(got["embeddings"])
            if len(got["ids"]) < page:
                break
            offset += page
        order = sorted(range(len(ids)), key=lambda i: ids[i])
        ids = [ids[i] for i in order]
        metas = [metas[i] for i in order]
        texts = [texts[i] for i in order]
        bm25 = None
        if ids:
            bm25 = bm25s.BM25()
            bm25.index(tokenize(texts, self._stemmer), show_progress=False)
        corpus = Corpus(version, ids, metas, [body_of(t) for t in texts], bm25)
        corpus.position = {chunk_id: i for i, chunk_id in enumerate(ids)}
        # Embedded store only: with a Chroma server, every query goes to the server, which is
        # shared with other writers and whose outages must show (503), not be papered over.
        in_memory = not self.settings.chroma_host and 0 < len(ids) <= MAX_IN_MEMORY
        if in_memory and len(vectors) == len(ids):
            corpus.matrix = MatrixIndex(np.asarray([vectors[i] for i in order], dtype=np.float32))
        corpus.vocabulary = Vocabulary.from_texts(
            texts + [str(m.get("tags", "")).replace("-", " ") for m in metas]
        )
        return corpus

    # ----- search ------------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | None = None,
        query_vector: list[float] | None = None,
    ) -> list[Passage]:
        """Top-k passages, best first, scores in [0, 1]."""
        k = k or self.settings.top_k
        corpus = self.corpus()
        if not len(corpus):
            raise IndexNotBuiltError("the knowledge base is empty: run `help-assistant ingest`")
        pool = max(POOL_PER_RESULT * k, MIN_POOL)
        fusion = self.fusion
        dense = self._dense(corpus, query, pool, filters, query_vector) if fusion.uses_dense else {}
        sparse = self._bm25(corpus, query, pool, filters) if fusion.uses_bm25 else {}
        fused = fusion(dense, sparse)
        ranked = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
        passages: list[Passage] = []
        seen_text: set[str] = set()
        for chunk_id, score in ranked:
            i = corpus.position.get(chunk_id)
            if i is None:  # deleted since the corpus was loaded
                continue
            fingerprint = hashlib.sha1(" ".join(corpus.bodies[i].split()).lower().encode())
            if fingerprint.hexdigest() in seen_text:
                continue
            seen_text.add(fingerprint.hexdigest())
            passages.append(
                self._passage(corpus, i, score, dense.get(chunk_id), sparse.get(chunk_id))
            )
            if len(passages) == k:
                break
        return passages

    def _dense(
        self,
        corpus: Corpus,
        query: str,
        pool: int,
        filters: Filters | None,
        vector: list[float] | None,
    ) -> dict[str, float]:
        vector = vector if vector is not None else self.embeddings.embed_query(query)
        if corpus.matrix is not None:
            # Exact search over the vectors read from Chroma (see assistant/dense.py).
            mask = None
            if filters is not None and not filters.is_empty():
                mask = np.array([matches(meta, filters) for meta in corpus.metas], dtype=bool)
            rows, sims = corpus.matrix.top(vector, pool, mask)
            return {
                corpus.ids[r]: float(min(1.0, max(0.0, s))) for r, s in zip(rows, sims, strict=True)
            }
        nearest = query_distances(self.store, vector, pool, chroma_where(filters))
        return {i: float(min(1.0, max(0.0, 1.0 - d))) for i, d in nearest}

    def _bm25(
        self, corpus: Corpus, query: str, pool: int, filters: Filters | None
    ) -> dict[str, float]:
        assert corpus.bm25 is not None
        tokens = tokenize([query], self._stemmer)[0]
        if not tokens:
            return {}
        scores = corpus.bm25.get_scores(tokens)
        if filters is not None and not filters.is_empty():
            mask = np.array([matches(meta, filters) for meta in corpus.metas], dtype=bool)
            scores = np.where(mask, scores, 0.0)
        top = np.argsort(-scores, kind="stable")[:pool]
        return {
            corpus.ids[i]: float(scores[i] / (scores[i] + BM25_HALF)) for i in top if scores[i] > 0
        }

    @staticmethod
    def _passage(
        corpus: Corpus, i: int, score: float, dense: float | None, sparse: float | None
    ) -> Passage:
        meta = corpus.metas[i]
        return Passage(
            chunk_id=str(meta.get("chunk_id", corpus.ids[i])),
            article_id=str(meta.get("article_id", "")),
            title=str(meta.get("title", "")),
            section=str(meta.get("section", "")),
            url=str(meta.get("url", "")),
            collection=str(meta.get("collection", "")),
            tags=[t for t in str(meta.get("tags", "")).split(",") if t],
            updated=str(meta.get("updated", "")),
            text=corpus.bodies[i],
            score=round(min(1.0, max(0.0, score)), 4),
            dense_score=None if dense is None else round(dense, 4),
            bm25_score=None if sparse is None else round(sparse, 4),
        )


def matches(meta: dict[str, Any], filters: Filters) -> bool:
    if filters.collection and str(meta.get("collection", "")).lower() != filters.collection.lower():
        return False
    return all(meta.get(tag_key(tag)) is True for tag in filters.tags)


def chroma_where(filters: Filters | None) -> dict[str, Any] | None:
    if filters is None or filters.is_empty():
        return None
    clauses: list[dict[str, Any]] = []
    if filters.collection:
        clauses.append({"collection": filters.collection})
    clauses.extend({tag_key(tag): True} for tag in filters.tags)
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}
