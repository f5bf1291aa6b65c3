"""OpenAI's error shape for the OpenAI-compatible routes (``/v1/chat/completions``,
``/v1/models``): ``{"error": {"message", "type", "param", "code"}}``, which the ``openai`` client
and LangChain read into their exceptions.

Example::

    openai_error(400, "n must be 1", param="n", code="unsupported_parameter")
"""

from __future__ import annotations

from typing import Any

#: Paths whose errors take OpenAI's shape instead of the API's ``detail``/``message``.
OPENAI_PATHS = ("/v1/chat/completions", "/v1/models")

#: OpenAI's ``type`` per status; anything else from the server side is a ``server_error``.
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    405: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}
_CODES = {404: "not_found", 413: "request_too_large", 415: "unsupported_media_type",
          429: "rate_limit_exceeded", 503: "service_unavailable"}  # fmt: skip


def is_openai_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in OPENAI_PATHS)


class OpenAIError(Exception):
    """Raised by the OpenAI-compatible routes; answered in OpenAI's shape with ``status``."""

    def __init__(
        self, status: int, message: str, *, param: str | None = None, code: str | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code


def openai_error(
    status: int, message: str, *, param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    """The body of an error in OpenAI's shape."""
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {
        "error": {
            "message": message,
            "type": kind,
            "param": param,
            "code": code if code is not None else _CODES.get(status),
        }
    }


def from_problem(status: int, body: dict[str, Any]) -> dict[str, Any]:
    """The API's own error body (``detail`` and ``message``) in OpenAI's shape; a validation
    error's first field becomes ``param`` and its pydantic type ``code``."""
    detail = body.get("detail")
    param = code = None
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        loc = [str(p) for p in detail[0].get("loc", [])]
        param = ".".join(loc[1:] if loc[:1] == ["body"] else loc) or None
        code = detail[0].get("type")
    message = body.get("message") or (detail if isinstance(detail, str) else "request failed")
    return openai_error(status, str(message), param=param, code=code)
