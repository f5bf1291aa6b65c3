"""Answers and feedback, stored through SQLAlchemy 2 (SQLite in ``data_dir`` by default).

Every answer the API gives is recorded (question, outcome, citations, latency) so feedback can
refer to it and ``/v1/admin/unanswered`` can find content gaps. Any SQLAlchemy URL works
(``ASSISTANT_DATABASE_URL``: SQLite or PostgreSQL with the ``postgres`` extra); SQLite gets WAL
journaling so readers never block the writer. The schema is Alembic's (``api/migrations/``):
``create_schema`` upgrades to the newest revision, stamping a database made by the older
``create_all`` code first. Answers older than the retention are pruned in small batches.

Example::

    storage = Storage("sqlite:///.data/answers.sqlite")
    storage.create_schema()
    storage.prune(older_than_days=90)
    storage.record_answer(answer, question="How do I warm up?", latency_ms=12.0, channel="answer")
    storage.add_feedback(answer.answer_id, helpful=True)
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    func,
    insert,
    inspect,
    or_,
    select,
)
from sqlalchemy import (
    text as sql_text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from assistant.settings import StartupError
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
#: Rows deleted per transaction when pruning: short transactions never hold the writer long.
PRUNE_BATCH = 500
#: Seconds between two prunes started by writes.
PRUNE_INTERVAL = 3600.0
#: The revision a database made by ``create_all`` (before migrations) is stamped at.
LEGACY_REVISION = "0001"
#: The newest migration in ``api/migrations/versions`` (a test holds the two in step): a
#: database already there is opened without loading Alembic.
HEAD_REVISION = "0002"
#: Postgres advisory lock taken while migrating: workers starting together migrate one at a time.
_MIGRATION_LOCK = 7_212_026
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


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


#: The answers table itself: inserting into it (SQLAlchemy Core) skips the ORM's bulk path.
_ANSWERS = cast(Table, AnswerRecord.__table__)


class FeedbackRecord(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    answer_id: Mapped[str] = mapped_column(ForeignKey("answers.id"), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean, index=True)
    comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=_now, index=True)


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


#: PostgreSQL's SQLSTATE for a full disk (``disk_full``), as psycopg reports it.
PG_DISK_FULL = "53100"
#: The one line for a full disk under the answers database (it names the setting, never a path:
#: clients see it in 503 bodies and /readyz).
ANSWERS_DISK_FULL = (
    "Answers and feedback cannot be stored: the disk of the answers database "
    "(ASSISTANT_DATABASE_URL; by default in ASSISTANT_DATA_DIR) is full."
)


def is_disk_full(exc: BaseException) -> bool:
    """Whether a database error is a full disk: SQLite's SQLITE_FULL, PostgreSQL's disk_full,
    or ENOSPC, read from the driver's error codes (not its text)."""
    orig = getattr(exc, "orig", exc)
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        return code is not None and code & 0xFF == sqlite3.SQLITE_FULL
    if getattr(orig, "sqlstate", None) == PG_DISK_FULL:
        return True
    return isinstance(orig, OSError) and orig.errno == errno.ENOSPC


def error_kind(exc: BaseException) -> str:
    """A short label for a database failure (the not-stored metric's ``reason``)."""
    text = str(getattr(exc, "orig", exc)).lower()
    if "readonly" in text or "read-only" in text or "read only" in text:
        return "read_only"
    if _is_locked(exc):
        return "locked"
    if is_disk_full(exc):
        return "disk_full"
    return "unavailable"


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
    if is_disk_full(exc):
        return StorageProblem(ANSWERS_DISK_FULL, 60)
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


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (plain or ``file:`` URI), or None (memory, another database)."""
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):
        database = database.removeprefix("file:").partition("?")[0]
    return Path(database)


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder, WAL and a busy timeout.

    Raises :class:`StartupError` (one line) when the URL's driver is not installed."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        try:
            return create_engine(url, pool_pre_ping=True, hide_parameters=True)
        except ImportError as exc:
            raise StartupError(
                f"ASSISTANT_DATABASE_URL needs a driver that is not installed ({exc.name}): "
                "install help-assistant's postgres extra (pip install psycopg)"
            ) from None
    database = parsed.database or ""
    if database not in ("", ":memory:") and not database.startswith("file:"):  # URI: as is
        folder = Path(database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            # Not fatal: answers are still served, counted as not stored.
            logger.error("the answers database folder %s cannot be made: %s", folder, exc.strerror)
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


def read_only_problem(url: str) -> str | None:
    """One line naming the SQLite file or folder that cannot be written, or None.

    ``os.access`` sees a read-only mount (EROFS) even as root; file modes only for other users.
    A ``mode=ro`` URI is read-only by request."""
    path = sqlite_path(url)
    if path is None:
        return None
    if "mode=ro" in url:
        return f"the answers database {path} is opened read-only (mode=ro)"
    target = path if path.exists() else path.parent
    if target.exists() and not os.access(target, os.W_OK):
        kind = "database" if target == path else "database folder"
        return f"the answers {kind} {target} is read-only"
    return None


class Storage:
    """Synchronous store of answers and feedback; call it from a worker thread.

    ``problem`` is why answers are not being stored right now (the last write failed, or the
    schema could not be made), or None: readiness reports it as degraded. With
    ``retention_days``, a write starts a background prune at most every
    :data:`PRUNE_INTERVAL` seconds."""

    def __init__(self, url: str, *, retention_days: int = 0) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self.problem: str | None = None
        #: why the schema could not be made (a full disk at start-up), or None: the writes
        #: that fail for want of tables report it rather than "no such table"
        self._schema_problem: str | None = None
        #: answers older than this many days are pruned (0: kept forever)
        self.retention_days = retention_days
        self._prune_lock = threading.Lock()
        self._pruned_at = time.monotonic()  # create_schema's caller prunes at start-up

    def create_schema(self) -> None:
        """Upgrade the database to the newest migration (``api/migrations``). A database made
        by ``create_all`` before migrations existed is stamped at :data:`LEGACY_REVISION`
        first, so its tables are kept and only what is missing is added. One already at
        :data:`HEAD_REVISION`, with every column the code writes, is left as it is (what the
        upgrade would do) without loading Alembic (~0.3 s of a server's start-up)."""
        try:
            if not self._up_to_date():
                self._migrate()
        except SQLAlchemyError as exc:
            self.problem = self._schema_problem = describe_storage_error(exc).message
            raise
        self._schema_problem = None
        self.problem = read_only_problem(self.url)

    def _up_to_date(self) -> bool:
        with self.engine.connect() as connection:
            inspector = inspect(connection)
            if not {"alembic_version", "answers"} <= set(inspector.get_table_names()):
                return False
            query = sql_text("SELECT version_num FROM alembic_version")
            versions = connection.execute(query).scalars().all()
            columns = {c["name"] for c in inspector.get_columns("answers")}
        return versions == [HEAD_REVISION] and "answer_text" in columns

    def _migrate(self) -> None:
        from alembic import command
        from alembic.config import Config

        from api import correction_store  # noqa: F401 - registers the corrections table

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
            config.attributes["connection"] = connection
            tables = set(inspect(connection).get_table_names())
            if "answers" in tables and "alembic_version" not in tables:
                logger.info("answers database made before migrations: stamped at %s",
                            LEGACY_REVISION)  # fmt: skip
                command.stamp(config, LEGACY_REVISION)
            command.upgrade(config, "head")
            # A database stamped by hand, or edited, may lack the text column the code
            # writes: add it rather than fail every answer.
            columns = {c["name"] for c in inspect(connection).get_columns("answers")}
            if "answer_text" not in columns:
                connection.execute(sql_text("ALTER TABLE answers ADD COLUMN answer_text TEXT"))

    def schema_revision(self) -> str | None:
        """The Alembic revision the database is at (None before any)."""
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(sql_text("SELECT version_num FROM alembic_version")).scalar()

    def close(self) -> None:
        self.engine.dispose()

    def probe(self) -> str | None:
        """Why the answer log cannot be used now (a failed write, or no connection), or None."""
        try:
            with self.engine.connect() as connection:
                connection.execute(sql_text("SELECT 1"))
        except SQLAlchemyError as exc:
            return describe_storage_error(exc).message
        return self.problem

    # ----- retention -------------------------------------------------------------------------
    def prune(self, *, older_than_days: int, batch: int | None = None) -> int:
        """Delete answers older than ``older_than_days`` (with their feedback), ``batch`` rows
        per transaction; returns the answers deleted. 0 days keeps everything."""
        if older_than_days <= 0:
            return 0
        batch = batch or PRUNE_BATCH
        cutoff = _now() - timedelta(days=older_than_days)
        deleted = 0
        while True:

            def one_batch() -> int:
                with self._begin() as session, session.begin():
                    ids = list(
                        session.scalars(
                            select(AnswerRecord.id)
                            .where(AnswerRecord.created_at < cutoff)
                            .limit(batch)
                        )
                    )
                    if ids:
                        session.execute(
                            delete(FeedbackRecord).where(FeedbackRecord.answer_id.in_(ids))
                        )
                        session.execute(delete(AnswerRecord).where(AnswerRecord.id.in_(ids)))
                    return len(ids)

            count = with_retry(one_batch)
            deleted += count
            if count < batch:
                break
        if deleted:
            logger.info("pruned %d answers older than %d days", deleted, older_than_days)
        return deleted

    def prune_every(self, seconds: float, *, older_than_days: int) -> int:
        """:meth:`prune` at most once per ``seconds`` (one caller at a time; others skip)."""
        now = time.monotonic()
        if now - self._pruned_at < seconds or not self._prune_lock.acquire(blocking=False):
            return 0
        try:
            self._pruned_at = now
            return self.prune(older_than_days=older_than_days)
        finally:
            self._prune_lock.release()

    def _begin(self) -> Session:
        return self._session()

    # ----- answers ---------------------------------------------------------------------------
    def record_answer(
        self, answer: Answer, *, question: str, latency_ms: float, channel: str
    ) -> None:
        self.record_answers([(answer, question, latency_ms, channel)])

    def record_answers(self, items: Sequence[tuple[Answer, str, float, str]]) -> None:
        """Store (answer, question, latency ms, channel) rows in one transaction: all or none
        (the background writer stores a batch at a time, answer by answer only on a failure)."""
        now = _now()
        rows: list[dict[str, Any]] = [
            {
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
                "created_at": now,
            }
            for answer, question, latency_ms, channel in items
        ]

        def write() -> None:
            # A Core executemany, not ORM objects: the ORM's unit of work more than doubled
            # the writer's CPU per answer (about 135 against 40 to 60 us: python -m
            # eval.bench.answer_log), taken from the answers served meanwhile.
            with self._begin() as session, session.begin():
                session.execute(insert(_ANSWERS), rows)

        try:
            with_retry(write)
        except SQLAlchemyError as exc:
            self.problem = self._schema_problem or describe_storage_error(exc).message
            raise
        self.problem = None
        if self.retention_days and time.monotonic() - self._pruned_at >= PRUNE_INTERVAL:
            threading.Thread(target=self._prune_in_background, daemon=True).start()

    def _prune_in_background(self) -> None:
        try:
            self.prune_every(PRUNE_INTERVAL, older_than_days=self.retention_days)
        except SQLAlchemyError as exc:
            logger.warning("pruning the answer log failed: %s", describe_storage_error(exc).message)

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
