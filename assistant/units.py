"""Answer units (sentences and list items) with the vectors computed for them at ingest time."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from langchain_chroma import Chroma

from assistant.store import get_records


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

    def __init__(self, store: Chroma, cache_size: int = 4096) -> None:
        self.store = store
        self.cache_size = cache_size
        self._cache: OrderedDict[str, list[StoredUnit]] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def units_for(self, chunk_ids: Sequence[str]) -> dict[str, list[StoredUnit]]:
        with self._lock:
            missing = [c for c in chunk_ids if c not in self._cache]
        fetched: dict[str, list[StoredUnit]] = {c: [] for c in missing}
        if missing:
            got = get_records(
                self.store,
                ["documents", "metadatas", "embeddings"],
                where={"chunk_id": {"$in": list(missing)}},
            )
            embeddings = got["embeddings"] if got["embeddings"] is not None else []
            for text, meta, vector in zip(
                got["documents"] or [], got["metadatas"] or [], embeddings, strict=True
            ):
                chunk_id = str(meta["chunk_id"])
                fetched.setdefault(chunk_id, []).append(
                    StoredUnit(
                        chunk_id=chunk_id,
                        index=int(meta["unit_index"]),  # type: ignore[arg-type]
                        text=text,
                        kind=str(meta["kind"]),
                        marker=str(meta.get("marker", "")),
                        paragraph=int(meta.get("paragraph", 0)),  # type: ignore[arg-type]
                        vector=np.asarray(vector, dtype=np.float32),
                    )
                )
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
