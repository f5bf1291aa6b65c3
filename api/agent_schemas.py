"""Request and response bodies of the agent console's JSON API (``/agent/api``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.agent_session import MAX_NAME
from assistant.types import MAX_QUESTION_CHARS

MAX_ANSWER_CHARS = 4000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LoginRequest(_Strict):
    key: str = Field(min_length=1, max_length=512, description="The admin API key.")
    name: str = Field(min_length=1, max_length=MAX_NAME, description="Shown as the author.")


class SessionOut(BaseModel):
    name: str
    expires_at: datetime
    csrf_token: str


class AgentSearchRequest(_Strict):
    query: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    k: int = Field(8, ge=1, le=50)
    collection: str | None = Field(None, max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=20)


class SuggestRequest(_Strict):
    message: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)


class CitationRef(_Strict):
    article_id: str = Field(min_length=1, max_length=200)
    section: str = Field("", max_length=300)


class CorrectionIn(_Strict):
    question: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)
    answer: str = Field(min_length=1, max_length=MAX_ANSWER_CHARS)
    citations: list[CitationRef] = Field(default_factory=list, max_length=10)
    facts: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="Short phrases a right answer must contain (the evaluation case checks them).",
    )
    answer_id: str | None = Field(None, max_length=64, description="The answer found wrong.")


class CorrectionPatch(_Strict):
    question: str | None = Field(None, min_length=1, max_length=MAX_QUESTION_CHARS)
    answer: str | None = Field(None, min_length=1, max_length=MAX_ANSWER_CHARS)
    citations: list[CitationRef] | None = Field(None, max_length=10)
    facts: list[str] | None = Field(None, max_length=10)


class CitedArticle(BaseModel):
    article_id: str
    title: str = ""
    url: str = ""
    section: str = ""


class CorrectionOut(BaseModel):
    id: int
    question: str
    answer: str
    citations: list[CitedArticle]
    facts: list[str]
    author: str
    created_at: datetime
    updated_by: str | None = None
    updated_at: datetime | None = None
    answer_id: str | None = None


class NearestArticle(BaseModel):
    article_id: str
    title: str
    url: str
    section: str
    score: float


class ReviewItem(BaseModel):
    answer_id: str
    question: str
    answer: str
    no_answer: bool
    thumbs_down: bool
    created_at: datetime


class ReviewGroup(BaseModel):
    representative: str
    count: int
    no_answer: int
    thumbs_down: int
    examples: list[str]
    last_seen: datetime | None
    trend: list[int] = Field(description="Questions per day, oldest first, the last 30 days.")
    nearest_article: NearestArticle | None


class ReviewReport(BaseModel):
    questions: int
    days: int
    items: list[ReviewItem]
    groups: list[ReviewGroup]
