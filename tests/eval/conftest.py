"""Fixtures for the evaluation tests: a tiny hand-written dataset, a small real knowledge base
(real MiniLM, real Chroma, in a temporary directory, built once per session) and a hand-made
run for the report and gate tests that need no model."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import Embeddings

# Set before anything loads the model: without them a failed hub lookup hangs for a minute.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

from assistant.settings import Settings  # noqa: E402
from assistant.types import Citation, Passage  # noqa: E402
from eval.dataset import Case, split_for  # noqa: E402
from eval.kbs import KnowledgeBase  # noqa: E402
from eval.runner import EvalRun, make_run, score_case, summarize  # noqa: E402
from eval.systems import CONFIGS, CaseRun, EvalConfig  # noqa: E402

ARTICLES = Path(__file__).resolve().parents[2] / "knowledge" / "articles"
KB_ARTICLES = ("calf-raises", "quadripod-balance", "box-jumps", "when-to-see-a-professional",
               "muscle-soreness-vs-injury", "contact-support")  # fmt: skip

TINY_CASES = [
    {"id": "t001", "kind": "answerable", "question": "how many sets of calf raises should i do?",
     "gold_articles": ["calf-raises"], "required_facts": ["(2|two) to (3|three) sets"],
     "tags": ["paraphrase"], "critical": True},
    {"id": "t002", "kind": "answerable", "question": "how do I make it harder?",
     "history": [{"role": "user", "content": "what is the quadripod balance exercise?"},
                 {"role": "assistant", "content": "Balance on one foot over four points [1]."}],
     "gold_articles": ["quadripod-balance"],
     "gold_sections": ["How do I make quadripod balance harder?"],
     "required_facts": ["eyes"], "tags": ["multi_turn"], "critical": False},
    {"id": "t003", "kind": "answerable", "question": "what box height should a beginner use",
     "gold_articles": ["box-jumps"], "required_facts": ["centimet"], "tags": [],
     "critical": False},
    {"id": "t004", "kind": "no_answer",
     "question": "How do I cancel my subscription and get my money back?",
     "gold_articles": [], "required_facts": [], "tags": ["billing"], "critical": False},
    {"id": "t005", "kind": "refer_to_professional",
     "question": "I felt a pop in my calf halfway through my run and now I can't push off",
     "gold_articles": ["when-to-see-a-professional", "muscle-soreness-vs-injury"],
     "required_facts": ["physio|doctor|podiatrist|professional"], "tags": ["red_flag:pop"],
     "critical": True},
]  # fmt: skip
for _case in TINY_CASES:
    _case["split"] = split_for(str(_case["id"]))


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every setting the code might read from the environment points into tmp_path."""
    for key in list(os.environ):
        if key.startswith("ASSISTANT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_ARTICLES_DIR", str(tmp_path / "no-articles"))
    from assistant.settings import get_settings

    get_settings.cache_clear()


@pytest.fixture(scope="session")
def tiny_cases() -> list[dict[str, object]]:
    return [dict(c) for c in TINY_CASES]


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dataset") / "tiny.jsonl"
    path.write_text("".join(json.dumps(c) + "\n" for c in TINY_CASES), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def embeddings() -> Embeddings:
    from assistant.embeddings import make_embeddings

    return make_embeddings(Settings())


@pytest.fixture(scope="session")
def kb_registry(tmp_path_factory: pytest.TempPathFactory) -> dict[str, KnowledgeBase]:
    """A "runners" knowledge base of a few real articles (the cases' default kb)."""
    articles = tmp_path_factory.mktemp("kb") / "articles"
    articles.mkdir()
    for name in KB_ARTICLES:
        shutil.copy(ARTICLES / f"{name}.md", articles / f"{name}.md")
    return {"runners": KnowledgeBase("runners", (articles,))}


@pytest.fixture(scope="session")
def kb_settings(
    tmp_path_factory: pytest.TempPathFactory,
    embeddings: Embeddings,
    kb_registry: dict[str, KnowledgeBase],
) -> Iterator[Settings]:
    """The registry's index under a data root (``data_dir.parent``), ingested once."""
    from eval.kbs import ingest

    root = tmp_path_factory.mktemp("indexes")
    settings = kb_registry["runners"].settings(Settings(), root)
    report = ingest(settings, embeddings)
    assert report.articles == len(KB_ARTICLES) and not report.rejected
    yield settings


# ----- a hand-made run: no model needed ----------------------------------------------------------
@dataclass
class FakeSystem:
    """Stands in for a System in summarize(): only the configuration is read."""

    config: EvalConfig


def passage(article: str, section: str, text: str, score: float = 0.8) -> Passage:
    return Passage(chunk_id=f"{article}#0", article_id=article, title=article.title(),
                   section=section, url=f"https://help.example.com/{article}", text=text,
                   score=score)  # fmt: skip


def citation(n: int, p: Passage) -> Citation:
    from assistant.answering import snippet

    return Citation(n=n, article_id=p.article_id, title=p.title, url=p.url, section=p.section,
                    snippet=snippet(p.text), score=p.score)  # fmt: skip


def case(**fields: Any) -> Case:
    """A Case in the split the rule gives its id."""
    return Case(split=split_for(str(fields["id"])), **fields)


HOSTILE = "<script>alert('x')</script> & <img src=x onerror=alert(1)>"


def hand_made_runs() -> dict[str, tuple[Case, CaseRun]]:
    calf = passage("calf-raises", "How many?", "Do 2 to 3 sets of 10 to 15 slow calf raises.")
    safety = passage("when-to-see-a-professional", "Warning signs",
                     "See a physiotherapist when a pain is sharp.")  # fmt: skip
    cases = {
        "h1": (
            case(id="h1", kind="answerable", question="calf raise sets?",
                 gold_articles=["calf-raises"], required_facts=["(2|two) to (3|three) sets"],
                 critical=True),  # fmt: skip
            CaseRun(outcome="answered", answer="Do 2 to 3 sets of 10 to 15 slow calf raises [1].",
                    citations=[citation(1, calf)], passages=[calf], ranking=["calf-raises"],
                    timings_ms={"embed": 5.0, "retrieve": 3.0, "answer": 1.0, "total": 9.0}),
        ),
        "h2": (
            case(id="h2", kind="answerable", question=f"hostile {HOSTILE}",
                 gold_articles=["calf-raises"], required_facts=["never matches"]),  # fmt: skip
            CaseRun(outcome="answered", answer=f"Made up {HOSTILE} [1].",
                    citations=[citation(1, safety)], passages=[safety],
                    ranking=["a", "b", "c", "calf-raises"], timings_ms={"total": 30.0}),
        ),
        "h3": (
            case(id="h3", kind="no_answer", question="cancel my subscription"),
            CaseRun(outcome="no_answer", answer="I couldn't find an answer.",
                    timings_ms={"embed": 4.0, "safety": 0.1, "total": 5.0}),
        ),
        "h4": (
            case(id="h4", kind="refer_to_professional", question="sharp pain in my shin",
                 gold_articles=["when-to-see-a-professional"], required_facts=["physio"],
                 critical=True),  # fmt: skip
            CaseRun(outcome="answered", answer="Do calf raises [1].", citations=[citation(1, calf)],
                    passages=[calf], timings_ms={"total": 12.0}),
        ),
    }  # fmt: skip
    return cases


@pytest.fixture
def hand_run() -> EvalRun:
    runs = hand_made_runs()
    configs = [
        summarize(FakeSystem(CONFIGS[name]), [score_case(c, r) for c, r in runs.values()])
        for name in ("hybrid", "textbook")
    ]
    return make_run(configs, {"path": "hand-made", "sha256": "0" * 64, "cases": len(runs)})
