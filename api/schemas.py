"""Request and response bodies of the HTTP API (the answer is :class:`assistant.types.Answer`).

Limits follow ``CONTRACT.md``: a question is 1 to 2,000 characters after trimming and the history
at most 20 turns; a violation is a 422 whose message names the field and the limit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from assistant.types import MAX_HISTORY_TURNS, MAX_QUESTION_CHARS, Filters, Turn

MAX_COMMENT_CHARS = 2000
#: Largest request body accepted (413 beyond); a full 20-turn history fits comfortably.
MAX_BODY_BYTES = 64 * 1024
#: Article ids as the loaders produce them (``knowledge.loaders._ID_RE``).
ARTICLE_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,127}$"

_QUESTION_EXAMPLE = "How do I make single-leg balance harder?"
_HISTORY_EXAMPLE: list[Any] = [
    {"role": "user", "content": "What is the quadripod?"},
    {"role": "assistant", "content": "The four points of the foot that share your weight [1]."},
]
ANSWER_EXAMPLE: dict[str, Any] = {
    "answer_id": "ans_4f0c2a9e8b7d6c5a4f3e2d1c",
    "outcome": "answered",
    "answer": "Close your eyes while you balance on one leg [1].",
    "citations": [
        {
            "n": 1,
            "article_id": "quadripod-balance",
            "title": "Balance on the quadripod",
            "url": "https://help.example.com/articles/quadripod-balance",
            "section": "Make it harder",
            "snippet": "Close your eyes to make single-leg balance harder.",
            "score": 0.83,
        }
    ],
    "confidence": 0.83,
    "handoff": {"offered": False, "reason": None},
    "timings_ms": {"retrieve": 4.1, "answer": 1.2, "total": 6.0},
    "answerer": "extractive",
    "resolved_question": None,
}


def check_unicode(value: str, field: str) -> str:
    """``value`` if it is valid Unicode text; a lone surrogate (JSON ``"\\ud800"``) is not, and
    would fail later when the text is encoded (tokenizer, database, log)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(
            f"{field} is not valid Unicode text (it holds a lone surrogate such as \\ud800)"
        ) from None
    return value


def check_question(value: str, field: str = "question") -> str:
    """Trim and apply the contract's length limit, with a message naming field and limit."""
    value = check_unicode(value, field).strip()
    if not value:
        raise ValueError(f"{field} must not be empty (1 to {MAX_QUESTION_CHARS} characters)")
    if len(value) > MAX_QUESTION_CHARS:
        raise ValueError(
            f"{field} is {len(value)} characters; the limit is {MAX_QUESTION_CHARS} characters"
        )
    return value


class AnswerRequest(BaseModel):
    """A question, the conversation so far (oldest first) and optional filters."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": _QUESTION_EXAMPLE},
                {
                    "question": "How do I make it harder?",
                    "history": _HISTORY_EXAMPLE,
                    "filters": {"collection": "Foot strength", "tags": ["balance"]},
                },
            ]
        },
    )

    question: str = Field(
        description=f"The runner's question, 1 to {MAX_QUESTION_CHARS} characters after trimming.",
        # No maxLength: the limit applies after trimming (CONTRACT.md), which JSON Schema cannot
        # say; a padded question longer than the limit is valid. The description says it.
        json_schema_extra={"minLength": 1},
    )
    history: list[Turn] = Field(
        default_factory=list,
        description=f"Earlier turns, oldest first; at most {MAX_HISTORY_TURNS}.",
        json_schema_extra={"maxItems": MAX_HISTORY_TURNS},
    )
    filters: Filters | None = Field(None, description="Restrict retrieval (collection, tags).")

    @field_validator("question")
    @classmethod
    def _question(cls, value: str) -> str:
        return check_question(value)

    @field_validator("history")
    @classmethod
    def _history(cls, value: list[Turn]) -> list[Turn]:
        if len(value) > MAX_HISTORY_TURNS:
            raise ValueError(
                f"history has {len(value)} turns; the limit is {MAX_HISTORY_TURNS} turns"
            )
        return value


class SearchRequest(BaseModel):
    """A query for support agents: ranked passages, not an answer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"query": "calf raises", "k": 5},
                {"query": "toe yoga", "k": 3, "filters": {"collection": "Foot strength"}},
            ]
        },
    )

    query: str = Field(
        description=f"What to look for, 1 to {MAX_QUESTION_CHARS} characters after trimming.",
        json_schema_extra={"minLength": 1},  # no maxLength: see AnswerRequest.question
    )
    # strict: `true` is not 1 (pydantic's lax mode would take it as k=1).
    k: int = Field(5, ge=1, le=50, strict=True, description="How many passages (1 to 50).")
    filters: Filters | None = None

    @field_validator("query")
    @classmethod
    def _query(cls, value: str) -> str:
        return check_question(value, "query")


class PassageOut(BaseModel):
    """One ranked passage (see :class:`assistant.types.Passage`)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rank": 1,
                    "chunk_id": "calf-raises#2",
                    "article_id": "calf-raises",
                    "title": "Calf raises",
                    "section": "How do I do calf raises?",
                    "url": "https://help.example.com/articles/calf-raises",
                    "collection": "Foot strength",
                    "tags": ["calves"],
                    "updated": "2026-09-01",
                    "text": "Stand on the edge of a step...",
                    "score": 0.71,
                    "dense_score": 0.66,
                    "bm25_score": 0.82,
                }
            ]
        }
    )

    rank: int
    chunk_id: str
    article_id: str
    title: str
    section: str
    url: str
    collection: str
    tags: list[str]
    updated: str
    text: str
    score: float
    dense_score: float | None
    bm25_score: float | None


class SearchResponse(BaseModel):
    query: str
    kb_version: str
    passages: list[PassageOut]


class FeedbackRequest(BaseModel):
    """Was the answer helpful? ``answer_id`` comes from the answer."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"answer_id": "ans_4f0c2a9e8b7d6c5a4f3e2d1c", "helpful": True},
                {
                    "answer_id": "ans_4f0c2a9e8b7d6c5a4f3e2d1c",
                    "helpful": False,
                    "comment": "It did not say how many repetitions.",
                },
            ]
        },
    )

    answer_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    helpful: bool = Field(strict=True)
    comment: str | None = Field(None, max_length=MAX_COMMENT_CHARS)


class FeedbackOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "answer_id": "ans_4f0c2a9e8b7d6c5a4f3e2d1c",
                    "helpful": True,
                    "comment": None,
                    "created_at": "2026-11-24T10:00:00Z",
                }
            ]
        }
    )

    id: int
    answer_id: str
    helpful: bool
    comment: str | None
    created_at: datetime


_ARTICLE_EXAMPLE: dict[str, Any] = {
    "article_id": "quadripod-balance",
    "title": "Balance on the quadripod",
    "collection": "Foot strength",
    "url": "https://help.example.com/articles/quadripod-balance",
    "updated": "2026-10-02",
    "tags": ["balance", "quadripod"],
    "summary": "How to stand on the four contact points of the foot.",
}


class ArticleSummary(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_ARTICLE_EXAMPLE]})

    article_id: str
    title: str
    collection: str
    url: str
    updated: str
    tags: list[str]
    summary: str


class ArticleDetail(ArticleSummary):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_ARTICLE_EXAMPLE,
                    "html": "<h2>What is the quadripod?</h2>\n<p>The quadripod is ...</p>",
                }
            ]
        }
    )

    html: str = Field(description="The article body as sanitized HTML.")


class ArticleList(BaseModel):
    count: int
    articles: list[ArticleSummary]


class Ready(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ready", "kb_version": "3f9a0c1b2d4e5f60"}]}
    )

    status: Literal["ready"]
    kb_version: str


class Problem(BaseModel):
    """An error: ``detail`` for machines (FastAPI's shape), ``message`` for people."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "detail": [
                        {
                            "loc": ["body", "question"],
                            "msg": "question is 2400 characters; the limit is 2000 characters",
                            "type": "value_error",
                        }
                    ],
                    "message": "question: question is 2400 characters; the limit is 2000 "
                    "characters",
                }
            ]
        }
    )

    detail: Any
    message: str | None = None
