"""GET /healthz (alive), GET /readyz (model loaded, index non-empty), GET /metrics."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from api.deps import AssistantDep, MetricsDep
from api.errors import NOT_READY, RETRY_STORE_SECONDS, documented
from api.readiness import check_readiness
from api.schemas import Ready

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    summary="Liveness",
    responses={200: {"content": {"application/json": {"example": {"status": "ok"}}}}},
)
async def healthz() -> dict[str, str]:
    """The process is up and serving requests."""
    return {"status": "ok"}


@router.get("/readyz", response_model=Ready, summary="Readiness", responses=documented(NOT_READY))
async def readyz(assistant: AssistantDep) -> Ready | JSONResponse:
    """Ready when the model is loaded and the knowledge base index has chunks."""
    readiness = await run_in_threadpool(check_readiness, assistant)
    if not readiness.ready:
        return JSONResponse(
            {"status": "unavailable", "detail": readiness.problem,
             "message": f"Not ready: {readiness.problem}."},
            status_code=503,
            headers={"Retry-After": str(RETRY_STORE_SECONDS)},
        )  # fmt: skip
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
