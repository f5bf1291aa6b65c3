"""Incremental ingestion: articles -> chunks and answer units -> Chroma, in step with the sources.

LangChain's indexing API with a persistent SQL record manager does the bookkeeping: a chunk whose
content and metadata are unchanged is never embedded again, an edited article re-embeds only its
new chunks, and a deleted article's chunks are removed. Ids are content hashes and Chroma upserts,
so an ingest killed half-way and run again converges to exactly the right index.

The sources come from one record in the data dir (``knowledge.sources``): ``ingest PATH...``
records its paths, ``sync`` its snapshots, and everything else reads that record.

One process writes at a time: an ingest holds the data dir's writer lock
(:func:`assistant.store.writer_lock`) from reading the sources record to publishing the new
``kb_version``, marks the collection ``ingest_running`` while it writes (so running servers
keep serving the version they have rather than read a half-written one), writes through a
Chroma client of its own, and closes that client and the record managers' engines at the end.

A full disk under the data dir (Chroma's SQLite or its vector files, the record managers', the
sources record, the ONNX export in ``models/``) stops the ingest with :class:`DiskFullError`,
one line naming the data dir; the published version stays the one readers serve.

Example::

    report = run_ingest(settings, embeddings, [Path("knowledge/articles")])
    print(report.chunks_added, report.rejected)
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from langchain_chroma import Chroma
from langchain_classic.indexes import SQLRecordManager
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.indexing import index

from assistant.chunks import body_of, units_collection
from assistant.settings import Settings
from assistant.store import (
    WriterBusyError,
    collection_metadata,
    get_records,
    make_vectorstore,
    open_handle,
    record_groups,
    set_collection_metadata,
    writer_lock,
)
from knowledge.chunking import Chunker, model_token_length
from knowledge.diskfull import DiskFullError, disk_full_error
from knowledge.loaders import Rejection
from knowledge.sentences import split_units
from knowledge.sources import (
    EmptySourceError,
    Source,
    SourceRecord,
    check_not_emptied,
    load_sources,
    plan_run,
    removable,
)

__all__ = [
    "EmptySourceError",
    "IngestReport",
    "Progress",
    "WriterBusyError",
    "run_ingest",
    "unit_documents",
]

#: The collection-metadata key an ingest sets while it writes (its start time) and removes when
#: it publishes; readers never load a version while it is set and the writer lock is held.
RUNNING_KEY = "ingest_running"
#: The published keys an ingest keeps while it marks itself running.
PUBLISHED_KEYS = ("kb_version", "ingested_at")

#: Progress callback: (stage, number of texts just embedded).
Progress = Callable[[str, int], None]
#: Documents per indexing-API batch: each batch is embedded, written to Chroma in one upsert and
#: recorded in one record-manager transaction. Every call to Chroma and every commit has a fixed
#: cost (its SQLite transaction and the vector index's flush to disk: ~35 ms a call here), so
#: large batches; under Chroma's own limit per call (``client.get_max_batch_size()``, 5461).
INDEX_BATCH = 1024
#: Texts per embedding call, and per progress report, within a batch.
PROGRESS_STEP = 64

logger = logging.getLogger("knowledge.ingest")


@dataclass
class IngestReport:
    """What an ingest did; counts of chunks come from the indexing API's own result."""

    files_seen: int = 0
    articles: int = 0
    chunks: int = 0
    units: int = 0
    chunks_added: int = 0
    chunks_skipped: int = 0
    chunks_deleted: int = 0
    units_added: int = 0
    units_deleted: int = 0
    articles_new: list[str] = field(default_factory=list)
    articles_changed: list[str] = field(default_factory=list)
    articles_removed: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    drafts: list[Rejection] = field(default_factory=list)
    pruning_skipped: bool = False
    aborted: bool = False
    chunks_restored: int = 0
    units_restored: int = 0
    sources: list[str] = field(default_factory=list)
    kb_version: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.rejected

    @property
    def files_rejected(self) -> int:
        """Whole files that gave nothing (an export's bad article is ``file#n``)."""
        return sum("#" not in r.path for r in self.rejected)

    @property
    def articles_rejected(self) -> int:
        """Single articles of an export that were rejected."""
        return sum("#" in r.path for r in self.rejected)


class _CountingEmbeddings(Embeddings):
    """Wraps the real embeddings to report progress, :data:`PROGRESS_STEP` texts at a time.

    An indexing batch (:data:`INDEX_BATCH` documents) is embedded in length order, a step at a
    time, each step reported when done. Texts of alike lengths side by side are what the
    backends' own batches (sorted by length within a call) pad least: the ONNX backend runs
    exactly the batches it would run for the whole indexing batch in one call, and a progress
    bar still moves every step rather than once per indexing batch.
    """

    def __init__(self, inner: Embeddings, stage: str, progress: Progress | None) -> None:
        self.inner, self.stage, self.progress = inner, stage, progress

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        for lo in range(0, len(order), PROGRESS_STEP):
            step = order[lo : lo + PROGRESS_STEP]
            embedded = self.inner.embed_documents([texts[i] for i in step])
            for i, vector in zip(step, embedded, strict=True):
                vectors[i] = vector
            if self.progress:
                self.progress(self.stage, len(step))
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


class _RecordManager(SQLRecordManager):
    """LangChain's SQL record manager with its SQLite ``update`` as one cached statement run
    over the rows (``executemany``) instead of a multi-row ``VALUES`` statement.

    LangChain builds ``INSERT ... VALUES (...), (...), ...`` with four bound parameters per key,
    which SQLAlchemy compiles anew for every batch (the parameter count differs, so nothing is
    cached): measured, ~0.2 s of a cold ingest's 1186 keys went to compiling SQL. The rows
    written are the same (same keys, namespace, time and group; the same on-conflict update),
    checked against the parent class in the tests; other dialects keep the parent's code.
    """

    def update(
        self,
        keys: Sequence[str],
        *,
        group_ids: Sequence[str | None] | None = None,
        time_at_least: float | None = None,
    ) -> None:
        if self.dialect != "sqlite" or not keys:  # no rows: executemany needs one; the parent's way
            super().update(keys, group_ids=group_ids, time_at_least=time_at_least)
            return
        from langchain_classic.indexes._sql_record_manager import UpsertionRecord
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        if group_ids is None:
            group_ids = [None] * len(keys)
        if len(keys) != len(group_ids):
            raise ValueError(
                f"Number of keys ({len(keys)}) does not match number of "
                f"group_ids ({len(group_ids)})"
            )
        # As the parent: the database's clock, and its guard against clock skew.
        update_time = self.get_time()
        if time_at_least and update_time < time_at_least:
            raise AssertionError(f"Time sync issue: {update_time} < {time_at_least}")
        rows = [
            {"key": key, "namespace": self.namespace, "updated_at": update_time, "group_id": group}
            for key, group in zip(keys, group_ids, strict=True)
        ]
        insert = sqlite_insert(UpsertionRecord)
        statement = insert.on_conflict_do_update(
            [UpsertionRecord.key, UpsertionRecord.namespace],
            set_={"updated_at": insert.excluded.updated_at, "group_id": insert.excluded.group_id},
        )
        with self._make_session() as session:
            session.execute(statement, rows)
            session.commit()


def make_record_manager(settings: Settings, collection: str) -> SQLRecordManager:
    """The record manager of ``collection``; its caller disposes of it
    (:func:`close_record_manager`): each one holds a SQLAlchemy engine with a pooled SQLite
    connection (two file descriptors and about 0.6 MB per reindex were leaked before)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    manager = _RecordManager(f"chroma/{collection}", db_url=settings.record_manager_url)
    try:
        manager.create_schema()
    except BaseException:
        close_record_manager(manager)
        raise
    return manager


def close_record_manager(manager: SQLRecordManager) -> None:
    """Dispose of the record manager's engine (closes its pooled connections)."""
    manager.engine.dispose()


def unit_documents(chunks: Iterable[Document]) -> list[Document]:
    """One Document per answer unit (heading, sentence or list item) of every chunk."""
    out = []
    for chunk in chunks:
        meta = chunk.metadata
        # The section heading, as unit -1: the answerer ranks sections by it (the articles'
        # headings are the questions their sections answer).
        heading = str(meta["section"]).split(" > ")[-1] or str(meta["title"])
        out.append(
            Document(
                page_content=heading,
                metadata={
                    "article_id": meta["article_id"],
                    "chunk_id": meta["chunk_id"],
                    "unit_index": -1,
                    "kind": "heading",
                    "marker": "",
                    "paragraph": 0,
                },
            )
        )
        for unit in split_units(body_of(chunk.page_content)):
            out.append(
                Document(
                    page_content=unit.text,
                    metadata={
                        "article_id": meta["article_id"],
                        "chunk_id": meta["chunk_id"],
                        "unit_index": unit.index,
                        "kind": unit.kind,
                        "marker": unit.marker,
                        "paragraph": unit.paragraph,
                    },
                )
            )
    return out


def _prune(manager: SQLRecordManager, store: Chroma, groups: Sequence[str]) -> int:
    deleted = 0
    for group in groups:
        keys = manager.list_keys(group_ids=[group])
        if keys:
            store.delete(keys)
            manager.delete_keys(keys)
            deleted += len(keys)
    return deleted


def relative_source(source: str, roots: Sequence[Path]) -> str:
    """The source path relative to the folder it was ingested from.

    Metadata is part of a chunk's content hash, so "knowledge/articles/x.md" and the same file
    given as an absolute path must record the same source, or a re-ingest re-embeds everything.
    """
    path, sep, fragment = source.partition("#")
    resolved = Path(path).resolve()
    for root in roots:
        root = Path(root).resolve()
        base = root if root.is_dir() else root.parent
        if resolved == root or base in resolved.parents:
            relative = resolved.relative_to(base).as_posix()
            return relative + sep + fragment
    return source


def kb_version_of(manager: SQLRecordManager) -> str:
    """A version of the whole knowledge base: a hash of every chunk's content hash."""
    digest = hashlib.sha256()
    for key in sorted(manager.list_keys()):
        digest.update(key.encode())
    return digest.hexdigest()[:16]


def restore_lost_records(manager: SQLRecordManager, store: Chroma) -> int:
    """Forget the records of chunks the store no longer holds, so indexing re-adds them.

    The record manager is the indexing API's memory of what is in the store; if the Chroma
    folder was lost (or a collection dropped) while the records survived, every chunk would
    otherwise be "unchanged" and nothing would ever be written again.
    """
    keys = set(manager.list_keys())
    if not keys:
        return 0
    present: set[str] = set()
    page, offset = 5000, 0  # paged: one unbounded get() fails beyond ~32k rows
    while True:
        ids = get_records(store, [], limit=page, offset=offset)["ids"]
        present.update(ids)
        if len(ids) < page:
            break
        offset += page
    missing = sorted(keys - present)
    if missing:
        manager.delete_keys(missing)
    return len(missing)


@dataclass
class _Loaded:
    chunks: list[Document] = field(default_factory=list)
    by_source: dict[str, set[str]] = field(default_factory=dict)


def _load(settings: Settings, run: Sequence[Source], report: IngestReport) -> _Loaded:
    """Load every source of the run (each in its locale), dedupe ids across them, chunk."""
    loaded, origin = load_sources(run)
    report.files_seen = loaded.files_seen
    report.rejected = list(loaded.rejected)
    report.drafts = list(loaded.skipped)

    chunker = Chunker(
        token_len=model_token_length(settings.embedding_model),
        max_tokens=settings.chunk_max_tokens,
        overlap_tokens=settings.chunk_overlap_tokens,
    )
    out = _Loaded(by_source={s.key: set() for s in run})
    for doc in loaded.documents:
        source = origin[id(doc)]
        doc.metadata["source"] = relative_source(str(doc.metadata["source"]), [source.path])
        try:
            out.chunks.extend(chunker.split_one(doc))
        except ValueError as exc:
            report.rejected.append(Rejection(str(doc.metadata.get("source", "")), str(exc)))
            continue
        report.articles += 1
        out.by_source[source.key].add(str(doc.metadata["article_id"]))
    return out


def run_ingest(
    settings: Settings,
    embeddings: Embeddings,
    paths: Sequence[Path] | None = None,
    *,
    sources: Sequence[Source] | None = None,
    prune: bool = True,
    strict: bool = False,
    allow_empty: bool = False,
    progress: Progress | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    wait: bool = True,
) -> IngestReport:
    """Bring the index in step with its sources, and record them in the data dir.

    * ``paths`` given: these become the recorded path sources (synced help centers stay), and
      the index mirrors them: articles of no source are removed.
    * ``sources`` given (what ``sync`` does): only these are read, and only articles they
      produced before can be removed; other sources are never touched.
    * neither: every recorded source (or the settings' ``articles_dir`` when no path was ever
      recorded), mirrored.

    Pruning is skipped when any file was rejected, so a broken file never deletes the chunks
    of the article it used to hold; with ``strict`` a rejected file stops the ingest before
    anything is written (``report.aborted``). A source that comes up empty while its articles
    are indexed raises :class:`EmptySourceError` (nothing written) unless ``allow_empty``.
    Chunks the record manager lists but the store lost are re-added.

    The whole run holds the data dir's writer lock: another ingest waits for it, or, with
    ``wait=False`` (a reindex through the API), :class:`WriterBusyError` is raised at once.
    """
    try:
        with writer_lock(settings.data_dir, wait=wait):
            return _run_locked(
                settings, embeddings, paths, sources=sources, prune=prune, strict=strict,
                allow_empty=allow_empty, progress=progress, on_plan=on_plan,
            )  # fmt: skip
    except DiskFullError:
        raise
    except Exception as exc:
        full = disk_full_error(exc, settings)
        if full is None:
            raise
        raise full from exc  # the store's own error stays the cause, for the server's log


@dataclass
class _Run:
    """What one locked run works with: its settings, sources record and loaded chunks."""

    settings: Settings
    report: IngestReport
    record: SourceRecord
    run: list[Source]
    mirror: bool
    loaded: _Loaded
    units: list[Document]
    paths: Sequence[Path] | None
    sources: Sequence[Source] | None


def _run_locked(
    settings: Settings,
    embeddings: Embeddings,
    paths: Sequence[Path] | None,
    *,
    sources: Sequence[Source] | None,
    prune: bool,
    strict: bool,
    allow_empty: bool,
    progress: Progress | None,
    on_plan: Callable[[int, int], None] | None,
) -> IngestReport:
    started = time.perf_counter()
    report = IngestReport()
    record = SourceRecord.read(settings.data_dir)
    run, mirror = plan_run(record, settings.articles_dir, paths, sources)
    report.sources = [s.label for s in run]
    loaded = _load(settings, run, report)
    if strict and report.rejected:
        report.aborted = True
        report.seconds = time.perf_counter() - started
        return report
    units = unit_documents(loaded.chunks)
    report.chunks, report.units = len(loaded.chunks), len(units)
    state = _Run(settings, report, record, run, mirror, loaded, units, paths, sources)

    with contextlib.ExitStack() as resources:
        # A client of its own, closed at the end: a long-lived client's view of the vector index
        # goes stale once another process writes (see assistant.store.StoreHandle).
        handle = resources.enter_context(open_handle(settings, settings.collection))
        # Chunks and units are embedded through progress-counting wrappers, one per stage.
        chunk_store = make_vectorstore(
            settings, _CountingEmbeddings(embeddings, "chunks", progress), client=handle.client
        )
        unit_store = make_vectorstore(
            settings,
            _CountingEmbeddings(embeddings, "units", progress),
            client=handle.client,
            collection=units_collection(settings.collection),
        )
        chunk_records = make_record_manager(settings, settings.collection)
        resources.callback(close_record_manager, chunk_records)
        unit_records = make_record_manager(settings, units_collection(settings.collection))
        resources.callback(close_record_manager, unit_records)
        _write(
            state, (chunk_store, chunk_records), (unit_store, unit_records),
            prune=prune, allow_empty=allow_empty, on_plan=on_plan,
        )  # fmt: skip
    report.seconds = time.perf_counter() - started
    return report


def _write(
    state: _Run,
    chunk_side: tuple[Chroma, SQLRecordManager],
    unit_side: tuple[Chroma, SQLRecordManager],
    *,
    prune: bool,
    allow_empty: bool,
    on_plan: Callable[[int, int], None] | None,
) -> None:
    """Index chunks and units, prune, record the sources and publish the new version."""
    (chunk_store, chunk_records), (unit_store, unit_records) = chunk_side, unit_side
    report, record, run, chunks = state.report, state.record, state.run, state.loaded.chunks
    report.chunks_restored = restore_lost_records(chunk_records, chunk_store)
    report.units_restored = restore_lost_records(unit_records, unit_store)
    before = record_groups(chunk_records)

    present = {str(c.metadata["article_id"]) for c in chunks}
    gone = removable(record, run, state.mirror, set(before), present)
    if prune and not allow_empty:
        check_not_emptied(record, run, state.loaded.by_source, gone)
    if on_plan:
        on_plan(len(chunks), len(state.units))

    published = {k: v for k, v in collection_metadata(chunk_store).items() if k in PUBLISHED_KEYS}
    set_collection_metadata(chunk_store, {**published, RUNNING_KEY: datetime.now(UTC).isoformat()})
    try:
        _index(report, chunks, state.units, chunk_side, unit_side, before, prune, gone)
    except BaseException:
        # What was written stays (content-hash ids: a rerun converges); readers go on serving
        # the published version, no longer told that an ingest is running. Best effort: on a
        # full disk this write fails too, and the first error is the one to report (a marker
        # left behind is ignored once the writer lock is released). A first ingest has nothing
        # published, and Chroma refuses empty metadata.
        if published:
            try:
                set_collection_metadata(chunk_store, published)
            except Exception as restore:
                logger.warning("could not clear the ingest_running marker: %s", restore)
        raise
    record.note_run(run, state.loaded.by_source, set(gone) - set(report.articles_removed))
    if state.sources is not None:
        for source in state.sources:
            record.upsert_sync(source)
    elif state.paths and all(Path(p).exists() for p in state.paths):
        record.paths = list(run)  # a mistyped path never becomes the server's source
    record.write(state.settings.data_dir)
    report.kb_version = kb_version_of(chunk_records)
    # Publishing: one metadata write, without RUNNING_KEY; readers load this version next.
    set_collection_metadata(
        chunk_store,
        {"kb_version": report.kb_version, "ingested_at": datetime.now(UTC).isoformat()},
    )


def _index(
    report: IngestReport,
    chunks: list[Document],
    units: list[Document],
    chunk_side: tuple[Chroma, SQLRecordManager],
    unit_side: tuple[Chroma, SQLRecordManager],
    before: dict[str, set[str]],
    prune: bool,
    gone: list[str],
) -> None:
    """The indexing API over chunks and units, then the removed articles pruned."""
    (chunk_store, chunk_records), (unit_store, unit_records) = chunk_side, unit_side
    common = {
        "cleanup": "scoped_full",
        "source_id_key": "article_id",
        "key_encoder": "sha256",
        "batch_size": INDEX_BATCH,
    }
    result = index(chunks, chunk_records, chunk_store, **common)  # type: ignore[arg-type]
    unit_result = index(units, unit_records, unit_store, **common)  # type: ignore[arg-type]
    report.chunks_added = result["num_added"]
    report.chunks_skipped = result["num_skipped"]
    report.chunks_deleted = result["num_deleted"]
    report.units_added = unit_result["num_added"]
    report.units_deleted = unit_result["num_deleted"]

    present = {str(c.metadata["article_id"]) for c in chunks}
    after = record_groups(chunk_records)
    report.articles_new = sorted(present - set(before))
    report.articles_changed = sorted(
        a for a in present & set(before) if after.get(a, set()) != before[a]
    )
    if prune and gone:
        if report.rejected:
            report.pruning_skipped = True
        else:
            report.chunks_deleted += _prune(chunk_records, chunk_store, gone)
            report.units_deleted += _prune(unit_records, unit_store, gone)
            report.articles_removed = gone
