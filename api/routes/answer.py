"""POST /v1/answer (the contract) and POST /v1/answer/stream (the same, as Server-Sent Events)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import AnswerServiceDep
from api.errors import ERRORS
from api.schemas import ANSWER_EXAMPLE, AnswerRequest
from api.service import pieces
from assistant.types import Answer

router = APIRouter(prefix="/v1", tags=["answers"])

_STREAM_EXAMPLE = (
    'event: delta\r\ndata: {"text":"Close your eyes while "}\r\n\r\n'
    'event: delta\r\ndata: {"text":"you balance on one leg [1]."}\r\n\r\n'
    f"event: done\r\ndata: {json.dumps(ANSWER_EXAMPLE)}\r\n\r\n"
)


@router.post(
    "/answer",
    response_model=Answer,
    summary="Answer a question with cited sources",
    responses={200: {"content": {"application/json": {"example": ANSWER_EXAMPLE}}}, **ERRORS},
)
async def answer(body: AnswerRequest, service: AnswerServiceDep) -> Answer:
    """The answer contract (`CONTRACT.md`): `answered`, `no_answer` or `refer_to_professional`."""
    return await service.answer(body.question, body.history, body.filters, channel="answer")


@router.post(
    "/answer/stream",
    summary="Answer a question, streamed as Server-Sent Events",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": '`delta` events with a few words each (`{"text": ...}`), then one '
            "`done` event whose data is the whole Answer JSON (outcome, citations, answer_id).",
            "content": {"text/event-stream": {"example": _STREAM_EXAMPLE}},
        },
        **ERRORS,
    },
)
async def answer_stream(body: AnswerRequest, service: AnswerServiceDep) -> EventSourceResponse:
    """Errors (422, 503...) come before the stream starts, as ordinary JSON responses."""
    result = await service.answer(body.question, body.history, body.filters, channel="stream")
    return EventSourceResponse(_events(result), ping=15)


async def _events(result: Answer) -> AsyncIterator[ServerSentEvent]:
    for piece in pieces(result.answer):
        yield ServerSentEvent(json.dumps({"text": piece}), event="delta")
    yield ServerSentEvent(result.model_dump_json(), event="done")
