"""Agents' corrections, stored in the answers database (the ``corrections`` table).

A correction is the right answer to one question, written by a support agent, with the
articles it cites. The question's embedding is stored with it, so matching a new question costs
no embedding beyond the one the assistant computes anyway. Example::

    store = CorrectionStore(storage)
    saved = store.add(question="q", vector=[...], answer="a [1]",
                      citations=[{"article_id": "calf-raises", "section": ""}], author="Sam")
    store.update(saved.id, answer="better [1]", author="Kim")
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from api.storage import Base, Storage, _now, _utc, with_retry

logger = logging.getLogger("api.answers")


class CorrectionRecord(Base):
    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    question: Mapped[str] = mapped_column(Text)
    question_vector: Mapped[list[float]] = mapped_column(JSON)
    answer: Mapped[str] = mapped_column(Text)
    #: ``[{"article_id": ..., "section": ...}]``, in the order of the ``[n]`` markers.
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: Short phrases the right answer must contain (the evaluation case's required facts).
    facts: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The answer that was wrong, when the correction was made from one.
    answer_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    author: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)
    updated_by: Mapped[str | None] = mapped_column(String(80), nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


@dataclass(frozen=True)
class Correction:
    id: int
    question: str
    answer: str
    citations: list[dict[str, Any]]
    author: str
    created_at: datetime
    facts: list[str] = field(default_factory=list)
    answer_id: str | None = None
    updated_by: str | None = None
    updated_at: datetime | None = None
    vector: list[float] = field(default_factory=list, repr=False)


def _correction(r: CorrectionRecord) -> Correction:
    return Correction(
        id=r.id,
        question=r.question,
        answer=r.answer,
        citations=list(r.citations),
        facts=list(r.facts or []),
        author=r.author,
        created_at=_utc(r.created_at),
        answer_id=r.answer_id,
        updated_by=r.updated_by,
        updated_at=_utc(r.updated_at) if r.updated_at else None,
        vector=list(r.question_vector),
    )


#: How long a process answers with its copy of the corrections before reading them again (every
#: answer looks them up: a read per answer cost 1-9 ms). An edit reaches the process that made
#: it at once, and the other workers of a multi-worker server within this many seconds.
CACHE_SECONDS = 2.0


@dataclass(frozen=True)
class _Copy:
    read_at: float
    corrections: list[Correction]
    #: a hash of what the corrections say: the same after a re-read that found no change, so
    #: the answer cache (``api/answer_cache.py``) keeps its answers across re-reads
    version: str


_CACHE: weakref.WeakKeyDictionary[Storage, _Copy] = weakref.WeakKeyDictionary()
#: storages whose stale copy one thread is reading again (the others answer with the copy)
_READING: weakref.WeakSet[Storage] = weakref.WeakSet()
#: bumped by each write of this process: a read begun before it must not be kept
_WRITES: weakref.WeakKeyDictionary[Storage, int] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def _version(corrections: list[Correction]) -> str:
    """What a served correction is made of (an edit bumps ``updated_at``; a removed one and a
    new one with its id differ in ``created_at``); not the facts, which no answer shows."""
    content = [
        (c.id, c.question, c.answer, c.citations, c.created_at, c.updated_at) for c in corrections
    ]
    return hashlib.sha256(json.dumps(content, default=str).encode()).hexdigest()[:16]


def _current(storage: Storage) -> _Copy:
    """The copy, read again once it is :data:`CACHE_SECONDS` old by one thread at a time (the
    others keep answering with it meanwhile, as the retriever does with its snapshot); after
    this process's own write there is no copy, and every reader reads."""
    now = time.monotonic()
    with _CACHE_LOCK:
        hit = _CACHE.get(storage)
        if hit is not None and (now - hit.read_at < CACHE_SECONDS or storage in _READING):
            return hit
        _READING.add(storage)
        writes = _WRITES.get(storage, 0)
    return _read(storage, now, writes)


def _read(storage: Storage, now: float, writes: int) -> _Copy:
    try:
        corrections = CorrectionStore(storage).all()
    finally:
        with _CACHE_LOCK:
            _READING.discard(storage)
    copy = _Copy(now, corrections, _version(corrections))
    with _CACHE_LOCK:
        if _WRITES.get(storage, 0) == writes:  # else a write came in between: read again next
            _CACHE[storage] = copy
    return copy


def _read_behind(storage: Storage, now: float, writes: int) -> None:
    try:
        _read(storage, now, writes)
    except Exception as exc:  # noqa: BLE001 - a thread of its own: nobody else would see it
        logger.warning("corrections unreadable, dropping this process's copy: %s", exc)
        with _CACHE_LOCK:  # the next answers read them themselves (and answer without them)
            _CACHE.pop(storage, None)


def current_corrections(storage: Storage) -> list[Correction]:
    """Every correction, newest first, as of at most :data:`CACHE_SECONDS` ago (plus one read
    of them, while another thread reads them again)."""
    return _current(storage).corrections


def corrections_version(storage: Storage) -> str:
    """A hash of :func:`current_corrections` (reads the database when the copy is due)."""
    return _current(storage).version


def copied_corrections_version(storage: Storage) -> str | None:
    """The version of this process's copy, never reading the database, so an event loop may
    call it; None when there is no copy (this process wrote, or nothing was read yet). A copy
    :data:`CACHE_SECONDS` old is read again behind, in a thread started here, while this and
    the other answers go on with it, as they do while any thread reads it again."""
    now = time.monotonic()
    with _CACHE_LOCK:
        hit = _CACHE.get(storage)
        if hit is None:
            return None
        if now - hit.read_at < CACHE_SECONDS or storage in _READING:
            return hit.version
        _READING.add(storage)
        writes = _WRITES.get(storage, 0)
    threading.Thread(target=_read_behind, args=(storage, now, writes),
                     name="corrections-read", daemon=True).start()  # fmt: skip
    return hit.version


def _forget(storage: Storage) -> None:
    with _CACHE_LOCK:
        _CACHE.pop(storage, None)
        _WRITES[storage] = _WRITES.get(storage, 0) + 1


class CorrectionStore:
    """Create, list, edit and remove corrections (synchronous: call it from a worker thread)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def add(
        self,
        *,
        question: str,
        vector: list[float],
        answer: str,
        citations: list[dict[str, Any]],
        author: str,
        facts: list[str] | None = None,
        answer_id: str | None = None,
    ) -> Correction:
        def write() -> Correction:
            with self.storage._begin() as session, session.begin():
                record = CorrectionRecord(
                    question=question, question_vector=vector, answer=answer,
                    citations=citations, facts=facts or [], author=author, answer_id=answer_id,
                )  # fmt: skip
                session.add(record)
                session.flush()
                return _correction(record)

        try:
            return with_retry(write)
        finally:
            _forget(self.storage)

    def get(self, correction_id: int) -> Correction | None:
        with self.storage._begin() as session:
            record = session.get(CorrectionRecord, correction_id)
            return _correction(record) if record else None

    def all(self) -> list[Correction]:
        """Newest first."""
        with self.storage._begin() as session:
            rows = session.scalars(select(CorrectionRecord).order_by(CorrectionRecord.id.desc()))
            return [_correction(r) for r in rows]

    def update(
        self,
        correction_id: int,
        *,
        author: str,
        question: str | None = None,
        vector: list[float] | None = None,
        answer: str | None = None,
        citations: list[dict[str, Any]] | None = None,
        facts: list[str] | None = None,
    ) -> Correction | None:
        """The changed correction, or None when there is none with that id."""

        def write() -> Correction | None:
            with self.storage._begin() as session, session.begin():
                record = session.get(CorrectionRecord, correction_id)
                if record is None:
                    return None
                if question is not None and vector is not None:
                    record.question, record.question_vector = question, vector
                if answer is not None:
                    record.answer = answer
                if citations is not None:
                    record.citations = citations
                if facts is not None:
                    record.facts = facts
                record.updated_by, record.updated_at = author, _now()
                session.flush()
                return _correction(record)

        try:
            return with_retry(write)
        finally:
            _forget(self.storage)

    def delete(self, correction_id: int) -> bool:
        def write() -> bool:
            with self.storage._begin() as session, session.begin():
                record = session.get(CorrectionRecord, correction_id)
                if record is None:
                    return False
                session.delete(record)
                return True

        try:
            return with_retry(write)
        finally:
            _forget(self.storage)
