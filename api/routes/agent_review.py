"""The agent console's review screen: content gaps as JSON, CSV and article briefs.

Reads only (the session cookie, no CSRF token: a GET changes nothing), so the exports are plain
links the browser downloads. 404 when no admin key is configured.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response
from starlette.concurrency import run_in_threadpool

from api.agent_schemas import ReviewReport
from api.deps import AssistantDep, StorageDep
from api.review import article_briefs, build_review, questions_csv, review_csv
from api.routes.agent import SessionDep, console_key

router = APIRouter(prefix="/agent/api/review", tags=["agent console"], include_in_schema=False,
                   dependencies=[Depends(console_key)])  # fmt: skip


def _download(body: str, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },  # fmt: skip
    )


@router.get("", response_model=ReviewReport)
async def review(_: SessionDep, storage: StorageDep, assistant: AssistantDep) -> ReviewReport:
    """Thumbs-down and unanswered questions with the answer given, grouped into gaps."""
    return await run_in_threadpool(build_review, storage, assistant)


@router.get("/gaps.csv")
async def gaps_csv(_: SessionDep, storage: StorageDep, assistant: AssistantDep) -> Response:
    report = await run_in_threadpool(build_review, storage, assistant)
    return _download(review_csv(report), "text/csv; charset=utf-8", "content-gaps.csv")


@router.get("/questions.csv")
async def reviewed_questions_csv(
    _: SessionDep, storage: StorageDep, assistant: AssistantDep
) -> Response:
    report = await run_in_threadpool(build_review, storage, assistant)
    return _download(questions_csv(report), "text/csv; charset=utf-8", "reviewed-questions.csv")


@router.get("/briefs.md")
async def briefs(_: SessionDep, storage: StorageDep, assistant: AssistantDep) -> Response:
    report = await run_in_threadpool(build_review, storage, assistant)
    return _download(article_briefs(report), "text/markdown; charset=utf-8", "article-briefs.md")
