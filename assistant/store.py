"""Vector store factory: embedded Chroma by default, a Chroma server when a host is set.

In server mode the client connects lazily and every call that cannot reach the server raises one
exception, :class:`StoreUnavailableError` ("the vector store at HOST:PORT is unreachable"), which
the API answers with a 503. Nothing is cached about the failure: the next call tries again, so
the service starts while the server is down and recovers by itself when it is back.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, cast

from langchain_core.embeddings import Embeddings

from assistant.settings import Settings, StartupError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_classic.indexes import SQLRecordManager


logger = logging.getLogger(__name__)


class StoreUnavailableError(ConnectionError):
    """The Chroma server cannot be reached (stopped, restarting, refusing connections)."""

    def __init__(self, address: str) -> None:
        super().__init__(f"the vector store at {address} is unreachable")
        self.address = address


def _unreachable(exc: BaseException) -> bool:
    import httpx

    if isinstance(exc, httpx.TransportError):  # connect, read, protocol errors and timeouts
        return True
    # chromadb.HttpClient() checks the server when it is made and says so in a ValueError.
    return isinstance(exc, ValueError) and "Could not connect to a Chroma server" in str(exc)


def _guarded(call: Callable[..., Any], address: str) -> Callable[..., Any]:
    @functools.wraps(call)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return call(*args, **kwargs)
        except Exception as exc:
            if _unreachable(exc):
                raise StoreUnavailableError(address) from exc
            raise

    return wrapper


class _Guard:
    """Delegates to ``target``; its methods raise StoreUnavailableError when the server is gone."""

    def __init__(self, target: Any, address: str) -> None:
        self._target = target
        self._address = address

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        return _guarded(value, self._address) if callable(value) else value


class ServerClient(_Guard):
    """A ``chromadb.HttpClient`` made on first use (and again after a failed attempt).

    ``chromadb.HttpClient()`` contacts the server at once, so making it eagerly would stop the
    service from starting while the server is down.
    """

    def __init__(self, host: str, port: int, settings: Any) -> None:
        super().__init__(None, f"{host}:{port}")
        self._host, self._port, self._settings = host, port, settings
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if self._target is None:
            with self._lock:
                if self._target is None:
                    import chromadb

                    make = _guarded(chromadb.HttpClient, self._address)
                    self._target = make(host=self._host, port=self._port, settings=self._settings)
        return super().__getattr__(name)


def make_chroma_client(settings: Settings) -> ClientAPI:
    """A Chroma client with telemetry off: persistent on disk, or HTTP to ``chroma run``."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_host:
        client = ServerClient(settings.chroma_host, settings.chroma_port, chroma_settings)
        return cast("ClientAPI", client)
    from chromadb.errors import ChromaError

    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    try:
        return chromadb.PersistentClient(path=str(settings.chroma_dir), settings=chroma_settings)
    except ChromaError as exc:
        if "database or disk is full" in str(exc):  # SQLITE_FULL, as Chroma passes it on
            raise StartupError(
                f"the disk is full: no space left in the data dir {settings.data_dir} "
                f"(ASSISTANT_DATA_DIR) to open the index {settings.chroma_dir / 'chroma.sqlite3'}"
                ": free some space"
            ) from exc
        # A corrupt or foreign chroma.sqlite3 ("file is not a database"): one line, not the
        # 80-line traceback of Chroma's start-up.
        raise StartupError(
            f"the index {settings.chroma_dir / 'chroma.sqlite3'} cannot be opened ({exc}): "
            f"restore it, or delete {settings.chroma_dir} and run `help-assistant ingest`"
        ) from exc


#: chromadb keeps one System per path in a class-level cache; a private client needs it emptied
#: for a moment, and two threads doing that at once would share one by accident.
_PRIVATE_LOCK = threading.Lock()


class StoreHandle:
    """A private embedded Chroma client (its own System: its own SQLite connections and its own
    copy of the vector index in memory) over the chunks and units collections.

    Chroma's embedded client loads the vector index once and never sees vectors another process
    (or another client in this one) wrote after that: ``get(include=["embeddings"])`` of a new id
    fails with "Error finding id" and queries miss the new vectors, while documents and
    collection metadata (SQLite) are current. So a reader opens a new handle for each published
    version and :meth:`close` releases the old one's files; a writer opens one per ingest.
    Example::

        with open_handle(settings, settings.collection) as handle:
            count_records(handle.chunks)
    """

    def __init__(
        self, client: ClientAPI, system: Any, chunks: CollectionStore, units: CollectionStore
    ) -> None:
        self.client, self.chunks, self.units = client, chunks, units
        self._system = system
        self._closed = False

    def close(self) -> None:
        """Stop the private System (file descriptors and memory released); idempotent."""
        if self._closed or self._system is None:
            return
        self._closed = True
        try:
            self._system.stop()
        except Exception as exc:  # noqa: BLE001 - closing must not fail the caller's work
            logger.warning("closing a Chroma client raised %s: %s", type(exc).__name__, exc)
        _trim_heap()

    def __enter__(self) -> StoreHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        return cast("Callable[[int], int]", ctypes.CDLL(name).malloc_trim) if name else None
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to trim
        return None


def _trim_heap() -> None:
    """Give the freed heap back to the OS (glibc ``malloc_trim``). A stopped Chroma System frees
    its memory, but glibc keeps it in the Rust threads' arenas: measured, 150 open-read-close
    cycles of a handle on the shipped index grew RSS from 173 to 274 MB with the fds constant,
    and ``malloc_trim(0)`` brought it back to 183 MB. A few ms, once per published version."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def _private_client(settings: Settings) -> tuple[ClientAPI, Any]:
    """A PersistentClient on ``chroma_dir`` with a System of its own, and that System.

    chromadb shares one System per path through ``SharedSystemClient``'s class cache; the cache
    entry is set aside while the client is made and restored after, so no other client (made by
    :func:`make_chroma_client` or another handle) shares, stops or reuses this one.
    """
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient as Shared
    from chromadb.config import Settings as ChromaSettings

    settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    key = str(settings.chroma_dir)
    with _PRIVATE_LOCK:
        shared = Shared._identifier_to_system.pop(key, None)
        refs = Shared._identifier_to_refcount.pop(key, None)
        try:
            client = chromadb.PersistentClient(path=key, settings=chroma_settings)
            system = Shared._identifier_to_system[key]
        finally:
            Shared._identifier_to_system.pop(key, None)
            Shared._identifier_to_refcount.pop(key, None)
            if shared is not None:
                Shared._identifier_to_system[key] = shared
            if refs is not None:
                Shared._identifier_to_refcount[key] = refs
    return client, system


def open_handle(settings: Settings, collection: str) -> StoreHandle:
    """Chunks and units stores of ``collection`` (:class:`CollectionStore` readers) over a
    client of their own (embedded store), or over the shared HTTP client (a Chroma server is
    one consistent view; nothing to close). A writer makes its vector stores over
    ``handle.client`` (:func:`make_vectorstore`)."""
    from assistant.chunks import units_collection

    if settings.chroma_host:
        client, system = make_chroma_client(settings), None
    else:
        client, system = _private_client(settings)
    try:
        chunks = make_collection_store(settings, client, collection)
        units = make_collection_store(settings, client, units_collection(collection))
    except BaseException:
        if system is not None:
            system.stop()
        raise
    return StoreHandle(client, system, chunks, units)


def reopenable(store: HasCollection, settings: Settings) -> bool:
    """Whether ``store`` is the embedded store of ``settings`` (so a fresh handle sees the same
    data): not a Chroma server, not an in-memory client a test or tool passed in."""
    if settings.chroma_host:
        return False
    client_settings = store._client.get_settings()
    return bool(client_settings.is_persistent) and Path(
        str(client_settings.persist_directory)
    ) == Path(settings.chroma_dir)


# ----- the writer lock: one process writes the index at a time --------------------------------

WRITER_LOCK_FILE = "ingest.lock"


class WriterBusyError(RuntimeError):
    """Another ingest or reindex (in this process or another) holds the writer lock."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"another ingest is writing the index (lock {path})")
        self.path = path


@contextlib.contextmanager
def writer_lock(data_dir: Path, *, wait: bool = True) -> Iterator[None]:
    """Hold the index's writer lock (``flock`` on ``DATA_DIR/ingest.lock``) for the block.

    Any number of processes read the index; one at a time writes it. ``wait=False`` raises
    :class:`WriterBusyError` at once instead of waiting (a second reindex is refused, not
    queued). ``flock`` locks belong to the open file, so two threads of one process exclude each
    other too, and the kernel drops the lock when the holder dies (a killed ingest never leaves
    the index locked).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / WRITER_LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise WriterBusyError(path) from None
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def writer_active(data_dir: Path) -> bool:
    """Whether some process holds the writer lock now (a probe: takes and drops a shared lock)."""
    path = data_dir / WRITER_LOCK_FILE
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def store_address(settings: Settings) -> str | None:
    """``HOST:PORT`` of the Chroma server, or None for the embedded store."""
    return f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else None


class HasCollection(Protocol):
    """What the helpers below read of a store: a :class:`CollectionStore` or LangChain's
    ``Chroma`` (:func:`make_vectorstore`)."""

    _client: ClientAPI
    _collection_name: str

    @property
    def _collection(self) -> Collection: ...


class CollectionStore:
    """One Chroma collection, read and written through the helpers below (``get_records``,
    ``collection_metadata``...): what serving needs, without LangChain's vector-store classes
    (their import pulls in LangChain's runnables, tracers and langsmith: ~0.8 s of a server's
    cold start). The collection is fetched again whenever it is needed and missing (the server
    was down when the store was made); with a server address every collection call that cannot
    reach the server raises :class:`StoreUnavailableError`.

    :func:`make_vectorstore` gives the LangChain ``Chroma`` vector store (ingest's indexing API),
    which is one of these too. Example::

        store = make_collection_store(settings, make_chroma_client(settings), settings.collection)
        count_records(store)
    """

    _client: ClientAPI
    _collection_name: str
    _collection_metadata: dict[str, Any] | None
    _chroma_collection: Collection | None
    _address: str | None

    def __init__(
        self,
        client: ClientAPI,
        name: str,
        *,
        metadata: dict[str, Any] | None = None,
        configuration: dict[str, Any] | None = None,
        address: str | None = None,
    ) -> None:
        self._client, self._collection_name = client, name
        self._collection_metadata, self._address = metadata, address
        self._collection_configuration = configuration
        self._chroma_collection = None
        with contextlib.suppress(StoreUnavailableError):
            self._collection  # noqa: B018 - made now, as LangChain's Chroma does

    @property
    def _collection(self) -> Collection:
        return resolve_collection(self)


def resolve_collection(store: Any) -> Collection:
    """``store``'s Chroma collection (``CollectionStore`` or the LangChain vector store), fetched
    when missing and guarded when it lives on a server."""
    if store._chroma_collection is None:
        configuration = getattr(store, "_collection_configuration", None)
        collection = store._client.get_or_create_collection(
            name=store._collection_name,
            embedding_function=None,
            metadata=store._collection_metadata,
            configuration=configuration,
        )
        apply_ef_search(collection, configuration)
        store._chroma_collection = collection
    if store._address is None:
        return cast("Collection", store._chroma_collection)
    return cast("Collection", _Guard(store._chroma_collection, store._address))


#: Tries of the ef_search update of an existing collection (waits 0.1, 0.2 s between them).
EF_SEARCH_ATTEMPTS = 3


def collection_configuration(settings: Settings) -> dict[str, Any]:
    """The HNSW configuration our collections are made with: cosine distance (d in [0, 2];
    similarity 1 - d, clipped to [0, 1] where we use it) and the configured ``ef_search``. It
    is the one place that names the space: given a configuration, Chroma ignores the legacy
    ``hnsw:space`` metadata."""
    return {"hnsw": {"space": "cosine", "ef_search": settings.hnsw_ef_search}}


def apply_ef_search(collection: Collection, configuration: Mapping[str, Any] | None) -> None:
    """Give an existing collection the configured ``ef_search``: ``get_or_create_collection``
    keeps a collection's stored configuration, and a process reads it when it first loads the
    index, so this runs at open, before any query (a collection without an HNSW index, as
    Chroma Cloud's SPANN ones, is left alone)."""
    wanted = ((configuration or {}).get("hnsw") or {}).get("ef_search")
    current = (collection.configuration or {}).get("hnsw") or {}
    if wanted is None or not current or current.get("ef_search") == wanted:
        return
    from chromadb.errors import ChromaError

    for attempt in range(EF_SEARCH_ATTEMPTS):
        try:
            collection.modify(configuration={"hnsw": {"ef_search": wanted}})
        except ChromaError as exc:  # "database is locked": an ingest writing at this moment
            if attempt + 1 < EF_SEARCH_ATTEMPTS:
                time.sleep(0.1 * 2**attempt)
                continue
            # the search width is tuning, not correctness: the collection opens all the same
            logger.warning(
                "collection %s keeps HNSW ef_search %s for now (%s); %s is applied when it is "
                "next opened", collection.name, current.get("ef_search"), exc, wanted,
            )  # fmt: skip
            return
        logger.info(
            "collection %s: HNSW ef_search %s -> %s", collection.name, current.get("ef_search"),
            wanted,
        )  # fmt: skip
        return


def make_collection_store(
    settings: Settings, client: ClientAPI | None = None, collection: str | None = None
) -> CollectionStore:
    """A :class:`CollectionStore` over our collection (or ``collection``) of ``client``."""
    return CollectionStore(
        client or make_chroma_client(settings),
        collection or settings.collection,
        configuration=collection_configuration(settings),
        address=store_address(settings),
    )


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
    from assistant.chroma_vectorstore import ResilientChroma

    client = client or make_chroma_client(settings)
    return ResilientChroma(
        address=store_address(settings),
        collection_name=collection or settings.collection,
        embedding_function=embeddings,
        client=client,
        client_settings=_settings_of(client),
        collection_configuration=collection_configuration(settings),  # type: ignore[arg-type]
        relevance_score_fn=lambda distance: 1.0 - distance,
    )


def _settings_of(client: ClientAPI) -> ChromaSettings:
    """The settings ``client`` was made with. LangChain's Chroma does not use them when it is
    given a client, but without them it builds a default chromadb ``Settings`` all the same:
    pydantic-settings reading the environment for ~130 fields, ~50 ms per store made."""
    if isinstance(client, ServerClient):
        return cast("ChromaSettings", client._settings)  # its own: get_settings() would connect
    return client.get_settings()


# ----- the only code that reaches into Chroma's and the record manager's internals -------------
# LangChain's Chroma wrapper exposes no public way to read collection metadata, page through
# records with their vectors, or query by vector with only distances; these functions are that
# way, so the rest of the code never touches ``_client``/``_collection``.


def collection_metadata(store: HasCollection) -> dict[str, Any]:
    """The collection's metadata as stored now (asks the store every time, no cache)."""
    return dict(store._client.get_collection(store._collection.name).metadata or {})


def count_records(store: HasCollection) -> int:
    """How many records the collection holds now."""
    return int(store._collection.count())


def set_collection_metadata(store: HasCollection, metadata: dict[str, Any]) -> None:
    """Replace the collection's metadata (ingest publishes ``kb_version`` through it)."""
    store._collection.modify(metadata=metadata)


def get_records(
    store: HasCollection,
    include: list[str],
    limit: int | None = None,
    offset: int | None = None,
    where: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One page of records (ids always; ``documents``, ``metadatas``, ``embeddings`` on request)."""
    return cast(
        "dict[str, Any]",
        store._collection.get(
            include=include,  # type: ignore[arg-type]
            limit=limit,
            offset=offset,
            where=where,  # type: ignore[arg-type]
        ),
    )


def query_distances(
    store: HasCollection, vector: list[float], n_results: int, where: dict[str, Any] | None = None
) -> list[tuple[str, float]]:
    """``(id, cosine distance)`` of the nearest records to ``vector``, nearest first."""
    result = store._collection.query(
        query_embeddings=[vector],  # type: ignore[arg-type]
        n_results=n_results,
        where=where,  # type: ignore[arg-type]
        include=["distances"],
    )
    distances = result["distances"][0] if result["distances"] else []
    return list(zip(result["ids"][0], distances, strict=True))


def record_groups(manager: SQLRecordManager) -> dict[str, set[str]]:
    """Group id (article id) -> its record keys, from the record manager's table in one query.

    The record manager's public API lists keys but not their groups; ingest needs both to know
    which articles changed or vanished.
    """
    from langchain_classic.indexes._sql_record_manager import UpsertionRecord

    with manager._make_session() as session:
        rows: Sequence[Any] = (
            session.query(UpsertionRecord.group_id, UpsertionRecord.key)
            .filter(UpsertionRecord.namespace == manager.namespace)
            .all()
        )
    groups: dict[str, set[str]] = {}
    for group, key in rows:
        if group is not None:
            groups.setdefault(str(group), set()).add(str(key))
    return groups
