"""Error responses: client mistakes are 4xx with a message naming the field; no input gives a 500.

Every error body has FastAPI's ``detail`` and, for validation errors, a human ``message`` such
as ``"question: question is 2400 characters; the limit is 2000 characters"``. Inputs are never
echoed back (a 60 KB question would come straight back otherwise). A dependency that is down is
a 503 with ``Retry-After`` and a message saying which: the index never built, the vector store at
HOST:PORT unreachable, the answers database locked, read-only or on a full disk. A reindex that
runs out of disk is a 507 naming the data dir (the answers database is not involved). On the
OpenAI-compatible routes the same errors take OpenAI's shape (``api.openai_errors``), which its
clients read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from api.openai_errors import OpenAIError, from_problem, is_openai_path, openai_error
from api.schemas import MAX_BODY_BYTES, Problem
from api.storage import describe_storage_error
from assistant.core import InvalidQuestionError
from assistant.retrieval import IndexNotBuiltError
from assistant.store import StoreUnavailableError
from knowledge.diskfull import DiskFullError

logger = logging.getLogger("api.errors")
_SIMPLE = (str, int, float, bool, type(None))

#: Why nothing can be answered yet, and what to do: the 503 of the answer routes and of /readyz.
INDEX_EMPTY = "the knowledge base index is empty: run `help-assistant ingest`"
#: Retry-After seconds: a store or database hiccup clears quickly; an unbuilt index needs ingest.
RETRY_STORE_SECONDS = 5
RETRY_INDEX_SECONDS = 30

#: The documented errors, as (status, what it means to a client), each stated once.
BAD_INPUT = (HTTPStatus.UNPROCESSABLE_ENTITY.value, "Invalid question, history, filters or JSON.")
BODY_TOO_LARGE = (
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE.value,
    f"Request body over {MAX_BODY_BYTES // 1024} KB.",
)
RATE_LIMITED = (HTTPStatus.TOO_MANY_REQUESTS.value, "Rate limit exceeded (see Retry-After).")
INDEX_NOT_BUILT = (
    HTTPStatus.SERVICE_UNAVAILABLE.value,
    "Knowledge base not built: run help-assistant ingest.",
)
NO_ADMIN_KEY_SENT = (HTTPStatus.UNAUTHORIZED.value, "No API key sent.")
WRONG_ADMIN_KEY = (HTTPStatus.FORBIDDEN.value, "Wrong API key.")
ADMIN_OFF = (HTTPStatus.NOT_FOUND.value, "Admin routes are off (no admin key configured).")
ADMIN_BACKEND_DOWN = (HTTPStatus.SERVICE_UNAVAILABLE.value, "Storage or vector store unavailable.")
NOT_READY = (HTTPStatus.SERVICE_UNAVAILABLE.value, "Index empty or store unavailable.")
UNKNOWN_ARTICLE = (HTTPStatus.NOT_FOUND.value, "Unknown article id.")
UNKNOWN_ANSWER = (HTTPStatus.NOT_FOUND.value, "Unknown answer_id.")
REINDEX_RUNNING = (HTTPStatus.CONFLICT.value, "A reindex is already running.")
REINDEX_DISK_FULL = (
    HTTPStatus.INSUFFICIENT_STORAGE.value,
    "The disk of the data dir is full: the new index version was not published; the previous "
    "one is still served.",
)
REINDEX_PARAMETERS = (
    HTTPStatus.UNPROCESSABLE_ENTITY.value,
    "Parameters sent (reindex takes none).",
)

Responses = dict[int | str, dict[str, Any]]


def documented(*errors: tuple[int, str]) -> Responses:
    """OpenAPI ``responses`` for ``(status, description)`` pairs, each with a Problem body."""
    return {status: {"model": Problem, "description": text} for status, text in errors}


#: What any public route may answer besides its success: bad input, a body over the limit, the
#: rate limit, an index never built.
ERRORS = documented(BAD_INPUT, BODY_TOO_LARGE, RATE_LIMITED, INDEX_NOT_BUILT)
#: What every admin route may answer besides its success.
ADMIN_ERRORS = documented(NO_ADMIN_KEY_SENT, WRONG_ADMIN_KEY, ADMIN_OFF, ADMIN_BACKEND_DOWN)


_SOURCES = {"body", "path", "query", "header", "cookie"}
_BODY_PARSE_ERROR = "There was an error parsing the body"


def _field(loc: Sequence[Any]) -> str:
    """``("body", "history", 0, "role")`` -> ``"history.0.role"``."""
    parts = [str(p) for p in (loc[1:] if loc and loc[0] in _SOURCES else loc)]
    return ".".join(parts) or str(loc[0] if loc else "body")


def _clean(error: dict[str, Any]) -> dict[str, Any]:
    msg = str(error.get("msg", "invalid"))
    msg = msg.removeprefix("Value error, ")
    item: dict[str, Any] = {"loc": list(error.get("loc", ())), "msg": msg}
    item["type"] = error.get("type")
    ctx = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, _SIMPLE)}
    if ctx:
        item["ctx"] = ctx
    return item


def _describe(item: dict[str, Any]) -> str:
    if item["type"] == "json_invalid":
        reason = item.get("ctx", {}).get("error", "")
        return f"body: malformed JSON ({reason})" if reason else "body: malformed JSON"
    return f"{_field(item['loc'])}: {item['msg']}"


def sentence(text: str) -> str:
    """``text`` with its first letter upper-cased (``str.capitalize`` would lower the rest)."""
    return text[:1].upper() + text[1:]


def validation_response(errors: Sequence[dict[str, Any]]) -> JSONResponse:
    items = [_clean(e) for e in errors]
    message = "; ".join(dict.fromkeys(_describe(i) for i in items))
    return JSONResponse({"detail": items, "message": message}, status_code=422)


async def _on_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return validation_response(list(exc.errors()))


async def _on_invalid_question(_: Request, exc: Exception) -> JSONResponse:
    # The Assistant's own check (the schemas check first, so this is a second line of defence).
    field = "history" if "history" in str(exc) else "question"
    return validation_response([{"loc": ("body", field), "msg": str(exc), "type": "value_error"}])


async def _on_index_missing(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": "knowledge base not built", "message": f"{sentence(INDEX_EMPTY)}."},
        status_code=503,
        headers={"Retry-After": str(RETRY_INDEX_SECONDS)},
    )


async def _on_store_unreachable(_: Request, exc: Exception) -> JSONResponse:
    logger.warning("%s", exc)
    return JSONResponse(
        {"detail": "vector store unreachable", "message": f"{str(exc).capitalize()}."},
        status_code=503,
        headers={"Retry-After": str(RETRY_STORE_SECONDS)},
    )


async def _on_storage(request: Request, exc: Exception) -> JSONResponse:
    problem = describe_storage_error(exc)
    # The client gets a fixed message; the log the driver's (without SQL parameters).
    logger.error("answer storage failed on %s: %s", request.url.path, getattr(exc, "orig", exc))
    return JSONResponse(
        {"detail": "storage unavailable", "message": problem.message},
        status_code=503,
        headers={"Retry-After": str(problem.retry_after)},
    )


async def _on_disk_full(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DiskFullError)
    cause = exc.__cause__
    reason = str(cause).strip().splitlines()[0] if cause and str(cause).strip() else "ENOSPC"
    logger.error("%s on %s (%s: %s)", exc, request.url.path, type(cause).__name__, reason)
    return JSONResponse(
        {"detail": "disk full", "message": f"{sentence(str(exc))}."},
        status_code=HTTPStatus.INSUFFICIENT_STORAGE.value,
    )


def _on_http(max_body_bytes: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handler(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 400 and exc.detail == _BODY_PARSE_ERROR:
            # FastAPI's answer to a body it cannot decode (bytes that are not UTF-8): the same
            # 422 as any other malformed JSON.
            reason = "the body is not UTF-8 text"
            error = {"loc": ("body",), "msg": reason, "type": "json_invalid"}
            return validation_response([{**error, "ctx": {"error": reason}}])
        body: dict[str, Any] = {"detail": exc.detail}
        if exc.status_code == 429 and isinstance(exc.detail, str):
            body["message"] = f"{sentence(exc.detail)}."
        if exc.status_code == 413:
            body["message"] = f"The request body is larger than {max_body_bytes // 1024} KB."
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    return handler


async def _on_bug(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, ValidationError):
        # Its text would repeat the input (user text in the log): name the fields only.
        fields = ", ".join(_field(e["loc"]) for e in exc.errors(include_input=False))
        logger.error("unhandled validation error on %s %s (%s: %s)", request.method,
                     request.url.path, exc.title, fields)  # fmt: skip
    else:
        logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"detail": "internal server error", "message": "Something went wrong on our side."},
        status_code=500,
    )


async def _on_openai(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OpenAIError)
    body = openai_error(exc.status, exc.message, param=exc.param, code=exc.code)
    return JSONResponse(body, status_code=exc.status)


Handler = Callable[[Request, Exception], Awaitable[JSONResponse]]


def _openai_shaped(handler: Handler) -> Handler:
    """``handler``, with its body in OpenAI's error shape on the OpenAI-compatible routes."""

    async def wrapper(request: Request, exc: Exception) -> JSONResponse:
        response = await handler(request, exc)
        if not is_openai_path(request.url.path):
            return response
        body = from_problem(response.status_code, json.loads(bytes(response.body)))
        headers = {k: v for k, v in response.headers.items()
                   if k.lower() not in ("content-length", "content-type")}  # fmt: skip
        return JSONResponse(body, status_code=response.status_code, headers=headers)

    return wrapper


def install_error_handlers(app: FastAPI, max_body_bytes: int) -> None:
    handlers: list[tuple[type[Exception], Handler]] = [
        (HTTPException, _on_http(max_body_bytes)),
        (RequestValidationError, _on_validation),
        (InvalidQuestionError, _on_invalid_question),
        (IndexNotBuiltError, _on_index_missing),
        (StoreUnavailableError, _on_store_unreachable),
        (DiskFullError, _on_disk_full),
        (SQLAlchemyError, _on_storage),
        (Exception, _on_bug),
    ]
    for kind, handler in handlers:
        app.add_exception_handler(kind, _openai_shaped(handler))
    app.add_exception_handler(OpenAIError, _on_openai)
