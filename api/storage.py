"""Answers and feedback, stored through SQLAlchemy 2 (SQLite in ``data_dir`` by default).

Every answer the API gives is recorded (question, outcome, citations, latency) so feedback can
refer to it and ``/v1/admin/unanswered`` can find content gaps. Any SQLAlchemy URL works
(``ASSISTANT_DATABASE_URL``); SQLite gets WAL journaling so readers never block the writer.

Example::

    storage = Storage("sqlite:///.data/answers.sqlite")
    storage.create_schema()
    storage.record_answer(answer, question="How do I warm up?", latency_ms=12.0, channel="answer")
    storage.add_feedback(answer.answer_id, helpful=True)
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    inspect,
    or_,
    select,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from assistant.types import Answer

logger = logging.getLogger("api.storage")
T = TypeVar("T")
#: A write that finds the database locked is tried this many times in all, waiting a little
#: longer before each retry (0.1, 0.2, 0.4 s). SQLite's busy timeout already waits for most
#: locks; the retry covers the cases it returns at once (a WAL snapshot gone stale, a deadlock)
#: and longer locks. Worst case about 4 x BUSY_TIMEOUT + 0.7 s, then a 503 saying "locked".
WRITE_ATTEMPTS = 4
#: SQLite's own wait for a lock held by another connection, in seconds.
BUSY_TIMEOUT = 2.0


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    # SQLite keeps no offset; every timestamp we write is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class AnswerRecord(Base):
    __tablename__ = "answers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    question: Mapped[str] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(32), index=True)
    confidence: Mapped[float] = mapped_column(Float)
    citations: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    handoff_reason: Mapped[str | None] = mapped_column(String(128), nullable=True)
    answerer: Mapped[str] = mapped_column(String(32))
    #: The answer text given (the review screen shows it); NULL in rows stored before it was kept.
    answer_text: Mapped[str | None] = mapped_column(Text, nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)


class FeedbackRecord(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    answer_id: Mapped[str] = mapped_column(ForeignKey("answers.id"), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now)


@dataclass(frozen=True)
class Feedback:
    id: int
    answer_id: str
    helpful: bool
    comment: str | None
    created_at: datetime
    question: str = ""
    outcome: str = ""


@dataclass(frozen=True)
class GapQuestion:
    """A question that got no_answer or a thumbs down (input of the content-gap report)."""

    question: str
    no_answer: bool
    thumbs_down: bool
    created_at: datetime
    answer_id: str = ""
    answer: str = ""


class UnknownAnswerError(LookupError):
    """Feedback for an answer id that was never stored."""


class StorageProblem(RuntimeError):
    """The answers database cannot do what was asked; ``message`` says why, for people."""

    def __init__(self, message: str, retry_after: int = 30) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


def _is_locked(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database table is locked" in text or "busy" in text


def describe_storage_error(exc: BaseException) -> StorageProblem:
    """A clear message for a database failure; never the URL or a path."""
    text = str(getattr(exc, "orig", exc)).lower()
    if "readonly" in text or "read-only" in text or "read only" in text:
        return StorageProblem(
            "Answers and feedback cannot be stored: the answers database is read-only. "
            "Feedback stored before can still be read.",
            retry_after=60,
        )
    if _is_locked(exc):
        return StorageProblem(
            "The answers database is locked by another process; try again in a few seconds.",
            retry_after=2,
        )
    if "disk" in text and "full" in text:
        return StorageProblem("Answers and feedback cannot be stored: the disk is full.", 60)
    if "unable to open" in text:
        return StorageProblem("The answers database cannot be opened.", 60)
    return StorageProblem("Answers and feedback cannot be stored right now.")


def with_retry(write: Callable[[], T], attempts: int | None = None) -> T:
    """Run ``write`` (one transaction), again after a short wait while the database is locked."""
    attempts = attempts or WRITE_ATTEMPTS
    delay = 0.1
    for attempt in range(1, attempts + 1):
        try:
            return write()
        except OperationalError as exc:
            if not _is_locked(exc) or attempt == attempts:
                raise
            logger.warning("database locked; write attempt %d of %d", attempt, attempts)
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")  # pragma: no cover


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder, WAL and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    database = parsed.database or ""
    if database not in ("", ":memory:") and not database.startswith("file:"):  # URI: as is
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: errors (and so logs) never carry the questions or comments written.
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT},
        hide_parameters=True,
    )

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except sqlite3.OperationalError as exc:
            # A read-only database (file, mount or mode=ro) keeps its journal mode; reads work.
            logger.warning("cannot switch the answers database to WAL: %s", exc)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


class Storage:
    """Synchronous store of answers and feedback; call it from a worker thread."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def create_schema(self) -> None:
        from api import correction_store  # noqa: F401 - registers the corrections table

        Base.metadata.create_all(self.engine)
        # create_all adds missing tables, never missing columns: databases made before the
        # answer text was stored get the nullable column here.
        if "answer_text" not in {c["name"] for c in inspect(self.engine).get_columns("answers")}:
            with self.engine.begin() as connection:
                connection.execute(sql_text("ALTER TABLE answers ADD COLUMN answer_text TEXT"))

    def close(self) -> None:
        self.engine.dispose()

    def _begin(self) -> Session:
        return self._session()

    # ----- answers ---------------------------------------------------------------------------
    def record_answer(
        self, answer: Answer, *, question: str, latency_ms: float, channel: str
    ) -> None:
        fields = {
            "id": answer.answer_id,
            "question": question,
            "outcome": answer.outcome,
            "confidence": answer.confidence,
            "citations": [c.model_dump() for c in answer.citations],
            "handoff_reason": answer.handoff.reason,
            "answerer": answer.answerer,
            "answer_text": answer.answer,
            "channel": channel,
            "latency_ms": round(latency_ms, 2),
        }

        def write() -> None:
            with self._begin() as session, session.begin():
                session.add(AnswerRecord(**fields))

        with_retry(write)

    def get_answer(self, answer_id: str) -> AnswerRecord | None:
        with self._begin() as session:
            return session.get(AnswerRecord, answer_id)

    # ----- feedback --------------------------------------------------------------------------
    def add_feedback(
        self, answer_id: str, *, helpful: bool, comment: str | None = None
    ) -> Feedback:

        def write() -> Feedback:
            with self._begin() as session, session.begin():
                if session.get(AnswerRecord, answer_id) is None:
                    raise UnknownAnswerError(answer_id)
                record = FeedbackRecord(answer_id=answer_id, helpful=helpful, comment=comment)
                session.add(record)
                session.flush()
                return Feedback(record.id, answer_id, helpful, comment, _utc(record.created_at))

        return with_retry(write)

    def list_feedback(
        self, *, limit: int = 100, offset: int = 0, helpful: bool | None = None
    ) -> list[Feedback]:
        """Newest first, with the question and outcome of the answer rated."""
        query = (
            select(FeedbackRecord, AnswerRecord.question, AnswerRecord.outcome)
            .join(AnswerRecord, AnswerRecord.id == FeedbackRecord.answer_id)
            .order_by(FeedbackRecord.id.desc())
            .limit(limit)
            .offset(offset)
        )
        if helpful is not None:
            query = query.where(FeedbackRecord.helpful.is_(helpful))
        with self._begin() as session:
            rows = session.execute(query).all()
        return [
            Feedback(f.id, f.answer_id, f.helpful, f.comment, _utc(f.created_at), q, o)
            for f, q, o in rows
        ]

    def gap_questions(self, limit: int = 2000) -> list[GapQuestion]:
        """The newest ``limit`` questions that got no_answer or a thumbs down, each with the
        answer text that was given."""
        down = select(FeedbackRecord.answer_id).where(FeedbackRecord.helpful.is_(False))
        query = (
            select(
                AnswerRecord.question,
                AnswerRecord.outcome,
                AnswerRecord.id.in_(down),
                AnswerRecord.created_at,
                AnswerRecord.id,
                AnswerRecord.answer_text,
            )
            .where(or_(AnswerRecord.outcome == "no_answer", AnswerRecord.id.in_(down)))
            .order_by(AnswerRecord.created_at.desc())
            .limit(limit)
        )
        with self._begin() as session:
            rows = session.execute(query).all()
        return [
            GapQuestion(q, outcome == "no_answer", bool(down_flag), _utc(at), aid, given or "")
            for q, outcome, down_flag, at, aid, given in rows
        ]

    def counts(self) -> dict[str, int]:
        with self._begin() as session:
            answers = session.scalar(select(func.count()).select_from(AnswerRecord)) or 0
            feedback = session.scalar(select(func.count()).select_from(FeedbackRecord)) or 0
        return {"answers": answers, "feedback": feedback}
