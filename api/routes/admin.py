"""Admin routes behind the API key: reindex, feedback, content gaps."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool

from api.admin_schemas import (
    AdminFeedbackItem,
    ReindexReport,
    UnansweredGroup,
    UnansweredReport,
)
from api.deps import (
    AssistantDep,
    CatalogDep,
    SettingsDep,
    StorageDep,
    require_admin,
    single_query_values,
)
from api.gaps import group_gaps
from api.schemas import Problem
from knowledge.ingest import run_ingest

AUTH_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": Problem, "description": "No API key sent."},
    403: {"model": Problem, "description": "Wrong API key."},
    404: {"model": Problem, "description": "Admin routes are off (no admin key configured)."},
    503: {"model": Problem, "description": "Storage or vector store unavailable."},
}
router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin), Depends(single_query_values)],
    responses=AUTH_ERRORS,  # type: ignore[arg-type]
)
# One ingest at a time per process; a second request gets 409 instead of queueing.
_reindexing = threading.Lock()


async def _no_client_input(request: Request) -> None:
    """Reindex reads only the server's own ASSISTANT_ARTICLES_DIR: any path, body or query a
    client sends is refused rather than silently ignored."""
    if request.query_params or await request.body():
        raise RequestValidationError(
            [
                {
                    "loc": ("body",),
                    "msg": "reindex takes no parameters: it always ingests the server's "
                    "configured articles directory (ASSISTANT_ARTICLES_DIR)",
                    "type": "extra_forbidden",
                }
            ]
        )


@router.post(
    "/reindex",
    response_model=ReindexReport,
    summary="Re-ingest the articles",
    dependencies=[Depends(_no_client_input)],
    responses={
        409: {"model": Problem, "description": "A reindex is already running."},
        422: {"model": Problem, "description": "Parameters sent (reindex takes none)."},
    },
)
async def reindex(
    settings: SettingsDep, assistant: AssistantDep, catalog: CatalogDep
) -> ReindexReport:
    """Incremental ingest of `ASSISTANT_ARTICLES_DIR`; answers use it within refresh_seconds."""
    if not _reindexing.acquire(blocking=False):
        raise HTTPException(409, detail="a reindex is already running")
    try:
        report = await run_in_threadpool(run_ingest, settings, assistant.embeddings)
        await run_in_threadpool(catalog.reload, settings.articles_dir)
    finally:
        _reindexing.release()
    fields = {name: getattr(report, name) for name in ReindexReport.model_fields}
    fields["rejected"] = [{"path": r.path, "reason": r.reason} for r in report.rejected]
    return ReindexReport(**fields)


@router.get("/feedback", response_model=list[AdminFeedbackItem], summary="Stored feedback")
async def list_feedback(
    storage: StorageDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    # Bounded: SQLite integers are 64-bit, a larger offset would be a 500, not a 422.
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    helpful: Annotated[bool | None, Query(description="Only thumbs up or only down.")] = None,
) -> list[AdminFeedbackItem]:
    """Newest first, with the question and outcome of the answer that was rated."""
    items = await run_in_threadpool(
        storage.list_feedback, limit=limit, offset=offset, helpful=helpful
    )
    return [AdminFeedbackItem.model_validate(i, from_attributes=True) for i in items]


@router.get("/unanswered", response_model=UnansweredReport, summary="Content gaps")
async def unanswered(
    storage: StorageDep,
    assistant: AssistantDep,
    limit: Annotated[int, Query(ge=1, le=5000, description="Newest questions considered.")] = 2000,
) -> UnansweredReport:
    """Questions that got `no_answer` or a thumbs down, grouped by similarity, largest first."""

    def work() -> UnansweredReport:
        questions = storage.gap_questions(limit)
        groups = group_gaps(questions, assistant.embeddings)
        return UnansweredReport(
            questions=len(questions),
            groups=[UnansweredGroup.model_validate(g, from_attributes=True) for g in groups],
        )

    return await run_in_threadpool(work)
