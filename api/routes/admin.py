"""Admin routes behind the API key: reindex, feedback, content gaps (work in AdminService)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError

from api.admin_schemas import AdminFeedbackItem, ReindexReport, UnansweredReport
from api.admin_service import ReindexInProgressError
from api.deps import AdminServiceDep, require_admin, single_query_values
from api.errors import (
    ADMIN_ERRORS,
    REINDEX_DISK_FULL,
    REINDEX_PARAMETERS,
    REINDEX_RUNNING,
    documented,
)
from knowledge.sources import EmptySourceError, SourcesError

#: 409 has two causes here; OpenAPI documents one description per status.
_REINDEX_CONFLICT = (
    REINDEX_RUNNING[0],
    f"{REINDEX_RUNNING[1]} Or a source came up empty (an unmounted folder?) while its "
    "articles are indexed: nothing was changed, the detail names the source.",
)

#: Questions one content-gap report considers at most: each is embedded on every call (about
#: 30 ms each on 2 cores), so the cap bounds an admin request's time and memory.
MAX_UNANSWERED = 2000

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    dependencies=[Depends(require_admin), Depends(single_query_values)],
    responses=ADMIN_ERRORS,
)


async def _no_client_input(request: Request) -> None:
    """Reindex reads only the server's own recorded sources: any path, body or query a client
    sends is refused rather than silently ignored."""
    if request.query_params or await request.body():
        raise RequestValidationError(
            [
                {
                    "loc": ("body",),
                    "msg": "reindex takes no parameters: it always ingests the server's "
                    "recorded sources (the last `help-assistant ingest PATH...` and syncs, "
                    "else ASSISTANT_ARTICLES_DIR)",
                    "type": "extra_forbidden",
                }
            ]
        )


@router.post(
    "/reindex",
    response_model=ReindexReport,
    summary="Re-ingest the articles",
    dependencies=[Depends(_no_client_input)],
    responses=documented(_REINDEX_CONFLICT, REINDEX_PARAMETERS, REINDEX_DISK_FULL),
)
async def reindex(service: AdminServiceDep) -> ReindexReport:
    """Incremental ingest of the recorded sources (what `help-assistant ingest` last indexed,
    synced help centers; else `ASSISTANT_ARTICLES_DIR`); answers use it within
    refresh_seconds. A source that comes up empty is refused with 409 and never wipes its
    articles. A full disk under the data dir is a 507 naming it; the previous version is
    still served."""
    try:
        return await service.reindex()
    except ReindexInProgressError as exc:
        # One at a time per app: a second request gets 409 instead of queueing.
        raise HTTPException(409, detail=str(exc)) from None
    except (EmptySourceError, SourcesError) as exc:
        raise HTTPException(409, detail=str(exc)) from None


@router.get("/feedback", response_model=list[AdminFeedbackItem], summary="Stored feedback")
async def list_feedback(
    service: AdminServiceDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    # Bounded: SQLite integers are 64-bit, a larger offset would be a 500, not a 422.
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    helpful: Annotated[bool | None, Query(description="Only thumbs up or only down.")] = None,
) -> list[AdminFeedbackItem]:
    """Newest first, with the question and outcome of the answer that was rated."""
    return await service.feedback(limit=limit, offset=offset, helpful=helpful)


@router.get("/unanswered", response_model=UnansweredReport, summary="Content gaps")
async def unanswered(
    service: AdminServiceDep,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_UNANSWERED,
            description=f"Newest questions considered (at most {MAX_UNANSWERED}).",
        ),
    ] = MAX_UNANSWERED,
) -> UnansweredReport:
    """Questions that got `no_answer` or a thumbs down, grouped by similarity, largest first.
    Each call embeds every distinct question it considers, so ``limit`` is capped."""
    return await service.content_gaps(limit)
