"""The answerability fit's harder negatives: questions asked of a KB without their articles."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval import calibrate
from eval.dataset import Case, split_for
from eval.kbs import KnowledgeBase
from tests.conftest import copy_articles

ARTICLES = ["calf-raises", "pogo-hops", "box-jumps", "toe-coordination-toe-yoga"]


def _case(case_id: str, question: str, gold: str, facts: list[str]) -> Case:
    return Case(id=case_id, kind="answerable", question=question, split=split_for(case_id),
                kb="small", gold_articles=[gold], required_facts=facts)  # fmt: skip


def test_a_question_asked_without_its_article_is_a_not_covered_sample(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embeddings
) -> None:  # type: ignore[no-untyped-def]
    from assistant.settings import Settings

    folder = copy_articles(tmp_path / "articles", ARTICLES)
    monkeypatch.setattr(calibrate, "KBS", {"small": KnowledgeBase("small", (folder,))})
    dose = _case("abl-1", "how many sets of calf raises should I do?", "calf-raises",
                 [r"sets of 10 to 15 slow double-leg calf raises"])  # fmt: skip
    settings = Settings(data_dir=tmp_path / "data")
    # one article per round (64 groups for 4 articles), so the others stay as near topics
    samples = calibrate.ablation_negatives([dose], settings, embeddings, tmp_path / "eval",
                                           folds=64)  # fmt: skip
    assert [s.case_id for s in samples] == ["abl-1-out"]
    assert not samples[0].answerable and samples[0].features["dense"] > 0
    mirror = tmp_path / "eval" / "small-ablation" / "articles" / "0"
    assert sorted(p.stem for p in mirror.glob("*.md")) == sorted(ARTICLES)  # all put back


def test_a_question_another_article_still_answers_is_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embeddings
) -> None:  # type: ignore[no-untyped-def]
    from assistant.settings import Settings

    folder = copy_articles(tmp_path / "articles", ARTICLES)
    monkeypatch.setattr(calibrate, "KBS", {"small": KnowledgeBase("small", (folder,))})
    # "calf" is in the pogo-hops and box-jumps articles too: the fact survives the ablation
    calves = _case("abl-2", "which exercises work the calves?", "calf-raises", [r"\bcalf\b"])
    settings = Settings(data_dir=tmp_path / "data")
    samples = calibrate.ablation_negatives([calves], settings, embeddings, tmp_path / "eval",
                                           folds=64)  # fmt: skip
    assert samples == []
