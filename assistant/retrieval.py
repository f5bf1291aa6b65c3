"""Hybrid retrieval: dense search in Chroma plus BM25 (bm25s) over the same chunks, fused.

The BM25 index, the in-memory matrix and the answer units are one snapshot of one published
knowledge-base version (a ``kb_version`` in the Chroma collection's metadata), checked at most
every ``refresh_seconds``, so results never come from articles that were edited or deleted.

One process writes (an ingest, holding the data dir's writer lock), any number read. A reader
that sees a new version opens a Chroma client of its own (the embedded client's view of the
vectors goes stale once another process writes; see :class:`~assistant.store.StoreHandle`),
reads chunks and units in one go, checks that the published version did not move while it
read, and swaps the snapshot in one assignment; requests keep serving the old snapshot while
the new one is built, and never load a version while an ingest is writing. A failed rebuild
keeps the old snapshot and is tried again at the next check.

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
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import bm25s
import numpy as np
from chromadb.errors import ChromaError
from langchain_core.embeddings import Embeddings

from assistant.chunks import body_of, tag_key
from assistant.confidence import Vocabulary
from assistant.dense import MAX_IN_MEMORY, MatrixIndex
from assistant.fusion import Fusion, make_fusion
from assistant.settings import Settings
from assistant.store import (
    HasCollection,
    StoreHandle,
    collection_metadata,
    count_records,
    get_records,
    open_handle,
    query_distances,
    reopenable,
    writer_active,
)
from assistant.types import Filters, Passage
from assistant.units import UnitIndex

if TYPE_CHECKING:
    from assistant.langchain_retriever import LangChainRetriever

logger = logging.getLogger(__name__)

#: BM25 scores are unbounded; s / (s + BM25_HALF) maps them to [0, 1) on the same scale for
#: every question (a per-question max-normalisation would give an off-topic question's best
#: accidental match the score 1.0). 6.0 is about the median top BM25 score of answerable
#: questions in eval/datasets/dev.jsonl.
BM25_HALF = 6.0
#: Candidates taken from each side before fusion: at least 4 per passage returned and never
#: fewer than 20, so a chunk ranked low by one side but high by the other still meets fusion
#: (at k=5, 20 candidates held every gold chunk of the dev set's hits within the top 10).
POOL_PER_RESULT, MIN_POOL = 4, 20
#: Answer units are read into memory with the snapshot up to this many (about 1.6 KB each with
#: their vector: ~320 MB at the cap; the shipped knowledge base has about 2,600); above it they
#: are fetched per passage from the snapshot's own client.
MAX_UNITS_IN_MEMORY = 200_000
#: A replaced snapshot whose units are fetched lazily keeps its Chroma client this long, for the
#: requests still answering from it; a preloaded one is closed at once (it reads nothing more).
RETIRED_GRACE_S = 60.0
#: Collection-metadata key an ingest sets while it writes (knowledge.ingest.RUNNING_KEY).
INGEST_RUNNING = "ingest_running"
#: Attempts at a first load whose published version moves while it is read.
FIRST_LOAD_ATTEMPTS = 3


def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: Sequence[str], stemmer: Any) -> list[list[str]]:
    result = bm25s.tokenize(
        list(texts), stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False
    )
    return result  # type: ignore[return-value]


def _warm_index(store: HasCollection) -> None:
    """One query with a stored vector, so Chroma loads its HNSW index now, while the snapshot
    loads, not on the first question (seconds at a million chunks: BENCHMARKS.md)."""
    got = get_records(store, ["embeddings"], limit=1)
    if got["embeddings"] is not None and len(got["embeddings"]):
        query_distances(store, [float(x) for x in got["embeddings"][0]], 1)


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
    #: the units of this version (read with it, or fetched from ``handle``'s client)
    units: UnitIndex | None = None
    #: the private Chroma client this snapshot was read with (None: the store given)
    handle: StoreHandle | None = None
    store: Any = None

    def __len__(self) -> int:
        return len(self.ids)


class _VersionMoved(RuntimeError):
    """The published version changed, or an ingest started, while a snapshot was read."""


class IndexNotBuiltError(RuntimeError):
    """The knowledge base has never been ingested (or the collection is empty)."""


def top_positive(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest positive scores, highest first, ties in index order: what
    ``np.argsort(-scores, kind="stable")[:k]`` keeps of them, without sorting the whole corpus
    (at 100k chunks a full sort per query costs 6-8 ms, this well under 2 ms)."""
    if k <= 0:
        return np.empty(0, dtype=np.intp)
    positive = np.flatnonzero(scores > 0)
    if len(positive) > k:
        values = scores[positive]
        cut = np.partition(values, len(values) - k)[len(values) - k]  # the k-th highest
        positive = positive[values >= cut]  # every score tied at the cut stays a candidate
    order = np.argsort(-scores[positive], kind="stable")
    return positive[order][:k]


class HybridRetriever:
    """Dense + BM25 retrieval with score fusion, filters and duplicate removal.

    :meth:`search` returns :class:`Passage` objects and takes a precomputed query vector, which
    is what the Assistant uses. :meth:`as_langchain` wraps it as a LangChain ``BaseRetriever``
    (``invoke("calf raises")`` returns Documents: the passage text with its metadata and
    scores). The wrapper is built on demand: LangChain's runnable machinery (tracers, langsmith)
    costs ~0.8 s to import, a quarter of the API server's cold start, and serving needs none of it.
    """

    def __init__(
        self,
        store: HasCollection,
        embeddings: Embeddings,
        settings: Settings,
        *,
        units_store: HasCollection | None = None,
        k: int | None = None,
        filters: Filters | None = None,
    ) -> None:
        self.store = store
        self.embeddings = embeddings
        self.settings = settings
        #: the units collection; with it every snapshot carries its units (see assistant.units)
        self.units_store = units_store
        #: defaults for the LangChain wrapper's ``invoke``; :meth:`search` takes them per call
        self.k = k
        self.filters = filters
        self._fusion: Fusion = make_fusion(settings.fusion)
        self._stemmer: Any = _stemmer()
        self._lock = threading.Lock()
        self._corpus: Corpus | None = None
        self._previous: Corpus | None = None
        self._retired: list[tuple[float, StoreHandle]] = []
        self._checked_at = 0.0
        self._check_failed = False

    @property
    def fusion(self) -> Fusion:
        return self._fusion

    @fusion.setter
    def fusion(self, value: Fusion | str) -> None:
        self._fusion = make_fusion(value) if isinstance(value, str) else value

    def as_langchain(self) -> LangChainRetriever:
        """This retriever as a LangChain ``BaseRetriever`` (reads ``k`` and ``filters`` here)."""
        from assistant.langchain_retriever import LangChainRetriever

        return LangChainRetriever(hybrid=self)

    # ----- keeping in step with ingest ---------------------------------------------------------
    def current_version(self) -> str:
        """The published knowledge-base version; always asks the store (no cache)."""
        return str(collection_metadata(self.store).get("kb_version", ""))

    def corpus(self) -> Corpus:
        """The current snapshot, replaced when ingest has published a new version.

        At most one thread checks and rebuilds; the others keep the snapshot they have
        meanwhile (only the very first load makes them wait)."""
        corpus = self._corpus
        if corpus is not None and not self._due():
            return corpus
        if not self._lock.acquire(blocking=corpus is None):
            assert corpus is not None
            return corpus
        try:
            if self._corpus is None or self._due():
                self._refresh()
            assert self._corpus is not None
            return self._corpus
        finally:
            self._lock.release()

    def settled_version(self) -> str | None:
        """The served snapshot's version, never waiting for the store, so an event loop may
        call it (the answer cache serves a repeated question only for the version it was built
        on). When a check is due it starts one in a thread of its own and answers with the
        snapshot meanwhile, as :meth:`corpus` does for every thread but the one checking. None
        before the first load and after a failed check, until a check succeeds: the caller
        then goes through :meth:`corpus`, which raises while the store is down."""
        corpus = self._corpus
        if corpus is None or self._check_failed:
            return None
        if self._due() and self._lock.acquire(blocking=False):
            threading.Thread(target=self._check_behind, name="kb-version-check",
                             daemon=True).start()  # fmt: skip
        return corpus.version

    def _check_behind(self) -> None:
        """:meth:`settled_version`'s check, holding the lock it took."""
        try:
            if self._due():
                self._refresh()
        except Exception as exc:  # noqa: BLE001 - a thread of its own: nobody else would see it
            self._check_failed = True
            logger.warning("knowledge-base version check failed (%s: %s)", type(exc).__name__, exc)
        finally:
            self._lock.release()

    def _due(self) -> bool:
        return time.monotonic() - self._checked_at >= self.settings.refresh_seconds

    def refresh(self) -> Corpus:
        """Check for a new version now, whatever ``refresh_seconds`` says (after a store error:
        the snapshot's client may be the one that went stale)."""
        with self._lock:
            self._refresh()
            assert self._corpus is not None
            return self._corpus

    def snapshots(self) -> list[Corpus]:
        """The current snapshot and the one it replaced (requests begun on that one may still
        be composing answers from its passages), newest first; checks nothing."""
        if self._corpus is None:
            self.corpus()
        return [c for c in (self._corpus, self._previous) if c is not None]

    def _refresh(self) -> None:
        metadata = collection_metadata(self.store)  # StoreUnavailableError propagates (503)
        self._checked_at = time.monotonic()
        self._check_failed = False
        self._close_retired()
        version = str(metadata.get("kb_version", ""))
        current = self._corpus
        if current is not None and current.version == version:
            return
        if current is not None and self._writing(metadata):
            return  # serve the published version until the ingest publishes its own
        attempts = 1 if current is not None else FIRST_LOAD_ATTEMPTS
        for attempt in range(1, attempts + 1):
            try:
                fresh = self._load(version, metadata, exact=attempt < attempts)
                break
            except _VersionMoved:
                if current is not None:
                    return  # the next check reads the newer version
                metadata = collection_metadata(self.store)
                version = str(metadata.get("kb_version", ""))
            except Exception as exc:
                if current is None:
                    raise
                logger.warning(
                    "could not load knowledge-base version %s (%s: %s); serving %s meanwhile",
                    version, type(exc).__name__, exc, current.version,
                )  # fmt: skip
                return
        self._swap(fresh)

    def _writing(self, metadata: dict[str, Any]) -> bool:
        """An ingest marked the collection and still holds the writer lock (a mark left by a
        killed ingest is ignored: the kernel released its lock)."""
        return bool(metadata.get(INGEST_RUNNING)) and writer_active(self.settings.data_dir)

    def _swap(self, fresh: Corpus) -> None:
        old, self._previous = self._previous, self._corpus
        self._corpus = fresh  # one assignment: a request sees the old snapshot or the new one
        if fresh.store is not None:
            self.store = fresh.store
        # A snapshot that reads nothing from Chroma any more (units and vectors in memory) closes
        # its client now; one that fetches lazily stays open for RETIRED_GRACE_S after it is no
        # longer even the previous one, for the requests that began on it.
        for corpus in (old, self._previous):
            if corpus is None or corpus.handle is None:
                continue
            preloaded = corpus.units is None or corpus.units.preloaded
            if preloaded and corpus.matrix is not None:
                corpus.handle.close()  # nothing of it reads Chroma again
            elif corpus is old:
                self._retired.append((time.monotonic(), corpus.handle))

    def _close_retired(self) -> None:
        now = time.monotonic()
        keep = []
        for since, handle in self._retired:
            if now - since >= RETIRED_GRACE_S:
                handle.close()
            else:
                keep.append((since, handle))
        self._retired = keep

    def close(self) -> None:
        """Close every Chroma client this retriever opened (the store it was given stays)."""
        with self._lock:
            for corpus in (self._corpus, self._previous):
                if corpus is not None and corpus.handle is not None:
                    corpus.handle.close()
            for _, handle in self._retired:
                handle.close()
            self._retired = []

    def _load(self, version: str, metadata: dict[str, Any], *, exact: bool = True) -> Corpus:
        """One snapshot of ``version``: chunks and units read through a client opened for it;
        :class:`_VersionMoved` when the published metadata changed meanwhile (``exact``)."""
        handle = None
        store, units_store = self.store, self.units_store
        if reopenable(self.store, self.settings):
            handle = open_handle(self.settings, self.store._collection_name)
            store, units_store = handle.chunks, (handle.units if self.units_store else None)
        try:
            corpus = self._read(version, store)
            corpus.handle, corpus.store = handle, store
            if units_store is not None:
                corpus.units = UnitIndex(units_store)
                if count_records(units_store) <= MAX_UNITS_IN_MEMORY:
                    corpus.units.preload()
            after = collection_metadata(store)
            moved = after.get("kb_version") != metadata.get("kb_version") or (
                bool(after.get(INGEST_RUNNING)) and writer_active(self.settings.data_dir)
            )
            if moved and exact:
                raise _VersionMoved(version)
        except BaseException:
            if handle is not None:
                handle.close()
            raise
        return corpus

    def _read(self, version: str, store: HasCollection) -> Corpus:
        ids: list[str] = []
        metas: list[dict[str, Any]] = []
        texts: list[str] = []
        vectors: list[Any] = []
        # Paged: one unbounded get() fails beyond ~32k rows ("too many SQL variables").
        page, offset = 5000, 0
        # Embedded store only: with a Chroma server, every query goes to the server, which is
        # shared with other writers and whose outages must show (503), not be papered over.
        # The vectors only serve exact search, so above MAX_IN_MEMORY they are not read (they
        # would cost load time and memory: BENCHMARKS.md, 1M chunks).
        exact = not self.settings.chroma_host and count_records(store) <= MAX_IN_MEMORY
        include = ["documents", "metadatas", *(["embeddings"] if exact else [])]
        while True:
            got = get_records(store, include, limit=page, offset=offset)
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
        if exact and 0 < len(ids) <= MAX_IN_MEMORY and len(vectors) == len(ids):
            corpus.matrix = MatrixIndex(np.asarray([vectors[i] for i in order], dtype=np.float32))
        elif ids:
            _warm_index(store)
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
        try:
            return self._search(corpus, query, k, filters, query_vector)
        except ChromaError as exc:
            # The snapshot's client went stale or was replaced mid-query: once more, on the
            # newest snapshot (never a 500 for a swap).
            logger.info("search retried on a new snapshot after %s: %s", type(exc).__name__, exc)
            return self._search(self.refresh(), query, k, filters, query_vector)

    def _search(
        self,
        corpus: Corpus,
        query: str,
        k: int,
        filters: Filters | None,
        query_vector: list[float] | None,
    ) -> list[Passage]:
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
                self.passage(corpus, i, score, dense.get(chunk_id), sparse.get(chunk_id))
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
        nearest = query_distances(corpus.store or self.store, vector, pool, chroma_where(filters))
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
        return {
            corpus.ids[i]: float(scores[i] / (scores[i] + BM25_HALF))
            for i in top_positive(scores, pool)
        }

    @staticmethod
    def passage(
        corpus: Corpus,
        i: int,
        score: float = 0.0,
        dense: float | None = None,
        sparse: float | None = None,
    ) -> Passage:
        """The ``i``-th chunk of ``corpus`` as a Passage, with the scores a search gave it."""
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
