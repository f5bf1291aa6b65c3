"""Shapes shared by every package: the answer contract (``../shared/CONTRACT.md``) and passages."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Outcome = Literal["answered", "no_answer", "refer_to_professional"]
OUTCOMES: tuple[Outcome, ...] = ("answered", "no_answer", "refer_to_professional")

#: The stages of ``Answer.timings_ms``, in the order a request passes them; every report uses it.
TIMING_STAGES = ("embed", "safety", "retrieve", "answer", "total")

MAX_QUESTION_CHARS = 2000
MAX_HISTORY_TURNS = 20


class Turn(BaseModel):
    """One earlier message of the conversation, oldest first."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str = Field(max_length=20_000)


class Filters(BaseModel):
    """Optional restrictions of retrieval to a collection and/or tags (all tags must match)."""

    model_config = ConfigDict(extra="forbid")

    collection: str | None = Field(None, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=20)

    def is_empty(self) -> bool:
        return not self.collection and not self.tags


class Passage(BaseModel):
    """A retrieved chunk with its article metadata and a normalised score in [0, 1]."""

    chunk_id: str
    article_id: str
    title: str
    section: str
    url: str
    collection: str = ""
    tags: list[str] = Field(default_factory=list)
    updated: str = ""
    text: str
    score: float = Field(ge=0.0, le=1.0)
    dense_score: float | None = None
    bm25_score: float | None = None


class Citation(BaseModel):
    """A numbered source of an answer; ``n`` matches the ``[n]`` markers in the answer text."""

    n: int = Field(ge=1)
    article_id: str
    title: str
    url: str
    section: str
    snippet: str
    score: float = Field(ge=0.0, le=1.0)


class Handoff(BaseModel):
    offered: bool = False
    reason: str | None = None


class Answer(BaseModel):
    """The answer contract: returned by the library, ``ask --json`` and ``POST /v1/answer``."""

    answer_id: str
    outcome: Outcome
    answer: str
    citations: list[Citation] = Field(default_factory=list)
    confidence: float = Field(ge=0.0, le=1.0)
    handoff: Handoff = Field(default_factory=Handoff)
    timings_ms: dict[str, float] = Field(default_factory=dict)
    # Added fields (allowed by the contract): which answerer produced the text, and the
    # standalone question used for retrieval after resolving follow-ups.
    answerer: str = "extractive"
    resolved_question: str | None = None
    #: what the message was when it was not a question for the articles: "greeting",
    #: "thanks", "goodbye", "human" (asked for a person) or "language" (not English)
    intent: str | None = None
