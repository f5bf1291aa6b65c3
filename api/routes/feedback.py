"""POST /v1/feedback: was an answer helpful?"""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from starlette.concurrency import run_in_threadpool

from api.deps import StorageDep
from api.errors import ERRORS, UNKNOWN_ANSWER, documented
from api.schemas import FeedbackOut, FeedbackRequest
from api.storage import UnknownAnswerError

router = APIRouter(prefix="/v1", tags=["feedback"])


@router.post(
    "/feedback",
    response_model=FeedbackOut,
    status_code=status.HTTP_201_CREATED,
    summary="Rate an answer",
    responses={**documented(UNKNOWN_ANSWER), **ERRORS},
)
async def feedback(body: FeedbackRequest, storage: StorageDep) -> FeedbackOut:
    """Thumbs up or down (and an optional comment) for an answer given by this API."""
    try:
        stored = await run_in_threadpool(
            storage.add_feedback, body.answer_id, helpful=body.helpful, comment=body.comment
        )
    except UnknownAnswerError:
        raise HTTPException(404, detail=f"unknown answer_id {body.answer_id!r}") from None
    return FeedbackOut.model_validate(stored, from_attributes=True)
