"""A note about the asker beside a thin question must not pick the article (issue 14)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistant.factory import build_assistant
from assistant.settings import Settings
from knowledge.ingest import run_ingest

APP = Path(__file__).resolve().parents[2] / "eval" / "kb" / "app-help-center" / "articles"
#: a shop's returns page beside an app's return-to-running page: "back to running" or "running
#: for years" in a note about the asker, beside a one-word question, read like the second
ARTICLES = ("barefootco-returns-exchanges.txt", "return-after-injury.txt", "connect-garmin.txt")


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory, embeddings):  # type: ignore[no-untyped-def]
    root = tmp_path_factory.mktemp("side-notes")
    articles = root / "articles"
    articles.mkdir()
    for name in ARTICLES:
        shutil.copy(APP / name, articles / name)
    settings = Settings(data_dir=root / "data", articles_dir=[articles])
    assert run_ingest(settings, embeddings).ok
    return build_assistant(settings, embeddings=embeddings)


@pytest.mark.parametrize("message", [
    "I'm 61 and I walk a lot. return policy?",
    "I'm 58, back to running after two years off. returns?",
    "I've been running for years and I'm 61. returns?",
])
def test_the_question_picks_the_article_not_the_note(assistant, message: str) -> None:  # type: ignore[no-untyped-def]
    answer = assistant.answer(message)
    assert answer.citations, answer.text
    assert answer.citations[0].article_id == "returns-and-exchanges"


def test_the_note_still_counts_when_it_is_the_subject(assistant) -> None:  # type: ignore[no-untyped-def]
    message = "I'm 40 and recovering from a stress fracture. when can I start a plan again?"
    answer = assistant.answer(message)
    assert answer.citations
    assert answer.citations[0].article_id == "returning-to-a-plan-after-an-injury"
