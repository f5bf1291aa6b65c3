"""POST /v1/chat/completions: OpenAI-compatible (streaming and not), for the `openai` client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.deps import AnswerServiceDep
from api.errors import ERRORS
from api.openai_compat import COMPLETION_EXAMPLE, ChatCompletionRequest, chunks, completion

router = APIRouter(prefix="/v1", tags=["openai-compatible"])


@router.post(
    "/chat/completions",
    summary="OpenAI-compatible chat completion",
    response_model=None,
    responses={
        200: {
            "description": "A `chat.completion` (or, with `stream: true`, `chat.completion.chunk` "
            "events ending with `data: [DONE]`); the full Answer is in `help_assistant`.",
            "content": {
                "application/json": {"example": COMPLETION_EXAMPLE},
                "text/event-stream": {
                    "example": 'data: {"object": "chat.completion.chunk", "choices": [{"index": '
                    '0, "delta": {"content": "Close your eyes "}}]}\n\ndata: [DONE]\n\n'
                },
            },
        },
        **ERRORS,
    },
)
async def chat_completions(
    body: ChatCompletionRequest, service: AnswerServiceDep
) -> dict[str, Any] | StreamingResponse:
    """The last user message is the question; earlier user/assistant messages (the newest 20)
    are the history. Sources are listed in the reply and given in full in `help_assistant`."""
    answer = await service.answer(body.question, body.history, body.filters, channel="chat")
    if not body.stream:
        return completion(answer, body.model)

    async def stream() -> AsyncIterator[str]:
        for chunk in chunks(answer, body.model):
            yield chunk

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
