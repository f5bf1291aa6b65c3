"""The answer log on SQLite and on a real PostgreSQL server: the same behaviour on both,
migrations (fresh, repeated, and a database made by the older ``create_all`` code), retention."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, inspect, text, update

from api.correction_store import CorrectionStore
from api.storage import (
    HEAD_REVISION,
    MIGRATIONS_DIR,
    AnswerRecord,
    Storage,
    UnknownAnswerError,
    _now,
)
from assistant.types import Answer, Citation

HEAD = "0002"


def make_answer(
    answer_id: str, outcome: str = "answered", text: str = "Do it slowly [1]."
) -> Answer:
    citation = Citation(n=1, article_id="calf-raises", title="Calf raises", section="How",
                        url="https://help.example.com/a", snippet="Rise.", score=0.8)  # fmt: skip
    return Answer(answer_id=answer_id, outcome=outcome, answer=text,  # type: ignore[arg-type]
                  citations=[citation], confidence=0.5)  # fmt: skip


@pytest.fixture
def storage(storage_url: str) -> Storage:
    store = Storage(storage_url)
    store.create_schema()
    yield store  # type: ignore[misc]
    store.close()


def test_answers_feedback_and_gaps_round_trip(storage: Storage) -> None:
    storage.record_answer(make_answer("a1"), question="How slow?", latency_ms=3.0, channel="answer")
    storage.record_answer(
        make_answer("a2", "no_answer", "We don't cover that."),
        question="Do you sell socks?", latency_ms=2.0, channel="chat",
    )  # fmt: skip
    stored = storage.get_answer("a1")
    assert stored is not None and stored.answer_text == "Do it slowly [1]."
    assert stored.citations[0]["article_id"] == "calf-raises"
    storage.add_feedback("a1", helpful=False, comment="too vague")
    with pytest.raises(UnknownAnswerError):
        storage.add_feedback("nope", helpful=True)
    [down] = storage.list_feedback(helpful=False)
    assert (down.answer_id, down.question, down.comment) == ("a1", "How slow?", "too vague")
    gaps = {g.answer_id: g for g in storage.gap_questions()}
    assert gaps["a1"].thumbs_down and gaps["a1"].answer == "Do it slowly [1]."
    assert gaps["a2"].no_answer and not gaps["a2"].thumbs_down
    assert storage.counts() == {"answers": 2, "feedback": 1}
    corrections = CorrectionStore(storage)
    cited = [{"article_id": "x", "section": ""}]
    saved = corrections.add(question="q", vector=[0.1], answer="a [1]", citations=cited, author="S")
    assert corrections.update(saved.id, answer="b [1]", author="Kim").answer == "b [1]"  # type: ignore[union-attr]
    assert corrections.delete(saved.id) and corrections.all() == []


def test_schema_is_at_head_with_the_admin_indexes_and_matches_the_models(storage: Storage) -> None:
    assert storage.schema_revision() == HEAD
    storage.create_schema()  # a second start changes nothing
    assert storage.schema_revision() == HEAD
    inspector = inspect(storage.engine)
    indexed = {
        (table, tuple(index["column_names"]))
        for table in ("answers", "feedback")
        for index in inspector.get_indexes(table)
    }
    for wanted in [("answers", ("created_at",)), ("answers", ("outcome",)),
                   ("feedback", ("helpful",)), ("feedback", ("answer_id",))]:  # fmt: skip
        assert wanted in indexed
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with storage.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.check(config)  # raises when the models and the migrations differ


def test_head_revision_is_the_newest_migration_and_a_database_there_opens_without_alembic(
    tmp_path: Path,
) -> None:
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION == HEAD
    url = f"sqlite:///{tmp_path / 'answers.sqlite'}"
    store = Storage(url)
    store.create_schema()
    store.close()
    code = (
        "import sys; from api.storage import Storage; s = Storage(sys.argv[1]); "
        "s.create_schema(); print(s.schema_revision(), 'alembic' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code, url], capture_output=True, text=True,
                         check=True)  # fmt: skip
    assert out.stdout.split() == [HEAD, "False"]


def test_retention_prunes_old_answers_and_their_feedback_in_batches(storage: Storage) -> None:
    for i in range(7):
        storage.record_answer(make_answer(f"old{i}"), question="q", latency_ms=1, channel="answer")
        storage.add_feedback(f"old{i}", helpful=False)
    storage.record_answer(make_answer("new"), question="q", latency_ms=1, channel="answer")
    storage.add_feedback("new", helpful=True)
    with storage.engine.begin() as connection:
        connection.execute(
            update(AnswerRecord).where(AnswerRecord.id.like("old%"))
            .values(created_at=_now() - timedelta(days=91))
        )  # fmt: skip
    assert storage.prune(older_than_days=0) == 0  # 0 keeps everything
    assert storage.prune(older_than_days=90, batch=3) == 7
    assert storage.counts() == {"answers": 1, "feedback": 1}
    assert storage.get_answer("new") is not None


# The answer log as the code before migrations made it (SQLAlchemy's create_all of that time).
LEGACY_DDL = [
    """CREATE TABLE answers (id VARCHAR(64) NOT NULL, question TEXT NOT NULL,
    outcome VARCHAR(32) NOT NULL, confidence FLOAT NOT NULL, citations JSON NOT NULL,
    handoff_reason VARCHAR(128), answerer VARCHAR(32) NOT NULL, channel VARCHAR(16) NOT NULL,
    latency_ms FLOAT NOT NULL, created_at DATETIME NOT NULL, PRIMARY KEY (id))""",
    "CREATE INDEX ix_answers_outcome ON answers (outcome)",
    "CREATE INDEX ix_answers_created_at ON answers (created_at)",
    """CREATE TABLE feedback (id INTEGER NOT NULL, answer_id VARCHAR(64) NOT NULL,
    helpful BOOLEAN NOT NULL, comment TEXT, created_at DATETIME NOT NULL, PRIMARY KEY (id),
    FOREIGN KEY(answer_id) REFERENCES answers (id))""",
    "CREATE INDEX ix_feedback_answer_id ON feedback (answer_id)",
    """INSERT INTO answers VALUES ('legacy1', 'How do I warm up?', 'no_answer', 0.1, '[]', NULL,
    'extractive', 'answer', 5.0, '2026-11-30 10:00:00.000000')""",
    "INSERT INTO feedback VALUES (1, 'legacy1', 0, 'kept', '2026-11-30 10:01:00.000000')",
]


@pytest.mark.parametrize("had_answer_text", [False, True])
def test_a_database_made_before_migrations_is_stamped_and_upgraded(
    tmp_path: Path, had_answer_text: bool
) -> None:
    db = tmp_path / "answers.sqlite"
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        for statement in LEGACY_DDL:
            connection.execute(text(statement))
        if had_answer_text:  # what the ALTER TABLE of the pre-migration code added
            connection.execute(text("ALTER TABLE answers ADD COLUMN answer_text TEXT"))
    engine.dispose()
    storage = Storage(f"sqlite:///{db}")
    storage.create_schema()
    assert storage.schema_revision() == HEAD
    [kept] = storage.list_feedback()
    assert (kept.answer_id, kept.comment, kept.question) == ("legacy1", "kept", "How do I warm up?")
    assert storage.gap_questions()[0].answer == ""  # stored before the text was kept
    storage.record_answer(make_answer("new"), question="q", latency_ms=1, channel="answer")
    assert storage.get_answer("new").answer_text == "Do it slowly [1]."  # type: ignore[union-attr]
    assert CorrectionStore(storage).all() == []  # the table made before corrections is added
    storage.close()


def test_a_postgres_url_without_the_driver_is_one_line(tmp_path: Path) -> None:
    """`serve` with psycopg missing (its import blocked) exits with one line, no traceback."""
    script = (
        "import sys; sys.modules['psycopg'] = None; sys.modules['psycopg2'] = None; "
        "sys.argv = ['help-assistant', 'serve']; from cli.main import main; main()"
    )
    env = {"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "ASSISTANT_DATA_DIR": str(tmp_path),
           "ASSISTANT_DATABASE_URL": "postgresql://assistant@127.0.0.1:5432/answers"}  # fmt: skip
    run = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True,
                         text=True, timeout=120, cwd=Path(__file__).parents[2])  # fmt: skip
    assert run.returncode != 0
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert "ASSISTANT_DATABASE_URL" in lines[0] and "postgres extra" in lines[0]
