"""GET /healthz (alive), GET /readyz (model loaded, index non-empty), GET /metrics."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from api.deps import AssistantDep, MetricsDep
from api.schemas import Problem, Ready
from assistant.core import Assistant
from assistant.store import StoreUnavailableError

router = APIRouter(tags=["operations"])
logger = logging.getLogger("api.health")


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
    summary="Readiness",
    responses={503: {"model": Problem, "description": "Index empty or store unavailable."}},
)
async def readyz(assistant: AssistantDep) -> Ready | JSONResponse:
    """Ready when the model is loaded and the knowledge base index has chunks."""
    return await run_in_threadpool(_readiness, assistant)


def _readiness(assistant: Assistant) -> Ready | JSONResponse:
    try:
        assistant.retriever.current_version()  # always asks the store, whatever is cached
        version = assistant.kb_version
        ready = assistant.ready()
    except StoreUnavailableError as exc:
        logger.warning("readiness check: %s", exc)
        return _unavailable(str(exc))
    except Exception as exc:  # noqa: BLE001 - any store failure means "not ready"
        # The exception's text may name paths: it goes to the log, not to the client.
        logger.warning("readiness check: the index store raised %s: %s", type(exc).__name__, exc)
        return _unavailable(f"the index store is unavailable ({type(exc).__name__})")
    if not ready:
        return _unavailable("the knowledge base index is empty: run `help-assistant ingest`")
    return Ready(status="ready", kb_version=version)


def _unavailable(message: str) -> JSONResponse:
    return JSONResponse(
        {"status": "unavailable", "detail": message, "message": f"Not ready: {message}."},
        status_code=503,
        headers={"Retry-After": "5"},
    )


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
