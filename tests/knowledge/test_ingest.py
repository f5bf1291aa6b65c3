"""Incremental ingest against the real model and a real embedded Chroma."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from assistant.chunks import UNITS_SUFFIX
from assistant.settings import Settings
from assistant.store import make_chroma_client
from knowledge.ingest import run_ingest
from tests.conftest import ROOT, copy_articles

SMALL = ["calf-raises", "quadripod-balance", "warm-up-before-running"]


def store_ids(settings: Settings, suffix: str = "") -> set[str]:
    client = make_chroma_client(settings)
    collection = client.get_collection(settings.collection + suffix)
    return set(collection.get(include=[])["ids"])


def chunk_articles(settings: Settings) -> dict[str, int]:
    client = make_chroma_client(settings)
    got = client.get_collection(settings.collection).get(include=["metadatas"])
    counts: dict[str, int] = {}
    for meta in got["metadatas"] or []:
        counts[str(meta["article_id"])] = counts.get(str(meta["article_id"]), 0) + 1
    return counts


@pytest.fixture
def small(tmp_path: Path) -> tuple[Settings, Path]:
    articles = copy_articles(tmp_path / "articles", SMALL)
    return Settings(data_dir=tmp_path / "data", articles_dir=[articles]), articles


def test_rerun_on_unchanged_articles_embeds_nothing(
    small: tuple[Settings, Path], embeddings: Embeddings
) -> None:
    settings, _ = small
    first = run_ingest(settings, embeddings)
    assert first.articles == 3 and first.chunks_added == first.chunks > 0
    assert len(store_ids(settings)) == first.chunks
    assert len(store_ids(settings, UNITS_SUFFIX)) == first.units > first.chunks

    embedded: list[int] = []
    second = run_ingest(settings, embeddings, progress=lambda stage, n: embedded.append(n))
    assert embedded == []
    assert second.chunks_added == 0 and second.chunks_skipped == first.chunks
    assert second.chunks_deleted == 0 and second.articles_changed == []
    assert second.kb_version == first.kb_version


def test_editing_one_article_reembeds_only_its_chunks(
    small: tuple[Settings, Path], embeddings: Embeddings
) -> None:
    settings, articles = small
    first = run_ingest(settings, embeddings)
    before = chunk_articles(settings)
    path = articles / "calf-raises.md"
    path.write_text(
        path.read_text().replace("Rest about one minute between sets.", "Rest 90 s between sets."),
        encoding="utf-8",
    )
    embedded: list[int] = []
    second = run_ingest(settings, embeddings, progress=lambda stage, n: embedded.append(n))
    assert second.articles_changed == ["calf-raises"]
    assert second.chunks_added == 1 and second.chunks_deleted == 1
    assert sum(embedded) == second.chunks_added + second.units_added
    assert chunk_articles(settings) == before
    assert second.kb_version != first.kb_version
    docs = (
        make_chroma_client(settings)
        .get_collection(settings.collection)
        .get(where={"article_id": "calf-raises"}, include=["documents"])["documents"]
    )
    assert any("Rest 90 s between sets." in d for d in docs or [])
    assert not any("Rest about one minute" in d for d in docs or [])


def test_deleting_an_article_removes_its_chunks(
    small: tuple[Settings, Path], embeddings: Embeddings
) -> None:
    settings, articles = small
    run_ingest(settings, embeddings)
    n_warmup = chunk_articles(settings)["warm-up-before-running"]
    (articles / "warm-up-before-running.md").unlink()
    report = run_ingest(settings, embeddings)
    assert report.articles_removed == ["warm-up-before-running"]
    assert report.chunks_deleted == n_warmup
    assert "warm-up-before-running" not in chunk_articles(settings)
    units = make_chroma_client(settings).get_collection(settings.collection + UNITS_SUFFIX)
    assert units.get(where={"article_id": "warm-up-before-running"})["ids"] == []


def test_bad_files_are_reported_and_good_files_still_ingested(
    small: tuple[Settings, Path], embeddings: Embeddings
) -> None:
    settings, articles = small
    (articles / "broken.md").write_text("---\nid: [oops\n---\nbody\n", encoding="utf-8")
    (articles / "empty.md").write_text("", encoding="utf-8")
    (articles / "latin1.md").write_bytes("---\nid: x\ntitle: caf\xe9\n---\nhi".encode("latin-1"))
    (articles / "notes.docx").write_bytes(b"PK\x03\x04")
    dup = (articles / "calf-raises.md").read_text().replace("title: Calf raises", "title: Copy")
    (articles / "zz-duplicate.md").write_text(dup, encoding="utf-8")
    report = run_ingest(settings, embeddings)
    reasons = {Path(r.path).name: r.reason for r in report.rejected}
    assert set(reasons) == {"broken.md", "empty.md", "latin1.md", "notes.docx", "zz-duplicate.md"}
    assert "UTF-8" in reasons["latin1.md"] and "duplicate" in reasons["zz-duplicate.md"]
    assert report.articles == 3 and not report.ok
    assert set(chunk_articles(settings)) == set(SMALL)


def test_a_broken_file_never_deletes_the_article_it_held(
    small: tuple[Settings, Path], embeddings: Embeddings
) -> None:
    settings, articles = small
    run_ingest(settings, embeddings)
    (articles / "quadripod-balance.md").write_text("---\ntitle: [broken\n---\n", encoding="utf-8")
    report = run_ingest(settings, embeddings)
    assert report.pruning_skipped and report.articles_removed == []
    assert "quadripod-balance" in chunk_articles(settings)


def test_strict_mode_rejects_everything_on_a_bad_file(
    small: tuple[Settings, Path], tmp_path: Path
) -> None:
    settings, articles = small
    (articles / "empty.md").write_text("", encoding="utf-8")
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(settings.data_dir)}
    proc = subprocess.run(
        [sys.executable, "-m", "cli.main", "ingest", str(articles), "--strict"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 2, proc.stderr
    assert "empty.md" in proc.stderr and "nothing was ingested" in proc.stderr
    assert "Traceback" not in proc.stderr


def _records(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.2) as conn:
            return int(conn.execute("select count(*) from upsertion_record").fetchone()[0])
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_ingest_killed_midway_then_rerun_leaves_exact_index(
    tmp_path: Path, embeddings: Embeddings
) -> None:
    articles = copy_articles(tmp_path / "articles")
    killed = Settings(data_dir=tmp_path / "killed", articles_dir=[articles])
    env = {**os.environ, "ASSISTANT_DATA_DIR": str(killed.data_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli.main", "ingest", str(articles)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    db = killed.data_dir / "records.sqlite"
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None and _records(db) == 0:
        time.sleep(0.05)
    assert proc.poll() is None, "ingest finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    partial = _records(db)
    assert partial > 0

    rerun = run_ingest(killed, embeddings)
    clean = Settings(data_dir=tmp_path / "clean", articles_dir=[articles])
    reference = run_ingest(clean, embeddings)
    assert rerun.ok and reference.ok
    assert store_ids(killed) == store_ids(clean)
    assert store_ids(killed, UNITS_SUFFIX) == store_ids(clean, UNITS_SUFFIX)
    assert len(store_ids(killed)) == reference.chunks
    assert rerun.kb_version == reference.kb_version


def test_the_same_folder_given_another_way_reembeds_nothing(
    small: tuple[Settings, Path], embeddings: Embeddings
) -> None:
    settings, articles = small
    first = run_ingest(settings, embeddings, [articles])
    absolute = run_ingest(settings, embeddings, [articles.resolve()])
    relative = run_ingest(settings, embeddings, [Path(os.path.relpath(articles))])
    assert absolute.chunks_added == relative.chunks_added == 0
    assert absolute.chunks_skipped == relative.chunks_skipped == first.chunks


class _Lengths(Embeddings):
    """A fake model: a text's vector is its length; every call's texts are kept."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [[float(len(t))] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return [float(len(text))]


def test_a_batch_is_embedded_in_length_order_a_progress_step_at_a_time() -> None:
    from knowledge.ingest import PROGRESS_STEP, _CountingEmbeddings

    texts = ["x" * ((i * 37) % 101) for i in range(2 * PROGRESS_STEP + 5)]
    inner, reported = _Lengths(), []
    wrapper = _CountingEmbeddings(inner, "units", lambda stage, n: reported.append((stage, n)))
    assert wrapper.embed_documents(texts) == [[float(len(t))] for t in texts]  # input order
    assert [len(c) for c in inner.calls] == [PROGRESS_STEP, PROGRESS_STEP, 5]
    assert reported == [("units", PROGRESS_STEP), ("units", PROGRESS_STEP), ("units", 5)]
    lengths = [len(t) for call in inner.calls for t in call]
    assert lengths == sorted(lengths)


def test_record_manager_update_writes_what_langchains_does(tmp_path: Path) -> None:
    """The ingest's record manager (one cached executemany statement) leaves the same rows as
    LangChain's (a multi-row VALUES statement): inserts, then an update that moves, refreshes
    (no group) and adds keys."""
    from langchain_classic.indexes import SQLRecordManager

    from knowledge.ingest import _RecordManager

    def rows(cls: type[SQLRecordManager], name: str) -> list[tuple[object, ...]]:
        manager = cls("chroma/x", db_url=f"sqlite:///{tmp_path / name}")
        manager.create_schema()
        clock = iter([10.0, 20.0, 30.0, 40.0])
        manager.get_time = lambda: next(clock)  # type: ignore[method-assign]
        try:
            manager.update(["a", "b", "c"], group_ids=["g1", "g1", None])
            manager.update(["b", "d"], group_ids=["g2", "g2"], time_at_least=15.0)
            manager.update(["a"])  # a refresh, as the indexing API does: group set to None
            with pytest.raises(AssertionError, match="Time sync"):
                manager.update(["e"], time_at_least=99.0)
            with pytest.raises(ValueError, match="does not match"):
                manager.update(["e", "f"], group_ids=["g"])
        finally:
            manager.engine.dispose()
        with sqlite3.connect(tmp_path / name) as db:
            return sorted(
                db.execute("SELECT key, namespace, group_id, updated_at FROM upsertion_record")
            )

    ours = rows(_RecordManager, "ours.sqlite")
    assert ours == rows(SQLRecordManager, "langchain.sqlite")
    assert ours == [
        ("a", "chroma/x", None, 30.0),
        ("b", "chroma/x", "g2", 20.0),
        ("c", "chroma/x", None, 10.0),
        ("d", "chroma/x", "g2", 20.0),
    ]
