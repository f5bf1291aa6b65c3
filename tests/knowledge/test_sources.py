"""One record of the sources: ingest PATH records, a bare ingest reuses it; an empty source
never wipes; a lost store is rebuilt from the sources."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from chromadb.api.shared_system_client import SharedSystemClient
from langchain_core.embeddings import Embeddings

from assistant.settings import Settings
from knowledge.ingest import EmptySourceError, run_ingest
from knowledge.sources import SourceRecord, SourcesError
from tests.conftest import ARTICLES, copy_articles
from tests.knowledge.test_ingest import chunk_articles, store_ids

TWO = ["calf-raises", "quadripod-balance"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # the default sources point at the shipped articles; tests ingest other folders
    return Settings(data_dir=tmp_path / "data", articles_dir=[ARTICLES])


def test_ingest_path_records_it_and_a_bare_ingest_uses_the_record(
    settings: Settings, tmp_path: Path, embeddings: Embeddings
) -> None:
    exports = copy_articles(tmp_path / "exports", TWO)
    first = run_ingest(settings, embeddings, [exports])
    record = SourceRecord.read(settings.data_dir)
    assert [s.path for s in record.paths or []] == [exports.absolute()]
    assert record.owners[record.paths[0].key] == sorted(TWO)  # type: ignore[index]
    assert not list(settings.data_dir.glob(".sources-*"))  # atomic write left no temp file

    again = run_ingest(settings, embeddings)  # not the shipped articles: the recorded folder
    assert again.articles == first.articles == 2 and again.articles_removed == []
    assert set(chunk_articles(settings)) == set(TWO)


def test_an_empty_or_missing_source_never_wipes_without_allow_empty(
    settings: Settings, tmp_path: Path, embeddings: Embeddings
) -> None:
    exports = copy_articles(tmp_path / "exports", TWO)
    run_ingest(settings, embeddings, [exports])
    shutil.rmtree(exports)
    with pytest.raises(EmptySourceError, match="holds no articles now but 2"):
        run_ingest(settings, embeddings)  # unmounted
    exports.mkdir()
    with pytest.raises(EmptySourceError, match="--allow-empty"):
        run_ingest(settings, embeddings)  # mounted but empty
    assert set(chunk_articles(settings)) == set(TWO)
    wiped = run_ingest(settings, embeddings, allow_empty=True)
    assert wiped.articles_removed == sorted(TWO) and chunk_articles(settings) == {}


def test_a_lost_store_is_rebuilt_when_the_record_manager_survived(
    settings: Settings, tmp_path: Path, embeddings: Embeddings
) -> None:
    exports = copy_articles(tmp_path / "exports", TWO)
    first = run_ingest(settings, embeddings, [exports])
    shutil.rmtree(settings.chroma_dir)  # records.sqlite stays
    SharedSystemClient.clear_system_cache()  # as a new process would: no cached client
    rebuilt = run_ingest(settings, embeddings)
    assert rebuilt.chunks_restored == first.chunks and rebuilt.units_restored == first.units
    assert rebuilt.chunks_added == first.chunks
    assert len(store_ids(settings)) == first.chunks
    assert rebuilt.kb_version == first.kb_version
    assert run_ingest(settings, embeddings).chunks_added == 0  # and then it is quiet again


def test_a_broken_record_is_a_clear_error(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True)
    SourceRecord.file(settings.data_dir).write_text("{oops", encoding="utf-8")
    with pytest.raises(SourcesError, match="sources.json"):
        SourceRecord.read(settings.data_dir)
    SourceRecord.file(settings.data_dir).write_text(json.dumps({"syncs": [{"x": 1}]}), "utf-8")
    with pytest.raises(SourcesError, match="malformed"):
        SourceRecord.read(settings.data_dir)
