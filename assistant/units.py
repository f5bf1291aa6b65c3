"""Answer units (sentences and list items) with the vectors computed for them at ingest time.

Each knowledge-base snapshot of the retriever carries its own :class:`UnitIndex` (read with the
snapshot, or fetched through the snapshot's own Chroma client); :class:`LiveUnitIndex` is what
the answerer holds: it asks the current snapshot and, for passages of a request that began on
the snapshot just replaced, that one.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from chromadb.errors import ChromaError

from assistant.store import HasCollection, get_records

logger = logging.getLogger(__name__)
#: Units read per page when a snapshot reads them all (one get() fails beyond ~32k rows).
PAGE = 5000


@dataclass(frozen=True)
class StoredUnit:
    chunk_id: str
    index: int
    text: str
    kind: str  # "sentence" | "item"
    marker: str
    paragraph: int
    vector: np.ndarray


class UnitIndex:
    """Fetches the units of passages from the units collection, with a bounded cache.

    The cache is keyed by chunk id; chunk ids embed a hash of the chunk text, so an edited
    article never serves stale units, and :meth:`clear` drops everything on a new version.
    """

    def __init__(self, store: HasCollection, cache_size: int = 4096) -> None:
        self.store = store
        self.cache_size = cache_size
        #: every unit of the collection is in the cache (read by :meth:`preload`): nothing is
        #: fetched or evicted, and a chunk id absent from it has no units in this version
        self.preloaded = False
        self._cache: OrderedDict[str, list[StoredUnit]] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            if not self.preloaded:
                self._cache.clear()

    def preload(self) -> None:
        """Read every unit of the collection now, in pages (a snapshot's one consistent read)."""
        units: dict[str, list[StoredUnit]] = {}
        offset = 0
        while True:
            got = get_records(
                self.store, ["documents", "metadatas", "embeddings"], limit=PAGE, offset=offset
            )
            for chunk_id, found in _stored_units(got).items():
                units.setdefault(chunk_id, []).extend(found)
            if len(got["ids"]) < PAGE:
                break
            offset += PAGE
        for found in units.values():
            found.sort(key=lambda u: u.index)
        with self._lock:
            self._cache = OrderedDict(sorted(units.items()))
            self.preloaded = True

    def units_for(self, chunk_ids: Sequence[str]) -> dict[str, list[StoredUnit]]:
        if self.preloaded:
            return {chunk_id: self._cache.get(chunk_id, []) for chunk_id in chunk_ids}
        with self._lock:
            missing = [c for c in chunk_ids if c not in self._cache]
        fetched: dict[str, list[StoredUnit]] = {c: [] for c in missing}
        if missing:
            got = get_records(
                self.store,
                ["documents", "metadatas", "embeddings"],
                where={"chunk_id": {"$in": list(missing)}},
            )
            for chunk_id, found in _stored_units(got).items():
                fetched.setdefault(chunk_id, []).extend(found)
            for units in fetched.values():
                units.sort(key=lambda u: u.index)
        with self._lock:
            for chunk_id, units in fetched.items():
                self._cache[chunk_id] = units
            result = {}
            for chunk_id in chunk_ids:
                units = self._cache.get(chunk_id, fetched.get(chunk_id, []))
                if chunk_id in self._cache:
                    self._cache.move_to_end(chunk_id)
                result[chunk_id] = units
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return result


def _stored_units(got: dict[str, Any]) -> dict[str, list[StoredUnit]]:
    """The units of one ``get`` page, by chunk id (in the page's order)."""
    out: dict[str, list[StoredUnit]] = {}
    embeddings = got["embeddings"] if got["embeddings"] is not None else []
    for text, meta, vector in zip(
        got["documents"] or [], got["metadatas"] or [], embeddings, strict=True
    ):
        chunk_id = str(meta["chunk_id"])
        out.setdefault(chunk_id, []).append(
            StoredUnit(
                chunk_id=chunk_id,
                index=int(meta["unit_index"]),
                text=text,
                kind=str(meta["kind"]),
                marker=str(meta.get("marker", "")),
                paragraph=int(meta.get("paragraph", 0)),
                vector=np.asarray(vector, dtype=np.float32),
            )
        )
    return out


class _Snapshot(Protocol):
    units: UnitIndex | None


class UnitSnapshots(Protocol):
    """What :class:`LiveUnitIndex` reads from (the HybridRetriever is one)."""

    def snapshots(self) -> Sequence[_Snapshot]: ...

    def refresh(self) -> object: ...


class LiveUnitIndex(UnitIndex):
    """The units of the retriever's snapshots: the current one, then (for a chunk it does not
    hold) the one it replaced, so a request that retrieved just before a swap still finds the
    units of its passages. Example::

        units = LiveUnitIndex(retriever, units_store)
        units.units_for(["calf-raises#0-1a2b"])
    """

    def __init__(self, source: UnitSnapshots, store: HasCollection) -> None:
        super().__init__(store)
        self.source = source

    def clear(self) -> None:
        """Nothing to drop: each snapshot's units are its own."""

    def units_for(self, chunk_ids: Sequence[str]) -> dict[str, list[StoredUnit]]:
        try:
            return self._from_snapshots(chunk_ids)
        except ChromaError as exc:
            # A lazily fetching snapshot's client was replaced or went stale: once more, on
            # the newest snapshot.
            logger.info("units retried on a new snapshot after %s: %s", type(exc).__name__, exc)
            self.source.refresh()
            return self._from_snapshots(chunk_ids)

    def _from_snapshots(self, chunk_ids: Sequence[str]) -> dict[str, list[StoredUnit]]:
        result: dict[str, list[StoredUnit]] = {chunk_id: [] for chunk_id in chunk_ids}
        wanted = list(dict.fromkeys(chunk_ids))
        for snapshot in self.source.snapshots():
            if not wanted or snapshot.units is None:
                continue
            found = snapshot.units.units_for(wanted)
            for chunk_id, units in found.items():
                if units:
                    result[chunk_id] = units
            wanted = [c for c in wanted if not result[c]]
        return result
