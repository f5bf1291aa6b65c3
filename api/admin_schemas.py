"""Bodies of the admin routes: reindex report, feedback list, content gaps."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas import FeedbackOut


class AdminFeedbackItem(FeedbackOut):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 1,
                    "answer_id": "ans_4f0c2a9e8b7d6c5a4f3e2d1c",
                    "helpful": False,
                    "comment": "It did not say how many repetitions.",
                    "created_at": "2026-11-24T10:00:00Z",
                    "question": "How many calf raises should I do?",
                    "outcome": "answered",
                }
            ]
        }
    )

    question: str
    outcome: str


class ReindexReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "files_seen": 37,
                    "articles": 37,
                    "chunks": 180,
                    "units": 1500,
                    "chunks_added": 2,
                    "chunks_skipped": 178,
                    "chunks_deleted": 2,
                    "articles_new": [],
                    "articles_changed": ["calf-raises"],
                    "articles_removed": [],
                    "rejected": [],
                    "pruning_skipped": False,
                    "kb_version": "3f9a0c1b2d4e5f60",
                    "seconds": 3.2,
                }
            ]
        }
    )

    files_seen: int
    articles: int
    chunks: int
    units: int
    chunks_added: int
    chunks_skipped: int
    chunks_deleted: int
    articles_new: list[str]
    articles_changed: list[str]
    articles_removed: list[str]
    rejected: list[dict[str, str]]
    pruning_skipped: bool
    kb_version: str
    seconds: float


class UnansweredGroup(BaseModel):
    representative: str = Field(description="The question that best stands for the group.")
    count: int = Field(description="How many stored questions fall into the group.")
    no_answer: int = Field(description="Of those, how many got the outcome no_answer.")
    thumbs_down: int = Field(description="Of those, how many were rated not helpful.")
    examples: list[str] = Field(description="Distinct phrasings, most frequent first.")
    last_seen: datetime


class UnansweredReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "questions": 3,
                    "groups": [
                        {
                            "representative": "How do I cancel my subscription?",
                            "count": 2,
                            "no_answer": 2,
                            "thumbs_down": 0,
                            "examples": [
                                "How do I cancel my subscription?",
                                "how can i cancel my subscription plan",
                            ],
                            "last_seen": "2026-11-24T10:00:00Z",
                        }
                    ],
                }
            ]
        }
    )

    questions: int
    groups: list[UnansweredGroup]
