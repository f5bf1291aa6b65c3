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

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    or_,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from assistant.types import Answer


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


class UnknownAnswerError(LookupError):
    """Feedback for an answer id that was never stored."""


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder, WAL and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
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
        Base.metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def _begin(self) -> Session:
        return self._session()

    # ----- answers ---------------------------------------------------------------------------
    def record_answer(
        self, answer: Answer, *, question: str, latency_ms: float, channel: str
    ) -> None:
        record = AnswerRecord(
            id=answer.answer_id,
            question=question,
            outcome=answer.outcome,
            confidence=answer.confidence,
            citations=[c.model_dump() for c in answer.citations],
            handoff_reason=answer.handoff.reason,
            answerer=answer.answerer,
            channel=channel,
            latency_ms=round(latency_ms, 2),
        )
        with self._begin() as session, session.begin():
            session.add(record)

    def get_answer(self, answer_id: str) -> AnswerRecord | None:
        with self._begin() as session:
            return session.get(AnswerRecord, answer_id)

    # ----- feedback --------------------------------------------------------------------------
    def add_feedback(
        self, answer_id: str, *, helpful: bool, comment: str | None = None
    ) -> Feedback:
        with self._begin() as session, session.begin():
            if session.get(AnswerRecord, answer_id) is None:
                raise UnknownAnswerError(answer_id)
            record = FeedbackRecord(answer_id=answer_id, helpful=helpful, comment=comment)
            session.add(record)
            session.flush()
            return Feedback(
                record.id, answer_id, helpful, comment, _utc(record.created_at)
            )

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
        """The newest ``limit`` questions that got no_answer or a thumbs down."""
        down = select(FeedbackRecord.answer_id).where(FeedbackRecord.helpful.is_(False))
        query = (
            select(
                AnswerRecord.question,
                AnswerRecord.outcome,
                AnswerRecord.id.in_(down),
                AnswerRecord.created_at,
            )
            .where(or_(AnswerRecord.outcome == "no_answer", AnswerRecord.id.in_(down)))
            .order_by(AnswerRecord.created_at.desc())
            .limit(limit)
        )
        with self._begin() as session:
            rows = session.execute(query).all()
        return [
            GapQuestion(q, outcome == "no_answer", bool(down_flag), _utc(at))
            for q, outcome, down_flag, at in rows
        ]

    def counts(self) -> dict[str, int]:
        with self._begin() as session:
            answers = session.scalar(select(func.count()).select_from(AnswerRecord)) or 0
            feedback = session.scalar(select(func.count()).select_from(FeedbackRecord)) or 0
        return {"answers": answers, "feedback": feedback}

