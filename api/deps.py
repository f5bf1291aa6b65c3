"""Dependencies of the routes, as ``Annotated`` aliases.

The heavy objects are built once in the app's lifespan and kept on ``app.state``; these
functions only hand them out, so tests swap any of them with ``app.dependency_overrides``.
They are ``async def`` because they never block: FastAPI runs a plain ``def`` dependency in a
worker thread, a thread hop per dependency per request (``require_admin`` stays ``def``: its
throttle may call Redis)::

    app.dependency_overrides[get_assistant] = lambda: other_assistant
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from api.admin_service import AdminService
from api.answer_cache import cache_for
from api.articles import ArticleCatalog
from api.metrics import Metrics
from api.ratelimit import FailureThrottle, TrustedProxies
from api.service import AnswerService
from api.storage import Storage
from assistant.core import Assistant
from assistant.settings import Settings


async def settings_from_app(request: Request) -> Settings:
    """The app's settings (``assistant.settings.get_settings`` reads the environment instead)."""
    return request.app.state.settings


async def get_assistant(request: Request) -> Assistant:
    return request.app.state.assistant


async def get_storage(request: Request) -> Storage:
    return request.app.state.storage


async def get_catalog(request: Request) -> ArticleCatalog:
    return request.app.state.catalog


async def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


async def get_reindex_lock(request: Request) -> threading.Lock:
    return request.app.state.reindex_lock


SettingsDep = Annotated[Settings, Depends(settings_from_app)]
AssistantDep = Annotated[Assistant, Depends(get_assistant)]
StorageDep = Annotated[Storage, Depends(get_storage)]
CatalogDep = Annotated[ArticleCatalog, Depends(get_catalog)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
ReindexLockDep = Annotated[threading.Lock, Depends(get_reindex_lock)]


async def get_answer_service(
    assistant: AssistantDep, storage: StorageDep, metrics: MetricsDep, settings: SettingsDep
) -> AnswerService:
    return AnswerService(
        assistant, storage, metrics, log_questions=settings.log_questions,
        cache=cache_for(storage, settings.answer_cache_size),
    )  # fmt: skip


AnswerServiceDep = Annotated[AnswerService, Depends(get_answer_service)]


async def get_admin_service(
    settings: SettingsDep,
    assistant: AssistantDep,
    storage: StorageDep,
    catalog: CatalogDep,
    reindex_lock: ReindexLockDep,
) -> AdminService:
    return AdminService(settings, assistant, storage, catalog, reindex_lock=reindex_lock)


AdminServiceDep = Annotated[AdminService, Depends(get_admin_service)]


_bearer = HTTPBearer(auto_error=False, description="The admin API key as a Bearer token.")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="The admin API key.")


def require_admin(
    request: Request,
    settings: SettingsDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    api_key: Annotated[str | None, Depends(_api_key)],
) -> None:
    """Bearer token or X-API-Key; 404 when no key is configured (the routes do not exist).

    Wrong keys are counted per client address (``ASSISTANT_ADMIN_FAILURE_LIMIT``): past the
    limit every attempt, right or wrong, is a 429 until the window has passed, so the key
    cannot be guessed at speed.
    """
    if settings.admin_api_key is None or not settings.admin_api_key.get_secret_value():
        raise HTTPException(status_code=404, detail="Not Found")
    throttle: FailureThrottle | None = request.app.state.admin_throttle
    proxies: TrustedProxies = request.app.state.trusted_proxies
    client = proxies.client(request.scope)
    wait = throttle.retry_after(client) if throttle is not None else 0
    if wait:
        raise HTTPException(
            status_code=429,
            detail=f"too many wrong admin keys; try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )
    supplied = bearer.credentials if bearer is not None else api_key
    if not supplied:
        raise HTTPException(
            status_code=401,
            detail="admin API key required (Authorization: Bearer KEY or X-API-Key)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not keys_match(supplied, settings.admin_api_key.get_secret_value()):
        if throttle is not None:
            throttle.fail(client)
        raise HTTPException(status_code=403, detail="invalid admin API key")


def keys_match(supplied: str, expected: str) -> bool:
    """Constant-time comparison that leaks neither content nor length: both sides are hashed to
    32 bytes first (``compare_digest`` alone returns early on a length mismatch)."""
    return hmac.compare_digest(_digest(supplied), _digest(expected))


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


async def single_query_values(request: Request) -> None:
    """Each query parameter at most once: FastAPI would silently keep the last of
    ``?offset=1&offset=9``; none of our parameters is a list, so a repeat is a 422."""
    seen: set[str] = set()
    for name, _ in request.query_params.multi_items():
        if name in seen:
            raise RequestValidationError(
                [
                    {
                        "loc": ("query", name),
                        "msg": "given more than once; send it once",
                        "type": "value_error",
                    }
                ]  # fmt: skip
            )
        seen.add(name)
