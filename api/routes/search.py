"""POST /v1/search: ranked passages for support agents."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import AnswerServiceDep
from api.errors import ERRORS
from api.schemas import PassageOut, SearchRequest, SearchResponse

router = APIRouter(prefix="/v1", tags=["search"])


@router.post("/search", response_model=SearchResponse, summary="Ranked passages", responses=ERRORS)
async def search(body: SearchRequest, service: AnswerServiceDep) -> SearchResponse:
    """The best `k` passages (1 to 50) with article, section, url and a score in [0, 1]."""
    passages = await service.search(body.query, body.k, body.filters)
    return SearchResponse(
        query=body.query,
        kb_version=service.assistant.kb_version,
        passages=[PassageOut(rank=i, **p.model_dump()) for i, p in enumerate(passages, start=1)],
    )
