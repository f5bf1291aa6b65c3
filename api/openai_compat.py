"""OpenAI chat-completions shapes, so the official ``openai`` client can talk to the assistant.

The last user message is the question and the earlier user/assistant messages the history
(system and tool messages are ignored: the assistant's rules are not negotiable). The reply is
the answer text followed by a "Sources:" list, and the whole Answer rides along in the extra
top-level field ``help_assistant``.

Tokens are words here (there is no generative model to count for): ``usage`` counts words, and
``max_tokens`` (or ``max_completion_tokens``) cuts the reply after that many words with
``finish_reason: "length"``, as OpenAI truncates; ``help_assistant`` still holds the whole answer.
What cannot be honoured (tools, a JSON response format, ``n > 1``, images or audio) is a 400 in
OpenAI's error shape rather than silently ignored. Any ``model`` name is accepted and echoed.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from api.openai_errors import OpenAIError
from api.schemas import ANSWER_EXAMPLE, check_question, check_unicode
from api.service import pieces
from assistant.types import MAX_HISTORY_TURNS, Answer, Filters, Turn

MODEL_NAME = "help-assistant"
#: When the model "was created" for ``/v1/models`` (OpenAI gives a Unix time): version 1.0.0.
MODEL_CREATED = 1_764_547_200
#: Longest message, any role (the history's turn limit, ``assistant.types.Turn``).
MAX_MESSAGE_CHARS = 20_000
_WORD = re.compile(r"\S+\s*")


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")

    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None

    @field_validator("content")
    @classmethod
    def _content(cls, value: str | list[ContentPart] | None) -> str | list[ContentPart] | None:
        texts = [value] if isinstance(value, str) else [p.text or "" for p in value or []]
        for text in texts:
            check_unicode(text, "content")
        size = sum(map(len, texts)) + max(len(texts) - 1, 0)  # as text() joins the parts
        if size > MAX_MESSAGE_CHARS:
            raise ValueError(
                f"content is {size} characters; the limit is {MAX_MESSAGE_CHARS} characters"
            )
        return value

    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = Field(False, strict=True)


def _unsupported(message: str, param: str) -> OpenAIError:
    return OpenAIError(400, message, param=param, code="unsupported_parameter")


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
    stream_options: StreamOptions | None = None
    # strict: `true` is not 1. A limit below the reply's length truncates it (see module doc).
    max_tokens: int | None = Field(None, ge=1, strict=True)
    max_completion_tokens: int | None = Field(None, ge=1, strict=True)
    n: int | None = Field(None, ge=1, strict=True, description="Only 1 is supported.")
    tools: list[Any] | None = Field(None, description="Not supported: 400 when non-empty.")
    functions: list[Any] | None = Field(None, description="Not supported: 400 when non-empty.")
    response_format: dict[str, Any] | None = Field(None, description="Only {'type': 'text'}.")
    filters: Filters | None = Field(None, description="Extension: restrict retrieval.")

    @field_validator("messages")
    @classmethod
    def _last_is_user(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if messages[-1].role != "user":
            raise ValueError("the last message must have role 'user' (it is the question)")
        check_question(messages[-1].text(), "the last user message")
        return messages

    def unsupported(self) -> OpenAIError | None:
        """The first thing asked for that this assistant cannot do, as a 400 to raise."""
        for name in ("tools", "functions"):
            if getattr(self, name):
                return _unsupported(f"{name} (function calling) are not supported", name)
        if self.response_format and self.response_format.get("type", "text") != "text":
            kind = str(self.response_format.get("type"))[:40]
            return _unsupported(f"response_format {kind!r} is not supported; only 'text'",
                                "response_format")  # fmt: skip
        if self.n is not None and self.n > 1:
            return _unsupported("n must be 1: there is one answer per question", "n")
        for i, message in enumerate(self.messages):
            for j, part in enumerate(message.content if isinstance(message.content, list) else []):
                if part.type != "text":
                    what = f"content parts of type {part.type[:40]!r} are not supported; send text"
                    return _unsupported(what, f"messages.{i}.content.{j}")
        return None

    @property
    def token_limit(self) -> int | None:
        """``max_completion_tokens`` (OpenAI's newer name) or ``max_tokens``, in words."""
        return self.max_completion_tokens or self.max_tokens

    @property
    def include_usage(self) -> bool:
        return self.stream_options is not None and self.stream_options.include_usage

    @property
    def prompt_words(self) -> int:
        return sum(len(m.text().split()) for m in self.messages)

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


def truncated(text: str, limit: int | None) -> tuple[str, int, str]:
    """``text`` cut after ``limit`` words, its word count, and the finish reason."""
    words = _WORD.findall(text)
    if limit is None or len(words) <= limit:
        return text, len(words), "stop"
    return "".join(words[:limit]).rstrip(), limit, "length"


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}  # fmt: skip


def completion(answer: Answer, request: ChatCompletionRequest) -> dict[str, Any]:
    text, words, finish = truncated(reply_text(answer), request.token_limit)
    return {
        "id": "chatcmpl-" + answer.answer_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": request.model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish,
                "logprobs": None,
            }
        ],
        "usage": _usage(request.prompt_words, words),
        "help_assistant": answer.model_dump(mode="json"),
    }


def chunks(answer: Answer, request: ChatCompletionRequest) -> Iterator[str]:
    """The reply as OpenAI stream chunks (``data: {...}\\n\\n``), ending with ``data: [DONE]``;
    with ``stream_options.include_usage``, every chunk has ``usage: null`` and one last chunk
    with no choices carries the usage, as OpenAI sends it."""
    base: dict[str, Any] = {"id": "chatcmpl-" + answer.answer_id,
                            "object": "chat.completion.chunk",
                            "created": int(time.time()), "model": request.model}  # fmt: skip
    if request.include_usage:
        base["usage"] = None
    text, words, finish = truncated(reply_text(answer), request.token_limit)

    def event(choices: list[dict[str, Any]], **extra: Any) -> str:
        return "data: " + json.dumps({**base, "choices": choices, **extra}) + "\n\n"

    def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
        return [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]

    yield event(choice({"role": "assistant", "content": ""}))
    for piece in pieces(text):
        yield event(choice({"content": piece}))
    yield event(choice({}, finish), help_assistant=answer.model_dump(mode="json"))
    if request.include_usage:
        yield event([], usage=_usage(request.prompt_words, words))
    yield "data: [DONE]\n\n"


def model_card(model_id: str = MODEL_NAME) -> dict[str, Any]:
    """One entry of ``GET /v1/models`` (OpenAI's model object)."""
    return {"id": model_id, "object": "model", "created": MODEL_CREATED,
            "owned_by": "help-assistant"}  # fmt: skip


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
    "usage": {"prompt_tokens": 8, "completion_tokens": 18, "total_tokens": 26},
    "help_assistant": ANSWER_EXAMPLE,
}
