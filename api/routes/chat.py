"""OpenAI-compatible routes, for the `openai` client, LangChain's `ChatOpenAI` and chat UIs:
POST /v1/chat/completions (streaming and not), GET /v1/models and GET /v1/models/{id}.

Their errors (validation included) take OpenAI's shape, ``{"error": {"message", "type", "param",
"code"}}`` (see ``api.openai_errors``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.deps import AnswerServiceDep
from api.openai_compat import (
    COMPLETION_EXAMPLE,
    MODEL_NAME,
    ChatCompletionRequest,
    chunks,
    completion,
    model_card,
)
from api.openai_errors import OpenAIError, openai_error

router = APIRouter(prefix="/v1", tags=["openai-compatible"])

_ERROR_EXAMPLE = openai_error(
    400, "n must be 1: there is one answer per question", param="n", code="unsupported_parameter"
)
#: Errors of these routes, all in OpenAI's shape.
OPENAI_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": {"application/json": {"example": _ERROR_EXAMPLE}}}
    for status, text in [
        (400, "Unsupported parameter (tools, response_format, n > 1, image or audio parts)."),
        (413, "Request body over 64 KB."),
        (422, "Invalid messages or parameters."),
        (429, "Rate limit exceeded (see Retry-After)."),
        (503, "Knowledge base not built, or a store unavailable."),
    ]
}


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
        **OPENAI_ERRORS,
    },
)
async def chat_completions(
    body: ChatCompletionRequest, service: AnswerServiceDep
) -> dict[str, Any] | StreamingResponse:
    """The last user message is the question; earlier user/assistant messages (the newest 20)
    are the history. Sources are listed in the reply and given in full in `help_assistant`.
    `max_tokens` counts words and truncates (`finish_reason: "length"`)."""
    problem = body.unsupported()
    if problem is not None:
        raise problem
    answer = await service.answer(body.question, body.history, body.filters, channel="chat")
    if not body.stream:
        return completion(answer, body)

    async def stream() -> AsyncIterator[str]:
        for chunk in chunks(answer, body):
            yield chunk

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


_MODELS_EXAMPLE = {"object": "list", "data": [model_card()]}


@router.get(
    "/models",
    summary="OpenAI-compatible model list",
    responses={200: {"content": {"application/json": {"example": _MODELS_EXAMPLE}}}},
)
async def list_models() -> dict[str, Any]:
    """The one model, `help-assistant` (chat UIs call this before anything else)."""
    return {"object": "list", "data": [model_card()]}


@router.get(
    "/models/{model_id}",
    summary="OpenAI-compatible model",
    responses={
        200: {"content": {"application/json": {"example": model_card()}}},
        404: {
            "description": "Unknown model id.",
            "content": {
                "application/json": {
                    "example": openai_error(
                        404,
                        "The model 'gpt-4o' does not exist",
                        param="model",
                        code="model_not_found",
                    )  # fmt: skip
                }
            },
        },
    },
)
async def retrieve_model(model_id: str) -> dict[str, Any]:
    if model_id != MODEL_NAME:
        raise OpenAIError(404, f"The model {model_id[:100]!r} does not exist", param="model",
                          code="model_not_found")  # fmt: skip
    return model_card()
