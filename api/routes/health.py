"""GET /healthz (alive), GET /readyz (model loaded, index non-empty), GET /metrics."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import AssistantDep, MetricsDep, StorageDep
from api.errors import NOT_READY, RETRY_STORE_SECONDS, documented
from api.readiness import check_readiness

router = APIRouter(tags=["operations"])


class Ready(BaseModel):
    """Ready to answer; ``degraded`` when answers go out but the answer log cannot store them
    (feedback on them is not possible until it is back)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "ready", "kb_version": "3f9a0c1b2d4e5f60"},
                {
                    "status": "degraded",
                    "kb_version": "3f9a0c1b2d4e5f60",
                    "answer_log": "unavailable",
                    "message": "Answers and feedback cannot be stored: the answers database "
                    "is read-only. Feedback stored before can still be read.",
                },
            ]
        }
    )

    status: Literal["ready", "degraded"]
    kb_version: str
    answer_log: Literal["unavailable"] | None = Field(
        None, description="Only when degraded: the answer log cannot store answers."
    )
    message: str | None = Field(None, description="Only when degraded: why, for people.")


@router.get(
    "/healthz",
    summary="Liveness",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
async def healthz() -> dict[str, str]:
    """The process is up and serving requests."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=Ready,
    response_model_exclude_none=True,  # ready: exactly {"status", "kb_version"}, as before
    summary="Readiness",
    responses=documented(NOT_READY),
)
async def readyz(assistant: AssistantDep, storage: StorageDep) -> Ready | JSONResponse:
    """Ready when the model is loaded and the knowledge base index has chunks; degraded (still
    200) when the answer log is down."""
    readiness = await run_in_threadpool(check_readiness, assistant, storage)
    if not readiness.ready:
        return JSONResponse(
            {"status": "unavailable", "detail": readiness.problem,
             "message": f"Not ready: {readiness.problem}."},
            status_code=503,
            headers={"Retry-After": str(RETRY_STORE_SECONDS)},
        )  # fmt: skip
    if readiness.degraded:
        return Ready(
            status="degraded",
            kb_version=readiness.kb_version,
            answer_log="unavailable",
            message=readiness.degraded,
        )
    return Ready(status="ready", kb_version=readiness.kb_version)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/plain": {
                    "example": 'help_assistant_http_requests_total{method="POST",'
                    'route="/v1/answer",status="200"} 42.0\n'
                }
            }
        }
    },
)
async def metrics(registry: MetricsDep) -> Response:
    """Request counts and latency by route and status; answers by outcome."""
    return Response(registry.render(), media_type=CONTENT_TYPE_LATEST)
