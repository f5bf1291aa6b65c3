"""POST /v1/answer (the contract) and POST /v1/answer/stream (the same, as Server-Sent Events).

``/v1/answer`` encodes its answer once: pydantic's JSON, HTML-escaped here, sent as is (the
HTML-safe middleware is told it has nothing left to do), instead of FastAPI validating the
model again, turning it into Python objects, ``json.dumps`` and the middleware rewriting the
bytes. With ``ASSISTANT_SERVER_TIMING`` the response carries a ``Server-Timing`` header: where
the request's milliseconds went, from the moment it reached the app. ``parse``: reading the
body, JSON, validation and the route's dependencies; ``queue``: waiting for a worker;
``corrections``, then ``embed``, ``safety``, ``retrieve``, ``answer`` (the Assistant's own
``timings_ms``), or only ``cache`` for a repeated question served by the answer cache;
``store``: handing the answer to the log writer; ``json``: encoding; ``app``: all of it.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import AnswerServiceDep
from api.errors import ERRORS
from api.middleware import HTML_SAFE_DONE, RECEIVED_AT, html_safe
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
async def answer(body: AnswerRequest, service: AnswerServiceDep, request: Request) -> Response:
    """The answer contract (`CONTRACT.md`): `answered`, `no_answer` or `refer_to_professional`."""
    handler_at = time.perf_counter()
    stages: dict[str, float] = {}
    result = await service.answer(
        body.question, body.history, body.filters, channel="answer", stages=stages
    )
    t0 = time.perf_counter()
    content = html_safe(result.model_dump_json().encode())
    state = request.scope.setdefault("state", {})
    state[HTML_SAFE_DONE] = True
    headers = {}
    if request.app.state.settings.server_timing:
        done = time.perf_counter()
        received = state.get(RECEIVED_AT, handler_at)
        stages = {"parse": (handler_at - received) * 1000, **stages, **result.timings_ms,
                  "json": (done - t0) * 1000, "app": (done - received) * 1000}  # fmt: skip
        stages.pop("total", None)
        headers["Server-Timing"] = server_timing(stages)
    return Response(content, media_type="application/json", headers=headers)


def server_timing(stages: dict[str, float]) -> str:
    """``Server-Timing`` header value: ``name;dur=ms`` per stage (W3C Server Timing)."""
    return ", ".join(f"{name};dur={ms:.3f}" for name, ms in stages.items())


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
