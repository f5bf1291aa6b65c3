"""OpenAI chat-completions shapes, so the official ``openai`` client can talk to the assistant.

The last user message is the question and the earlier user/assistant messages the history
(system and tool messages are ignored: the assistant's rules are not negotiable). The reply is
the answer text followed by a "Sources:" list, and the whole Answer rides along in the extra
top-level field ``help_assistant``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.schemas import ANSWER_EXAMPLE, check_question
from api.service import pieces
from assistant.types import MAX_HISTORY_TURNS, Answer, Filters, Turn

MODEL_NAME = "help-assistant"


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """The subset of OpenAI's request that matters here; other fields are accepted and ignored."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "model": MODEL_NAME,
                    "messages": [
                        {"role": "user", "content": "What is the quadripod?"},
                        {"role": "assistant", "content": "The four points of the foot [1]."},
                        {"role": "user", "content": "How do I make balancing on it harder?"},
                    ],
                    "stream": False,
                }
            ]
        },
    )

    model: str = Field(MODEL_NAME, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=200)
    stream: bool = Field(False, strict=True)  # 1 or "yes" is not a boolean
    filters: Filters | None = Field(None, description="Extension: restrict retrieval.")

    @field_validator("messages")
    @classmethod
    def _last_is_user(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if messages[-1].role != "user":
            raise ValueError("the last message must have role 'user' (it is the question)")
        check_question(messages[-1].text(), "the last user message")
        return messages

    @property
    def question(self) -> str:
        return self.messages[-1].text()

    @property
    def history(self) -> list[Turn]:
        """Earlier user/assistant turns; only the newest 20 are kept (documented trimming)."""
        turns = [
            Turn(role=m.role, content=m.text())
            for m in self.messages[:-1]
            if m.role in ("user", "assistant") and m.text().strip()
        ]
        return turns[-MAX_HISTORY_TURNS:]


def reply_text(answer: Answer) -> str:
    """The answer with its sources listed, as a chat client shows it."""
    if not answer.citations:
        return answer.answer
    lines = [f"[{c.n}] {c.title} - {c.section}: {c.url}" for c in answer.citations]
    return answer.answer + "\n\nSources:\n" + "\n".join(lines)


def completion(answer: Answer, model: str) -> dict[str, Any]:
    text = reply_text(answer)
    words = len(text.split())
    return {
        "id": "chatcmpl-" + answer.answer_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        # Words, not model tokens: there is no generative model to count for.
        "usage": {"prompt_tokens": 0, "completion_tokens": words, "total_tokens": words},
        "help_assistant": answer.model_dump(mode="json"),
    }


def chunks(answer: Answer, model: str) -> Iterator[str]:
    """The reply as OpenAI stream chunks (``data: {...}\\n\\n``), ending with ``data: [DONE]``."""
    base = {"id": "chatcmpl-" + answer.answer_id, "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}  # fmt: skip

    def event(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}
        return "data: " + json.dumps({**base, "choices": [choice], **extra}) + "\n\n"

    yield event({"role": "assistant", "content": ""})
    for piece in pieces(reply_text(answer)):
        yield event({"content": piece})
    yield event({}, "stop", help_assistant=answer.model_dump(mode="json"))
    yield "data: [DONE]\n\n"


COMPLETION_EXAMPLE: dict[str, Any] = {
    "id": "chatcmpl-" + ANSWER_EXAMPLE["answer_id"],
    "object": "chat.completion",
    "created": 1_790_000_000,
    "model": MODEL_NAME,
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": ANSWER_EXAMPLE["answer"] + "\n\nSources:\n[1] Balance on the quadripod"
                " - Make it harder: https://help.example.com/articles/quadripod-balance",
            },
            "finish_reason": "stop",
            "logprobs": None,
        }
    ],
    "usage": {"prompt_tokens": 0, "completion_tokens": 18, "total_tokens": 18},
    "help_assistant": ANSWER_EXAMPLE,
}
