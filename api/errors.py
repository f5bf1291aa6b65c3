"""Error responses: client mistakes are 4xx with a message naming the field; no input gives a 500.

Every error body has FastAPI's ``detail`` and, for validation errors, a human ``message`` such
as ``"question: question is 2400 characters; the limit is 2000 characters"``. Inputs are never
echoed back (a 60 KB question would come straight back otherwise). A dependency that is down is
a 503 with ``Retry-After`` and a message saying which: the index never built, the vector store at
HOST:PORT unreachable, the answers database locked or read-only.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from api.storage import describe_storage_error
from assistant.core import InvalidQuestionError
from assistant.retrieval import IndexNotBuiltError
from assistant.store import StoreUnavailableError

logger = logging.getLogger("api.errors")
_SIMPLE = (str, int, float, bool, type(None))


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
        {
            "detail": "knowledge base not built",
            "message": "The knowledge base index is empty: run `help-assistant ingest`.",
        },
        status_code=503,
        headers={"Retry-After": "30"},
    )


async def _on_store_unreachable(_: Request, exc: Exception) -> JSONResponse:
    logger.warning("%s", exc)
    return JSONResponse(
        {"detail": "vector store unreachable", "message": f"{str(exc).capitalize()}."},
        status_code=503,
        headers={"Retry-After": "5"},
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
        if exc.status_code == 413:
            body["message"] = f"The request body is larger than {max_body_bytes // 1024} KB."
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    return handler


async def _on_bug(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse(
        {"detail": "internal server error", "message": "Something went wrong on our side."},
        status_code=500,
    )


def install_error_handlers(app: FastAPI, max_body_bytes: int) -> None:
    app.add_exception_handler(HTTPException, _on_http(max_body_bytes))
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(InvalidQuestionError, _on_invalid_question)
    app.add_exception_handler(IndexNotBuiltError, _on_index_missing)
    app.add_exception_handler(StoreUnavailableError, _on_store_unreachable)
    app.add_exception_handler(SQLAlchemyError, _on_storage)
    app.add_exception_handler(Exception, _on_bug)
