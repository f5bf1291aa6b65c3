"""The configurations an evaluation compares, and the systems that run one case each.

``hybrid`` (the product default), ``dense``, ``bm25`` and ``rrf`` are the real Assistant with a
different ``fusion`` setting; ``textbook`` is the LangChain tutorial RAG: 1,000-character chunks
of the raw articles, top-4 similarity search, the first chunk as the answer.

Example::

    systems = build_systems(["hybrid", "textbook"], settings, embeddings)
    run = systems[0].run(case.question, case.history)
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, Field

from assistant.answering import snippet
from assistant.factory import build_assistant
from assistant.followups import resolve
from assistant.retrieval import HybridRetriever
from assistant.settings import Settings
from assistant.store import make_chroma_client, make_vectorstore
from assistant.trace import AnswerTrace
from assistant.types import Citation, Passage, Turn
from eval.dataset import Intent
from eval.metrics import article_ranking

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

#: Depth of the article ranking behind hit@k, MRR@10 and nDCG@10.
RANK_DEPTH = 10
TEXTBOOK_COLLECTION = "textbook_baseline"
TEXTBOOK_CONTEXTS = 4  # the tutorial's similarity_search(question, k=4)
INTENTS = frozenset(get_args(Intent))


@dataclass(frozen=True)
class EvalConfig:
    name: str
    description: str
    fusion: Literal["weighted", "rrf", "dense", "bm25"] | None  # None: not the Assistant


CONFIGS: dict[str, EvalConfig] = {
    c.name: c
    for c in (
        EvalConfig("hybrid", "the product: dense + BM25, weighted fusion (default)", "weighted"),
        EvalConfig("dense", "the product with dense (MiniLM) retrieval only", "dense"),
        EvalConfig("bm25", "the product with BM25 retrieval only", "bm25"),
        EvalConfig("rrf", "the product with reciprocal-rank fusion", "rrf"),
        EvalConfig(
            "textbook",
            "LangChain tutorial RAG: 1000/200 character chunks, top-4 similarity, first chunk",
            None,
        ),
    )
}
DEFAULT_CONFIG = "hybrid"
DEFAULT_CONFIGS = ("hybrid", "dense", "bm25", "textbook")


def parse_configs(spec: str) -> list[str]:
    """``"hybrid, dense"`` -> ``["hybrid", "dense"]``; unknown names raise a ``ValueError``."""
    names = list(dict.fromkeys(n.strip() for n in spec.split(",") if n.strip()))
    unknown = [n for n in names if n not in CONFIGS]
    if unknown or not names:
        raise ValueError(
            f"unknown configuration {', '.join(unknown) or '(none)'}; "
            f"supported: {', '.join(CONFIGS)}"
        )
    return names


class CaseRun(BaseModel):
    """What a system produced for one case: the answer contract plus what it retrieved."""

    outcome: str | None = None
    answer: str = ""
    citations: list[Citation] = Field(default_factory=list)
    confidence: float = 0.0
    handoff: bool = False  # the reply offers a person
    intent: str | None = None  # the conversation intent the assistant recognised, if any
    decision: str | None = None  # what decided the path (AnswerTrace.decision)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    resolved_question: str | None = None
    passages: list[Passage] = Field(default_factory=list)  # what the answerer saw
    ranking: list[str] = Field(default_factory=list)  # article ids, top RANK_DEPTH passages
    error: str | None = None


class System(Protocol):
    config: EvalConfig

    def warm_up(self) -> None: ...

    def run(self, question: str, history: Sequence[Turn]) -> CaseRun: ...


class AssistantSystem:
    """The real Assistant under one ``fusion`` setting, read through its ``AnswerTrace``."""

    def __init__(
        self, config: EvalConfig, settings: Settings, embeddings: Embeddings, client: ClientAPI
    ) -> None:
        self.config = config
        self.settings = settings.model_copy(update={"fusion": config.fusion})
        self.assistant = build_assistant(self.settings, embeddings=embeddings, client=client)

    @property
    def retriever(self) -> HybridRetriever:
        return self.assistant.retriever

    def warm_up(self) -> None:
        self.assistant.search("warm up")  # loads the corpus, BM25 index and model kernels

    def run(self, question: str, history: Sequence[Turn]) -> CaseRun:
        trace = AnswerTrace()
        answer = self.assistant.answer(question, list(history), trace=trace)
        # The answerer's own top_k passages come first; a deeper search with exactly the query
        # text and (follow-up mixed) vector the Assistant used only extends them to RANK_DEPTH
        # (a k=10 search uses a larger candidate pool, so its top 5 can differ). When the
        # safety gate stopped the question before retrieval, the resolved question is ranked.
        if trace.query_vector:
            query = self.assistant.synonyms.expand(trace.query)
            deeper = self.retriever.search(
                query, k=RANK_DEPTH, filters=trace.filters, query_vector=trace.query_vector
            )
        else:
            deeper = self.retriever.search(resolve(question, history).query, k=RANK_DEPTH)
        ranking = article_ranking(p.article_id for p in [*trace.passages, *deeper])
        intent = getattr(answer, "intent", None)
        return CaseRun(
            outcome=answer.outcome,
            answer=answer.answer,
            citations=answer.citations,
            confidence=answer.confidence,
            handoff=answer.handoff.offered,
            intent=intent if intent is not None else _intent(trace.decision),
            decision=trace.decision,
            timings_ms=answer.timings_ms,
            resolved_question=answer.resolved_question,
            passages=trace.passages,
            ranking=ranking[:RANK_DEPTH],
        )


def _intent(decision: str) -> str | None:
    """The trace's decision when it names a conversation intent (greeting, thanks...)."""
    return decision if decision in INTENTS else None


class TextbookBaseline:
    """LangChain's tutorial RAG over the same articles, in its own Chroma collection."""

    def __init__(
        self, config: EvalConfig, settings: Settings, embeddings: Embeddings, client: ClientAPI
    ) -> None:
        self.config = config
        self.store = make_vectorstore(
            settings, embeddings, client=client, collection=TEXTBOOK_COLLECTION
        )
        self._index(settings)

    def _index(self, settings: Settings) -> None:
        """Split the raw Markdown and bring the collection in step (ids are content hashes)."""
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        from knowledge.loaders import load_paths

        docs = load_paths(settings.articles_dir).documents
        for doc in docs:  # Chroma takes no empty lists (a .txt page has no tags)
            doc.metadata = {k: v for k, v in doc.metadata.items() if v != []}
        chunks = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200).split_documents(
            docs
        )
        wanted = {
            hashlib.sha256(f"{c.metadata['article_id']}\0{c.page_content}".encode()).hexdigest(): c
            for c in chunks
        }
        have = set(self.store.get(include=[])["ids"])
        if stale := sorted(have - wanted.keys()):
            self.store.delete(ids=stale)
        if new := sorted(wanted.keys() - have):
            self.store.add_documents([wanted[i] for i in new], ids=new)

    def warm_up(self) -> None:
        self.store.similarity_search("warm up", k=1)

    def run(self, question: str, history: Sequence[Turn]) -> CaseRun:
        started = time.perf_counter()
        # One k=10 search serves both the tutorial's top-4 contexts and the ranking metrics.
        found = self.store.similarity_search_with_score(question, k=RANK_DEPTH)  # cosine distance
        retrieve_ms = round((time.perf_counter() - started) * 1000, 2)
        passages = [
            Passage(
                chunk_id=str(doc.id or ""),
                article_id=str(doc.metadata.get("article_id", "")),
                title=str(doc.metadata.get("title", "")),
                section="",
                url=str(doc.metadata.get("url", "")),
                text=doc.page_content,
                score=round(min(1.0, max(0.0, 1.0 - distance)), 4),
            )
            for doc, distance in found
        ]
        citations = [
            Citation(n=1, article_id=p.article_id, title=p.title, url=p.url, section=p.section,
                     snippet=snippet(p.text), score=p.score)
            for p in passages[:1]
        ]  # fmt: skip
        return CaseRun(
            outcome="answered",
            answer=passages[0].text if passages else "",
            citations=citations,
            confidence=passages[0].score if passages else 0.0,
            timings_ms={"retrieve": retrieve_ms, "total": retrieve_ms},
            passages=passages[:TEXTBOOK_CONTEXTS],
            ranking=article_ranking(p.article_id for p in passages),
        )


def build_systems(
    names: Sequence[str],
    settings: Settings,
    embeddings: Embeddings,
    client: ClientAPI | None = None,
) -> list[System]:
    """One system per configuration name, all on one embeddings object and one Chroma client."""
    client = client or make_chroma_client(settings)
    systems: list[System] = []
    for name in names:
        config = CONFIGS[name]
        if config.fusion is None:
            systems.append(TextbookBaseline(config, settings, embeddings, client))
        else:
            systems.append(AssistantSystem(config, settings, embeddings, client))
    return systems


def knowledge_base(systems: Sequence[System]) -> dict[str, Any]:
    """Version and size of the index the Assistant configurations ran on."""
    for system in systems:
        if isinstance(system, AssistantSystem):
            corpus = system.retriever.corpus()
            articles = {str(m.get("article_id", "")) for m in corpus.metas}
            return {"version": corpus.version, "articles": len(articles), "chunks": len(corpus)}
    return {}
